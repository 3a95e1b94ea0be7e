"""``rag ingest|ask|timeline|articles|remove|feedback|eval|ui`` (or ``python -m rag ...``): a thin layer over the library.

Data goes to stdout, progress and diagnostics to stderr; ``--json`` wherever data is printed. Exit codes:
0 done, 1 a library error (one line that says what to do; RAG_DEBUG=1 shows the traceback), 2 a bad
argument.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .config import Settings, offline_environment
from .errors import EmptyStoreError, RagError
from .terminal import answer_lines, counted, facts_line, quote_body, searched_line, shown, wrap


def _settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(exc: Exception) -> None:
    if os.environ.get("RAG_DEBUG"):
        raise exc
    raise click.ClickException(str(exc)) from exc


def _library(settings: Settings, check: bool = True):
    from .library import Library

    return Library(settings, check=check)


@click.group()
@click.option("--store", type=click.Path(path_type=Path), envvar="RAG_STORE_PATH", help="Store folder (RAG_STORE_PATH).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens to stderr.")
@click.pass_context
def cli(ctx: click.Context, store: Path | None, verbose: bool) -> None:
    """Question answering over your articles, with cited passages."""
    offline_environment()
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        ctx.obj = _settings(store_path=store)
    except Exception as exc:  # pydantic validation of RAG_* variables
        raise click.ClickException(f"Invalid configuration: {exc}") from exc


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Remove articles whose files under PATHS are gone.")
@click.option("--rebuild", is_flag=True, help="Drop the store and index again with the current settings.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def ingest(settings: Settings, paths: tuple[Path, ...], prune: bool, rebuild: bool, as_json: bool) -> None:
    """Index the articles in PATHS (files or folders): new ones are added, changed ones replaced."""
    try:
        if rebuild:
            from .locking import write_lock

            with write_lock(settings):
                _library(settings, check=False).drop()
        lib = _library(settings)
        report = lib.ingest(paths, prune=prune, show_progress=not as_json and sys.stderr.isatty())
    except RagError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    for p in report.skipped:
        click.echo(wrap(f"{p.path}: {p.reason}", "  ", "skipped "), err=True)
    for p in report.warnings:
        click.echo(wrap(f"{p.path}: {p.reason}", "  ", "warning "), err=True)
    click.echo(wrap(f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
                    f"{len(report.removed)} removed, {len(report.skipped)} skipped"))
    if not report.chunks_embedded and not report.removed:
        click.echo(f"nothing changed, nothing embedded ({report.seconds:.1f} s)")
    else:
        click.echo(f"{report.chunks_embedded} chunks embedded in {report.seconds:.1f} s")


@cli.command()
@click.argument("question")
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Passages to answer from.")
@click.option("--article", "article_ids", multiple=True, help="Only these article ids (repeatable).")
@click.option("--since", help="Only articles published in or after YYYY, YYYY-MM or YYYY-MM-DD (the whole period).")
@click.option("--until", help="Only articles published in or before YYYY, YYYY-MM or YYYY-MM-DD (the whole period).")
@click.option("--as-of", "as_of", help="Ask as of this day (YYYY-MM-DD; default today): later articles are not used.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), help="Quote sentences, or have a chat model write (RAG_ANSWER_MODE).")
@click.option("--provider", type=click.Choice(["openai", "ollama"]), help="Chat model API for --mode llm (RAG_LLM_PROVIDER).")
@click.option("--base-url", help="OpenAI-compatible or Ollama server URL (RAG_LLM_BASE_URL).")
@click.option("--model", "llm_model", help="Chat model name (RAG_LLM_MODEL).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds to wait for the model (RAG_LLM_TIMEOUT).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer and citations as JSON.")
@click.pass_obj
def ask(settings: Settings, question: str, top_k: int | None, article_ids: tuple[str, ...], since: str | None,
        until: str | None, as_of: str | None, mode: str | None, provider: str | None, base_url: str | None, llm_model: str | None,
        timeout: float | None, as_json: bool) -> None:
    """Answer QUESTION from the indexed articles, citing the passages used."""
    from .chain import build_chain
    from .dates import parse_day

    filters = _date_filters(since, until, article_ids)
    try:
        day = parse_day(as_of) if as_of else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from exc
    if not question.strip():
        raise click.BadParameter("the question is empty", param_hint="QUESTION")
    overrides = {"answer_mode": mode, "llm_provider": provider, "llm_base_url": base_url, "llm_model": llm_model,
                 "llm_timeout": timeout}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        library = _library(settings)
        library.store.revision()  # says so if another process is rebuilding the store
        if library.is_empty():  # said before the model loads, which takes most of a start
            raise EmptyStoreError.at(library.store.where)
        library.warm()
        answer = build_chain(library, k=top_k, filters=filters, as_of=day).invoke(question)
    except RagError as exc:
        _fail(exc)
    if as_json:
        data = answer.to_dict()
        data.pop("passages", None)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(wrap("\n".join(answer_lines(answer))))
    if answer.searched:
        click.echo("\n" + wrap(searched_line(answer.searched, answer.as_of, answer.window)))
    unsupported = [s for s in answer.sentences if not s.supported]
    if unsupported:
        click.echo("\nNot supported by the cited passages:")
        for s in unsupported:
            click.echo(wrap(f"{s.text} ({s.reason})", "    ", "  ✗ "))
    for note in answer.notes:
        click.echo(wrap(note, "  ", "note: "), err=True)
    for c in answer.citations:
        click.echo("\n" + wrap(c.title or "Untitled", "    ", f"[{c.number}] "))
        click.echo(facts_line((c.published or "undated", _source_label(c.source)), "    "))
        for s, e in c.quotes:
            click.echo(wrap(f"“{quote_body(c.passage[s:e])}”", "      ", "    "))
        _echo_copies(c)


SORTS = {  # --sort: newest first by default, as the UI lists them
    "date": lambda a: (a.published or "", a.title),
    "title": lambda a: (a.title.casefold(), a.published or ""),
    "source": lambda a: (a.source.casefold(), a.published or ""),
}


def _echo_copies(c) -> None:
    """The other articles of a citation's group of copies, one a line."""
    if c.also_reported_by:
        n = len(c.also_reported_by)
        click.echo(wrap(f"also reported by {n} other source{'s' if n != 1 else ''}:", "    "))
        for r in c.also_reported_by:
            click.echo(wrap(r.title or "Untitled", "        ", "      "))
            click.echo(facts_line((r.published or "undated", _source_label(r.source)), "        "))


