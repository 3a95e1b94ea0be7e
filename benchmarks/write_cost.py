"""What an ingest costs besides the model: vectors computed once stand in for it; prints JSON.

    python benchmarks/write_cost.py                                   # BBC
    python benchmarks/write_cost.py --copies 8 --work /tmp/wc         # the ~57k-chunk corpus of bench.py

The model's work is replaced by vectors encoded beforehand (not timed), so the ingest's seconds are
loading, chunking, packing and Chroma writes alone; Chroma's CPU seconds are split by call, and the
cost per chunk of writes is printed by store size (it grows as Chroma's SQLite indexes grow).
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import ROOT, _Memo, load_articles, log, make_large, our_chunk_texts  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "bbc")
    ap.add_argument("--copies", type=int, default=1, help="Ingest this many altered copies of the corpus.")
    ap.add_argument("--work", type=Path, help="Scratch folder (default: a new temporary one, removed at the end).")
    args = ap.parse_args()

    from rag import Library, Settings
    from rag.embeddings import get_embedder

    work = args.work or Path(tempfile.mkdtemp(prefix="rag-writecost-"))
    work.mkdir(parents=True, exist_ok=True)
    embedder = get_embedder()
    files = make_large(args.corpus, work / "corpus", args.copies) if args.copies > 1 else [args.corpus]
    texts = our_chunk_texts(load_articles([args.corpus]), embedder)
    log(f"encoding {len(texts)} chunks once (not timed)")
    memo = _Memo(embedder, texts, embedder.encode(texts))  # copies reuse the original chunk's vector

    store_path = work / "store"
    shutil.rmtree(store_path, ignore_errors=True)
    lib = Library(Settings(store_path=store_path), embedder=memo)
    store, cpu, writes = lib.store, collections.Counter(), []
    for obj, name, label in [(store.chunks, "upsert", "chunk_rows"), (store.texts, "upsert", "article_texts"),
                             (store.records, "upsert", "records"), (store, "_delete_stale_versions", "stale_version_reads"),
                             (store, "_delete_stale_texts", "stale_text_reads")]:
        setattr(obj, name, _timed(getattr(obj, name), label, cpu))
    write = store.write

    def timed_write(items):
        items = list(items)
        c, t = time.process_time(), time.perf_counter()
        write(items)
        writes.append((store.count_chunks(), sum(len(i.chunks) for i in items), time.process_time() - c, time.perf_counter() - t))

    store.write = timed_write
    log("ingest with stored vectors")
    report = lib.ingest(files)
    step = max(1, len(writes) // 8)
    result = {
        "command": " ".join(["python", "benchmarks/write_cost.py", *sys.argv[1:]]),
        "chunks": report.chunks_embedded, "ingest_seconds_without_model": report.seconds,
        "chroma_cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        "write_ms_per_chunk_by_store_size": [
            {"chunks_in_store": part[-1][0], "cpu": round(1000 * sum(w[2] for w in part) / sum(w[1] for w in part), 2),
             "wall": round(1000 * sum(w[3] for w in part) / sum(w[1] for w in part), 2)}
            for part in (writes[i:i + step] for i in range(0, len(writes), step))],
    }
    print(json.dumps(result, indent=2))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


def _timed(fn, label: str, into: collections.Counter):
    def call(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            into[label] += time.process_time() - t
    return call


if __name__ == "__main__":
    main()
