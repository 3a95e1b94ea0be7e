"""How long the chat page takes on a large library, this tree against another checkout; prints JSON.

    python -m rag eval ../shared/eval/news-2025              # builds the eval store (5,280 articles) once
    git archive 135be2f | tar -x -C /tmp/base
    python benchmarks/ui_library.py --base /tmp/base --rounds 2

Each round starts the page in a child process per tree (Streamlit's AppTest on ``ui/app.py``, each tree
importing its own ``rag`` and ``ui``) on one existing store, read only (conversations and uploads go to a
temporary folder), then times five reruns with nothing asked (what every click in the sidebar costs) and three
questions. A question's time includes the word-by-word display of its answer (12 ms a word).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ("Which company announced it would close all its stores?", "Who won the Super Bowl?",
             "What did the Federal Reserve decide about interest rates?")

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1] + "/ui/app.py", default_timeout=600)
t = time.perf_counter(); at.run(); cold = time.perf_counter() - t
reruns = []
for _ in range(5):
    t = time.perf_counter(); at.run(); reruns.append(time.perf_counter() - t)
asks = []
for q in json.loads(sys.argv[2]):
    at.chat_input[0].set_value(q)
    t = time.perf_counter(); at.run(); asks.append(time.perf_counter() - t)
if at.exception:
    sys.exit(f"app raised: {at.exception}")
print(json.dumps({"start_s": round(cold, 3), "rerun_s": round(sorted(reruns)[2], 3),
                  "question_s": [round(x, 3) for x in asks]}))
"""


def run(tree: Path, store: Path, collection: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="ui-library-") as tmp:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "RAG_STORE_PATH": str(store),
               "RAG_COLLECTION": collection, "RAG_CONVERSATIONS_PATH": f"{tmp}/conversations",
               "RAG_UPLOADS_PATH": f"{tmp}/uploads"}
        out = subprocess.run([sys.executable, "-c", CHILD, str(tree), json.dumps(QUESTIONS)], cwd=tree,
                             capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"the page in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True, help="The other checkout (the code before the change).")
    ap.add_argument("--store", type=Path, default=ROOT / "vectorstore-eval" / "news-2025")
    ap.add_argument("--collection", default="eval-articles")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    trees = {"base": args.base.resolve(), "head": ROOT}
    reruns: dict[str, list[float]] = {"base": [], "head": []}
    runs = []
    for r in range(args.rounds):
        for name in (("base", "head") if r % 2 == 0 else ("head", "base")):
            got = run(trees[name], args.store, args.collection)
            reruns[name].append(got["rerun_s"])
            runs.append({"round": r, "tree": name, **got})
            print(f"[ui {time.strftime('%H:%M:%S')}] round {r} {name}: rerun {got['rerun_s']} s", file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in reruns.items()}
    print(json.dumps({"store": str(args.store), "rounds": args.rounds, "runs": runs, "median_rerun_s": med,
                      "head_over_base": round(med["head"] / med["base"], 4)}, indent=1))


if __name__ == "__main__":
    main()
