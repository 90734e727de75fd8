"""Who can write Kenbron's answers — one `Provider` record each, the only place that names them.

A provider says where its model runs, what the pipeline's defaults do with it, and which
function makes its LangChain chat model (named, not imported: the configuration reads this
table and must stay light). A new provider is one entry in `PROVIDERS` and its function; the
settings (`KENBRON_LLM`), the command line's `--backend`, the doctor and the app follow it.

- `local`: Qwen2.5-Coder-1.5B-Instruct (GGUF) in a supervised worker process (llama-cpp-python's
  server, `assistant.models.local_worker`), so a crash of llama.cpp costs one answer, never the app.
- `openai`: OpenAI's API with `OPENAI_API_KEY`.
- `compatible`: any OpenAI-compatible server at `OPENAI_BASE_URL` (Ollama, vLLM, llama.cpp's
  server, Hugging Face's router with `HF_TOKEN`).
- `extractive`: no model at all (`assistant.grounding.extractive`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    """One way of getting a chat model, and what the pipeline's `auto` defaults do with it."""

    name: str
    # "module:function" making its LangChain chat model from the settings, imported when called
    # (`llm.make_chat_model`); "" for no model (the extractive answers)
    make: str
    remote: bool  # a model behind an API: fast and able to translate questions for retrieval
    quotes: bool  # the small local model: its verified answer is replaced by quoted sentences
    doubts: bool  # the small local model: a verified answer at odds with the evidence is "not sure"
    local_model: bool = False  # runs the installed model file (the doctor checks file and build)
    server_name: str = ""  # how an error names where the model runs, when no URL says it


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("local", "assistant.models.llm:local_chat", remote=False, quotes=True, doubts=True,
             local_model=True),
    Provider("openai", "assistant.models.llm:openai_chat", remote=True, quotes=False, doubts=False,
             server_name="OpenAI"),
    Provider("compatible", "assistant.models.llm:compatible_chat", remote=True, quotes=False,
             doubts=False),
    Provider("extractive", "", remote=False, quotes=False, doubts=False),
)}
