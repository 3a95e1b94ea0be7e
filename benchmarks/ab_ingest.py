"""Ingest speed of this tree against another checkout of the project, alternating; prints JSON.

    python benchmarks/ab_ingest.py --base /tmp/base   # e.g. git archive 075f718 | tar -x -C /tmp/base
    python benchmarks/ab_ingest.py --base /tmp/base --corpus DIR [DIR...] --rounds 3

Each round ingests the corpus into a fresh store once with each tree (in a child process started
in that tree, so each imports its own ``rag``), alternating which goes first. On a shared machine the
rounds' absolute times drift; the ratio of medians and the per-round ratios are what to compare, and
the CPU seconds the ingest used (all its threads), which other processes disturb less than wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from rag import Library, Settings
lib = Library(Settings(store_path=Path(sys.argv[2])))
lib.embedder  # loaded before the clock starts in both trees (it loads lazily since the record-only commands skip it)
before = resource.getrusage(resource.RUSAGE_SELF)
report = lib.ingest(sys.argv[3:])
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
print(json.dumps({"seconds": report.seconds, "cpu_seconds": round(cpu, 3), "added": len(report.added),
                  "chunks": report.chunks_embedded}))
"""


def ingest(tree: Path, corpus: list[Path], work: Path) -> dict:
    store = Path(tempfile.mkdtemp(dir=work))
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(store), *map(str, corpus)], cwd=tree,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"ingest in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True, help="The other checkout (the code before the change).")
    ap.add_argument("--corpus", type=Path, nargs="+", default=[ROOT.parent / "shared" / "corpus" / "bbc"])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    trees = {"base": args.base.resolve(), "head": ROOT}
    times: dict[str, list[float]] = {"base": [], "head": []}
    cpu: dict[str, list[float]] = {"base": [], "head": []}
    runs = []
    with tempfile.TemporaryDirectory() as work:
        for r in range(args.rounds):
            for name in (("base", "head") if r % 2 == 0 else ("head", "base")):
                got = ingest(trees[name], args.corpus, Path(work))
                times[name].append(got["seconds"])
                cpu[name].append(got["cpu_seconds"])
                runs.append({"round": r, "tree": name, **got})
                print(f"[ab {time.strftime('%H:%M:%S')}] round {r} {name}: {got['seconds']} s, {got['cpu_seconds']} s CPU",
                      file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print(json.dumps({"corpus": [str(c) for c in args.corpus], "rounds": args.rounds, "runs": runs,
                      "median_seconds": med, "head_over_base": round(med["head"] / med["base"], 4),
                      "per_round_head_over_base": [round(h / b, 4) for h, b in zip(times["head"], times["base"])],
                      "median_cpu_seconds": med_cpu, "cpu_head_over_base": round(med_cpu["head"] / med_cpu["base"], 4)},
                     indent=1))


if __name__ == "__main__":
    main()
