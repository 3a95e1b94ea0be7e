"""Words to terms, one way for everything lexical: the BM25 index, its queries and the answerer's overlap."""

from __future__ import annotations

import math
import re
import string
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable

from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"(?u)\b\w\w+\b")
_local = threading.local()  # PyStemmer objects are not thread-safe

# Words too common to say whether a sentence answers a question (BM25 copes with them by itself).
QUESTION_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset("""
what which who whom whose when where why how does did do has have had been being from about its it's his her
their them they he she we you your our can could would should may might will shall much many one also any some
more most other over under between after before during up down out off own same very than then there these those
this that into such only both each few nor too just name named called
""".split())


def _stemmer():
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


# word -> stem, shared by every thread: a library's vocabulary is small next to its words (101,096 distinct in
# 71,780 news chunks), and stemming each word once halved the BM25 build's tokenizing (9.2 s -> 5.3 s there)
_STEMS: dict[str, str] = {}
STEM_CACHE_MAX = 1_000_000  # then new words are stemmed every time (entries are never dropped: no thread loses one)


def stems(words: list[str]) -> list[str]:
    """PyStemmer's English stems of ``words`` without their accents, each distinct word stemmed once per process."""
    cache = _STEMS
    missing = list(dict.fromkeys(w for w in words if w not in cache))
    if not missing:
        return [cache[w] for w in words]
    fresh = dict(zip(missing, _stemmer().stemWords([fold(w) for w in missing])))
    if len(cache) < STEM_CACHE_MAX:
        cache.update(fresh)
    return [fresh[w] if w in fresh else cache[w] for w in words]


def fold(word: str) -> str:
    """``word`` without accents ("beyoncé" -> "beyonce", "são" -> "sao"): people type names without them."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def tokenize(text: str, stopwords: frozenset[str] = frozenset(STOPWORDS_EN)) -> list[str]:
    """Lower-cased, stemmed words of two or more characters, stop words removed."""
    return stems([w for w in _WORD.findall(text.lower()) if w not in stopwords])


def content_terms(text: str) -> set[str]:
    """The terms of a question or sentence that can tell an answer apart."""
    return set(tokenize(text, QUESTION_STOPWORDS))


def span_terms(text: str, spans: list[tuple[int, int]]) -> list[set[str]]:
    """``content_terms`` of each span of ``text``, with one pass over the text and one call to the stemmer."""
    lowered = text.lower()
    if len(lowered) != len(text):  # lower-casing moved the offsets ("İ" becomes two characters): one span at a time
        return [content_terms(text[s:e]) for s, e in spans]
    words = [(m.start(), w) for m in _WORD.finditer(lowered) if (w := m.group(0)) not in QUESTION_STOPWORDS]
    stemmed = stems([w for _, w in words]) if words else []
    out: list[set[str]] = [set() for _ in spans]
    i = 0
    for (start, _), stem in zip(words, stemmed):
        while i < len(spans) and start >= spans[i][1]:
            i += 1
        if i == len(spans):
            break
        if start >= spans[i][0]:
            out[i].add(stem)
    return out


def idf_table(documents: Iterable[list[str]]) -> dict[str, float]:
    """BM25-style inverse document frequency of every term in the tokenized documents."""
    df: Counter[str] = Counter()
    n = 0
    for doc in documents:
        df.update(set(doc))
        n += 1
    return {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}


# A library smaller than this many chunks says little about which words are rare: only English does.
LIBRARY_STATS_MIN_CHUNKS = 500
_COMMON_ZIPF, _RARE_ZIPF = 5.5, 3.0  # wordfreq's scale: "name" 5.61, "secretary" 4.95, "taliban" 3.69


def background_rarity(word: str) -> float:
    """How unusual ``word`` is in English, 0 (common: "name", "long") to 1 (rare: "guacamole"), from wordfreq."""
    from wordfreq import zipf_frequency

    z = zipf_frequency(word, "en")
    return min(1.0, max(0.0, (_COMMON_ZIPF - z) / (_COMMON_ZIPF - _RARE_ZIPF)))


def distinctive_terms(question: str, idf: dict[str, float] | None = None, chunks: int = 0) -> dict[str, float]:
    """Stemmed content terms of ``question`` -> how distinctive each is (0..1).

    Judged against English word frequencies, so a one-article library still sees "name" as ordinary;
    once the library holds ``LIBRARY_STATS_MIN_CHUNKS`` chunks, its own IDF is averaged in (a word
    common in English but rare in the library, or the reverse, counts half each way).
    """
    words = [w for w in _WORD.findall(question.lower()) if w not in QUESTION_STOPWORDS]
    if not words:
        return {}
    stemmed = stems(words)
    out: dict[str, float] = {}
    use_library = bool(idf) and chunks >= LIBRARY_STATS_MIN_CHUNKS
    top = max(idf.values()) if use_library else 1.0
    for word, stem in zip(words, stemmed):
        r = background_rarity(word)
        if use_library:
            r = 0.5 * r + 0.5 * min(1.0, idf.get(stem, top) / top)
        out[stem] = max(out.get(stem, 0.0), r)
    return out


# A misspelt question word ("tackels", "Maastrich Treaty", "Stoltenburg") matches nothing lexical, so BM25 misses
# its passage, the answerer's overlap ignores it and the answerability check counts it as a distinctive word no
# passage holds. Only a word of this many letters or more, that English does not use (wordfreq), is read again:
# "tore" or "punch" missing from a library are words, not typos.
RESPELL_MIN_LETTERS = 5
RESPELL_MAX_ZIPF = 1.5  # "accomlish" 0, "charecter" 1.11; "minster" 2.95, "beyonce" 3.49
_LETTERS = string.ascii_lowercase  # stems hold no accents (fold)


def respellings(text: str, idf: dict[str, float]) -> dict[str, str]:
    """Stems of ``text``'s misspelt words -> the library term one edit away (its commonest, if several).

    A word counts as misspelt when the library (``idf``) lacks its stem and English does not use it; squad-dev's
    crowd-written questions hold 107 such words, 84 of them one edit from a library term, nearly all typos of it.
    """
    if not idf:
        return {}
    from wordfreq import zipf_frequency

    out: dict[str, str] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) < RESPELL_MIN_LETTERS or not word.isalpha() or word in QUESTION_STOPWORDS:
            continue
        stem = stems([word])[0]
        if stem in idf or stem in out or zipf_frequency(word, "en") >= RESPELL_MAX_ZIPF:
            continue
        near = [t for t in _one_edit(stem) if t in idf]
        if near:
            out[stem] = min(near, key=lambda t: (idf[t], t))
    return out


def _one_edit(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion away from ``word``."""
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in cuts if b}
            | {a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1}
            | {a + c + b[1:] for a, b in cuts if b for c in _LETTERS}
            | {a + c + b for a, b in cuts for c in _LETTERS})
