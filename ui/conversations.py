"""Saved conversations in the sidebar: list, open, rename, delete, export, and saving each answer as it comes.

The page keeps the open conversation in ``st.session_state`` (``turns``, ``conversation_id``) and its id in
the URL (``?c=ID``), so a reload reopens it. Saving goes through :class:`rag.conversations.ConversationStore`;
when that fails (corrupt or locked file, read-only folder) the page still answers and says why it cannot
save. Titles are people's text: shown escaped, never as Markdown or HTML.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import streamlit as st

from rag import Answer, Filters, Library, RagError, Settings
from rag.conversations import HELPFUL, NOT_HELPFUL, ConversationStore, ConversationStoreError
from rag.terminal import counted

from . import render
from .export import conversation_markdown

LIST_LIMIT = 30  # conversations listed in the sidebar, newest first
TITLE_CHARS = 60
COMMENT_CHARS = 500
GONE = "no longer in the library"
CHANGED = "the article changed since; this is the passage as cited then"


def _store(settings: Settings) -> ConversationStore | None:
    """The store, or None with the reason kept for :func:`panel` to show."""
    try:
        store = ConversationStore(settings.conversations_dir)
    except ConversationStoreError as exc:
        st.session_state.conversation_error = str(exc)
        return None
    return store


def _failed(exc: ConversationStoreError) -> None:
    st.session_state.conversation_error = str(exc)


def init_state() -> None:
    st.session_state.setdefault("conversation_id", None)
    st.session_state.setdefault("conversation_error", None)
    st.session_state.setdefault("stale", {})  # (turn, citation number) -> note, for reopened conversations
    st.session_state.setdefault("positions", [])  # each turn's position in the saved conversation; None: unsaved
    st.session_state.setdefault("ratings", {})  # turn -> the reader's rating (rag.conversations.HELPFUL ...)
    st.session_state.setdefault("comments", {})  # turn -> what the reader said was wrong


def resume(settings: Settings, library: Library) -> None:
    """A new session (first load or browser reload) reopens the conversation named in the URL."""
    cid = st.query_params.get("c")
    if cid and st.session_state.conversation_id is None and not st.session_state.turns:
        open_conversation(settings, library, cid)


def record(settings: Settings, question: str, answer: Answer, filters: Filters, k: int, mode: str) -> None:
    """Save one answered question, starting a conversation (titled by it) on the first one."""
    st.session_state.positions.append(None)  # its position once saved, below
    store = _store(settings)
    if store is None:
        return
    used: dict[str, Any] = {"filters": asdict(filters), "k": k, "mode": mode}
    try:
        if st.session_state.conversation_id is None:
            st.session_state.conversation_id = store.start(question, answer, used)
            st.query_params["c"] = st.session_state.conversation_id
            position = 0
        else:
            position = store.add_turn(st.session_state.conversation_id, question, answer, used)
    except ConversationStoreError as exc:
        _failed(exc)
        return
    st.session_state.positions[-1] = position
    st.session_state.conversation_error = None


def open_conversation(settings: Settings, library: Library, cid: str) -> None:
    store = _store(settings)
    if store is None:
        return
    try:
        conversation = store.get(cid)
    except ConversationStoreError as exc:
        _failed(exc)
        st.query_params.pop("c", None)
        return
    st.session_state.turns = [(t.question, t.answer) for t in conversation.turns]
    st.session_state.positions = [t.position for t in conversation.turns]
    st.session_state.ratings = {i: t.rating for i, t in enumerate(conversation.turns) if t.rating is not None}
    st.session_state.comments = {i: t.comment for i, t in enumerate(conversation.turns) if t.comment}
    st.session_state.conversation_id = cid
    st.session_state.stale = stale_citations(library, st.session_state.turns)
    st.session_state.reading = None
    st.query_params["c"] = cid


def new_chat() -> None:
    st.session_state.turns = []
    st.session_state.positions = []
    st.session_state.ratings = {}
    st.session_state.comments = {}
    st.session_state.conversation_id = None
    st.session_state.stale = {}
    st.query_params.pop("c", None)


def stale_citations(library: Library, turns: list[tuple[str, Answer]]) -> dict[tuple[int, int], str]:
    """Citations whose article was removed or changed since: the saved passage is what was cited then."""
    out: dict[tuple[int, int], str] = {}
    texts: dict[str, str | None] = {}
    for i, (_, answer) in enumerate(turns):
        for c in answer.citations:
            if c.article_id not in texts:
                try:
                    texts[c.article_id] = library.article(c.article_id).text
                except RagError:
                    texts[c.article_id] = None
            text = texts[c.article_id]
            if text is None:
                out[(i, c.number)] = GONE
            elif text[c.start:c.end] != c.passage and c.passage not in text:
                out[(i, c.number)] = CHANGED
    return out


def note(turn: int, number: int) -> str | None:
    """What to say on a citation card of the open conversation, if its article is gone or changed."""
    return st.session_state.get("stale", {}).get((turn, number))


def rating(settings: Settings, turn: int) -> None:
    """Thumbs under a saved answer, and after a thumbs down a line to say what was wrong: kept with the answer
    (``rag feedback`` lists them)."""
    cid, positions = st.session_state.conversation_id, st.session_state.positions
    if cid is None or turn >= len(positions) or positions[turn] is None:
        return  # not saved, so there is nothing to rate
    where = (settings, cid, positions[turn], turn)
    key = f"rate-{cid}-{positions[turn]}"
    st.feedback("thumbs", key=key, default=st.session_state.ratings.get(turn), on_change=_rate, args=(key, *where))
    if st.session_state.ratings.get(turn) == NOT_HELPFUL:
        why = f"why-{cid}-{positions[turn]}"
        st.text_input("What was wrong? (optional)", key=why, value=st.session_state.comments.get(turn, ""),
                      max_chars=COMMENT_CHARS, placeholder="e.g. the article says otherwise, or it should have answered",
                      on_change=_rate, args=(key, *where, why))


def _rate(key: str, settings: Settings, cid: str, position: int, turn: int, why: str | None = None) -> None:
    value = st.session_state[key]
    comment = st.session_state[why].strip() if why else None
    store = _store(settings)
    if store is None or not _apply(lambda: store.rate(cid, position, value, comment)):
        return
    ratings, comments = st.session_state.ratings, st.session_state.comments
    if value is None:
        ratings.pop(turn, None)
    else:
        ratings[turn] = value
    if value != NOT_HELPFUL or comment == "":
        comments.pop(turn, None)  # what was wrong goes with a thumbs down, as in the store
    elif comment:
        comments[turn] = comment


def rated_line(value: int | None, comment: str = "") -> str | None:
    """A reader's rating, and what they said was wrong, in words for the export."""
    if value is None:
        return None
    if value == HELPFUL:
        return "Marked helpful by the reader."
    return f"Marked not helpful by the reader: {comment}" if comment else "Marked not helpful by the reader."


