"""``python -m rag ingest|ask|timeline|articles|remove|eval``: a thin layer over the library.

Data goes to stdout, progress and diagnostics to stderr. Library errors exit 1 with one line;
set RAG_DEBUG=1 for the full traceback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path

import click

from .config import Settings
from .errors import RagError

# Terminal control characters and bidirectional overrides: an article or file name could use them to
# rewrite what the terminal shows. Human output shows them escaped; --json is already safe.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: object) -> str:
    """``text`` safe to print to a terminal: control characters as ``\\x1b``-style escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        str(text))


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
                _library(settings, check=False).store.drop()
        lib = _library(settings)
        report = lib.ingest(paths, prune=prune, show_progress=not as_json and sys.stderr.isatty())
    except RagError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    for p in report.skipped:
        click.echo(f"skipped {shown(p.path)}: {shown(p.reason)}", err=True)
    for p in report.warnings:
        click.echo(f"warning {shown(p.path)}: {shown(p.reason)}", err=True)
    summary = (f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
               f"{len(report.removed)} removed, {len(report.skipped)} skipped; "
               f"{report.chunks_embedded} chunks embedded in {report.seconds:.1f} s")
    if not report.chunks_embedded and not report.removed:
        summary += " (nothing changed, nothing embedded)"
    click.echo(summary)


@cli.command()
@click.argument("question")
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Passages to answer from.")
@click.option("--article", "article_ids", multiple=True, help="Only these article ids (repeatable).")
@click.option("--since", help="Only articles published on or after YYYY-MM-DD.")
@click.option("--until", help="Only articles published on or before YYYY-MM-DD.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), help="Quote sentences, or have a chat model write (RAG_ANSWER_MODE).")
@click.option("--provider", type=click.Choice(["openai", "ollama"]), help="Chat model API for --mode llm (RAG_LLM_PROVIDER).")
@click.option("--base-url", help="OpenAI-compatible or Ollama server URL (RAG_LLM_BASE_URL).")
@click.option("--model", "llm_model", help="Chat model name (RAG_LLM_MODEL).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds to wait for the model (RAG_LLM_TIMEOUT).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer and citations as JSON.")
@click.pass_obj
def ask(settings: Settings, question: str, top_k: int | None, article_ids: tuple[str, ...], since: str | None,
        until: str | None, mode: str | None, provider: str | None, base_url: str | None, llm_model: str | None,
        timeout: float | None, as_json: bool) -> None:
    """Answer QUESTION from the indexed articles, citing the passages used."""
    from .chain import build_chain

    filters = _date_filters(since, until, article_ids)
    if not question.strip():
        raise click.BadParameter("the question is empty", param_hint="QUESTION")
    overrides = {"answer_mode": mode, "llm_provider": provider, "llm_base_url": base_url, "llm_model": llm_model,
                 "llm_timeout": timeout}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        answer = build_chain(_library(settings), k=top_k, filters=filters).invoke(question)
    except RagError as exc:
        _fail(exc)
    if as_json:
        data = answer.to_dict()
        data.pop("passages", None)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(shown(answer.text))
    unsupported = [s for s in answer.sentences if not s.supported]
    if unsupported:
        click.echo("\nNot supported by the cited passages:")
        for s in unsupported:
            click.echo(f"  ✗ {shown(s.text)} ({shown(s.reason)})")
    for note in answer.notes:
        click.echo(f"note: {shown(note)}", err=True)
    for c in answer.citations:
        click.echo(f"\n[{c.number}] {shown(c.title)}, {shown(c.published or 'undated')} — {shown(c.source)}")
        for s, e in c.quotes:
            click.echo(f"    “{shown(c.passage[s:e])}”")
        _echo_copies(c)


def _echo_copies(c) -> None:
    """The other articles of a citation's group of copies, one a line."""
    if c.also_reported_by:
        n = len(c.also_reported_by)
        click.echo(f"    also reported by {n} other source{'s' if n != 1 else ''}:")
        for r in c.also_reported_by:
            click.echo(f"      {shown(r.title)}, {shown(r.published or 'undated')} — {shown(r.source)}")


@cli.command()
@click.argument("query")
@click.option("-n", "--limit", type=click.IntRange(1, 50), default=20, show_default=True, help="Most articles to list.")
@click.option("--since", help="Only articles published on or after YYYY-MM-DD.")
@click.option("--until", help="Only articles published on or before YYYY-MM-DD.")
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
        click.echo(f"{shown(e.published or 'undated'):<10}  [{c.number}] {shown(c.title)} — {shown(c.source)}")
        if e.sentence:
            click.echo(f"            “{shown(e.sentence)}”")
        _echo_copies(c)


def _date_filters(since: str | None, until: str | None, article_ids: tuple[str, ...] = ()):
    """Filters from --since/--until (bad dates exit 2) and --article."""
    from .loaders import normalise_date
    from .retrieval import Filters

    for name, value in (("--since", since), ("--until", until)):
        if value and not normalise_date(value):
            raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)", param_hint=name)
    return Filters(tuple(article_ids), (), normalise_date(since) if since else None,
                   normalise_date(until) if until else None)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def articles(settings: Settings, as_json: bool) -> None:
    """List the indexed articles."""
    try:
        items = _library(settings).articles()
    except RagError as exc:
        _fail(exc)
    if as_json:
        from dataclasses import asdict

        click.echo(json.dumps([asdict(a) for a in items], indent=2, ensure_ascii=False))
        return
    if not items:
        click.echo("No articles indexed yet. Add some with: python -m rag ingest PATH", err=True)
    for a in items:
        click.echo(f"{shown(a.id)}\t{shown(a.published or '-')}\t{a.chunks} chunks\t{shown(a.title)}")


@cli.command()
@click.argument("ids", nargs=-1, required=True)
@click.pass_obj
def remove(settings: Settings, ids: tuple[str, ...]) -> None:
    """Remove articles by id (see 'articles')."""
    try:
        removed = _library(settings).remove(ids)
    except RagError as exc:
        _fail(exc)
    click.echo(f"removed {len(removed)} article(s): {shown(', '.join(removed))}")


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


def main() -> None:
    cli(prog_name="python -m rag")
