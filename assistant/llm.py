"""The LLM backends behind one narrow interface: a LangChain chat model, or none (extractive).

- `local`: Qwen2.5-Coder-1.5B-Instruct (GGUF) run in-process by llama-cpp-python, wrapped as a
  LangChain chat model so the chain is the same for every backend. One model instance per process,
  guarded by a lock: llama.cpp contexts are not re-entrant, so concurrent users queue here.
- `openai`: OpenAI's API with `OPENAI_API_KEY`.
- `compatible`: any OpenAI-compatible server at `OPENAI_BASE_URL` (Ollama, vLLM, llama.cpp's
  server, Hugging Face's router with `HF_TOKEN`).
- `extractive`: no model at all (see `assistant.extractive`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assistant.settings import Settings

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
HF_ROUTER = "https://router.huggingface.co/v1"


class LLMError(RuntimeError):
    """The answering model is unavailable or failed; the message is safe to show to users."""


_ROLES = {"human": "user", "ai": "assistant", "system": "system"}
_LLAMA_LOCK = threading.Lock()  # one llama.cpp context per process; it is not re-entrant


@lru_cache(maxsize=1)
def _load_llama(path: str, threads: int, context: int):
    from llama_cpp import Llama

    return Llama(model_path=path, n_ctx=context, n_threads=threads, n_batch=512, verbose=False,
                 seed=0)


class LocalLlamaChat(BaseChatModel):
    """llama-cpp-python as a LangChain chat model (greedy decoding: answers are reproducible)."""

    model_path: str
    threads: int = 2
    context_tokens: int = 4096
    max_tokens: int = 384
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name

    def _llama(self):
        from assistant.model_install import ModelError, verify_model

        try:
            verify_model(Path(self.model_path))
        except ModelError as exc:
            raise LLMError(str(exc)) from exc
        return _load_llama(self.model_path, self.threads, self.context_tokens)

    def _payload(self, messages: list[BaseMessage], stop: list[str] | None) -> dict:
        return {
            "messages": [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)}
                         for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": stop or None,
        }

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        llama = self._llama()
        with _LLAMA_LOCK:
            for part in llama.create_chat_completion(stream=True, **self._payload(messages, stop)):
                delta = part["choices"][0]["delta"].get("content") or ""
                if not delta:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model for `settings.backend`; None for the extractive backend."""
    backend = settings.backend
    if backend == "extractive":
        return None
    if backend == "local":
        return LocalLlamaChat(model_path=str(settings.model_path), threads=settings.llm_threads,
                              context_tokens=settings.context_tokens,
                              max_tokens=settings.max_answer_tokens)
    from langchain_openai import ChatOpenAI

    if backend == "openai":
        if not settings.openai_api_key:
            raise LLMError("the openai backend needs OPENAI_API_KEY to be set")
        return ChatOpenAI(model=settings.model or DEFAULT_OPENAI_MODEL, api_key=settings.openai_api_key,
                          temperature=0, timeout=settings.llm_timeout_s, max_retries=1,
                          max_tokens=settings.max_answer_tokens)
    base_url = settings.openai_base_url or (HF_ROUTER if settings.hf_token else None)
    if not base_url:
        raise LLMError("the compatible backend needs OPENAI_BASE_URL (or HF_TOKEN for Hugging "
                       "Face's router)")
    key = settings.openai_api_key or settings.hf_token or "not-needed"
    return ChatOpenAI(model=settings.model or "default", base_url=base_url, api_key=key,
                      temperature=0, timeout=settings.llm_timeout_s, max_retries=1,
                      max_tokens=settings.max_answer_tokens)


def model_label(settings: Settings, chat: BaseChatModel | None) -> str:
    if chat is None:
        return "extractive (no LLM)"
    return str(getattr(chat, "model_name", None) or settings.model or settings.backend)


def describe_error(exc: BaseException, settings: Settings) -> str:
    """A short, secret-free explanation of a backend failure."""
    from vectorstore.store import StoreError

    if isinstance(exc, (LLMError, StoreError)):
        text = str(exc)
    else:
        name = type(exc).__name__
        where = settings.openai_base_url or ("OpenAI" if settings.backend == "openai" else "")
        server = f"the {settings.backend} model server" + (f" {where}" if where else "")
        # By class ancestry, not exact type: client libraries re-wrap these errors between versions
        # (langchain-openai 1.7 raises OpenAIConnectionError where 1.1 let httpx's error through).
        kinds = " ".join(cls.__name__ for cls in type(exc).__mro__)
        if "Timeout" in kinds:
            text = f"{server} timed out after {settings.llm_timeout_s:g} s ({name})"
        elif any(k in kinds for k in ("Connection", "Transport", "RemoteProtocol")):
            text = f"{server} is unreachable or dropped the connection ({name})"
        else:
            text = f"the {settings.backend} model failed ({name}: {str(exc)[:200]})"
    for secret in (settings.openai_api_key, settings.hf_token):
        if secret:
            text = text.replace(secret, "***")
    return text
