"""The lexical (BM25) index of a store: built from Chroma when the store's revision changes, kept on disk by revision.

Building it reads and tokenizes every chunk: about 14 s for the 71,780 chunks of news-2025, paid by the first
question of each process (every ``rag ask``, every start of the UI). A local store keeps the index it built in
its folder (``lexical/``, one folder per revision, written whole and then renamed into place), so the next
process at the same revision loads it instead. Clients of a Chroma server build their own: keeping the
server's article texts on every client's disk is a decision for whoever runs the server.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .boilerplate import repeated_lines
from .dates import day_number
from .groups import GROUP_KEY
from .sentences import META_KEY
from .store import Store, chunk_owner, committed_versions
from .terms import idf_table, respellings, tokenize

if TYPE_CHECKING:
    from .retrieval import Filters

log = logging.getLogger(__name__)
FORMAT = 3  # of the saved index; bump when what is saved, the tokenizer or the repeated-lines rule changes
_STALE_TMP_SECONDS = 3600  # a half-written folder older than this was left by a process that died


@dataclass
class LexicalIndex:
    """BM25 over every committed chunk in Chroma at one revision: built from Chroma alone, or loaded as saved."""

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
    dated: bool = False  # some chunk's article has a publication date
    boilerplate: frozenset[str] = frozenset()  # lines repeated across stories (rag.boilerplate), skipped in answers

    def published_by(self, as_of: date) -> int:
        """How many indexed chunks were published on or before ``as_of`` (undated ones count)."""
        return int(np.count_nonzero(self.days <= day_number(as_of)))

    @classmethod
    def build(cls, store: Store) -> LexicalIndex:
        import bm25s

        revision = store.revision()
        idx = cls(revision=revision)
        records = store.all_records()
        committed = committed_versions(records)
        stories: list[str] = []  # each chunk's group of copies (else its article): repeated lines are counted by story
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
                    stories.append(str(record.get(GROUP_KEY) or article_id))
        idx._derive()
        idx.boilerplate = repeated_lines(idx.texts, stories)
        if idx.ids:
            tokens = [tokenize(f"{m.get('title', '')}\n{t}") for t, m in zip(idx.texts, idx.metadatas)]
            idx.idf = idf_table(tokens)
            idx.bm25 = bm25s.BM25()
            idx.bm25.index(tokens, show_progress=False)
        log.info("lexical index built: %d chunks (revision %s)", len(idx.ids), revision[:8])
        return idx

    def _derive(self) -> None:
        """The per-chunk arrays and lookups, from ids and metadatas."""
        self.article_ids = np.array([m.get("article_id", "") for m in self.metadatas], dtype=object)
        self.sources = np.array([m.get("source", "") for m in self.metadatas], dtype=object)
        self.days = np.array([m.get("published_day", 0) for m in self.metadatas], dtype=np.int64)
        self.position = {cid: i for i, cid in enumerate(self.ids)}
        self.dated = bool(len(self.days) and self.days.max() > 0)

    def save(self, folder: Path) -> Path | None:
        """Write the index to ``folder/v<FORMAT>-<revision>`` (whole, then renamed into place) and remove older ones.

        Returns the folder written, or None when another process wrote it first or the folder is not writable
        (the index then lives in memory only, as before).
        """
        final = folder / _name(self.revision)
        tmp = folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir(parents=True)
            data = {"format": FORMAT, "revision": self.revision, "ids": self.ids, "texts": self.texts,
                    "metadatas": self.metadatas, "idf": self.idf, "boilerplate": sorted(self.boilerplate)}
            (tmp / "index.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            if self.bm25 is not None:
                self.bm25.save(str(tmp / "bm25"), show_progress=False)
            os.rename(tmp, final)  # atomic; fails when the folder exists (another process got there first)
        except Exception as exc:  # a cache that cannot be written must not fail the question that built it
            if not final.exists():
                log.warning("could not keep the lexical index in %s (%s): it will be rebuilt by the next process", folder, exc)
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        _prune(folder, keep=final.name)
        return final

    @classmethod
    def load(cls, folder: Path, revision: str) -> LexicalIndex | None:
        """The index saved for ``revision``, or None when there is none (or it cannot be read: it is then rebuilt)."""
        import bm25s

        path = folder / _name(revision)
        if not (path / "index.json").exists():
            return None
        try:
            data = json.loads((path / "index.json").read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("revision") != revision:
                return None
            idx = cls(revision=revision, ids=data["ids"], texts=data["texts"], metadatas=data["metadatas"],
                      idf=data["idf"], boilerplate=frozenset(data["boilerplate"]))
            idx._derive()
            if idx.ids:
                idx.bm25 = bm25s.BM25.load(str(path / "bm25"), mmap=False, load_corpus=False, show_progress=False)
        except Exception as exc:  # pruned meanwhile by a newer revision, or damaged: build it instead
            log.warning("could not read the lexical index in %s (%s): rebuilding it from the store", path, exc)
            return None
        log.info("lexical index loaded: %d chunks (revision %s)", len(idx.ids), revision[:8])
        return idx

    def search(self, query: str, k: int, filters: Filters | None = None, mask: np.ndarray | None = None) -> tuple[list[str], list[float]]:
        if self.bm25 is None:
            return [], []
        if mask is None and filters:
            mask = filters.mask(self)
        fix = respellings(query, self.idf)  # "Maastrich Treaty" finds "Maastricht"
        res = self.bm25.retrieve([[fix.get(t, t) for t in tokenize(query)]], k=min(k, len(self.ids)), show_progress=False,
                                 weight_mask=mask, n_threads=1)
        docs, scores = res.documents[0], res.scores[0]
        return [self.ids[int(d)] for d, s in zip(docs, scores) if s > 0], [float(s) for s in scores if s > 0]


def _name(revision: str) -> str:
    return f"v{FORMAT}-{revision}"


def _prune(folder: Path, keep: str) -> None:
    """Remove the other revisions' indexes, and half-written folders a dead process left."""
    for entry in folder.iterdir():
        if entry.name == keep:
            continue
        if entry.name.startswith(".tmp-"):
            try:
                if time.time() - entry.stat().st_mtime < _STALE_TMP_SECONDS:
                    continue  # another process may be writing it now
            except OSError:
                continue
        shutil.rmtree(entry, ignore_errors=True)


