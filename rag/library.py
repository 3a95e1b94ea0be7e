"""The Library: one store, one model, one lexical index; ingest, search and list what is indexed."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .chunking import WordPieces, chunk_article
from .config import Settings
from .embeddings import Embedder, get_embedder
from .errors import EmptyStoreError, InputError
from .groups import GroupCache, Grouper, diversify, pack_signature, signature
from .loaders import clean_text, load_paths
from .locking import writer
from .retrieval import Filters, LexicalCache, LexicalIndex, rrf
from .schema import Article, ArticleInfo, Chunk, FileProblem, IngestReport, Passage
from .sentences import embed_text, model_input, pack
from .store import Store, WriteItem, version_of

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
        self.embedder = embedder or get_embedder(s.embedding_model, s.embedding_backend, s.embedding_batch_size,
                                                  s.embedding_precision)
        self.store = Store(s, self.embedder.label, check=check)
        self.lexical = LexicalCache(self.store)
        self.groups = GroupCache(self.store)

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
        for item in load_paths(paths, max_bytes):
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
        roots = [str(p.resolve()) for p in paths]
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

    def articles(self) -> list[ArticleInfo]:
        return self.store.articles()

    def article(self, article_id: str) -> Article:
        return self.store.article(article_id)

    def is_empty(self) -> bool:
        return self.store.count_articles() == 0

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query``: dense and BM25 candidates fused by reciprocal rank."""
        return self.search_with_vector(query, k, filters)[0]

    def search_with_vector(self, query: str, k: int | None = None,
                           filters: Filters | None = None) -> tuple[list[Passage], np.ndarray]:
        query = self.check_question(query)
        lex = self.lexical.get()  # one revision read; rebuilt only when the store changed
        if not lex.ids:
            raise EmptyStoreError(f"No articles are indexed in {self.store.where} yet. Add some with 'python -m rag ingest PATH'.")
        s = self.settings
        k = s.top_k if k is None else k
        if not 1 <= k <= 50:
            raise InputError(f"k={k}: ask for between 1 and 50 passages.")
        filters = filters or Filters()
        qvec = self.embedder.query_vector(query)
        fetch = min(max(s.fetch_k, k), len(lex.ids))
        dense_ids, dense_sims = self.store.dense(qvec, fetch, filters.chroma_where())
        lex_ids, _ = lex.search(query, fetch, filters)
        fused = rrf([(dense_ids, s.dense_weight), (lex_ids, s.lexical_weight)])
        # one article per group of copies (rag.groups): the retriever of rag.retrieval takes this seam over
        passages = diversify(self._visible(fused, len(fused), lex), self.groups.get(lex.revision).group_of, k)
        sims = dict(zip(dense_ids, dense_sims))
        lexical_only = [p.chunk_id for p in passages if p.chunk_id not in sims]
        if lexical_only:  # found by words alone: their similarity still tells the answerer how close they are
            sims.update({cid: float(v @ qvec) for cid, v in self.store.embeddings(lexical_only).items()})
        return [replace(p, similarity=round(sims.get(p.chunk_id, 0.0), 6)) for p in passages], qvec

    def term_weights(self) -> dict[str, float]:
        """IDF of every term in the collection, for weighing question words by rarity."""
        return self.lexical.get().idf

    def _visible(self, fused: list[tuple[str, float]], k: int, lex: LexicalIndex) -> list[Passage]:
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

    def check_question(self, question: str) -> str:
        q = " ".join(clean_text(question or "").split())  # lone surrogates (non-UTF-8 argv) break the tokenizer
        if not q:
            raise InputError("The question is empty: type a question about the articles.")
        if len(q) > self.settings.max_question_chars:
            raise InputError(f"The question is {len(q)} characters long; the limit is {self.settings.max_question_chars} "
                             "(RAG_MAX_QUESTION_CHARS).")
        return q


def _batches(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _is_under(source: str, root: str) -> bool:
    try:
        return str(Path(source).resolve()).startswith(root)
    except (OSError, ValueError):
        return False


def _progress_bar(total: int, show: bool):
    if not show or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="article", desc="Embedding", leave=False)
