"""Uploaded files: checked, stored under a generated name, indexed, and reported one line per file.

Kept apart from the page so it can be tested with real files and a real library, and so the
page only shows what it returns.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag import IngestReport, Library
from rag.errors import InputError
from rag.library import ProgressCallback
from rag.loaders import SUPPORTED, safe_upload_name

NAMES_FILE = ".names.json"  # hidden, so ingesting the folder skips it


@dataclass(frozen=True)
class FileResult:
    """What became of one file: ``added``, ``updated``, ``unchanged`` or ``rejected``, with titles or the reason."""

    name: str
    status: str
    detail: str


def safe_name(original: str) -> str | None:
    """The stored file name (``rag.loaders.safe_upload_name``), or None if the type is unsupported.

    Nothing of the uploaded path reaches the file system; the same name maps to the same file, so
    uploading a changed version of a file updates its article.
    """
    try:
        return safe_upload_name(original)
    except InputError:
        return None


def original_names(folder: Path) -> dict[str, str]:
    """Stored name -> the name the file was uploaded as, to show people the name they know."""
    try:
        data = json.loads((folder / NAMES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(folder: Path, names: dict[str, str]) -> None:
    _write(folder / NAMES_FILE, json.dumps({**original_names(folder), **names}, ensure_ascii=False, indent=0).encode())


def _check(name: str, data: bytes, max_mb: float) -> str | None:
    if safe_name(name) is None:
        ext = Path(name).suffix.lower() or "no extension"
        return f"unsupported file type ({ext}); use one of {', '.join(sorted(SUPPORTED))}"
    if not data:
        return "empty file"
    if len(data) > max_mb * 1_000_000:
        return f"file is {len(data) / 1e6:.1f} MB, over the {max_mb:g} MB upload limit (RAG_MAX_UPLOAD_MB)"
    return None


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _restore(path: Path, previous: bytes | None) -> None:
    """Put back what ``path`` held before this upload (nothing, or the earlier file)."""
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        _write(path, previous)


def ingest_uploads(library: Library, files: Sequence[tuple[str, bytes]], folder: Path, max_mb: float,
                   lock: threading.Lock | None = None, on_progress: ProgressCallback | None = None) -> list[FileResult]:
    """Store ``files`` (name, content) under ``folder`` and index them; one result per file, in order.

    A file the loader rejects is not kept, and if it replaced an earlier upload of the same name,
    that earlier file is put back: a bad upload loses nothing.
    """
    results: dict[int, FileResult] = {}
    saved: dict[int, tuple[Path, bytes | None]] = {}
    lock = lock or threading.Lock()
    with lock:
        folder.mkdir(parents=True, exist_ok=True)
        last = {name: i for i, (name, _) in enumerate(files)}
        for i, (name, data) in enumerate(files):
            problem = _check(name, data, max_mb)
            if not problem and last[name] != i:
                problem = "a later file of the same name in this upload replaces it"
            if problem:
                results[i] = FileResult(name, "rejected", problem)
                continue
            path = (folder / safe_name(name)).resolve()
            previous = path.read_bytes() if path.exists() else None
            _write(path, data)
            saved[i] = (path, previous)
        if saved:
            try:
                report = library.ingest([p for p, _ in saved.values()], on_progress=on_progress)
            except BaseException:
                for path, previous in saved.values():
                    _restore(path, previous)
                raise
            infos = {a.id: a for a in library.articles()}
            for i, (path, previous) in saved.items():
                results[i] = _outcome(files[i][0], path, report, infos)
                if results[i].status == "rejected":
                    _restore(path, previous)
            kept = {path.name: files[i][0] for i, (path, _) in saved.items() if results[i].status != "rejected"}
            if kept:
                _remember(folder, kept)
    return [results[i] for i in range(len(files))]


def _outcome(name: str, path: Path, report: IngestReport, infos: dict) -> FileResult:
    """Read one file's fate out of a report covering several files."""
    where = str(path)
    mine = {aid for aid, info in infos.items() if info.origin == where}
    groups = [(status, [infos[a].title for a in ids if a in mine])
              for status, ids in (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged))]
    problems = [p.reason for p in report.skipped if _about(p.path, where)]
    warnings = [p.reason.replace(where, name) for p in report.warnings if _about(p.path, where)]
    found = [(s, titles) for s, titles in groups if titles]
    if not found:
        reason = "; ".join(problems) or "no article found in the file"
        return FileResult(name, "rejected", reason.replace(where, name))
    status = found[0][0] if len(found) == 1 else "added"
    detail = "; ".join(f"{len(t)} {s}" if len(t) > 1 or len(found) > 1 else t[0] for s, t in found)
    if problems:
        detail += f"; {len(problems)} rejected: {problems[0].replace(where, name)}"
    if warnings:  # indexed, but the person should know: a refused date, a guessed encoding, a paywall left out
        detail += f"; warning: {warnings[0]}" if len(warnings) == 1 else f"; {len(warnings)} warnings, the first: {warnings[0]}"
    return FileResult(name, status, detail)


def _about(path: str, where: str) -> bool:
    """A report's path names this file, or a record in it (``file.jsonl:3``, ``file.json[2]``)."""
    return path == where or path.startswith((where + ":", where + "["))
