"""A short soak (benchmarks/soak.py): a serving process answers without pause while this one adds, rewrites and
removes articles, in embedded and server mode: no failed question, every cited passage from a committed version."""

from __future__ import annotations

import importlib.util

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak", ROOT / "benchmarks" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_short_soak_has_no_errors_and_only_committed_answers(mode, tmp_path, embedder):
    result = _soak_module().soak(mode, cycles=4, articles=15, warmup=1, work=tmp_path, embedder=embedder)
    assert result["errors"] == 0, result["error_samples"]
    assert result["not_committed"] == 0, result["not_committed_samples"]
    assert result["questions"] >= 8 and result["cited_passages_checked"] > 0, result
    assert len(result["rss_mb"]) == 4
    assert result["rss_growth_mb"] < 150, result["rss_mb"]  # generous: 50 cycles grew 3.9 MB (embedded) and 2.1 MB (server)


def test_a_half_written_last_answer_is_not_read(tmp_path):
    """The serving process may be mid-write when the log is read (a JSONDecodeError failed one CI run)."""
    log = tmp_path / "answers.jsonl"
    log.write_text('{"t": 1.0, "cited": []}\n{"t": 2.0, "cited": [["a:b:1", "a", 0, 5, "Hello wor')
    assert _soak_module().answered(log) == [{"t": 1.0, "cited": []}]
    assert _soak_module().answered(tmp_path / "missing.jsonl") == []
