"""Saved conversations in the chat page (AppTest, real model and stores under tmp_path)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rag import Library
from rag.conversations import FILE_NAME, HELPFUL, NOT_HELPFUL, ConversationStore

from .conftest import GREENHOUSE
from .test_ui import APP, NATO_Q, ask, html_of, start


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_UPLOADS_PATH", str(tmp_path / "uploads"))
    return tmp_path


def saved(tmp_path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations")  # beside the store folder the tests set


def test_each_answer_is_saved_and_a_new_session_reopens_it_from_the_url(app_env):
    at = ask(start(), NATO_Q)
    ask(at, "What did he say the Taliban must stop supporting?")
    (info,) = saved(app_env).list()
    assert info.title == NATO_Q and info.turns == 2
    assert at.query_params["c"] == info.id
    answers = [a for _, a in at.session_state["turns"]]

    again = AppTest.from_file(APP, default_timeout=180)  # a browser reload: a new session, same URL
    again.query_params["c"] = info.id
    again.run()
    assert not again.exception
    assert [a for _, a in again.session_state["turns"]] == answers
    cards = [v for v in html_of(again) if 'class="rag-card"' in v]
    assert cards and "NATO Chief Says" in cards[0] and "rag-gone" not in cards[0]
    assert again.sidebar.button(key=f"conv-{info.id}").proto.type == "primary"

    ask(again, "How many U.S. troops are still in Afghanistan?")  # continues the same conversation
    assert saved(app_env).get(info.id).info.turns == 3


def test_a_removed_article_still_shows_what_was_cited_marked(app_env):
    at = start()
    at.sidebar.file_uploader[0].set_value(("greenhouse.txt", GREENHOUSE, "text/plain")).run()
    ask(at, "Who leads the greenhouse project?")
    cited = at.session_state["turns"][0][1].citations[0]
    assert cited.title.startswith("Lunar Greenhouse")
    Library().remove([cited.article_id])

    (info,) = saved(app_env).list()
    at.sidebar.button(key="clear").click().run()
    assert not at.session_state["turns"]
    at.sidebar.button(key=f"conv-{info.id}").click().run()
    assert not at.exception
    card = next(v for v in html_of(at) if 'class="rag-card"' in v)
    assert "Lunar Greenhouse Harvests Its First Tomatoes" in card and "Okonkwo" in card
    assert '<div class="rag-gone">no longer in the library</div>' in card


def test_rename_delete_and_markup_in_a_title_is_text(app_env):
    at = ask(start(), NATO_Q)
    (info,) = saved(app_env).list()
    hostile = "<b>Bold</b> **stars** [link](https://evil.example)"
    at.sidebar.text_input(key=f"title-{info.id}").set_value(hostile).run()
    at.sidebar.button(key="rename-conversation").click().run()
    assert saved(app_env).get(info.id).info.title == hostile
    label = at.sidebar.button(key=f"conv-{info.id}").label
    assert label.startswith("\\<b\\>Bold\\<\\/b\\> \\*\\*stars\\*\\* \\[link\\]")  # Markdown escaped: shown as typed

    at.sidebar.button(key="delete-conversation").click().run()
    assert not at.exception
    assert saved(app_env).list() == [] and not at.session_state["turns"]
    assert "c" not in at.query_params


def test_a_corrupt_conversations_file_still_answers_and_says_why(app_env):
    folder = app_env / "conversations"
    folder.mkdir()
    (folder / FILE_NAME).write_bytes(b"garbage, not SQLite" * 200)
    at = ask(start(), NATO_Q)
    answer = at.session_state["turns"][0][1]
    assert "Stoltenberg" in answer.text and not answer.abstained
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "Conversations cannot be saved" in warning and "not a database" in warning
    assert not at.feedback  # an answer that could not be saved cannot be rated
    assert (folder / FILE_NAME).read_bytes() == b"garbage, not SQLite" * 200  # left as it was
    assert len(Library().articles()) == 1  # the article store is untouched


def test_a_reader_rates_answers_and_the_rating_is_saved_and_reopened(app_env):
    at = ask(start(), NATO_Q)
    ask(at, "Who won the 2022 World Cup?")  # declined: a decline can be wrong too, so it is rated as well
    assert at.session_state["turns"][1][1].abstained
    (info,) = saved(app_env).list()
    assert [f.key for f in at.feedback] == [f"rate-{info.id}-0", f"rate-{info.id}-1"]
    assert [f.value for f in at.feedback] == [None, None]
    at.feedback(key=f"rate-{info.id}-0").set_value(HELPFUL).run()
    assert not whys(at)  # nothing to say about a helpful answer
    at.feedback(key=f"rate-{info.id}-1").set_value(NOT_HELPFUL).run()
    why = at.text_input(key=f"why-{info.id}-1")  # after a thumbs down: what was wrong
    assert why.label == "What was wrong? (optional)" and why.value == ""
    why.set_value("  The articles do not cover 2022, so this is right to decline  ").run()
    assert not at.exception
    assert [(t.rating, t.comment) for t in saved(app_env).get(info.id).turns] == [
        (HELPFUL, ""), (NOT_HELPFUL, "The articles do not cover 2022, so this is right to decline")]
    assert [r.turn.question for r in saved(app_env).rated(NOT_HELPFUL)] == ["Who won the 2022 World Cup?"]

    again = AppTest.from_file(APP, default_timeout=180)  # a reload: the ratings come back from the file
    again.query_params["c"] = info.id
    again.run()
    assert [f.value for f in again.feedback] == [HELPFUL, NOT_HELPFUL]
    assert again.text_input(key=f"why-{info.id}-1").value.startswith("The articles do not cover 2022")
    again.feedback(key=f"rate-{info.id}-1").set_value(None).run()  # taken back, and what was said with it
    assert [(t.rating, t.comment) for t in saved(app_env).get(info.id).turns] == [(HELPFUL, ""), (None, "")]
    assert not whys(again)


def whys(at: AppTest) -> list[str]:
    return [t.key for t in at.text_input if t.key and t.key.startswith("why-")]

