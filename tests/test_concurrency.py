"""Readers during an ingest see an article's old or new state, never a mix; two writers serialise."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag import Filters, Settings, build_chain
from rag.locking import StoreBusyError, write_lock
from rag.store import version_of

from .conftest import BBC, ROOT
from .storecheck import bbc_folder, check_invariants, rag_cmd, rag_env, snapshot

pytestmark = pytest.mark.slow

CHANGING = [("business", "002.txt"), ("sport", "002.txt"), ("tech", "002.txt"), ("politics", "002.txt"),
            ("entertainment", "002.txt")]
QUESTIONS = ["What did the company report about profits?", "Who won the match?", "What new technology was announced?",
             "What did the government minister say?", "Which film was a success?", "revised story correction"]

READER = """
import json, sys, time
from pathlib import Path
from rag import Library, Settings
store, out, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
lib = Library(Settings(store_path=store))
questions = json.loads(sys.argv[4])
with out.open("w") as f:
    print("ready", file=f, flush=True)
    n = 0
    while not stop.exists():
        q = questions[n % len(questions)]
        n += 1
        try:
            rows = [[p.chunk_id, p.article_id, p.start, p.end, p.text] for p in lib.search(q, k=6)]
            print(json.dumps({"t": time.time(), "passages": rows}), file=f, flush=True)
        except Exception as exc:
            print(json.dumps({"t": time.time(), "error": repr(exc)}), file=f, flush=True)
