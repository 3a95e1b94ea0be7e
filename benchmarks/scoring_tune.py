"""Choose the sentence scorer's weights (rag/scoring.py) with folds, on news-2025 and squad-dev together; prints JSON.

    python -m rag eval ../shared/eval/news-2025 && python -m rag eval ../shared/eval/squad-dev   # the eval stores
    python benchmarks/scoring_tune.py > scoring_tune.json

For every question, the top 20 fused passages (re-ranking off) and every sentence's similarity and word
overlap are read once; each setting then only re-scores: passages re-ranked by their best sentence plus
``fusion`` times their fused score, the answer packed as ``ExtractiveAnswerer`` packs it (up to three
sentences, 60 words, each scoring at least ``keep`` times the best; its skipping of copies, questions and
fragments is not simulated, and the question penalty is fixed). Folds: news-2025 by the week a question
was asked (the last quarter of the weeks held out, the rest split into odd and even weeks), squad-dev by
article (the six articles benchmarks/answerability.py holds out are held out here too; every second question
of the others). A setting is chosen on the sum of
retrieval hit@4 and answer hit over one news fold and the squad training articles, and scored on the other
fold; the one chosen on all dev data is scored on the held-out parts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library, Settings  # noqa: E402
from rag.config import offline_environment  # noqa: E402
from rag.dates import as_date  # noqa: E402
from rag.evaluate import contains_any, read_scoring, read_set  # noqa: E402
from rag.scoring import SentenceScorer, asks, offers, question_kind, question_words  # noqa: E402
from rag.timeexpr import content_question, resolve  # noqa: E402

SETS = ROOT.parent / "shared" / "eval"
# benchmarks/answerability.py's HELD_OUT (copied: benchmark scripts import only installed packages and rag)
SQUAD_HELD_OUT = ("squad-oxygen", "squad-university_of_chicago", "squad-black_death", "squad-prime_number",
                  "squad-warsaw", "squad-construction")
GRID = {"type_weight": [0.0, 0.1, 0.2, 0.3], "overlap_weight": [0.6, 0.8, 1.0], "fusion": [None, 0.5, 1.0],
        "passage_weight": [0.0, 0.5], "keep": [0.5, 0.75], "length_weight": [0.0, 0.1]}
DEPTH, K, MAX_WORDS, MAX_SENTENCES, RANK_WEIGHT = 20, 4, 60, 3, 0.02
QUESTION_PENALTY = SentenceScorer(None).question_penalty  # fixed, not tuned here


def read_questions(name: str) -> list[dict]:
    """Each answerable question with its candidates' fused scores and sentences' parts, read once."""
    folder = SETS / name
    base = Settings()
    settings = base.model_copy(update={"store_path": base.store_path.parent / f"{base.store_path.name}-eval" / name,
                                       "chroma_url": None, "collection": "eval-articles", "rerank_depth": 0})
    lib = Library(settings)
    scorer = SentenceScorer(lib.embedder, lib.store.sentence_blobs, overlap_weight=1.0, type_weight=1.0,
                            rank_weight=0.0, passage_weight=0.0, question_penalty=0.0, length_weight=0.0)
    any_article = read_scoring(folder) == "any-article"
    idf = lib.term_weights()
    out = []
    for q in (q for q in read_set(folder)[1] if q["answers"]):
        scope = resolve(q["question"], as_date(q.get("asked")))
        passages, qvec = lib.search_with_vector(q["question"], DEPTH, None, scope)
        matched = content_question(q["question"]) if scope.expressions else q["question"]
        kind, asked = question_kind(matched), question_words(matched)
        sentences = []
        for s in scorer.score(matched, passages, qvec, idf):
            typed = float(bool(kind) and offers(kind, asked, s.text))
            sentences.append((s.passage, s.similarity - QUESTION_PENALTY * asks(s.text), s.score - s.similarity - typed,
                              typed, len(s.text.split()), contains_any(s.text, q["answers"])))
        out.append({"article": q["article_id"], "asked": q.get("asked"),
                    "fused": [p.score for p in passages], "sentences": sentences,
                    "gold": [(any_article or p.article_id == q["article_id"]) and contains_any(p.text, q["answers"])
                             for p in passages]})
    return out


def score(rows: list[dict], type_weight: float, overlap_weight: float, fusion: float | None,
          passage_weight: float, keep: float, length_weight: float = 0.0) -> dict:
    hit = answered = 0
    for r in rows:
        fused = np.array(r["fused"]) / (max(r["fused"]) or 1.0) if r["fused"] else np.array([])
        own = [(p, sim + overlap_weight * ov + type_weight * typed - length_weight * math.log(max(words, 1)), words, gold)
               for p, sim, ov, typed, words, gold in r["sentences"]]
        order = list(range(len(r["fused"])))
        if fusion is not None:
            best = np.zeros(len(order))
            for p, value, _, _ in own:
                best[p] = max(best[p], value)
            order = sorted(order, key=lambda i: -(best[i] + fusion * fused[i]))
        top = order[:K]
        hit += any(r["gold"][i] for i in top)
        rank = {p: j for j, p in enumerate(top)}
        picks = sorted(((v - RANK_WEIGHT * rank[p] + passage_weight * fused[p], words, gold)
                        for p, v, words, gold in own if p in rank), key=lambda x: -x[0])
        if not picks:
            continue
        chosen, total = [picks[0]], picks[0][1] + 1
        for pick in picks[1:]:
            if len(chosen) >= MAX_SENTENCES or pick[0] < picks[0][0] * keep:
                break
            if total + pick[1] + 1 <= MAX_WORDS:
                chosen.append(pick)
                total += pick[1] + 1
        answered += any(g for _, _, g in chosen)
    return {"hit@4": round(hit / len(rows), 4), "answer_hit": round(answered / len(rows), 4), "n": len(rows)}


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    offline_environment()
    news, squad = read_questions("news-2025"), read_questions("squad-dev")

    def week(r: dict) -> tuple[int, int]:
        return tuple(date.fromisoformat(r["asked"]).isocalendar()[:2])  # type: ignore[return-value]

    weeks = sorted({week(r) for r in news})
    held_weeks = set(weeks[len(weeks) - max(1, len(weeks) // 4):])
    dev_weeks = [w for w in weeks if w not in held_weeks]
    parts = {"odd": [r for r in news if week(r) in dev_weeks and dev_weeks.index(week(r)) % 2],
             "even": [r for r in news if week(r) in dev_weeks and not dev_weeks.index(week(r)) % 2],
             "news_held_out": [r for r in news if week(r) in held_weeks],
             "squad_train": [r for r in squad if r["article"] not in SQUAD_HELD_OUT][::2],
             "squad_held_out": [r for r in squad if r["article"] in SQUAD_HELD_OUT]}
    results = []
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values))
        results.append({"setting": setting, **{k: score(parts[k], **setting) for k in ("odd", "even", "squad_train")}})

    def total(r: dict, folds: tuple[str, ...]) -> float:
        return sum(r[f]["hit@4"] + r[f]["answer_hit"] for f in folds)

    out: dict = {"questions": {k: len(v) for k, v in parts.items()}, "held_out_weeks": [f"{y}-W{w:02d}" for y, w in sorted(held_weeks)]}
    for fold, other in (("odd", "even"), ("even", "odd")):
        best = max(results, key=lambda r: total(r, (fold, "squad_train")))
        out[f"chosen_on_{fold}"] = {"setting": best["setting"], fold: best[fold], f"scored_on_{other}": best[other]}
    chosen = max(results, key=lambda r: total(r, ("odd", "even", "squad_train")))
    baseline = {"type_weight": 0.0, "overlap_weight": 0.8, "fusion": None, "passage_weight": 0.0, "keep": 0.75}  # before
    for name, setting in (("chosen_on_dev", chosen["setting"]), ("before", baseline)):
        out[name] = {"setting": setting, **{k: score(v, **setting) for k, v in parts.items()}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
