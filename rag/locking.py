"""One writer at a time per store folder: an advisory file lock (``fcntl.flock``) held while ingesting or removing.

Readers never take it: the commit-point design in ``store.py`` already shows them an article's old or new
state. The lock only keeps two writers (two CLI runs, the UI and a CLI run, two UI sessions) from
interleaving, e.g. a prune deleting chunks another run has written but not yet committed.

A Chroma server (``RAG_CHROMA_URL``) cannot be locked from here, since writers may be on other machines:
run one ingest at a time against a server yourself.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, timeout, poll)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, timeout: float | None, poll: float) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    holder = _holder(path)
    log.warning("Another ingest%s is writing to %s; waiting for it to finish.", holder, path.parent)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if deadline is not None and time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"Another ingest{holder} is still writing to {path.parent} after {timeout:g} s; "
                    "try again when it has finished.") from None
            time.sleep(poll)


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
    fd = os.open(Path(settings.store_path) / "open.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
