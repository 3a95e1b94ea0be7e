"""Sentence splitters compared on news text: ours (rag.chunking) against pysbd and syntok.

Prints JSON: sentences and seconds per splitter over the BBC corpus and the seed, and the boundaries
where they disagree on a sample (``--sample N`` articles), written with context to ``--dump`` so
they can be judged by hand (the agreed boundaries are taken as right).

    python benchmarks/splitters.py --sample 150 --dump /tmp/split_disagreements.txt
    python benchmarks/splitters.py --eval-limit 400   # squad-dev answer hit with each splitter in the pipeline

``--eval-limit`` runs ``rag eval`` on squad-dev with each splitter in place of ours (the one before
this change is read from git, commit 075f718), never abstaining, so answer hit compares the splitters only.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rag.chunking import split_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "corpus" / "bbc"


def _pysbd():
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)

    def split(text: str) -> list[tuple[int, int]]:
        out = []
        for s in seg.segment(text):
            stripped = s.sent.strip()
            if stripped:
                lead = len(s.sent) - len(s.sent.lstrip())
                out.append((s.start + lead, s.start + lead + len(stripped)))
        return out

    return split


def _syntok():
    import syntok.segmenter as segmenter

    def split(text: str) -> list[tuple[int, int]]:
        out = []
        for para in segmenter.analyze(text):
            for sent in para:
                toks = list(sent)
                out.append((toks[0].offset, toks[-1].offset + len(toks[-1].value)))
        return out

    return split


def _previous() -> object:
    """The splitter before this change, from git (commit 075f718)."""
    source = subprocess.run(["git", "show", "075f718:rag/chunking.py"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    namespace: dict = {"__name__": "rag._chunking_075f718"}
    exec(compile(source.replace("from .schema", "from rag.schema"), "chunking@075f718", "exec"), namespace)
    return namespace["split_sentences"]


def _eval(splitters: dict, limit: int) -> dict:
    import rag.chunking
    import rag.sentences
    from rag.config import Settings
    from rag.evaluate import evaluate

    out = {}
    for name, split in splitters.items():
        rag.chunking.split_sentences = rag.sentences.split_sentences = split
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(store_path=Path(tmp) / "store", answerable_threshold=0.0)
            r = evaluate(ROOT.parent / "shared" / "eval" / "squad-dev", settings, limit=limit)
        out[name] = {k: r[k] for k in ("retrieval_hit@4", "answer_hit", "citation_support", "ingest_seconds")}
    return out


def _ends(spans: list[tuple[int, int]]) -> set[int]:
    return {e for _, e in spans[:-1]}


def _next_starts(text: str, ends: set[int]) -> set[int]:
    """Boundaries as where the next sentence starts (splitters differ in the white space they keep)."""
    return {e + len(text[e:]) - len(text[e:].lstrip()) for e in ends}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=150)
    ap.add_argument("--dump", type=Path, default=None)
    ap.add_argument("--eval-limit", type=int, default=0)
    args = ap.parse_args()
    if args.eval_limit:
        print(json.dumps(_eval({"previous": _previous(), "ours": split_sentences, "syntok": _syntok()}, args.eval_limit),
                         indent=2))
        return
    files = sorted(BBC.glob("*/*.txt")) + sorted((ROOT / "seeds").glob("*.txt"))
    texts = [f.read_bytes().decode("utf-8", "replace") for f in files]
    splitters = {"ours": split_sentences, "pysbd": _pysbd(), "syntok": _syntok()}
    result: dict = {"articles": len(texts), "splitters": {}}
    for name, split in splitters.items():
        t0 = time.perf_counter()
        n = sum(len(split(t)) for t in texts)
        result["splitters"][name] = {"sentences": n, "seconds": round(time.perf_counter() - t0, 3)}
    random.seed(15)
    sample = random.sample(range(len(texts)), min(args.sample, len(texts)))
    lines: list[str] = []
    counts = {name: 0 for name in splitters}
    total_disagreements = 0
    for i in sample:
        text = texts[i]
        ends = {name: _ends(split(text)) for name, split in splitters.items()}
        counts = {name: counts[name] + len(split(text)) for name, split in splitters.items()}
        starts = {name: _next_starts(text, es) for name, es in ends.items()}
        every = set().union(*starts.values())
        for pos in sorted(every):
            who = sorted(name for name in splitters if pos in starts[name])
            if len(who) == len(splitters):
                continue
            total_disagreements += 1
            ctx = text[max(0, pos - 70):pos].replace("\n", "⏎") + " ‖ " + text[pos:pos + 50].replace("\n", "⏎")
            lines.append(f"{files[i].relative_to(files[i].parents[1])}:{pos}\tsplit by {','.join(who)}\t{ctx}")
    result["sample"] = {"articles": len(sample), "sentences": counts, "disagreements": total_disagreements}
    if args.dump:
        args.dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
