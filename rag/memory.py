"""Keeping a long ingest's memory in check: glibc's heaps, capped and trimmed."""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=1)
def _libc():
    """glibc, or None (another C library, another OS)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


@lru_cache(maxsize=1)
def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread heaps (arenas) for threads started from now on, unless ``MALLOC_ARENA_MAX`` is set.

    The model, the chunker and writer threads and Chroma's own threads each get a heap by default
    (up to 8 per core), and freed memory stranded in one is not reused by the others.
    """
    libc = _libc()
    if libc is not None and "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(-8, arenas)  # M_ARENA_MAX


def release_memory() -> None:
    """Hand freed heap pages back to the OS.

    A batch's activations are freed after each forward pass, but glibc keeps the pages, scattered
    between live blocks; over a long ingest the process grows by hundreds of MB it does not use
    (BBC ingest: peak RSS 1620.7 MB, 1406.9 MB trimming after every batch, at the same speed).
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
