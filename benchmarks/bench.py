"""Ingest and query benchmark; prints one JSON document on stdout (progress on stderr).

    python benchmarks/bench.py                  # BBC corpus and a ~50k-chunk corpus made from it
    python benchmarks/bench.py --large reuse    # the 50k store built with the BBC vectors: RSS and queries
    python benchmarks/bench.py --large none     # BBC corpus only
    python benchmarks/bench.py --corpus DIR --large-chunks 20000 --queries 100
    python benchmarks/bench.py --langchain same  # the tutorial only with our embedder (skips the slow float32 one)

For each corpus, in one run: our ingest (a child process, for its peak RSS), re-ingest of the
unchanged corpus, the LangChain tutorial pipeline on the same articles (1,000-character
RecursiveCharacterTextSplitter splits, the same model as a LangChain ``Embeddings``,
``langchain_chroma.Chroma.from_documents``), and a bare ``SentenceTransformer.encode`` of our own
chunks (the ceiling, at the precision our ingest uses). The tutorial pipeline runs twice: as written
(``langchain_tutorial_as_written``: sentence-transformers' float32), and with our embedder
(``langchain_tutorial``: our bfloat16 batches too, so only the pipelines differ). Then query
latency through the chain (retrieval + extractive answer) at about 1k, 10k and 50k chunks, and the
time from process start to the first answer. Absolute times depend
on the machine and on what else runs on it; compare the ratios measured within one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import config  # noqa: E402,F401  (offline environment before any model import)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB: ``VmHWM``, not ``ru_maxrss``.

    Linux keeps the peak of the image a process replaces at exec in ``ru_maxrss``, so an ingest child
    started from this script reported the script's own peak: 2131.2 at 57k chunks, just after the
    script had held the bare encode's texts and vectors; the same ingest started from a shell peaked
    at 1435.3.
    """
    try:
        with open("/proc/self/status") as f:
            return round(next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024, 1)  # kB
    except (OSError, StopIteration):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


# -- child process: one ingest, measured from inside (so its peak RSS is its own)

def child_ingest(store: str, paths: list[str], memo_file: str | None = None) -> None:
    from rag import Library, Settings

    embedder = None
    if memo_file:
        import pickle

        from rag.embeddings import get_embedder

        with open(memo_file, "rb") as f:
            texts, vecs = pickle.load(f)
        embedder = _Memo(get_embedder(), texts, vecs)
    lib = Library(Settings(store_path=Path(store)), embedder=embedder)
    report = lib.ingest(paths)
    print(json.dumps({"seconds": report.seconds, "added": len(report.added), "unchanged": len(report.unchanged),
                      "chunks_embedded": report.chunks_embedded, "chunks_in_store": lib.store.count_chunks(),
                      "skipped": len(report.skipped), "peak_rss_mb": peak_rss_mb()}))


def run_child_ingest(store: Path, paths: list[Path], memo_file: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "_ingest" if memo_file is None else f"_ingest_memo={memo_file}", str(store), *map(str, paths)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"ingest child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- corpora

def load_articles(paths: list[Path]):
    from rag.loaders import load_paths

    return [item.article for item in load_paths(paths, 20_000_000) if item.article]


def make_large(src: Path, dest: Path, copies: int) -> list[Path]:
    """``copies`` copies of ``src``; copy n>0 ends with a line naming it, so ids and content hashes differ."""
    folders = []
    for n in range(copies):
        out = dest / f"copy{n:02d}"
        folders.append(out)
        if out.exists():
            continue
        for f in sorted(src.rglob("*.txt")):
            if f.name.upper() == "README.TXT":
                continue
            target = out / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = f.read_bytes()
            target.write_bytes(data if n == 0 else data.rstrip() + f"\n\nArchive copy {n}.\n".encode())
    return folders


def text_mb(articles) -> float:
    return sum(len(a.text.encode("utf-8")) for a in articles) / 1e6


def our_chunk_texts(articles, embedder) -> list[str]:
    from rag.chunking import chunk_article
    from rag.config import Settings
    from rag.sentences import embed_text

    s = Settings()
    return [embed_text(a.title, c.text) for a in articles
            for c in chunk_article(a, embedder.word_pieces(a.text), s.chunk_tokens, s.chunk_overlap_tokens)]


def bare_encode(texts: list[str], embedder) -> tuple[float, object]:
    """``SentenceTransformer.encode`` alone, with the model our ingest uses (bfloat16 or float32 weights)."""
    t0 = time.perf_counter()
    vecs = embedder.model_for(len(texts)).encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True,
                                                 convert_to_numpy=True)
    return time.perf_counter() - t0, vecs


