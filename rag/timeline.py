"""Timelines: the articles on a subject ordered by publication date, each with its most relevant sentence, cited.

The articles are those whose passages retrieval ranks for the subject (one article per group of
copies, :mod:`rag.groups`), kept while their best passage is at least as close to the subject as an
answer needs (``MIN_SIMILARITY``). Each entry quotes the sentence of that passage the
extractive answerer scores best. Dated articles come first, oldest first; undated ones last, in
order of relevance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .library import Library
from .retrieval import Filters
from .schema import Citation

MAX_PASSAGES = 50  # the most retrieval returns in one search
# A passage this close to the subject is on it: the similarity bar the extractive answerer abstained under
# before its decision was learnt (rag/answerability.py), which judges answers, not subjects.
MIN_SIMILARITY = 0.25


@dataclass(frozen=True)
class TimelineEntry:
    """One article of a timeline: its date (None: undated), its most relevant sentence, and the citation of it."""

    published: str | None
    sentence: str
    citation: Citation  # number (order in the timeline), article, passage, the sentence's span, other reports


@dataclass(frozen=True)
class Timeline:
    """The articles on ``query``, dated ones by date (oldest first), then the undated."""

    query: str
    entries: tuple[TimelineEntry, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def timeline(library: Library, query: str, limit: int = 20, filters: Filters | None = None) -> Timeline:
    """The timeline of ``query``: at most ``limit`` articles, one per group of copies."""
    lex = library.lexical.get()  # one read of the store's revision serves the search, the scoring and the groups
    passages, qvec = library.search_with_vector(query, MAX_PASSAGES, filters, lex=lex)
    best: dict[str, int] = {}  # article -> index of its best passage (passages come best first)
    for i, p in enumerate(passages):
        if p.similarity >= MIN_SIMILARITY and p.article_id not in best and len(best) < limit:
            best[p.article_id] = i
    chosen = [passages[i] for i in best.values()]
    if not chosen:
        return Timeline(query)
    top: dict[int, tuple[int, int, str]] = {}  # passage index -> its best sentence (start, end, text)
    for s in library.scorer.score(query, chosen, qvec, lex.idf):
        top.setdefault(s.passage, (s.start, s.end, s.text))
    order = sorted(range(len(chosen)), key=lambda i: (chosen[i].published is None, chosen[i].published or "", i))
    groups = library.groups.get(lex.revision)
    entries = []
    for n, i in enumerate(order, 1):
        p = chosen[i]
        start, end, text = top.get(i, (0, 0, ""))
        citation = Citation(number=n, article_id=p.article_id, title=p.title, source=p.source, published=p.published,
                            chunk_id=p.chunk_id, start=p.start, end=p.end, passage=p.text,
                            quotes=((start, end),) if end > start else (), also_reported_by=groups.others(p.article_id))
        entries.append(TimelineEntry(p.published, " ".join(text.split()), citation))
    return Timeline(query, tuple(entries))
