"""Time from process start to the first answer (``rag ask``), this tree against another checkout; prints JSON.

    python -m rag eval ../shared/eval/news-2025              # builds the eval store (71,780 chunks) once
    git archive 54eb5e1 | tar -x -C /tmp/base
    python benchmarks/first_answer.py --base /tmp/base --store vectorstore-eval/news-2025 --rounds 3

Each round, alternating: the base tree answers one question in a new process (it builds the BM25 index from
the store every time); this tree answers it with no saved index (it builds the index, and saves it before the
process exits: ``head_cold``); and again, now loading the saved one (``head_warm``). Every process loads the
model and opens the store, as ``rag ask`` does. Both trees must have the same store identity.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which American restaurant chain added a surcharge to egg-based meals due to bird flu shortages?"


def ask(tree: Path, store: Path, collection: str, question: str) -> float:
    env = {**os.environ, "RAG_STORE_PATH": str(store), "RAG_COLLECTION": collection, "HF_HUB_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False"}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag", "ask", "--json", question], cwd=tree, env=env,
                         capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if out.returncode != 0 or not json.loads(out.stdout)["citations"]:
        raise RuntimeError(f"rag ask in {tree} failed:\n{out.stderr[-3000:]}")
    return round(seconds, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True, help="The other checkout (e.g. the previous release).")
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--collection", default="eval-articles")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--question", default=QUESTION)
    args = ap.parse_args()
    store, saved = args.store.resolve(), args.store.resolve() / "lexical"
    load = [round(x, 2) for x in os.getloadavg()]
    times: dict[str, list[float]] = {"base": [], "head_cold": [], "head_warm": []}
    for r in range(args.rounds):
        times["base"].append(ask(args.base.resolve(), store, args.collection, args.question))
        shutil.rmtree(saved, ignore_errors=True)
        times["head_cold"].append(ask(ROOT, store, args.collection, args.question))
        times["head_warm"].append(ask(ROOT, store, args.collection, args.question))
        print(f"round {r + 1}: {json.dumps({k: v[-1] for k, v in times.items()})}", file=sys.stderr)
    median = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({
        "command": " ".join(["python", "benchmarks/first_answer.py", *sys.argv[1:]]),
        "load_avg_at_start": load,
        "seconds": times, "median_seconds": median,
        "head_warm_over_base": round(median["head_warm"] / median["base"], 4),
        "head_cold_over_base": round(median["head_cold"] / median["base"], 4),
        "saved_index_mb": round(sum(f.stat().st_size for f in saved.rglob("*") if f.is_file()) / 2**20, 1)
        if saved.exists() else 0.0,
    }, indent=1))


if __name__ == "__main__":
    main()
