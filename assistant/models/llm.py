"""The local model as a LangChain chat model (`LocalChat`, in a supervised worker process), the
length limit every OpenAI-style request carries, and how a model and its failures are named.
Which providers there are and how each chat model is made: `assistant.models.providers`.
"""

from __future__ import annotations

import importlib
import threading
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assistant.models.errors import LLMError, error_kinds, is_timeout
from assistant.models.local_worker import REQUEST_HEADER, LocalWorker, server_command
from assistant.models.model_file import ModelError, verify_model
from assistant.models.providers import PROVIDERS
from assistant.models.stopping import on_stop, stop_requested
from assistant.settings import Settings

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
HF_ROUTER = "https://router.huggingface.co/v1"

_WORKERS: dict[tuple, LocalWorker] = {}
_WORKERS_LOCK = threading.Lock()


def local_worker(settings: Settings) -> LocalWorker:
    """The process-wide worker for this model and these threads (started at the first question)."""
    key = (str(settings.model_path), settings.llm_threads, settings.context_tokens)
    with _WORKERS_LOCK:
        if key not in _WORKERS:
            command = server_command(settings.model_path, settings.llm_threads, settings.context_tokens)
            _WORKERS[key] = LocalWorker(command, settings.data_dir / "logs" / "llm-worker.log")
        return _WORKERS[key]


def stop_local_workers() -> None:
    """Stop every model worker this process started (also done at exit)."""
    with _WORKERS_LOCK:
        workers = list(_WORKERS.values())
    for worker in workers:
        worker.stop()


@lru_cache(maxsize=4)
def _worker_client(url: str, timeout_s: float, max_tokens: int) -> BaseChatModel:
    """One HTTP client per worker URL (a restarted worker listens on a new port)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="local", base_url=url, api_key="not-needed", temperature=0, seed=0,
                      timeout=timeout_s, max_retries=0, max_tokens=max_tokens,
                      extra_body=length_limit(max_tokens))


class LocalChat(BaseChatModel):
    """The local model, run by a supervised worker process, as a LangChain chat model.

    Greedy decoding, so answers are reproducible. The model file is verified before a worker is
    started; every failure of the worker arrives as an `LLMError` (see `assistant.models.local_worker`).
    """

    model_path: str
    worker: Any
    max_tokens: int = 384
    timeout_s: float = 120.0

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name

    def _client(self) -> BaseChatModel:
        if self.worker.pid is None:  # checked before a worker is started, not on every request
            try:
                verify_model(Path(self.model_path))
            except ModelError as exc:
                raise LLMError(str(exc)) from exc
        return _worker_client(self.worker.url(), self.timeout_s, self.max_tokens)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        client = self._client()
        name = uuid.uuid4().hex
        try:
            with on_stop(lambda: self.worker.abort(name)):
                for part in client.stream(messages, stop=stop, extra_headers={REQUEST_HEADER: name}):
                    delta = str(part.content)
                    if not delta:
                        continue
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                    if run_manager:
                        run_manager.on_llm_new_token(delta, chunk=chunk)
                    yield chunk
        except Exception as exc:
            if stop_requested():  # the request was aborted on purpose: the worker is fine
                raise LLMError("the answer was stopped") from exc
            raise self.worker.failure(exc) from exc


def length_limit(max_tokens: int) -> dict[str, int]:
    """The answer's length limit as OpenAI-compatible servers read it. langchain-openai sends
    `max_completion_tokens` only (OpenAI's newer name), which llama-cpp-python's server ignores:
    the local model then wrote until its context was full (3,619 tokens, 230 s, seen in a dev-set
    run); `max_tokens`, the name llama.cpp, vLLM and Ollama read, is sent as well."""
    return {"max_tokens": max_tokens}


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model of `settings.backend`'s provider (`providers.PROVIDERS`); None for the
    extractive one."""
    maker = PROVIDERS[settings.backend].make
    if not maker:
        return None
    module, function = maker.split(":")
    return getattr(importlib.import_module(module), function)(settings)


def local_chat(settings: Settings) -> BaseChatModel:
    return LocalChat(model_path=str(settings.model_path), worker=local_worker(settings),
                     max_tokens=settings.max_answer_tokens, timeout_s=settings.llm_timeout_s)


def openai_chat(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    if not settings.openai_api_key:
        raise LLMError("the openai backend needs OPENAI_API_KEY to be set")
    return ChatOpenAI(model=settings.model or DEFAULT_OPENAI_MODEL, api_key=settings.openai_api_key,
                      temperature=0, timeout=settings.llm_timeout_s, max_retries=1,
                      max_tokens=settings.max_answer_tokens)


def compatible_chat(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    base_url = settings.openai_base_url or (HF_ROUTER if settings.hf_token else None)
    if not base_url:
        raise LLMError("the compatible backend needs OPENAI_BASE_URL (or HF_TOKEN for Hugging "
                       "Face's router)")
    key = settings.openai_api_key or settings.hf_token or "not-needed"
    return ChatOpenAI(model=settings.model or "default", base_url=base_url, api_key=key,
                      temperature=0, timeout=settings.llm_timeout_s, max_retries=1,
                      max_tokens=settings.max_answer_tokens,
                      extra_body=length_limit(settings.max_answer_tokens))


def model_label(settings: Settings, chat: BaseChatModel | None) -> str:
    if chat is None:
        return "extractive (no LLM)"
    return str(getattr(chat, "model_name", None) or settings.model or settings.backend)


def describe_error(exc: BaseException, settings: Settings) -> str:
    """A short, secret-free explanation of a backend failure."""
    from vectorstore.index.store import StoreError

    if isinstance(exc, (LLMError, StoreError)):
        text = str(exc)
    else:
        name = type(exc).__name__
        where = settings.openai_base_url or PROVIDERS[settings.backend].server_name
        server = f"the {settings.backend} model server" + (f" {where}" if where else "")
        kinds = error_kinds(exc)
        if is_timeout(exc):
            text = f"{server} timed out after {settings.llm_timeout_s:g} s ({name})"
        elif any(k in kinds for k in ("Connection", "Transport", "RemoteProtocol")):
            text = f"{server} is unreachable or dropped the connection ({name})"
        else:
            text = f"the {settings.backend} model failed ({name}: {str(exc)[:200]})"
    for secret in (settings.openai_api_key, settings.hf_token):
        if secret:
            text = text.replace(secret, "***")
    return text
