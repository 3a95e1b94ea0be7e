"""The extractive answerer: the sentences of the retrieved passages that answer the question, cited."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import answerability
from .embeddings import Embedder
from .schema import Answer, Citation, Passage
from .sentences import model_input, unpack
from .terms import content_terms

NOT_IN_ARTICLES = "The articles do not answer this question."

@dataclass(frozen=True)
class _Sentence:
    passage: int
    start: int
    end: int
    text: str
    score: float
    similarity: float


class ExtractiveAnswerer:
    """Scores each sentence by embedding similarity and word overlap with the question, then cites the best.

    Abstains when the answerability model (:mod:`rag.answerability`) judges that the passages do not
    answer: returning unrelated text with a citation would look like an answer and mislead.
    """

    def __init__(self, embedder: Embedder, max_words: int = 60, answerable_threshold: float | None = None,
                 library_size: Callable[[], int] | None = None, overlap_weight: float = 0.8,
                 rank_weight: float = 0.02, max_sentences: int = 3,
                 keep_ratio: float = 0.75, idf_power: float = 1.0,
                 term_weights: Callable[[], dict[str, float]] | None = None,
                 stored: Callable[[list[str]], dict[str, str]] | None = None) -> None:
        self.embedder = embedder
        self.max_words = max_words
        self.answerable_threshold = answerable_threshold  # None: the threshold trained with the model
        self.library_size = library_size  # chunks in the library (a feature of the decision)
        self.overlap_weight = overlap_weight
        self.rank_weight = rank_weight
        self.max_sentences = max_sentences
        self.keep_ratio = keep_ratio
        self.idf_power = idf_power
        self.term_weights = term_weights  # the collection's IDF table, looked up per answer (it changes on ingest)
        self.stored = stored  # chunk ids -> sentence vectors packed at ingest (rag.sentences)
        # chunk id -> (sentence spans, their vectors, their terms): popular passages recur across questions
        self._cache: OrderedDict[str, tuple[list[tuple[int, int]], np.ndarray, list[set[str]]]] = OrderedDict()
        self._cache_size = 4096
        self._lock = threading.Lock()

    def _sentences(self, passages: list[Passage]) -> list[tuple[list[tuple[int, int]], np.ndarray, list[set[str]]]]:
        """Each passage's sentence spans, vectors and terms: cached, else stored at ingest, else pooled now."""
        with self._lock:
            found = {p.chunk_id: self._cache[p.chunk_id] for p in passages if p.chunk_id in self._cache}
            for cid in found:
                self._cache.move_to_end(cid)
        missing = list({p.chunk_id: p for p in passages if p.chunk_id not in found}.values())
        if not missing:
            return [found[p.chunk_id] for p in passages]
        vectors: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}
        if self.stored is not None:
            dim = self.embedder.dimension
            for cid, blob in self.stored([p.chunk_id for p in missing]).items():
                got = unpack(blob, dim)
                if got is not None:
                    vectors[cid] = got
        unstored = [p for p in missing if p.chunk_id not in vectors]
        if unstored:  # a store written before sentence vectors were kept, or a passage from elsewhere
            inputs = [model_input(p.title, p.text) for p in unstored]
            _, pooled = self.embedder.encode_with_spans([t for t, _, _ in inputs], [sp for _, sp, _ in inputs])
            vectors.update((p.chunk_id, (spans, v)) for p, (_, _, spans), v in zip(unstored, inputs, pooled))
        for p in missing:
            spans, v = vectors[p.chunk_id]
            found[p.chunk_id] = (spans, v, [content_terms(p.text[s:e]) for s, e in spans])
        with self._lock:  # other threads may evict meanwhile: the result comes from ``found``, not the cache
            self._cache.update((p.chunk_id, found[p.chunk_id]) for p in missing)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return [found[p.chunk_id] for p in passages]

    def score_sentences(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
                        idf: dict[str, float] | None = None) -> list[_Sentence]:
        if qvec is None:
            qvec = self.embedder.encode([question])[0]
        q_terms = content_terms(question)
        idf = idf or {}
        unknown = max(idf.values(), default=1.0)
        weight = {t: idf.get(t, unknown) ** self.idf_power for t in q_terms}
        q_total = sum(weight.values())
        out = []
        for pi, (p, (spans, vecs, terms)) in enumerate(zip(passages, self._sentences(passages))):
            if not spans:
                continue
            sims = vecs @ qvec
            for (s, e), sim, t in zip(spans, sims, terms):
                overlap = sum(weight[x] for x in q_terms & t) / q_total if q_total else 0.0
                score = float(sim) + self.overlap_weight * overlap - self.rank_weight * pi
                out.append(_Sentence(pi, s, e, p.text[s:e], score, float(sim)))
        return sorted(out, key=lambda x: -x.score)

    def answer(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
               idf: dict[str, float] | None = None) -> Answer:
        """``idf`` weighs question words by rarity in the collection (default: from ``term_weights``)."""
        if idf is None and self.term_weights is not None:
            idf = self.term_weights()
        ranked = self.score_sentences(question, passages, qvec, idf)
        if not self._answerable(question, passages, ranked, idf):
            return Answer(question=question, text=NOT_IN_ARTICLES, abstained=True, passages=tuple(passages))
        best = ranked[0]
        # the budget counts words as the set's scoring does (white-space split), "[n]" markers included
        chosen = [_trim(best, self.max_words)]
        words = len(chosen[0].text.split()) + 1
        for s in ranked[1:]:
            if len(chosen) >= self.max_sentences or s.score < best.score * self.keep_ratio:
                break
            n = len(s.text.split()) + 1
            if words + n > self.max_words or any(c.passage == s.passage and c.start < s.end and s.start < c.end for c in chosen):
                continue
            chosen.append(s)
            words += n
        return compose(question, passages, [(c.passage, c.start, c.end, c.text) for c in chosen])


    def answerable(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
                   idf: dict[str, float] | None = None) -> bool:
        """Whether the passages answer the question (the check LLM mode makes before calling its model)."""
        if idf is None and self.term_weights is not None:
            idf = self.term_weights()
        return self._answerable(question, passages, self.score_sentences(question, passages, qvec, idf), idf)

    def _answerable(self, question: str, passages: list[Passage], ranked: list[_Sentence],
                    idf: dict[str, float] | None) -> bool:
        if not ranked:
            return False
        chunks = self.library_size() if self.library_size is not None else len(passages)
        x = answerability.features(question, passages, ranked, idf, chunks)
        return answerability.load().answerable(x, self.answerable_threshold)


