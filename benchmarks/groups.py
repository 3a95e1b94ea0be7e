"""How syndicated-copy grouping (rag.groups) behaves on a corpus: groups formed per shingle size and threshold.

    python benchmarks/groups.py                       # the BBC corpus
    python benchmarks/groups.py --corpus DIR --show 0.5:5

Prints one JSON document: for each shingle size and Jaccard threshold, how many groups of two or
more articles form, how many of the corpus's same-headline pairs (different texts) are grouped, and
the grouped pairs whose headlines differ (the candidates for a false merge, to read by hand), each
with its exact Jaccard similarity; plus the time to make the signatures and to assign the groups (CPU seconds, one thread).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.groups import Grouper, shingles, signature  # noqa: E402
from rag.loaders import load_paths  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "bbc"))
    ap.add_argument("--sizes", default="3,5,7")
    ap.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7,0.8")
    ap.add_argument("--show", default="0.5:5", help="THRESHOLD:SIZE whose groups are listed in full")
    args = ap.parse_args()
    articles = [x.article for x in load_paths([args.corpus]) if x.article]
    by_title = defaultdict(list)
    for a in articles:
        by_title[a.title].append(a)
    same_title = {frozenset((x.id, y.id)) for v in by_title.values() for x, y in combinations(v, 2)}
    byid = {a.id: a for a in articles}
    out: dict = {"corpus": args.corpus, "articles": len(articles), "same_headline_pairs": len(same_title), "runs": []}
    for size in map(int, args.sizes.split(",")):
        t0 = time.process_time()
        sigs = [signature(a.title, a.text, size) for a in articles]
        seconds = time.process_time() - t0
        sets: dict = {}
        for threshold in map(float, args.thresholds.split(",")):
            t1 = time.process_time()
            grouper = Grouper({}, threshold)
            groups = defaultdict(list)
            for a, sig in zip(articles, sigs):
                groups[grouper.assign(a.id, a.content_hash[:12], sig)].append(a.id)
            assign_seconds = time.process_time() - t1
            multi = [g for g in groups.values() if len(g) > 1]
            pairs = {frozenset(p) for g in multi for p in combinations(g, 2)}
            other = []
            for p in sorted(pairs - same_title, key=sorted):
                x, y = (byid[i] for i in sorted(p))
                sx, sy = (sets.setdefault(a.id, shingles(f"{a.title}\n{a.text}", size)) for a in (x, y))
                other.append({"a": x.origin.split("bbc/")[-1], "b": y.origin.split("bbc/")[-1], "titles": [x.title, y.title],
                              "jaccard": round(len(sx & sy) / len(sx | sy), 3)})
            missed = []
            for p in sorted(same_title - pairs, key=sorted):
                x, y = (byid[i] for i in sorted(p))
                sx, sy = (sets.setdefault(a.id, shingles(f"{a.title}\n{a.text}", size)) for a in (x, y))
                missed.append({"title": x.title, "jaccard": round(len(sx & sy) / len(sx | sy), 3),
                               "containment": round(len(sx & sy) / min(len(sx), len(sy)), 3)})
            run = {"shingle_words": size, "threshold": threshold, "signature_cpu_seconds": round(seconds, 3),
                   "assign_cpu_seconds": round(assign_seconds, 3),
                   "groups": len(multi), "articles_in_groups": sum(len(g) for g in multi),
                   "same_headline_pairs_grouped": len(same_title & pairs),
                   "other_pairs_grouped": len(other)}
            if args.show == f"{threshold}:{size}":
                run["other_pairs"] = other
                run["same_headline_missed"] = missed
            out["runs"].append(run)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
