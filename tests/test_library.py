"""Ingestion as a sync, store identity, hybrid retrieval and filters, on a real Chroma store and the real model."""

import shutil

import pytest
from chromadb.api.models.Collection import Collection

from rag import Filters, Library
from rag.errors import EmptyStoreError, InputError, NotFoundError, StoreMismatchError
from rag.lexical import LexicalIndex
from rag.store import TEXT_KEY

from .conftest import SEEDS


def test_ingest_is_a_sync(library, articles_dir):
    first = library.ingest([articles_dir])
    assert len(first.added) == 4 and first.chunks_embedded > 4
    again = library.ingest([articles_dir])
    assert again.added == [] and again.updated == [] and len(again.unchanged) == 4
    assert again.chunks_embedded == 0
    chunks_before = library.store.count_chunks()

    nato = articles_dir / "nato.txt"
    nato.write_text(nato.read_text().replace("2,500", "3,100"))
    changed = library.ingest([articles_dir])
    assert len(changed.updated) == 1 and len(changed.unchanged) == 3
    assert library.store.count_chunks() == chunks_before  # old chunks replaced, not added to
    hits = library.search("How many U.S. troops are still in Afghanistan?", k=3)
    assert any("3,100" in p.text for p in hits) and not any("2,500" in p.text for p in hits)

    (articles_dir / "sport-001.txt").unlink()
    kept = library.ingest([articles_dir])
    assert kept.removed == [] and library.store.count_articles() == 4  # without --prune nothing is dropped
    pruned = library.ingest([articles_dir], prune=True)
    assert len(pruned.removed) == 1 and library.store.count_articles() == 3
    assert not any(p.article_id == pruned.removed[0] for p in library.search("Claxton hurdles medal", k=10))


def test_bad_files_do_not_lose_what_was_indexed(library, articles_dir):
    library.ingest([articles_dir])
    before = {a.id: a.content_hash for a in library.articles()}
    (articles_dir / "nato.txt").write_bytes(b"\x00\x00binary now")
    (articles_dir / "empty.txt").write_text("")
    report = library.ingest([articles_dir], prune=True)
    assert {p.reason for p in report.skipped} >= {"empty file"}
    assert any("binary" in p.reason for p in report.skipped)
    assert report.removed == []
    assert {a.id: a.content_hash for a in library.articles()} == before
    assert library.ingest([articles_dir], prune=True).skipped == report.skipped  # same report, no change


def test_hybrid_search_finds_seed_facts(seeded):
    hits = seeded.search("Who is the Secretary General of NATO?", k=2)
    assert any("Stoltenberg" in p.text for p in hits)
    p = hits[0]
    article = seeded.article(p.article_id)
    assert article.text[p.start:p.end] == p.text  # citations can point at the exact span


def test_filters_restrict_articles_and_dates(library, tmp_path):
    d = tmp_path / "dated"
    d.mkdir()
    (d / "a.md").write_text("---\ntitle: Old storm\npublished: 2001-05-01\n---\nA storm hit the coast of Maine.")
    (d / "b.md").write_text("---\ntitle: New storm\npublished: 2022-05-01\n---\nA storm hit the coast of Oregon.")
    library.ingest([d])
    ids = {a.title: a.id for a in library.articles()}
    assert {p.title for p in library.search("storm coast", k=5)} == {"Old storm", "New storm"}
    assert {p.title for p in library.search("storm coast", k=5, filters=Filters(published_from="2010-01-01"))} == {"New storm"}
    assert {p.title for p in library.search("storm coast", k=5, filters=Filters(published_to="2010-01-01"))} == {"Old storm"}
    only = Filters(article_ids=(ids["Old storm"],))
    assert {p.title for p in library.search("Oregon", k=5, filters=only)} == {"Old storm"}


def test_lexical_index_rebuilds_from_chroma_alone(seeded, settings, embedder):
    other = Library(settings, embedder=embedder)  # a second process would start like this
    idx = LexicalIndex.build(other.store)
    assert len(idx.ids) == seeded.store.count_chunks()
    ids, _ = idx.search("Stoltenberg", 3)
    assert ids and "Stoltenberg" in idx.texts[idx.position[ids[0]]]


