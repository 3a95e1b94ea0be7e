"""The conversation as a Markdown document: questions, answers and the passages they cite."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from rag import Answer
from rag.terminal import answer_lines, searched_line

from .render import merge_spans

# Inline Markdown that could turn article text into markup, links or HTML in a viewer.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>#|~$!])")


def _md(text: str) -> str:
    return _MD_INLINE.sub(r"\\\1", " ".join(text.split()))


def _quoted(passage: str, quotes: Sequence[tuple[int, int]]) -> str:
    """The passage on one line, cited sentences in bold."""
    out, pos = [], 0
    for s, e in merge_spans(quotes, len(passage)):
        out.append(_md(passage[pos:s]))
        out.append(f"**{_md(passage[s:e])}**")
        pos = e
    out.append(_md(passage[pos:]))
    return " ".join(p for p in out if p)


def conversation_markdown(turns: Sequence[tuple[str, Answer]], when: datetime | None = None,
                          ratings: Sequence[str | None] = ()) -> str:
    """``turns`` are (question, answer) pairs in order; ``ratings`` what the reader said of each, if anything."""
    when = when or datetime.now()
    lines = [f"# Conversation, {when:%Y-%m-%d %H:%M}", ""]
    for i, (question, answer) in enumerate(turns, 1):
        lines += [f"## {i}. {_md(question)}", ""]
        rated = ratings[i - 1] if i <= len(ratings) else None
        if answer.abstained:
            lines += [f"*{_md(answer.text)}*", ""] + ([f"*{_md(rated)}*", ""] if rated else [])
            continue
        lines += ["  \n".join(_md(line) for line in answer_lines(answer)), ""]  # two spaces: a line break
        for said in (searched_line(answer.searched, answer.as_of, answer.window), *answer.notes):  # as shown under it
            lines += [f"*{_md(said)}*", ""] if said else []
        if answer.citations:
            lines += ["Sources:", ""]
        for c in answer.citations:
            meta = ", ".join(x for x in (_md(c.source), c.published) if x)
            lines.append(f"[{c.number}] **{_md(c.title or 'Untitled')}**" + (f" ({meta})" if meta else ""))
            lines.append(f"> {_quoted(c.passage, c.quotes)}")
            lines.append("")
        if rated:
            lines += [f"*{_md(rated)}*", ""]
    return "\n".join(lines).rstrip() + "\n"