@cli.command()
@click.argument("query")
@click.option("-n", "--limit", type=click.IntRange(1, 50), default=20, show_default=True, help="Most articles to list.")
@click.option("--since", help="Only articles published in or after this period: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--until", help="Only articles published in or before this period: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.pass_obj
def timeline(settings: Settings, query: str, limit: int, since: str | None, until: str | None, as_json: bool) -> None:
    """The articles on QUERY by publication date, each with its most relevant sentence (undated ones last)."""
    from .timeline import timeline as make_timeline

    filters = _date_filters(since, until)
    if not query.strip():
        raise click.BadParameter("the query is empty", param_hint="QUERY")
    try:
        result = make_timeline(_library(settings), query, limit, filters)
    except RagError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    if not result.entries:
        click.echo("No article is close enough to this subject.", err=True)
    for e in result.entries:
        c = e.citation
        click.echo(wrap(f"[{c.number}] {c.title}", "            ", f"{shown(e.published or 'undated'):<10}  "))
        click.echo(facts_line((_source_label(c.source),), "            "))
        if e.sentence:
            click.echo(wrap(f"“{quote_body(e.sentence)}”", "            "))
        _echo_copies(c)


def _date_filters(since: str | None, until: str | None, article_ids: tuple[str, ...] = ()):
    """Filters from --since/--until (whole periods: YYYY, YYYY-MM, YYYY-MM-DD; anything else exits 2) and --article."""
    from .dates import parse_period
    from .retrieval import Filters

    for name, value in (("--since", since), ("--until", until)):
        try:
            if value:
                parse_period(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=name) from exc
    return Filters(tuple(article_ids), (), since.strip() if since else None, until.strip() if until else None)


@cli.command()
@click.option("--sort", type=click.Choice(list(SORTS)), default="date", show_default=True,
              help="Order: date (newest first), title or source (A to Z).")
@click.option("--source", "source_part", metavar="TEXT", help="Only articles whose source (file path or URL) contains TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Print the articles as JSON.")
@click.pass_obj
def articles(settings: Settings, sort: str, source_part: str | None, as_json: bool) -> None:
    """List the indexed articles: id, date, chunks, title and source."""
    try:
        items = _library(settings).articles()
    except RagError as exc:
        _fail(exc)
    if source_part is not None:
        items = [a for a in items if source_part.casefold() in a.source.casefold()]
    items.sort(key=SORTS[sort], reverse=sort == "date")
    if as_json:
        click.echo(json.dumps([asdict(a) for a in items], indent=2, ensure_ascii=False))
        return
    if not items:
        hint = f"No article's source contains {source_part!r}." if source_part else \
            "No articles indexed yet. Add some with: rag ingest PATH"
        click.echo(shown(hint), err=True)
        return
    for a in items:  # two lines each, so long ids, titles and sources never crowd one another (--json: whole sources)
        click.echo(wrap(a.title or "Untitled"))
        click.echo(facts_line((a.id, a.published or "no date", f"{a.chunks} chunks", _source_label(a.source)), "  "))
    click.echo(f"{len(items)} article{'s' if len(items) != 1 else ''}", err=True)


def _source_label(source: str) -> str:
    """A short source for a listing: a URL without its scheme, a file's name."""
    return source.split("://", 1)[1].rstrip("/") if "://" in source else Path(source).name


@cli.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the removed ids as JSON.")
@click.pass_obj
def remove(settings: Settings, ids: tuple[str, ...], as_json: bool) -> None:
    """Remove articles by id (see 'articles')."""
    try:
        removed = _library(settings).remove(ids)
    except RagError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps({"removed": list(removed)}, indent=2))
        return
    click.echo(wrap(", ".join(removed), "  ", f"removed {counted(len(removed), 'article')}: "))


