"""The timeline view: the articles on a subject by date, each with its most relevant sentence, cited.

Thin over :func:`rag.timeline.timeline`; every piece of article text goes through ``ui.render``.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from rag import Filters, Library
from rag.errors import RagError
from rag.terminal import quote_body
from rag.timeline import Timeline, timeline
from ui import render


def timeline_html(t: Timeline, names: Mapping[str, str] | None = None) -> str:
    """One row per article: its date (or "undated"), number, title, source, sentence, other reports."""
    rows = []
    for e in t.entries:
        c = e.citation
        date = (f'<span class="rag-date">{render.esc(e.published)}</span>' if e.published
                else '<span class="rag-date rag-undated">undated</span>')
        sentence = f'<div class="rag-passage">“<mark>{render.esc(quote_body(e.sentence))}</mark>”</div>' if e.sentence else ""
        rows.append(
            f'<li>{date}<div class="rag-card" id="{render.anchor("timeline", c.number)}">'
            f'<div class="rag-card-head"><span class="rag-num">{c.number}</span>'
            f'<span class="rag-title">{render.esc(c.title or "Untitled")}</span></div>'
            f'<div class="rag-meta">{render.source_html(c.source, names)}</div>{sentence}'
            f"{render.copies_html(c.also_reported_by, names)}</div></li>")
    return f'<ul class="rag-timeline">{"".join(rows)}</ul>'


def view(library: Library, filters: Filters, names: Mapping[str, str] | None = None) -> None:
    """A collapsible section: a subject in, its timeline out (under the sidebar's filters)."""
    query = (st.session_state.get("timeline_query") or "").strip()
    with st.expander("Timeline of a subject", icon=":material/timeline:", expanded=bool(query)):
        st.text_input("Subject", key="timeline_query", placeholder="e.g. the harbour bridge",
                      max_chars=library.settings.max_question_chars)
        if not query:
            return
        try:
            key = (query, filters, library.store.revision())
            cached = st.session_state.get("timeline_result")
            if not cached or cached[0] != key:
                cached = st.session_state.timeline_result = (key, timeline(library, query, filters=filters))
        except RagError as exc:
            st.error(str(exc))
            return
        result: Timeline = cached[1]
        if not result.entries:
            st.info("No article is close enough to this subject.")
            return
        dated = sum(1 for e in result.entries if e.published)
        st.caption(f"{len(result.entries)} article{'s' if len(result.entries) != 1 else ''} by date"
                   + (f", {len(result.entries) - dated} undated last" if dated < len(result.entries) else ""))
        st.html(timeline_html(result, names))
