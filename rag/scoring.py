"""How well each sentence of a passage answers a question: one scorer for the answerer and the re-ranker.

A sentence scores by its similarity to the question, the share of the question's rare words it holds,
and whether it offers the kind of thing asked for: "Which company ...?" is answered by a sentence that
names one the question does not, "How many ...?" by one with a number. News quiz questions restate
the story in other words, so the sentence with the most overlap is often the one that names nothing;
with the answer-type term and re-ranking, answer hit on news-2025's held-out weeks went from 0.378 to 0.5
(weights chosen with folds by week and by article: benchmarks/scoring_tune.py, docs/evaluation.md). A
long sentence scores a little lower (0.1 per unit of log words): of sentences that answer alike, the short
one leaves room in the 60-word answer for another (with it the grid chose the answer-type term 0.2, was
0.3). The retriever ranks its candidates by their best sentence; the answerer quotes the best ones it keeps.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .boilerplate import plain, quotable, unquoted
from .schema import Passage
from .sentences import model_input, unpack
from .terms import content_terms, respellings, span_terms, stems

Kind = Literal["number", "name"]

_NUMBER_Q = re.compile(r"\b(how (many|much|long|old|far|big|large|tall|often|high)|when|what (year|date|day|month|time|"
                       r"percentage|percent|number|age|share|proportion|amount|price|fee|rate)|which (year|day|month|date))\b",
                       re.I)
# "who", "which ...", "... name", "what <noun>" (not "what is", "what happened"): the answer is a name
_NAME_Q = re.compile(r"\b(who|whom|whose|which|name)\b|\bwhat (?!(is|was|are|were|does|did|do|has|have|had|will|would|can|"
                     r"could|should|may|might|happened|caused|makes|made)\b)\w+", re.I)
# "Who is Charlie Kirk?", "What was Operation Overlord?": the answer describes the name the question gives
_DEFINE_Q = re.compile(r"^\s*(?i:who|what)\s+(?i:is|was|are|were)\s+"
                       r"(?P<name>[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|of|the|de|van|von|al|bin))*)\s*\??\s*$")
# a role just before a name says what it is ("Pentagon press secretary John Kirby", "FBI Director Kash Patel")
_ROLES = frozenset("""president secretary minister director chief ceo founder activist senator sen governor gov mayor
spokesperson spokesman spokeswoman leader chairman chairwoman chair head commissioner general judge justice attorney
nominee pick candidate star singer actor actress rapper musician player coach host author writer reporter journalist
scientist professor economist analyst official lawmaker representative rep congressman congresswoman pope king queen
prince princess emperor officer commander ambassador envoy adviser advisor aide executive owner billionaire
entrepreneur investor comedian presenter producer artist architect designer champion""".split())
_NUMBER = re.compile(r"\d[\d,.]*%?|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                     r"fifty|hundred|thousand|million|billion|dozen|half)\b", re.I)
_CAPITALISED = re.compile(r"\b[A-Z][\w’'&.-]*")
_QUESTION_WORD = re.compile(r"[\w’'-]+")
# days and months, as written out and as cut short ("Feb."): dates, not names
CALENDAR = ("monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
            "august september october november december jan feb mar apr jun jul aug sep sept oct nov dec")
# capitalised for grammar, not because they name something
NOT_NAMES = frozenset(("i the a an he she it they we but and mr mrs ms dr in on at of for to as if this that these those "
                       "his her their its our my " + CALENDAR).split())


def question_kind(question: str) -> Kind | None:
    """What the question asks for: a number (or date), a name, or something else (None)."""
    if _DEFINE_Q.match(question):
        return None  # a description of the name it gives, not another name
    if _NUMBER_Q.search(question):
        return "number"
    if _NAME_Q.search(question):
        return "name"
    return None


def question_words(question: str) -> set[str]:
    """The question's words in lower case, and their stems: a name it gives in another number ("Grammy Awards",
    "the Grammys best new artist") is not one it asks for."""
    words = {w.lower() for w in _QUESTION_WORD.findall(question)}
    return words | set(stems(list(words)))


def offers(kind: Kind | None, asked: set[str], text: str, names: Collection[str] = ()) -> bool:
    """Whether ``text`` holds a candidate answer of this kind that the question (``asked``) does not already name.

    A word capitalised only because a sentence starts there counts when ``names`` (:func:`names_in`, from its
    passage) shows it capitalised elsewhere: "Denny's has implemented a surcharge …" offers a name."""
    if kind == "number":
        return any(m.group(0).lower() not in asked for m in _NUMBER.finditer(text))
    if kind == "name":
        for m in _CAPITALISED.finditer(text):
            word = _bare(m.group(0))
            if _starts_sentence(text, m.start()) and word not in names:
                continue  # capitalised because a sentence starts there
            if (word not in NOT_NAMES and word not in asked and m.group(0).lower().rstrip(".") not in asked
                    and stems([word])[0] not in asked):
                return True
    return False


def names_in(text: str) -> frozenset[str]:
    """The words ``text`` capitalises inside its sentences, where a capital marks a name (lower case). Whatever may
    open a sentence, a line, a quotation or a clause after a colon is left out: "Officials said …" is no name."""
    out = set()
    for m in _CAPITALISED.finditer(text):
        j = m.start() - 1
        while j >= 0 and text[j] in " \t“\"‘'([":
            j -= 1
        if j >= 0 and (text[j].isalnum() or text[j] == ","):  # after a word or a comma: inside a sentence
            out.add(_bare(m.group(0)))
    return frozenset(out)


def _starts_sentence(text: str, i: int) -> bool:
    return i == 0 or (i >= 2 and text[i - 2] in ".!?" and text[i - 1].isspace())


def _bare(word: str) -> str:
    return word.lower().rstrip(".").removesuffix("'s").removesuffix("’s")


def subject(question: str) -> str | None:
    """The name a question asks to have described: "Who is Charlie Kirk?" -> "Charlie Kirk"; else None."""
    m = _DEFINE_Q.match(question)
    return m.group("name").rstrip(".") if m else None


def describes(name: str, text: str) -> bool:
    """Whether ``text`` says what ``name`` is: "Charlie Kirk, the founder of …", "Kirk was a …", or a role before
    the name, its first names between them when it is asked by surname ("Pentagon press secretary John Kirby",
    "Inspector General Sean O’Donnell" for "Who is O'Donnell?"). Apostrophes are one: people type ' where articles
    print ’."""
    name, text = name.replace("’", "'"), text.replace("’", "'")
    last = re.escape(name.split()[-1])
    if re.search(rf"\b{last}\b(?:'s)?\s*,\s+(?:a|an|the|who|one)\b|\b{last}\s+(?:is|was|has been|had been|became|"
                 rf"serves as|served as)\s+(?:a|an|the|one)\b", text):
        return True
    for m in re.finditer(rf"\b{re.escape(name)}\b", text):
        before = re.findall(r"[\w'.-]+", text[max(0, m.start() - 80):m.start()])[::-1]
        for skipped, word in enumerate(before[:3]):  # nearest first: the role, or up to two first names before it
            if word.lower().rstrip(".") in _ROLES:
                return True
            if not word[:1].isupper() or skipped == 2:
                break
    return False


def asks(text: str) -> bool:
    """Whether a sentence is itself a question (news subheads often are)."""
    return closing(text).endswith("?")


def closing(text: str) -> str:
    """The sentence without the quotation marks and brackets after its last mark."""
    return text.rstrip(" \"'”’)")


@dataclass(frozen=True)
class ScoredSentence:
    passage: int  # index in the passages scored
    start: int
    end: int
    text: str
    score: float
    similarity: float


# a chunk's sentence spans as quoted (rag.boilerplate.quotable), their unit vectors, their terms, what each is, and
# the names the chunk capitalises inside its sentences (names_in): all from the text alone, so worked out once
_Read = tuple[list[tuple[int, int]], np.ndarray, list[set[str]], list[str | None], frozenset[str]]


class SentenceScorer:
    """Scores the sentences of passages against a question; keeps each chunk's sentences for reuse.

    ``embedder`` is the model or a function returning it (needed only for passages without stored
    sentence vectors); ``stored`` maps chunk ids to the sentence vectors packed at ingest.
    """

    def __init__(self, embedder: Any, stored: Callable[[list[str]], dict[str, str]] | None = None,
                 overlap_weight: float = 0.8, type_weight: float = 0.2, rank_weight: float = 0.02,
                 passage_weight: float = 0.5, idf_power: float = 1.0, question_penalty: float = 1.0,
                 length_weight: float = 0.1, cache_size: int = 4096,
                 boilerplate: Callable[[], frozenset[str]] | None = None, skip_links: bool = True) -> None:
        """``boilerplate`` gives the library's repeated lines (:mod:`rag.boilerplate`): such sentences are not scored,
        nor are lines pointing to other stories ("More: …") unless ``skip_links`` is False."""
        self._embedder = embedder
        self.boilerplate = boilerplate
        self.skip_links = skip_links
        self.stored = stored
        self.overlap_weight = overlap_weight
        self.type_weight = type_weight
        self.rank_weight = rank_weight  # earlier passages win ties
        self.passage_weight = passage_weight  # weight of the passage's retrieval score (the best one's = 1)
        self.idf_power = idf_power
        self.question_penalty = question_penalty  # a sentence that asks ("How many stores are closing?") answers nothing
        self.length_weight = length_weight  # of two sentences that answer alike, the shorter leaves room in the budget
        self._cache: OrderedDict[str, _Read] = OrderedDict()  # popular passages recur across questions
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._max_idf: tuple[dict[str, float], float] | None = None

    @property
    def embedder(self) -> Any:
        return self._embedder() if callable(self._embedder) else self._embedder

    def score(self, question: str, passages: Sequence[Passage], qvec: np.ndarray | None = None,
              idf: dict[str, float] | None = None) -> list[ScoredSentence]:
        """Every sentence of ``passages``, best first; ``idf`` weighs question words by rarity in the collection."""
        if qvec is None:
            qvec = self.embedder.encode([question])[0]
        idf = idf or {}
        fix = respellings(question, idf)  # a misspelt word matches the library's word it stands for
        q_terms = {fix.get(t, t) for t in content_terms(question)}
        unknown = self._rarest(idf) if any(t not in idf for t in q_terms) else 1.0
        weight = {t: idf.get(t, unknown) ** self.idf_power for t in q_terms}
        q_total = sum(weight.values())
        kind, asked, about = question_kind(question), question_words(question), subject(question)
        top = max((p.score for p in passages), default=0.0) or 1.0
        skip = self.boilerplate() if self.boilerplate is not None else frozenset()
        never = unquoted(question)
        out = []
        for pi, (p, (spans, vecs, terms, kinds, names)) in enumerate(zip(passages, self.read(passages))):
            if not spans:
                continue
            sims = vecs @ qvec
            for (s, e), sim, t, what in zip(spans, sims, terms, kinds):
                if what in never:
                    continue
                text = p.text[s:e]
                if skip and plain(text) in skip:
                    continue
                overlap = sum(weight[x] for x in q_terms & t) / q_total if q_total else 0.0
                typed = self.type_weight if (kind and offers(kind, asked, text, names)) or (about and describes(about, text)) else 0.0
                score = (float(sim) + self.overlap_weight * overlap + typed - self.rank_weight * pi
                         + self.passage_weight * p.score / top - self.question_penalty * asks(text)
                         - self.length_weight * math.log(max(len(text.split()), 1)))
                out.append(ScoredSentence(pi, s, e, text, score, float(sim)))
        return sorted(out, key=lambda x: -x.score)

    def _rarest(self, idf: dict[str, float]) -> float:
        """The largest IDF (a word the collection lacks counts as that rare), kept per table: it has 10^5 entries."""
        kept = self._max_idf
        if kept is None or kept[0] is not idf:
            kept = self._max_idf = (idf, max(idf.values(), default=1.0))
        return kept[1]

    def read(self, passages: Sequence[Passage]) -> list[_Read]:
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
            quoted, kinds = quotable(p.text, spans, self.skip_links, opening=p.start == 0)
            found[p.chunk_id] = (quoted, v, span_terms(p.text, spans), kinds, names_in(p.text))
        with self._lock:  # other threads may evict meanwhile: the result comes from ``found``, not the cache
            self._cache.update((p.chunk_id, found[p.chunk_id]) for p in missing)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return [found[p.chunk_id] for p in passages]

    def rerank(self, question: str, passages: Sequence[Passage], qvec: np.ndarray, idf: dict[str, float],
               fusion_weight: float) -> list[Passage]:
        """Passages ordered by their best sentence plus ``fusion_weight`` times their fused score (the best one's = 1).

        A 200-token passage's own vector blurs the one sentence that answers; ranking by that sentence
        lifted squad-dev's hit@4 on its training articles from 0.9323 to 0.9634.
        """
        if len(passages) < 2:
            return list(passages)
        best = np.full(len(passages), -np.inf)
        top = max(p.score for p in passages) or 1.0
        for s in self.score(question, passages, qvec, idf):
            own = s.score + self.rank_weight * s.passage - self.passage_weight * passages[s.passage].score / top
            best[s.passage] = max(best[s.passage], own)
        value = np.where(np.isfinite(best), best, 0.0) + fusion_weight * np.array([p.score for p in passages]) / top
        return [passages[i] for i in np.argsort(-value, kind="stable")]
