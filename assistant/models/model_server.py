"""The local model's server: llama-cpp-python's OpenAI-compatible server, where Stop stops.

    python -m assistant.models.model_server --model PATH [llama_cpp.server options]

`llama_cpp.server` notices that a client went away only between two generated tokens. A question
stopped while the model was still reading its prompt (5 to 15 s on a 2-core CPU) kept the worker
computing that prompt to the end, and the next question — the same user's or another's — waited
behind work nobody wanted (seen on a slow CI machine: the worker stayed busy more than 15 s after
Stop). So this module runs the same app with one addition: every request gets an event that is set
when its client disconnects (the ASGI `http.disconnect` message, which the streaming response
listens for anyway), and llama.cpp's abort callback, polled inside every decode, ends the decode
of a request whose event is set. The request's event reaches the decoding thread as a context
variable: Starlette runs the model in a worker thread that inherits the request's context.
"""

from __future__ import annotations

import argparse
import contextvars
import ctypes
import logging
import os
import threading

import llama_cpp
import uvicorn
from llama_cpp.server import app as server_app
from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

log = logging.getLogger(__name__)

_client_gone: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "client_gone", default=None)


class StopWhenClientLeaves:
    """ASGI middleware: marks the request's client as gone when the server hears it disconnect,
    and keeps the aborted decode's error out of the log (the client asked for it)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gone = threading.Event()
        _client_gone.set(gone)

        async def watched_receive():
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            return message

        try:
            await self.app(scope, watched_receive, send)
        except Exception:
            if not gone.is_set():
                raise
            log.info("request stopped: its client disconnected")


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
    app.add_middleware(StopWhenClientLeaves)
    uvicorn.run(app, host=os.getenv("HOST", server_settings.host),
                port=int(os.getenv("PORT", server_settings.port)))


if __name__ == "__main__":
    main()
