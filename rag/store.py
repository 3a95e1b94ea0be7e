"""Chroma, the system of record: chunks with their embeddings, and one record per article.

Three collections: ``<name>`` holds chunks (cosine space, our own embeddings), ``<name>-articles``
holds one record per article with its content hash, ``<name>-texts`` each article's full text (apart,
so listing articles does not read every text). Writing the article record is
the commit point of an ingest: chunks are visible to queries only when their version matches it,
so readers see an article's old or new state, never a mix, and an interrupted ingest leaves
nothing visible that a re-run does not replace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .chroma import _LOCK, ChromaClient, Guarded, StoreUnavailableError
from .chunking import SPLITTER_VERSION
from .config import Settings
from .dates import day_number
from .errors import EmptyStoreError, NotFoundError, StoreMismatchError
from .schema import Article, ArticleInfo, Chunk
from .sentences import META_KEY

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# A chunk's text is not stored with it: it is its article's text[start:end], and the article's text
# is stored once (``<name>-texts``). Chroma's SQLite indexes every metadata string, and a chunk's
# text there cost ~0.1 ms a chunk at ingest; as a document, Chroma's full-text index of it 0.8 ms.
# Stores written before keep chunk texts in metadata (or as documents); those are read as they are.
TEXT_KEY = "text"
_PAGE = 5000


def version_of(content_hash: str) -> str:
    """The short content version that chunk and text ids carry."""
    return content_hash[:12]


def chunk_owner(chunk_id: str) -> tuple[str, str]:
    """(article id, version) from a chunk id ``{article_id}:{version}:{n}`` (article ids may hold colons)."""
    parts = chunk_id.rsplit(":", 2)
    return (parts[0], parts[1]) if len(parts) == 3 else (chunk_id, "")


def committed_versions(records: dict[str, dict]) -> dict[str, str]:
    """Article id -> the version its record commits (see :meth:`Store.all_records`)."""
    return {rid: version_of(m.get("content_hash", "")) for rid, m in records.items()}


def _text_id(article_id: str, version: str) -> str:
    """The id of one version's text: ``{article_id}:{version}``."""
    return f"{article_id}:{version}"


def _clean(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if v is not None}


class WriteItem(NamedTuple):
    """One article to store: its chunks, their vectors, and their packed sentence vectors (:mod:`rag.sentences`)."""

    article: Article
    chunks: list[Chunk]
    vectors: np.ndarray
    sentences: Sequence[str | None] = ()
    group: str | None = None  # its group of copies and MinHash signature (rag.groups), kept on its record
    minhash: str | None = None


@dataclass(frozen=True)
class ChunkRows:
    """Columns of a page of chunks; texts read from their articles (see :meth:`Store.iter_chunks`)."""

    ids: list[str]
    texts: list[str | None]
    metadatas: list[dict]


def pages(collection: Guarded, include: list[str], size: int = _PAGE) -> Iterator[dict]:
    """A whole collection, ``size`` rows a call (Chroma reads everything at once otherwise)."""
    for offset in range(0, collection.count(), size):
        yield collection.get(include=include, limit=size, offset=offset)