RATED = {"helpful": 1, "not-helpful": 0}  # rag.conversations.HELPFUL, NOT_HELPFUL


@cli.command()
@click.option("--only", type=click.Choice(list(RATED)), help="Only answers rated so.")
@click.option("-n", "--limit", type=click.IntRange(1), default=100, show_default=True, help="Most answers to list.")
@click.option("--replay", is_flag=True,
              help="Ask each question again (as of its day, with its passages and filters) and say if the answer changed.")
@click.option("--json", "as_json", is_flag=True, help="Print the rated answers as JSON, with their citations.")
@click.pass_obj
def feedback(settings: Settings, only: str | None, limit: int, replay: bool, as_json: bool) -> None:
    """List the answers readers rated in the chat (thumbs up or down), newest asked first: the questions
    to look into. With --replay, whether a change of articles or settings since has changed their answers."""
    from .conversations import FILE_NAME, HELPFUL, ConversationStore

    rated = []
    if (settings.conversations_dir / FILE_NAME).exists():  # listing never creates the file
        try:
            rated = ConversationStore(settings.conversations_dir).rated(RATED.get(only), limit)
        except RagError as exc:
            _fail(exc)
    records = [{
        "rating": "helpful" if r.turn.rating == HELPFUL else "not helpful", "comment": r.turn.comment,
        "question": r.turn.question,
        "answer": r.turn.answer.text, "abstained": r.turn.answer.abstained, "as_of": r.turn.answer.as_of,
        "asked_at": r.turn.asked_at, "conversation_id": r.conversation_id, "conversation": r.title,
        "position": r.turn.position, "settings": r.turn.settings,
        "citations": [{"number": c.number, "article_id": c.article_id, "title": c.title, "source": c.source,
                       "published": c.published} for c in r.turn.answer.citations],
    } for r in rated]
    if replay and rated:
        try:
            asked = _asker(settings)
            store = ConversationStore(settings.conversations_dir)
            turns = {cid: store.get(cid).turns for cid in {r.conversation_id for r in rated}}  # each read once
            for record, r in zip(records, rated):
                earlier = [t for t in turns[r.conversation_id] if t.position < r.turn.position]
                now = asked(r.turn, earlier)
                record["now"] = {"answer": now.text, "abstained": now.abstained, "changed": now.text != r.turn.answer.text}
        except RagError as exc:
            _fail(exc)
    if as_json:
        click.echo(json.dumps(records, indent=2, ensure_ascii=False, default=str))
        return
    if not records:
        click.echo("No rated answers yet: rate one with the thumbs under it in the chat.", err=True)
        return
    for r in records:
        click.echo(wrap(r["question"]))
        click.echo(facts_line((r["rating"], r["asked_at"][:16].replace("T", " ") + " UTC",
                               f"conversation {r['conversation_id'][:8]}"), "  "))
        if r["comment"]:
            click.echo(wrap(r["comment"], "    ", "  what was wrong: "))
        click.echo(wrap(r["answer"], "  "))
        if "now" in r:
            click.echo(wrap(r["now"]["answer"], "    ", "  now: " if r["now"]["changed"] else "  now, the same: "))
    click.echo(counted(len(records), "rated answer"), err=True)


