"""The conversation store: a real SQLite file under tmp_path, real answers from the seeded library."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import date

import pytest

import rag.conversations as conversations
from rag import Answer, build_chain
from rag.conversations import FILE_NAME, ConversationStore, ConversationStoreError, _json, from_data

NATO_Q = "Who is the Secretary General of NATO?"


@pytest.fixture
def store(tmp_path):
    return ConversationStore(tmp_path / "conversations")


def test_a_saved_answer_reads_back_equal_with_its_citations(seeded, store):
    answer = build_chain(seeded).invoke(NATO_Q)
    assert answer.citations and "Stoltenberg" in answer.text
    cid = store.start(NATO_Q, answer, {"filters": {"article_ids": []}, "k": 4, "mode": "extractive"})
    (info,) = store.list()
    assert (info.title, info.turns) == (NATO_Q, 1)
    (turn,) = store.get(cid).turns
    assert turn.answer == answer  # every field, citations (article, chunk, span, passage, quotes) included
    assert turn.answer.citations[0].passage == answer.citations[0].passage
    assert turn.settings == {"filters": {"article_ids": []}, "k": 4, "mode": "extractive"}


@dataclass(frozen=True)
class LaterAnswer(Answer):
    """An Answer as another branch extends it: new fields are kept without a schema change."""

    reviewed_on: date | None = None
    period: tuple[str, str] | None = None


def test_fields_added_to_answer_later_are_kept_and_unknown_ones_dropped():
    later = LaterAnswer("q", "text", reviewed_on=date(2025, 3, 1), period=("2025-02-22", "2025-03-01"))
    assert from_data(LaterAnswer, json.loads(_json(later))) == later
    old = from_data(Answer, json.loads(_json(later)))  # this version's Answer reads a newer one's row
    assert old == Answer("q", "text")


def test_list_is_newest_first_and_rename_delete(store):
    first, second = store.create("first question"), store.create("second question")
    store.add_turn(first, "first question", Answer("first question", "a"), {})
    assert [i.id for i in store.list()] == [first, second]
    hostile = "<script>alert(1)</script> **bold** [x](javascript:alert(2))"
    store.rename(second, hostile)
    assert store.get(second).info.title == hostile  # stored as written; the UI escapes it
    with pytest.raises(ConversationStoreError, match="empty"):
        store.rename(second, "   ")
    store.delete(first)
    assert [i.id for i in store.list()] == [second]
    with pytest.raises(ConversationStoreError, match="No conversation"):
        store.get(first)
    with sqlite3.connect(store.path) as db:  # the turns went with it
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone() == (0,)


def test_two_writers_at_once_lose_nothing(tmp_path):
    folder = tmp_path / "conversations"
    cid = ConversationStore(folder).create("shared")
    errors = []

    def write(tag: str) -> None:
        store = ConversationStore(folder)  # like a second tab or app process: its own connections
        try:
            for i in range(25):
                store.add_turn(cid, f"{tag}{i}", Answer(f"{tag}{i}", "answer"), {"k": i})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    turns = ConversationStore(folder).get(cid).turns
    assert sorted(t.question for t in turns) == sorted(f"{t}{i}" for t in "ab" for i in range(25))
    with sqlite3.connect(folder / FILE_NAME) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_corrupt_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "conversations"
    folder.mkdir()
    (folder / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConversationStoreError, match=f"{FILE_NAME}: file is not a database"):
        ConversationStore(folder)


def test_a_locked_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(conversations, "BUSY_TIMEOUT_MS", 200)
    store = ConversationStore(tmp_path)
    cid = store.create("q")
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ConversationStoreError, match="locked"):
            store.add_turn(cid, "q", Answer("q", "a"), {})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.add_turn(cid, "q", Answer("q", "a"), {})  # free again: works
    assert store.get(cid).info.turns == 1


def test_a_newer_schema_is_refused(tmp_path):
    store = ConversationStore(tmp_path)
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(ConversationStoreError, match="newer version"):
        ConversationStore(tmp_path)


def test_a_rating_is_kept_changed_and_taken_back(store):
    cid = store.start("first", Answer("first", "a"), {})
    store.add_turn(cid, "second", Answer("second", "b"), {})
    store.rate(cid, 1, conversations.NOT_HELPFUL)
    store.rate(cid, 1, conversations.NOT_HELPFUL, "  Cites the wrong article  ")
    turns = store.get(cid).turns
    assert [(t.position, t.rating, t.comment) for t in turns] == [
        (0, None, ""), (1, conversations.NOT_HELPFUL, "Cites the wrong article")]
    store.rate(cid, 1, conversations.NOT_HELPFUL)  # a rating alone keeps what was said
    assert store.get(cid).turns[1].comment == "Cites the wrong article"
    (rated,) = store.rated()
    assert (rated.conversation_id, rated.title, rated.turn.question) == (cid, "first", "second")
    store.rate(cid, 0, conversations.HELPFUL, "ignored: only a thumbs down says what was wrong")
    assert store.get(cid).turns[0].comment == ""
    assert [r.turn.question for r in store.rated()] == ["second", "first"]  # newest asked first
    assert [r.turn.question for r in store.rated(conversations.HELPFUL)] == ["first"]
    store.rate(cid, 1, None)
    assert [r.turn.question for r in store.rated()] == ["first"]
    assert store.get(cid).turns[1].comment == ""  # taken back with its rating
    with pytest.raises(ConversationStoreError, match="has no answer 5"):
        store.rate(cid, 5, conversations.HELPFUL)
    with pytest.raises(ConversationStoreError, match="not 3"):
        store.rate(cid, 0, 3)


def test_a_file_from_before_ratings_opens_with_its_answers_and_takes_ratings(tmp_path):
    """The schema as the first release wrote it (user_version 1, no rating column)."""
    folder = tmp_path / "conversations"
    folder.mkdir()
    answer = _json(Answer("Who?", "Jens Stoltenberg. [1]"))
    with sqlite3.connect(folder / FILE_NAME) as db:
        db.executescript("""
            CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL, created TEXT NOT NULL,
                                        updated TEXT NOT NULL);
            CREATE TABLE turns (conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                                position INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
                                settings TEXT NOT NULL, asked_at TEXT NOT NULL,
                                PRIMARY KEY (conversation_id, position));
            CREATE INDEX conversations_updated ON conversations(updated);
            INSERT INTO conversations VALUES ('old', 'Who?', '2025-01-01T00:00:00', '2025-01-01T00:00:00');
            PRAGMA user_version = 1;
        """)
        db.execute("INSERT INTO turns VALUES ('old', 0, 'Who?', ?, '{}', '2025-01-01T00:00:00')", (answer,))
    store = ConversationStore(folder)
    (turn,) = store.get("old").turns
    assert (turn.answer.text, turn.rating) == ("Jens Stoltenberg. [1]", None)
    store.rate("old", 0, conversations.NOT_HELPFUL, "names the wrong man")
    store.add_turn("old", "And then?", Answer("And then?", "b"), {})
    assert [(t.rating, t.comment) for t in ConversationStore(folder).get("old").turns] == [
        (conversations.NOT_HELPFUL, "names the wrong man"), (None, "")]
    with sqlite3.connect(folder / FILE_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (conversations.SCHEMA_VERSION,)
