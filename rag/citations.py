"""Citation checks for generated answers: parse ``[n]`` markers, drop those naming no passage, renumber
the rest 1..n by first use, and test each sentence against the passages it cites.

A model can cite a passage that does not say what it claims, invent a passage number, or repeat
instructions planted in an article. Word overlap and embedding similarity catch most of that cheaply;
numbers must appear in the cited text, since a wrong figure is the commonest harmful slip.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .chunking import split_sentences
from .embeddings import Embedder
from .schema import Citation, Passage, SentenceCheck
from .terms import content_terms

MARKER = re.compile(r"\[\s*(?:(?:passages?|sources?|docs?|documents?)\s*)?(\d{1,3}(?:\s*(?:,|;|and|-|–)\s*\d{1,3})*)\s*\]", re.I)
_LEADING_MARKERS = re.compile(rf"(?:\s*{MARKER.pattern})+", re.I)
_POSSESSIVE = re.compile(r"['’]s\b")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(instructions?|prompts?|rules|directions|above|previous|prior)\b"
    r"|\b(system prompt|new instructions?|you are now|as an ai|language model|ai assistant|chatbot)\b"
    r"|\b(answer|reply|respond)\b[^.!?\n]{0,20}\b(every|all|any) (questions?|queries|users?)\b"
    r"|\binstead,? (say|answer|reply|respond|tell|write)\b",
    re.I,
)


def _terms(text: str) -> set[str]:
    """Content terms with possessives folded ("NATO's" meets "NATO")."""
    return content_terms(_POSSESSIVE.sub("", text))


def looks_like_instructions(text: str) -> bool:
    """Text addressed to a language model rather than to a reader ("ignore previous instructions...")."""
    return bool(_INSTRUCTION.search(text))


def marker_numbers(group: str) -> list[int]:
    """``"1, 3-4"`` -> ``[1, 3, 4]``."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", group):
        bounds = re.split(r"\s*[-–]\s*", part.strip())
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit() and int(bounds[0]) <= int(bounds[1]) <= int(bounds[0]) + 10:
            out.extend(range(int(bounds[0]), int(bounds[1]) + 1))
        elif part.strip().isdigit():
            out.append(int(part))
    return out


