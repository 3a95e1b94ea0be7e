"""The Library: one store, one model, one lexical index; ingest, search and list what is indexed."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .chunking import WordPieces, chunk_article
from .config import Settings
from .dates import as_date
from .embeddings import Embedder, get_embedder, model_label
from .errors import EmptyStoreError
from .groups import GroupCache, Grouper, pack_signature, signature
from .lexical import LexicalCache, LexicalIndex
from .loaders import load_paths
from .locking import writer
from .memory import limit_malloc_arenas
from .retrieval import Filters, Retriever, check_question
from .schema import Article, ArticleInfo, Chunk, FileProblem, IngestReport, Passage
from .scoring import SentenceScorer
from .sentences import embed_text, model_input, pack
from .store import Store, WriteItem, version_of
from .timeexpr import TimeScope, resolve

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]
_AHEAD = 8  # batches chunked ahead of the model: more than a group, so the model never waits; bounded memory
# Chunks per model call and Chroma write. Chroma's per-call cost is high (2,000 chunks written 200 at a
# time took 30% longer), and the model pads less when it sorts more texts by length.
_WRITE_CHUNKS = 1000


class _Chunked(NamedTuple):
    """An article's chunks and what the model reads of each (:func:`rag.sentences.model_input`), with its word pieces."""

    article: Article
    chunks: list[Chunk]
    inputs: list[tuple[str, list[tuple[int, int]], list[tuple[int, int]]]]
    pieces: list[WordPieces]
    signature: np.ndarray  # MinHash of its word shingles (rag.groups)


