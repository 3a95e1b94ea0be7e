"""Retrieval: dense (Chroma) and lexical (bm25s) candidates fused by reciprocal rank, by chunk id, with a time prior."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .config import Settings
from .dates import day_number, period
from .errors import EmptyStoreError, InputError
from .groups import GroupCache, diversify
from .lexical import LexicalCache, LexicalIndex
from .loaders import as_characters, clean_text
from .schema import Passage
from .scoring import SentenceScorer
from .store import Store
from .timeexpr import TimeScope, content_question, resolve

log = logging.getLogger(__name__)
RRF_K = 60
_MAX_DENSE_FETCH = 1000  # an unfiltered dense search for as_of never asks for more


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some articles, sources or a published period (inclusive).

    ``published_from``/``published_to`` take ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` and mean the whole
    period: ``published_to="2024"`` ends on 31 Dec 2024. An article with a partial date counts from
    the first day of its period; undated articles are left out by a date range.
    """

    article_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    published_from: str | None = None
    published_to: str | None = None

    def __bool__(self) -> bool:
        return bool(self.article_ids or self.sources or self.published_from or self.published_to)

    def day_range(self) -> tuple[int | None, int | None]:
        first = day_number(period(self.published_from)[0]) if self.published_from else None
        last = day_number(period(self.published_to)[1]) if self.published_to else None
        return first, last

    def chroma_where(self, as_of_day: int | None = None) -> dict | None:
        conds: list[dict] = []
        if self.article_ids:
            conds.append({"article_id": {"$in": list(self.article_ids)}})
        if self.sources:
            conds.append({"source": {"$in": list(self.sources)}})
        first, last = self.day_range()
        if first:
            conds.append({"published_day": {"$gte": first}})
        if last:
            conds.append({"published_day": {"$lte": last}})
            conds.append({"published_day": {"$gt": 0}})
        if as_of_day:
            conds.append({"published_day": {"$lte": as_of_day}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}

    def mask(self, index: LexicalIndex, as_of_day: int | None = None) -> np.ndarray | None:
        if not self and not as_of_day:
            return None
        keep = np.ones(len(index.ids), dtype=bool)
        if self.article_ids:
            keep &= np.isin(index.article_ids, list(self.article_ids))
        if self.sources:
            keep &= np.isin(index.sources, list(self.sources))
        first, last = self.day_range()
        if first:
            keep &= index.days >= first
        if last:
            keep &= (index.days <= last) & (index.days > 0)
        if as_of_day:
            keep &= index.days <= as_of_day  # undated (0) stay: nothing says they came later
        return keep.astype(np.float32)


def rrf(rankings: list[tuple[list[str], float]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion of id rankings."""
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids):
            scores[cid] = scores.get(cid, 0.0) + weight / (rank + 1 + k)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def to_document(p: Passage) -> Document:
    return Document(page_content=p.text, id=p.chunk_id, metadata={
        "chunk_id": p.chunk_id, "article_id": p.article_id, "title": p.title, "source": p.source,
        "published": p.published, "start": p.start, "end": p.end, "score": p.score,
    })


def from_document(d: Document) -> Passage:
    m = d.metadata
    return Passage(chunk_id=m["chunk_id"], article_id=m["article_id"], title=m.get("title", ""),
                   source=m.get("source", ""), published=m.get("published"), text=d.page_content,
                   start=int(m.get("start", 0)), end=int(m.get("end", 0)), score=float(m.get("score", 0.0)))


class Retriever:
    """All of retrieval for one store: lexical cache, dense search, fusion, the time prior and group diversity.

    ``search`` fuses dense (Chroma) and BM25 candidates by reciprocal rank, hides articles published after
    the question's ``as_of``, adds the time prior of the question's :class:`~rag.timeexpr.TimeScope`, and
    keeps the best ``RAG_RERANK_DEPTH`` committed passages, at most one article per group of copies
    (:mod:`rag.groups`), re-ranks them by their best sentence (:mod:`rag.scoring`) and returns the top ``k``.
    """

    def __init__(self, store: Store, embedder: Any, settings: Settings) -> None:
        """``embedder`` is the model, or a function returning it (the Library loads the model on first use)."""
        self.store = store
        self._embedder = embedder
        self.settings = settings
        # a local store keeps its built BM25 index beside Chroma's files (rag/lexical.py); a server's clients build their own
        self.lexical = LexicalCache(store, None if settings.chroma_url else settings.store_path / "lexical" / settings.collection)
        self.groups = GroupCache(store)
        self.scorer = SentenceScorer(lambda: self.embedder, store.sentence_blobs,  # the answerer shares it
                                     boilerplate=self.lexical.boilerplate)

    @property
    def embedder(self) -> Any:
        return self._embedder() if callable(self._embedder) else self._embedder

    def term_weights(self) -> dict[str, float]:
        """IDF of every term in the collection, for weighing question words by rarity."""
        return self.lexical.get().idf

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               scope: TimeScope | None = None, lex: LexicalIndex | None = None) -> tuple[list[Passage], np.ndarray]:
        """The ``k`` best passages for ``query`` (already checked) and the query's vector.

        ``lex`` is a snapshot the caller already holds (one read of the store's revision per question).
        """
        lex = lex or self.lexical.get()  # one revision read; rebuilt only when the store changed
        if not lex.ids:
            raise EmptyStoreError.at(self.store.where)
        s = self.settings
        k = s.top_k if k is None else k
        if not 1 <= k <= 50:
            raise InputError(f"k={k}: ask for between 1 and 50 passages.")
        filters = filters or Filters()
        # as_of hides later articles; when it hides none (asked today) no filter is sent to Chroma
        as_of_day = day_number(scope.as_of) if scope else None
        if as_of_day and (not len(lex.days) or int(lex.days.max()) <= as_of_day):
            as_of_day = None
        if scope is not None and scope.expressions and lex.dated:  # "this week" is in the window now, not in the words to match
            query = content_question(query)
        qvec = self.embedder.query_vector(query)
        mask = filters.mask(lex, as_of_day)
        if mask is not None and not mask.any():
            return [], qvec
        fetch = min(max(s.fetch_k, k), len(lex.ids))
        dense_ids, dense_sims = self._dense(qvec, fetch, filters, as_of_day, mask, lex)
        lex_ids, _ = lex.search(query, fetch, mask=mask)
        rankings = [(dense_ids, s.dense_weight), (lex_ids, s.lexical_weight)]
        fused = self._time_prior(rrf(rankings), lex, scope)
        depth = max(k, s.rerank_depth)
        passages = diversify(_visible(fused, 3 * depth, lex), self.groups.get(lex.revision).group_of, depth)
        if s.rerank_depth > 0:
            passages = self.scorer.rerank(query, passages, qvec, lex.idf, s.rerank_fusion_weight)
        passages = passages[:k]
        sims = dict(zip(dense_ids, dense_sims))
        lexical_only = [p.chunk_id for p in passages if p.chunk_id not in sims]
        if lexical_only:  # found by words alone: their similarity still tells the answerer how close they are
            sims.update({cid: float(v @ qvec) for cid, v in self.store.embeddings(lexical_only).items()})
        return [replace(p, similarity=round(sims.get(p.chunk_id, 0.0), 6)) for p in passages], qvec

    def _dense(self, qvec: np.ndarray, fetch: int, filters: Filters, as_of_day: int | None, mask: np.ndarray | None,
               lex: LexicalIndex) -> tuple[list[str], list[float]]:
        """Dense candidates visible as of the question's day.

        Chroma's metadata filter costs ~50x an unfiltered search here (172 ms against 3 ms on 13k chunks),
        so ``as_of`` alone is applied after an unfiltered search that fetches more in proportion to what
        it hides; the user's own filters (articles, sources, dates) still go to Chroma.
        """
        if as_of_day is None or filters:
            return self.store.dense(qvec, fetch, filters.chroma_where(as_of_day))
        visible = float(mask.mean()) if mask is not None else 1.0
        wanted = min(len(lex.ids), int(fetch / max(visible, 0.02)) + 1, _MAX_DENSE_FETCH)
        ids, sims = self.store.dense(qvec, wanted, None)
        keep = [(cid, sim) for cid, sim in zip(ids, sims)
                if (pos := lex.position.get(cid)) is not None and mask is not None and mask[pos] > 0]
        return [c for c, _ in keep[:fetch]], [x for _, x in keep[:fetch]]

    def _time_prior(self, fused: list[tuple[str, float]], lex: LexicalIndex, scope: TimeScope | None) -> list[tuple[str, float]]:
        """Add the time prior to fused scores: closeness to the question's window, and recency when asked for.

        A boost, never a filter: an article outside the window still wins when it matches much better,
        and undated articles get no boost and no penalty. Weights are in units of a first rank's RRF score.
        """
        s = self.settings
        if scope is None or not fused:
            return fused
        window = _window_days(scope)
        recency = s.recency_weight if scope.recency else s.news_recency_weight
        if not window and recency <= 0:
            return fused
        ids = [cid for cid, _ in fused]
        pos = np.array([lex.position.get(cid, -1) for cid in ids])
        days = np.where(pos >= 0, lex.days[np.maximum(pos, 0)], 0)
        dated = days > 0
        ordinals = np.array([_ordinal(int(d)) if d > 0 else 0 for d in days])
        boost = np.zeros(len(ids))
        unit = 1.0 / (RRF_K + 1)
        if window:
            first, last = _ordinal(window[0]), _ordinal(window[1])
            distance = np.maximum(first - ordinals, 0) + np.maximum(ordinals - last, 0)
            half = max(s.window_half_life_days, (last - first + 1) / 2)
            boost += np.where(dated, s.time_weight * unit * 0.5 ** (distance / half), 0.0)
        if recency > 0:
            age = np.maximum(scope.as_of.toordinal() - ordinals, 0)
            boost += np.where(dated, recency * unit * 0.5 ** (age / s.recency_half_life_days), 0.0)
        scores = np.array([sc for _, sc in fused]) + boost
        order = np.argsort(-scores, kind="stable")
        return [(ids[i], float(scores[i])) for i in order]


def time_focus(passages: list[Passage], scope: TimeScope | None,
               answers: Callable[[list[Passage]], bool]) -> list[Passage]:
    """The passages an answer should quote from, for a question that names a period.

    When some retrieved passages were published inside the question's window and they answer the question
    by the answerer's own decision (``answers``), the answer is drawn from those: "this week" is answered
    from this week's reporting, even when an older story shares more words. Otherwise all passages are
    kept (the window held nothing that answers).
    """
    if scope is None or scope.window is None or not passages:
        return passages
    first, last = _window_days(scope)  # type: ignore[misc]
    inside = [p for p in passages if p.published and first <= (day_number(p.published) or 0) <= last]
    if inside and len(inside) < len(passages) and answers(inside):
        return inside
    return passages


def _ordinal(day: int) -> int:
    return date(day // 10000, day // 100 % 100, day % 100).toordinal()


def _window_days(scope: TimeScope | None) -> tuple[int, int] | None:
    if scope is None or scope.period is None:
        return None
    return day_number(scope.period[0]), day_number(scope.period[1])


def _visible(fused: list[tuple[str, float]], k: int, lex: LexicalIndex) -> list[Passage]:
    """Top ``k`` fused chunks that belong to a committed article version.

    The lexical index holds exactly the committed chunks of the revision it was built at, so this
    is a lookup in memory: a dense hit it does not know is a half-written (or newer) version.
    """
    out: list[Passage] = []
    for cid, score in fused:
        pos = lex.position.get(cid)
        if pos is None:
            continue
        text, m = lex.texts[pos], lex.metadatas[pos]
        out.append(Passage(chunk_id=cid, article_id=m["article_id"], title=m.get("title", ""),
                           source=m.get("source", ""), published=m.get("published"), text=text,
                           start=int(m.get("start", 0)), end=int(m.get("end", 0)), score=round(score, 6)))
        if len(out) == k:
            break
    return out


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over a :class:`Retriever`: ``retriever.invoke("question")`` returns Documents.

    ``as_of`` (a date, default today) hides later articles and anchors time expressions in the query.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    k: int = 4
    filters: Filters = Filters()
    as_of: date | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        r: Retriever = self.retriever
        query = check_question(query, r.settings.max_question_chars)
        passages, _ = r.search(query, k=self.k, filters=self.filters, scope=resolve(query, self.as_of))
        return [to_document(p) for p in passages]


# Inline formatting tags, as a question copied from a web page's source carries them ("should you <em>not</em> wear"):
# read as words, "em" counted as a rare question word that no passage holds.
_INLINE_TAG = re.compile(r"</?(?:a|abbr|b|br|cite|code|em|i|mark|q|s|small|span|strong|sub|sup|u)\b[^<>]{0,200}>", re.I)


def check_question(question: str, max_chars: int) -> str:
    """The question with inline HTML tags and entities read as text and white space collapsed; InputError when it
    is empty or too long."""
    q = clean_text(question or "")  # lone surrogates (non-UTF-8 argv) break the tokenizer
    if "<" in q:
        q = _INLINE_TAG.sub("", q)  # "x < 5 and y > 3" stays
    q = " ".join(as_characters(q).split())  # "Ben &amp; Jerry's" is "Ben & Jerry's"
    if not q:
        raise InputError("The question is empty: type a question about the articles.")
    if len(q) > max_chars:
        raise InputError(f"The question is {len(q)} characters long; the limit is {max_chars} (RAG_MAX_QUESTION_CHARS).")
    return q
