"""Saved conversations: each question, its answer with citations as shown, and the settings it was asked with.

One SQLite file (``conversations.sqlite3``) in ``Settings.conversations_dir``, on the machine that runs the
UI, apart from the article store (a Chroma server included): a broken conversations file never touches
the articles. Every call opens its own connection, so threads and processes (two browser tabs, two app
processes) can write at once: WAL journal, a busy timeout, and each write one ``BEGIN IMMEDIATE``
transaction. Answers are stored as JSON of the whole :class:`~rag.schema.Answer`, so fields added to it
later (an as-of date, a time window) are kept without a schema change, and read back into it.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import types
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from .errors import RagError
from .schema import Answer

FILE_NAME = "conversations.sqlite3"
BUSY_TIMEOUT_MS = 5000  # another tab's write waits this long before "database is locked"
SCHEMA_VERSION = 2  # 2: a reader's rating of each answer and what they said of it (``turns.rating``, ``comment``)
HELPFUL, NOT_HELPFUL = 1, 0  # ``Turn.rating``, as the chat's thumbs give them; None: not rated
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    settings TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    rating INTEGER,
    comment TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (conversation_id, position)
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated);
"""
_TURN_COLUMNS = "question, answer, settings, asked_at, position, rating, comment"  # Turn's fields, in its order
# From each older schema to the next; a file is moved up one step at a time, in one transaction.
_MIGRATIONS = {1: ("ALTER TABLE turns ADD COLUMN rating INTEGER",
                   "ALTER TABLE turns ADD COLUMN comment TEXT NOT NULL DEFAULT ''")}


class ConversationStoreError(RagError):
    """The conversations file cannot be read or written (corrupt, locked, read-only, disk full)."""


@dataclass(frozen=True)
class ConversationInfo:
    """One line of the conversation list: ``title`` is the first question unless renamed."""

    id: str
    title: str
    created: str  # ISO 8601, UTC
    updated: str
    turns: int


@dataclass(frozen=True)
class Turn:
    """A question and its answer as shown, with the settings it was asked with (filters, k, mode...)."""

    question: str
    answer: Answer
    settings: Mapping[str, Any] = field(default_factory=dict)
    asked_at: str = ""
    position: int = 0  # in its conversation, as :meth:`ConversationStore.rate` takes it
    rating: int | None = None  # HELPFUL, NOT_HELPFUL, or None
    comment: str = ""  # with NOT_HELPFUL: what the reader said was wrong, if anything


@dataclass(frozen=True)
class Rated:
    """A rated answer with the conversation it is in, for those who look into what readers marked."""

    conversation_id: str
    title: str
    turn: Turn


