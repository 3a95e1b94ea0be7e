"""A shared Chroma server behind an authenticating proxy: ``chroma run`` (chromadb 1.5.9) enforces no
credentials itself, so Debian's nginx checks a bearer token in front of it. With the token every
command works; without it or with a wrong one every command fails with one clear line and writes nothing.
Also: a server that goes away mid-session gives a one-line message, not a traceback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import chromadb
import pytest

from rag import Library, RagError, Settings, build_chain

from .conftest import ROOT, SEEDS
from .servers import free_port, start_server, stop

TOKEN = "s3cret-token-for-tests"

NGINX_CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
daemon off;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 0;
    map $http_authorization $authorized {{
        default 0;
        "Bearer {token}" 1;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            if ($authorized = 0) {{ return 401; }}
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 300s;
            # stream bodies both ways: nginx's workers (not root) need no temp files under tmp_path
            proxy_request_buffering off;
            proxy_buffering off;
            client_body_buffer_size 1m;
        }}
    }}
}}
"""


def start_proxy(upstream: str, tmp, token: str = TOKEN) -> tuple[subprocess.Popen, str]:
    """nginx on a free loopback port, everything (config, pid, logs, temp files) under ``tmp``."""
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if exe is None:
        pytest.fail("nginx is not installed (.ci/run installs it)")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, upstream=upstream, token=token))
    proc = subprocess.Popen([exe, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(tmp / 'error.log').read_text(errors='replace')[-1000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("nginx did not listen in time")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """(proxy URL, direct Chroma URL): a Chroma server of its own, reachable with the token through nginx."""
    root = tmp_path_factory.mktemp("auth")
    chroma, direct = start_server(root / "data", root / "chroma.log")
    try:
        proxy, url = start_proxy(direct, root / "nginx")
    except Exception:
        stop(chroma)
        raise
    yield url, direct
    stop(proxy)
    stop(chroma)


def test_chroma_run_itself_enforces_no_credentials(guarded):
    """Why the proxy: the server answers anyone (so it must only listen where the proxy can reach it)."""
    _, direct = guarded
    with urllib.request.urlopen(f"{direct}/api/v2/tenants/default_tenant/databases/default_database/collections") as r:
        assert r.status == 200
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{guarded[0]}/api/v2/heartbeat")
    assert err.value.code == 401


def _cli(url: str, collection: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAG_CHROMA")}
    full = {**base, "RAG_CHROMA_URL": url, "RAG_COLLECTION": collection, **env}
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=300)


def _collections(direct: str) -> set[str]:
    host, port = direct.removeprefix("http://").split(":")
    return {c.name for c in chromadb.HttpClient(host=host, port=int(port)).list_collections()}


def test_with_the_token_every_command_works(guarded, embedder, tmp_path):
    url, direct = guarded
    name = f"auth-{uuid.uuid4().hex[:8]}"
    done = _cli(url, name, "ingest", str(SEEDS), RAG_CHROMA_TOKEN=TOKEN)
    assert done.returncode == 0, done.stderr
    listed = json.loads(_cli(url, name, "articles", "--json", RAG_CHROMA_TOKEN=TOKEN).stdout)
    assert listed and listed[0]["title"].startswith("NATO")
    # the same credentials as headers, in this process: the library and the chain (what the UI uses)
    settings = Settings(chroma_url=url, collection=name, chroma_headers={"Authorization": f"Bearer {TOKEN}"},
                        store_path=tmp_path / "unused")
    answer = build_chain(Library(settings, embedder=embedder)).invoke("Who is the Secretary General of NATO?")
    assert "Stoltenberg" in answer.text and answer.citations
    assert name in _collections(direct)


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_without_or_with_wrong_credentials_every_command_fails_cleanly(guarded, token):
    url, direct = guarded
    name = f"denied-{uuid.uuid4().hex[:8]}"
    env = {"RAG_CHROMA_TOKEN": token} if token else {}
    expected = "were refused" if token else "are missing"
    for args in (("ingest", str(SEEDS)), ("ask", "Who is the Secretary General of NATO?"), ("articles",),
                 ("remove", "some-id")):
        proc = _cli(url, name, *args, **env)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (args, proc.stderr)
        assert "requires credentials" in lines[0] and expected in lines[0] and "RAG_CHROMA_TOKEN" in lines[0], lines
        assert "Traceback" not in proc.stderr
    assert not any(c.startswith(name) for c in _collections(direct))  # nothing was written


def test_a_server_that_goes_away_gives_one_clear_line(tmp_path, embedder):
    chroma, url = start_server(tmp_path / "data", tmp_path / "chroma.log")
    try:
        settings = Settings(chroma_url=url, collection="gone", store_path=tmp_path / "unused")
        lib = Library(settings, embedder=embedder)
        lib.ingest([SEEDS])
        chain = build_chain(lib)
        assert "Stoltenberg" in chain.invoke("Who is the Secretary General of NATO?").text
    finally:
        stop(chroma)
    with pytest.raises(RagError, match="Chroma server at"):
        lib.store.revision()
    with pytest.raises(RagError, match="Chroma server at"):
        lib.ingest([SEEDS])
    proc = _cli(url, "gone", "articles")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Cannot reach the Chroma server" in proc.stderr
