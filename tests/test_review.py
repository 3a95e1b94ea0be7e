"""Findings of the code review, each closed by a test: path-aware prune, Unicode word counts, ``import rag``
without fcntl and without touching the host's environment, record-only commands that never load the model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from rag import build_chain
from rag.sentences import answer_spans

from .conftest import BBC, ROOT, SEEDS


def test_prune_of_a_folder_leaves_a_sibling_with_a_longer_name_alone(library, tmp_path):
    news, archive = tmp_path / "news", tmp_path / "news-archive"
    news.mkdir()
    archive.mkdir()
    shutil.copy(BBC / "business" / "001.txt", news / "a.txt")
    shutil.copy(BBC / "sport" / "001.txt", archive / "b.txt")
    library.ingest([news, archive])
    (news / "a.txt").unlink()
    report = library.ingest([news], prune=True)
    assert len(report.removed) == 1  # a.txt, gone from news/
    assert [a.origin for a in library.articles()] == [str((archive / "b.txt").resolve())]  # the archive's article stays


def test_greek_and_cyrillic_sentences_count_as_words_and_can_be_quoted():
    greek = "Η κυβέρνηση ανακοίνωσε νέα μέτρα για την οικονομία σήμερα."
    russian = "Правительство объявило новые меры для экономики сегодня."
    text = f"{greek} {russian} Ok."
    spans = answer_spans(text)
    assert [text[s:e] for s, e in spans] == [greek, russian]  # "Ok." has fewer than three words


def test_greek_article_is_answered_with_a_quote(library, tmp_path):
    d = tmp_path / "gr"
    d.mkdir()
    (d / "gr.txt").write_text("Νέος δήμαρχος στην Αθήνα\n\nΟ νέος δήμαρχος της Αθήνας είναι ο Χάρης Δούκας. "
                              "Ανέλαβε τα καθήκοντά του τον Ιανουάριο μετά τις εκλογές.\n", encoding="utf-8")
    library.ingest([d])
    answer = build_chain(library).invoke("Ποιος είναι ο νέος δήμαρχος της Αθήνας;")
    assert answer.citations and answer.citations[0].quotes, answer
    assert "Δούκας" in answer.text


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code], env=full, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_rag_works_without_fcntl():
    code = "import sys; sys.modules['fcntl'] = None\nimport rag, rag.locking\nprint('ok')"  # as on Windows
    proc = _python(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_import_rag_leaves_the_environment_alone_and_the_cli_sets_it_offline(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ANONYMIZED_TELEMETRY")}
    code = ("import os, json, rag\nbefore = {k: os.environ.get(k) for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')}\n"
            "from rag.cli import cli\n"
            "try:\n    cli(['articles'], standalone_mode=False)\nexcept Exception:\n    pass\n"
            "print(json.dumps([before, {k: os.environ.get(k) for k in before}]))")
    proc = subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH": str(ROOT), "RAG_STORE_PATH": str(tmp_path / "s")},
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    before, after = json.loads(proc.stdout.strip().splitlines()[-1])
    assert before == {"HF_HUB_OFFLINE": None, "TRANSFORMERS_OFFLINE": None}
    assert after == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


RECORD_ONLY = """
import json, sys
from rag.cli import cli
try:
    cli(sys.argv[1:], standalone_mode=False)
finally:
    heavy = [m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules]
    print(json.dumps({"loaded": heavy}), file=sys.stderr)
"""


def test_articles_and_remove_do_not_load_the_model(seeded, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAG_STORE_PATH": str(seeded.settings.store_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-c", RECORD_ONLY, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stderr.strip().splitlines()[-1]) == {"loaded": []}, proc.stderr
        return proc

    listed = json.loads(run("articles", "--json").stdout)
    assert [a["title"] for a in listed] == [a.title for a in seeded.articles()]
    assert "removed 1 article:" in run("remove", listed[0]["id"]).stdout
    assert seeded.store.count_articles() == len(listed) - 1
    assert SEEDS.exists()
