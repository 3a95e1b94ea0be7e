"""The chat page driven by Streamlit's AppTest, with the real model and a real store under tmp_path."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag import Library, build_chain
from ui import render
from ui.export import conversation_markdown
from ui.uploads import NAMES_FILE, ingest_uploads, original_names, safe_name

from .conftest import GREENHOUSE
from .test_cli import FESTIVAL
from .test_loaders import STORY
from .test_timeline import BRIDGE, COPY

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
NATO_Q = "Who is the Secretary General of NATO?"


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_UPLOADS_PATH", str(tmp_path / "uploads"))
    return tmp_path


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def html_of(at: AppTest) -> list[str]:
    return [h.value for h in at.html]


def marks(at: AppTest) -> list[str]:
    """The highlighted (cited) sentences inside citation cards."""
    return [m for v in html_of(at) if 'class="rag-card"' in v for m in re.findall(r"<mark>(.*?)</mark>", v, re.S)]


def test_first_start_indexes_seeds_and_suggests_questions(app_env):
    at = start()
    assert "1 article" in at.sidebar.subheader[-1].value
    assert [t.value for t in at.toast] == ["Indexed 1 example article from seeds/"]  # not "article(s)"
    labels = [b.label.replace("\\", "") for b in at.button]
    assert NATO_Q in labels
    at.button(key="example-0").click().run()
    assert not at.exception
    assert len(at.session_state["turns"]) == 1


def test_another_library_is_suggested_questions_from_its_headlines(app_env, monkeypatch):
    seeds = app_env / "seeds"
    seeds.mkdir()
    (seeds / "news.json").write_text(json.dumps([
        {"title": "Harbour council approves the new ferry terminal ...", "published": "2025-03-03",
         "text": "The harbour council voted seven to two for the terminal."},
        {"title": "Ferry terminal approved by harbour council", "published": "2025-03-02",  # the same story again
         "text": "Councillors approved the ferry terminal on Monday after a long debate."},
        {"title": "School choir wins regional prize", "published": "2025-03-01",
         "text": "The school choir won the regional prize with a programme of folk songs."}]))
    monkeypatch.setenv("RAG_SEEDS_PATH", str(seeds))
    labels = [b.label.replace("\\", "") for b in start().button if b.key and b.key.startswith("example-")]
    assert labels == ["What is “Harbour council approves the new ferry terminal” about?",  # not "… terminal ...” about?"
                      "What is “School choir wins regional prize” about?"]


def test_ask_shows_cited_highlighted_passage(app_env):
    at = ask(start(), NATO_Q)
    (question, answer), = at.session_state["turns"]
    assert question == NATO_Q and not answer.abstained
    answer_html = next(v for v in html_of(at) if 'class="rag-answer"' in v)
    assert 'class="rag-cite" href="#t0-c1"' in answer_html
    cards = [v for v in html_of(at) if 'class="rag-card"' in v]
    assert cards and "NATO Chief Says Afghanistan Troop Pullout Depends on Taliban" in cards[0]
    assert any("Stoltenberg" in m for m in marks(at))


def test_open_article_marks_the_cited_span(app_env):
    at = ask(start(), NATO_Q)
    at.button(key="open-0-1").click().run()
    assert not at.exception
    article = next(v for v in html_of(at) if 'class="rag-article"' in v)
    assert 'id="rag-cited"' in article and "<mark>" in article
    assert "The Taliban warned NATO" in article  # the whole article, not just the passage


def test_follow_up_passes_the_conversation_as_history(app_env):
    at = ask(start(), NATO_Q)
    first = at.session_state["turns"][0][1]
    ask(at, "What did he say the Taliban must stop supporting?")
    assert [q for q, _ in at.session_state["turns"]] == [NATO_Q, "What did he say the Taliban must stop supporting?"]
    assert at.session_state["last_request"]["history"] == [("user", NATO_Q), ("assistant", first.text)]
    assert len([m for m in at.chat_message if m.name == "assistant"]) == 2
    assert "al-Qaida" in at.session_state["turns"][1][1].text


def test_abstention_is_shown_as_a_message(app_env):
    at = ask(start(), "What is the recipe for banana bread?")
    answer = at.session_state["turns"][0][1]
    assert answer.abstained
    box = next(v for v in html_of(at) if 'class="rag-abstain"' in v)
    assert "do not answer" in box
    assert not [v for v in html_of(at) if 'class="rag-card"' in v]


def test_upload_ask_and_remove(app_env):
    at = start()
    at.sidebar.file_uploader[0].set_value(("greenhouse.txt", GREENHOUSE, "text/plain")).run()
    assert not at.exception
    report = " ".join(c.value for c in at.sidebar.caption)
    assert "added" in report and "Lunar Greenhouse" in report.replace("\\", "")
    assert "2 articles" in at.sidebar.subheader[-1].value
    stored = list((app_env / "uploads").iterdir())
    assert sorted(p.name for p in stored) == [NAMES_FILE, safe_name("greenhouse.txt")]

    ask(at, "Who leads the greenhouse project?")
    answer = at.session_state["turns"][0][1]
    assert answer.citations[0].title == "Lunar Greenhouse Harvests Its First Tomatoes"
    assert any("Okonkwo" in m for m in marks(at))
    assert any("greenhouse.txt (uploaded)" in v for v in html_of(at) if 'class="rag-card"' in v)

    article_id = answer.citations[0].article_id
    at.sidebar.multiselect(key="remove_ids").set_value([article_id]).run()
    at.sidebar.button(key="remove_btn").click().run()
    assert not at.exception
    assert "1 article" in at.sidebar.subheader[-1].value
    assert "removed" in " ".join(c.value for c in at.sidebar.caption)


def test_rejected_upload_is_reported(app_env):
    at = start()
    at.sidebar.file_uploader[0].set_value(("broken.json", b"{not json", "application/json")).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "rejected" in errors and "invalid JSON" in errors
    assert not (app_env / "uploads" / safe_name("broken.json")).exists()


def test_an_upload_indexed_with_a_warning_says_so(app_env):
    page = (f"<html><head><title>Council approves new bridge</title></head><body><article><p>{STORY}</p>"
            "<p>Subscribe to continue reading</p></article></body></html>").encode()
    at = start()
    at.sidebar.file_uploader[0].set_value(("bridge.html", page, "text/html")).run()
    assert not at.exception
    shown = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")  # Markdown-escaped
    assert "added" in shown and "Council approves new bridge" in shown
    assert "warning: left out a subscription or sign-in wall" in shown and "cut short" in shown


def test_article_filter_restricts_the_sources(app_env):
    at = start()
    at.sidebar.file_uploader[0].set_value(("greenhouse.txt", GREENHOUSE, "text/plain")).run()
    ids = {a.title: a.id for a in _library().articles()}
    greenhouse_id = ids["Lunar Greenhouse Harvests Its First Tomatoes"]
    # each choice names its date too: a news library repeats headlines
    assert sorted(at.sidebar.multiselect(key="filter_ids").options) == [
        "Lunar Greenhouse Harvests Its First Tomatoes · undated", "NATO Chief Says Afghanistan Troop Pullout Depends on Taliban · undated"]
    at.sidebar.multiselect(key="filter_ids").set_value([greenhouse_id]).run()
    ask(at, NATO_Q)
    answer = at.session_state["turns"][0][1]
    assert at.session_state["last_request"]["filters"].article_ids == (greenhouse_id,)
    assert all(p.article_id == greenhouse_id for p in answer.passages)
    assert "1 of 2 articles" in at.caption[0].value


def test_date_filter_restricts_the_sources(app_env):
    at = start()
    records = (b'[{"title": "Harbour opens to ferries", "published": "2021-03-01", '
               b'"text": "The new harbour opened to ferries in March after two years of building work."}, '
               b'{"title": "Harbour closes for repairs", "published": "2023-05-02", "url": "https://news.example/harbour", '
               b'"text": "The harbour closed to ferries in May for repairs to the sea wall."}]')
    at.sidebar.file_uploader[0].set_value(("harbour.json", records, "application/json")).run()
    assert "3 articles" in at.sidebar.subheader[-1].value
    assert {"Harbour opens to ferries · 2021-03-01", "Harbour closes for repairs · 2023-05-02"} < set(
        at.sidebar.multiselect(key="remove_ids").options)
    at.sidebar.date_input(key="filter_from").set_value(date(2023, 1, 1)).run()
    ask(at, "What happened to the harbour?")
    request = at.session_state["last_request"]
    assert request["filters"].published_from == "2023-01-01"
    answer = at.session_state["turns"][0][1]
    assert answer.passages and {p.title for p in answer.passages} == {"Harbour closes for repairs"}
    assert "published 2023-01-01 to" in at.caption[0].value
    assert at.caption[0].value.endswith("; the newest from 2023-05-02.")  # the seed article is undated
    card = next(v for v in html_of(at) if 'class="rag-card"' in v)
    assert '<a href="https://news.example/harbour"' in card and "<span>2023-05-02</span>" in card


def test_as_of_date_hides_later_articles_and_the_answer_says_what_was_searched(app_env):
    at = start()
    records = (b'[{"title": "Exampleton elects a mayor", "published": "2024-05-01", '
               b'"text": "Exampleton elected Jane Doe as its mayor on Tuesday. Doe promised to repair the bridge."}, '
               b'{"title": "Exampleton has a new mayor", "published": "2025-06-01", '
               b'"text": "Exampleton\'s new mayor is John Roe, who won the election on Sunday. Roe promised new parks."}]')
    at.sidebar.file_uploader[0].set_value(("mayors.json", records, "application/json")).run()
    assert at.sidebar.date_input(key="as_of").value == date.today()
    at.sidebar.date_input(key="as_of").set_value(date(2024, 12, 31)).run()
    assert "as of 2024-12-31; the newest from 2024-05-01." in at.caption[0].value  # not the 2025 article, unseen then
    ask(at, "Who was elected mayor of Exampleton this year?")
    assert at.session_state["last_request"]["as_of"] == date(2024, 12, 31)
    answer = at.session_state["turns"][0][1]
    assert "Jane Doe" in answer.text and "John Roe" not in answer.text
    assert "Exampleton has a new mayor" not in {p.title for p in answer.passages}
    assert any("Searched news from 2024 (as of 2024-12-31)" in c.value for c in at.caption)
    assert not any("No article from" in c.value for c in at.caption)  # Jane Doe's election was reported in 2024
    ask(at, "Who was elected mayor of Exampleton this month?")
    assert any("No article from December 2024 answered this question: the cited articles were published outside it."
               in c.value.replace("\\", "") for c in at.caption)


def test_export_holds_questions_answers_and_citations(app_env):
    at = ask(start(), NATO_Q)
    assert not at.sidebar.download_button[0].proto.disabled
    md = conversation_markdown(at.session_state["turns"])
    assert f"## 1. {NATO_Q}" in md
    assert "**NATO Chief Says Afghanistan Troop Pullout Depends on Taliban**" in md
    assert re.search(r"\*\*[^*]*Stoltenberg[^*]*\*\*", md)
    today = date.today()
    assert f"\n*Searched news up to {today.day} {today:%b} {today.year}.*\n" in md  # what the chat shows under the answer
    answer = replace(at.session_state["turns"][0][1], notes=("An earlier report differs but did not fit in the answer.",))
    assert "\n*An earlier report differs but did not fit in the answer.*\n" in conversation_markdown([(NATO_Q, answer)])


def test_unreachable_llm_falls_back_with_a_visible_note(app_env, monkeypatch):
    monkeypatch.setenv("RAG_LLM_MODEL", "no-such-model")
    monkeypatch.setenv("RAG_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "10")
    at = start()
    at.sidebar.selectbox(key="mode").set_value("llm").run()
    ask(at, NATO_Q)
    assert not at.exception and not at.error
    answer = at.session_state["turns"][-1][1]
    assert "Stoltenberg" in answer.text and answer.notes  # the extractive answer, saying why
    shown = " ".join(c.value for c in at.caption)
    assert any(word in shown.lower() for word in ("language model", "extractive", "llm")), shown


def _library():
    return Library()


# -- helpers, with real files and a real library


def test_escaping_keeps_markup_as_text():
    hostile = 'Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3)) :red[red] $x$'
    out = render.highlight(hostile, [(3, 11)])
    assert "<script" not in out and "<img" not in out
    assert out.startswith("Hi <mark>&lt;script&gt;</mark>alert(1)&lt;/script&gt;")
    md = render.md_escape(hostile)
    assert "\\<script\\>" in md and "\\[x\\]\\(javascript\\:" in md and "\\:red\\[" in md and "\\$x\\$" in md
    assert render.source_html("javascript:alert(1)") == "<span>javascript:alert(1)</span>"
    assert 'href="https://example.com/a?b=1&amp;c=2"' in render.source_html("https://example.com/a?b=1&c=2")
    assert "<a" not in render.source_html('https://example.com/" onmouseover="alert(1)')


def test_excerpt_keeps_the_quotes_and_cuts_at_words():
    text = " ".join(f"w{i}" for i in range(300))
    s = text.index("w150")
    piece, spans, before, after = render.excerpt(text, [(s, s + 4)], context=40)
    assert before and after
    assert piece[spans[0][0]:spans[0][1]] == "w150"
    assert not piece.startswith(" ") and len(piece) < 100


def test_article_html_marks_passage_and_quotes():
    text = "One. Two <b>bold</b>. Three."
    out = render.article_html(text, (5, 21), [(5, 21)])
    assert '<span id="rag-cited"></span><mark>Two &lt;b&gt;bold&lt;/b&gt;.</mark>' in out


def test_a_quoted_subhead_is_shown_on_a_line_of_its_own(library, tmp_path):
    (tmp_path / "festival.md").write_text(FESTIVAL)
    library.ingest([tmp_path / "festival.md"])
    answer = build_chain(library).invoke("When will the boat parade start?")
    assert "fireworks. [1] Boat parade moves to Saturday [1] The boat parade" in answer.text
    shown = render.answer_html(answer, "t0")
    assert re.search(r"fireworks\. <a [^>]*>1</a><br>Boat parade moves to Saturday <a [^>]*>1</a><br>The boat parade",
                     shown), shown
    md = conversation_markdown([("When will the boat parade start?", answer)])
    assert "Boat parade moves to Saturday \\[1\\]  \nThe boat parade" in md, md


def test_safe_name_never_uses_the_uploaded_path():
    name = safe_name("../../etc/cron.d/evil.TXT")
    assert name.startswith("evil-") and name.endswith(".txt") and "/" not in name and ".." not in name
    assert safe_name("payload.exe") is None
    assert safe_name("a.txt") == safe_name("a.txt") != safe_name("b.txt")


def test_ingest_uploads_reports_each_file(library, tmp_path):
    folder = tmp_path / "uploads"
    files = [
        ("greenhouse.txt", GREENHOUSE),
        ("notes.exe", b"MZ"),
        ("big.md", b"x" * 2_100_000),
        ("empty.md", b""),
        ("records.jsonl", b'{"id": "r1", "title": "Rec one", "text": "Some text here."}\n{"title": "bad"}\n'),
    ]
    results = ingest_uploads(library, files, folder, max_mb=2, lock=threading.Lock())
    by = {r.name: r for r in results}
    assert by["greenhouse.txt"].status == "added" and "Lunar Greenhouse" in by["greenhouse.txt"].detail
    assert by["notes.exe"].status == "rejected" and "unsupported" in by["notes.exe"].detail
    assert by["big.md"].status == "rejected" and "upload limit" in by["big.md"].detail
    assert by["empty.md"].status == "rejected"
    assert by["records.jsonl"].status == "added" and "1 rejected" in by["records.jsonl"].detail
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [NAMES_FILE, safe_name("greenhouse.txt"), safe_name("records.jsonl")])
    assert original_names(folder) == {safe_name("greenhouse.txt"): "greenhouse.txt", safe_name("records.jsonl"): "records.jsonl"}

    again = ingest_uploads(library, [("greenhouse.txt", b"old version\n\ntext"), ("greenhouse.txt", GREENHOUSE)], folder, 2)
    assert again[0].status == "rejected" and "same name" in again[0].detail
    assert again[1].status == "unchanged"
    changed = ingest_uploads(library, [("greenhouse.txt", GREENHOUSE + b"They plan peppers next.\n")], folder, 2)
    assert changed[0].status == "updated"


def test_bad_upload_restores_the_previous_file(library, tmp_path):
    folder = tmp_path / "uploads"
    ingest_uploads(library, [("story.json", b'{"title": "Good", "text": "A good story."}')], folder, 2)
    before = (folder / safe_name("story.json")).read_bytes()
    bad = ingest_uploads(library, [("story.json", b"{broken")], folder, 2)
    assert bad[0].status == "rejected" and "invalid JSON" in bad[0].detail
    assert (folder / safe_name("story.json")).read_bytes() == before
    assert [a.title for a in library.articles()] == ["Good"]


def bridge_records() -> bytes:
    """The timeline test's articles (a copy of one among them) as one JSON upload."""
    return json.dumps([{"title": title, "published": published, "url": source, "text": text}
                       for published, source, title, text in [*BRIDGE.values(), COPY]]).encode()


