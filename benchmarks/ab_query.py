"""Question latency of this tree against another checkout, on one existing store, alternating; prints JSON.

    python -m rag eval ../shared/eval/news-2025              # builds the eval store (71,780 chunks) once
    git archive 0a892ec | tar -x -C /tmp/base
    python benchmarks/ab_query.py --base /tmp/base --set ../shared/eval/news-2025 --rounds 2

Each round runs every question of the set through the chain (retrieval and extractive answer, no LLM), as
of its ``asked`` date, once in a child process started in each tree (each imports its own ``rag``), after
one warm-up pass that builds the BM25 index and reads the passages; each timed question is encoded again, as a
new question would be (runs before this note reused the warm-up's question vectors, so they left out the
encoding). Both trees read the same eval store read-only, so it must have been built by code with the same
store identity.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from rag import Library, Settings
from rag.chain import build_chain
folder, store = Path(sys.argv[2]), Path(sys.argv[3])
lib = Library(Settings(store_path=store, collection="eval-articles"))
chain = build_chain(lib)
qs = [json.loads(line) for line in (folder / "questions.jsonl").open(encoding="utf-8") if line.strip()]
inputs = [{"question": q["question"], "as_of": q.get("asked")} for q in qs]
for x in inputs:  # warm-up: BM25 index, sentence vectors, groups
    chain.invoke(x)
lib.embedder.forget_questions()  # each timed question is encoded, as a new one would be
ms = []
for x in inputs:
    t = time.perf_counter()
    chain.invoke(x)
    ms.append((time.perf_counter() - t) * 1000)
ms.sort()
print(json.dumps({"questions": len(ms), "chunks": lib.chunk_count(), "p50_ms": round(ms[len(ms) // 2], 1),
                  "p95_ms": round(ms[int(len(ms) * 0.95)], 1)}))
"""


def run(tree: Path, folder: Path, store: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(folder), str(store)], cwd=tree,
                         capture_output=True, text=True, check=False,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"})
    if out.returncode != 0:
        raise RuntimeError(f"questions in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True, help="The other checkout (the code before the change).")
    ap.add_argument("--set", type=Path, default=ROOT.parent / "shared" / "eval" / "news-2025")
    ap.add_argument("--store", type=Path, help="The set's eval store (default: where `rag eval` puts it).")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    store = args.store or ROOT / "vectorstore-eval" / args.set.name
    trees = {"base": args.base.resolve(), "head": ROOT}
    p50: dict[str, list[float]] = {"base": [], "head": []}
    runs = []
    for r in range(args.rounds):
        for name in (("base", "head") if r % 2 == 0 else ("head", "base")):
            got = run(trees[name], args.set, store)
            p50[name].append(got["p50_ms"])
            runs.append({"round": r, "tree": name, **got})
            print(f"[ab {time.strftime('%H:%M:%S')}] round {r} {name}: p50 {got['p50_ms']} ms", file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in p50.items()}
    print(json.dumps({"set": args.set.name, "rounds": args.rounds, "runs": runs, "median_p50_ms": med,
                      "head_over_base": round(med["head"] / med["base"], 4)}, indent=1))


if __name__ == "__main__":
    main()
