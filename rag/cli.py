"""``python -m rag ingest|ask|articles|remove|eval``: a thin layer over the library.

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
    from .dates import parse_day, parse_period
    from .retrieval import Filters

    for name, value in (("--since", since), ("--until", until)):
        try:
            if value:
                parse_period(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=name) from exc
    try:
        day = parse_day(as_of) if as_of else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from exc
    if not question.strip():
        raise click.BadParameter("the question is empty", param_hint="QUESTION")
    filters = Filters(tuple(article_ids), (), since.strip() if since else None, until.strip() if until else None)
    overrides = {"answer_mode": mode, "llm_provider": provider, "llm_base_url": base_url, "llm_model": llm_model,
                 "llm_timeout": timeout}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        answer = build_chain(_library(settings), k=top_k, filters=filters, as_of=day).invoke(question)
    except RagError as exc:
        _fail(exc)
    if as_json:
        data = answer.to_dict()
        data.pop("passages", None)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(shown(answer.text))
    if answer.searched:
        click.echo(f"\nSearched {shown(answer.searched)} (as of {answer.as_of}).")
    unsupported = [s for s in answer.sentences if not s.supported]
    if unsupported:
        click.echo("\nNot supported by the cited passages:")
        for s in unsupported:
            click.echo(f"  ✗ {shown(s.text)} ({shown(s.reason)})")
    for note in answer.notes:
        click.echo(f"note: {shown(note)}", err=True)
    for c in answer.citations:
        date = f", {shown(c.published)}" if c.published else ", undated"
        click.echo(f"\n[{c.number}] {shown(c.title)}{date} — {shown(c.source)}")
        for s, e in c.quotes:
            click.echo(f"    “{shown(c.passage[s:e])}”")


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