def test_citations_list_the_other_reports_and_the_timeline_orders_by_date(app_env):
    at = start()
    at.sidebar.file_uploader[0].set_value(("bridge.json", bridge_records(), "application/json")).run()
    assert not at.exception
    assert "6 articles" in at.sidebar.subheader[-1].value

    ask(at, "When did construction of the harbour bridge begin?")
    card = next(v for v in html_of(at) if 'class="rag-card"' in v)
    assert "Work starts on harbour bridge" in card and "<span>2024-03-05</span>" in card
    assert "Also reported by 1 other source</summary>" in card
    assert card.count("https://") >= 2  # the cited source and the other one, each a link
    assert "https://c.test/start" in card and "https://e.test/wire" in card

    at.text_input(key="timeline_query").set_value("the harbour bridge").run()
    assert not at.exception
    view = next(v for v in html_of(at) if 'class="rag-timeline"' in v)
    dates = re.findall(r'<span class="rag-date[^"]*">(.*?)</span>', view)
    assert dates == ["2023-06-01", "2024-03-05", "2025-09-18", "undated"]
    assert view.count("Work starts on harbour bridge") == 2  # its row, and the copy listed under it
    assert "<mark>" in view and "530 million pounds" in view
    assert "4 articles by date, 1 undated last" in " ".join(c.value for c in at.caption)