class Library:
    """Articles indexed in Chroma, searchable by meaning and by words.

    >>> lib = Library()                 # settings from RAG_* environment variables
    >>> lib.ingest(["seeds/"])
    >>> lib.search("Who leads NATO?")
    """

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None, check: bool = True) -> None:
        self.settings = settings or Settings()
        s = self.settings
        self._embedder = embedder
        limit_malloc_arenas()  # before Chroma starts its threads, as when the model was loaded first
        self.store = Store(s, embedder.label if embedder else model_label(s.embedding_model), check=check)
        # the model loads on first use (a question, an ingest): listing or removing articles never needs it
        self.retriever = Retriever(self.store, lambda: self.embedder, s)
        self._listed: tuple[str, tuple[ArticleInfo, ...]] | None = None  # (store revision, its articles)

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use: listing or removing articles never needs it (seconds saved)."""
        if self._embedder is None:
            s = self.settings
            self._embedder = get_embedder(s.embedding_model, s.embedding_backend, s.embedding_batch_size, s.embedding_precision)
        return self._embedder

    def warm(self) -> None:
        """Load the model and the BM25 index side by side: a process's first question waits on both."""

        def index() -> None:
            try:
                if not self.is_empty():
                    self.lexical.get()
            except Exception:  # the question itself asks again and reports what is wrong
                log.debug("the lexical index was not loaded ahead of the question", exc_info=True)

        loading = threading.Thread(target=index, name="lexical-warm")
        loading.start()
        self.embedder.encode(["warm up"])
        loading.join()

    # -- ingestion

    def chunk(self, article: Article) -> list[Chunk]:
        return self._chunk(article, self.embedder.word_pieces(article.text))

    def _chunk(self, article: Article, pieces: WordPieces) -> list[Chunk]:
        return chunk_article(article, pieces, self.settings.chunk_tokens, self.settings.chunk_overlap_tokens)

    @writer
    def ingest(self, paths: Iterable[str | Path], prune: bool = False, show_progress: bool = False,
               on_progress: ProgressCallback | None = None, batch_articles: int = 64) -> IngestReport:
        """Sync the store with the files under ``paths``: add new, replace changed, skip unchanged.

        With ``prune``, articles previously ingested from files under ``paths`` that no longer
        exist are removed. Bad files are reported in ``report.skipped`` and never stop the run.
        """
        t0 = time.perf_counter()
        paths = [Path(p) for p in paths]
        report = IngestReport()
        max_bytes = int(self.settings.max_file_mb * 1_000_000)
        loaded: list[Article] = []
        for item in load_paths(paths, max_bytes, int(self.settings.max_archive_mb * 1_000_000)):
            if item.problem:
                report.skipped.append(item.problem)
            if item.warning:
                report.warnings.append(item.warning)
            if item.article:
                loaded.append(item.article)
        self._sync(loaded, report, show_progress, on_progress, batch_articles)
        if prune:
            report.removed = self._prune(paths, loaded)
        if (prune or not self.settings.chroma_url) and self.store.delete_orphans():  # interrupted runs' leftovers
            self.lexical.invalidate()
        report.seconds = round(time.perf_counter() - t0, 3)
        return report

    @writer
    def ingest_articles(self, articles: Iterable[Article], show_progress: bool = False,
                        on_progress: ProgressCallback | None = None) -> IngestReport:
        """Sync already-loaded articles (e.g. from your own loader)."""
        t0 = time.perf_counter()
        report = IngestReport()
        self._sync(list(articles), report, show_progress, on_progress, 64)
        report.seconds = round(time.perf_counter() - t0, 3)
        return report

    def _sync(self, articles: list[Article], report: IngestReport, show_progress: bool,
              on_progress: ProgressCallback | None, batch_articles: int) -> None:
        known = self.store.known_hashes([a.id for a in articles])
        todo: list[Article] = []
        seen: set[str] = set()
        for a in articles:
            if a.id in seen:
                report.skipped.append(FileProblem(a.source, f"duplicate article id {a.id!r}"))
                continue
            seen.add(a.id)
            if known.get(a.id) == a.content_hash:
                report.unchanged.append(a.id)
            else:
                todo.append(a)
        # the same text under another name (a re-upload, a copied file) is reported, not indexed twice
        twins = self.store.ids_by_hash([a.content_hash for a in todo]) if todo else {}
        report.skipped.extend(FileProblem(a.origin or a.source, f"duplicate of indexed article {twins[a.content_hash]}")
                              for a in todo if twins.get(a.content_hash, a.id) != a.id)
        todo = [a for a in todo if twins.get(a.content_hash, a.id) == a.id]
        bar = _progress_bar(len(todo), show_progress)
        done = 0
        try:
            for items in self._pipeline(todo, batch_articles):
                for a, *_ in items:
                    (report.updated if a.id in known else report.added).append(a.id)
                report.chunks_embedded += sum(len(item.chunks) for item in items)
                done += len(items)
                if bar is not None:
                    bar.update(len(items))
                if on_progress:
                    on_progress(done, len(todo), items[-1][0].title)
        finally:
            if bar is not None:
                bar.close()
            if todo:
                self.lexical.invalidate()

    def _pipeline(self, todo: list[Article], batch_articles: int) -> Iterator[list[WriteItem]]:
        """Chunk, embed and write in overlapping stages; yields each group of articles once it is committed.

        Chunking runs ahead in one thread (a bounded queue of ``_AHEAD`` batches). Chunks are embedded
        a group (``_WRITE_CHUNKS``) at a time, so the model's batches are sorted by length over many
        texts (little padding). Each group is packed and written to Chroma in another thread while
        the next one is embedded: the model thread does nothing else.
        """
        if not todo:
            return
        batches = list(_batches(todo, batch_articles))
        grouper = Grouper(self.store.all_records(), self.settings.group_threshold)
        with ThreadPoolExecutor(1, thread_name_prefix="rag-chunk") as chunker, \
                ThreadPoolExecutor(1, thread_name_prefix="rag-write") as writer:
            ahead = deque(chunker.submit(self._chunk_batch, b) for b in batches[:_AHEAD])
            queued = _AHEAD
            pending: Future[list[WriteItem]] | None = None
            group: list[_Chunked] = []
            try:
                while ahead:
                    group.extend(ahead.popleft().result())
                    if queued < len(batches):
                        ahead.append(chunker.submit(self._chunk_batch, batches[queued]))
                        queued += 1
                    if sum(len(g.chunks) for g in group) < _WRITE_CHUNKS and ahead:
                        continue
                    inputs = [i for g in group for i in g.inputs]
                    vectors, pooled = self.embedder.encode_with_spans(
                        [t for t, _, _ in inputs], [sp for _, sp, _ in inputs], [p for g in group for p in g.pieces])
                    if pending is not None:
                        yield pending.result()
                    pending, group = writer.submit(self._write, group, vectors, pooled, grouper), []
                if pending is not None:
                    yield pending.result()
            finally:
                for f in ahead:
                    f.cancel()

    def _chunk_batch(self, batch: list[Article]) -> list[_Chunked]:
        """Chunks and model inputs; the article is tokenized once, for both."""
        out = []
        for a in batch:
            pieces = self.embedder.word_pieces(a.text)
            chunks = self._chunk(a, pieces)
            head = embed_text(a.title, "")  # what the model reads before each chunk's text
            head_pieces = self.embedder.word_pieces(head)
            out.append(_Chunked(a, chunks, [model_input(a.title, c.text) for c in chunks],
                                [head_pieces.then(pieces.slice(c.start, c.end, shift=len(head))) for c in chunks],
                                signature(a.title, a.text)))
        return out

    def _write(self, group: list[_Chunked], vectors: np.ndarray, pooled: list[np.ndarray], grouper: Grouper) -> list[WriteItem]:
        """Pack the sentence vectors, group the articles with their copies, and store them; returns what was committed."""
        items, pos = [], 0
        for g in group:
            n = len(g.chunks)
            blobs = [pack(spans, v) for (_, _, spans), v in zip(g.inputs, pooled[pos:pos + n])]
            copies = grouper.assign(g.article.id, version_of(g.article.content_hash), g.signature)
            items.append(WriteItem(g.article, g.chunks, vectors[pos:pos + n], blobs, copies, pack_signature(g.signature)))
            pos += n
        self.store.write(items)
        return items

    def _prune(self, paths: list[Path], loaded: list[Article]) -> list[str]:
        """Articles from files under ``paths`` that are gone, or whose file no longer holds them.

        A file that exists but failed to load keeps its articles: bad input never drops what was indexed.
        """
        roots = [p.resolve() for p in paths]
        present = {a.id for a in loaded}
        read_ok = {a.origin for a in loaded}
        gone = [
            a.id for a in self.store.articles()
            if a.id not in present and a.origin and any(_is_under(a.origin, r) for r in roots)
            and (a.origin in read_ok or not Path(a.origin).exists())
        ]
        if gone:
            self.store.remove(gone)
            self.lexical.invalidate()
        return gone

    @writer
    def remove(self, article_ids: Iterable[str]) -> list[str]:
        removed = self.store.remove(list(article_ids))
        self.lexical.invalidate()
        return removed

    # -- reading

    def drop(self) -> None:
        """Delete the store's collections and its saved BM25 indexes (``ingest --rebuild``)."""
        self.store.drop()
        self.lexical.discard()

    def articles(self) -> list[ArticleInfo]:
        """Every indexed article, read once per store revision: the UI lists them on each rerun, 0.3 s at 5,280."""
        try:
            revision = self.store.revision()
        except EmptyStoreError:  # another process is rebuilding the store
            return []
        listed = self._listed
        if listed is None or listed[0] != revision:
            listed = self._listed = (revision, tuple(self.store.articles()))
        return list(listed[1])

    def article(self, article_id: str) -> Article:
        return self.store.article(article_id)

    def is_empty(self) -> bool:
        return self.store.count_articles() == 0

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               as_of: date | str | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query`` as of ``as_of`` (default today): see :class:`Retriever`."""
        return self.search_with_vector(query, k, filters, scope=resolve(query, as_date(as_of)))[0]

    def search_with_vector(self, query: str, k: int | None = None, filters: Filters | None = None,
                           scope: TimeScope | None = None, lex: LexicalIndex | None = None) -> tuple[list[Passage], np.ndarray]:
        return self.retriever.search(self.check_question(query), k, filters, scope, lex)

    def term_weights(self) -> dict[str, float]:
        """IDF of every term in the collection, for weighing question words by rarity."""
        return self.retriever.term_weights()

    @property
    def lexical(self) -> LexicalCache:
        return self.retriever.lexical

    @property
    def scorer(self) -> SentenceScorer:
        """Sentence scoring shared by re-ranking and the answerer (one cache of read passages)."""
        return self.retriever.scorer

    @property
    def groups(self) -> GroupCache:
        return self.retriever.groups

    def chunk_count(self) -> int:
        """Chunks searchable now: the library's size, as the answerability decision reads it."""
        return len(self.lexical.get().ids)

    def check_question(self, question: str) -> str:
        return check_question(question, self.settings.max_question_chars)


def _batches(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _is_under(source: str, root: Path) -> bool:
    """Whether ``source`` is ``root`` or inside it, by path components (``/data/news-archive`` is not under ``/data/news``)."""
    try:
        return Path(source).resolve().is_relative_to(root)
    except (OSError, ValueError):
        return False


def _progress_bar(total: int, show: bool):
    if not show or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="article", desc="Embedding", leave=False)
