"""float32 against bfloat16 for the embedding model: ingest speed and how much the vectors move.

    python benchmarks/precision.py                 # the first 400 BBC articles
    python benchmarks/precision.py --articles 1000

Prints JSON: for each precision, our ingest (a child process, as ``bench.py`` runs it) and a bare
``encode`` of the same chunks, then the speed-up and the cosine between the two precisions' vectors.
Retrieval quality is measured separately, on the evaluation set, with a store per precision:

    RAG_STORE_PATH=/tmp/p32/vectorstore RAG_EMBEDDING_PRECISION=float32 python -m rag eval ../shared/eval/squad-dev
    RAG_STORE_PATH=/tmp/p16/vectorstore RAG_EMBEDDING_PRECISION=bfloat16 python -m rag eval ../shared/eval/squad-dev
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import ROOT, bare_encode, load_articles, log, our_chunk_texts, run_child_ingest  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "bbc")
    ap.add_argument("--articles", type=int, default=400)
    args = ap.parse_args()

    from rag.embeddings import Embedder, native_bfloat16

    files = sorted(p for p in args.corpus.rglob("*.txt") if p.name.upper() != "README.TXT")[:args.articles]
    work = Path(tempfile.mkdtemp(prefix="rag-precision-"))
    result: dict = {"command": " ".join(["python", "benchmarks/precision.py", *sys.argv[1:]]),
                    "native_bfloat16": native_bfloat16(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}
    vectors = {}
    try:
        articles = load_articles(files)
        for precision in ("float32", "bfloat16"):
            embedder = Embedder(precision=precision)
            texts = our_chunk_texts(articles, embedder)
            embedder.encode(["warm up", "the model"])
            seconds, vectors[precision] = bare_encode(texts, embedder)
            log(f"{precision}: bare encode of {len(texts)} chunks {seconds:.1f} s; our ingest (child process)")
            os.environ["RAG_EMBEDDING_PRECISION"] = precision
            ingest = run_child_ingest(work / precision, files)
            result[precision] = {"chunks": len(texts), "bare_encode_s": round(seconds, 2), "ingest_s": ingest["seconds"],
                                 "ingest_chunks_per_s": round(ingest["chunks_embedded"] / ingest["seconds"], 1)}
            log(f"{precision}: {result[precision]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cos = np.sum(vectors["float32"] * vectors["bfloat16"], axis=1)
    result["speedup"] = {"ingest": round(result["float32"]["ingest_s"] / result["bfloat16"]["ingest_s"], 3),
                         "bare_encode": round(result["float32"]["bare_encode_s"] / result["bfloat16"]["bare_encode_s"], 3)}
    result["cosine_float32_vs_bfloat16"] = {"min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6)}
    result["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
