"""The extractive answerer: the sentences of the retrieved passages that answer the question, cited."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from . import answerability
from .embeddings import Embedder
from .schema import Answer, Citation, Passage
from .scoring import ScoredSentence, SentenceScorer, asks, closing

NOT_IN_ARTICLES = "The articles do not answer this question."
# a question of stop words and marks alone ("what is the", "Why?") asks nothing a passage could answer: quoting the
# closest sentences anyway read as an answer to a question nobody asked
NOTHING_ASKED = ("The question names nothing to look for: ask about a person, place, event or figure in the "
                 "articles.")
MIN_FURTHER_WORDS = 5  # a sentence after the first must be at least this long
NEW_WORDS = 0.2  # and more than this share of its words new to each sentence already quoted (not a rewording)
_QUOTE = re.compile(r"\s*(.+?)\s*\[(\d+)\](?=\s|$)", re.S)  # a sentence and its marker, as compose() writes them


class ExtractiveAnswerer:
    """Quotes the best sentences (:mod:`rag.scoring`) of the passages, within a word budget, cited.

    Abstains when the answerability model (:mod:`rag.answerability`) judges that the passages do not
    answer: returning unrelated text with a citation would look like an answer and mislead.
    """

    def __init__(self, embedder: Embedder, max_words: int = 60, answerable_threshold: float | None = None,
                 library_size: Callable[[], int] | None = None, max_sentences: int = 3, keep_ratio: float = 0.5,
                 term_weights: Callable[[], dict[str, float]] | None = None,
                 stored: Callable[[list[str]], dict[str, str]] | None = None, scorer: SentenceScorer | None = None) -> None:
        """``scorer`` is shared with the retriever's re-ranking (one sentence cache); else one is made here."""
        self.max_words = max_words
        self.answerable_threshold = answerable_threshold  # None: the threshold trained with the model
        self.library_size = library_size  # chunks in the library (a feature of the decision)
        self.max_sentences = max_sentences
        self.keep_ratio = keep_ratio
        self.term_weights = term_weights  # the collection's IDF table, looked up per answer (it changes on ingest)
        self.scorer = scorer or SentenceScorer(embedder, stored)

    def score_sentences(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
                        idf: dict[str, float] | None = None) -> list[ScoredSentence]:
        return self.scorer.score(question, passages, qvec, idf)

    def answer(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
               idf: dict[str, float] | None = None, chunks: int | None = None) -> Answer:
        """``idf`` weighs question words by rarity in the collection (default: from ``term_weights``); ``chunks``
        is the library's size (default: from ``library_size``). A caller holding one snapshot of the library passes both."""
        if idf is None and self.term_weights is not None:
            idf = self.term_weights()
        ranked = self.score_sentences(question, passages, qvec, idf)
        if not self._answerable(question, passages, ranked, idf, chunks):
            return Answer(question=question, text=NOT_IN_ARTICLES, abstained=True, passages=tuple(passages))
        chosen = self._pick(ranked)
        # read as the article reads: the best sentence's passage first, each passage's sentences in their own order
        first = {}
        for c in chosen:
            first.setdefault(c.passage, len(first))
        chosen.sort(key=lambda c: (first[c.passage], c.start))
        return compose(question, passages, [(c.passage, c.start, c.end, c.text) for c in chosen])

    def _pick(self, ranked: list[ScoredSentence]) -> list[ScoredSentence]:
        """The best sentence, then the next best that add something, within the sentence and word budgets."""
        best = ranked[0]
        # the budget counts words as the set's scoring does (white-space split), "[n]" markers included
        chosen = [_trim(best, self.max_words)]
        words = len(chosen[0].text.split()) + 1
        for s in ranked[1:]:
            if len(chosen) >= self.max_sentences or s.score < best.score * self.keep_ratio:
                break
            n = len(s.text.split()) + 1
            if (words + n > self.max_words or not _adds_to(s, chosen)
                    or any(c.passage == s.passage and c.start < s.end and s.start < c.end for c in chosen)):
                continue
            chosen.append(s)
            words += n
        return chosen

    def answerable(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
                   idf: dict[str, float] | None = None, chunks: int | None = None) -> bool:
        """Whether the passages answer the question (the check LLM mode makes before calling its model)."""
        if idf is None and self.term_weights is not None:
            idf = self.term_weights()
        return self._answerable(question, passages, self.score_sentences(question, passages, qvec, idf), idf, chunks)

    def _answerable(self, question: str, passages: list[Passage], ranked: list[ScoredSentence],
                    idf: dict[str, float] | None, chunks: int | None = None) -> bool:
        if not ranked:
            return False
        if chunks is None:
            chunks = self.library_size() if self.library_size is not None else len(passages)
        x = answerability.features(question, passages, ranked, idf, chunks)
        return answerability.load().answerable(x, self.answerable_threshold)


