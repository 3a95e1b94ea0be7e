"""The CLI over a real store: exit codes, human and JSON output."""

import json

from click.testing import CliRunner

from rag.cli import cli

from .conftest import SEEDS


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_ingest_ask_articles_remove(tmp_path):
    r = run("ingest", str(SEEDS))
    assert r.exit_code == 0 and "1 added" in r.output
    r = run("ingest", str(SEEDS))
    assert "1 unchanged" in r.output and "nothing embedded" in r.output

    r = run("ask", "Who is the Secretary General of NATO?")
    assert r.exit_code == 0 and "Stoltenberg" in r.output and "[1] NATO Chief" in r.output

    r = run("ask", "--json", "How many U.S. troops are still in Afghanistan?")
    data = json.loads(r.stdout)
    assert "2,500" in data["text"] and data["abstained"] is False
    assert any("2,500" in c["passage"] for c in data["citations"])

    r = run("articles", "--json")
    (article,) = json.loads(r.stdout)
    assert article["title"].startswith("NATO Chief")

    r = run("remove", article["id"])
    assert r.exit_code == 0
    r = run("remove", article["id"])
    assert r.exit_code == 1 and "No article with id" in r.output


def test_user_mistakes_are_one_line_errors(tmp_path):
    r = run("ask", "Who is the Secretary General of NATO?")
    assert r.exit_code == 1 and "No articles are indexed" in r.output and "Traceback" not in r.output
    r = run("ask", "   ")
    assert r.exit_code == 2
    r = run("ask", "--since", "not-a-date", "x")
    assert r.exit_code == 2 and "--since" in r.output
    r = run("ingest", str(tmp_path / "missing"))
    assert r.exit_code == 0 and "no such file or folder" in r.output


def test_ingest_reports_bad_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_text("")
    (folder / "ok.txt").write_text("Headline\n\nSome body text.")
    r = run("ingest", "--json", str(folder))
    data = json.loads(r.stdout)
    assert len(data["added"]) == 1
    assert data["skipped"] == [{"path": str(folder / "empty.txt"), "reason": "empty file"}]


def test_human_output_escapes_terminal_control_characters(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "lunar.txt").write_text(
        "Lunar \x1b[2J\x1b[31mGreenhouse\u202e Report\n\n"
        "The greenhouse at the Shackleton station is led by the botanist Maria Okonkwo \x1b]0;owned\x07 since May.\n",
        encoding="utf-8")
    (folder / "empty\x1b[31m.txt").write_text("", encoding="utf-8")
    r = run("ingest", str(folder))
    assert r.exit_code == 0 and "1 added" in r.output
    assert "\x1b" not in r.stderr and "empty\\x1b[31m.txt" in r.stderr  # the skipped file, named safely
    answer = run("ask", "Who leads the greenhouse at the Shackleton station?")
    assert "Maria Okonkwo \\x1b]0;owned\\x07 since May" in answer.output
    for r in (answer, run("articles")):
        assert r.exit_code == 0 and "\x1b" not in r.output and "\u202e" not in r.output
        assert "Lunar \\x1b[2J\\x1b[31mGreenhouse\\u202e Report" in r.output


def test_timeline_json_and_human_output(tmp_path):
    from .test_timeline import write_bridge

    assert run("ingest", str(write_bridge(tmp_path / "news"))).exit_code == 0
    r = run("timeline", "--json", "the harbour bridge")
    data = json.loads(r.stdout)
    assert data["query"] == "the harbour bridge"
    assert [e["published"] for e in data["entries"]] == ["2023-06-01", "2024-03-05", "2025-09-18", None]
    assert [len(e["citation"]["also_reported_by"]) for e in data["entries"]] == [0, 1, 0, 0]
    r = run("timeline", "the harbour bridge")
    lines = r.output.splitlines()
    assert lines[0].startswith("2023-06-01  [1] City plans a harbour bridge — https://a.test/plan")
    assert any(line.startswith("undated     [4] Letters on the harbour bridge") for line in lines)
    assert "also reported by 1 other source:" in r.output
    assert run("timeline", "--since", "not-a-date", "bridge").exit_code == 2
    assert run("timeline", " ").exit_code == 2

    r = run("ask", "When did construction of the harbour bridge begin?")
    assert "[1] Work starts on harbour bridge, 2024-03-05 —" in r.output
    assert "also reported by 1 other source:" in r.output and "Work starts on harbour bridge, 2024-03-05 — https://" in r.output
