"""The built-in chat clients against a real HTTP server that accepts the request and then says nothing:
the HTTP client's read timeout ends the wait (no watchdog thread left behind, no retry), the extractive
answer comes with a note."""

from __future__ import annotations

import socketserver
import threading
import time

import pytest

from rag import Library, build_chain

QUESTION = "Who is the Secretary General of NATO?"


class _Silent(socketserver.BaseRequestHandler):
    """Reads the request, sends nothing, and keeps the connection open for a while."""

    def handle(self) -> None:
        self.server.requests += 1
        self.request.recv(65536)
        self.server.release.wait(30)


@pytest.fixture
def silent_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    server.requests = 0
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_a_silent_server_times_out_on_the_read_without_a_thread(seeded, embedder, silent_server, provider):
    port = silent_server.server_address[1]
    base = f"http://127.0.0.1:{port}" + ("/v1" if provider == "openai" else "")
    lib = Library(seeded.settings.model_copy(update={"answer_mode": "llm", "llm_provider": provider, "llm_base_url": base,
                                                     "llm_model": "any", "llm_timeout": 1.5}), embedder=embedder)
    build_chain(lib, answer_mode="extractive").invoke(QUESTION)  # warm the lexical index
    before = {t for t in threading.enumerate() if t.name == "rag-llm"}  # other tests' guarded fake models
    t0 = time.perf_counter()
    final = build_chain(lib).invoke(QUESTION)
    elapsed = time.perf_counter() - t0
    assert 1.4 < elapsed < 10, elapsed  # one read timeout, not two (no retry) and not the 60 s default
    assert any("no reply from the model for 1.5 s (RAG_LLM_TIMEOUT)" in n for n in final.notes), final.notes
    assert "Stoltenberg" in final.text and final.citations
    assert not {t for t in threading.enumerate() if t.name == "rag-llm"} - before  # this call left nothing running
    time.sleep(2)  # a retry would arrive within another timeout
    assert silent_server.requests == 1
