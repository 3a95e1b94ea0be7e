"""Real servers for the tests on loopback: free ports, waiting until they answer, stopping them; and Chroma's."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ok(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200; fail early if the server process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate, then kill if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_server(data_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start ``chroma run`` on a free loopback port and wait until its heartbeat answers."""
    exe = shutil.which("chroma")
    if exe is None:
        raise RuntimeError("the 'chroma' command (from the chromadb package) is not on PATH")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_path.open("wb")
    proc = subprocess.Popen([exe, "run", "--path", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until_ok(f"{url}/api/v2/heartbeat", proc)
    except Exception:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"{log_path.read_text(errors='replace')[-2000:]}") from None
    return proc, url


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """URL of a Chroma server that lives for the whole test session; its data is under tmp."""
    root = tmp_path_factory.mktemp("chroma-server")
    proc, url = start_server(root / "data", root / "server.log")
    yield url
    stop(proc)