def panel(settings: Settings, library: Library) -> None:
    """The sidebar section: New chat and Export, the open conversation's rename/delete, and the list."""
    st.subheader("Conversations", anchor=False)
    turns = st.session_state.turns
    c1, c2 = st.columns(2)
    # Inline, not on_click: a query-parameter change made in a callback may not reach the browser's URL.
    if c1.button("New chat", icon=":material/add_comment:", disabled=not turns, key="clear"):
        new_chat()
        st.rerun()
    ratings, comments = st.session_state.ratings, st.session_state.comments  # as rating callbacks update them

    def document() -> str:  # made on the click, on another thread: no st.session_state here
        return conversation_markdown(turns, ratings=[rated_line(ratings.get(i), comments.get(i, ""))
                                                     for i in range(len(turns))])

    c2.download_button("Export", document, file_name="conversation.md", mime="text/markdown",
                       icon=":material/download:", disabled=not turns, key="export", on_click="ignore")
    store = _store(settings)
    if st.session_state.conversation_error:
        st.warning(f"Conversations cannot be saved: {render.md_escape(st.session_state.conversation_error)}",
                   icon=":material/warning:")
    if store is None:
        return
    try:
        items = store.list(LIST_LIMIT)
    except ConversationStoreError as exc:
        st.warning(f"Conversations cannot be listed: {render.md_escape(str(exc))}", icon=":material/warning:")
        return
    current = st.session_state.conversation_id
    if current and any(i.id == current for i in items):
        _edit(store, settings, next(i for i in items if i.id == current).title)
    for info in items:
        label = render.md_escape(_clip(info.title))
        when = info.updated[:16].replace("T", " ")
        if st.button(label, key=f"conv-{info.id}", icon=":material/chat_bubble:", width="stretch",
                     type="primary" if info.id == current else "secondary", help=f"{counted(info.turns, 'question')}, {when} UTC"):
            open_conversation(settings, library, info.id)
            st.rerun()


def _edit(store: ConversationStore, settings: Settings, title: str) -> None:
    cid = st.session_state.conversation_id
    with st.expander("Rename or delete", icon=":material/edit:"):
        new = st.text_input("Title", value=title, key=f"title-{cid}", max_chars=200)
        a, b = st.columns(2)
        if a.button("Rename", key="rename-conversation", disabled=not new.strip() or new == title):
            _apply(lambda: store.rename(cid, new))
            st.rerun()
        if b.button("Delete", key="delete-conversation", icon=":material/delete:"):
            if _apply(lambda: store.delete(cid)):
                new_chat()
            st.rerun()


def _apply(action) -> bool:
    try:
        action()
    except ConversationStoreError as exc:
        _failed(exc)
        return False
    return True


def _clip(title: str) -> str:
    title = " ".join(title.split()) or "Untitled"
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"

