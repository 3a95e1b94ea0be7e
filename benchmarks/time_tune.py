"""Tune the time prior on a dated evaluation set, with folds by the week a question was asked.

    python -m rag eval ../shared/eval/news-2025          # builds (or reuses) the eval store first
    python benchmarks/time_tune.py ../shared/eval/news-2025 > time_tune.json

Questions asked in the last quarter of the set's weeks are held out (never used to choose); the rest
are split into odd and even weeks. A setting chosen on one fold is scored on the other, the one chosen
on both is scored on the held-out part. Scores are retrieval hit@4 with the set's scoring (any article
for news-2025), questions asked as of their date, overall and on time-relative questions. Dense and
lexical candidates are computed once per question and reused across settings (they do not depend on
the time prior), so the grid costs only fusion.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library, Settings  # noqa: E402
from rag.dates import as_date  # noqa: E402
from rag.evaluate import contains_any, read_scoring, read_set  # noqa: E402
from rag.timeexpr import resolve  # noqa: E402

GRID = {
    "time_weight": [0.0, 0.5, 1.0, 2.0, 4.0],
    "window_half_life_days": [3.0, 7.0, 21.0],
    "news_recency_weight": [0.0, 0.5, 1.0, 2.0],
    "recency_half_life_days": [14.0, 30.0, 90.0],
}


def _cached(library: Library) -> None:
    """Memoise the query vector and Chroma's answer: the same question asks the same again for every setting."""
    vectors: dict[str, object] = {}
    dense: dict[tuple, tuple] = {}
    embed, query = library.embedder.query_vector, library.store.dense

    def query_vector(text: str):
        if text not in vectors:
            vectors[text] = embed(text)
        return vectors[text]

    def dense_search(vec, k, where):
        key = (vec.tobytes(), k, json.dumps(where, sort_keys=True))
        if key not in dense:
            dense[key] = query(vec, k, where)
        return dense[key]

    library.embedder.query_vector = query_vector  # type: ignore[method-assign]
    library.store.dense = dense_search  # type: ignore[method-assign]


def _week(q: dict) -> tuple[int, int]:
    return tuple(as_date(q.get("asked")).isocalendar()[:2])  # type: ignore[return-value]


def score(library: Library, questions: list[dict], any_article: bool) -> dict:
    hits = {"all": [0, 0], "time_relative": [0, 0]}
    for q in questions:
        passages = library.search(q["question"], 4, as_of=q.get("asked"))
        hit = any((any_article or p.article_id == q["article_id"]) and contains_any(p.text, q["answers"]) for p in passages)
        for part in ("all", "time_relative") if q["_relative"] else ("all",):
            hits[part][0] += hit
            hits[part][1] += 1
    return {k: round(h / n, 4) if n else None for k, (h, n) in hits.items()} | {"n": hits["all"][1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    args = ap.parse_args()
    base = Settings()
    store = base.store_path.parent / f"{base.store_path.name}-eval" / args.folder.name
    settings = base.model_copy(update={"store_path": store, "chroma_url": None, "collection": "eval-articles"})
    library = Library(settings)
    _cached(library)
    any_article = read_scoring(args.folder) == "any-article"
    _, questions = read_set(args.folder)
    questions = [q for q in questions if q.get("answers")]
    for q in questions:
        q["_relative"] = resolve(q["question"], as_date(q.get("asked"))).relative
    weeks = sorted({_week(q) for q in questions})
    held_weeks = weeks[len(weeks) - max(1, len(weeks) // 4):]  # the last quarter of the weeks: never used to choose
    held = [q for q in questions if _week(q) in held_weeks]
    dev = [q for q in questions if _week(q) not in held_weeks]
    folds = {"odd": [q for q in dev if weeks.index(_week(q)) % 2], "even": [q for q in dev if not weeks.index(_week(q)) % 2]}

    results = []
    for values in itertools.product(*GRID.values()):
        variant = dict(zip(GRID, values))
        library.retriever.settings = settings.model_copy(update=variant)
        results.append({"settings": variant, **{name: score(library, qs, any_article) for name, qs in folds.items()}})
        print(json.dumps(results[-1]), file=sys.stderr)

    def best(fold: str) -> dict:
        return max(results, key=lambda r: (r[fold]["all"], r[fold]["time_relative"]))

    chosen_odd, chosen_even = best("odd"), best("even")
    for r in results:
        r["dev"] = {"all": round((r["odd"]["all"] * r["odd"]["n"] + r["even"]["all"] * r["even"]["n"]) /
                                 (r["odd"]["n"] + r["even"]["n"]), 4)}
    chosen = max(results, key=lambda r: r["dev"]["all"])
    defaults = {k: getattr(Settings(), k) for k in GRID}
    library.retriever.settings = settings.model_copy(update={k: 0.0 for k in ("time_weight", "news_recency_weight", "recency_weight")})
    no_prior_held = score(library, held, any_article)
    out = {
        "set": args.folder.name, "today": date.today().isoformat(),
        "questions": {"dev": len(dev), "odd_weeks": len(folds["odd"]), "even_weeks": len(folds["even"]), "held_out": len(held),
                      "held_out_weeks": [f"{y}-W{w:02d}" for y, w in held_weeks]},
        "chosen_on_odd": {"settings": chosen_odd["settings"], "odd": chosen_odd["odd"], "scored_on_even": chosen_odd["even"]},
        "chosen_on_even": {"settings": chosen_even["settings"], "even": chosen_even["even"], "scored_on_odd": chosen_even["odd"]},
        "chosen_on_dev": {"settings": chosen["settings"], "dev": chosen["dev"]},
    }
    library.retriever.settings = settings.model_copy(update=chosen["settings"])
    out["chosen_on_dev"]["held_out"] = score(library, held, any_article)
    library.retriever.settings = settings.model_copy(update=defaults)
    out["defaults"] = {"settings": defaults, "held_out": score(library, held, any_article), "dev": score(library, dev, any_article)}
    out["no_time_prior"] = {"held_out": no_prior_held}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
