"""Safe rendering of untrusted article text: escape every piece first, then add our own markup around it.

Article text (and answer text, which is made of article sentences) may hold HTML, Markdown or
Streamlit directives. Everything here returns either HTML in which each piece of article text went
through ``html.escape`` before any tag was added, or Markdown in which every ASCII punctuation
character of article text is backslash-escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from urllib.parse import urlsplit

from rag import Answer, Citation
from rag.terminal import answer_lines

_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_MARKER = re.compile(r"\[(\d+)\]")
_BLANK_LINES = re.compile(r"[ \t]*\n\s*")
_URL = re.compile(r"^https?://[^\s<>\"']+$", re.I)

Span = tuple[int, int]


def md_escape(text: str) -> str:
    """Text for a Markdown widget (labels, progress text, streamed answers): no markup can survive.

    CommonMark lets any ASCII punctuation be backslash-escaped, which also stops links, images,
    HTML, ``$`` maths and Streamlit's ``:color[...]`` directives; new lines become spaces.
    """
    return _MD_PUNCT.sub(r"\\\1", " ".join(text.split()))


def esc(text: str, compact: bool = False) -> str:
    """HTML-escaped text with its line breaks kept (``compact``: blank lines between paragraphs dropped)."""
    if compact:
        text = _BLANK_LINES.sub("\n", text)
    return html.escape(text, quote=True).replace("\n", "<br>")


def is_url(source: str) -> bool:
    return bool(_URL.match(source or ""))


def source_label(source: str, names: Mapping[str, str] | None = None) -> str:
    """What to show for a source: the site of a URL, the file name of a path (an upload's original name)."""
    if is_url(source):
        parts = urlsplit(source)
        return (parts.netloc + parts.path).rstrip("/")[:80]
    name = PurePath(source).name if source else ""
    if names and name in names:
        return f"{names[name]} (uploaded)"
    return name


def source_html(source: str, names: Mapping[str, str] | None = None) -> str:
    """A link for an http(s) URL, escaped text for anything else (file paths, other schemes)."""
    if is_url(source):
        return (f'<a href="{html.escape(source, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">'
                f"{esc(source_label(source))}</a>")
    return f"<span>{esc(source_label(source, names))}</span>"


def merge_spans(spans: Iterable[Span], length: int) -> list[Span]:
    """Spans clipped to ``[0, length]``, sorted, overlapping ones joined, empty ones dropped."""
    out: list[list[int]] = []
    for s, e in sorted((max(0, s), min(length, e)) for s, e in spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def highlight(text: str, spans: Iterable[Span], compact: bool = False) -> str:
    """``text`` escaped, with each span wrapped in ``<mark>`` (added after escaping, so it is ours)."""
    out, pos = [], 0
    for s, e in merge_spans(spans, len(text)):
        out.append(esc(text[pos:s], compact))
        out.append(f"<mark>{esc(text[s:e], compact)}</mark>")
        pos = e
    out.append(esc(text[pos:], compact))
    return "".join(out)


def excerpt(text: str, spans: Sequence[Span], context: int = 240) -> tuple[str, list[Span], bool, bool]:
    """The part of a passage around its quotes: (text, spans shifted to it, cut before, cut after).

    Keeps citations compact: the cited sentences with about ``context`` characters either side,
    cut at white space.
    """
    spans = merge_spans(spans, len(text))
    if not spans:
        lo, hi = 0, min(len(text), 2 * context)
    else:
        lo, hi = max(0, spans[0][0] - context), min(len(text), spans[-1][1] + context)
    if lo > 0:
        cut = text.find(" ", lo)
        if 0 <= cut < (spans[0][0] if spans else hi):
            lo = cut + 1
    if hi < len(text):
        cut = text.rfind(" ", spans[-1][1] if spans else lo, hi)
        hi = cut if cut > 0 else hi
    return text[lo:hi], [(s - lo, e - lo) for s, e in spans], lo > 0, hi < len(text)


def anchor(prefix: str, number: int) -> str:
    return f"{prefix}-c{number}"


def answer_html(answer: Answer, prefix: str) -> str:
    """The answer text escaped, its ``[n]`` markers turned into links to the citation cards, a quoted headline on a
    line of its own (:func:`rag.terminal.answer_lines`)."""
    if answer.abstained:
        return f'<div class="rag-abstain"><span class="rag-abstain-icon">∅</span>{esc(answer.text)}</div>'
    titles = {c.number: c.title for c in answer.citations}

    def marker(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in titles:
            return m.group(0)
        return f'<a class="rag-cite" href="#{anchor(prefix, n)}" title="{html.escape(titles[n], quote=True)}">{n}</a>'

    text = esc("\n".join(answer_lines(answer)))
    return f'<div class="rag-answer">{_MARKER.sub(marker, text)}</div>'


def article_label(info) -> str:
    """An article as a choice in a list: its title and date, since news repeats headlines ("Super Bowl 2025: …")."""
    return f"{info.title or 'Untitled'} · {info.published or 'undated'}"


def date_html(published: str | None) -> str:
    """An article's date, or "undated": never left blank, so a missing date is not mistaken for a missing field."""
    return f"<span>{esc(published)}</span>" if published else '<span class="rag-undated">undated</span>'


def citation_html(c: Citation, prefix: str, names: Mapping[str, str] | None = None, note: str | None = None) -> str:
    """A compact card: number, title, source and date, then the passage with the cited sentences marked.

    ``note`` flags a saved citation whose article was removed or changed since (the passage is as cited then).
    """
    text, spans, cut_before, cut_after = excerpt(c.passage, c.quotes)
    meta = [source_html(c.source, names)] if c.source else []
    meta.append(date_html(c.published))
    return (
        f'<div class="rag-card" id="{anchor(prefix, c.number)}">'
        f'<div class="rag-card-head"><span class="rag-num">{c.number}</span>'
        f'<span class="rag-title">{esc(c.title or "Untitled")}</span></div>'
        f'<div class="rag-meta">{" · ".join(meta)}</div>'
        + (f'<div class="rag-gone">{esc(note)}</div>' if note else "")
        + f'<div class="rag-passage">{"… " if cut_before else ""}{highlight(text, spans, compact=True)}{" …" if cut_after else ""}</div>'
        + f"{copies_html(c.also_reported_by, names)}</div>"
    )


def copies_html(reports: Sequence, names: Mapping[str, str] | None = None) -> str:
    """"Also reported by N other sources", then each (title, date, source): the other articles of a group of copies."""
    if not reports:
        return ""
    rows = "".join(f'<li><span class="rag-title">{esc(r.title or "Untitled")}</span> · {esc(r.published or "undated")}'
                   f" · {source_html(r.source, names)}</li>" for r in reports)
    n = len(reports)
    return (f'<details class="rag-copies"><summary>Also reported by {n} other source{"s" if n != 1 else ""}</summary>'
            f"<ul>{rows}</ul></details>")


def article_html(text: str, passage: Span, quotes: Iterable[Span]) -> str:
    """A whole article, the cited passage shaded and its quotes marked; ``#rag-cited`` is the passage start."""
    quotes = merge_spans(quotes, len(text))
    ps, pe = max(0, passage[0]), min(len(text), passage[1])
    points = sorted({0, len(text), ps, pe, *(p for span in quotes for p in span)})
    out = []
    for a, b in zip(points, points[1:]):
        piece = esc(text[a:b])
        if a == ps:
            out.append('<span id="rag-cited"></span>')
        if any(s <= a and b <= e for s, e in quotes):
            out.append(f"<mark>{piece}</mark>")
        elif ps <= a and b <= pe:
            out.append(f'<span class="rag-ctx">{piece}</span>')
        else:
            out.append(piece)
    return f'<div class="rag-article">{"".join(out)}</div>'


def articles_html(infos: Iterable, names: Mapping[str, str] | None = None) -> str:
    """The library as a compact list: title, then date, chunk count and source."""
    rows = []
    for a in infos:
        meta = [esc(a.published)] if a.published else []
        meta += [f"{a.chunks} chunk{'s' if a.chunks != 1 else ''}", source_html(a.source, names)]
        rows.append(f'<li><div class="rag-title">{esc(a.title or "Untitled")}</div>'
                    f'<div class="rag-meta">{" · ".join(meta)}</div></li>')
    return f'<ul class="rag-list">{"".join(rows)}</ul>'


CSS = """<style>
.rag-answer { font-size: 1.02rem; line-height: 1.6; }
.rag-cite { display: inline-block; min-width: 1.25em; padding: 0 .3em; margin: 0 .1em; border-radius: .5em;
  font-size: .72em; font-weight: 600; line-height: 1.5; text-align: center; vertical-align: super;
  background: rgba(255, 170, 0, .22); color: inherit !important; text-decoration: none !important; }
.rag-cite:hover { background: rgba(255, 170, 0, .5); }
.rag-abstain { display: flex; gap: .6em; align-items: center; padding: .7em .9em; border-radius: .5rem;
  background: rgba(120, 120, 140, .12); border-left: 4px solid rgba(120, 120, 140, .6); font-weight: 500; }
.rag-abstain-icon { font-size: 1.2em; opacity: .7; }
.rag-sources { font-size: .78rem; font-weight: 600; letter-spacing: .04em; text-transform: uppercase;
  opacity: .65; margin: .2rem 0 -.2rem; }
.rag-card { border: 1px solid rgba(128, 128, 128, .25); border-radius: .55rem; padding: .55rem .75rem;
  scroll-margin-top: 4rem; }
.rag-card:target { border-color: rgba(255, 170, 0, .9); box-shadow: 0 0 0 2px rgba(255, 170, 0, .25); }
.rag-card-head { display: flex; gap: .5em; align-items: baseline; }
.rag-num { flex: none; font-size: .75rem; font-weight: 700; padding: 0 .45em; border-radius: .5em;
  background: rgba(255, 170, 0, .22); }
.rag-title { font-weight: 600; line-height: 1.35; }
.rag-meta { font-size: .8rem; opacity: .7; margin: .1rem 0 .35rem; }
.rag-meta a { color: inherit; }
.rag-passage { font-size: .88rem; line-height: 1.55; opacity: .92; }
.rag-passage mark, .rag-article mark { background: rgba(255, 196, 0, .45); color: inherit; padding: 0 .1em;
  border-radius: .2em; }
.rag-article { font-size: .95rem; line-height: 1.65; max-height: 62vh; overflow-y: auto; padding-right: .5rem; }
.rag-gone { display: inline-block; font-size: .75rem; font-weight: 600; padding: 0 .5em; margin-bottom: .3rem;
  border-radius: .5em; background: rgba(220, 38, 38, .14); color: rgb(185, 28, 28); }
[class*="st-key-conv-"] button { justify-content: flex-start; text-align: left; }
[class*="st-key-conv-"] button p { text-align: left; }
.rag-ctx { background: rgba(255, 196, 0, .13); }
.rag-list { list-style: none; margin: 0 !important; padding: 0 !important; max-height: 22rem; overflow-y: auto;
  font-size: .85rem; }
.rag-list li { list-style: none; padding: .35rem 0; border-bottom: 1px solid rgba(128, 128, 128, .18);
  margin: 0 !important; }
.rag-list .rag-title { font-weight: 500; }
.rag-list .rag-meta { margin: 0; font-size: .75rem; }
.rag-copies { font-size: .8rem; margin-top: .35rem; opacity: .85; }
.rag-copies summary { cursor: pointer; }
.rag-copies ul { margin: .2rem 0 0 1rem; padding: 0; }
.rag-copies .rag-title { font-weight: 500; }
.rag-timeline { list-style: none; margin: 0 !important; padding: 0 !important; }
.rag-timeline > li { list-style: none; display: flex; gap: .8rem; padding: .5rem 0; margin: 0 !important;
  border-bottom: 1px solid rgba(128, 128, 128, .18); }
.rag-date { flex: none; width: 6.5rem; font-size: .85rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.rag-date.rag-undated { opacity: .55; font-weight: 500; font-style: italic; }
.rag-timeline .rag-passage mark { background: rgba(255, 196, 0, .45); color: inherit; border-radius: .2em; }
.rag-timeline > li > .rag-card { flex: 1; min-width: 0; }
/* a toast (the first start's "Indexed 1 example article") sits above dialogs and covered the article's close button */
body:has([data-testid="stDialog"]) [data-testid="stToastContainer"] { display: none; }
</style>"""
