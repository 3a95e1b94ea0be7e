"""Whether the retrieved passages answer a question: a small logistic regression over retrieval features.

Replaces hand-set similarity thresholds, which were tuned on 40 questions and did not carry over.
The coefficients in ``answerability.json`` are produced by ``benchmarks/answerability.py`` from
negatives built without hand-writing them (leave-article-out, cross-library) plus squad-dev's 40
unanswerable questions, trained and tested with folds by article.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from .retrieval import RRF_K
from .schema import Passage
from .scoring import offers, question_kind, question_words
from .terms import QUESTION_STOPWORDS, content_terms, distinctive_terms, respellings, tokenize

MODEL_PATH = Path(__file__).with_name("answerability.json")
FEATURES = (
    "best_sentence_similarity",  # cosine of the closest sentence to the question
    "best_sentence_score",  # the answerer's score of the sentence it would quote
    "best_passage_similarity",
    "passage_margin",  # best passage similarity minus the second best: one clear match or many vague ones
    "sentence_coverage",  # share of the question's distinctive weight found in the quoted sentence
    "passage_coverage",  # ... in that sentence's passage
    "all_coverage",  # ... in any passage
    "missing_rarity",  # the most distinctive question word that no passage holds (0: none missing)
    "distinctive_weight",  # how much distinctive content the question has (log1p of its total)
    "library_chunks",  # log10(1 + chunks in the library)
    "max_sentence_coverage",  # the best coverage any of the top ten sentences reaches
    "missing_in_passage",  # distinctive words (weight >= 0.5) that the quoted sentence's passage lacks
    "answer_type_missing",  # a number or name question (rag.scoring.question_kind) none of the top three sentences offers
    "fused_rank_score",  # the top passage's fusion score, 1 when first in both dense and BM25 rankings
    "phrase_coverage",  # share of the question's word pairs ("Mongol Empire") in the quoted sentence's passage
    "best_phrase_coverage",  # ... in the passage holding most of them (1 when the question has no pair, as coverage)
)


class _Scored(Protocol):
    passage: int
    text: str
    score: float
    similarity: float


def features(question: str, passages: list[Passage], ranked: list[_Scored], idf: dict[str, float] | None,
             chunks: int) -> np.ndarray:
    """The feature vector (in ``FEATURES`` order) of a question, its passages and their ranked sentences."""
    fix = respellings(question, idf or {})  # a misspelt word counts as the library's word it stands for
    weights = {fix.get(t, t): w for t, w in distinctive_terms(question, idf, chunks).items()}
    total = sum(weights.values())
    sims = sorted((p.similarity for p in passages), reverse=True)
    best = ranked[0] if ranked else None
    best_sim = max((s.similarity for s in ranked), default=0.0)
    tokens = [tokenize(p.text, QUESTION_STOPWORDS) for p in passages]  # one pass per passage: terms and word pairs
    passage_terms = [set(t) for t in tokens]
    everywhere = set().union(*passage_terms) if passage_terms else set()

    def coverage(terms: set[str]) -> float:
        return sum(w for t, w in weights.items() if t in terms) / total if total > 0 else 1.0

    sentence = coverage(content_terms(best.text)) if best else 0.0
    passage = coverage(passage_terms[best.passage]) if best else 0.0
    missing = max((w for t, w in weights.items() if t not in everywhere), default=0.0)
    in_passage = passage_terms[best.passage] if best else set()
    top_fused = passages[0].score * (RRF_K + 1) / 2 if passages else 0.0
    asked_pairs = _pairs([fix.get(t, t) for t in tokenize(question, QUESTION_STOPWORDS)])
    phrases = [len(asked_pairs & _pairs(t)) / len(asked_pairs) if asked_pairs else 1.0 for t in tokens]
    return np.array([
        best_sim,
        best.score if best else 0.0,
        sims[0] if sims else 0.0,
        sims[0] - sims[1] if len(sims) > 1 else (sims[0] if sims else 0.0),
        sentence,
        passage,
        coverage(everywhere) if passages else 0.0,
        missing,
        math.log1p(total),
        math.log10(1 + max(chunks, 0)),
        max((coverage(content_terms(s.text)) for s in ranked[:10]), default=0.0),
        sum(1 for t, w in weights.items() if w >= 0.5 and t not in in_passage),
        float(_answer_type_missing(question, [s.text for s in ranked[:3]])),
        top_fused,
        phrases[best.passage] if best else 0.0,
        max(phrases, default=0.0),
    ], dtype=np.float64)


def _answer_type_missing(question: str, sentences: list[str]) -> bool:
    """The question asks for a number or date, or a name, and none of the sentences offers one."""
    kind = question_kind(question)
    asked = question_words(question)
    return kind is not None and not any(offers(kind, asked, s) for s in sentences)


def _pairs(terms: list[str]) -> set[tuple[str, str]]:
    """Adjacent content words (stop words skipped): a question's phrases, which a passage about its subject repeats
    and one that merely shares its words scatters."""
    return set(zip(terms, terms[1:]))


@dataclass(frozen=True)
class Answerability:
    """Logistic regression on standardised features; ``answerable`` is ``probability >= threshold``."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    def probability(self, x: np.ndarray) -> np.ndarray | float:
        z = ((np.asarray(x) - self.mean) / self.scale) @ self.coef + self.intercept
        p = 1.0 / (1.0 + np.exp(-z))
        return float(p) if np.ndim(p) == 0 else p

    def answerable(self, x: np.ndarray, threshold: float | None = None) -> bool:
        return self.probability(x) >= (self.threshold if threshold is None else threshold)

    def to_json(self, **extra: object) -> str:
        return json.dumps({"features": list(FEATURES), "mean": self.mean.round(6).tolist(), "scale": self.scale.round(6).tolist(),
                           "coef": self.coef.round(6).tolist(), "intercept": round(self.intercept, 6),
                           "threshold": round(self.threshold, 4), **extra}, indent=1) + "\n"


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> Answerability:
    """The committed model (a clear error if its features do not match this code's)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path} was trained on other features ({data['features']}); re-run benchmarks/answerability.py.")
    return Answerability(np.array(data["mean"]), np.array(data["scale"]), np.array(data["coef"]),
                         float(data["intercept"]), float(data["threshold"]))


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> Answerability:
    """Logistic regression by Newton's method on standardised features, L2-penalised (intercept free)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    xs = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(xs.shape[1])
    penalty = np.full(xs.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xs @ w)))
        grad = xs.T @ (p - y) + penalty * w
        hess = (xs * (p * (1 - p))[:, None]).T @ xs + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Answerability(mean, scale, w[:-1], float(w[-1]), 0.5)
