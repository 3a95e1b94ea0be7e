"""rag/memory.py in fresh processes: the arena cap takes effect (and MALLOC_ARENA_MAX turns it off), and
trimming hands freed heap back to the OS."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")

ARENAS = """
import ctypes, json, os, re, sys, tempfile, threading
from rag.memory import limit_malloc_arenas
if sys.argv[1] == "limit":
    limit_malloc_arenas()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
start = threading.Barrier(8)
def work():
    start.wait()
    libc.malloc(1000)  # a thread's first malloc attaches it to an arena (a new one while under the cap)
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
with tempfile.TemporaryFile() as f:
    libc.fdopen.restype = ctypes.c_void_p
    fp = libc.fdopen(os.dup(f.fileno()), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fp))
    libc.fflush(ctypes.c_void_p(fp))
    f.seek(0)
    print(json.dumps({"heaps": len(re.findall(rb'<heap nr="', f.read()))}))
"""

TRIM = """
import ctypes, json
from rag.memory import release_memory
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) // 1024
blocks = [libc.malloc(1024) for _ in range(150_000)]
for b in blocks:
    ctypes.memset(b, 1, 1024)
for b in blocks[:-1]:  # the last block pins the heap's top: free pages below it stay with the process
    libc.free(ctypes.c_void_p(b))
before = rss()
release_memory()
print(json.dumps({"before": before, "after": rss()}))
"""


def _run(code: str, *args: str, **env: str) -> dict:
    full = {**{k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}, "PYTHONPATH": str(ROOT), **env}
    proc = subprocess.run([sys.executable, "-c", code, *args], env=full, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_arena_cap_takes_effect_and_can_be_turned_off():
    unlimited = _run(ARENAS, "none")["heaps"]
    capped = _run(ARENAS, "limit")["heaps"]
    turned_off = _run(ARENAS, "limit", MALLOC_ARENA_MAX="8")["heaps"]  # the user's own setting wins
    assert capped <= 2 < unlimited, (capped, unlimited)
    assert turned_off > 2, turned_off


def test_release_memory_returns_freed_heap_to_the_os():
    got = _run(TRIM)
    assert got["before"] - got["after"] > 80, got  # ~146 MB were freed but held by the process
