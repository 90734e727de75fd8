"""All configuration in one place: environment variables, overridden by command-line flags.

Every knob has an environment variable so that Hugging Face Spaces (which only offers variables
and secrets) and the CLI configure the same object.
"""

from __future__ import annotations

import os
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from assistant.models.providers import PROVIDERS
from vectorstore.defaults import (
    AUTO,
    DEFAULT_CHUNK_TOKENS,
    DEFAULT_COLLECTION,
    DEFAULT_EMBEDDING,
    DEFAULT_MAX_BYTES,
    DEFAULT_OVERLAP_TOKENS,
    RRF_K,
    collection_name_problem,
)
from vectorstore.index.gemma_runtime import RUNTIMES

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO_ROOT / "data" / "corpus"


# Qwen2.5-Coder-1.5B-Instruct Q4_K_M, the official release: anything else is refused.
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES = 1_117_320_768
_MB = 1024 * 1024
_ON = ("on", "1", "true", "yes")


# Switched off for every process Kenbron starts: nothing on the default path calls home.
PROCESS_DEFAULTS = {"ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False",
                    "HF_HUB_OFFLINE": "1"}


def apply_process_defaults() -> None:
    """Telemetry off and hubs offline, unless the environment says otherwise; called by every
    entry point (CLI, app) before Chroma or Gradio are imported."""
    for name, value in PROCESS_DEFAULTS.items():
        os.environ.setdefault(name, value)


def environment_with(**extra: str) -> dict[str, str]:
    """This process's environment plus `extra`, for child processes that need a variable set."""
    return {**os.environ, **extra}


def _xdg(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / default)


def default_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "kenbron"


def default_cache_dir() -> Path:
    """Where built wheels and the model live: outside the checkout, shared by clones."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "kenbron"


def default_model_path() -> Path:
    return default_cache_dir() / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def default_embedding_model_dir() -> Path:
    return default_cache_dir() / "models" / "embeddinggemma-300m"


def _env(name: str, default: Any = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _flag(value: str | None) -> bool:
    """A switch's value as set in the environment: on, 1, true or yes (any case) mean on."""
    return (value or "").strip().lower() in _ON


