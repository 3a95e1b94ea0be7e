"""Hybrid retrieval: dense (Chroma) and lexical (bm25s) candidates fused by reciprocal rank, by chunk id."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .schema import Passage
from .sentences import META_KEY
from .store import Store, chunk_owner, committed_versions, day_number
from .terms import idf_table, tokenize

if TYPE_CHECKING:
    from .library import Library

log = logging.getLogger(__name__)
RRF_K = 60


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some articles, sources or a published date range (inclusive, YYYY-MM-DD)."""

    article_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    published_from: str | None = None
    published_to: str | None = None

    def __bool__(self) -> bool:
        return bool(self.article_ids or self.sources or self.published_from or self.published_to)

    def chroma_where(self) -> dict | None:
        conds: list[dict] = []
        if self.article_ids:
            conds.append({"article_id": {"$in": list(self.article_ids)}})
        if self.sources:
            conds.append({"source": {"$in": list(self.sources)}})
        if self.published_from:
            conds.append({"published_day": {"$gte": day_number(self.published_from)}})
        if self.published_to:
            conds.append({"published_day": {"$lte": day_number(self.published_to)}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}

    def mask(self, index: LexicalIndex) -> np.ndarray | None:
        if not self:
            return None
        keep = np.ones(len(index.ids), dtype=bool)
        if self.article_ids:
            keep &= np.isin(index.article_ids, list(self.article_ids))
        if self.sources:
            keep &= np.isin(index.sources, list(self.sources))
        if self.published_from:
            keep &= index.days >= (day_number(self.published_from) or 0)
        if self.published_to:
            keep &= (index.days <= (day_number(self.published_to) or 99999999)) & (index.days > 0)
        return keep.astype(np.float32)


@dataclass
class LexicalIndex:
    """BM25 over every committed chunk in Chroma, rebuilt from Chroma alone whenever the store's revision changes."""

    revision: str
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metadatas: list[dict] = field(default_factory=list)
    article_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    sources: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    days: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    bm25: Any = None
    position: dict[str, int] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, store: Store) -> LexicalIndex:
        import bm25s

        revision = store.revision()
        idx = cls(revision=revision)
        records = store.all_records()
        committed = committed_versions(records)
        for rows in store.iter_chunks():
            for cid, text, meta in zip(rows.ids, rows.texts, rows.metadatas):
                article_id, version = chunk_owner(cid)
                # only committed versions: queries then need no per-hit lookup in the store (a text
                # missing means the version changed since ``records`` was read: the next query rebuilds)
                if committed.get(article_id) == version and text is not None:
                    meta.pop(META_KEY, None)  # sentence vectors are fetched for the few passages an answer reads
                    record = records[article_id]  # title and date: kept once per article (older stores: per chunk too)
                    meta["title"], meta["published"] = record.get("title", ""), record.get("published")
                    idx.ids.append(cid)
                    idx.texts.append(text)
                    idx.metadatas.append(meta)
        idx.article_ids = np.array([m.get("article_id", "") for m in idx.metadatas], dtype=object)
        idx.sources = np.array([m.get("source", "") for m in idx.metadatas], dtype=object)
        idx.days = np.array([m.get("published_day", 0) for m in idx.metadatas], dtype=np.int64)
        idx.position = {cid: i for i, cid in enumerate(idx.ids)}
        if idx.ids:
            tokens = [tokenize(f"{m.get('title', '')}\n{t}") for t, m in zip(idx.texts, idx.metadatas)]
            idx.idf = idf_table(tokens)
            idx.bm25 = bm25s.BM25()
            idx.bm25.index(tokens, show_progress=False)
        log.info("lexical index built: %d chunks (revision %s)", len(idx.ids), revision[:8])
        return idx

    def search(self, query: str, k: int, filters: Filters | None = None) -> tuple[list[str], list[float]]:
        if self.bm25 is None:
            return [], []
        mask = filters.mask(self) if filters else None
        res = self.bm25.retrieve([tokenize(query)], k=min(k, len(self.ids)), show_progress=False,
                                 weight_mask=mask, n_threads=1)
        docs, scores = res.documents[0], res.scores[0]
        return [self.ids[int(d)] for d, s in zip(docs, scores) if s > 0], [float(s) for s in scores if s > 0]


class LexicalCache:
    """The current lexical index for one store; checks the revision stamp (cheap) before each use."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index: LexicalIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> LexicalIndex:
        revision = self.store.revision()
        idx = self._index
        if idx is not None and idx.revision == revision:
            return idx
        with self._lock:
            if self._index is None or self._index.revision != revision:
                self._index = LexicalIndex.build(self.store)
            return self._index

    def invalidate(self) -> None:
        self._index = None


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


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over the library: ``retriever.invoke("question")`` returns Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    library: Any
    k: int = 4
    filters: Filters = Filters()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        lib: Library = self.library
        return [to_document(p) for p in lib.search(query, k=self.k, filters=self.filters)]