@dataclass(frozen=True)
class Conversation:
    info: ConversationInfo
    turns: tuple[Turn, ...]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> str:
    """JSON of dataclasses, tuples and dates (as ISO strings)."""
    def default(o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return dataclasses.asdict(o)
        if isinstance(o, date | datetime):
            return o.isoformat()
        if isinstance(o, set | frozenset):
            return sorted(o)
        return str(o)
    return json.dumps(value, default=default, ensure_ascii=False)


def from_data(tp: Any, value: Any) -> Any:
    """``value`` read from JSON, rebuilt as type ``tp``: dataclasses, tuples, dates, optionals.

    Keys the dataclass no longer has are dropped and missing ones take their defaults, so answers
    saved by an older or newer version still open.
    """
    if value is None:
        return None
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            if arg is not type(None):
                try:
                    return from_data(arg, value)
                except (TypeError, ValueError):
                    continue
        return value
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = get_type_hints(tp)
        return tp(**{f.name: from_data(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.name in value})
    if origin is tuple and isinstance(value, list):
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_data(args[0], v) for v in value)
        return tuple(from_data(a, v) for a, v in zip(args, value)) if args else tuple(value)
    if tp is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if tp is date and isinstance(value, str):
        return date.fromisoformat(value)
    return value


class ConversationStore:
    """Conversations in ``folder/conversations.sqlite3``; every method raises :class:`ConversationStoreError`."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME
        with self._connect() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConversationStoreError(f"{self.path} was written by a newer version of this app "
                                             f"(schema {version}, this one reads {SCHEMA_VERSION}).")
            if version < SCHEMA_VERSION:
                self._migrate(db)

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Create the tables, or bring an older file's up to date; another process may be doing the same."""
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # read again inside the lock
            if version == 0:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
            else:
                for step in range(version, SCHEMA_VERSION):
                    for statement in _MIGRATIONS[step]:
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA foreign_keys = ON")
            yield db
        except sqlite3.Error as exc:
            raise ConversationStoreError(f"{self.path}: {exc}") from exc
        except OSError as exc:
            raise ConversationStoreError(f"{self.path}: {exc.strerror or exc}") from exc
        finally:
            if db is not None:
                db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def create(self, title: str) -> str:
        """A new, empty conversation; returns its id."""
        cid, now = uuid.uuid4().hex, _now()
        with self._write() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?)", (cid, " ".join(title.split()), now, now))
        return cid

    def start(self, question: str, answer: Answer, settings: Mapping[str, Any]) -> str:
        """A new conversation titled by its first question, with that turn, in one transaction; returns its id."""
        cid, now = uuid.uuid4().hex, _now()
        with self._write() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?)", (cid, " ".join(question.split()), now, now))
            self._insert_turn(db, cid, question, answer, settings, now)
        return cid

    def add_turn(self, conversation_id: str, question: str, answer: Answer, settings: Mapping[str, Any]) -> int:
        """Append a turn (its position is taken inside the transaction, so two writers never collide)."""
        now = _now()
        with self._write() as db:
            if not db.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone():
                raise ConversationStoreError(f"Conversation {conversation_id} no longer exists (deleted elsewhere?).")
            position = self._insert_turn(db, conversation_id, question, answer, settings, now)
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
        return position

    @staticmethod
    def _insert_turn(db: sqlite3.Connection, cid: str, question: str, answer: Answer, settings: Mapping[str, Any],
                     now: str) -> int:
        (position,) = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM turns WHERE conversation_id = ?",
                                 (cid,)).fetchone()
        db.execute("INSERT INTO turns (conversation_id, position, question, answer, settings, asked_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (cid, position, question, _json(answer), _json(dict(settings)), now))
        return position

    def list(self, limit: int = 200) -> list[ConversationInfo]:
        """Newest (last written to) first."""
        with self._connect() as db:
            rows = db.execute("SELECT c.id, c.title, c.created, c.updated, COUNT(t.position) FROM conversations c "
                              "LEFT JOIN turns t ON t.conversation_id = c.id GROUP BY c.id "
                              "ORDER BY c.updated DESC LIMIT ?", (limit,)).fetchall()
        return [ConversationInfo(*row) for row in rows]

    def get(self, conversation_id: str) -> Conversation:
        with self._connect() as db:
            row = db.execute("SELECT id, title, created, updated FROM conversations WHERE id = ?",
                             (conversation_id,)).fetchone()
            if row is None:
                raise ConversationStoreError(f"No conversation with id {conversation_id}.")
            turns = db.execute(f"SELECT {_TURN_COLUMNS} FROM turns WHERE conversation_id = ? ORDER BY position",
                               (conversation_id,)).fetchall()
        loaded = tuple(self._turn(*t) for t in turns)
        return Conversation(ConversationInfo(*row, turns=len(loaded)), loaded)

    def _turn(self, question: str, answer: str, settings: str, asked_at: str, position: int,
              rating: int | None, comment: str) -> Turn:
        try:
            return Turn(question, from_data(Answer, json.loads(answer)), json.loads(settings), asked_at, position, rating,
                        comment)
        except (ValueError, TypeError) as exc:
            raise ConversationStoreError(f"{self.path}: a saved answer cannot be read ({exc}).") from exc

    def rate(self, conversation_id: str, position: int, rating: int | None, comment: str | None = None) -> None:
        """A reader's verdict on one answer (HELPFUL or NOT_HELPFUL) and, with NOT_HELPFUL, what was wrong
        (``comment``; None keeps what was said before). Any other rating clears the comment; None takes both back."""
        if rating not in (HELPFUL, NOT_HELPFUL, None):
            raise ConversationStoreError(f"A rating is {HELPFUL} (helpful), {NOT_HELPFUL} (not helpful) or none, "
                                         f"not {rating!r}.")
        with self._write() as db:
            if rating != NOT_HELPFUL:
                comment = ""
            done = db.execute("UPDATE turns SET rating = ?, comment = COALESCE(?, comment) "
                              "WHERE conversation_id = ? AND position = ?",
                              (rating, None if comment is None else comment.strip(), conversation_id, position)).rowcount
        if not done:
            raise ConversationStoreError(f"Conversation {conversation_id} has no answer {position} (deleted elsewhere?).")

    def rated(self, rating: int | None = None, limit: int = 1000) -> list[Rated]:
        """Rated answers, newest asked first; only those rated ``rating`` if given."""
        where, args = ("t.rating = ?", (rating,)) if rating is not None else ("t.rating IS NOT NULL", ())
        columns = ", ".join(f"t.{c}" for c in _TURN_COLUMNS.split(", "))
        with self._connect() as db:
            rows = db.execute(f"SELECT c.id, c.title, {columns} FROM turns t JOIN conversations c "
                              f"ON c.id = t.conversation_id WHERE {where} ORDER BY t.asked_at DESC LIMIT ?",
                              (*args, limit)).fetchall()
        return [Rated(cid, title, self._turn(*rest)) for cid, title, *rest in rows]

    def rename(self, conversation_id: str, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            raise ConversationStoreError("A conversation's title cannot be empty.")
        with self._write() as db:
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, conversation_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