def answer_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of an answer; markers that follow a full stop ("... NATO. [1]") stay with their sentence."""
    spans = [list(s) for s in split_sentences(text)]
    out: list[list[int]] = []
    for s, e in spans:
        lead = _LEADING_MARKERS.match(text, s, e)
        if lead and out:
            out[-1][1] = lead.end()
            s = lead.end()
            while s < e and text[s].isspace():
                s += 1
            if s >= e:
                continue
        out.append([s, e])
    return [(s, e) for s, e in out]


def strip_markers(text: str) -> str:
    return " ".join(MARKER.sub(" ", text).split())


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


@dataclass(frozen=True)
class CheckedText:
    """A generated answer after the check: renumbered text, its citations and sentence verdicts."""

    text: str
    citations: tuple[Citation, ...]
    sentences: tuple[SentenceCheck, ...]
    notes: tuple[str, ...]
    dropped: tuple[int, ...]  # marker numbers that named no passage


@dataclass(frozen=True)
class _PassageIndex:
    spans: list[tuple[int, int]]  # sentences that state facts
    vectors: np.ndarray
    terms: set[str]
    numbers: set[str]
    instruction_terms: set[str]  # words of sentences that read as instructions to a model


class CitationChecker:
    """Checks sentences against their cited passages: ``score = (max similarity + word overlap) / 2``.

    A sentence is supported when its score reaches ``threshold`` and every number in it appears
    in a cited passage. Sentences of a passage that read as instructions to a model never count
    as support, so an answer that obeys text planted in an article is flagged.
    """

    def __init__(self, embedder: Embedder, threshold: float = 0.58, cache_size: int = 2048) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self._cache: OrderedDict[str, _PassageIndex] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _index(self, passages: Sequence[Passage]) -> list[_PassageIndex]:
        with self._lock:
            missing = [p for p in passages if p.chunk_id not in self._cache]
        if missing:
            split = []
            for p in missing:
                facts, instructions = [], []
                for s, e in split_sentences(p.text):
                    (instructions if looks_like_instructions(p.text[s:e]) else facts).append((s, e))
                split.append((p, facts, instructions))
            vecs = self.embedder.encode([p.text[s:e] for p, facts, _ in split for s, e in facts])
            pos = 0
            with self._lock:
                for p, facts, instructions in split:
                    fact_text = " ".join(p.text[s:e] for s, e in facts)
                    self._cache[p.chunk_id] = _PassageIndex(
                        spans=facts, vectors=vecs[pos:pos + len(facts)],
                        terms=_terms(fact_text) | _terms(p.title),
                        numbers=numbers_in(fact_text) | numbers_in(p.title),
                        instruction_terms=_terms(" ".join(p.text[s:e] for s, e in instructions)))
                    pos += len(facts)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            return [self._cache[p.chunk_id] for p in passages]

    def check(self, text: str, passages: Sequence[Passage]) -> CheckedText:
        """Renumber, drop invalid markers and check each sentence of ``text`` (markers numbered as in the prompt)."""
        passages = list(passages)
        numbering: dict[int, int] = {}  # passage index -> citation number
        dropped: list[int] = []
        pieces: list[tuple[str, str, list[int], list[int]]] = []  # gap before, sentence, passage indices, invalid
        pos = 0
        for s, e in answer_sentences(text):
            cited: list[int] = []
            invalid: list[int] = []

            def renumber(m: re.Match, cited=cited, invalid=invalid) -> str:
                out = []
                for n in marker_numbers(m.group(1)):
                    if 1 <= n <= len(passages):
                        pi = n - 1
                        new = numbering.setdefault(pi, len(numbering) + 1)
                        if pi not in cited:
                            cited.append(pi)
                            out.append(f"[{new}]")
                    else:
                        invalid.append(n)
                return "".join(out)

            sentence = MARKER.sub(renumber, text[s:e])
            if invalid:
                sentence = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", sentence)).strip()
                dropped.extend(invalid)
            pieces.append((text[pos:s], sentence, cited, invalid))
            pos = e

        index = self._index(passages)
        claims = [strip_markers(sentence) for _, sentence, _, _ in pieces]
        vecs = self.embedder.encode(claims) if claims else np.zeros((0, 1), dtype=np.float32)
        quotes: dict[int, set[tuple[int, int]]] = {}
        out_text, checks = "", []
        for (gap, sentence, cited, invalid), claim, vec in zip(pieces, claims, vecs):
            out_text += gap
            start = len(out_text)
            out_text += sentence
            check = self._check_sentence(claim, vec, [index[pi] for pi in cited], bool(invalid))
            if check[0]:
                for pi in cited:
                    span = _best_span(index[pi], vec)
                    if span:
                        quotes.setdefault(pi, set()).add(span)
            checks.append(SentenceCheck(text=sentence, cited=tuple(numbering[pi] for pi in cited), supported=check[0],
                                        score=round(check[1], 3), start=start, end=len(out_text), reason=check[2]))

        citations = tuple(
            Citation(number=n, article_id=passages[pi].article_id, title=passages[pi].title, source=passages[pi].source,
                     published=passages[pi].published, chunk_id=passages[pi].chunk_id, start=passages[pi].start,
                     end=passages[pi].end, passage=passages[pi].text, quotes=tuple(sorted(quotes.get(pi, ()))))
            for pi, n in sorted(numbering.items(), key=lambda kv: kv[1])
        )
        notes = []
        if dropped:
            shown = ", ".join(f"[{n}]" for n in dict.fromkeys(dropped))
            notes.append(f"Removed citation marker(s) {shown} that named no passage (the model was given {len(passages)}).")
        unsupported = [c for c in checks if not c.supported]
        if unsupported:
            notes.append(f"{len(unsupported)} of {len(checks)} sentence(s) are not supported by the passages they cite.")
        return CheckedText(out_text.strip(), citations, tuple(checks), tuple(notes), tuple(dropped))

    def _check_sentence(self, claim: str, vec: np.ndarray, cited: list[_PassageIndex], had_invalid: bool) -> tuple[bool, float, str]:
        terms = _terms(claim)
        if not cited:
            if len(terms) < 2:
                return True, 0.0, ""  # "In short:" and the like state nothing to check
            return False, 0.0, "cites a passage that does not exist" if had_invalid else "cites no passage"
        support_terms = set().union(*(c.terms for c in cited))
        overlap = len(terms & support_terms) / len(terms) if terms else 1.0
        sims = [float(np.max(c.vectors @ vec)) for c in cited if len(c.vectors)]
        similarity = max(sims) if sims else 0.0
        score = (max(similarity, 0.0) + overlap) / 2
        missing = sorted(numbers_in(claim) - set().union(*(c.numbers for c in cited)))
        if missing:
            return False, score, f"the number(s) {', '.join(missing)} are not in the cited passage(s)"
        if score >= self.threshold:
            return True, score, ""
        planted = set().union(*(c.instruction_terms for c in cited))
        if planted and terms and len(terms & planted) / len(terms) >= 0.5:
            return False, score, "repeats instructions found inside an article, not its facts"
        return False, score, "the cited passage(s) do not say this"


def _best_span(index: _PassageIndex, vec: np.ndarray) -> tuple[int, int] | None:
    if not len(index.vectors):
        return None
    return index.spans[int(np.argmax(index.vectors @ vec))]
