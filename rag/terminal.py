"""Human output: counts and quotations worded for people (the CLI and the UI use them), and text made safe for a
terminal and laid out to its width (80 columns when piped)."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Iterable

from .answer import balance_quotes, quotes_of
from .schema import Answer
from .scoring import closing

# Terminal control characters and bidirectional overrides: an article or file name could use them to
# rewrite what the terminal shows. Human output shows them escaped; --json is already safe.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MAX_WIDTH = 100  # wider lines are hard to read even on a wide terminal
_NESTED = str.maketrans({"“": "‘", "”": "’", '"': "'"})  # a quotation inside a quotation has single marks


def shown(text: object) -> str:
    """``text`` safe to print to a terminal: control characters as ``\\x1b``-style escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        str(text))


def counted(n: int, noun: str) -> str:
    """"1 article", "5,280 articles": read better than "1 article(s)"."""
    return f"{n} {noun}" if n == 1 else f"{n:,} {noun}s"


def quote_body(text: str) -> str:
    """``text`` to show between “ and ”: an opening mark it never closes (a sentence cut from a longer quotation)
    is dropped rather than doubled, so “Kimmel is not a talented person.” does not read ““Kimmel …”; a closing mark
    it never opened (the article left the opening one out, or the sentence starts inside the quotation) gets its
    opening one, as the answer's text does; and the quotation marks it keeps become single ones, as a quotation
    inside a quotation is written: “‘It is over,’ she said.”"""
    body = text.strip()
    balanced = balance_quotes(body)
    if body[:1] in '"“' and balanced != body and balanced.startswith(body):
        body = body[1:]  # the mark it would close is the one it opens
    else:
        body = balanced
    return body.translate(_NESTED)


def answer_lines(answer: Answer) -> list[str]:
    """The answer's text as lines to show. A quote that ends without a full stop (a headline or subhead quoted from the
    page) stands on a line of its own, as it does on the page: run on, "Trump, conservative leaders honor Charlie
    Kirk [1] Vance calls Kirk a 'great American leader' [2] But Vance also …" reads as one sentence. A generated
    answer (its markers may sit inside a sentence) and an abstention are one line, as written."""
    text = answer.text.strip()
    quotes = quotes_of(text)
    if answer.abstained or answer.sentences or not quotes or any(q[:1].islower() for q, _ in quotes):
        return [text]  # not quotes each ending in a marker: "Stoltenberg [1] and Kirby [2] said so."
    lines: list[str] = []
    prose: list[str] = []
    for sentence, n in quotes:
        quote = f"{sentence} [{n}]"
        if closing(sentence).endswith((".", "!", "?", "…")):
            prose.append(quote)
            continue
        if prose:
            lines.append(" ".join(prose))
            prose = []
        lines.append(quote)
    if prose:
        lines.append(" ".join(prose))
    return lines


def searched_line(searched: str | None, as_of: object, window: object) -> str | None:
    """"Searched news from 3–9 Jan 2026 (as of 2026-01-09)."; without a window the period already ends on the
    as-of day ("Searched news up to 2 Dec 2026."), so it is not said twice."""
    if not searched:
        return None
    return f"Searched {searched} (as of {as_of})." if window else f"Searched {searched}."


def width() -> int:
    """The terminal's width (``COLUMNS``, else 80 when not a terminal), at most :data:`MAX_WIDTH`."""
    return max(40, min(MAX_WIDTH, shutil.get_terminal_size((80, 24)).columns))


def facts_line(parts: Iterable[str | None], indent: str = "") -> str:
    """An article's date, source and the like on one line, never wrapped: a URL stays whole to copy, beside its date."""
    return indent + shown(" · ".join(" ".join(p.split()) for p in parts if p))


def wrap(text: object, indent: str = "", first: str | None = None) -> str:
    """``text`` made safe and wrapped to the terminal, paragraphs kept; ``first`` prefixes the first line."""
    first = indent if first is None else first
    paragraphs = [p for p in shown(text).split("\n") if p.strip()] or [""]
    out = []
    for i, para in enumerate(paragraphs):
        out.append(textwrap.fill(" ".join(para.split()), width(), initial_indent=first if i == 0 else indent,
                                 subsequent_indent=indent, break_on_hyphens=False,
                                 break_long_words=False) or first.rstrip())
    return "\n".join(out)