"""


def revise(text: str) -> str:
    """Version B of an article: a new first paragraph shifts every offset, and a word changes throughout."""
    head, _, body = text.partition("\n")
    return f"{head}\n\nThis revised story carries a correction issued later.\n\n{body.replace(' the ', ' THE ')}"


def test_queries_during_an_ingest_in_another_process(tmp_path, library, embedder):
    folder = tmp_path / "in"
    folder.mkdir()
    texts: dict[str, dict[str, str]] = {}  # article id -> version -> text
    for cat, name in CHANGING:
        (folder / f"{cat}-{name}").write_text((BBC / cat / name).read_text(encoding="utf-8"))
    library.ingest([folder])
    for a in library.articles():
        texts[a.id] = {version_of(a.content_hash): library.article(a.id).text}
    assert len(texts) == len(CHANGING)

    bbc_folder(folder, per_category=8)  # 35 more articles: the ingest takes a while
    for cat, name in CHANGING:
        f = folder / f"{cat}-{name}"
        f.write_text(revise(f.read_text()))

    store = library.settings.store_path
    stop = tmp_path / "stop"
    reader_out = tmp_path / "reader.jsonl"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(store), str(reader_out), str(stop), json.dumps(QUESTIONS)],
                              env=rag_env(store), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (reader_out.exists() and reader_out.read_text().startswith("ready")):
        assert reader.poll() is None and time.monotonic() < deadline, reader.stderr.read() if reader.poll() else "slow"
        time.sleep(0.1)

    results: list[tuple[float, list]] = []
    errors: list[str] = []
    done = threading.Event()

    def ask(n: int) -> None:
        chain = build_chain(library)
        i = n
        while not done.is_set():
            q = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            try:
                if i % 4 == 0:
                    answer = chain.invoke(q)
                    passages = list(answer.passages)
                else:
                    passages = library.search(q, k=6)
                results.append((time.time(), [[p.chunk_id, p.article_id, p.start, p.end, p.text] for p in passages]))
            except Exception as exc:  # noqa: BLE001 - the test reports every failure
                errors.append(repr(exc))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    ingest = subprocess.run(rag_cmd("ingest", str(folder)), env=rag_env(store), cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    finished = time.time()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # let every reader ask each question again after the ingest
        late_here = sum(1 for t, _ in list(results) if t > finished + 1)
        late_there = sum(1 for line in reader_out.read_text().split("\n")[1:-1]  # complete lines only:
                         if json.loads(line)["t"] > finished + 1)               # the reader may be mid-write
        if late_here >= 3 * len(QUESTIONS) and late_there >= 2 * len(QUESTIONS):
            break
        time.sleep(0.5)
    done.set()
    for t in threads:
        t.join()
    stop.touch()
    reader.wait(timeout=60)
    assert ingest.returncode == 0 and "5 updated" in ingest.stdout, ingest.stdout + ingest.stderr

    snap = snapshot(store)
    check_invariants(snap)
    for aid in texts:
        text, meta = snap["records"][aid]
        texts[aid][version_of(meta["content_hash"])] = text
        assert len(texts[aid]) == 2
    for aid, (text, meta) in snap["records"].items():
        texts.setdefault(aid, {version_of(meta["content_hash"]): text})

    remote = [json.loads(line) for line in reader_out.read_text().splitlines()[1:]]
    errors += [r["error"] for r in remote if "error" in r]
    assert not errors, errors[:5]
    assert len(results) > 20 and len(remote) > 20, (len(results), len(remote))

    def check(rows: list) -> set[str]:
        versions = set()
        for cid, aid, start, end, text in rows:
            _, version, _ = cid.rsplit(":", 2)
            assert version in texts[aid], f"{cid}: a version that was never committed"
            assert texts[aid][version][start:end] == text, f"{cid}: text does not match its version"
            versions.add(f"{aid}:{version}")
        return versions

    print(json.dumps({"queries_in_threads": len(results), "queries_in_second_process": len(remote),
                      "errors": len(errors), "ingest": ingest.stdout.strip()}))
    seen_local = [check(rows) for _, rows in results]
    seen_remote = [check(r["passages"]) for r in remote if "passages" in r]
    new = {f"{aid}:{v}" for aid, vs in texts.items() for v in vs if len(vs) == 2 and v == version_of(
        snap["records"][aid][1]["content_hash"])}
    late_local = set().union(*(v for (t, _), v in zip(results, seen_local) if t > finished + 1))
    late_remote = set().union(*(v for r, v in zip([r for r in remote if "passages" in r], seen_remote) if r["t"] > finished + 1))
    assert late_local & new, "readers in this process never saw the new versions"
    assert late_remote & new, "the second process never saw the new versions"
    old = {f"{aid}:{v}" for aid, vs in texts.items() for v in vs if len(vs) == 2} - new
    assert not (late_local | late_remote) & old, "old versions still served after the ingest finished"
    for aid, versions in texts.items():  # and this process's long-lived library finds each new version
        if len(versions) == 2:
            (p, *_) = library.search("revised story correction issued later", k=3, filters=Filters(article_ids=(aid,)))
            assert f"{aid}:{p.chunk_id.rsplit(':', 2)[1]}" in new


def test_two_ingest_processes_serialise(tmp_path):
    folder = bbc_folder(tmp_path / "in", per_category=5)
    store = tmp_path / "store"
    procs = [subprocess.Popen(rag_cmd("ingest", "--json", str(folder)), env=rag_env(store), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-3000:] for _, err in outs]
    reports = sorted((json.loads(out) for out, _ in outs), key=lambda r: len(r["added"]))
    assert [len(r["added"]) for r in reports] == [0, 25] and len(reports[0]["unchanged"]) == 25
    waited = [err for _, err in outs if "Another ingest" in err]
    assert len(waited) == 1 and "waiting for it to finish" in waited[0] and str(store) in waited[0]
    snap = snapshot(store)
    check_invariants(snap)
    assert len(snap["records"]) == 25


def test_two_ingest_threads_serialise(tmp_path, library, caplog):
    a = bbc_folder(tmp_path / "a", per_category=2)
    b = tmp_path / "b"
    b.mkdir()
    for cat in ("business", "sport"):
        for f in sorted((BBC / cat).glob("*.txt"))[10:13]:
            (b / f"{cat}-{f.name}").write_text(f.read_text(encoding="utf-8"))
    reports, errors = {}, []

    def run(name: str, folder: Path) -> None:
        try:
            reports[name] = library.ingest([folder])
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    with caplog.at_level(logging.WARNING, logger="rag.locking"):
        threads = [threading.Thread(target=run, args=(n, f)) for n, f in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    assert len(reports["a"].added) == 10 and len(reports["b"].added) == 6
    assert any("waiting for it to finish" in r.getMessage() for r in caplog.records)
    snap = snapshot(library.settings.store_path)
    check_invariants(snap)
    assert len(snap["records"]) == 16


def test_a_busy_store_says_who_holds_it(tmp_path):
    settings = Settings(store_path=tmp_path / "store")
    got: list[Exception] = []

    def other() -> None:
        try:
            with write_lock(settings, timeout=0.3):
                pass
        except StoreBusyError as exc:
            got.append(exc)

    with write_lock(settings):
        t = threading.Thread(target=other)
        t.start()
        t.join()
    (exc,) = got
    assert f"Another ingest (process {os.getpid()}) is still writing to {settings.store_path} after 0.3 s" in str(exc)
    with write_lock(settings, timeout=0.3):  # released: free again
        pass


OPEN_AT = """
import sys, time
from rag import Settings
from rag.store import Store
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
Store(Settings(store_path=sys.argv[1]), "all-MiniLM-L6-v2")
"""


def test_a_new_store_opened_by_several_processes_at_once(tmp_path):
    """Chroma's first-time set-up of a store races ("table collections already exists") unless serialised."""
    store = tmp_path / "store"
    start = time.time() + 20  # after every process has imported chromadb
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(store), str(start)], env=rag_env(store), cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for _ in range(5)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-500:] for e in errs]
