"""Settings: one frozen object read from ``RAG_*`` environment variables, shared by CLI, chain and UI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Offline by default: nothing may download weights, and no telemetry leaves the machine.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
# oneDNN keeps compiled kernels per input shape (1,024 by default); chunk batches come in many padded
# lengths, and in bfloat16 the cache held ~300 MB more at the peak of a 7,096-chunk ingest (1,868 MB
# against 1,551 MB with 8 entries), at the same speed. Must be set before torch starts.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything configurable, e.g. ``RAG_STORE_PATH=/data/store`` or ``RAG_TOP_K=6``."""

    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True, extra="ignore")

    store_path: Path = Field(PROJECT_ROOT / "vectorstore", description="Folder of the embedded Chroma store.")
    chroma_url: str | None = Field(None, description="Use a Chroma server instead, e.g. http://127.0.0.1:8000.")
    collection: str = Field("articles", description="Chroma collection name.")
    seeds_path: Path = Field(PROJECT_ROOT / "seeds", description="Articles indexed on first start of the UI.")
    uploads_path: Path = Field(PROJECT_ROOT / "uploads", description="Where the UI keeps uploaded files.")
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
    fetch_k: int = Field(30, ge=1, le=500, description="Candidates from each of dense and lexical search before fusion.")
    dense_weight: float = Field(1.0, ge=0)
    lexical_weight: float = Field(1.0, ge=0)

    group_threshold: float = Field(0.5, gt=0, le=1, description=(
        "Articles this similar (Jaccard of their 5-word shingles) are grouped as copies of one story; 1 = no grouping."))

    answer_mode: Literal["extractive", "llm"] = "extractive"
    answer_max_words: int = Field(60, ge=10)
    abstain_threshold: float = Field(0.25, description="Below this passage similarity the answer says the articles do not answer.")
    abstain_missing_threshold: float = Field(
        0.40, description="Below this similarity, abstain too when a distinctive question word is in no passage.")

    max_file_mb: float = Field(20.0, gt=0, description="Larger files are rejected.")
    max_question_chars: int = Field(1000, ge=10)

    llm_provider: Literal["openai", "ollama"] = "openai"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(60.0, gt=0)
    llm_temperature: float = 0.0
    llm_max_tokens: int = Field(512, ge=16, le=32768, description="Longest reply, in tokens; bounds the time a slow model can take.")