class LexicalCache:
    """The current lexical index for one store; checks the revision stamp (cheap) before each use.

    ``folder`` keeps built indexes across processes (None: memory only). An index built here is saved in a
    background thread, so the question that built it does not wait for the write; the thread is not a daemon,
    so a one-shot ``rag ask`` finishes the write before it exits.
    """

    def __init__(self, store: Store, folder: Path | None = None) -> None:
        self.store = store
        self.folder = folder
        self._index: LexicalIndex | None = None
        self._lock = threading.Lock()
        self._saving: threading.Thread | None = None

    def get(self) -> LexicalIndex:
        revision = self.store.revision()
        idx = self._index
        if idx is not None and idx.revision == revision:
            return idx
        with self._lock:
            if self._index is None or self._index.revision != revision:
                loaded = LexicalIndex.load(self.folder, revision) if self.folder is not None else None
                self._index = loaded or LexicalIndex.build(self.store)
                if loaded is None and self.folder is not None:
                    self._saving = threading.Thread(target=self._index.save, args=(self.folder,), name="lexical-save")
                    self._saving.start()
            return self._index

    def wait_saved(self, timeout: float | None = None) -> None:
        """Until the index built last is on disk (for tests and benchmarks)."""
        if self._saving is not None:
            self._saving.join(timeout)

    def invalidate(self) -> None:
        self._index = None

    def discard(self) -> None:
        """Forget the index and delete the saved ones: the store was dropped, so they describe chunks that are gone."""
        self.wait_saved()
        with self._lock:
            self._index = None
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)

    def boilerplate(self) -> frozenset[str]:
        """The repeated lines of the index built last, without reading the store's revision (they change slowly)."""
        idx = self._index
        return idx.boilerplate if idx is not None else frozenset()
