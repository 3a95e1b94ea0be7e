"""Train the answerability decision (rag/answerability.json) from negatives nobody hand-wrote.

    python benchmarks/answerability.py collect   # features into the cache (slow: ingests squad-dev and BBC)
    python benchmarks/answerability.py train     # folds by article, held-out figures, writes the model

Questions come from ../shared/eval/squad-dev (every n-th answerable one) and are asked of two libraries,
squad-dev alone (24 articles) and squad-dev with every third BBC article (742 of 2,225):
- answerable: the question against the whole library;
- leave-article-out: the same question with its own article filtered out, kept only when no other
  article holds a gold answer (then nothing retrieved can answer it);
- cross-library: the question against the BBC articles only (same rule), and news questions written
  for this script (``NEWS_QUESTIONS``) against squad-dev;
- squad-dev's 40 hand-written unanswerable questions, against both libraries;
- one-article libraries (the first start is one seed article): each question against its own article
  alone (answerable) and against one other article (unanswerable, same rule), the hand-written and
  news questions against one article. A filter stands for the smaller library, its chunk count for its size.
Folds are by article (a question's negatives go with its article); the articles in ``HELD_OUT`` and a
quarter of the hand-written negatives are not touched until the final figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer import ExtractiveAnswerer  # noqa: E402
from rag.answerability import FEATURES, MODEL_PATH, Answerability, features, fit  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.dates import as_date  # noqa: E402
from rag.evaluate import contains_any, norm, read_set  # noqa: E402
from rag.library import Library  # noqa: E402
from rag.loaders import load_paths  # noqa: E402
from rag.retrieval import Filters  # noqa: E402
from rag.timeexpr import resolve  # noqa: E402

SQUAD = ROOT.parent / "shared" / "eval" / "squad-dev"
BBC = ROOT.parent / "shared" / "corpus" / "bbc"
NEWS = ROOT.parent / "shared" / "eval" / "news-2025"
CACHE = Path("/tmp/rag-answerability/features.jsonl")
# Six of the 24 squad-dev articles, never used for training or choosing anything until the last step.
HELD_OUT = ("squad-oxygen", "squad-university_of_chicago", "squad-black_death", "squad-prime_number", "squad-warsaw",
            "squad-construction")
FOLDS = 6
# set on training folds, with room under the 3% target (0.025 left squad-dev's full run at 0.0339 after re-ranking)
TARGET_FALSE_ABSTENTION = 0.02

# News-style questions (written for this script) that Wikipedia articles about other subjects cannot answer.
NEWS_QUESTIONS = [
    "How much did Vodafone's profits rise in the first half of the year?",
    "Who was named manager of the England rugby team?",
    "Which film won the Bafta for best picture?",
    "How many jobs will the car plant cut?",
    "What did the chancellor announce in the pre-budget report?",
    "Which band topped the UK singles chart at Christmas?",
    "How much was the takeover bid for the supermarket chain worth?",
    "Who scored the winning goal in the FA Cup replay?",
    "What did the Bank of England do with interest rates this month?",
    "Why did the airline cancel flights to Spain?",
    "Which country will host the next G8 summit?",
    "What fine did the regulator impose on the mobile operator?",
    "Who resigned as home secretary?",
    "How many people signed the petition against the ID card plans?",
    "What is the name of the new Microsoft search engine?",
    "When will the digital switchover of television begin?",
    "How long was the striker banned for?",
    "Which tennis player won the Australian Open women's title?",
    "What did the survey say about broadband use in Britain?",
    "How much did the film take at the box office on its opening weekend?",
    "Who is the chief executive of the games publisher?",
    "Which party leads in the latest opinion poll before the election?",
    "What did the minister say about university tuition fees?",
    "How many points did the team lose after the appeal?",
    "Which mobile phone maker reported record sales?",
    "What is the price of a barrel of oil after the hurricane?",
    "Why was the match between the two clubs postponed?",
    "Who won best actress at the Golden Globes?",
    "How many shares did the pension fund sell?",
    "What new feature does the handheld games console have?",
]


def _library(name: str, paths: list[Path], work: Path) -> Library:
    settings = Settings(store_path=work / name, chroma_url=None, collection="answerability")
    lib = Library(settings, check=False)
    try:
        lib.store._check_identity()
    except Exception:  # built by other code: start over
        lib.store.drop()
        lib = Library(settings)
    report = lib.ingest(paths, prune=True, show_progress=True)
    print(f"{name}: {len(report.added)} added, {len(report.unchanged)} unchanged in {report.seconds} s", file=sys.stderr)
    return lib


def _row(lib: Library, answerer: ExtractiveAnswerer, question: str, filters: Filters | None, chunks: int,
         as_of: str | None = None, **meta: object) -> dict:
    """One question's features; ``filters`` stands for a library of just those articles (``chunks`` long)."""
    passages, qvec = lib.search_with_vector(question, lib.settings.top_k, filters, resolve(question, as_date(as_of)))
    golds = meta.pop("golds", None)
    if golds is not None and not any(contains_any(p.text, golds) for p in passages):
        return {}  # the search found no passage holding the answer: not a question these passages answer
    idf = lib.term_weights()
    ranked = answerer.score_sentences(question, passages, qvec, idf)
    x = features(question, passages, ranked, idf, chunks)
    return {**meta, "question": question, "x": [round(float(v), 6) for v in x]}


