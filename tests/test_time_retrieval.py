"""Questions asked as of a day, with time in them: real files, the real model, a real store."""

import json
from datetime import date

from click.testing import CliRunner

from rag import Library, Settings, build_chain
from rag.cli import cli
from rag.retrieval import Filters

LAYOFFS = [
    # older, with more of the question's words: the wrong answer for "this week"
    {"id": "old", "title": "Globex announced layoffs", "published": "2025-11-14",
     "text": "Globex announced layoffs this week: the company announced 900 layoffs at its plants on Friday, "
             "and said more layoffs may be announced."},
    # newest: the right answer, in other words
    {"id": "new", "title": "Initech to cut jobs at two factories", "published": "2026-01-07",
     "text": "Initech will cut 300 jobs at its two Ohio factories, the firm said on Wednesday, as it announced "
             "layoffs blamed on weak demand."},
]
MAYORS = [
    {"id": "doe", "title": "Exampleton elects a mayor", "published": "2024-05-01",
     "text": "Exampleton elected Jane Doe as its mayor on Tuesday. Doe promised to repair the bridge."},
    {"id": "roe", "title": "Exampleton has a new mayor", "published": "2025-06-01",
     "text": "Exampleton's new mayor is John Roe, who won the election on Sunday. Roe promised new parks."},
]


def _library(tmp_path, embedder, rows, **settings) -> Library:
    f = tmp_path / "news.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    lib = Library(Settings(store_path=tmp_path / "store", **settings), embedder=embedder)
    report = lib.ingest([f])
    assert len(report.added) == len(rows)
    return lib


def test_this_week_favours_the_newest_article_over_more_word_overlap(tmp_path, embedder):
    lib = _library(tmp_path, embedder, LAYOFFS)
    q = {"question": "Which company announced layoffs this week?", "as_of": "2026-01-09"}
    answer = build_chain(lib).invoke(q)
    assert "Initech" in answer.text and "Globex" not in answer.text
    assert answer.citations[0].article_id == "new"
    assert answer.window == ("2026-01-03", "2026-01-09") and answer.as_of == "2026-01-09"
    assert answer.searched == "news from 3–9 Jan 2026"
    assert not any(n.startswith("No article from") for n in answer.notes)  # it is quoted from that week
    # the prior is what wins it: without it, word overlap puts the older article first
    plain = Library(lib.settings.model_copy(update={"time_weight": 0.0}), embedder=embedder)
    assert plain.search(q["question"], k=2, as_of=q["as_of"])[0].article_id == "old"


def test_the_prior_is_not_a_filter(tmp_path, embedder):
    """A window that holds nothing relevant still answers from what matches."""
    lib = _library(tmp_path, embedder, LAYOFFS + MAYORS)
    answer = build_chain(lib).invoke({"question": "Who did Exampleton elect as mayor yesterday?", "as_of": "2026-01-09"})
    assert not answer.abstained and {c.article_id for c in answer.citations} & {"doe", "roe"}
    # and says so: "Searched news from 8–9 Jan 2026" alone would pass the older report off as those days' news
    assert "No article from 8–9 Jan 2026 answered this question: the cited articles were published outside it." in answer.notes


def test_as_of_hides_later_articles_and_abstains_before_all(tmp_path, embedder):
    lib = _library(tmp_path, embedder, MAYORS)
    chain = build_chain(lib)
    then = chain.invoke({"question": "Who is the mayor of Exampleton?", "as_of": "2024-12-31"})
    assert "Jane Doe" in then.text and {p.article_id for p in then.passages} == {"doe"}
    now = chain.invoke({"question": "Who is the mayor of Exampleton?", "as_of": "2025-07-01"})
    assert "roe" in {p.article_id for p in now.passages}
    before = chain.invoke({"question": "Who is the mayor of Exampleton?", "as_of": "2019-01-01"})
    assert before.abstained and "No article was published by 2019-01-01" in before.text and not before.passages
    latest = chain.invoke({"question": "Who is the current mayor of Exampleton?", "as_of": "2025-07-01"})
    assert "John Roe" in latest.text


def test_conflicting_expressions_answer_and_say_the_window(tmp_path, embedder):
    lib = _library(tmp_path, embedder, MAYORS)
    answer = build_chain(lib).invoke({"question": "Who became mayor of Exampleton last week in 2024?", "as_of": "2026-01-09"})
    assert not answer.abstained and answer.window == ("2024-01-01", "2024-12-31")
    assert any("searched 2024" in n for n in answer.notes)


def test_since_and_until_mean_the_whole_period(tmp_path, embedder):
    rows = [{"id": d, "title": f"Harbour report {d}", "published": d, "text": f"The harbour report of {d} counted ferries."}
            for d in ("2023-12-31", "2024-01-01", "2024-12-31", "2025-01-01")] + \
           [{"id": "undated", "title": "Harbour report", "text": "The harbour report counted ferries."}]
    lib = _library(tmp_path, embedder, rows)
    found = {p.article_id for p in lib.search("harbour report ferries", k=10, filters=Filters(published_from="2024", published_to="2024"))}
    assert found == {"2024-01-01", "2024-12-31"}
    found = {p.article_id for p in lib.search("harbour report ferries", k=10, filters=Filters(published_to="2023-12"))}
    assert found == {"2023-12-31"}
    r = CliRunner().invoke(cli, ["--store", str(tmp_path / "store"), "ask", "--json", "--since", "2024", "--until", "2024",
                                 "How many ferries did the harbour report count?"])
    assert r.exit_code == 0, r.output
    assert {c["article_id"] for c in json.loads(r.stdout)["citations"]} <= {"2024-01-01", "2024-12-31"}


def test_cli_as_of(tmp_path, embedder):
    _library(tmp_path, embedder, MAYORS)
    run = CliRunner().invoke
    r = run(cli, ["--store", str(tmp_path / "store"), "ask", "--as-of", "2024-12-31", "Who is the mayor of Exampleton?"])
    assert r.exit_code == 0 and "Jane Doe" in r.stdout and "Searched news up to 31 Dec 2024." in r.stdout
    for bad in ("yesterday", "2024-02-30", "2024"):
        r = run(cli, ["--store", str(tmp_path / "store"), "ask", "--as-of", bad, "Who is the mayor?"])
        assert r.exit_code == 2 and "--as-of" in r.output and repr(bad) in r.output
    r = run(cli, ["--store", str(tmp_path / "store"), "ask", "--since", "March", "Who is the mayor?"])
    assert r.exit_code == 2 and "use YYYY, YYYY-MM or YYYY-MM-DD" in r.output


def test_as_of_defaults_to_today(tmp_path, embedder):
    lib = _library(tmp_path, embedder, MAYORS)
    answer = build_chain(lib).invoke("Who is the mayor of Exampleton?")
    assert answer.as_of == date.today().isoformat() and answer.window is None
