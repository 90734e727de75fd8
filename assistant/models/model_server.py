"""The local model's server: llama-cpp-python's OpenAI-compatible server, where Stop stops.

    python -m assistant.models.model_server --model PATH [llama_cpp.server options]

`llama_cpp.server` notices that a client went away only between two generated tokens. A question
stopped while the model was still reading its prompt (5 to 15 s on a 2-core CPU, 134 s for a
long prompt) kept the worker computing that prompt to the end, and the next question — the same
user's or another's — waited behind work nobody wanted (seen on a slow CI machine). So this module
runs the same app with two ways to end a request at once:

- its client disconnects (the ASGI `http.disconnect` message, which the streaming response listens
  for anyway): a `/v1` client that closes its stream;
- a `POST ABORT_PATH + name` names it (the `REQUEST_HEADER` it was sent with): Kenbron's Stop,
  sent from the thread that stops while the answering thread still waits for a first token.

Either sets the request's event; llama.cpp's abort callback, polled inside every decode, ends the
decode of a request whose event is set. The event reaches the decoding thread as a context
variable: Starlette runs the model in a worker thread that inherits the request's context. Other
requests, queued behind the lock or running, are not touched.
"""

from __future__ import annotations

import argparse
import collections
import contextvars
import ctypes
import logging
import threading

import llama_cpp
import uvicorn
from llama_cpp.server import app as server_app
from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

from assistant.models.local_worker import ABORT_PATH, REQUEST_HEADER

log = logging.getLogger(__name__)

_client_gone: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "client_gone", default=None)
_HEADER = REQUEST_HEADER.lower().encode()


class StopOnRequest:
    """ASGI middleware: marks a request as stopped when its client disconnects or an abort names
    it, and ends its response quietly (the aborted decode's error is what was asked for)."""

    def __init__(self, app) -> None:
        self.app = app
        self._running: dict[str, threading.Event] = {}
        # names aborted before their request arrived (Stop right after the question was sent)
        self._aborted_early: collections.deque[str] = collections.deque(maxlen=64)
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"].startswith(ABORT_PATH):
            await self._abort(scope["path"][len(ABORT_PATH):], send)
            return
        gone = threading.Event()
        name = dict(scope["headers"]).get(_HEADER, b"").decode()
        if name:
            with self._lock:
                self._running[name] = gone
                if name in self._aborted_early:
                    gone.set()
        _client_gone.set(gone)
        response = {"started": False, "ended": False}

        async def watched_receive():
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            return message

        async def watched_send(message) -> None:
            if message["type"] == "http.response.start":
                response["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                response["ended"] = True
            await send(message)

        try:
            await self.app(scope, watched_receive, watched_send)
        except Exception:
            if not gone.is_set():
                raise
            log.info("request %s stopped", name or "(unnamed)")
            if response["started"] and not response["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif not response["started"]:
                await _reply(send, 409)
        finally:
            if name:
                with self._lock:
                    self._running.pop(name, None)

    async def _abort(self, name: str, send) -> None:
        with self._lock:
            gone = self._running.get(name)
            if gone is None:
                self._aborted_early.append(name)
            else:
                gone.set()
        await _reply(send, 204)


async def _reply(send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@llama_cpp.ggml_abort_callback
def _abort_if_client_gone(_data: ctypes.c_void_p) -> bool:
    gone = _client_gone.get()
    return gone is not None and gone.is_set()


def install_abort(model: llama_cpp.Llama) -> None:
    """Let `model`'s decodes end when the client of the request being computed has left."""
    llama_cpp.llama_set_abort_callback(model._ctx.ctx, _abort_if_client_gone, None)


def main() -> None:
    """Parse the options as `python -m llama_cpp.server` does and serve with Stop wired in."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_args_from_model(parser, Settings)
    args = parser.parse_args()
    server_settings = parse_model_from_args(ServerSettings, args)
    app = server_app.create_app(server_settings=server_settings,
                                model_settings=[parse_model_from_args(ModelSettings, args)])
    install_abort(server_app._llama_proxy._current_model)
    app.add_middleware(StopOnRequest)
    # the address comes from the flags the worker passes (127.0.0.1 and a free port), never from
    # HOST / PORT in the environment as `python -m llama_cpp.server` would: a platform's HOST
    # must not put the model's own server on a public address
    uvicorn.run(app, host=server_settings.host, port=server_settings.port)


if __name__ == "__main__":
    main()
