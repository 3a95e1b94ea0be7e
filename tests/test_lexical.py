"""The BM25 index kept on disk by revision (rag.lexical): the next process loads it instead of rebuilding."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from rag import Library
from rag.cli import cli
from rag.lexical import FORMAT, LexicalIndex
from rag.loaders import content_hash
from rag.schema import Article
from rag.store import chunk_owner

from .conftest import BBC

QUESTION = "Which company reported its profits?"


def saved(library: Library) -> list[str]:
    folder = library.lexical.folder
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def indexed(library, articles_dir):
    library.ingest([articles_dir])
    first = library.lexical.get()
    library.lexical.wait_saved()
    return library, first


def test_a_new_process_loads_the_index_instead_of_building_it(indexed, settings, embedder, monkeypatch):
    library, first = indexed
    assert library.lexical.folder == settings.store_path / "lexical" / settings.collection
    assert saved(library) == [f"v{FORMAT}-{first.revision}"]

    def no_build(store):
        raise AssertionError("built again although the index for this revision is on disk")

    monkeypatch.setattr(LexicalIndex, "build", classmethod(lambda cls, store: no_build(store)))
    again = Library(settings, embedder=embedder)
    loaded = again.lexical.get()
    assert loaded.revision == first.revision
    assert loaded.ids == first.ids and loaded.texts == first.texts and loaded.metadatas == first.metadatas
    assert loaded.idf == first.idf and loaded.boilerplate == first.boilerplate
    assert np.array_equal(loaded.days, first.days) and list(loaded.article_ids) == list(first.article_ids)
    assert loaded.search(QUESTION, 10) == first.search(QUESTION, 10) and first.search(QUESTION, 10)[0]
    assert [p.chunk_id for p in again.search(QUESTION, k=4)] == [p.chunk_id for p in library.search(QUESTION, k=4)]


def test_a_rebuild_deletes_the_saved_index_with_the_store(indexed, articles_dir):
    """``ingest --rebuild`` drops the collections: the saved index of the chunks it dropped goes with them (133 MB on
    the 71,780-chunk store), not at the next save."""
    library, first = indexed
    assert saved(library) == [f"v{FORMAT}-{first.revision}"]
    result = CliRunner().invoke(cli, ["ingest", "--rebuild", str(articles_dir / "business-001.txt")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert saved(library) == []  # nothing built yet for the new collections
    rebuilt = library.lexical.get()
    assert rebuilt.revision != first.revision and len(set(rebuilt.article_ids)) == 1 < len(set(first.article_ids))


def test_a_change_builds_a_new_index_and_removes_the_old_one(indexed, tmp_path):
    library, first = indexed
    extra = tmp_path / "more"
    extra.mkdir()
    shutil.copy(BBC / "tech" / "002.txt", extra / "tech-002.txt")
    library.ingest([extra])
    second = library.lexical.get()
    library.lexical.wait_saved()
    assert second.revision != first.revision and len(second.ids) > len(first.ids)
    assert saved(library) == [f"v{FORMAT}-{second.revision}"]  # the old revision's folder is gone


def test_a_damaged_index_on_disk_is_rebuilt_with_a_warning(indexed, settings, embedder, caplog):
    library, first = indexed
    (library.lexical.folder / f"v{FORMAT}-{first.revision}" / "index.json").write_text('{"format": 1, "ids": [', encoding="utf-8")
    again = Library(settings, embedder=embedder)
    with caplog.at_level(logging.WARNING, logger="rag.lexical"):
        rebuilt = again.lexical.get()
    assert "could not read the lexical index" in caplog.text
    assert rebuilt.ids == first.ids and rebuilt.search(QUESTION, 10) == first.search(QUESTION, 10)


def test_a_folder_that_cannot_be_written_leaves_the_index_in_memory(indexed, tmp_path, caplog):
    library, first = indexed
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="rag.lexical"):
        assert first.save(blocked / "lexical") is None
    assert "could not keep the lexical index" in caplog.text
    assert library.search(QUESTION, k=1)  # still answers from memory


def test_warm_loads_the_model_and_the_index_before_the_first_question(library, articles_dir, settings, embedder, monkeypatch):
    library.warm()  # an empty store: nothing to load, no error
    assert library.is_empty()
    library.ingest([articles_dir])
    fresh = Library(settings)
    fresh.warm()
    assert fresh._embedder is not None  # the model is loaded

    def not_again(*args, **kwargs):
        raise AssertionError("the index was not held after warm()")

    monkeypatch.setattr(LexicalIndex, "build", classmethod(not_again))
    monkeypatch.setattr(LexicalIndex, "load", classmethod(not_again))
    assert fresh.lexical.get().revision == fresh.store.revision()
    assert fresh.search(QUESTION, k=1)


def test_a_question_without_accents_or_with_a_slip_finds_its_article(library):
    """BM25 reads "Beyonce" as "Beyoncé" and "Maastrich" as "Maastricht": otherwise both pairs below tie."""
    texts = {"beyonce": ("Sunday", "Beyoncé sang at the halftime show on Sunday."),
             "coldplay": ("Sunday", "Coldplay sang at the halftime show on Sunday."),
             "maastricht": ("Europe", "The Maastricht Treaty was signed in 1992."),
             "lisbon": ("Europe", "The Lisbon Treaty was signed in 2007.")}
    library.ingest_articles([Article(id=i, title=t, text=x, source=f"{i}.txt", content_hash=content_hash(t, x))
                             for i, (t, x) in texts.items()])
    lex = library.lexical.get()

    def first(question: str) -> str:
        ids, scores = lex.search(question, 4)
        assert len(scores) < 2 or scores[0] > scores[1], (question, scores)  # a clear winner, not a tie
        return chunk_owner(ids[0])[0]

    assert first("Did Beyonce sing at the halftime show?") == "beyonce"
    assert first("When was the Maastrich Treaty signed?") == "maastricht"
