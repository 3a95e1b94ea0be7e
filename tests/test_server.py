"""The library against a Chroma server (``RAG_CHROMA_URL``): the key library tests in both store modes,
and two processes sharing one server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from rag import Library, Settings
from rag.chain import build_chain
from rag.errors import EmptyStoreError

from .conftest import ROOT, SEEDS
from .test_library import (  # noqa: F401  (re-run here with the settings below, in both store modes)
    test_a_rebuild_by_another_process_is_picked_up,
    test_bad_files_do_not_lose_what_was_indexed,
    test_filters_restrict_articles_and_dates,
    test_hybrid_search_finds_seed_facts,
    test_ingest_is_a_sync,
    test_lexical_index_rebuilds_from_chroma_alone,
    test_remove,
    test_store_remembers_its_settings,
)


def _server_settings(url: str, tmp_path) -> Settings:
    # one collection per test: the server lives for the whole session
    return Settings(chroma_url=url, collection=f"t-{uuid.uuid4().hex[:12]}", store_path=tmp_path / "unused")


@pytest.fixture(params=["embedded", "server"])
def store_mode(request) -> str:
    return request.param


@pytest.fixture
def settings(store_mode, tmp_path, request):
    """Overrides conftest's ``settings``: the imported library tests run against each store mode."""
    if store_mode == "server":
        return _server_settings(request.getfixturevalue("chroma_server"), tmp_path)
    return Settings(store_path=tmp_path / "store")


def test_server_mode_uses_the_server(settings, library, store_mode, tmp_path):
    library.ingest([SEEDS])
    assert library.store.where == (settings.chroma_url if store_mode == "server" else str(settings.store_path))
    assert (tmp_path / "unused").exists() is False  # server mode writes nothing locally


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_CHROMA_URL": settings.chroma_url, "RAG_COLLECTION": settings.collection}
    proc = subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_two_processes_share_one_server(chroma_server, embedder, articles_dir, tmp_path):
    settings = _server_settings(chroma_server, tmp_path)
    reader = Library(settings, embedder=embedder)  # this process only reads
    with pytest.raises(EmptyStoreError):
        reader.search("Who is the Secretary General of NATO?")

    _cli(settings, "ingest", str(SEEDS))  # another process writes
    answer = build_chain(reader).invoke("Who is the Secretary General of NATO?")
    assert "Stoltenberg" in answer.text and answer.citations
    index = reader.lexical.get()
    reader.search("Who is the Secretary General of NATO?")
    assert reader.lexical.get() is index  # unchanged store: the index is reused, not rebuilt

    _cli(settings, "ingest", str(articles_dir))
    hits = reader.search("TimeWarner quarterly profits AOL", k=2)
    assert hits and hits[0].title == "Ad sales boost Time Warner profit"
    rebuilt = reader.lexical.get()
    assert rebuilt is not index and len(rebuilt.ids) > len(index.ids)
    lex_ids, _ = rebuilt.search("Claxton hurdles", 3)  # the words, not only the vectors, reach this process
    assert lex_ids and "Claxton" in rebuilt.texts[rebuilt.position[lex_ids[0]]]

    listed = json.loads(_cli(settings, "articles", "--json").stdout)
    nato = next(a["id"] for a in listed if a["title"].startswith("NATO Chief"))
    _cli(settings, "remove", nato)
    hits = reader.search("Who is the Secretary General of NATO?", k=10)
    assert hits and all(p.article_id != nato for p in hits)
    assert {a.id for a in reader.articles()} == {a["id"] for a in listed} - {nato}