def _adds_to(s: ScoredSentence, chosen: list[ScoredSentence]) -> bool:
    """Whether a further sentence is worth its words: not a copy of one already quoted (syndicated copies
    repeat whole sentences, or trim them: "… in a 2018 vote", "… in 2018"), not a question (a reader's question
    is not answered by another), not a fragment such as a photo credit, a byline or a cut-off teaser for another
    story ("We are approaching nine months …")."""
    words = set(_plain(s.text).split())
    return (len(s.text.split()) >= MIN_FURTHER_WORDS and not asks(s.text) and not _cut_off(s.text)
            and all(len(words - set(_plain(c.text).split())) > NEW_WORDS * len(words) for c in chosen))


def _cut_off(text: str) -> bool:
    return closing(text).endswith(("…", "..."))


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _trim(s: ScoredSentence, max_words: int) -> ScoredSentence:
    """A sentence over the word budget keeps its first ``max_words - 2`` words (the marker and ellipsis fit)."""
    words = s.text.split()
    budget = max_words - 2  # room for the ellipsis and the marker
    if len(words) <= max_words - 1:
        return s
    keep = " ".join(words[:budget])
    end = s.start + _prefix_end(s.text, budget)
    return ScoredSentence(s.passage, s.start, end, keep + " …", s.score, s.similarity)


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


def balance_quotes(text: str) -> str:
    """A sentence cut from a longer quotation gets back the mark the cut left out: its opening mark (“Our presence
    … conditions-based,” Stoltenberg told reporters.), or its closing one (“First of all, we want to assess the
    agreement itself.”), so the answer (and a quote of it) reads right. A straight mark may pair with a curly one, as
    pages mix them ('"Look, I voted …,” Schumer said.' is whole)."""
    opening, closing, straight = text.count("“"), text.count("”"), text.count('"')
    if straight % 2 and abs(opening - closing) == 1:
        first, last = text.find('"'), text.rfind('"')
        if (first < text.rfind("”")) if closing > opening else (last > text.find("“")):
            return text  # the odd straight mark pairs with the odd curly one
    if closing > opening:
        return "“" + text
    if opening > closing:
        return text + "”"
    if straight % 2:
        return text + '"' if text.startswith('"') else '"' + text
    return text


def quotes_of(text: str) -> list[tuple[str, int]]:
    """An extractive answer's text, ``"sentence [1] sentence [2]"`` as :func:`compose` writes it, as (sentence,
    citation number) pairs; empty when the text is not made so (a generated answer, an abstention)."""
    out, pos = [], 0
    for m in _QUOTE.finditer(text):
        if m.start() != pos:
            return []
        out.append((m.group(1), int(m.group(2))))
        pos = m.end()
    return out if text[pos:].strip() == "" else []


def compose(question: str, passages: list[Passage], picks: list[tuple[int, int, int, str]]) -> Answer:
    """Join picked sentences ``(passage index, start, end, text)`` with ``[n]`` markers numbered by first use."""
    numbers: dict[int, int] = {}
    quotes: dict[int, list[tuple[int, int]]] = {}
    parts = []
    for pi, s, e, text in picks:
        n = numbers.setdefault(pi, len(numbers) + 1)
        quotes.setdefault(pi, []).append((s, e))
        parts.append(f"{balance_quotes(text.strip())} [{n}]")
    citations = tuple(
        Citation(number=n, article_id=passages[pi].article_id, title=passages[pi].title, source=passages[pi].source,
                 published=passages[pi].published, chunk_id=passages[pi].chunk_id, start=passages[pi].start,
                 end=passages[pi].end, passage=passages[pi].text, quotes=tuple(sorted(quotes[pi])))
        for pi, n in sorted(numbers.items(), key=lambda kv: kv[1])
    )
    return Answer(question=question, text=" ".join(parts), citations=citations, passages=tuple(passages))
