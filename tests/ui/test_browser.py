"""The app in headless Chromium (Playwright with Debian's chromium; never `playwright install`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pytest

pytest.importorskip("playwright")
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.assistant.models.test_local_worker import (  # noqa: E402
    cpu_seconds,
    wait_for_worker,
    wait_until_busy,
    wait_until_idle,
)
from tests.conftest import REPO, start_app, stop  # noqa: E402
from ui.chat import EXAMPLES  # noqa: E402

REALDOCS_PDF = REPO / "eval/realdocs/corpus/pdf/lshort-nl.pdf"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
ARTEFACTS = REPO / "test-artifacts"

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


# every text the chat's second bot message shows, in order, whether it has marker links and
# whether it is a progress line
_RECORD_SECOND_MESSAGE = """() => {
  window.kbStates = [];
  const chat = document.querySelector('#kb-chat');
  new MutationObserver(() => {
    const bots = chat.querySelectorAll('.message.bot');
    if (bots.length < 2) return;
    const text = bots[1].innerText.trim(), states = window.kbStates;
    if (text === 'Loading content') return;  // Gradio's placeholder for an empty message
    const linked = bots[1].querySelector('a.kb-marker') !== null;
    const busy = bots[1].querySelector('.kb-progress') !== null;
    if (text && (!states.length || states[states.length - 1][0] !== text)) {
      states.push([text, linked, busy]);
    }
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""


def _upload(page, path: Path, screenshot: str | None = None) -> None:
    """`path` uploaded in the documents tab (open), reported added and listed."""
    page.locator("#kb-upload input[type=file]").set_input_files(str(path))
    page.locator("#kb-ingest").click()
    expect(page.locator("#kb-upload-results")).to_contain_text("added", timeout=300_000)
    expect(page.locator("#kb-docs")).to_contain_text(path.name, timeout=30_000)
    if screenshot:
        page.screenshot(path=str(ARTEFACTS / screenshot), full_page=True)


def _sections_hidden(page) -> list[bool]:
    return page.locator("#kb-sources section.kb-msg").evaluate_all("ss => ss.map(s => s.hidden)")


def test_markers_open_their_own_passage_and_each_answer_keeps_its_sources(browser, extractive_app):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    _ask(page, EXAMPLES[2])
    first = page.locator("#kb-chat a.kb-marker[href^='#kb-m0-']").first
    expect(first).to_be_visible(timeout=120_000)
    expect(page.locator("#kb-send")).to_be_enabled(timeout=30_000)

    # an empty box sends nothing: no bubble, no answer
    bubbles = page.locator("#kb-chat .message").count()
    page.locator("#kb-question textarea").fill("")
    page.locator("#kb-question textarea").press("Enter")
    page.wait_for_timeout(1500)
    assert page.locator("#kb-chat .message").count() == bubbles

    _ask(page, EXAMPLES[0])
    expect(page.locator("#kb-chat a.kb-marker[href^='#kb-m1-']").first).to_be_visible(timeout=120_000)
    assert _sections_hidden(page) == [True, False]  # the latest answer's sources are shown

    # focus (keyboard) shows the tip: source, place and quote
    first.focus()
    tip = first.locator(".kb-tip")
    expect(tip).to_be_visible()
    assert tip.bounding_box()["width"] > 100
    tip_text = tip.inner_text()
    page.screenshot(path=str(ARTEFACTS / "marker-tip.png"))

    # following the first answer's marker brings back that answer's sources and highlights
    # the very sentence the marker stands for
    first.click()
    assert _sections_hidden(page) == [False, True]
    focused = page.locator("#kb-sources mark.kb-focus")
    expect(focused).to_have_count(1)
    expect(focused).to_be_in_viewport()
    assert " ".join(focused.inner_text().split()) in " ".join(tip_text.split())
    assert focused.evaluate("m => m.closest('details').open")
    assert len(page.context.pages) == 1  # no new tab
    page.screenshot(path=str(ARTEFACTS / "marker-followed.png"), full_page=True)
    page.close()


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
    _upload(page, hostile, "documents-desktop.png")

    # the hostile text is shown as text, never run
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "Hoe vaak vaart de veerpont van Zwartewaal naar Brielle?")
    expect(page.locator("#kb-sources")).to_contain_text("onerror=alert(1)", timeout=120_000)
    assert page.locator("#kb-sources img").count() == 0
    assert page.locator("#kb-sources script").count() == 0
    assert dialogs == []
    page.screenshot(path=str(ARTEFACTS / "xss-as-text.png"), full_page=True)

    # removal names what would go and asks first; nothing is preselected
    page.get_by_role("tab", name="Documents").click()
    choice = page.locator("#kb-remove-choice input")
    expect(choice).to_have_value("")
    page.locator("#kb-remove").click()  # nothing chosen: said next to the button
    expect(page.locator("#kb-remove-confirm-text")).to_contain_text("Choose a document",
                                                                     timeout=5_000)
    expect(page.locator("#kb-remove-confirm")).to_be_hidden()
    choice.click()
    page.get_by_role("option", name=re.compile(r"verslag_xss\.md")).click()
    page.locator("#kb-remove").click()
    expect(page.locator("#kb-remove-confirm-text")).to_contain_text("verslag_xss.md", timeout=30_000)
    page.locator("#kb-remove-keep").click()
    expect(page.locator("#kb-remove-confirm")).to_be_hidden()
    expect(page.locator("#kb-docs")).to_contain_text("verslag_xss.md")
    page.locator("#kb-remove").click()
    page.locator("#kb-remove-confirm").click()
    expect(page.locator("#kb-upload-results")).to_contain_text("removed", timeout=60_000)
    expect(page.locator("#kb-docs")).not_to_contain_text("verslag_xss.md", timeout=30_000)
    page.close()


def test_a_collection_is_created_chosen_filled_and_asked_in_the_browser(browser, extractive_app,
                                                                         tmp_path):
    """Create a collection, see it chosen, upload into it, ask within it (the answer cites only
    its file); the default collection, chosen again, lists and cites none of it. A bad name is
    refused next to the button."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    collection = page.locator("#kb-collection input")
    expect(collection).to_have_value("kenbron", timeout=30_000)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#kb-new-collection textarea, #kb-new-collection input").first.fill("a b")
    page.locator("#kb-create-collection").click()
    expect(page.locator("#kb-collection-notice")).to_contain_text("letters, digits", timeout=10_000)
    page.locator("#kb-new-collection textarea, #kb-new-collection input").first.fill("bakkerij")
    page.locator("#kb-create-collection").click()
    expect(page.locator("#kb-collection-notice")).to_contain_text("bakkerij", timeout=10_000)
    expect(collection).to_have_value("bakkerij", timeout=10_000)
    expect(page.locator("#kb-docs")).not_to_contain_text(".txt", timeout=10_000)  # empty

    oven = tmp_path / "four-ravenel.txt"  # invented text
    oven.write_text("Four à pain de Ravenel\n\nLe four communal de Ravenel chauffe chaque samedi "
                    "dès six heures. Une fournée de quarante miches demande deux heures de "
                    "cuisson.\n", encoding="utf-8")
    _upload(page, oven, "collection-documents.png")

    page.get_by_role("tab", name="Chat").click()
    _ask(page, "Combien d'heures de cuisson demande une fournée de quarante miches à Ravenel ?")
    expect(page.locator("#kb-sources")).to_contain_text("four-ravenel.txt", timeout=120_000)
    expect(page.locator("#kb-chat .message.bot").last).to_contain_text("deux heures")
    expect(page.locator("#kb-settings")).to_contain_text("1 document")  # the collection's count
    page.screenshot(path=str(ARTEFACTS / "collection-chat.png"), full_page=True)

    collection.click()
    page.get_by_role("option", name="kenbron", exact=True).click()
    expect(collection).to_have_value("kenbron")
    expect(page.locator("#kb-send")).to_be_enabled(timeout=60_000)  # the first answer is done
    _ask(page, "Combien d'heures de cuisson demande une fournée de quarante miches à Ravenel ?")
    expect(page.locator("#kb-chat .message.bot")).to_have_count(2, timeout=120_000)
    expect(page.locator("#kb-send")).to_be_enabled(timeout=120_000)
    page.wait_for_function("() => [...document.querySelectorAll('#kb-sources section.kb-msg')]"
                           ".map(s => s.hidden).join() === 'true,false'", timeout=30_000)
    assert "four-ravenel.txt" not in page.locator("#kb-sources").inner_text()
    page.get_by_role("tab", name="Documents").click()
    expect(page.locator("#kb-docs")).not_to_contain_text("four-ravenel.txt", timeout=30_000)
    page.close()


def test_phone_viewport(browser, extractive_app):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(extractive_app)
    _ask(page, "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?")
    expect(page.locator("#kb-sources mark").first).to_be_visible(timeout=120_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(ARTEFACTS / "chat-phone.png"), full_page=True)
    # the sources sit below the chat on a phone: a marker takes the reader to its passage
    marker = page.locator("#kb-chat a.kb-marker").first
    marker.scroll_into_view_if_needed()
    marker.click()
    expect(page.locator("#kb-sources mark.kb-focus")).to_be_in_viewport()
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
    fits = images.evaluate_all("imgs => imgs.map(i => getComputedStyle(i).objectFit)")
    assert set(fits) == {"contain"}, fits  # whole charts, not crops
    page.screenshot(path=str(ARTEFACTS / "evaluation-charts.png"), full_page=True)
    page.close()


def test_sources_panel_lists_cited_passages_first_then_the_others(browser, extractive_app):
    """In the visitor's language (a French browser here), whatever the question's."""
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fr-FR")
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
    shown = sources.locator("section.kb-msg:not([hidden])")
    expect(shown.locator(".kb-abstain")).to_be_visible(timeout=120_000)
    assert shown.locator(".kb-uncited").count() >= 1  # what was looked at
    assert shown.locator(".kb-cited").count() == 0
    page.close()


def test_evaluation_runs_from_the_app_with_progress_and_can_be_cancelled(browser, extractive_app):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    page.get_by_role("tab", name="Evaluation").click()
    run = page.locator("#kb-run-eval")
    run.click()
    progress = page.get_by_text(re.compile(r"evaluating \d+/69 questions")).first
    expect(progress).to_be_visible(timeout=60_000)
    # the progress is shown next to the button, not at the top of the page, and the button
    # comes before the report
    assert abs(progress.bounding_box()["y"] - run.bounding_box()["y"]) < 200
    assert run.bounding_box()["y"] < page.locator("#kb-report").bounding_box()["y"]
    page.locator("#kb-cancel-eval").click()
    # said within 2 s: "Cancelling…", or already the end of the run
    expect(page.locator("#kb-eval-status")).to_contain_text(re.compile("Cancelling|cancelled"),
                                                            timeout=2_000)
    expect(page.locator("#kb-eval-status")).to_contain_text("cancelled", timeout=60_000)
    expect(run).to_be_enabled()
    expect(page.locator("#kb-cancel-eval")).to_be_hidden()

    run.click()
    expect(page.locator("#kb-eval-status")).to_contain_text("Evaluated 69 questions", timeout=300_000)
    expect(page.locator("#kb-report")).to_contain_text("answered by extractive", timeout=60_000)
    # the gallery's images load lazily: a reader scrolls up from the Run button to see them
    # (whether Chromium loads them out of view depends on its heuristics; CI once did not)
    page.locator("#kb-charts").scroll_into_view_if_needed()
    try:
        page.wait_for_function(
            "() => [...document.querySelectorAll('#kb-charts img')]"
            ".filter(i => i.complete && i.naturalWidth > 0).length >= 3", timeout=60_000)
    except PlaywrightTimeoutError:
        states = page.locator("#kb-charts img").evaluate_all(
            "imgs => imgs.map(i => [i.src, i.complete, i.naturalWidth])")
        raise AssertionError(f"the new charts did not load: {states}") from None
    page.close()


def test_a_follow_up_offered_under_an_answer_is_asked_when_clicked(browser, extractive_app):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    _ask(page, "What are the risks of artificial intelligence?")  # written for this test
    options = page.locator("#kb-chat button.option")
    expect(options.first).to_be_visible(timeout=120_000)
    assert page.locator("#kb-chat a.kb-marker a").count() == 0  # a quoted link stays text in a tip
    texts = options.all_inner_texts()
    assert 1 <= len(texts) <= 3 and all(t.startswith("What do") for t in texts), texts  # English
    interview = options.filter(has_text="Interview")  # the other document the search found
    follow_up = interview.inner_text()
    interview.click()
    expect(page.locator("#kb-chat .message.user").last).to_have_text(follow_up, timeout=30_000)
    expect(page.locator("#kb-chat a.kb-marker[href^='#kb-m1-']").first).to_be_visible(timeout=120_000)
    page.screenshot(path=str(ARTEFACTS / "follow-up.png"), full_page=True)
    page.close()


def test_a_pdf_citation_shows_its_page_as_printed(browser, extractive_app, tmp_path):
    """A PDF uploaded through the app, then cited: its page is drawn with the quote marked."""
    excerpt = pdfium.PdfDocument.new()
    excerpt.import_pages(pdfium.PdfDocument(REALDOCS_PDF), [35, 36])  # special characters
    pdf = tmp_path / "tekens.pdf"
    excerpt.save(str(pdf))
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    page.get_by_role("tab", name="Documents").click()
    _upload(page, pdf)
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "Hoe noemt men in LaTeX het langste liggende streepje?")
    shown = page.locator("#kb-sources section.kb-msg:not([hidden])")
    view = shown.locator(".kb-cited .kb-page-view").first
    expect(view).to_be_attached(timeout=120_000)
    view.locator("summary").click()
    image = view.locator("img")
    expect(image).to_be_visible()
    page.wait_for_function("i => i.complete && i.naturalWidth > 500", arg=image.element_handle(),
                           timeout=30_000)
    assert "/gradio_api/file=" in image.get_attribute("src")
    assert "p. " in view.locator("summary").inner_text()
    page.screenshot(path=str(ARTEFACTS / "pdf-page-view.png"), full_page=True)
    page.close()


@pytest.fixture(scope="module")
def password_app(corpus_data_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("app-password")
    shutil.copytree(corpus_data_dir, data, dirs_exist_ok=True)
    proc, url = start_app(data, data / "serve.log", KENBRON_LLM="extractive",
                          KENBRON_UPLOADS="password", KENBRON_ADMIN_PASSWORD="s3cret-admin")
    yield url
    stop(proc)


def test_only_an_admin_sees_the_evaluation_button(browser, password_app):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(password_app)
    page.get_by_role("tab", name="Evaluation").click()
    run = page.locator("#kb-run-eval")
    password = page.get_by_label("Admin password").last
    expect(password).to_be_visible(timeout=30_000)
    expect(run).to_be_hidden()
    password.fill("wrong")
    page.wait_for_timeout(1000)
    expect(run).to_be_hidden()
    password.fill("s3cret-admin")
    expect(run).to_be_visible(timeout=10_000)
    page.close()


@pytest.mark.llm
def test_stop_ends_the_models_answer_and_a_second_question_waits(browser, corpus_data_dir, tmp_path):
    """With the real local model: while an answer is written Ask is off and a second question
    stays in the box (it never replaces the first answer); Stop ends the model's work at once
    and the chat takes the next question. Until an answer is checked its message says what is
    being done; what is then shown as the answer stays (the model's draft never shows)."""
    data = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data)
    proc, url = start_app(data, tmp_path / "serve.log", KENBRON_LLM="local")
    try:
        worker = wait_for_worker(proc.pid)
        wait_until_idle(worker, timeout=180)  # the warm-up has loaded the model
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        busy_from = cpu_seconds(worker)
        _ask(page, EXAMPLES[1])
        expect(page.locator("#kb-stop")).to_be_visible(timeout=10_000)
        expect(page.locator("#kb-send")).to_be_disabled()
        page.locator("#kb-question textarea").fill(EXAMPLES[2])
        page.locator("#kb-question textarea").press("Enter")
        wait_until_busy(worker, busy_from)  # the model is reading the first question's prompt
        expect(page.locator("#kb-question textarea")).to_have_value(EXAMPLES[2])
        expect(page.locator("#kb-notice")).to_contain_text("Wait for the answer", timeout=5_000)
        page.locator("#kb-stop").click()
        expect(page.locator("#kb-send")).to_be_enabled(timeout=60_000)
        bot = page.locator("#kb-chat .message.bot")
        expect(bot.last).to_contain_text("Gestopt")
        wait_until_idle(worker, timeout=15)  # the model's request was closed, not left to finish
        page.screenshot(path=str(ARTEFACTS / "stopped.png"))

        page.evaluate(_RECORD_SECOND_MESSAGE)
        page.locator("#kb-send").click()  # the question that waited in the box
        expect(bot.nth(1).locator(".kb-progress")).to_be_visible(timeout=60_000)
        page.screenshot(path=str(ARTEFACTS / "progress.png"))
        expect(page.locator("#kb-chat a.kb-marker[href^='#kb-m1-']").first).to_be_visible(timeout=300_000)
        expect(bot).to_have_count(2)
        expect(bot.first).to_contain_text("Gestopt")  # the first message is still there
        states = page.evaluate("window.kbStates")
        progress = [text for text, _, busy in states if busy]
        answer = [(text, linked) for text, linked, busy in states if not busy]
        assert progress and [text for text, _, _ in states[:len(progress)]] == progress, states
        assert answer and all(linked for _, linked in answer), states  # never a draft
        assert all(text.startswith(answer[0][0]) for text, _ in answer), states  # nothing retracted
        page.close()
    finally:
        stop(proc)


def test_a_first_start_serves_the_page_at_once_and_says_what_a_question_waits_for(browser, tmp_path):
    """On an empty data folder the page is served before the bundled corpus is indexed (it is
    read in the background, its progress on the page); a question asked meanwhile says what it
    waits for and is then answered from the whole corpus, with citations — in the page and
    through `/ask`."""
    from gradio_client import Client

    log_path = tmp_path / "serve.log"
    proc, url = start_app(tmp_path / "data", log_path, KENBRON_LLM="extractive")
    try:
        assert "ingested the bundled corpus" not in log_path.read_text(errors="replace")
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        expect(page.locator("#kb-ready")).to_contain_text("Waiting for", timeout=10_000)
        page.screenshot(path=str(ARTEFACTS / "first-start.png"))
        _ask(page, "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?")
        expect(page.locator("#kb-chat .message.bot .kb-progress")).to_be_visible(timeout=5_000)
        expect(page.locator("#kb-chat a.kb-marker").first).to_be_visible(timeout=600_000)
        expect(page.locator("#kb-ready")).not_to_contain_text("Waiting for", timeout=10_000)
        assert "ingested the bundled corpus: 5 documents" in log_path.read_text(errors="replace")
        result = Client(url, verbose=False).predict(
            "Met wie had Sam Altman een verhitte woordenwisseling op sociale netwerken?", "[]",
            api_name="/ask")
        assert result["citations"] and not result["abstained"], result
        page.close()
    finally:
        stop(proc)


def test_a_long_question_is_refused_with_its_length_never_cut(browser, extractive_app):
    """The box does not cut a long question on its own: the pipeline refuses it and the chat
    says why, in the asker's language."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(extractive_app)
    question = "Waarom zegt Altman dat ChatGPT veilig is? " * 80
    _ask(page, question)
    expect(page.locator("#kb-chat .message.bot").last).to_contain_text(
        f"de vraag is {len(question.strip())} tekens lang; de grens is 2000", timeout=30_000)
    page.close()


_INSIDE = """([tip, box]) => tip.left >= box.left - 1 && tip.right <= box.right + 1
                              && tip.top >= box.top - 1 && tip.bottom <= box.bottom + 1"""


def _box(locator) -> dict:
    return locator.evaluate("e => { const r = e.getBoundingClientRect();"
                            " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }")


def _overlap(a: dict, b: dict) -> bool:
    return not (a["right"] <= b["left"] or b["right"] <= a["left"]
                or a["bottom"] <= b["top"] or b["bottom"] <= a["top"])


@pytest.mark.parametrize("width", [390, 768, 1366, 1920])
def test_marker_tips_and_tables_fit_every_width(browser, extractive_app, width):
    """From a phone to a wide screen: a marker's tip opens inside the chat box (not cut at its
    edge) and covers none of the message's buttons; the documents table's headers are whole;
    the page never scrolls sideways; on a phone the sources come before the examples."""
    page = browser.new_page(viewport={"width": width, "height": 900}, is_mobile=width < 500)
    page.goto(extractive_app)
    _ask(page, "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?")
    markers = page.locator("#kb-chat a.kb-marker")
    expect(markers.first).to_be_visible(timeout=120_000)
    chat = _box(page.locator("#kb-chat"))
    buttons = [_box(b) for b in page.locator("#kb-chat .message-buttons button, "
                                             "#kb-chat button[aria-label]").all() if b.is_visible()]
    for i in range(min(markers.count(), 3)):
        marker = markers.nth(i)
        marker.scroll_into_view_if_needed()
        marker.focus()
        tip = marker.locator(".kb-tip")
        expect(tip).to_be_visible()
        chat = _box(page.locator("#kb-chat"))
        box = _box(tip)
        assert page.evaluate(_INSIDE, [box, chat]), (width, i, box, chat)
        assert not any(_overlap(box, b) for b in buttons), (width, i, box)
    page.screenshot(path=str(ARTEFACTS / f"marker-tip-{width}.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    if width < 500:
        assert _box(page.locator("#kb-sources"))["top"] < _box(
            page.get_by_text("Examples").first)["top"]
    page.get_by_role("tab", name="Documents").click()
    headers = page.locator("#kb-docs th")
    expect(headers.first).to_be_visible(timeout=30_000)
    if width >= 768:  # each header on one line, and not cut
        broken = headers.evaluate_all(
            "ths => ths.filter(th => { const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);"
            " let node, lines = 0;"
            " while ((node = walk.nextNode())) { if (!node.textContent.trim()) continue;"
            "   const r = document.createRange(); r.selectNodeContents(node);"
            "   lines = Math.max(lines, new Set([...r.getClientRects()].map(x => Math.round(x.top))).size); }"
            " return lines > 1; }).map(th => th.innerText)")
        assert not broken, (width, broken)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.screenshot(path=str(ARTEFACTS / f"documents-{width}.png"), full_page=True)
    page.close()


def _interface_english(language: str) -> set[str]:
    """Every piece of an English interface string (the app's labels and the server's words,
    split at their {placeholders}) that reads differently in `language`: none may show on a
    page the browser asks for in `language`."""
    from ui.labels import LABELS

    pieces = set()
    for key, english in LABELS["en"].items():
        if LABELS[language][key] == english:
            continue
        for piece in re.split(r"\{\w+\}|[#*`()\n]", english):
            piece = piece.strip(" .,:;·—…?")
            if (len(piece.split()) >= 2 or len(piece) >= 9) and piece not in LABELS[language][key]:
                pieces.add(piece)
    return pieces


@pytest.mark.parametrize("language,question", [("nl", EXAMPLES[1]), ("fr", EXAMPLES[2])])
def test_every_interface_string_is_in_the_visitors_language(browser, extractive_app, language,
                                                           question):
    """A browser asking for Dutch or French gets every word of the interface in that language:
    the tabs, the settings line, the sources panel (before and after an answer), the documents
    and results tables, a refused removal, the collection chooser and the evaluation tab, its
    report's figures included."""
    context = browser.new_context(locale=f"{language}-BE", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(extractive_app)
    from ui.labels import LABELS

    # what the server writes on load, in the browser's language
    expect(page.locator("#kb-sources")).to_contain_text(LABELS[language]["sources_empty"],
                                                       timeout=30_000)
    seen = [page.locator("body").inner_text()]
    _ask(page, question)
    expect(page.locator("#kb-chat a.kb-marker").first).to_be_visible(timeout=120_000)
    seen.append(page.locator("body").inner_text())
    page.screenshot(path=str(ARTEFACTS / f"locale-{language}-chat.png"))
    page.get_by_role("tab").nth(1).click()
    page.locator("#kb-remove").click()
    expect(page.locator("#kb-remove-confirm-text")).to_be_visible(timeout=5_000)
    seen.append(page.locator("body").inner_text())
    page.screenshot(path=str(ARTEFACTS / f"locale-{language}-documents.png"))
    page.get_by_role("tab").nth(2).click()
    expect(page.locator("#kb-report")).to_contain_text(LABELS[language]["report_metric"])
    # the charts drawn again with their words in this language (`EvaluationTab.charts`)
    expect(page.locator("#kb-charts img").first).to_have_attribute(
        "src", re.compile(rf"\.{language}\.png$"), timeout=30_000)
    seen.append(page.locator("body").inner_text())
    page.screenshot(path=str(ARTEFACTS / f"locale-{language}-evaluation.png"), full_page=True)
    text = "\n".join(seen)
    left = sorted(p for p in _interface_english(language) if p.lower() in text.lower())
    assert not left, f"English interface strings on the {language} page: {left}"
    from assistant.prompts import message

    shown = [LABELS[language][k] for k in ("sources_empty", "col_title", "col_file", "choose_document",
                                           "collection", "m_answers_right")]
    assert all(words in text for words in [*shown, message(language, "sources")]), shown
    context.close()
