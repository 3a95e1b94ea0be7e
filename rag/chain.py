"""The retrieval chain as a LangChain Runnable: question (and history) in, a cited ``Answer`` out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from .answer import NOTHING_ASKED, ExtractiveAnswerer
from .condense import strip_context
from .dated import lead_with_latest, window_note
from .dates import as_date
from .errors import InputError
from .groups import annotate
from .lexical import LexicalIndex
from .library import Library
from .retrieval import Filters, HybridRetriever, time_focus
from .schema import Answer
from .terms import content_terms
from .timeexpr import content_question, resolve


def parse_input(value: Any) -> dict:
    """Accept ``"question"`` or ``{"question", "history", "filters", "k", "as_of"}``."""
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
                answer_mode: str | None = None, llm: Any = None, as_of: date | str | None = None) -> Runnable:
    """The question-answering chain: ``chain.invoke("Who leads NATO?") -> Answer``.

    ``batch`` and ``stream`` work as for any Runnable; per-call ``filters`` and ``k`` may be given
    in the input dict. ``stream`` yields ``Answer`` objects whose text grows; the last one is final
    (complete citations). ``answer_mode`` overrides ``Settings.answer_mode``: ``"extractive"`` quotes
    sentences, ``"llm"`` has a chat model write the answer, then checks its citations (``Answer.sentences``)
    and falls back to the extractive answer, with a note, when the model fails. ``llm`` is a LangChain
    chat model to use instead of the one ``RAG_LLM_*`` describes. With ``history``, a follow-up is made
    standalone before retrieval (``Answer.standalone_question``).

    Every question is asked as of a day: ``as_of`` in the input dict, else the chain's ``as_of``, else
    today. Articles published after it are not used, and "this week" or "latest" in the question are
    read against it (``Answer.as_of``, ``Answer.window``, ``Answer.searched``).
    """
    library = library or Library()
    settings = library.settings
    mode = answer_mode or settings.answer_mode
    if mode not in ("extractive", "llm"):
        raise InputError(f"Unknown answer mode {mode!r}; use 'extractive' or 'llm'.")
    answerer = ExtractiveAnswerer(library.embedder, max_words=settings.answer_max_words,
                                  answerable_threshold=settings.answerable_threshold, library_size=library.chunk_count,
                                  term_weights=library.term_weights, scorer=library.scorer)
    generator = None
    if mode == "llm":
        from .citations import CitationChecker
        from .llm import LLMAnswerer, chat_model

        generator = LLMAnswerer(llm if llm is not None else chat_model(settings), CitationChecker(library.embedder),
                                answerer, settings.llm_timeout, guard=llm is not None)

    def run(value: Any, config: RunnableConfig) -> Iterator[Answer]:
        lex = library.lexical.get()  # the question's one read of the store's revision: everything below uses it
        groups = None  # built after the search: an empty question or store is reported by the search as before
        for answer in _answers(value, config, lex):  # post-processing: newest report first, copies listed on citations
            groups = groups or library.groups.get(lex.revision)
            yield annotate(window_note(lead_with_latest(answer, settings.answer_max_words)), groups)

    def _answers(value: Any, config: RunnableConfig, lex: LexicalIndex) -> Iterator[Answer]:
        req = parse_input(value)
        question = library.check_question(req["question"])
        day = _as_of(req.get("as_of") or as_of)
        searched, notes, failed = _standalone(question, history_pairs(req["history"]), generator,
                                              settings.max_question_chars, config)
        scope = resolve(searched, day)
        stamp = {"as_of": day.isoformat(), "searched": scope.describe(),
                 "window": tuple(d.isoformat() for d in scope.period) if scope.period else None}
        if scope.note:
            notes = (*notes, scope.note)
        if lex.ids and not content_terms(searched):  # a follow-up's search carries its context: "Who is he?" is not caught here
            yield Answer(question=question, text=NOTHING_ASKED, abstained=True, notes=notes, standalone_question=searched,
                         **{**stamp, "searched": None})  # nothing was searched: no "Searched news up to …" under it
            return
        if lex.ids and not lex.published_by(day):
            yield Answer(question=question, text=f"No article was published by {day.isoformat()}: every indexed article is "
                         "later, so there is nothing to answer from as of that day.", abstained=True, notes=notes,
                         standalone_question=searched, **stamp)
            return
        passages, qvec = library.search_with_vector(searched, req.get("k") or k, req.get("filters") or filters, scope, lex)
        # the words to match: without "this week" (the window holds it) or a rule-based follow-up's "(context: ...)"
        # (retrieval used it to find the topic; matching it again quotes sentences that name the topic, not the answer)
        matched = strip_context(content_question(searched) if scope.expressions and lex.dated else searched)
        chunks = len(lex.ids)
        passages = time_focus(passages, scope, lambda inside: answerer.answerable(matched, inside, qvec, lex.idf, chunks))
        if generator is None:
            yield replace(answerer.answer(matched, passages, qvec, lex.idf, chunks), question=question, standalone_question=searched,
                          notes=notes, **stamp)
        elif failed:
            yield replace(generator.extractive(question, searched, passages, qvec, notes, lex.idf, chunks, matched), **stamp)
        else:
            for answer in generator.stream(question, searched, passages, qvec, notes, config, lex.idf, chunks, matched):
                yield replace(answer, **stamp)

    return RunnableLambda(run, name="rag_answer")


def _as_of(value: Any) -> date:
    try:
        return as_date(value)
    except ValueError as exc:
        raise InputError(f"as_of: {exc}") from exc


def _standalone(question: str, history: list[tuple[str, str]], generator: Any, max_chars: int,
                config: RunnableConfig) -> tuple[str, tuple[str, ...], bool]:
    """What to search for: the follow-up made standalone (by the model if there is one), notes, model failed."""
    from .condense import rule_based, user_questions

    if not user_questions(history):
        return question, (), False
    notes: tuple[str, ...] = ()
    if generator is not None:
        from .llm import LLMError, failure_note

        try:
            return generator.condense(question, history, max_chars, config), (), False
        except LLMError as exc:
            notes = (failure_note(exc),)
    rewritten = rule_based(question, history)
    return (rewritten if len(rewritten) <= max_chars else question), notes, bool(notes)


def build_retriever(library: Library | None = None, k: int | None = None, filters: Filters | None = None,
                    as_of: date | None = None) -> HybridRetriever:
    library = library or Library()
    return HybridRetriever(retriever=library.retriever, k=k or library.settings.top_k, filters=filters or Filters(), as_of=as_of)
