"""`kenbron doctor`: can this machine run Kenbron, and how fast?

Each check is a `Check` with a verdict and, when it fails, the fix. The local model is measured
in a child process (the same smoke test set-up runs), so a llama.cpp build that crashes on this
CPU is reported as a failed check instead of killing the doctor.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import asdict, dataclass

from assistant.models.providers import PROVIDERS
from assistant.provisioning import llama_build
from assistant.settings import Settings
from vectorstore.cpu import cpu_flags, cpu_model

_INTERESTING = ("avx", "avx2", "fma", "f16c", "bmi2", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
                "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    data: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def check_cpu() -> Check:
    flags = cpu_flags()
    shown = " ".join(f for f in _INTERESTING if f in flags) or "none of the SIMD extensions llama.cpp uses"
    tiers = ", ".join(b.tier for b in llama_build.candidate_builds(flags))
    detail = f"{cpu_model()}; {shown}; llama.cpp builds to try: {tiers}"
    if any(f.startswith("amx") for f in flags):
        detail += " (AMX present: Kenbron never compiles it in; the native build crashes with it)"
    data = {"model": cpu_model(), "flags": sorted(flags & set(_INTERESTING))}
    return Check("cpu", True, detail, data=data)


def check_llama_build() -> Check:
    if importlib.util.find_spec("llama_cpp") is None:
        return Check("llama.cpp build", False, "llama-cpp-python is not installed",
                     "run scripts/setup (it builds llama.cpp for this CPU)")
    record = llama_build.read_record()
    if record is None:
        return Check("llama.cpp build", False,
                     "llama-cpp-python was installed without Kenbron's CPU-checked build; it may be "
                     "a native build that crashes on this CPU",
                     "run `.venv/bin/python -m assistant.provisioning.llama_build` (or scripts/setup)")
    fitting = {b.key for b in llama_build.candidate_builds(cpu_flags())}
    if record.get("key") not in fitting:
        return Check("llama.cpp build", False,
                     f"the installed build ({record.get('tier')}) was made for another CPU "
                     f"({record.get('cpu')})", "run `.venv/bin/python -m assistant.provisioning.llama_build`",
                     data=record)
    return Check("llama.cpp build", True, f"{record['tier']} tier: {record['cmake_args']}", data=record)


def check_model(settings: Settings) -> Check:
    from assistant.models.model_file import ModelError, verify_model

    try:
        verify_model(settings.model_path)
    except ModelError as exc:
        return Check("local model", False, str(exc),
                     "run `.venv/bin/python -m assistant.provisioning.model_install`")
    return Check("local model", True, f"{settings.model_path} (SHA-256 verified)")


def check_speed(settings: Settings) -> Check:
    try:
        speed = llama_build.smoke_test(settings.model_path, settings.llm_threads)
    except llama_build.BuildError as exc:
        return Check("local model speed", False, str(exc),
                     "run `.venv/bin/python -m assistant.provisioning.llama_build`; it falls back to a more "
                     "conservative build when one crashes")
    detail = (f"prompt {speed['prompt_tokens_per_s']} tokens/s, generation "
              f"{speed['generation_tokens_per_s']} tokens/s on {settings.llm_threads} threads; "
              f"system info: {speed['system_info']}")
    return Check("local model speed", True, detail, data=speed)


def check_backend(settings: Settings) -> Check:
    from assistant.models.llm import LLMError, make_chat_model, model_label
    
    try:
        chat = make_chat_model(settings)
    except LLMError as exc:
        return Check("backend", False, str(exc), "set the variables named above, or KENBRON_LLM=extractive")
    return Check("backend", True, f"{settings.backend}: {model_label(settings, chat)}")


def check_embedding_model(settings: Settings) -> Check:
    """The gemma model: installed from the pinned archive, its ONNX graph built and verified."""
    from assistant.provisioning.model_install import GEMMA_ZIP_SHA256
    from vectorstore.index.embeddings import FALLBACK_EMBEDDING
    from vectorstore.index.gemma_onnx import GemmaRuntimeMissing, verified_onnx

    stamp = settings.embedding_model_dir / ".kenbron-sha256"
    fix = (".venv/bin/pip install -e '.[gemma]' && "
           ".venv/bin/python -m assistant.provisioning.model_install --embedding")
    # with `auto` a missing model is a weaker default (use+e5), not a broken setup
    required = settings.embedding == "gemma"
    fallback = "" if required else f"; `auto` uses {FALLBACK_EMBEDDING} (weaker across languages)"
    if not stamp.is_file() or stamp.read_text().strip() != GEMMA_ZIP_SHA256:
        return Check("embedding model", not required, f"EmbeddingGemma not installed in "
                     f"{settings.embedding_model_dir}{fallback}", fix)
    try:
        verified_onnx(settings.embedding_model_dir, full=True)
    except GemmaRuntimeMissing as exc:
        return Check("embedding model", not required, f"{exc}{fallback}", fix)
    return Check("embedding model", True,
                 f"EmbeddingGemma-300M (ONNX) in {settings.embedding_model_dir}")


def check_embedding_runtime(settings: Settings) -> Check:
    """What runs EmbeddingGemma here, and what the set-up measured on this CPU (a fallback to
    the reference runtime works, so it is not a failure; the fix says how to measure again)."""
    from vectorstore.index.gemma_runtime import Choice, RuntimeUnavailable, runtime_to_load

    remeasure = ".venv/bin/python -m assistant.provisioning.model_install --embedding"
    try:
        runtime, why = runtime_to_load(settings.embedding_model_dir, settings.embedding_runtime)
    except RuntimeUnavailable as exc:
        return Check("embedding runtime", False, str(exc),
                     "set KENBRON_EMBEDDING_RUNTIME=auto or to a runtime this CPU runs")
    choice = Choice.read(settings.embedding_model_dir)
    measured = "; ".join(f"{m.runtime} {m.tokens_per_s:,.0f} tokens/s (cosine {m.lowest_cosine:.5f}"
                         f"{'' if m.faithful else ', refused'})" for m in choice.measured) \
        if choice else "nothing measured"
    where = f" on {choice.cpu}" if choice else ""
    fix = "" if why in ("chosen at set-up", "asked for") else f"run `{remeasure}` to measure this CPU"
    return Check("embedding runtime", True, f"{runtime.name} ({why}); measured{where}: {measured}",
                 fix, data={"runtime": runtime.name, "why": why,
                            "measured": [m.__dict__ for m in choice.measured] if choice else []})


def check_store(settings: Settings) -> Check:
    from assistant.settings import store_config
    from vectorstore.index.embeddings import gemma_installed
    from vectorstore.index.knowledge_base import KnowledgeBase

    try:
        kb = KnowledgeBase(store_config(settings))
        docs = kb.documents()
    except Exception as exc:
        return Check("store", False, f"{settings.location}: {type(exc).__name__}: {str(exc)[:300]}",
                     "start the Chroma server, or check KENBRON_DATA_DIR / CHROMA_HOST")
    chunks = sum(d.chunks for d in docs)
    if not docs:
        return Check("store", False, f"{settings.location}: no documents ingested",
                     "run `kenbron ingest data/corpus` (scripts/setup does)")
    upgrade = ""
    if settings.embedding == "auto" and kb.embedding != "gemma" and gemma_installed(
            settings.embedding_model_dir):
        # `auto` keeps a store's model; gemma is installed but only a new store will use it
        upgrade = "ingest into a new KENBRON_DATA_DIR (or KENBRON_COLLECTION) to use EmbeddingGemma"
    return Check("store", True, f"{settings.location}: {len(docs)} documents, {chunks} chunks, "
                 f"embeddings: {kb.embedding}", upgrade)


def check_ocr() -> Check:
    """Tesseract is optional: without it a scanned PDF is refused (with this same hint)."""
    from vectorstore.readers import ocr

    if not ocr.available():
        return Check("ocr", True, "Tesseract not installed: scanned PDFs (no text layer) are "
                     "refused", "apt-get install tesseract-ocr tesseract-ocr-nld tesseract-ocr-fra")
    return Check("ocr", True, f"Tesseract reads scanned PDFs ({ocr.languages()})")


def check_app(settings: Settings) -> Check:
    login = "login required" if settings.username and settings.password else "no login"
    return Check("app", True, f"listens on {settings.host}:{settings.port}; uploads {settings.uploads}; "
                 f"{login}")


def run_checks(settings: Settings, measure: bool = True) -> list[Check]:
    """Every check in order; the local-model ones only when the local backend is active."""
    steps: list[Callable[[], Check]] = [check_cpu]
    if PROVIDERS[settings.backend].local_model:
        steps += [check_llama_build, lambda: check_model(settings)]
    steps.append(lambda: check_backend(settings))
    if settings.embedding in ("gemma", "auto"):
        steps.append(lambda: check_embedding_model(settings))
    steps += [lambda: check_store(settings), check_ocr, lambda: check_app(settings)]
    from vectorstore.index.embeddings import gemma_installed

    checks = [step() for step in steps]
    names = [c.name for c in checks]
    if "embedding model" in names and checks[names.index("embedding model")].ok and \
            gemma_installed(settings.embedding_model_dir):
        checks.insert(names.index("embedding model") + 1, check_embedding_runtime(settings))
    if measure and PROVIDERS[settings.backend].local_model and all(c.ok for c in checks[1:3]):
        checks.insert(3, check_speed(settings))
    return checks
