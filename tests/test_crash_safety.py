"""SIGKILL an ingest (a real ``python -m rag ingest`` process) and run it again: the store ends up as if never killed."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import Library, Settings
from rag.errors import EmptyStoreError

from .conftest import ROOT
from .storecheck import bbc_folder, check_invariants, rag_cmd, rag_env, run_rag, snapshot

pytestmark = pytest.mark.slow

SEED = 20240601


def reference(tmp_path: Path, folder: Path, embedder) -> dict:
    """The store an uninterrupted ingest of ``folder`` builds (in this process, with the shared model)."""
    store = tmp_path / "reference"
    Library(Settings(store_path=store), embedder=embedder).ingest([folder])
    snap = snapshot(store)
    check_invariants(snap)
    return snap


def start_and_kill(store: Path, folder: Path, delay: float, log: Path) -> int | None:
    """Start an ingest, SIGKILL it ``delay`` s after its model has loaded; the exit code (-9 if killed)."""
    with log.open("w") as err:
        proc = subprocess.Popen(rag_cmd("-v", "ingest", str(folder)), env=rag_env(store), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 300
        while "loading embedding model" not in log.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, "ingest never started"
            time.sleep(0.05)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=60)


def assert_same(got: dict, want: dict) -> None:
    assert sorted(got["records"]) == sorted(want["records"])
    assert got["records"] == want["records"]
    assert sorted(got["chunks"]) == sorted(want["chunks"])
    assert got["chunks"] == want["chunks"]
    assert got["lexical"] == want["lexical"]


def test_killed_ingests_then_a_rerun_equal_an_uninterrupted_run(tmp_path, embedder):
    folder = bbc_folder(tmp_path / "bbc", per_category=30)  # 150 articles, 3 write batches
    t0 = time.monotonic()
    want = reference(tmp_path, folder, embedder)
    ingest_seconds = time.monotonic() - t0
    assert len(want["records"]) >= 145

    store = tmp_path / "crashed"
    rng = random.Random(SEED)
    outcomes = []
    for run in range(3):
        delay = rng.uniform(0.4, 0.95) * ingest_seconds
        code = start_and_kill(store, folder, delay, tmp_path / f"run{run}.log")
        while run == 0 and code == 0 and delay > 1:  # it finished first (the reference ran on a busier machine): sooner
            shutil.rmtree(store)
            delay /= 2
            code = start_and_kill(store, folder, delay, tmp_path / f"run{run}.log")
        snap = snapshot(store)
        outcomes.append({"delay": round(delay, 1), "exit": code, "records": len(snap["records"]),
                         "chunks": len(snap["chunks"])})
        # whatever the kill left, readers only ever see committed articles
        lib = Library(Settings(store_path=store), embedder=embedder)
        assert {a.id for a in lib.articles()} <= set(want["records"])
        for p in ([] if lib.is_empty() else lib.search("profits rose at the company", k=10)):
            assert want["records"][p.article_id][0][p.start:p.end] == p.text
    print(json.dumps({"reference_ingest_seconds": round(ingest_seconds, 1), "killed_runs": outcomes}))
    assert outcomes[0]["exit"] == -signal.SIGKILL, outcomes  # the first kill landed mid-ingest
    assert outcomes[0]["records"] < len(want["records"]), outcomes

    done = run_rag(store, "ingest", str(folder))
    assert done.returncode == 0, done.stderr
    got = snapshot(store)
    check_invariants(got)
    assert_same(got, want)


KILL_BEFORE_COMMIT = """
import os, signal, sys
from rag import store

def die(self, *args, **kwargs):  # all chunks of the batch are written, no article record yet
    os.kill(os.getpid(), signal.SIGKILL)

store.Store._delete_stale_versions = die
from rag.cli import main
sys.argv = ["rag", "ingest", sys.argv[1]]
main()
"""


def test_kill_between_chunks_and_record_then_files_deleted(tmp_path, embedder):
    """The worst moment: chunks written, records not. Then some files vanish before the re-run."""
    folder = bbc_folder(tmp_path / "bbc", per_category=3)
    store = tmp_path / "crashed"
    env = rag_env(store)
    proc = subprocess.run([sys.executable, "-c", KILL_BEFORE_COMMIT, str(folder)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    crashed = snapshot(store)
    assert crashed["chunks"] and not crashed["records"]  # all orphans
    lib = Library(Settings(store_path=store), embedder=embedder)
    assert lib.articles() == []
    with pytest.raises(EmptyStoreError):  # uncommitted chunks are hidden from readers: nothing to search
        lib.search("film box office")

    gone = sorted(folder.iterdir())[::3]
    for f in gone:
        f.unlink()
    want = reference(tmp_path, folder, embedder)
    done = run_rag(store, "ingest", "--prune", str(folder))
    assert done.returncode == 0, done.stderr
    got = snapshot(store)
    check_invariants(got)
    assert_same(got, want)

    # an update interrupted at the same point leaves the old version visible, and a re-run finishes it
    f = sorted(folder.iterdir())[0]
    old = want["records"]
    f.write_text(f.read_text() + "\n\nA late correction was added to this story.")
    proc = subprocess.run([sys.executable, "-c", KILL_BEFORE_COMMIT, str(folder)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL
    lib = Library(Settings(store_path=store), embedder=embedder)
    assert {a.id: a.content_hash for a in lib.articles()} == {k: v[1]["content_hash"] for k, v in old.items()}
    f.write_text(f.read_text().replace("\n\nA late correction was added to this story.", ""))  # reverted
    done = run_rag(store, "ingest", str(folder))
    assert done.returncode == 0, done.stderr
    got = snapshot(store)
    check_invariants(got)  # the new version's chunks, never committed, are gone too
    assert_same(got, want)
