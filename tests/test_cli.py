"""The CLI over a real store: exit codes, human and JSON output."""

import json
import os
import socket
import subprocess
import sys

from click.testing import CliRunner

from rag.cli import cli

from .conftest import ROOT, SEEDS
from .test_timeline import write_bridge


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


FESTIVAL = """---
title: River festival returns to Exampleton
published: 2025-06-01
---
The river festival returns to Exampleton this weekend after a two-year break, with music, food stalls and fireworks.

Boat parade moves to Saturday

The boat parade, usually held on Sunday, will start at noon on Saturday, organisers said.
"""


def test_a_quoted_subhead_is_printed_on_a_line_of_its_own(tmp_path):
    (tmp_path / "festival.md").write_text(FESTIVAL)
    run("ingest", str(tmp_path / "festival.md"))
    question = "When will the boat parade start?"
    text = json.loads(run("ask", "--json", question).stdout)["text"]
    assert "fireworks. [1] Boat parade moves to Saturday [1] The boat parade" in text  # the answer's text is one run
    lines = run("ask", question).output.splitlines()
    at = lines.index("Boat parade moves to Saturday [1]")
    assert lines[at - 1].endswith("fireworks. [1]") and lines[at + 1].startswith("The boat parade, usually held")


def test_an_empty_store_is_said_before_the_model_loads(tmp_path):
    probe = ("import sys; from click.testing import CliRunner; from rag.cli import cli; "
             "r = CliRunner().invoke(cli, ['ask', 'Who leads NATO?']); "
             "print(r.exit_code, 'sentence_transformers' in sys.modules, r.output)")
    env = {**os.environ, "RAG_STORE_PATH": str(tmp_path / "store")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("1 False Error: No articles are indexed in"), out.stdout + out.stderr


def test_user_mistakes_are_one_line_errors(tmp_path):
    r = run("ask", "Who is the Secretary General of NATO?")
    assert r.exit_code == 1 and "No articles are indexed" in r.output and "Traceback" not in r.output
    r = run("ask", "   ")
    assert r.exit_code == 2
    r = run("ask", "--since", "not-a-date", "x")
    assert r.exit_code == 2 and "--since" in r.output
    r = run("ingest", str(tmp_path / "missing"))
    # wrapped to the terminal after the path, wherever pytest's tmp_path is: compare words, not lines
    assert r.exit_code == 0 and "missing: no such file or folder" in " ".join(r.output.split())


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
    assert "Maria Okonkwo \\x1b]0;owned\\x07 since May" in " ".join(answer.output.split())  # wrapped to 80 columns
    for r in (answer, run("articles")):
        assert r.exit_code == 0 and "\x1b" not in r.output and "\u202e" not in r.output
        assert "Lunar \\x1b[2J\\x1b[31mGreenhouse\\u202e Report" in r.output


def test_exit_codes_are_0_done_1_library_error_2_bad_argument(tmp_path):
    assert run("articles").exit_code == 0  # an empty store lists nothing: not an error
    assert run("ask", "Who is the Secretary General of NATO?").exit_code == 1  # nothing indexed
    assert run("remove", "no-such-id").exit_code == 1
    assert run("ask", "").exit_code == 2
    assert run("articles", "--sort", "size").exit_code == 2
    assert run("ask", "-k", "0", "q").exit_code == 2
    assert run("no-such-command").exit_code == 2
    assert run("eval", str(tmp_path / "missing")).exit_code == 2


def test_human_output_fits_80_columns_and_json_is_everywhere(articles_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    outputs = [run("ingest", str(articles_dir)), run("ask", "Who is the Secretary General of NATO?"), run("articles")]
    for r in outputs:
        assert r.exit_code == 0
        too_long = [line for line in r.output.splitlines() if len(line) > 80]
        assert not too_long, too_long
    assert "Secretary General Jens" in outputs[1].stdout and "Stoltenberg" in outputs[1].stdout
    assert "4 added" in outputs[0].stdout

    listed = json.loads(run("articles", "--json").stdout)
    assert len(listed) == 4
    by_title = json.loads(run("articles", "--json", "--sort", "title").stdout)
    assert [a["title"] for a in by_title] == sorted((a["title"] for a in listed), key=str.casefold)
    only = json.loads(run("articles", "--json", "--source", "SPORT-").stdout)
    assert [a["source"].rsplit("/", 1)[-1] for a in only] == ["sport-001.txt"]
    human = run("articles", "--source", "business")
    assert human.stdout.count(" chunks ") == 1 and "business-001.txt" in human.stdout
    assert "1 article" in human.stderr  # counts and hints are messages, not data
    none = run("articles", "--source", "nowhere")
    assert none.exit_code == 0 and none.stdout == "" and "nowhere" in none.stderr

    removed = json.loads(run("remove", "--json", only[0]["id"]).stdout)
    assert removed == {"removed": [only[0]["id"]]}


def test_rag_ui_on_a_taken_port_says_what_to_do():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run("ui", "--server.port", str(port), "--server.address", "127.0.0.1")
    assert r.exit_code == 1
    assert f"Port {port} is already in use" in r.stderr and f"rag ui --server.port {port + 1}" in r.stderr


def test_timeline_json_and_human_output(tmp_path):
    assert run("ingest", str(write_bridge(tmp_path / "news"))).exit_code == 0
    r = run("timeline", "--json", "the harbour bridge")
    data = json.loads(r.stdout)
    assert data["query"] == "the harbour bridge"
    assert [e["published"] for e in data["entries"]] == ["2023-06-01", "2024-03-05", "2025-09-18", None]
    assert [len(e["citation"]["also_reported_by"]) for e in data["entries"]] == [0, 1, 0, 0]
    r = run("timeline", "the harbour bridge")
    lines = r.output.splitlines()
    assert lines[:2] == ["2023-06-01  [1] City plans a harbour bridge", "            a.test/plan"]
    assert any(line.startswith("undated     [4] Letters on the harbour bridge") for line in lines)
    assert "also reported by 1 other source:" in r.output
    assert run("timeline", "--since", "not-a-date", "bridge").exit_code == 2
    assert run("timeline", " ").exit_code == 2

    r = run("ask", "When did construction of the harbour bridge begin?")
    lines = r.output.splitlines()
    first = lines.index("[1] Work starts on harbour bridge")
    assert lines[first + 1].startswith("    2024-03-05 · ")  # the citation's date, then its source
    assert "also reported by 1 other source:" in r.output
    at = lines.index("      Work starts on harbour bridge")  # a copy: its title, then its date and source
    assert lines[at + 1].startswith("        2024-03-05 · ")


def test_feedback_lists_what_readers_rated_in_the_chat(seeded):
    from rag import Settings, build_chain
    from rag.conversations import HELPFUL, NOT_HELPFUL, ConversationStore

    r = run("feedback")
    assert r.exit_code == 0 and r.stdout == "" and "No rated answers yet" in r.stderr
    assert not Settings().conversations_dir.exists()  # listing created nothing

    chain = build_chain(seeded)
    store = ConversationStore(Settings().conversations_dir)  # where the chat saves them
    nato, cup = "Who is the Secretary General of NATO?", "Who won the 2022 World Cup?"
    cid = store.start(nato, chain.invoke(nato), {"k": 4})
    store.add_turn(cid, cup, chain.invoke(cup), {"k": 4})
    store.add_turn(cid, "How many U.S. troops are still in Afghanistan?", chain.invoke("How many U.S. troops?"), {})
    store.rate(cid, 0, HELPFUL)
    store.rate(cid, 1, NOT_HELPFUL, "It should say the articles are from 2021")

    r = run("feedback")
    assert r.exit_code == 0 and "2 rated answers" in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == cup and lines[1].startswith("  not helpful · ") and lines[1].endswith(f"· conversation {cid[:8]}")
    assert lines[2] == "  what was wrong: It should say the articles are from 2021"
    assert lines[3] == "  The articles do not answer this question."
    assert lines[4] == nato and lines[5].startswith("  helpful · ") and "Stoltenberg" in " ".join(lines[6:])

    data = json.loads(run("feedback", "--json", "--only", "not-helpful").stdout)
    assert [(d["question"], d["rating"], d["abstained"], d["position"], d["comment"]) for d in data] == [
        (cup, "not helpful", True, 1, "It should say the articles are from 2021")]
    (helpful,) = json.loads(run("feedback", "--json", "--only", "helpful").stdout)
    assert helpful["citations"][0]["title"].startswith("NATO Chief") and helpful["settings"] == {"k": 4}
    assert run("feedback", "--only", "bad").exit_code == 2


def test_feedback_replay_says_which_rated_answers_changed(seeded, tmp_path):
    """A reader said the library should have answered; the article is added; --replay shows the new answer."""
    from rag import Settings, build_chain
    from rag.conversations import HELPFUL, NOT_HELPFUL, ConversationStore

    chain = build_chain(seeded)
    store = ConversationStore(Settings().conversations_dir)
    nato, cup = "Who is the Secretary General of NATO?", "Which country won the 2022 World Cup?"
    first = chain.invoke(nato)
    cid = store.start(nato, first, {"k": 4, "filters": {"article_ids": []}})
    follow_up = "And what did he say the Taliban must do?"  # asked after the question before it, as the chat does
    store.add_turn(cid, follow_up, chain.invoke({"question": follow_up, "history": [("user", nato), ("assistant", first.text)]}),
                   {"k": 4})
    declined = chain.invoke(cup)
    assert declined.abstained
    store.add_turn(cid, cup, declined, {"k": 4})
    store.rate(cid, 0, HELPFUL)
    store.rate(cid, 1, HELPFUL)
    store.rate(cid, 2, NOT_HELPFUL, "The final is in the articles I added")

    def replayed() -> dict:
        return {d["question"]: d["now"] for d in json.loads(run("feedback", "--replay", "--json").stdout)}

    assert [now["changed"] for now in replayed().values()] == [False, False, False]  # the same library: the same answers
    (tmp_path / "final.txt").write_text(
        "Argentina win the World Cup\n\nArgentina won the 2022 World Cup in Qatar, beating France on penalties in "
        "the final at Lusail Stadium after a 3-3 draw. Lionel Messi lifted the trophy.\n")
    assert run("ingest", str(tmp_path / "final.txt")).exit_code == 0
    now = replayed()[cup]
    assert now["changed"] and not now["abstained"] and "Argentina" in now["answer"]
    out = run("feedback", "--replay", "--only", "not-helpful").stdout
    assert "\n  now: Argentina won the 2022 World Cup" in out
