"""End to end in real headless Chromium: the app as a subprocess on a free port, a fresh store, real uploads.

Screenshots go to ``test-artifacts/browser/`` (the path is printed). With ``RAG_DOCS_SCREENSHOT=1``
the cited-answer view is also saved as ``docs/screenshot.png`` for the README.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .conftest import GREENHOUSE
from .servers import free_port, stop, wait_until_ok
from .test_ui import bridge_records

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 180_000
NATO_Q = "Who is the Secretary General of NATO?"
HOSTILE = (
    b'Harbour council <b>approves</b> ferry terminal <img src=x onerror="window.__xss_title=1">\n\n'
    b'The harbour council voted seven to two to approve the new ferry terminal <img src=x onerror="window.__xss=1"> '
    b"despite loud protests from residents. <script>window.__xss_script=1</script> "
    b"Read more at [the council site](https://evil.example/phish) or **bold claims**. "
    b"Construction of the ferry terminal starts in the spring and should take two years.\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = {**os.environ, "RAG_STORE_PATH": str(tmp / "store"), "RAG_UPLOADS_PATH": str(tmp / "uploads"),
           "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    for var in ("RAG_CHROMA_URL", "RAG_COLLECTION", "RAG_ANSWER_MODE", "RAG_SEEDS_PATH"):
        env.pop(var, None)
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(url + "/_stcore/health", proc, timeout=120)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        capman = request.config.pluginmanager.get_plugin("capturemanager")
        if capman is None:
            print(f"\nbrowser screenshots: {ARTIFACTS}")
        else:
            with capman.global_and_fixture_disabled():
                print(f"\nbrowser screenshots: {ARTIFACTS}")
        yield url
    finally:
        stop(proc, timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
            viewport={"width": 1280, "height": 900}, accept_downloads=True,
        )
        yield context
        context.close()


@pytest.fixture
def page(server, browser_context):
    page = browser_context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    page.get_by_placeholder("Ask a question about the articles").wait_for()
    yield page
    page.close()


def ask(page, question: str):
    """Ask and wait for the new answer (cited or abstained) to be rendered; returns its locator."""
    before = page.locator(".rag-answer, .rag-abstain").count()
    box = page.get_by_placeholder("Ask a question about the articles")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('.rag-answer, .rag-abstain').length > {before}")
    page.wait_for_timeout(500)
    return page.locator(".rag-answer, .rag-abstain").nth(before)


def upload(page, name: str, data: bytes, mime: str = "text/plain") -> str:
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])
    report = page.locator('[data-testid="stSidebar"] [data-testid="stCaptionContainer"], '
                          '[data-testid="stSidebar"] [data-testid="stAlert"]').filter(
        has_text=re.compile(rf"(added|updated|unchanged|rejected) {re.escape(name)}")).last
    report.wait_for()
    page.wait_for_timeout(500)
    return report.inner_text()


WATCH_STREAM = """() => {
  window.__streamed = [];
  new MutationObserver(() => {
    const parts = document.querySelectorAll('[data-testid="stChatMessage"] [data-testid="stMarkdownContainer"]');
    const n = Math.max(0, ...Array.from(parts, p => p.textContent.length));
    if (n && window.__streamed[window.__streamed.length - 1] !== n) window.__streamed.push(n);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


COVERED = """selector => {
  const el = document.querySelector(selector), r = el.getBoundingClientRect();
  return !el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
}"""


def test_cited_answer_shows_the_highlighted_passage(page):
    page.evaluate(WATCH_STREAM)
    answer = ask(page, NATO_Q)
    assert "Stoltenberg" in answer.inner_text()
    lengths = page.evaluate("window.__streamed")  # streamed text, then the final rendering replaces it
    growing = lengths[: lengths.index(max(lengths)) + 1]
    assert len(growing) >= 5 and growing == sorted(growing), f"the answer should appear word by word: {lengths}"
    card = page.locator("#t0-c1")
    card.wait_for()
    assert "NATO Chief Says Afghanistan Troop Pullout Depends on Taliban" in card.inner_text()
    assert any("Stoltenberg" in m for m in card.locator("mark").all_inner_texts())
    # asked as of today (the sidebar's As of), and the answer says what it searched
    today = date.today()
    sidebar = page.locator('[data-testid="stSidebar"]')
    shown = [sidebar.get_by_role("spinbutton", name=f"{part}, As of").get_attribute("aria-valuenow") for part in ("year", "month", "day")]
    assert shown == [str(today.year), str(today.month), str(today.day)]
    assert f"Searched news up to {today.day} {today:%b} {today.year}" in page.locator('[data-testid="stChatMessage"]').last.inner_text()
    page.screenshot(path=str(ARTIFACTS / "cited-answer.png"))
    if os.environ.get("RAG_DOCS_SCREENSHOT"):  # the question and its answer at the top, the first source below
        (ROOT / "docs").mkdir(exist_ok=True)
        page.locator('[data-testid="stChatMessage"]').first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.add_style_tag(content='[data-testid="stToastContainer"] { display: none; }')  # the "Indexed" toast
        page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))

    # the [1] marker leads to its card
    page.locator(".rag-answer a.rag-cite").first.click()
    assert page.evaluate("location.hash") == "#t0-c1"

    # the whole article, cited span marked
    page.get_by_role("button", name="Open the article at this passage").first.click()
    article = page.locator(".rag-article")
    article.wait_for()
    assert "The Taliban warned NATO" in article.inner_text()
    assert "000_d74854d57afea269.txt · undated" in page.get_by_role("dialog").inner_text()  # as on its card
    assert any("Stoltenberg" in m for m in article.locator("mark").all_inner_texts())
    page.screenshot(path=str(ARTIFACTS / "article-dialog.png"))
    # nothing covers the dialog's close button (the first start's toast did, for its four seconds)
    assert page.evaluate(COVERED, "[data-testid='stDialog'] button[aria-label='Close']") is False
    page.keyboard.press("Escape")
    page.locator("[data-testid='stDialog']").wait_for(state="detached")  # closed: toasts show again

    # export as Markdown
    with page.expect_download() as info:
        page.get_by_role("button", name="Export").click()
    text = Path(info.value.path()).read_text()
    assert NATO_Q in text and "Stoltenberg" in text and "NATO Chief Says" in text


def test_uploaded_article_is_cited(page):
    report = upload(page, "greenhouse.txt", GREENHOUSE)
    assert "added" in report and "Lunar Greenhouse" in report
    ask(page, "Who leads the greenhouse project?")
    card = page.locator("#t0-c1")
    assert "Lunar Greenhouse Harvests Its First Tomatoes" in card.inner_text()
    assert "greenhouse.txt (uploaded)" in card.inner_text()
    assert any("Okonkwo" in m for m in card.locator("mark").all_inner_texts())
    page.screenshot(path=str(ARTIFACTS / "uploaded-answer.png"), full_page=True)


def test_markup_in_an_article_renders_as_text(page):
    report = upload(page, "hostile.txt", HOSTILE)
    assert "added" in report
    ask(page, "How did the harbour council vote on the ferry terminal?")
    card = page.locator("#t0-c1")
    text = card.inner_text()
    assert '<img src=x onerror="window.__xss_title=1">' in text  # the title, literally
    assert '<img src=x onerror="window.__xss=1">' in text
    assert "<script>window.__xss_script=1</script>" in text
    assert "[the council site](https://evil.example/phish)" in text
    page.get_by_role("button", name="Open the article at this passage").first.click()
    page.locator(".rag-article").wait_for()
    assert "<script>window.__xss_script=1</script>" in page.locator(".rag-article").inner_text()
    page.screenshot(path=str(ARTIFACTS / "hostile-article.png"))
    page.wait_for_timeout(500)
    assert page.evaluate("[window.__xss, window.__xss_title, window.__xss_script]") == [None, None, None]
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator('a[href*="evil.example"]').count() == 0
    assert page.locator(".rag-card b, .rag-card strong").count() == 0


def test_other_reports_and_the_timeline(page):
    report = upload(page, "bridge.json", bridge_records(), "application/json")
    assert "added" in report
    ask(page, "When did construction of the harbour bridge begin?")
    card = page.locator("#t0-c1")
    assert "Work starts on harbour bridge" in card.inner_text() and "2024-03-05" in card.inner_text()
    copies = card.locator("details.rag-copies")
    assert copies.locator("summary").inner_text() == "Also reported by 1 other source"
    copies.locator("summary").click()
    listed = copies.locator("li").inner_text()
    assert "Work starts on harbour bridge" in listed and ("e.test/wire" in listed or "c.test/start" in listed)

    page.get_by_text("Timeline of a subject").click()
    box = page.get_by_label("Subject")
    box.fill("the harbour bridge")
    box.press("Enter")
    timeline = page.locator(".rag-timeline")
    timeline.wait_for()
    dates = timeline.locator(".rag-date").all_inner_texts()
    assert dates[:3] == ["2023-06-01", "2024-03-05", "2025-09-18"] and set(dates[3:]) == {"undated"}, dates
    assert timeline.inner_text().count("Work starts on harbour bridge") == 1  # the copy is not a row of its own...
    assert timeline.locator("details.rag-copies summary").all_inner_texts() == ["Also reported by 1 other source"]
    widths = {round(box["width"]) for box in (c.bounding_box() for c in timeline.locator(".rag-card").all())}
    assert len(widths) == 1, f"every row's card should fill the row, whatever its text: {widths}"
    page.screenshot(path=str(ARTIFACTS / "timeline.png"), full_page=True)