def test_remove(seeded):
    aid = seeded.articles()[0].id
    assert seeded.remove([aid]) == [aid]
    assert seeded.is_empty() and seeded.store.texts.count() == 0
    with pytest.raises(NotFoundError):
        seeded.remove([aid])
    with pytest.raises(EmptyStoreError):
        seeded.search("anything")


def test_a_chunk_keeps_offsets_and_reads_its_text_from_its_article(seeded):
    """A chunk's text is its article's text[start:end], stored once per article, not with every chunk."""
    got = seeded.store.chunks.get(include=["metadatas", "documents"])
    assert got["ids"] and not any(TEXT_KEY in m for m in got["metadatas"]) and not any(got["documents"])
    hit = seeded.search("Who is the NATO Secretary General?", k=1)[0]
    assert len(hit.text) > 100 and hit.text == seeded.article(hit.article_id).text[hit.start:hit.end]


def test_stores_written_before_keep_chunk_texts_in_metadata(seeded, settings, embedder):
    """Stores written before kept each chunk's text in its metadata: that text is read."""
    store = seeded.store
    rows = next(iter(store.iter_chunks()))
    store.chunks.update(ids=rows.ids, metadatas=[{**m, TEXT_KEY: t.upper()} for m, t in zip(rows.metadatas, rows.texts)])
    store._bump()
    hit = Library(settings, embedder=embedder).search("Who is the NATO Secretary General?", k=1)[0]
    assert hit.text == dict(zip(rows.ids, rows.texts))[hit.chunk_id].upper() != hit.text.lower()


def test_stores_written_before_keep_texts_as_documents(seeded, settings, embedder):
    """Older stores hold chunk and article texts as Chroma documents, and titles per chunk: they still read and answer."""
    store = seeded.store
    info = seeded.articles()[0]
    text = seeded.article(info.id).text
    rows = next(iter(store.iter_chunks()))
    vectors = store.embeddings(rows.ids)
    per_chunk = {"title": "Stale title", "published": "1999-01-01", "version": "0" * 12}  # the record's win
    store.chunks.update(ids=rows.ids, documents=rows.texts, embeddings=[vectors[i] for i in rows.ids],
                        metadatas=[{**m, **per_chunk, TEXT_KEY: None} for m in rows.metadatas])  # None deletes the key
    store.records.update(ids=[info.id], documents=[text], embeddings=[[1.0]])
    store.texts.delete(ids=store.texts.get(include=[])["ids"])
    store._bump()

    old = Library(settings, embedder=embedder)
    assert TEXT_KEY not in old.store.chunks.get(ids=rows.ids[:1], include=["metadatas"])["metadatas"][0]
    assert old.article(info.id).text == text
    hit = old.search("Who is the NATO Secretary General?", k=1)[0]
    assert hit.text and hit.text == text[hit.start:hit.end]
    record = {a.id: a for a in old.articles()}[hit.article_id]
    assert (hit.title, hit.published) == (record.title, record.published) and hit.title != "Stale title"


def test_a_rebuild_by_another_process_is_picked_up(seeded, settings, embedder, articles_dir):
    """``ingest --rebuild`` elsewhere drops and recreates the collections: a running reader says so, then follows."""
    assert seeded.search("Who is the NATO Secretary General?", k=1)[0].title.startswith("NATO")
    assert len(seeded.articles()) == 1
    Library(settings, embedder=embedder, check=False).store.drop()
    with pytest.raises(EmptyStoreError, match="being rebuilt"):
        seeded.search("Who is the NATO Secretary General?")
    assert seeded.articles() == []
    rebuilt = Library(settings, embedder=embedder)
    rebuilt.ingest([articles_dir / "business-001.txt"])
    hits = seeded.search("What happened to Time Warner's quarterly profits?", k=3)
    assert {p.article_id for p in hits} == {a.id for a in rebuilt.articles()} == {a.id for a in seeded.articles()}
    assert "profit" in hits[0].text.lower()


def test_questions_are_checked(seeded):
    with pytest.raises(InputError):
        seeded.search("   ")
    with pytest.raises(InputError, match="limit"):
        seeded.search("why " * 1000)


def test_store_remembers_its_settings(seeded, settings, embedder):
    with pytest.raises(StoreMismatchError, match="chunk_tokens"):
        Library(settings.model_copy(update={"chunk_tokens": 100}), embedder=embedder)


