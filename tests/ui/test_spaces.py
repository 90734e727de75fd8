"""The Hugging Face Spaces files: front matter, app file, requirements."""

from __future__ import annotations

import re
import subprocess
import sys

import tomllib
import yaml
from packaging.specifiers import SpecifierSet

from tests.conftest import REPO


def front_matter() -> dict:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with YAML front matter"
    return yaml.safe_load(match.group(1))


def test_front_matter_fields():
    import gradio

    meta = front_matter()
    for key in ("title", "emoji", "sdk", "sdk_version", "app_file", "python_version",
                "short_description"):
        assert meta.get(key), key
    assert meta["sdk"] == "gradio"
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(meta["sdk_version"]))
    # Spaces installs exactly this version: the one the project declares and is tested with
    # (same major as installed; any release the pyproject's range admits)
    declared = next(d for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
                    ["dependencies"] if d.startswith("gradio"))
    assert SpecifierSet(declared.removeprefix("gradio")).contains(str(meta["sdk_version"]))
    assert str(meta["sdk_version"]).split(".")[0] == gradio.__version__.split(".")[0]
    assert (REPO / meta["app_file"]).is_file()
    assert re.fullmatch(r"3\.\d+", str(meta["python_version"]))
    assert len(meta["short_description"]) <= 60


def test_requirements_install_the_app(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report",
         str(tmp_path / "r.json"), "-r", str(REPO / "requirements.txt")],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    names = {i["metadata"]["name"].lower() for i in json.loads((tmp_path / "r.json").read_text())["install"]}
    assert "kenbron" in names


def test_space_without_secrets_or_model_answers_with_the_extractive_backend(corpus_data_dir, tmp_path):
    """On a Space (SPACE_ID set) with no model installed and no API secret, questions are
    answered — extractively — and the settings line says why."""
    import os
    import shutil
    import urllib.request

    from gradio_client import Client

    from tests.conftest import start_app, stop

    data = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data)
    env = {k: v for k, v in os.environ.items()
           if k not in ("KENBRON_LLM", "OPENAI_API_KEY", "OPENAI_BASE_URL", "HF_TOKEN")}
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        proc, url = start_app(data, tmp_path / "serve.log", SPACE_ID="kenbron/demo",
                              KENBRON_MODEL_PATH=str(tmp_path / "no-model.gguf"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        result = Client(url, verbose=False).predict(
            "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?",
            "[]", api_name="/ask")
        assert result["backend"] == "extractive" and result["error"] is None
        assert result["citations"] and not result["abstained"]
        config = urllib.request.urlopen(url + "/config", timeout=30).read().decode()
        assert "no local model on this Space and no API secret set" in config
    finally:
        stop(proc)