def _trim(s: _Sentence, max_words: int) -> _Sentence:
    """A sentence over the word budget keeps its first ``max_words - 2`` words (the marker and ellipsis fit)."""
    words = s.text.split()
    budget = max_words - 2  # room for the ellipsis and the marker
    if len(words) <= max_words - 1:
        return s
    keep = " ".join(words[:budget])
    end = s.start + _prefix_end(s.text, budget)
    return _Sentence(s.passage, s.start, end, keep + " …", s.score, s.similarity)


def _prefix_end(text: str, n_words: int) -> int:
    """Character offset just after the ``n_words``-th word of ``text``."""
    count, i, in_word = 0, 0, False
    for i, ch in enumerate(text):
        if ch.isspace():
            if in_word:
                count += 1
                if count == n_words:
                    return i
            in_word = False
        else:
            in_word = True
    return len(text)


def _balance_quotes(text: str) -> str:
    """A sentence cut from inside a quotation gets its opening mark back, so the answer reads right."""
    if text.count("”") > text.count("“"):
        return "“" + text
    if text.count('"') % 2 and not text.startswith('"'):
        return '"' + text
    return text


def compose(question: str, passages: list[Passage], picks: list[tuple[int, int, int, str]]) -> Answer:
    """Join picked sentences ``(passage index, start, end, text)`` with ``[n]`` markers numbered by first use."""
    numbers: dict[int, int] = {}
    quotes: dict[int, list[tuple[int, int]]] = {}
    parts = []
    for pi, s, e, text in picks:
        n = numbers.setdefault(pi, len(numbers) + 1)
        quotes.setdefault(pi, []).append((s, e))
        parts.append(f"{_balance_quotes(text.strip())} [{n}]")
    citations = tuple(
        Citation(number=n, article_id=passages[pi].article_id, title=passages[pi].title, source=passages[pi].source,
                 published=passages[pi].published, chunk_id=passages[pi].chunk_id, start=passages[pi].start,
                 end=passages[pi].end, passage=passages[pi].text, quotes=tuple(sorted(quotes[pi])))
        for pi, n in sorted(numbers.items(), key=lambda kv: kv[1])
    )
    return Answer(question=question, text=" ".join(parts), citations=citations, passages=tuple(passages))
