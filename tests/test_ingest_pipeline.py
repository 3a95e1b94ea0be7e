"""The pipelined ingest (chunk ahead, embed, write behind): progress, failures mid-way, and what queries may see."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from rag import library as pipeline
from rag.cli import cli
from rag.schema import Article
from rag.store import version_of

from .test_chunking import _bbc_sample


def test_progress_counts_every_article(library, articles_dir, monkeypatch):
    monkeypatch.setattr(pipeline, "_WRITE_CHUNKS", 1)  # commit every batch
    calls = []
    report = library.ingest([articles_dir], on_progress=lambda done, total, title: calls.append((done, total, title)),
                            batch_articles=1)
    assert [c[:2] for c in calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert {c[2] for c in calls} == {a.title for a in library.articles()}
    assert report.chunks_embedded == library.store.count_chunks() == sum(a.chunks for a in library.articles())


def test_small_batches_are_embedded_and_written_together(library, articles_dir, monkeypatch):
    """Batches are embedded and committed in groups of about ``_WRITE_CHUNKS`` chunks.

    Chroma's per-call cost is high, and the model pads less when it sorts more texts by length.
    """
    writes, encoded = [], []
    real_write, real_encode = library.store.write, library.embedder.encode_with_spans
    monkeypatch.setattr(library.store, "write", lambda items: (writes.append(len(items)), real_write(items)))
    monkeypatch.setattr(library.embedder, "encode_with_spans",
                        lambda texts, spans, pieces: (encoded.append(len(texts)), real_encode(texts, spans, pieces))[1])
    report = library.ingest([articles_dir], batch_articles=1)
    assert writes == [4] and len(report.added) == 4
    assert encoded == [report.chunks_embedded]
    assert library.search("Who is the NATO Secretary General?", k=1)[0].text


def test_a_failed_write_keeps_what_was_committed(library, articles_dir, monkeypatch):
    monkeypatch.setattr(pipeline, "_WRITE_CHUNKS", 1)
    real_write = library.store.write
    writes = []

    def flaky(items):
        writes.append(items)
        if len(writes) == 3:
            raise OSError("disk full")
        real_write(items)

    monkeypatch.setattr(library.store, "write", flaky)
    with pytest.raises(OSError, match="disk full"):
        library.ingest([articles_dir], batch_articles=1)
    committed = {a.id for a in library.articles()}
    assert len(committed) == 2 and committed == {items[0][0].id for items in writes[:2]}
    assert all(p.article_id in committed for p in library.search("NATO troops Afghanistan profits medal", k=10))

    monkeypatch.setattr(library.store, "write", real_write)
    again = library.ingest([articles_dir])
    assert len(again.unchanged) == 2 and len(again.added) == 2


def test_uncommitted_chunks_stay_hidden(seeded, embedder):
    """Chunks of a version whose article record was never written (an interrupted run) are never returned."""
    info = seeded.articles()[0]
    text = "Zanzibar quokkas elected a new harbour master on Tuesday."
    seeded.store.chunks.upsert(
        ids=[f"{info.id}:ffffffffffff:0"], embeddings=embedder.encode([text]), documents=[text],
        metadatas=[{"article_id": info.id, "source": info.source, "index": 0, "start": 0, "end": len(text)}])
    seeded.store._bump()  # another write elsewhere: the lexical index is rebuilt
    hits = seeded.search("Who did the Zanzibar quokkas elect as harbour master?", k=10)
    assert hits and all(p.chunk_id.split(":")[1] == version_of(info.content_hash) for p in hits)
    assert not any("quokka" in p.text for p in hits)


def test_unavailable_embedding_backend_is_a_one_line_error(seeded):
    r = CliRunner().invoke(cli, ["ask", "Who leads NATO?"], env={"RAG_EMBEDDING_BACKEND": "onnx"})
    assert r.exit_code == 1 and "RAG_EMBEDDING_BACKEND=torch" in r.output and "Traceback" not in r.output


def test_the_model_reads_each_chunk_as_if_it_were_tokenized_alone(library, embedder):
    """The ingest slices each chunk's word pieces out of its article's; they must equal the chunk's own tokenization."""
    untitled = Article(id="u", title="", text="No headline here. Just two sentences.", source="u", content_hash="0" * 64)
    groups = library._chunk_batch([*_bbc_sample(), untitled])
    assert sum(len(g.chunks) for g in groups) > 100
    for g in groups:
        for (text, _, _), pieces in zip(g.inputs, g.pieces, strict=True):
            alone = embedder.word_pieces(text)
            assert pieces.ids.tolist() == alone.ids.tolist() and pieces.offsets.tolist() == alone.offsets.tolist()
    inputs = [i for g in groups[:20] for i in g.inputs]
    given = embedder.encode_with_spans([t for t, _, _ in inputs], [s for _, s, _ in inputs], [p for g in groups[:20] for p in g.pieces])
    tokenized = embedder.encode_with_spans([t for t, _, _ in inputs], [s for _, s, _ in inputs])
    assert np.array_equal(given[0], tokenized[0])
    assert all(np.array_equal(a, b) for a, b in zip(given[1], tokenized[1], strict=True))
