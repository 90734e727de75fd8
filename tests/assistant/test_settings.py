"""Settings: every variable documented, values parsed by type, the environment isolated."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import VARIABLES, Settings
from tests.conftest import REPO

README = REPO / "README.md"


def _configuration_table() -> set[str]:
    """The variables named in the first column of the README's configuration table."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| variable | default | meaning |"):]
    table = table[: table.index("\n\n")]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
    return names


def test_the_readme_table_lists_every_variable_and_no_other():
    assert _configuration_table() == set(VARIABLES.values())


def test_the_tests_do_not_see_the_developers_configuration():
    assert not [name for name in VARIABLES.values() if name in os.environ]
    assert Settings.from_env() == Settings()


def test_variables_are_parsed_as_their_settings_type(monkeypatch):
    monkeypatch.setenv("KENBRON_K", "7")
    monkeypatch.setenv("KENBRON_LLM_TIMEOUT", "2.5")
    monkeypatch.setenv("KENBRON_DATA_DIR", "~/somewhere")
    monkeypatch.setenv("KENBRON_LOG_QUESTIONS", "Yes")
    monkeypatch.setenv("CHROMA_HOST", "db.example")
    settings = Settings.from_env(k=None, collection="flags-win")
    assert (settings.k, settings.llm_timeout_s, settings.log_questions) == (7, 2.5, True)
    assert settings.data_dir == Path("~/somewhere").expanduser()
    assert settings.chroma_host == "db.example" and settings.collection == "flags-win"
    monkeypatch.setenv("KENBRON_CHUNK_TOKENS", "many")
    with pytest.raises(ValueError, match="KENBRON_CHUNK_TOKENS must be an integer"):
        Settings.from_env()


def test_uploads_follow_the_admin_password_and_spaces(monkeypatch):
    assert Settings.from_env().uploads == "open"
    monkeypatch.setenv("SPACE_ID", "user/space")
    assert Settings.from_env().uploads == "off"
    monkeypatch.setenv("KENBRON_ADMIN_PASSWORD", "secret")
    assert Settings.from_env().uploads == "password"
    monkeypatch.setenv("KENBRON_UPLOADS", "open")
    assert Settings.from_env().uploads == "open"


def test_every_provider_is_a_setting_and_a_command_line_choice():
    """One table names the providers: the settings accept exactly them, `--backend` offers
    exactly them, and the extractive one makes no model."""
    from assistant.models.llm import make_chat_model
    from assistant.models.providers import PROVIDERS
    from ui.cli import build_parser

    for name in PROVIDERS:
        assert Settings.from_env(backend=name).backend == name
    with pytest.raises(ValueError, match="unknown backend"):
        Settings.from_env(backend="nonesuch")
    ask = build_parser()._subparsers._group_actions[0].choices["ask"]
    offered = next(a for a in ask._actions if "--backend" in a.option_strings).choices
    assert list(offered) == list(PROVIDERS)
    assert make_chat_model(Settings(backend="extractive")) is None


def test_the_configuration_imports_nothing_heavy():
    """Reading the settings loads neither Chroma, Gradio, numpy nor a model runtime, so every
    entry point can apply the process defaults (telemetry off, hubs offline) before any of them."""
    code = ("import sys, assistant.settings; "
            "print(' '.join(m for m in ('chromadb', 'gradio', 'numpy', 'langchain_core', "
            "'onnxruntime', 'openvino', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=REPO)
    assert done.stdout.strip() == ""
