"""Words to terms: the stems every lexical part shares, stemmed once per distinct word, and misspelt question words
read as the library's own."""

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

import rag.terms as terms
from rag.terms import _WORD, fold, idf_table, respellings, tokenize

from .conftest import BBC


def _plain(text: str) -> list[str]:
    """What tokenize gave before its stem cache: PyStemmer on every word (without its accents)."""
    return Stemmer.Stemmer("english").stemWords([fold(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS_EN])


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


def test_misspelt_question_words_are_read_as_the_library_terms_one_edit_away():
    chunks = ["Secretary General Jens Stoltenberg told reporters", "the Maastricht Treaty was signed in 1992",
              "Miller made 109 tackles", "the troops tore down the fence", "the Defense Department report",
              "the troops ate lunch"]  # "lunch" is one edit from "punch"
    idf = idf_table(tokenize(c) for c in chunks)
    assert respellings("Who is Stoltenburg?", idf) == {"stoltenburg": "stoltenberg"}
    assert respellings("When was the Maastrich Treaty signed?", idf) == {"maastrich": "maastricht"}
    assert respellings("Who had 109 tackels?", idf) == {"tackel": "tackl"}
    assert respellings("Who is the Secretery General?", idf) == {"secreteri": "secretari"}
    # words English uses are no typos, though the library lacks them or has a word one edit away
    assert respellings("Who wrote the defence minster report?", idf) == {}
    assert respellings("Who punched the troops?", idf) == {}
    assert respellings("Who is Stoltenberg?", idf) == {}  # known words stay
    assert respellings("Who is Stoltenburg?", {}) == {}  # an empty library has nothing to read them as


def test_accents_are_dropped_so_names_typed_without_them_match():
    assert fold("beyoncé") == "beyonce" and fold("são") == "sao" and fold("zürich") == "zurich" and fold("nato") == "nato"
    assert tokenize("Beyoncé sang in São Paulo and Zürich") == tokenize("Beyonce sang in Sao Paulo and Zurich")
    assert tokenize("北约秘书长") == ["北约秘书长"]  # scripts without accents pass through