def langchain_tutorial(articles, embedder, where: Path) -> dict:
    """The LangChain RAG tutorial's indexing step on the files of the same articles."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    t0 = time.perf_counter()
    docs = [Document(page_content=Path(a.origin or a.source).read_text(encoding="utf-8", errors="replace"),
                     metadata={"source": a.source}) for a in articles]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True).split_documents(docs)
    store = Chroma.from_documents(splits, embedding=embedder, persist_directory=str(where), collection_name="tutorial")
    seconds = time.perf_counter() - t0
    assert store._collection.count() == len(splits)
    return {"seconds": round(seconds, 2), "chunks": len(splits)}


def ingest_figures(name: str, files: list[Path], work: Path, embedder, lc_embedders: dict) -> dict:
    articles = load_articles(files)
    mb = text_mb(articles)
    log(f"{name}: {len(articles)} articles, {mb:.1f} MB of text")
    texts = our_chunk_texts(articles, embedder)
    log(f"{name}: bare encode of our {len(texts)} chunks")
    bare_s, vecs = bare_encode(texts, embedder)
    log(f"{name}: bare encode {bare_s:.1f} s; our ingest (child process)")
    store = work / f"store-{name}"
    ours = run_child_ingest(store, files)
    log(f"{name}: ingest {ours['seconds']:.1f} s; re-ingest unchanged")
    again = run_child_ingest(store, files)
    lcs = {}
    for key, lc_embedder in lc_embedders.items():
        log(f"{name}: {key} ({lc_embedder.precision})")
        where = work / f"{key}-{name}"  # a folder each: Chroma keeps a client per path in the process
        lcs[key] = {**langchain_tutorial(articles, lc_embedder, where), "precision": lc_embedder.precision}
        shutil.rmtree(where, ignore_errors=True)
        log(f"{name}: {key} {lcs[key]['seconds']:.1f} s")
    rate = lambda s: round(mb / s, 3) if s else None  # noqa: E731
    return {
        "articles": len(articles), "text_mb": round(mb, 2), "chunks": ours["chunks_in_store"],
        "ingest": {"seconds": ours["seconds"], "mb_per_s": rate(ours["seconds"]),
                   "chunks_per_s": round(ours["chunks_embedded"] / ours["seconds"], 1), "peak_rss_mb": ours["peak_rss_mb"]},
        "reingest_unchanged": {"seconds": again["seconds"], "chunks_embedded": again["chunks_embedded"]},
        **{key: {**lc, "mb_per_s": rate(lc["seconds"])} for key, lc in lcs.items()},
        "bare_encode": {"seconds": round(bare_s, 2), "mb_per_s": rate(bare_s), "chunks": len(texts)},
        "ratios": {
            "ingest_speed_vs_bare_encode": round(bare_s / ours["seconds"], 3),
            **{key.replace("langchain_tutorial", "ingest_speed_vs_langchain"): round(lc["seconds"] / ours["seconds"], 3)
               for key, lc in lcs.items()},
            "reingest_time_vs_ingest": round(again["seconds"] / ours["seconds"], 4),
        },
        "_store": str(store), "_texts": texts, "_vecs": vecs, "_articles": articles,
    }


# -- query latency

class _Memo:
    """Our embedder with vectors already computed for known texts (to build query stores quickly).

    A chunk of an archive copy differs from the original only by the closing "Archive copy N." line;
    it reuses the original's vector (close enough for timing a search; the vectors are not scored).
    """

    def __init__(self, embedder, texts, vecs) -> None:
        self._e = embedder
        self._known = dict(zip(texts, vecs))

    def __getattr__(self, name):
        return getattr(self._e, name)

    def encode(self, texts, show_progress=False):
        for t in texts:
            if t not in self._known:
                base = _COPY_LINE.sub("", t)
                if base in self._known:
                    self._known[t] = self._known[base]
        missing = [t for t in texts if t not in self._known]
        if missing:
            self._known.update(zip(missing, self._e.encode(missing)))
        return np.stack([self._known[t] for t in texts]) if texts else self._e.encode(texts)

    def encode_with_spans(self, texts, spans, pieces=None):
        """Known vectors; every sentence gets its chunk's vector (only timing and sizes matter here)."""
        vecs = self.encode(texts)
        return vecs, [np.repeat(v[None, :], len(sp), axis=0) for v, sp in zip(vecs, spans)]


