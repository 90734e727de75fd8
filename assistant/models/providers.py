"""Who can write Kenbron's answers — one `Provider` record each, the only place that names them.

A provider says where its model runs, what the pipeline's defaults do with it, which settings it
needs and how its LangChain chat model is made (`make`, importing what it needs only when
called: the configuration reads this table). A new provider is one entry in `PROVIDERS`; the
settings (`KENBRON_LLM`), the command line's `--backend`, the doctor and the app follow it.

- `local`: Qwen2.5-Coder-1.5B-Instruct (GGUF) in a supervised worker process (llama-cpp-python's
  server, `assistant.models.local_worker`), so a crash of llama.cpp costs one answer, never the app.
- `openai`: OpenAI's API with `OPENAI_API_KEY`.
- `compatible`: any OpenAI-compatible server at `OPENAI_BASE_URL` (Ollama, vLLM, llama.cpp's
  server, Hugging Face's router with `HF_TOKEN`).
- `extractive`: no model at all (`assistant.grounding.extractive`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.settings import Settings

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
HF_ROUTER = "https://router.huggingface.co/v1"


@dataclass(frozen=True)
class Provider:
    """One way of getting a chat model, and what the pipeline's `auto` defaults do with it."""

    name: str
    make: Callable[[Settings], BaseChatModel | None]  # None: no model (the extractive answers)
    remote: bool  # a model behind an API: fast and able to translate questions for retrieval
    quotes: bool  # the small local model: its verified answer is replaced by quoted sentences
    doubts: bool  # the small local model: a verified answer at odds with the evidence is "not sure"
    local_model: bool = False  # runs the installed model file (the doctor checks file and build)
    server_name: str = ""  # how an error names where the model runs, when no URL says it


def _local(settings: Settings) -> BaseChatModel:
    from assistant.models.llm import LocalChat, local_worker

    return LocalChat(model_path=str(settings.model_path), worker=local_worker(settings),
                     max_tokens=settings.max_answer_tokens, timeout_s=settings.llm_timeout_s)


def _openai(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    from assistant.models.errors import LLMError

    if not settings.openai_api_key:
        raise LLMError("the openai backend needs OPENAI_API_KEY to be set")
    return ChatOpenAI(model=settings.model or DEFAULT_OPENAI_MODEL, api_key=settings.openai_api_key,
                      temperature=0, timeout=settings.llm_timeout_s, max_retries=1,
                      max_tokens=settings.max_answer_tokens)


def _compatible(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    from assistant.models.errors import LLMError
    from assistant.models.llm import length_limit

    base_url = settings.openai_base_url or (HF_ROUTER if settings.hf_token else None)
    if not base_url:
        raise LLMError("the compatible backend needs OPENAI_BASE_URL (or HF_TOKEN for Hugging "
                       "Face's router)")
    key = settings.openai_api_key or settings.hf_token or "not-needed"
    return ChatOpenAI(model=settings.model or "default", base_url=base_url, api_key=key,
                      temperature=0, timeout=settings.llm_timeout_s, max_retries=1,
                      max_tokens=settings.max_answer_tokens,
                      extra_body=length_limit(settings.max_answer_tokens))


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("local", _local, remote=False, quotes=True, doubts=True, local_model=True),
    Provider("openai", _openai, remote=True, quotes=False, doubts=False, server_name="OpenAI"),
    Provider("compatible", _compatible, remote=True, quotes=False, doubts=False),
    Provider("extractive", lambda _settings: None, remote=False, quotes=False, doubts=False),
)}


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model of `settings.backend`'s provider; None for the extractive one."""
    return PROVIDERS[settings.backend].make(settings)
