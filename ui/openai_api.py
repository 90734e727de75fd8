"""An OpenAI-compatible chat endpoint, so any OpenAI client can use Kenbron as a grounded model.

`POST /v1/chat/completions` (streaming and not) and `GET /v1/models`, on the app's own port.
The conversation in `messages` is the history; the last message is the question. The reply's
text carries the verified `[n]` markers, and a `kenbron` field — in the response, and in the
final chunk of a stream — carries the citations with their quotes, `abstained`, `unsure`, the language
and the error, if any.

The streamed text is the *verified* answer: citation checks need the whole answer, and a client
cannot take back text it has shown, so the stream starts once the answer is checked. A client that
hangs up before then stops its answer: the local model drops that request at once, so the next
user does not wait for an answer nobody will read.

Each collection is a model: `kenbron` answers from the default collection, `kenbron:NAME` from
collection NAME (`GET /v1/models` lists them); an unknown model is a 404.

When `KENBRON_API_KEY` is set, or the app has a login, a bearer token is required: the API key,
or else the login's password.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.answer import Answer
from assistant.library import CollectionError, Library
from assistant.models.stopping import StopSignal
from assistant.pipeline.chain import Assistant, QuestionError
from assistant.settings import Settings
from ui.history import conversation_pairs
from ui.request_log import log_answer

MODEL_ID = "kenbron"  # the default collection; another is MODEL_ID + ":" + its name
CONNECTION_CHECK_S = 0.25  # how often a request waiting for its answer looks for its client


class RequestError(ValueError):
    """A malformed request body; the message says what is wrong."""


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def _text(content: Any) -> str:
    """Message content as text: a string, or OpenAI's list of `{"type": "text", ...}` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    raise RequestError("message content must be a string or a list of text parts")


def parse_messages(body: Any) -> tuple[str, list[tuple[str, str]], bool]:
    """(question, history pairs, stream) from a chat-completions body; `RequestError` if malformed."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list")
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
            raise RequestError(f"messages[{i}] must be an object with role system, user or assistant")
        if message["role"] != "system":
            turns.append((message["role"], _text(message.get("content", ""))))
    if not turns or turns[-1][0] != "user":
        raise RequestError("the last message must come from the user")
    history = conversation_pairs(turns[:-1])
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("'stream' must be true or false")
    return turns[-1][1], history, stream


def kenbron_field(answer: Answer) -> dict[str, Any]:
    return {"citations": [c.to_dict() for c in answer.citations], "abstained": answer.abstained,
            "unsure": answer.unsure, "confidence": answer.confidence,
            "language": answer.language, "error": answer.error, "backend": answer.backend}


def _authorised(request: Request, settings: Settings) -> bool:
    expected = settings.api_key or (settings.password if settings.username else None)
    if not expected:
        return True
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    return hmac.compare_digest(token.encode(), expected.encode())


def model_id(library: Library, collection: str) -> str:
    """The model name of `collection`."""
    return MODEL_ID if collection == library.default else f"{MODEL_ID}:{collection}"


def collection_of(library: Library, model: Any) -> str:
    """The collection a request's `model` names (the default one when it names none); raises
    `CollectionError` for a collection that does not exist."""
    name = str(model or MODEL_ID)
    head, _, collection = name.partition(":")
    if head != MODEL_ID:
        raise CollectionError("unknown_collection", name, f"unknown model {name!r}; the models are "
                              f"{', '.join(model_id(library, c) for c in library.names())}")
    return library.get(collection or None).settings.collection


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None, *, model: str,
           **extra: Any) -> str:
    data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _stream(answer: Answer, cid: str, created: int, model: str) -> Iterator[str]:
    yield _chunk(cid, created, {"role": "assistant", "content": ""}, model=model)
    words = answer.text.split(" ")
    for i, word in enumerate(words):
        yield _chunk(cid, created, {"content": word + (" " if i < len(words) - 1 else "")},
                     model=model)
    yield _chunk(cid, created, {}, "stop", model=model, kenbron=kenbron_field(answer))
    yield "data: [DONE]\n\n"


async def _answer_while_connected(request: Request, assistant: Assistant, question: str,
                                  history: list[tuple[str, str]]) -> Answer | None:
    """The answer, or None when the client hung up before it was ready: the answer is then
    stopped (`assistant.models.stopping`), its model call ended mid-prompt."""
    stop = StopSignal()

    def answer() -> Answer:
        assistant.ready.wait()  # a first start: the corpus and the model (`ui.startup`)
        with stop.current():
            return assistant.ask(question, history)

    task = asyncio.ensure_future(run_in_threadpool(answer))
    while not (await asyncio.wait({task}, timeout=CONNECTION_CHECK_S))[0]:
        if await request.is_disconnected():
            stop.stop()
            await task  # ends within moments: every model call of the answer is aborted
            return None
    return task.result()


def add_openai_routes(app: FastAPI, library: Library) -> None:
    """Register `/v1/models` and `/v1/chat/completions` on `app`, one model per collection."""
    settings = library.first.settings

    @app.get("/v1/models")
    def models(request: Request):
        if not _authorised(request, settings):
            return _error(401, "a valid API key is required (Authorization: Bearer ...)", "invalid_api_key")
        return {"object": "list", "data": [
            {"id": model_id(library, c), "object": "model", "created": 0, "owned_by": "kenbron"}
            for c in library.names()]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        if not _authorised(request, settings):
            return _error(401, "a valid API key is required (Authorization: Bearer ...)", "invalid_api_key")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "the body is not valid JSON", "invalid_request_error")
        try:
            question, history, stream = parse_messages(body)
            collection = collection_of(library, body.get("model"))
        except CollectionError as exc:
            return _error(404, str(exc), "model_not_found")
        except RequestError as exc:
            return _error(400, str(exc), "invalid_request_error")
        model = model_id(library, collection)
        try:
            answer = await _answer_while_connected(request, library.get(collection), question,
                                                   history)
        except QuestionError as exc:
            return _error(400, str(exc), "invalid_request_error")
        if answer is None:  # nobody is waiting for the reply (499: client closed the request)
            return _error(499, "the client closed the request", "client_closed_request")
        log_answer("/v1/chat/completions", answer, settings)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if stream:
            return StreamingResponse(_stream(answer, cid, created, model),
                                     media_type="text/event-stream")
        return {"id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "kenbron": kenbron_field(answer)}
