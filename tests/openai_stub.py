"""A scripted OpenAI-compatible server for fault injection: real HTTP on 127.0.0.1, real SSE.

The real model behind `llama_cpp.server` is what the LLM path is tested against; this server
exists to make faults happen on cue — a stream cut off mid-answer, a timeout, a rejected key —
which a real model server cannot be made to do reproducibly. In `ok` mode it answers by quoting
the first sentence of source [1] from the prompt, so its answers are verifiable.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parrot(messages: list[dict]) -> str:
    prompt = messages[-1]["content"] if messages else ""
    match = re.search(r"^\[1\] (.+?)(?: … |(?<=[.!?])\s|$)", prompt, re.M)
    return f"{match.group(1).strip()} [1]" if match else "NOT_IN_SOURCES"


class StubServer:
    """`mode` is one of: ok, die_mid_stream, slow, unauthorized. `requests` counts calls."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0
        self.echo_key = ""  # a rejected key is echoed back, as some servers do
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests += 1
                stub.echo_key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if stub.mode == "unauthorized":
                    return self._json(401, {"error": {
                        "message": f"Incorrect API key provided: {stub.echo_key}",
                        "type": "invalid_request_error", "code": "invalid_api_key"}})
                if stub.mode == "slow":
                    time.sleep(8)
                text = parrot(body.get("messages", []))
                if not body.get("stream"):
                    return self._json(200, {
                        "id": "stub", "object": "chat.completion", "created": 0, "model": "stub",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": text}}]})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                words = text.split(" ")
                for i, word in enumerate(words):
                    if stub.mode == "die_mid_stream" and i == 2:
                        self.wfile.flush()  # no terminating chunk: the peer sees a cut stream
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    piece = word + (" " if i < len(words) - 1 else "")
                    self._chunk({"choices": [{"index": 0, "finish_reason": None,
                                              "delta": {"content": piece}}]})
                self._chunk({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self._raw(b"data: [DONE]\n\n")
                self._raw(b"")

            def _chunk(self, payload: dict) -> None:
                payload.update(id="stub", object="chat.completion.chunk", created=0, model="stub")
                self._raw(f"data: {json.dumps(payload)}\n\n".encode())

            def _raw(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