_COPY_LINE = re.compile(r"\s*Archive copy \d+\.\s*$")


def build_store(articles, target_chunks: int, store: Path, memo) -> None:
    from rag import Library, Settings

    lib = Library(Settings(store_path=store), embedder=memo)
    picked, n = [], 0
    for a in articles:
        picked.append(a)
        n += len(lib.chunk(a))
        if n >= target_chunks:
            break
    lib.ingest_articles(picked)


def questions(articles, n: int) -> list[str]:
    rnd = random.Random(7)
    picks = rnd.sample(articles, min(n, len(articles)))
    forms = ["What happened with {}?", "Tell me about {}", "Why {}?", "{} - what are the details?"]
    return [rnd.choice(forms).format(a.title.rstrip(".?!")) for a in picks]


def query_latency(store: Path, embedder, qs: list[str]) -> dict:

    from rag import Library, Settings
    from rag.chain import build_chain

    lib = Library(Settings(store_path=store), embedder=embedder)
    chain = build_chain(lib)
    t0 = time.perf_counter()
    chain.invoke(qs[0])  # builds the lexical index once
    first = time.perf_counter() - t0
    for q in qs[1:4]:
        chain.invoke(q)
    total, enc, dense, lexical, stored = [], [], [], [], []
    lex = lib.lexical.get()
    for q in qs:
        embedder.forget_questions()  # each timed question is encoded, as a new question would be
        t = time.perf_counter()
        answer = chain.invoke(q)
        total.append(time.perf_counter() - t)
        assert answer.text
        t = time.perf_counter()
        qvec = embedder.encode([q])[0]
        enc.append(time.perf_counter() - t)
        t = time.perf_counter()
        lib.store.dense(qvec, lib.settings.fetch_k, None)
        dense.append(time.perf_counter() - t)
        t = time.perf_counter()
        lex.search(q, lib.settings.fetch_k)
        lexical.append(time.perf_counter() - t)
        t = time.perf_counter()
        lib.store.sentence_blobs([p.chunk_id for p in answer.passages])
        stored.append(time.perf_counter() - t)
    ms = lambda xs, p: round(float(np.percentile(np.array(xs) * 1000, p)), 1)  # noqa: E731
    return {"chunks": len(lex.ids), "queries": len(qs), "p50_ms": ms(total, 50), "p95_ms": ms(total, 95),
            "first_query_s_incl_index_build": round(first, 2),
            "parts_p50_ms": {"encode_query": ms(enc, 50), "chroma_dense": ms(dense, 50), "bm25": ms(lexical, 50),
                             "read_sentence_vectors": ms(stored, 50)}}


