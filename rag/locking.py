"""One writer at a time per store folder: an OS file lock (the ``filelock`` package) held while ingesting or removing.

Readers never take it: the commit-point design in ``store.py`` already shows them an article's old or new
state. The lock only keeps two writers (two CLI runs, the UI and a CLI run, two UI sessions) from
interleaving, e.g. a prune deleting chunks another run has written but not yet committed.

A Chroma server (``RAG_CHROMA_URL``) cannot be locked from here, since writers may be on other machines:
run one ingest at a time against a server yourself.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .config import Settings
from .errors import RagError

log = logging.getLogger(__name__)

LOCK_NAME = "ingest.lock"


class StoreBusyError(RagError):
    """Another process is writing to the store and did not finish in time."""


@contextmanager
def write_lock(settings: Settings, timeout: float | None = None, poll: float = 0.2) -> Iterator[None]:
    """Hold the store's writer lock; wait for another writer (saying so once), or raise after ``timeout`` s."""
    if settings.chroma_url:
        yield  # see the module docstring
        return
    settings.store_path.mkdir(parents=True, exist_ok=True)
    path = Path(settings.store_path) / LOCK_NAME
    holder_file = path.with_suffix(".pid")  # beside the lock: the lock file itself is the OS lock's business
    lock = FileLock(path)
    _acquire(lock, holder_file, timeout, poll)
    try:
        holder_file.write_text(f"{os.getpid()}\n")
        yield
    finally:
        holder_file.write_text("")
        lock.release()


def _acquire(lock: FileLock, holder_file: Path, timeout: float | None, poll: float) -> None:
    try:
        lock.acquire(timeout=0)
        return
    except Timeout:
        pass
    holder = _holder(holder_file)
    log.warning("Another ingest%s is writing to %s; waiting for it to finish.", holder, holder_file.parent)
    try:
        lock.acquire(timeout=-1 if timeout is None else timeout, poll_interval=poll)
    except Timeout:
        raise StoreBusyError(
            f"Another ingest{holder} is still writing to {holder_file.parent} after {timeout:g} s; "
            "try again when it has finished.") from None


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def writer(method):
    """Decorate a ``Library`` method that writes: it runs holding the store's writer lock."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with write_lock(self.settings):
            self.store.revision()  # catch up with writes made by others before writing
            return method(self, *args, **kwargs)

    return locked


@contextmanager
def open_lock(settings: Settings) -> Iterator[None]:
    """Serialise opening a local store (held for milliseconds): Chroma's first-time set-up races between processes."""
    if settings.chroma_url:
        yield
        return
    settings.store_path.mkdir(parents=True, exist_ok=True)
    with FileLock(Path(settings.store_path) / "open.lock"):
        yield