def test_a_store_made_with_a_narrower_search_is_widened_when_opened(settings, embedder, tmp_path):
    """Chroma's default HNSW breadth (100) missed 2% of the exact 60 nearest chunks on a 71,780-chunk store."""
    old = settings.model_copy(update={"store_path": tmp_path / "old", "hnsw_ef_search": 100})
    Library(old, embedder=embedder).ingest([SEEDS])
    assert Library(old, embedder=embedder).store.chunks.configuration_json["hnsw"]["ef_search"] == 100
    lib = Library(old.model_copy(update={"hnsw_ef_search": settings.hnsw_ef_search}), embedder=embedder)
    assert lib.store.chunks.configuration_json["hnsw"]["ef_search"] == settings.hnsw_ef_search == 600
    assert "Kirby" in " ".join(p.text for p in lib.search("Who is the Pentagon press secretary?", k=4))  # same data
    new = Library(settings.model_copy(update={"store_path": tmp_path / "new"}), embedder=embedder)
    assert new.store.chunks.configuration_json["hnsw"]["ef_search"] == 600


def test_a_store_that_cannot_be_widened_is_still_searched(settings, embedder, tmp_path, monkeypatch, caplog):
    old = settings.model_copy(update={"store_path": tmp_path / "old", "hnsw_ef_search": 100})
    Library(old, embedder=embedder).ingest([SEEDS])

    def unwritable(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # a server that refuses writes; a local folder we cannot write stops the open earlier, at its lock file
    monkeypatch.setattr(Collection, "modify", unwritable)
    lib = Library(old.model_copy(update={"hnsw_ef_search": 600}), embedder=embedder)
    assert "could not widen the vector search" in caplog.text and "Permission denied" in caplog.text
    assert lib.store.chunks.configuration_json["hnsw"]["ef_search"] == 100
    assert "Kirby" in " ".join(p.text for p in lib.search("Who is the Pentagon press secretary?", k=4))


def test_copied_store_keeps_working(seeded, settings, embedder, tmp_path):
    shutil.copytree(settings.store_path, tmp_path / "copy")
    lib = Library(settings.model_copy(update={"store_path": tmp_path / "copy"}), embedder=embedder)
    assert [a.id for a in lib.articles()] == [a.id for a in seeded.articles()]


def test_same_text_under_a_new_name_is_a_duplicate(library, articles_dir, tmp_path):
    library.ingest([articles_dir])
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "copy.txt").write_text((articles_dir / "nato.txt").read_text())
    report = library.ingest([other])
    assert report.added == [] and library.store.count_articles() == 4
    assert "duplicate of indexed article" in report.skipped[0].reason and "copy.txt" in report.skipped[0].path


def test_two_libraries_in_one_process_see_each_others_writes(library, settings, embedder, articles_dir):
    """Like two sessions of the UI in one server process: what one ingests or removes, the other sees at once."""
    other = Library(settings, embedder=embedder)
    library.ingest([SEEDS])
    assert any("Stoltenberg" in p.text for p in other.search("Who is the Secretary General of NATO?"))
    other.ingest([articles_dir / "tech-001.txt"])
    tech = next(a for a in library.articles() if a.source.endswith("tech-001.txt"))
    assert {p.article_id for p in library.search(tech.title, k=1)} == {tech.id}
    library.remove([tech.id])
    assert tech.id not in {p.article_id for p in other.search(tech.title, k=10)}
    assert [a.id for a in other.articles()] == [a.id for a in library.articles()] and tech.id not in {a.id for a in other.articles()}


def test_the_article_list_is_read_once_per_store_revision(seeded, settings, embedder, articles_dir, monkeypatch):
    """The UI lists the articles on every rerun; reading them from Chroma took 0.3 s at 5,280 articles."""
    reads = []
    listing = seeded.store.articles
    monkeypatch.setattr(seeded.store, "articles", lambda: reads.append(1) or listing())
    first = seeded.articles()
    assert seeded.articles() == first and len(reads) == 1
    Library(settings, embedder=embedder).ingest([articles_dir / "sport-001.txt"])  # another process's write
    assert len(seeded.articles()) == 2 and len(reads) == 2
    seeded.articles().clear()  # a caller's list is its own
    assert len(seeded.articles()) == 2 and len(reads) == 2
