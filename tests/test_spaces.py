"""The Hugging Face Spaces files: front matter, app file, requirements."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

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
    assert meta["sdk_version"] == gradio.__version__
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