class _Asker:
    """Asks one library, or a part of it standing for a smaller library, and writes the feature rows."""

    def __init__(self, lib: Library, name: str, out: TextIO) -> None:
        self.lib, self.name, self.out = lib, name, out
        self.answerer = ExtractiveAnswerer(lib.embedder, scorer=lib.scorer)
        self.sizes = Counter(lib.lexical.get().article_ids.tolist())
        self.total = lib.chunk_count()

    def __call__(self, question: str, ids: tuple[str, ...] | None, **meta: object) -> None:
        chunks = self.total if ids is None else sum(self.sizes[i] for i in ids)
        row = _row(self.lib, self.answerer, question, Filters(article_ids=ids) if ids else None, chunks, library=self.name, **meta)
        if row:
            self.out.write(json.dumps(row) + "\n")


def collect(every: int, bbc_every: int, work: Path, news_store: Path | None) -> None:
    articles, questions = read_set(SQUAD)
    answerable = [q for q in questions if q["answers"]][::every]
    unanswerable = [q for q in questions if not q["answers"]]
    bbc_files = sorted(BBC.glob("*/*.txt"))[::bbc_every]
    bbc_texts = {a.id: norm(a.text) for a in (i.article for i in load_paths(bbc_files) if i.article)}
    squad_texts = {a["id"]: norm(a["text"]) for a in articles}
    squad_ids = tuple(squad_texts)
    libs = {"squad": _library("squad", [SQUAD / "articles.jsonl"], work),
            "squad+bbc": _library("squad-bbc", [SQUAD / "articles.jsonl", *bbc_files], work)}
    all_ids = {"squad": squad_ids, "squad+bbc": squad_ids + tuple(bbc_texts)}
    texts = {"squad": squad_texts, "squad+bbc": {**squad_texts, **bbc_texts}}
    rng = random.Random(15)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with CACHE.open("w", encoding="utf-8") as out:
        for name, lib in libs.items():
            ask = _Asker(lib, name, out)
            for q in answerable:
                golds = [norm(a) for a in q["answers"]]
                aid = q["article_id"]
                ask(q["question"], None, kind="answerable", label=1, group=aid)
                others = tuple(i for i in all_ids[name] if i != aid)
                if not any(g in texts[name][i] for i in others for g in golds):
                    ask(q["question"], others, kind="leave-article-out", label=0, group=aid)
                other = rng.choice(others)  # a one-article library that is not the question's
                if not any(g in texts[name][other] for g in golds):
                    ask(q["question"], (other,), kind="one-other-article", label=0, group=aid)
                if name == "squad":
                    ask(q["question"], (aid,), kind="answerable-alone", label=1, group=aid)
                elif not any(g in t for t in bbc_texts.values() for g in golds):
                    ask(q["question"], tuple(bbc_texts), kind="cross-library", label=0, group=aid)
            for q in unanswerable:
                ask(q["question"], None, kind="hand-written", label=0, group=q["id"])
                ask(q["question"], (rng.choice(all_ids[name]),), kind="hand-written-one-article", label=0, group=q["id"])
            if name == "squad":
                for i, text in enumerate(NEWS_QUESTIONS):
                    ask(text, None, kind="cross-library", label=0, group=f"news-{i}")
                    ask(text, (rng.choice(squad_ids),), kind="cross-library-one-article", label=0, group=f"news-{i}")
            print(f"{name}: done at {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if news_store is not None:
            _collect_news(news_store, libs["squad+bbc"], tuple(bbc_texts), bbc_texts, answerable, out)
            print(f"news: done at {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _week(q: dict) -> tuple[int, int]:
    return tuple(as_date(q["asked"]).isocalendar()[:2])  # type: ignore[return-value]


def _collect_news(store: Path, squad_bbc: Library, bbc_ids: tuple[str, ...], bbc_texts: dict[str, str],
                  squad_questions: list[dict], out: TextIO) -> None:
    """Rows in the product's own domain, so the decision is not learnt from Wikipedia and 2005 BBC alone.

    - answerable-news: news-2025 questions asked of the news-2025 library as of their day, kept when a
      retrieved passage holds a gold answer (the search found it);
    - cross-library-news: the same questions asked of the BBC articles only (2004-05 news cannot hold
      2025's answers; kept when no BBC text holds a gold answer);
    - squad-in-news: squad-dev questions asked of the news-2025 library (kept when no news text holds a gold).
    The last quarter of news-2025's weeks are held out, as in ``rag eval`` reports and benchmarks/time_tune.py.
    """
    settings = Settings(store_path=store, chroma_url=None, collection="eval-articles")
    lib = Library(settings, check=False)
    lib.store._check_identity()  # built by ``rag eval`` with this code's chunking
    _, questions = read_set(NEWS)
    questions = [q for q in questions if q.get("answers")]
    weeks = sorted({_week(q) for q in questions})
    held_weeks = set(weeks[len(weeks) - max(1, len(weeks) // 4):])
    news_text = "\n".join(norm(a["text"]) for a in read_set(NEWS)[0])
    bbc_all = "\n".join(bbc_texts.values())
    ask_news, ask_bbc = _Asker(lib, "news", out), _Asker(squad_bbc, "squad+bbc", out)
    for q in questions:
        meta = {"group": f"news:{q['article_id']}", "held": _week(q) in held_weeks}
        ask_news(q["question"], None, as_of=q["asked"], kind="answerable-news", label=1, golds=q["answers"], **meta)
        if not any(norm(g) in bbc_all for g in q["answers"]):
            ask_bbc(q["question"], bbc_ids, kind="cross-library-news", label=0, **meta)
    for q in squad_questions:
        if not any(norm(g) in news_text for g in q["answers"]):
            ask_news(q["question"], None, kind="squad-in-news", label=0, group=q["article_id"])


def _fold(group: str) -> int:
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % FOLDS


def _held_out(group: str) -> bool:
    """Squad articles in HELD_OUT, and a quarter of the other groups (hand-written and news questions)."""
    if group.startswith("squad-"):
        return group in HELD_OUT
    return int(hashlib.sha256(("held:" + group).encode()).hexdigest(), 16) % 4 == 0


def _threshold(model: Answerability, x: np.ndarray, y: np.ndarray, target: float) -> float:
    """The highest probability threshold that declines at most ``target`` of answerable questions."""
    p = np.sort(model.probability(x[y == 1]))
    return float(p[int(np.floor(target * len(p)))]) if len(p) else 0.5


def _scores(model: Answerability, rows: list[dict]) -> dict:
    out: dict = {}
    for kind in sorted({r["kind"] for r in rows}):
        for lib in ("squad", "squad+bbc", "news"):
            sel = [r for r in rows if r["kind"] == kind and r["library"] == lib]
            if not sel:
                continue
            declined = float(np.mean([not model.answerable(np.array(r["x"])) for r in sel]))
            name = "false_abstention" if kind.startswith("answerable") else "abstention"
            out[f"{kind}/{lib}"] = {"n": len(sel), name: round(declined, 4)}
    return out


def train(l2: float, target: float = TARGET_FALSE_ABSTENTION) -> None:
    rows = [json.loads(line) for line in CACHE.open(encoding="utf-8")]
    missing = set(HELD_OUT) - {r["group"] for r in rows}
    if missing:
        raise SystemExit(f"HELD_OUT names articles with no questions in the cache: {sorted(missing)}")
    dev = [r for r in rows if not (r.get("held") or _held_out(r["group"]))]
    held = [r for r in rows if r.get("held") or _held_out(r["group"])]

    def arrays(rs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        return np.array([r["x"] for r in rs]), np.array([r["label"] for r in rs], dtype=float)

    folds = []
    for f in range(FOLDS):
        tr = [r for r in dev if _fold(r["group"]) != f]
        te = [r for r in dev if _fold(r["group"]) == f]
        x, y = arrays(tr)
        m = fit(x, y, l2)
        m = Answerability(m.mean, m.scale, m.coef, m.intercept, _threshold(m, x, y, target))
        folds.append({"fold": f, "articles": sorted({r["group"] for r in te if r["group"].startswith("squad-")}),
                      **_scores(m, te)})
    x, y = arrays(dev)
    model = fit(x, y, l2)
    model = Answerability(model.mean, model.scale, model.coef, model.intercept, _threshold(model, x, y, target))
    report = {"rows": len(rows), "dev_rows": len(dev), "held_out_rows": len(held), "l2": l2,
              "folds": folds, "held_out": _scores(model, held), "dev_fit": _scores(model, dev),
              "coef": dict(zip(FEATURES, model.coef.round(3).tolist()))}
    MODEL_PATH.write_text(model.to_json(trained_by="benchmarks/answerability.py train", l2=l2,
                                        target_false_abstention=target), encoding="utf-8")
    print(json.dumps(report, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--every", type=int, default=10, help="take every n-th answerable squad-dev question")
    c.add_argument("--bbc-every", type=int, default=3, help="take every n-th BBC article (2 shared cores: 742 of 2,225)")
    c.add_argument("--work", type=Path, default=CACHE.parent / "stores")
    c.add_argument("--news-store", type=Path, default=ROOT / "vectorstore-eval" / "news-2025",
                   help="news-2025's eval store (built by `python -m rag eval ../shared/eval/news-2025`); 'none' to skip")
    t = sub.add_parser("train")
    t.add_argument("--l2", type=float, default=1.0)
    t.add_argument("--target", type=float, default=TARGET_FALSE_ABSTENTION,
                   help="share of answerable training questions the threshold may decline")
    args = ap.parse_args()
    if args.command == "collect":
        collect(args.every, args.bbc_every, args.work, None if str(args.news_store) == "none" else args.news_store)
    else:
        train(args.l2, args.target)


if __name__ == "__main__":
    main()