@dataclass(frozen=True)
class Settings:
    """Kenbron's configuration. Build with `Settings.from_env(**overrides)`."""

    data_dir: Path = field(default_factory=default_data_dir)
    collection: str = DEFAULT_COLLECTION
    chroma_host: str | None = None
    chroma_port: int = 8000
    embedding: str = DEFAULT_EMBEDDING
    embedding_model_dir: Path = field(default_factory=default_embedding_model_dir)
    embedding_runtime: str = AUTO  # what runs gemma: auto (measured at set-up) or a name
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    chunk_overlap: int = DEFAULT_OVERLAP_TOKENS
    max_file_mb: int = DEFAULT_MAX_BYTES // _MB
    k: int = 5
    rrf_k: int = RRF_K
    # answering
    backend: str = "local"
    model: str | None = None
    model_path: Path = field(default_factory=default_model_path)
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    hf_token: str | None = field(default=None, repr=False)
    llm_timeout_s: float = 120.0
    llm_threads: int = 2
    context_tokens: int = 4096
    max_answer_tokens: int = 384
    max_question_chars: int = 2000
    translate_queries: str = "auto"  # on, off, or auto: on for remote models, off for local
    evidence_sentences: int = 3
    quote_answers: str = "auto"  # on, off, or auto: on for the local model, off for remote ones
    not_sure: str = "auto"  # on, off, or auto: on for the local model (`Provider.doubts`)
    # the app
    uploads: str = "open"  # open, password, off; see `upload_policy`
    admin_password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)  # bearer token for /v1/ (KENBRON_API_KEY)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 7860
    on_spaces: bool = False
    log_questions: bool = False  # the app logs each request; its question text only when asked

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment (`VARIABLES`); keyword overrides (from flags) win when
        not None. Unset or empty variables leave the default; a malformed number is an error."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = _env(VARIABLES[f.name]) if f.name in VARIABLES else None
            if raw is not None and f.name not in ("uploads", "on_spaces"):  # both set below
                values[f.name] = _parse(f, VARIABLES[f.name], raw)
        values.setdefault("backend", _default_backend())
        values["on_spaces"] = bool(_env(VARIABLES["on_spaces"]))
        values["uploads"] = upload_policy(_env(VARIABLES["uploads"], ""),
                                          values.get("admin_password"), values["on_spaces"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        for name in ("data_dir", "model_path", "embedding_model_dir"):
            if name in values:
                values[name] = Path(values[name]).expanduser()
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.backend not in PROVIDERS:
            raise ValueError(f"unknown backend {self.backend!r}; choose one of {', '.join(PROVIDERS)}")
        if not 1 <= self.k <= 50:
            raise ValueError("k must be between 1 and 50")
        if problem := collection_name_problem(self.collection):
            raise ValueError(f"{problem} (KENBRON_COLLECTION={self.collection!r})")
        runtimes = (AUTO, *(r.name for r in RUNTIMES))
        if self.embedding_runtime not in runtimes:
            raise ValueError(f"unknown embedding runtime {self.embedding_runtime!r}; choose one of "
                             f"{', '.join(runtimes)}")

    @property
    def should_quote(self) -> bool:
        """Answer with the best-supported source sentences, translated, once the model's own
        answer has been verified? See `Assistant._quoted`."""
        if self.quote_answers == "auto":
            return PROVIDERS[self.backend].quotes
        return _flag(self.quote_answers)

    @property
    def should_doubt(self) -> bool:
        """Say "not sure" and point at the best passage when a verified answer disagrees with
        the evidence (`abstention.unsure`)?"""
        if self.not_sure == "auto":
            return PROVIDERS[self.backend].doubts
        return _flag(self.not_sure)

    @property
    def should_translate(self) -> bool:
        """Translate questions for retrieval? Each translation is one extra model call."""
        if self.translate_queries == "auto":
            return PROVIDERS[self.backend].remote
        return _flag(self.translate_queries)

    @property
    def location(self) -> str:
        """Where the vectors live, for messages and for keying local caches."""
        if self.chroma_host:
            return f"chroma server {self.chroma_host}:{self.chroma_port}"
        return f"embedded chroma {self.data_dir / 'chroma'}"


# the environment variable behind each setting (the README's configuration table lists them all;
# a test holds the two together); settings without one are set in code or by flags only
VARIABLES = {
    "data_dir": "KENBRON_DATA_DIR",
    "collection": "KENBRON_COLLECTION",
    "chroma_host": "CHROMA_HOST",
    "chroma_port": "CHROMA_PORT",
    "embedding": "KENBRON_EMBEDDING",
    "embedding_model_dir": "KENBRON_EMBEDDING_MODEL_DIR",
    "embedding_runtime": "KENBRON_EMBEDDING_RUNTIME",
    "chunk_tokens": "KENBRON_CHUNK_TOKENS",
    "chunk_overlap": "KENBRON_CHUNK_OVERLAP",
    "max_file_mb": "KENBRON_MAX_FILE_MB",
    "k": "KENBRON_K",
    "rrf_k": "KENBRON_RRF_K",
    "backend": "KENBRON_LLM",
    "model": "KENBRON_LLM_MODEL",
    "model_path": "KENBRON_MODEL_PATH",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
    "hf_token": "HF_TOKEN",
    "llm_timeout_s": "KENBRON_LLM_TIMEOUT",
    "llm_threads": "KENBRON_LLM_THREADS",
    "translate_queries": "KENBRON_TRANSLATE_QUERIES",
    "evidence_sentences": "KENBRON_EVIDENCE_SENTENCES",
    "quote_answers": "KENBRON_QUOTE_ANSWERS",
    "not_sure": "KENBRON_NOT_SURE",
    "uploads": "KENBRON_UPLOADS",
    "admin_password": "KENBRON_ADMIN_PASSWORD",
    "api_key": "KENBRON_API_KEY",
    "username": "KENBRON_USERNAME",
    "password": "KENBRON_PASSWORD",
    "host": "GRADIO_SERVER_NAME",
    "port": "GRADIO_SERVER_PORT",
    "on_spaces": "SPACE_ID",
    "log_questions": "KENBRON_LOG_QUESTIONS",
}


def _parse(setting: Field, variable: str, raw: str) -> Any:
    """A variable's text as its setting's declared type."""
    kind = setting.type if isinstance(setting.type, str) else setting.type.__name__
    if kind == "Path":
        return Path(raw)
    if kind == "bool":
        return _flag(raw)
    if kind in ("int", "float"):
        try:
            return int(raw) if kind == "int" else float(raw)
        except ValueError as exc:
            what = "an integer" if kind == "int" else "a number"
            raise ValueError(f"{variable} must be {what}, got {raw!r}") from exc
    return raw


def _default_backend() -> str:
    """`compatible` when a server URL is configured, `openai` with only a key, else `local` —
    except on a Space with neither a secret nor the local model installed (Spaces does not build
    llama.cpp), where the extractive backend answers instead of every question failing."""
    if _env(VARIABLES["openai_base_url"]):
        return "compatible"
    if _env(VARIABLES["openai_api_key"]):
        return "openai"
    model_path = Path(_env(VARIABLES["model_path"]) or default_model_path())
    if _env(VARIABLES["on_spaces"]) and not local_model_available(model_path):
        return "extractive"
    return "local"


def local_model_available(model_path: Path) -> bool:
    import importlib.util

    return model_path.is_file() and importlib.util.find_spec("llama_cpp") is not None


def upload_policy(requested: str, admin_password: str | None, on_spaces: bool) -> str:
    """Uploads change what every visitor sees: open locally, behind the admin password when one
    is set, off on a Space without one — unless `KENBRON_UPLOADS` says otherwise."""
    requested = (requested or "").strip().lower()
    if requested in ("open", "password", "off"):
        return requested
    if admin_password:
        return "password"
    return "off" if on_spaces else "open"


def store_config(settings: Settings):
    """The vector-store part of the settings, in the shape `vectorstore` takes."""
    from vectorstore.index.ingest import ChunkingConfig
    from vectorstore.index.knowledge_base import StoreConfig

    return StoreConfig(
        data_dir=settings.data_dir,
        collection=settings.collection,
        chroma_host=settings.chroma_host,
        chroma_port=settings.chroma_port,
        embedding=settings.embedding,
        chunking=ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap),
        max_file_bytes=settings.max_file_mb * _MB,
        rrf_k=settings.rrf_k,
        embedding_model_dir=settings.embedding_model_dir,
        embedding_runtime=settings.embedding_runtime,
    )
