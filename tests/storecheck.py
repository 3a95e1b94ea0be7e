"""Helpers for the crash and concurrency tests: read a store's full state and check its invariants."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rag import Settings
from rag.embeddings import model_label
from rag.lexical import LexicalIndex
from rag.store import Store, version_of

from .conftest import BBC, ROOT


def bbc_folder(dest: Path, per_category: int) -> Path:
    """``per_category`` real BBC articles from each of the five categories, copied into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for cat in sorted(p.name for p in BBC.iterdir() if p.is_dir()):
        for f in sorted((BBC / cat).glob("*.txt"))[:per_category]:
            shutil.copy(f, dest / f"{cat}-{f.name}")
    return dest


def snapshot(store_path: Path) -> dict:
    """Every chunk (id -> text, metadata) and article record (id -> text, metadata) in a store."""
    store = Store(Settings(store_path=store_path), model_label(""))
    chunks = {}
    for rows in store.iter_chunks():
        chunks.update({i: (t, m) for i, t, m in zip(rows.ids, rows.texts, rows.metadatas)})
    got = store.records.get(include=["metadatas"])
    records = {i: (store.article(i).text, m) for i, m in zip(got["ids"], got["metadatas"])}
    texts = store.texts.get(include=[])["ids"]
    loose = sorted(set(texts) - {f"{i}:{version_of(m['content_hash'])}" for i, (_, m) in records.items()})
    return {"chunks": chunks, "records": records, "lexical": sorted(LexicalIndex.build(store).ids), "loose_texts": loose}


def check_invariants(snap: dict) -> None:
    """No orphan or stale chunk, every record's chunks all present, lexical index == Chroma."""
    chunks, records = snap["chunks"], snap["records"]
    for cid, (_, m) in chunks.items():
        aid, version, _ = cid.rsplit(":", 2)
        assert aid == m["article_id"], cid
        assert aid in records, f"orphan chunk {cid}: no article record"
        assert version_of(records[aid][1]["content_hash"]) == version, f"stale chunk {cid}"
    for aid, (text, m) in records.items():
        version = version_of(m["content_hash"])
        mine = [c for c in chunks if c.startswith(f"{aid}:{version}:")]
        assert len(mine) == m["chunks"], f"{aid}: {len(mine)} chunks, record says {m['chunks']}"
        for cid in mine:
            t, cm = chunks[cid]
            assert text[cm["start"]:cm["end"]] == t, f"{cid} is not the span it claims"
    assert snap["lexical"] == sorted(chunks), "lexical index and Chroma disagree"
    assert not snap["loose_texts"], f"texts of no committed version: {snap['loose_texts']}"


def rag_env(store_path: Path) -> dict:
    env = {**os.environ, "RAG_STORE_PATH": str(store_path), "PYTHONPATH": str(ROOT)}
    env.pop("RAG_CHROMA_URL", None)
    return env


def rag_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rag", *args]


def run_rag(store_path: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(rag_cmd(*args), env=rag_env(store_path), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