class Store:
    """Chunks and article records in Chroma, guarded against settings that do not match the store."""

    def __init__(self, settings: Settings, embedding_label: str, check: bool = True) -> None:
        self.settings = settings
        self.chroma = ChromaClient(settings)
        self._identity = {
            "embedding_model": embedding_label,
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap_tokens": settings.chunk_overlap_tokens,
            "schema_version": SCHEMA_VERSION,
            "sentence_splitter": SPLITTER_VERSION,  # chunk and sentence boundaries follow its rules
        }
        cosine = {"hnsw": {"space": "cosine", "ef_search": settings.hnsw_ef_search}}
        name = settings.collection
        self.chunks = self.chroma.collection(name, create=True, configuration=cosine,
                                             metadata={**self._identity, "revision": uuid.uuid4().hex})
        self._search_breadth()
        self.records = self.chroma.collection(f"{name}-articles", create=True, metadata={"schema_version": SCHEMA_VERSION})
        self.texts = self.chroma.collection(f"{name}-texts", create=True)
        if check:
            self._check_identity()
        self._batch = min(self.chroma.max_batch_size(), 2000)
        self._seen = str((self.chunks.metadata or {}).get("revision", ""))

    def _search_breadth(self) -> None:
        """A store made with another breadth (before 2026-12, Chroma's default 100) searches as wide as a new one:
        the setting changes no stored data, only how many graph nodes a query visits."""
        want = self.settings.hnsw_ef_search
        hnsw = (self.chunks.configuration_json or {}).get("hnsw") or {}
        if hnsw.get("ef_search", want) != want:
            try:
                self.chunks.modify(configuration={"hnsw": {"ef_search": want}})
            except StoreUnavailableError as exc:  # a server that refuses the write: search as the store was made
                # (a local folder this process cannot write is refused earlier, at its lock file)
                log.warning("could not widen the vector search of %s to ef_search %d: %s", self.where, want, exc)

    def _open_collections(self) -> None:
        name = self.settings.collection
        self.chunks = self.chroma.collection(name)
        self.records = self.chroma.collection(f"{name}-articles")
        self.texts = self.chroma.collection(f"{name}-texts", create=True)

    @property
    def where(self) -> str:
        return self.chroma.where

    def close(self) -> None:
        """Release Chroma's resources (a local store's index memory); the Store cannot be used afterwards."""
        self.chroma.close()

    def _check_identity(self) -> None:
        meta = self.chunks.metadata or {}
        diffs = [f"{k}={meta.get(k)!r} (settings: {v!r})" for k, v in self._identity.items() if meta.get(k) != v]
        if diffs:
            raise StoreMismatchError(
                f"The store at {self.where} was built with other settings: {', '.join(diffs)}. "
                "Restore those settings, point RAG_STORE_PATH at a new folder, or run "
                "'python -m rag ingest --rebuild PATH' to re-index with the current ones."
            )

    # -- revision: a cheap change stamp for caches in this and other processes

    def revision(self) -> str:
        """The current stamp, read afresh (another process may have written); catches up with such writes.

        Also survives ``ingest --rebuild`` elsewhere: while the collections are gone it says the store
        is empty, and once they are back (new collections, new ids) it opens them.
        """
        from chromadb.errors import NotFoundError as ChromaNotFound

        try:
            col = self.chroma.collection(self.settings.collection)
        except ChromaNotFound as exc:
            raise EmptyStoreError(f"The store at {self.where} has no articles right now: it is being rebuilt, "
                                  "or was dropped. Ask again once the ingest has finished.") from exc
        revision = str((col.metadata or {}).get("revision", ""))
        rebuilt = col.id != self.chunks.id  # dropped and created again by another process
        if rebuilt or (revision != self._seen and not self.settings.chroma_url):
            with _LOCK:  # threads sharing this Store catch up once
                if col.id != self.chunks.id:
                    log.info("the store at %s was rebuilt elsewhere: opening the new collections", self.where)
                    if self.settings.chroma_url:
                        self._open_collections()
                    else:
                        self._reopen()
                    self._check_identity()
                elif revision != self._seen and not self.settings.chroma_url:
                    self._reopen()
                self._seen = revision
        return revision

    def _reopen(self) -> None:
        """A fresh local client: Chroma caches the vector index per process and never sees other processes' writes.

        Without this, a process that opened the store before another one ingested searches a stale index
        (or fails with "Nothing found on disk" if the store was empty), and its own next write could
        persist that stale index over the newer one.
        """
        log.info("the store at %s was changed by another process: reopening it", self.where)
        self.chroma.refresh()
        self._open_collections()

    def _bump(self) -> None:
        revision = uuid.uuid4().hex
        self.chunks.modify(metadata={**self._identity, "revision": revision})
        self._seen = revision

    # -- writes

    def known_hashes(self, ids: Sequence[str]) -> dict[str, str]:
        """Content hash of each given article id that has a committed record."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), self._batch):
            got = self.records.get(ids=list(ids[i:i + self._batch]), include=["metadatas"])
            out.update({rid: m.get("content_hash", "") for rid, m in zip(got["ids"], got["metadatas"])})
        return out

    def ids_by_hash(self, hashes: Sequence[str]) -> dict[str, str]:
        """An indexed article id for each content hash that is already in the store."""
        out: dict[str, str] = {}
        hashes = sorted(set(hashes))
        for i in range(0, len(hashes), self._batch):
            got = self.records.get(where={"content_hash": {"$in": hashes[i:i + self._batch]}}, include=["metadatas"])
            for rid, m in zip(got["ids"], got["metadatas"]):
                out.setdefault(m.get("content_hash", ""), rid)
        return out

    def write(self, items: Iterable[WriteItem]) -> None:
        """Store articles with their chunks; each article's record is written last (its commit point)."""
        items = list(items)
        if not items:
            return
        ids: list[str] = []
        vecs: list[np.ndarray] = []
        metas: list[dict] = []
        for article, chunks, emb, sentences, *_ in items:
            # Only what filters need, beside the chunk's offsets: title and date come from the
            # article's record (one per article), the version and index from the chunk id. Each
            # metadata key is a row and index entries in Chroma's SQLite.
            # published_day 0: undated, so an "as of" filter (published_day <= day) keeps it
            base = _clean({"article_id": article.id, "source": article.source,
                           "published_day": day_number(article.published) or 0})
            blobs = list(sentences) or [None] * len(chunks)
            for c, v, blob in zip(chunks, emb, blobs):
                ids.append(c.id)
                vecs.append(v)
                metas.append(_clean({**base, "start": c.start, "end": c.end, META_KEY: blob}))
        for i in range(0, len(ids), self._batch):
            self.chunks.upsert(ids=ids[i:i + self._batch], embeddings=np.asarray(vecs[i:i + self._batch]),
                               metadatas=metas[i:i + self._batch])
        # Only an article with a record can have chunks of another version still in place; a new
        # article's leftovers from an interrupted ingest are orphans, which delete_orphans reclaims.
        known = self.known_hashes([item.article.id for item in items])
        self._delete_stale_versions({a.id: version_of(a.content_hash) for a, *_ in items if a.id in known})
        # The text as metadata, not a document: Chroma's full-text index of documents cost 1.6 ms an
        # article here, for a search we never run (12.1 s against 5.2 s for 6,000 BBC articles).
        # Keyed by version, so a reader of the old record never gets the new text.
        self.texts.upsert(ids=[_text_id(a.id, version_of(a.content_hash)) for a, *_ in items], embeddings=[[1.0]] * len(items),
                          metadatas=[{"article_id": a.id, TEXT_KEY: a.text} for a, *_ in items])
        self.records.upsert(
            ids=[item.article.id for item in items],
            embeddings=[[1.0]] * len(items),
            metadatas=[_clean({
                "title": a.title, "source": a.source, "published": a.published,
                "published_day": day_number(a.published), "author": a.author,
                "content_hash": a.content_hash, "chunks": len(c), "origin": a.origin, "group": group, "minhash": minhash,
            }) for a, c, _, _, group, minhash in items],
        )
        self._delete_stale_texts({a.id: _text_id(a.id, version_of(a.content_hash)) for a, *_ in items})
        self._bump()

    def _delete_stale_versions(self, keep: dict[str, str]) -> None:
        """Delete chunks of these articles whose version is not the one to keep: one id read, one delete per page."""
        ids = list(keep)
        for i in range(0, len(ids), 500):
            got = self.chunks.get(where={"article_id": {"$in": ids[i:i + 500]}}, include=[])
            self._delete_ids([cid for cid in got["ids"] if keep.get(chunk_owner(cid)[0]) != chunk_owner(cid)[1]])

    def _delete_stale_texts(self, keep: dict[str, str]) -> None:
        """Delete the other versions' texts of these articles (article id -> the text id to keep)."""
        ids, wanted = list(keep), set(keep.values())
        for i in range(0, len(ids), 500):
            got = self.texts.get(where={"article_id": {"$in": ids[i:i + 500]}}, include=[])
            stale = [tid for tid in got["ids"] if tid not in wanted]
            if stale:
                self.texts.delete(ids=stale)

    def _delete_ids(self, ids: list[str]) -> None:
        for i in range(0, len(ids), self._batch):
            self.chunks.delete(ids=ids[i:i + self._batch])

    def remove(self, article_ids: Sequence[str]) -> list[str]:
        """Remove articles: records first (hides the chunks at once), then the chunks, a page at a time."""
        present = list(self.known_hashes(article_ids))
        missing = sorted(set(article_ids) - set(present))
        if missing:
            raise NotFoundError(f"No article with id {', '.join(missing)}. 'python -m rag articles' lists the ids.")
        for i in range(0, len(present), self._batch):
            self.records.delete(ids=present[i:i + self._batch])
        for i in range(0, len(present), 500):
            self.chunks.delete(where={"article_id": {"$in": present[i:i + 500]}})
            self.texts.delete(where={"article_id": {"$in": present[i:i + 500]}})
        self._bump()
        return present

    def delete_orphans(self) -> int:
        """Delete chunks no committed record accounts for (left by an interrupted ingest); returns how many.

        Such chunks are already hidden from queries; this reclaims them. It reads ids only (they name
        their article and version), so it stays cheap on a large store. Only safe while no other
        writer is between its chunk upsert and its record write (the writer lock guarantees that locally).
        """
        committed = self.all_committed_versions()
        orphans: list[str] = []
        for got in pages(self.chunks, []):
            orphans.extend(cid for cid in got["ids"] if committed.get(chunk_owner(cid)[0]) != chunk_owner(cid)[1])
        self._delete_ids(orphans)
        valid = {_text_id(rid, version) for rid, version in committed.items()}
        loose = [tid for got in pages(self.texts, []) for tid in got["ids"] if tid not in valid]
        for i in range(0, len(loose), self._batch):
            self.texts.delete(ids=loose[i:i + self._batch])
        if orphans:
            log.info("deleted %d chunks left by an interrupted ingest", len(orphans))
            self._bump()
        return len(orphans)

    def drop(self) -> None:
        """Delete the three collections (for a rebuild with new settings)."""
        from chromadb.errors import NotFoundError as ChromaNotFound

        for name in (self.settings.collection, f"{self.settings.collection}-articles", f"{self.settings.collection}-texts"):
            try:
                self.chroma.delete_collection(name)
            except ChromaNotFound:  # absent already
                pass

    # -- reads

    def count_chunks(self) -> int:
        return self.chunks.count()

    def count_articles(self) -> int:
        return self.records.count()

    def articles(self) -> list[ArticleInfo]:
        out = []
        for got in pages(self.records, ["metadatas"]):
            out.extend(
                ArticleInfo(id=i, title=m.get("title", ""), source=m.get("source", ""), published=m.get("published"),
                            chunks=int(m.get("chunks", 0)), content_hash=m.get("content_hash", ""),
                            origin=m.get("origin"))
                for i, m in zip(got["ids"], got["metadatas"])
            )
        return sorted(out, key=lambda a: (a.published or "", a.title), reverse=True)

    def article(self, article_id: str) -> Article:
        got = self.records.get(ids=[article_id], include=["metadatas", "documents"])
        if not got["ids"]:
            raise NotFoundError(f"No article with id {article_id}.")
        m = got["metadatas"][0]
        kept = self.texts.get(ids=[_text_id(article_id, version_of(m.get("content_hash", "")))], include=["metadatas"])["metadatas"]
        # stores written before the texts collection keep the text as the record's document
        text = ((kept[0] or {}).get(TEXT_KEY) if kept else None) or got["documents"][0] or ""
        return Article(id=article_id, title=m.get("title", ""), text=text, source=m.get("source", ""),
                       published=m.get("published"), author=m.get("author"), content_hash=m.get("content_hash", ""))

    def iter_chunks(self) -> Iterable[ChunkRows]:
        """All chunks with their texts, a page at a time (for rebuilding the lexical index from Chroma alone).

        A chunk's text is None when its version's article text is not stored: a version not (or
        no longer) committed, whose chunks an interrupted ingest left or a writer is replacing.
        """
        articles = self._all_texts()
        for got in pages(self.chunks, ["documents", "metadatas"]):
            metas = [dict(m or {}) for m in got["metadatas"]]
            texts = [m.pop(TEXT_KEY, None) or doc for m, doc in zip(metas, got["documents"])]  # older stores kept them
            for n, (cid, m) in enumerate(zip(got["ids"], metas)):
                full = articles.get(_text_id(*chunk_owner(cid))) if texts[n] is None else None
                if full is not None:
                    texts[n] = full[int(m.get("start", 0)):int(m.get("end", 0))]
            yield ChunkRows(list(got["ids"]), texts, metas)

    def _all_texts(self) -> dict[str, str]:
        """Every stored article text, by text id (``{article_id}:{version}``)."""
        out: dict[str, str] = {}
        for got in pages(self.texts, ["metadatas"]):
            out.update((tid, m[TEXT_KEY]) for tid, m in zip(got["ids"], got["metadatas"]) if m and TEXT_KEY in m)
        return out

    def sentence_blobs(self, ids: Sequence[str]) -> dict[str, str]:
        """The packed sentence vectors of these chunks (chunks stored before they existed have none)."""
        got = self.chunks.get(ids=list(ids), include=["metadatas"])
        return {i: m[META_KEY] for i, m in zip(got["ids"], got["metadatas"]) if m and m.get(META_KEY)}

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        got = self.chunks.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}

    def dense(self, embedding: np.ndarray, k: int, where: dict | None) -> tuple[list[str], list[float]]:
        """Nearest chunk ids and cosine similarities."""
        if k < 1:
            return [], []
        # no count() first: Chroma returns fewer than k when it holds fewer, and count() scans
        res = self.chunks.query(query_embeddings=[embedding], n_results=k, where=where or None,
                                include=["distances"])
        return list(res["ids"][0]), [1.0 - d for d in res["distances"][0]]

    def all_committed_versions(self) -> dict[str, str]:
        """The visible version of every article."""
        return committed_versions(self.all_records())

    def all_records(self) -> dict[str, dict]:
        """Every article's record metadata (title, date, content hash...), a page at a time."""
        out: dict[str, dict] = {}
        for got in pages(self.records, ["metadatas"]):
            out.update(zip(got["ids"], (m or {} for m in got["metadatas"])))
        return out
