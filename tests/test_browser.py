"""The app in headless Chromium (Playwright with Debian's chromium; never `playwright install`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (scripts/test installs the Debian package)")
    ARTEFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _ask(page, question: str) -> None:
    page.locator("#kb-question textarea").fill(question)
    page.locator("#kb-send").click()


def test_chat_citation_upload_and_xss(browser, extractive_app, tmp_path):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(extractive_app)
    _ask(page, "Wat veroorzaakte een door KI gegenereerde afbeelding van een explosie?")
    bot = page.locator("#kb-chat .message.bot, #kb-chat [data-testid='bot']").last
    expect(bot).to_contain_text("[1]", timeout=120_000)
    sources = page.locator("#kb-sources")
    expect(sources.locator("mark").first).to_contain_text("afbeelding van een explosie", timeout=30_000)
    # open (toggle) a citation and read its highlighted passage
    summary = sources.locator("details summary").first
    summary.click()
    summary.click()
    expect(sources.locator("details").first).to_have_attribute("open", "")
    page.screenshot(path=str(ARTEFACTS / "chat-desktop.png"), full_page=True)

    # documents tab: upload a file (with HTML inside) and see it listed
    hostile = tmp_path / "verslag_xss.md"
    hostile.write_text(
        "---\ntitle: Verslag <b>vet</b>\n---\n"
        "De gemeente Zwartewaal opent een nieuwe veerpont. <img src=x onerror=alert(1)> "
        "<script>alert(2)</script> De veerpont vaart elk halfuur naar Brielle.\n",
        encoding="utf-8")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#kb-upload input[type=file]").set_input_files(str(hostile))
    page.locator("#kb-ingest").click()
    expect(page.locator("#kb-upload-results")).to_contain_text("added", timeout=180_000)
    expect(page.locator("#kb-docs")).to_contain_text("verslag_xss.md", timeout=30_000)
    page.screenshot(path=str(ARTEFACTS / "documents-desktop.png"), full_page=True)

    # the hostile text is shown as text, never run
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "Hoe vaak vaart de veerpont van Zwartewaal naar Brielle?")
    expect(page.locator("#kb-sources")).to_contain_text("onerror=alert(1)", timeout=120_000)
    assert page.locator("#kb-sources img").count() == 0
    assert page.locator("#kb-sources script").count() == 0
    assert dialogs == []
    page.screenshot(path=str(ARTEFACTS / "xss-as-text.png"), full_page=True)
    page.close()


def test_phone_viewport(browser, extractive_app):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(extractive_app)
    _ask(page, "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?")
    expect(page.locator("#kb-sources mark").first).to_be_visible(timeout=120_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(ARTEFACTS / "chat-phone.png"), full_page=True)
    page.close()


def test_evaluation_tab_shows_rendered_charts(browser, extractive_app):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    page.get_by_role("tab", name="Evaluation").click()
    images = page.locator("#kb-charts img")
    expect(images.first).to_be_visible(timeout=60_000)
    assert images.first.bounding_box()["y"] < 900  # in view when the tab opens, not below the report
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('#kb-charts img')];"
        " return imgs.length >= 3 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        timeout=60_000)
    sizes = images.evaluate_all("imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
    assert len(sizes) >= 3 and all(w > 0 and h > 0 for w, h in sizes), sizes
    page.screenshot(path=str(ARTEFACTS / "evaluation-charts.png"), full_page=True)
    page.close()


def test_sources_panel_lists_cited_passages_first_then_the_others(browser, extractive_app):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    _ask(page, "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?")
    sources = page.locator("#kb-sources")
    expect(sources.locator(".kb-cited mark").first).to_be_visible(timeout=120_000)
    kinds = sources.locator("details").evaluate_all("ds => ds.map(d => d.classList.contains('kb-cited'))")
    assert len(kinds) == 5  # every retrieved passage (k = 5) is listed
    assert kinds[0] and not kinds[-1] and kinds == sorted(kinds, reverse=True), kinds
    expect(sources.locator(".kb-uncited").first).to_contain_text("consulté, non cité")
    page.screenshot(path=str(ARTEFACTS / "sources-cited-and-uncited.png"), full_page=True)

    _ask(page, "Combien coûte l'abonnement Gemini Advanced ?")  # not in the documents
    expect(sources.locator(".kb-abstain")).to_be_visible(timeout=120_000)
    assert sources.locator(".kb-uncited").count() >= 1  # what was looked at
    assert sources.locator(".kb-cited").count() == 0
    page.close()


def test_evaluation_runs_from_the_app_with_progress(browser, extractive_app):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    page.get_by_role("tab", name="Evaluation").click()
    page.locator("#kb-run-eval").click()
    expect(page.get_by_text(re.compile(r"evaluating \d+/69 questions")).first).to_be_visible(timeout=60_000)
    expect(page.locator("#kb-report")).to_contain_text("backend: extractive", timeout=300_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#kb-charts img')].filter(i => i.naturalWidth > 0).length >= 3",
        timeout=60_000)
    page.close()
