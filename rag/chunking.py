"""Sentence splitting with character offsets, and packing sentences into chunks that fit the model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .schema import Article, Chunk

# Abbreviations after which a full stop does not end a sentence.
_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep",
    "rev", "hon", "inc", "ltd", "co", "corp", "vs", "etc", "no", "fig", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "e.g", "i.e", "a.m", "p.m", "approx", "est",
}
_END = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s+)|\n\s*\n|\n(?=\s*[-*•#])""")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` over ``text``, white space trimmed; paragraph breaks always split."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        end = m.end()
        token = text[max(0, m.start() - 12):m.start() + 1]
        if m.group(0).startswith(".") and "\n" not in m.group(0):
            w = _WORD_BEFORE.search(token)
            if w and (w.group(1).lower() in _ABBREV or len(w.group(1)) == 1):
                continue  # "Mr. Smith", "J. Smith", "U.S. troops"
            nxt = text[end:end + 3].lstrip()
            if nxt[:1].islower():
                continue  # "e.g. this" or a decimal-like break: not a sentence start
        _add_span(text, start, end, spans)
        start = end
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    seg = text[start:end]
    stripped = seg.strip()
    if stripped:
        s = start + (len(seg) - len(seg.lstrip()))
        spans.append((s, s + len(stripped)))


@dataclass(frozen=True)
class WordPieces:
    """A text's word pieces as the model's tokenizer cuts it: ids and character offsets, from one call.

    An article is tokenized once: the chunker counts its sentences from these, and the model reads
    each chunk's slice of them. Tokenizing each chunk again for the model took 2.1 s of CPU on BBC's
    7,096 chunks, and its thread pool competed with the model's: BBC ingests took 71.377 and 70.857 s
    with it, 61.696 and 60.745 s without (alternating runs).
    """

    ids: np.ndarray  # int64, (n,)
    offsets: np.ndarray  # int64, (n, 2): start and end of each piece in the text

    def __len__(self) -> int:
        return len(self.ids)

    def _bounds(self, spans: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Index ranges of the pieces that start inside each span."""
        spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        starts = self.offsets[:, 0]
        return np.searchsorted(starts, spans[:, 0]), np.searchsorted(starts, spans[:, 1])

    def count(self, spans: Sequence[tuple[int, int]]) -> list[int]:
        """Word pieces in each character span (spans cut between words, as sentences are)."""
        lo, hi = self._bounds(spans)
        return (hi - lo).tolist()

    def slice(self, start: int, end: int, shift: int = 0) -> WordPieces:
        """The pieces of ``text[start:end]``, with offsets into that slice moved by ``shift``."""
        (lo,), (hi,) = self._bounds([(start, end)])
        return WordPieces(self.ids[lo:hi], self.offsets[lo:hi] - start + shift)

    def then(self, other: WordPieces) -> WordPieces:
        return WordPieces(np.concatenate([self.ids, other.ids]), np.concatenate([self.offsets, other.offsets]))

    def windows(self, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
        """Character spans of consecutive windows of at most ``max_tokens`` pieces over ``[start, end)``, cut between words."""
        (lo,), (hi,) = self._bounds([(start, end)])
        offsets = self.offsets[lo:hi].tolist()
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(offsets):
            j = min(i + max_tokens, len(offsets))
            # back off to a word start so words are not cut in half
            while j < len(offsets) and j > i + 1 and offsets[j][0] == offsets[j - 1][1]:
                j -= 1
            spans.append((offsets[i][0], offsets[j - 1][1]))
            i = j
        return spans


def chunk_article(article: Article, pieces: WordPieces, max_tokens: int = 200, overlap_tokens: int = 48) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` word pieces, overlapping by trailing sentences.

    ``pieces`` are the article text's word pieces. A sentence longer than the limit is cut at
    word-piece boundaries, so that nothing is silently truncated by the model.
    """
    text = article.text
    spans: list[tuple[int, int]] = []
    sentence_spans = split_sentences(text)
    counts = pieces.count(sentence_spans) if sentence_spans else []
    sizes: list[int] = []
    for (s, e), n in zip(sentence_spans, counts):
        if n <= max_tokens:
            spans.append((s, e))
            sizes.append(n)
        else:
            for ws, we in pieces.windows(s, e, max_tokens):
                spans.append((ws, we))
                sizes.append(max_tokens)

    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        j, total = i, 0
        while j < len(spans) and (j == i or total + sizes[j] <= max_tokens):
            total += sizes[j]
            j += 1
        chunks.append((spans[i][0], spans[j - 1][1]))
        if j >= len(spans):
            break
        # Step back over trailing sentences for overlap, but always advance.
        k, back = j, 0
        while k - 1 > i and back + sizes[k - 1] <= overlap_tokens:
            k -= 1
            back += sizes[k]
        i = k
    version = article.content_hash[:12] or hashlib.sha256(text.encode()).hexdigest()[:12]
    return [
        Chunk(id=f"{article.id}:{version}:{n}", article_id=article.id, index=n, text=text[s:e], start=s, end=e)
        for n, (s, e) in enumerate(chunks)
    ]
