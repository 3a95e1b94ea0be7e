"""The retrieval chain as a LangChain Runnable: question (and history) in, a cited ``Answer`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from .answer import ExtractiveAnswerer
from .errors import InputError
from .library import Library
from .retrieval import Filters, HybridRetriever
from .schema import Answer


def parse_input(value: Any) -> dict:
    """Accept ``"question"`` or ``{"question", "history", "filters", "k"}``."""
    if isinstance(value, str):
        return {"question": value, "history": []}
    if isinstance(value, dict) and isinstance(value.get("question"), str):
        return {"history": [], **value}
    raise InputError('Input must be a question string or a dict with a "question" key.')


def history_pairs(history: Sequence[Any]) -> list[tuple[str, str]]:
    """Normalise history given as (role, text) pairs, dicts or LangChain messages."""
    out = []
    for h in history or []:
        if isinstance(h, (tuple, list)) and len(h) == 2:
            out.append((str(h[0]), str(h[1])))
        elif isinstance(h, dict):
            out.append((str(h.get("role", "")), str(h.get("content", ""))))
        elif hasattr(h, "type") and hasattr(h, "content"):
            out.append(("user" if h.type == "human" else "assistant", str(h.content)))
    return out


def build_chain(library: Library | None = None, k: int | None = None, filters: Filters | None = None,
                answer_mode: str | None = None, llm: Any = None) -> Runnable:
    """The question-answering chain: ``chain.invoke("Who leads NATO?") -> Answer``.

    ``batch`` and ``stream`` work as for any Runnable; per-call ``filters`` and ``k`` may be given
    in the input dict. ``stream`` yields ``Answer`` objects whose text grows; the last one is final
    (complete citations). ``answer_mode`` overrides ``Settings.answer_mode``; ``llm`` is a LangChain
    chat model to use in ``"llm"`` mode instead of the one the settings describe.
    """
    library = library or Library()
    settings = library.settings
    mode = answer_mode or settings.answer_mode
    if mode != "extractive":
        raise InputError(f"Answer mode {mode!r} is not available yet; use 'extractive'.")
    answerer = ExtractiveAnswerer(library.embedder, max_words=settings.answer_max_words,
                                  abstain_threshold=settings.abstain_threshold,
                                  abstain_missing_threshold=settings.abstain_missing_threshold)

    def run(value: Any) -> Answer:
        req = parse_input(value)
        question = library.check_question(req["question"])
        passages, qvec = library.search_with_vector(question, req.get("k") or k, req.get("filters") or filters)
        return answerer.answer(question, passages, qvec, library.term_weights())

    return RunnableLambda(run, name="rag_answer")


def build_retriever(library: Library | None = None, k: int | None = None, filters: Filters | None = None) -> HybridRetriever:
    library = library or Library()
    return HybridRetriever(library=library, k=k or library.settings.top_k, filters=filters or Filters())
