"""Who may change what every visitor sees: uploads, removals and evaluation runs.

`KENBRON_UPLOADS` decides: `open` (anyone; the local default), `password` (whoever types
`KENBRON_ADMIN_PASSWORD`), `off` (nobody; the default on Hugging Face Spaces without a password).
"""

from __future__ import annotations

import hmac

from assistant.settings import apply_process_defaults

apply_process_defaults()  # before Gradio and Chroma are imported

import gradio as gr  # noqa: E402

from assistant.settings import Settings  # noqa: E402
from ui.labels import text  # noqa: E402


def require_admin(settings: Settings, password: str, language: str = "en") -> None:
    """Raise `gr.Error` (shown to the visitor, in `language`) unless the policy lets this
    visitor act."""
    policy = settings.uploads
    if policy == "off":
        raise gr.Error(text(language, "uploads_off_fix"))
    if policy == "password":
        expected = settings.admin_password or ""
        if not expected or not hmac.compare_digest(password or "", expected):
            raise gr.Error(text(language, "wrong_password"))