def first_answer_seconds(store: Path, question: str) -> dict:
    env = {**os.environ, "RAG_STORE_PATH": str(store)}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag", "ask", "--json", question], capture_output=True, text=True,
                         cwd=ROOT, env=env, check=False)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return {"seconds": round(seconds, 2), "answered": bool(json.loads(out.stdout)["citations"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "bbc")
    ap.add_argument("--large-chunks", type=int, default=50_000, help="Size of the repeated corpus, in chunks.")
    ap.add_argument("--large", choices=["full", "reuse", "none"], default="full",
                    help="full: every ingest figure on the large corpus too (the longest part); reuse: build it "
                         "with the vectors already computed for the corpus (peak RSS, store overhead and the "
                         "query figures, no embedding speed); none: skip it.")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--langchain", choices=["both", "same"], default="both",
                    help="both: the tutorial pipeline as written (float32) and with our embedder; "
                         "same: only with our embedder (bfloat16 batches where we use them).")
    ap.add_argument("--work", type=Path, help="Scratch folder (default: a new temporary one, removed at the end).")
    args = ap.parse_args()

    import pickle

    import torch

    from rag.embeddings import get_embedder

    work = args.work or Path(tempfile.mkdtemp(prefix="rag-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    embedder = get_embedder()
    result: dict = {"command": " ".join(["python", "benchmarks/bench.py", *sys.argv[1:]]),
                    "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                                "embedding_precision": embedder.precision,
                                "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]},
                    "corpora": {}, "queries": {}}
    question = "What did TimeWarner's profits do?"
    try:
        embedder.encode(["warm up the model", "before anything is timed"])
        lc_embedders = {"langchain_tutorial": embedder}
        if args.langchain == "both":
            from rag.embeddings import Embedder

            lc_embedders["langchain_tutorial_as_written"] = Embedder(precision="float32")
        bbc = ingest_figures("bbc", [args.corpus], work, embedder, lc_embedders)
        result["corpora"]["bbc"] = bbc
        result["first_answer"] = {"bbc": first_answer_seconds(Path(bbc["_store"]), question)}

        copies = math.ceil(args.large_chunks / max(1, bbc["chunks"]))
        large_files = make_large(args.corpus, work / "large-corpus", copies) if args.large != "none" else []
        memo = _Memo(embedder, bbc["_texts"], bbc["_vecs"])
        large_store = None
        if args.large == "full":
            large = ingest_figures("large", large_files, work, embedder, lc_embedders)
            result["corpora"]["large"] = large
            large_store = Path(large["_store"])
            memo = _Memo(embedder, large["_texts"], large["_vecs"])
        elif args.large == "reuse":
            memo_file = work / "bbc-vectors.pkl"
            with memo_file.open("wb") as f:
                pickle.dump((bbc["_texts"], bbc["_vecs"]), f)
            large_store = work / "store-large"
            log(f"large corpus ({copies} copies): ingest with reused vectors (child process)")
            got = run_child_ingest(large_store, large_files, memo_file)
            result["corpora"]["large_reused_vectors"] = {
                "articles": got["added"], "chunks": got["chunks_in_store"],
                "ingest_seconds_without_embedding": got["seconds"], "peak_rss_mb": got["peak_rss_mb"],
            }
            log(f"large corpus: {got}")
        if large_store is not None:
            result["first_answer"]["large"] = first_answer_seconds(large_store, question)
        qs = questions(bbc["_articles"], args.queries)
        source = load_articles(large_files[:3]) if large_files else bbc["_articles"]
        for name, target in (("1k", 1_000), ("10k", 10_000)):
            store = work / f"store-q{name}"
            log(f"query store {name}: building")
            build_store(source, target, store, memo)
            result["queries"][name] = query_latency(store, embedder, qs)
            log(f"query store {name}: {result['queries'][name]}")
        if large_store is not None:
            result["queries"]["50k"] = query_latency(large_store, embedder, qs)
            log(f"query store 50k: {result['queries']['50k']}")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    for c in result["corpora"].values():
        for key in [k for k in c if k.startswith("_")]:
            del c[key]
    result["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["seconds"] = round(time.time() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_ingest"):
        child_ingest(sys.argv[2], sys.argv[3:], sys.argv[1].partition("=")[2] or None)
    else:
        main()
