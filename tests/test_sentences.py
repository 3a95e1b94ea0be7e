"""Sentence vectors pooled at ingest: same pass as the chunk vector, stored with the chunk, read by the answerer."""

import numpy as np

from rag.answer import ExtractiveAnswerer
from rag.chain import build_chain
from rag.loaders import load_paths
from rag.sentences import answer_spans, model_input, pack, unpack
from rag.store import WriteItem

from .conftest import SEEDS

QUESTION = "Who is the Secretary General of NATO?"


def test_packing_keeps_spans_and_directions():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(3, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    spans, back = unpack(pack([(0, 10), (11, 40), (41, 90)], v), 384)
    assert spans == [(0, 10), (11, 40), (41, 90)]
    assert np.min(np.sum(back * v, axis=1)) > 0.999  # int8 loses almost nothing of the direction
    none_spans, none_vecs = unpack(pack([], np.zeros((0, 384))), 384)
    assert none_spans == [] and none_vecs.shape == (0, 384)
    for broken in ("", "s1|0,5|not base64!", "s9|0,5|AAAA", "s1|0,5|" + "A" * 8):
        assert unpack(broken, 384) is None


def test_one_pass_gives_the_chunk_vector_and_sentence_vectors(embedder):
    title = "Central bank"
    text = "The central bank raised interest rates by a quarter point. The football club sacked its manager on Sunday."
    model_text, shifted, spans = model_input(title, text)
    assert [model_text[s:e] for s, e in shifted] == [text[s:e] for s, e in spans]
    vectors, pooled = embedder.encode_with_spans([model_text], [shifted])
    assert np.abs(vectors - embedder.encode([model_text])).max() < 1e-5  # identical to the plain encode
    q = embedder.encode(["Who was fired as the team's coach?"])[0]
    assert pooled[0].shape == (2, embedder.dimension)
    assert pooled[0][1] @ q > pooled[0][0] @ q + 0.1  # each sentence keeps its own meaning


def test_a_batch_pools_each_text_as_if_it_were_alone(embedder):
    """Texts of different lengths share padded batches: no text's sentences may see another's tokens or padding."""
    texts = [
        ("Markets", "Shares rose sharply in Tokyo. The yen fell against the dollar. Oil prices were flat."),
        ("", "The striker scored twice in the second half and his team won the cup final."),
        ("Weather", " ".join(["Heavy rain is expected across the north of England tomorrow."] * 12)),
    ] * 12  # more texts than one model batch
    inputs = [model_input(title, text) for title, text in texts]
    vectors, pooled = embedder.encode_with_spans([t for t, _, _ in inputs], [s for _, s, _ in inputs])
    assert np.min(np.sum(vectors * embedder.encode([t for t, _, _ in inputs]), axis=1)) > 0.9999
    for (model_text, shifted, _), v, p in zip(inputs, vectors, pooled):
        alone_v, alone_p = embedder.encode_with_spans([model_text], [shifted])
        assert p.shape == alone_p[0].shape == (len(shifted), embedder.dimension)
        assert float(v @ alone_v[0]) > 0.9999 and np.min(np.sum(p * alone_p[0], axis=1)) > 0.999


def test_ingest_stores_sentence_vectors_with_each_chunk(seeded, embedder):
    lex = seeded.lexical.get()
    assert lex.ids and all("sentences" not in m for m in lex.metadatas)  # not held in memory by the BM25 index
    blobs = seeded.store.sentence_blobs(lex.ids)
    assert set(blobs) == set(lex.ids)
    for cid in lex.ids:
        text, title = lex.texts[lex.position[cid]], lex.metadatas[lex.position[cid]]["title"]
        spans, vecs = unpack(blobs[cid], embedder.dimension)
        assert spans == answer_spans(text)
        model_text, shifted, _ = model_input(title, text)
        _, pooled = embedder.encode_with_spans([model_text], [shifted])
        assert np.min(np.sum(vecs * pooled[0], axis=1)) > 0.99


class _CountingModel:
    """The real embedder, counting the texts the answerer runs it on."""

    def __init__(self, embedder):
        self.embedder, self.encoded = embedder, 0
        self.dimension = embedder.dimension

    def encode_with_spans(self, texts, spans):
        self.encoded += len(texts)
        return self.embedder.encode_with_spans(texts, spans)


def test_answerer_reads_stored_vectors_instead_of_running_the_model(seeded, embedder):
    passages, qvec = seeded.search_with_vector(QUESTION)
    idf = seeded.term_weights()
    with_store, without = _CountingModel(embedder), _CountingModel(embedder)
    stored = ExtractiveAnswerer(with_store, stored=seeded.store.sentence_blobs).answer(QUESTION, passages, qvec, idf)
    pooled_now = ExtractiveAnswerer(without).answer(QUESTION, passages, qvec, idf)
    assert with_store.encoded == 0 and without.encoded == len(passages)
    assert "Stoltenberg" in stored.text
    assert stored.text == pooled_now.text and stored.citations == pooled_now.citations


def test_store_without_sentence_vectors_still_answers(library, embedder):
    """Stores written before sentence vectors were kept: the answerer pools them at query time."""
    article = next(item.article for item in load_paths([SEEDS], 10_000_000) if item.article)
    chunks = library.chunk(article)
    inputs = [model_input(article.title, c.text)[0] for c in chunks]
    library.store.write([WriteItem(article, chunks, embedder.encode(inputs))])
    assert library.store.sentence_blobs([c.id for c in chunks]) == {}
    answer = build_chain(library).invoke(QUESTION)
    assert "Stoltenberg" in answer.text and answer.citations
