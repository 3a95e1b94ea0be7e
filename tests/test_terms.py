"""Words to terms: the stems every lexical part shares, stemmed once per distinct word."""

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

import rag.terms as terms
from rag.terms import _WORD, tokenize

from .conftest import BBC


def _plain(text: str) -> list[str]:
    """What tokenize gave before its stem cache: PyStemmer on every word."""
    return Stemmer.Stemmer("english").stemWords([w for w in _WORD.findall(text.lower()) if w not in STOPWORDS_EN])


def test_cached_stems_equal_pystemmers_cold_and_warm(monkeypatch):
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(BBC.glob("*/*.txt"))[:80]]
    monkeypatch.setattr(terms, "_STEMS", {})
    cold = [tokenize(t) for t in texts]
    assert len(terms._STEMS) > 1000  # the cache was filled
    warm = [tokenize(t) for t in texts]
    assert cold == warm == [_plain(t) for t in texts]


def test_a_full_cache_stops_growing_and_still_stems(monkeypatch):
    monkeypatch.setattr(terms, "_STEMS", {})
    tokenize("The ministers were meeting in the city")
    monkeypatch.setattr(terms, "STEM_CACHE_MAX", len(terms._STEMS))
    size = len(terms._STEMS)
    text = "Ministers reopened negotiations; negotiators were reopening meetings"
    assert tokenize(text) == _plain(text)
    assert len(terms._STEMS) == size
