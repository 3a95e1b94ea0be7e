"""Shared fixtures: the real model once per session, a fresh on-disk Chroma store per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .servers import chroma_server  # noqa: F401  (a session-wide Chroma server for server-mode tests)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = ROOT / "seeds"
BBC = SHARED / "corpus" / "bbc"
# A made-up article no other test text mentions, for "upload it, then get an answer cited from it".
GREENHOUSE = (
    b"Lunar Greenhouse Harvests Its First Tomatoes\n\n"
    b"The experimental greenhouse at the Shackleton research station harvested its first tomatoes on Tuesday. "
    b"The project is led by the botanist Maria Okonkwo, who designed the hydroponic racks. "
    b"Engineers said the plants grew under artificial light for ninety days.\n"
)


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Every test gets its own store folder; nothing touches the project's vectorstore/."""
    monkeypatch.setenv("RAG_STORE_PATH", str(tmp_path / "store"))
    for var in ("RAG_CHROMA_URL", "RAG_ANSWER_MODE", "RAG_COLLECTION"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def embedder():
    from rag.embeddings import get_embedder

    return get_embedder()


@pytest.fixture
def settings(tmp_path):
    from rag import Settings

    return Settings(store_path=tmp_path / "store")


@pytest.fixture
def library(settings, embedder):
    from rag import Library

    return Library(settings, embedder=embedder)


@pytest.fixture
def seeded(library):
    library.ingest([SEEDS])
    return library


@pytest.fixture
def articles_dir(tmp_path):
    """A small folder of real news articles: the seed plus a few BBC stories."""
    d = tmp_path / "articles"
    d.mkdir()
    shutil.copy(next(SEEDS.glob("*.txt")), d / "nato.txt")
    for cat, name in (("business", "001.txt"), ("sport", "001.txt"), ("tech", "001.txt")):
        shutil.copy(BBC / cat / name, d / f"{cat}-{name}")
    return d
