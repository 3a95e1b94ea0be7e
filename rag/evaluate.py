"""Evaluation on a set in the shared format (articles.jsonl + questions.jsonl), scored as its README defines."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Settings
from .errors import InputError
from .library import Library
from .schema import Answer

log = logging.getLogger(__name__)


def norm(text: str) -> str:
    """The set's normalisation: lower case, white space collapsed."""
    return " ".join(text.lower().split())


def contains_any(text: str, answers: list[str]) -> bool:
    t = norm(text)
    return any(norm(a) in t for a in answers)


@dataclass
class _Tally:
    n: int = 0
    hit1: int = 0
    hit4: int = 0
    hit10: int = 0
    rr: float = 0.0
    answer_hit: int = 0
    cited: int = 0
    supported: int = 0
    abstained_wrongly: int = 0


def read_set(folder: Path) -> tuple[list[dict], list[dict]]:
    a, q = folder / "articles.jsonl", folder / "questions.jsonl"
    if not a.exists() or not q.exists():
        raise InputError(f"{folder} is not an evaluation set: it needs articles.jsonl and questions.jsonl.")
    return ([json.loads(line) for line in a.open(encoding="utf-8") if line.strip()],
            [json.loads(line) for line in q.open(encoding="utf-8") if line.strip()])


def evaluate(folder: str | Path, settings: Settings | None = None, limit: int | None = None,
             show_progress: bool = False) -> dict:
    """Index the set's articles into a separate store and score every question (or every n-th, with ``limit``)."""
    from .chain import build_chain

    t_start = time.perf_counter()
    folder = Path(folder)
    base = settings or Settings()
    articles, questions = read_set(folder)
    if limit and limit < len(questions):
        step = len(questions) / limit
        questions = [questions[int(i * step)] for i in range(limit)]
    store = base.store_path.parent / f"{base.store_path.name}-eval" / folder.name
    settings = base.model_copy(update={"store_path": store, "chroma_url": None, "collection": "eval-articles"})
    library = Library(settings, check=False)
    try:
        library.store._check_identity()
    except Exception:  # built with other settings: rebuild the eval store
        library.store.drop()
        library = Library(settings)
    path = folder / "articles.jsonl"
    report = library.ingest([path], prune=True, show_progress=show_progress)
    chain = build_chain(library)

    t = _Tally()
    unanswerable = abstained_right = 0
    latencies: list[float] = []
    iterator = questions
    if show_progress:
        from tqdm import tqdm

        iterator = tqdm(questions, unit="q", desc="Questions")
    for q in iterator:
        t0 = time.perf_counter()
        answer: Answer = chain.invoke(q["question"])
        latencies.append(time.perf_counter() - t0)
        passages = library.search(q["question"], 10)  # ranking for hit@k, outside the timed answer
        golds = q.get("answers") or []
        if not golds:
            unanswerable += 1
            abstained_right += int(answer.abstained)
            continue
        t.n += 1
        ranks = [i for i, p in enumerate(passages) if p.article_id == q.get("article_id") and contains_any(p.text, golds)]
        first = ranks[0] if ranks else None
        t.hit1 += first is not None and first < 1
        t.hit4 += first is not None and first < 4
        t.hit10 += first is not None and first < 10
        t.rr += 1.0 / (first + 1) if first is not None else 0.0
        t.answer_hit += contains_any(answer.text, golds) and len(answer.text.split()) <= 60
        t.abstained_wrongly += answer.abstained
        if answer.citations:
            t.cited += 1
            t.supported += any(contains_any(c.passage, golds) for c in answer.citations)
    lat = np.array(latencies) * 1000
    return {
        "set": folder.name,
        "questions": len(questions),
        "answerable": t.n,
        "articles_indexed": len(report.added) + len(report.unchanged) + len(report.updated),
        "retrieval_hit@1": round(t.hit1 / t.n, 4) if t.n else None,
        "retrieval_hit@4": round(t.hit4 / t.n, 4) if t.n else None,
        "retrieval_hit@10": round(t.hit10 / t.n, 4) if t.n else None,
        "mrr@10": round(t.rr / t.n, 4) if t.n else None,
        "answer_hit": round(t.answer_hit / t.n, 4) if t.n else None,
        "citation_support": round(t.supported / t.n, 4) if t.n else None,
        "citation_support_of_cited": round(t.supported / t.cited, 4) if t.cited else None,
        "false_abstention": round(t.abstained_wrongly / t.n, 4) if t.n else None,  # answerable questions declined
        "unanswerable": unanswerable,
        "abstention": round(abstained_right / unanswerable, 4) if unanswerable else None,  # unanswerable ones declined
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if len(lat) else None,
        "settings": {"top_k": settings.top_k, "chunk_tokens": settings.chunk_tokens,
                     "chunk_overlap_tokens": settings.chunk_overlap_tokens, "fetch_k": settings.fetch_k,
                     "embedding_model": library.embedder.label, "embedding_backend": settings.embedding_backend,
                     "embedding_precision": library.embedder.precision},
        "ingest_seconds": report.seconds,
        "seconds": round(time.perf_counter() - t_start, 1),
    }

