"""Soak test of a long-running service: one process answers questions without pause while this one
ingests, updates and removes articles in cycles. Prints one JSON document per mode on stdout.

    nice -n 5 python benchmarks/soak.py                          # embedded and server, 50 cycles each
    python benchmarks/soak.py --mode server --cycles 10 --articles 40

The serving process is a child that builds the chain once (as the UI does) and asks BBC questions in a
loop; its RSS is read from /proc after each cycle. Each cycle adds two new articles, rewrites two and
deletes two files, then syncs with ``ingest --prune`` from this process's own long-lived Library.
Every passage cited by every answer is checked against the article versions this process
committed: its text must be exactly that version's ``text[start:end]`` (committed-only answers).
``rss_growth_mb`` is the last cycle's RSS minus the RSS after the warm-up cycles.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BBC = ROOT.parent / "shared" / "corpus" / "bbc"
QUESTIONS = ["What did the company report about profits?", "Who won the match?", "What new technology was announced?",
             "What did the government minister say?", "Which film was a success?", "What happened to the share price?",
             "Who is the new chief executive?", "What did the band release?", "revised story correction"]

SERVE = """
import json, os, sys, time
from pathlib import Path
from rag import Library, Settings, build_chain
out, stop = Path(sys.argv[1]), Path(sys.argv[2])
questions = json.loads(sys.argv[3])
chain = build_chain(Library(Settings()))
n = 0
with out.open("w") as f:
    while not stop.exists():
        q = questions[n % len(questions)]
        n += 1
        try:
            a = chain.invoke(q)
            cited = [[c.chunk_id, c.article_id, c.start, c.end, c.passage] for c in a.citations]
            print(json.dumps({"t": time.time(), "cited": cited}), file=f, flush=True)
        except Exception as exc:
            print(json.dumps({"t": time.time(), "error": f"{type(exc).__name__}: {exc}"[:300]}), file=f, flush=True)
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def bbc_files(n: int) -> list[Path]:
    """``n`` BBC articles, taken round-robin from the five categories."""
    cats = [sorted((BBC / c).glob("*.txt")) for c in sorted(p.name for p in BBC.iterdir() if p.is_dir())]
    return [cats[i % len(cats)][i // len(cats)] for i in range(n)]


def revise(text: str, cycle: int) -> str:
    head, _, body = text.partition("\n")
    return f"{head}\n\nThis revised story carries correction number {cycle}.\n\n{body}"


def answered(log: Path) -> list[dict]:
    """The answers the serving process has written in full (its last line may be half-written)."""
    text = log.read_text() if log.exists() else ""
    return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]


def wait_for_answers(log: Path, after: float, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until the serving process has answered a question asked after ``after`` (it has seen the write)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the serving process exited with code {proc.returncode}")
        answers = answered(log)
        if answers and answers[-1]["t"] > after + 0.5:
            return
        time.sleep(0.2)
    raise RuntimeError("the serving process gave no answer in time")


def soak(mode: str, cycles: int, articles: int, warmup: int, work: Path, embedder=None) -> dict:
    """One soak run; ``embedder`` (optional) is reused by the writing side instead of loading the model again."""
    from rag import Library, Settings

    folder, store = work / "articles", work / "store"
    folder.mkdir(parents=True)
    server = None
    env = {**os.environ, "RAG_STORE_PATH": str(store), "PYTHONPATH": str(ROOT), "RAG_COLLECTION": "soak"}
    env.pop("RAG_CHROMA_URL", None)
    if mode == "server":
        from tests.servers import start_server

        server, url = start_server(work / "chroma", work / "chroma.log")
        env["RAG_CHROMA_URL"] = url
    settings = Settings(store_path=store, chroma_url=env.get("RAG_CHROMA_URL"), collection="soak")
    pool = bbc_files(articles + 2 * cycles)
    for f in pool[:articles]:
        shutil.copy(f, folder / f.name.replace(".txt", f"-{f.parent.name}.txt"))
    library = Library(settings, embedder=embedder)
    committed: dict[str, dict[str, str]] = {}  # article id -> version -> text

    def sync() -> dict:
        report = library.ingest([folder], prune=True)
        for aid in report.added + report.updated:
            a = library.article(aid)
            committed.setdefault(aid, {})[a.content_hash[:12]] = a.text
        return report.to_dict()

    sync()
    log, stop = work / "answers.jsonl", work / "stop"
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(log), str(stop), json.dumps(QUESTIONS)], env=env,
                            cwd=ROOT, stderr=(work / "serve.err").open("w"))
    rss, seconds = [], []
    try:
        wait_for_answers(log, time.time(), proc)
        fresh = iter(pool[articles:])
        for cycle in range(cycles):
            t0 = time.time()
            files = sorted(folder.glob("*.txt"))
            for f in files[:2]:  # the two oldest are removed
                f.unlink()
            for f in files[2:4]:  # two are rewritten
                f.write_text(revise(f.read_text(encoding="utf-8"), cycle), encoding="utf-8")
            for _ in range(2):  # two are new
                src = next(fresh)
                shutil.copy(src, folder / f"z{cycle:03d}-{src.parent.name}-{src.name}")
            sync()
            wait_for_answers(log, time.time(), proc)
            seconds.append(round(time.time() - t0, 2))
            rss.append(rss_mb(proc.pid))
            print(f"{mode} cycle {cycle + 1}/{cycles}: serving RSS {rss[-1]} MB", file=sys.stderr, flush=True)
    finally:
        stop.touch()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        library.store.close()
        if server is not None:
            from tests.servers import stop as stop_server

            stop_server(server)
    answers = answered(log)
    errors = [a["error"] for a in answers if "error" in a]
    not_committed = [c for a in answers for c in a.get("cited", ())
                     if committed.get(c[1], {}).get(c[0].rsplit(":", 2)[1], "\0")[c[2]:c[3]] != c[4]]
    base = rss[min(warmup, len(rss)) - 1] if rss else None
    return {
        "mode": mode, "cycles": cycles, "articles": articles, "warmup_cycles": warmup,
        "questions": len(answers), "answers_with_citations": sum(bool(a.get("cited")) for a in answers),
        "cited_passages_checked": sum(len(a.get("cited", ())) for a in answers),
        "errors": len(errors), "error_samples": errors[:3],
        "not_committed": len(not_committed), "not_committed_samples": not_committed[:3],
        "rss_mb": rss, "rss_after_warmup_mb": base, "rss_last_mb": rss[-1] if rss else None,
        "rss_growth_mb": round(rss[-1] - base, 1) if rss else None, "rss_max_mb": max(rss) if rss else None,
        "cycle_seconds_median": sorted(seconds)[len(seconds) // 2] if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "server", "both"], default="both")
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--articles", type=int, default=100, help="Articles in the store at the start.")
    parser.add_argument("--warmup", type=int, default=5, help="Cycles before RSS growth is counted.")
    args = parser.parse_args()
    from rag.config import offline_environment

    offline_environment()
    from rag.embeddings import get_embedder

    embedder = get_embedder()
    for mode in (["embedded", "server"] if args.mode == "both" else [args.mode]):
        with tempfile.TemporaryDirectory(prefix=f"soak-{mode}-") as tmp:
            print(json.dumps(soak(mode, args.cycles, args.articles, args.warmup, Path(tmp), embedder)), flush=True)


if __name__ == "__main__":
    main()
