"""The packaged model: precision choice, and that bfloat16 batches keep the float32 vectors' directions."""

import numpy as np
import pytest

from rag import Settings
from rag.embeddings import get_embedder, native_bfloat16, resolve_precision

TEXTS = [
    "NATO Chief Says Afghanistan Troop Pullout Depends on Taliban\nJens Stoltenberg said the alliance would not leave "
    "before the time is right.",
    "Ad sales boost Time Warner profit\nQuarterly profits at US media giant TimeWarner jumped 76% to $1.13bn.",
    "The football club sacked its manager on Sunday after a fourth defeat in a row.",
]


def test_auto_precision_follows_the_cpu():
    assert resolve_precision("auto") == ("bfloat16" if native_bfloat16() else "float32")
    assert resolve_precision("float32") == "float32"


def test_bfloat16_batches_keep_the_vectors():
    fp32 = get_embedder(precision="float32")  # one of the two is the session's model (cached)
    bf16 = get_embedder(precision="bfloat16")
    a, b = fp32.encode(TEXTS), bf16.encode(TEXTS)
    assert np.min(np.sum(a * b, axis=1)) > 0.9999  # pooled and normalised in float32 (in bfloat16: 0.9986)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert not np.array_equal(a, b)  # the batch really ran in bfloat16
    assert np.array_equal(fp32.encode(TEXTS[:1]), bf16.encode(TEXTS[:1]))  # a question stays float32
    q = fp32.encode(["Who leads NATO?"])[0]
    assert int(np.argmax(b @ q)) == int(np.argmax(a @ q)) == 0


def test_precision_is_a_setting(monkeypatch):
    monkeypatch.setenv("RAG_EMBEDDING_PRECISION", "float32")
    assert Settings().embedding_precision == "float32"
    monkeypatch.setenv("RAG_EMBEDDING_PRECISION", "half")
    with pytest.raises(ValueError):
        Settings()


def test_counting_many_texts_at_once_counts_each_alone(embedder):
    texts = ["", " lead", "trail ", "two\nlines", "x" * 300, "Café naïve — “quoted”", "ctrl\u0000char\u200b", *TEXTS]
    assert embedder.count_tokens(texts) == [embedder.count_tokens([t])[0] for t in texts]
    assert embedder.count_tokens(texts)[3:5] == [2, 1] and embedder.count_tokens(TEXTS)[2] == 16


def test_a_question_is_encoded_as_the_model_encodes_it(embedder):
    """The question path runs the model's forward pass itself: same truncation, pooling and norm as ``encode``."""
    texts = ["Who leads NATO?", "", "x " * 400, "İstanbul’s mayor — who?", "日本の首相は誰ですか", *TEXTS]
    embedder.forget_questions()
    got = np.stack([embedder.query_vector(t) for t in texts])
    want = np.stack([embedder.model.encode([t], normalize_embeddings=True, convert_to_numpy=True)[0] for t in texts])
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.min(np.sum(got * want, axis=1)) > 0.99999  # "x " * 400 is cut at the model's 256 tokens, as encode() cuts it
    assert embedder.query_vector(texts[0]) is embedder.query_vector(texts[0])  # remembered