def _asker(settings: Settings):
    """A turn's question answered now as it was asked: as of the same day, with its passage count and filters,
    after the same earlier questions of its conversation (a follow-up needs them)."""
    from .chain import build_chain
    from .conversations import from_data
    from .retrieval import Filters

    chain = build_chain(_library(settings))

    def ask_again(turn, earlier):
        used = turn.settings
        history = [pair for t in earlier for pair in (("user", t.question), ("assistant", t.answer.text))]
        request = {"question": turn.question, "history": history, "as_of": turn.answer.as_of, "k": used.get("k"),
                   "filters": from_data(Filters, used["filters"]) if used.get("filters") else None}
        return chain.invoke({k: v for k, v in request.items() if v is not None})
    return ask_again


@cli.command(name="eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(1), help="Score only this many questions, spread evenly.")
@click.pass_obj
def eval_(settings: Settings, folder: Path, limit: int | None) -> None:
    """Score retrieval, answers, citations and abstention on an evaluation set; prints JSON."""
    from .evaluate import evaluate

    try:
        result = evaluate(folder, settings, limit=limit, show_progress=sys.stderr.isatty())
    except RagError as exc:
        _fail(exc)
    click.echo(json.dumps(result, indent=2))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def ui(settings: Settings, streamlit_args: tuple[str, ...]) -> None:
    """Start the chat UI (Streamlit) at http://localhost:8501; other arguments go to 'streamlit run',
    e.g. rag ui --server.port 8502."""
    from .launch import port_and_address, port_in_use, port_taken_message, start_ui

    if "--help" in streamlit_args:
        click.echo(click.get_current_context().get_help())
        return
    port, address = port_and_address(streamlit_args)
    if port_in_use(port, address):
        raise click.ClickException(port_taken_message(port))
    start_ui(streamlit_args, {**os.environ, "RAG_STORE_PATH": str(settings.store_path)})


def main() -> None:
    """The ``rag`` console script."""
    cli(prog_name="rag")
