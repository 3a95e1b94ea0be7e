"""Settings: one frozen object read from ``RAG_*`` environment variables, shared by CLI, chain and UI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .paths import PROJECT_ROOT, data_root, shipped  # noqa: F401  (PROJECT_ROOT: kept for importers)

OFFLINE = {
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
}


def offline_environment() -> None:
    """Offline by default for the app's own processes (CLI, UI): nothing downloads weights, no telemetry leaves.

    Called by the entry points, not at ``import rag``: a program that uses the library keeps its own
    environment (and may download its own models). A variable already set is left as it is.
    """
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)


DATA_ROOT = data_root()  # the project folder in a checkout, ~/.local/share/rag when installed (rag/paths.py)


class Settings(BaseSettings):
    """Everything configurable, e.g. ``RAG_STORE_PATH=/data/store`` or ``RAG_TOP_K=6``."""

    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True, extra="ignore")

    store_path: Path = Field(DATA_ROOT / "vectorstore", description="Folder of the embedded Chroma store (and its saved BM25 index).")
    chroma_url: str | None = Field(None, description="Use a Chroma server instead, e.g. http://127.0.0.1:8000.")
    chroma_token: SecretStr | None = Field(None, description="Sent to the Chroma server as 'Authorization: Bearer TOKEN'.")
    chroma_headers: dict[str, str] = Field(
        default_factory=dict, description='HTTP headers for the Chroma server, as JSON, e.g. {"Authorization": "Basic dXNlcjpwdw=="}.')
    collection: str = Field("articles", description="Chroma collection name.")
    seeds_path: Path = Field(shipped("seeds"), description="Articles indexed on first start of the UI.")
    uploads_path: Path = Field(DATA_ROOT / "uploads", description="Where the UI keeps uploaded files.")
    conversations_path: Path | None = Field(
        None, description="Folder of the UI's conversations database (SQLite, on the UI's machine even with a Chroma "
        "server); unset: a 'conversations' folder beside the store folder.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file the UI accepts.")

    embedding_model: str = Field("", description="sentence-transformers model name or path; empty = packaged all-MiniLM-L6-v2.")
    embedding_backend: Literal["torch", "onnx"] = "torch"
    # 16, not 32: a 57k-chunk ingest peaked at 1468.3 MB of RSS with 16 and at 2380.8-2541.9 MB with 32
    embedding_batch_size: int = Field(16, ge=1)
    embedding_precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="auto: bfloat16 where the CPU has it natively (AMX, AVX512-BF16), else float32.")

    chunk_tokens: int = Field(200, ge=32, le=220, description="Max word pieces per chunk (the model truncates at 256).")
    chunk_overlap_tokens: int = Field(48, ge=0, description="Overlap between chunks: whole sentences up to this many word pieces.")

    top_k: int = Field(4, ge=1, le=50, description="Passages given to the answerer.")
    fetch_k: int = Field(60, ge=1, le=500, description="Candidates from each of dense and lexical search before fusion "
                                                      "(the time prior can only lift what is fetched).")
    hnsw_ef_search: int = Field(600, ge=10, le=5000, description=(
        "Breadth of Chroma's HNSW search: Chroma's default 100 found 97.85% of the exact 60 nearest chunks on news-2025's "
        "71,780-chunk store, 600 finds 99.88% for 2 ms more per question. Applied to existing stores when opened."))
    rerank_depth: int = Field(12, ge=0, le=100, description="Candidates re-ranked by their best sentence; 0 = fused order.")
    rerank_fusion_weight: float = Field(
        1.0, ge=0, description="Weight of the fused score (best = 1) beside the best sentence's in re-ranking.")
    dense_weight: float = Field(1.0, ge=0)
    lexical_weight: float = Field(1.0, ge=0)
    time_weight: float = Field(1.0, ge=0, description="Prior for articles in the period a question names, in first-rank RRF units.")
    window_half_life_days: float = Field(7.0, gt=0, description="Outside the question's period the prior halves every this many days.")
    recency_weight: float = Field(1.0, ge=0, description="Prior for the newest reporting when a question says latest/current/still.")
    news_recency_weight: float = Field(1.0, ge=0, description="Recency prior for every question (news is read as of its date); 0 = off.")
    recency_half_life_days: float = Field(14.0, gt=0, description="The recency prior halves with every this many days of age.")

    group_threshold: float = Field(0.5, gt=0, le=1, description=(
        "Articles this similar (Jaccard of their 5-word shingles) are grouped as copies of one story; 1 = no grouping."))

    answer_mode: Literal["extractive", "llm"] = "extractive"
    answer_max_words: int = Field(60, ge=10)
    answerable_threshold: float | None = Field(
        None, ge=0, le=1, description="Decline when the answerability model's probability is below this; "
        "unset: the threshold trained with it (rag/answerability.json). Higher declines more.")

    max_file_mb: float = Field(20.0, gt=0, description="Larger files (or articles in a JSON/JSONL archive) are rejected.")
    max_archive_mb: float = Field(1024.0, gt=0, description="Largest JSON/JSONL archive of many articles (each within RAG_MAX_FILE_MB).")
    max_question_chars: int = Field(1000, ge=10)

    llm_provider: Literal["openai", "ollama"] = "openai"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(60.0, gt=0)
    llm_temperature: float = 0.0
    llm_max_tokens: int = Field(512, ge=16, le=32768, description="Longest reply, in tokens; bounds the time a slow model can take.")

    @property
    def conversations_dir(self) -> Path:
        """Where the conversations database lives: ``conversations_path``, or beside the store folder."""
        return self.conversations_path or self.store_path.parent / "conversations"
