"""Saved conversations end to end in headless Chromium: reload, app restart, two tabs, open/rename/delete/export.

With ``RAG_DOCS_SCREENSHOT=1`` a reopened conversation and the list are saved as ``docs/conversations.png`` for the README.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.conversations import NOT_HELPFUL, ConversationStore

from .servers import free_port, stop, wait_until_ok
from .test_browser import ARTIFACTS, NATO_Q, ROOT, TIMEOUT_MS, ask, browser_context  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
TROOPS_Q = "How many U.S. troops are still in Afghanistan?"
SIDEBAR = '[data-testid="stSidebar"]'


class App:
    """The chat page as a subprocess on a free port; ``restart`` stops it and starts a new one on the same data."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.proc, self.url, self.log = tmp, None, "", None
        self.env = {**os.environ, "RAG_STORE_PATH": str(tmp / "store"), "RAG_UPLOADS_PATH": str(tmp / "uploads"),
                    "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
        for var in ("RAG_CHROMA_URL", "RAG_COLLECTION", "RAG_ANSWER_MODE", "RAG_SEEDS_PATH", "RAG_CONVERSATIONS_PATH"):
            self.env.pop(var, None)

    def start(self) -> str:
        port = free_port()
        self.log = (self.tmp / f"server-{port}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        wait_until_ok(self.url + "/_stcore/health", self.proc, timeout=120)
        return self.url

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=20)
            self.log.close()

    def restart(self) -> str:
        self.stop()
        return self.start()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = App(tmp_path_factory.mktemp("conversations-app"))
    app.start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield app
    app.stop()


def open_page(context, url: str):
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_placeholder("Ask a question about the articles").wait_for()
    page.wait_for_timeout(500)
    return page


def listed(page) -> list[str]:
    """The titles in the sidebar's conversation list, top to bottom."""
    rows = page.locator(f'{SIDEBAR} [class*="st-key-conv-"]')  # one per conversation (a tooltip doubles the button)
    # read in one pass inside the page: counting rows, then reading each, raced a rerun that replaced them
    texts = rows.evaluate_all("rows => rows.map(r => { const b = r.querySelector('button'); return b ? b.innerText : ''; })")
    return [t.strip().splitlines()[-1] for t in texts if t.strip()]  # after the icon's ligature name


def eventually(page, check, timeout: float = 60) -> None:
    """Wait until ``check()`` holds (a rerun replaces the sidebar's elements a moment after the click)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, listed(page)
        page.wait_for_timeout(300)


def expect_listed(page, titles: list[str]) -> None:
    eventually(page, lambda: listed(page)[: len(titles)] == titles)


def wait_listed(page, title: str) -> None:
    page.locator(f'{SIDEBAR} [class*="st-key-conv-"] button').filter(has_text=title).first.wait_for()


def test_reload_and_restart_reopen_the_conversation_with_its_citations(app, browser_context):  # noqa: F811 (the fixture)
    page = open_page(browser_context, app.url)
    answer = ask(page, NATO_Q)
    assert "Stoltenberg" in answer.inner_text()
    page.wait_for_function("location.search.includes('c=')")
    wait_listed(page, NATO_Q)

    page.reload()  # a new session: the URL names the conversation
    card = page.locator("#t0-c1")
    card.wait_for()
    assert "NATO Chief Says Afghanistan Troop Pullout Depends on Taliban" in card.inner_text()
    assert any("Stoltenberg" in m for m in card.locator("mark").all_inner_texts())
    assert NATO_Q in page.locator('[data-testid="stChatMessage"]').first.inner_text()

    page.get_by_role("button", name="New chat").click()
    page.wait_for_function("!location.search.includes('c=')")
    page.wait_for_function("document.querySelectorAll('.rag-answer, .rag-abstain').length === 0")
    ask(page, TROOPS_Q)
    page.wait_for_function("location.search.includes('c=')")
    wait_listed(page, TROOPS_Q)
    expect_listed(page, [TROOPS_Q, NATO_Q])  # newest first
    page.close()

    url = app.restart()
    page = open_page(browser_context, url)
    wait_listed(page, NATO_Q)
    expect_listed(page, [TROOPS_Q, NATO_Q])
    assert page.locator(".rag-answer").count() == 0  # a fresh start opens no conversation by itself
    page.locator(f'{SIDEBAR} [class*="st-key-conv-"] button').filter(has_text=NATO_Q).first.click()
    card = page.locator("#t0-c1")
    card.wait_for()
    assert any("Stoltenberg" in m for m in card.locator("mark").all_inner_texts())
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.mouse.move(700, 60)  # no tooltip over the list
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "conversation-reopened.png"))
    if os.environ.get("RAG_DOCS_SCREENSHOT"):
        page.screenshot(path=str(ROOT / "docs" / "conversations.png"))
    page.close()


def test_rename_export_delete_and_a_title_shown_as_text(app, browser_context):  # noqa: F811 (the fixture)
    page = open_page(browser_context, app.url)
    ask(page, NATO_Q)
    page.wait_for_function("location.search.includes('c=')")
    page.get_by_text("Rename or delete").click()
    hostile = "<b>NATO</b> **chief** [link](https://evil.example)"
    title = page.locator(f'{SIDEBAR} input[aria-label="Title"]')
    title.fill(hostile)
    title.press("Enter")
    page.get_by_role("button", name="Rename").click()
    wait_listed(page, hostile)  # the text as typed: no bold, no link
    assert page.locator(f'{SIDEBAR} [class*="st-key-conv-"] b, {SIDEBAR} [class*="st-key-conv-"] strong').count() == 0
    assert page.locator(f'{SIDEBAR} a[href*="evil.example"]').count() == 0

    page.get_by_role("radio", name="Thumbs down").click()  # the reader's rating, saved with the answer and exported
    why = page.get_by_label("What was wrong? (optional)")
    why.fill("Quotes Kirby, not only Stoltenberg")
    why.press("Enter")
    store = ConversationStore(app.tmp / "conversations")
    eventually(page, lambda: [(r.turn.question, r.turn.comment) for r in store.rated(NOT_HELPFUL)][:1] == [
        (NATO_Q, "Quotes Kirby, not only Stoltenberg")])
    # the rating's rerun must end first: a click on Export while the page redraws it can be lost
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export").click()
    text = Path(info.value.path()).read_text()
    assert NATO_Q in text and "Stoltenberg" in text and "NATO Chief Says" in text
    assert "\n*Marked not helpful by the reader: Quotes Kirby, not only Stoltenberg*\n" in text

    page.locator(SIDEBAR).screenshot(path=str(ARTIFACTS / "conversations-renamed.png"))

    count = len(listed(page))
    page.get_by_role("button", name="Delete").click()
    page.wait_for_function("!location.search.includes('c=')")
    eventually(page, lambda: hostile not in listed(page) and len(listed(page)) == count - 1)
    assert hostile not in {i.title for i in ConversationStore(app.tmp / "conversations").list()}
    assert page.locator(".rag-answer").count() == 0
    page.close()


def test_two_tabs_answering_at_once_both_save(app, browser_context):  # noqa: F811 (the fixture)
    store = ConversationStore(app.tmp / "conversations")
    before = len(store.list())
    tabs = [open_page(browser_context, app.url) for _ in range(2)]
    for tab, question in zip(tabs, (NATO_Q, TROOPS_Q)):
        box = tab.get_by_placeholder("Ask a question about the articles")
        box.fill(question)
        box.press("Enter")
    for tab in tabs:
        tab.wait_for_function("location.search.includes('c=')")
        tab.locator(".rag-answer").first.wait_for()
        tab.close()
    items = store.list()
    assert len(items) == before + 2
    assert {i.title for i in items[:2]} == {NATO_Q, TROOPS_Q} and all(i.turns == 1 for i in items[:2])
