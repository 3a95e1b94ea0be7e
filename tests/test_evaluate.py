"""``rag eval`` on a tiny set with known scores: a change in scoring fails here; the eval store survives errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from rag import Library, Settings
from rag.chroma import StoreUnavailableError
from rag.evaluate import contains_any, evaluate, norm, week_folds
from rag.schema import Answer, Citation, Passage
from rag.store import Store

from .conftest import BBC, GREENHOUSE, ROOT, SEEDS

QUESTIONS = [
    # answerable, and the answer is in the best passage
    {"id": "q1", "question": "Who is the Secretary General of NATO?", "answers": ["Stoltenberg"], "article_id": "nato"},
    {"id": "q2", "question": "Who leads the greenhouse project at the Shackleton research station?",
     "answers": ["Maria Okonkwo"], "article_id": "greenhouse"},
    # answerable by the set's rules, but the gold string is nowhere near what the question asks about
    {"id": "q3", "question": "What did the greenhouse harvest?", "answers": ["hydroponic racks"], "article_id": "nato"},
    # no answer in the articles: the right response is to abstain
    {"id": "q4", "question": "What is the population of the city of Lima in Peru?", "answers": [], "article_id": None},
]


@pytest.fixture
def tiny_set(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    nato = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    title, _, body = GREENHOUSE.decode().partition("\n\n")
    business = (BBC / "business" / "001.txt").read_text(encoding="utf-8")
    articles = [
        {"id": "nato", "title": nato.split("\n", 1)[0], "text": nato.split("\n", 1)[1].strip() + " hydroponic racks",
         "source": "seed", "published": "2019-03-01"},
        {"id": "greenhouse", "title": title, "text": body, "source": "test", "published": "2025-01-07"},
        {"id": "business", "title": business.split("\n", 1)[0], "text": business.split("\n", 1)[1].strip(),
         "source": "bbc", "published": None},
    ]
    (folder / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return folder


def _passage(article_id: str, text: str, n: int = 0) -> Passage:
    return Passage(chunk_id=f"{article_id}:v:{n}", article_id=article_id, title="", source="", published=None, text=text,
                   start=0, end=len(text))


def _citation(p: Passage) -> Citation:
    return Citation(number=1, article_id=p.article_id, title="", source="", published=None, chunk_id=p.chunk_id,
                    start=0, end=len(p.text), passage=p.text)


def _filler(n: int) -> list[Passage]:
    return [_passage("business", f"unrelated passage {i}", i) for i in range(n)]


# What a scripted chain returns for each question: the ranking (hit@k, MRR) and the answer (the other scores).
RANKED = {
    "q1": [_passage("nato", "Jens Stoltenberg leads NATO.")] + _filler(9),  # rank 1
    # rank 3; a passage from another article with the answer comes first and must not count
    "q2": [_passage("nato", "Maria Okonkwo visited.")] + _filler(1) + [_passage("greenhouse", "led by Maria Okonkwo")] + _filler(7),
    "q3": _filler(5) + [_passage("nato", "the hydroponic racks")] + _filler(4),  # rank 6
    "q4": _filler(10),
}
ANSWERS = {
    "q1": Answer(question="", text="Jens Stoltenberg [1].", citations=(_citation(RANKED["q1"][0]),)),
    # contains the answer but is longer than 60 words; cites a passage without it
    "q2": Answer(question="", text="Maria Okonkwo " + "and so on " * 20, citations=(_citation(RANKED["q2"][1]),)),
    "q3": Answer(question="", text="The articles do not say.", abstained=True),  # abstains on an answerable question
    "q4": Answer(question="", text="Lima has ten million people."),  # answers an unanswerable one
}
SCRIPTED = {
    "questions": 4, "answerable": 3, "unanswerable": 1, "articles_indexed": 3,
    "retrieval_hit@1": 0.3333, "retrieval_hit@4": 0.6667, "retrieval_hit@10": 1.0, "mrr@10": 0.5,
    "answer_hit": 0.3333, "citation_support": 0.3333, "citation_support_of_cited": 0.5,
    "false_abstention": 0.3333, "abstention": 0.0,
}


def test_scoring_of_known_rankings_and_answers_is_exact(tiny_set, settings, embedder, monkeypatch):
    """The set's scoring rules, on scripted rankings and answers: any change in how a score is counted fails."""
    by_text = {q["question"]: q["id"] for q in QUESTIONS}

    class Scripted:
        def invoke(self, value):
            return ANSWERS[by_text[value["question"]]]

    monkeypatch.setattr("rag.library.get_embedder", lambda *a, **k: embedder)
    monkeypatch.setattr("rag.chain.build_chain", lambda library, **kw: Scripted())
    monkeypatch.setattr(Library, "search", lambda self, question, k=None, filters=None, as_of=None: RANKED[by_text[question]][:k])
    result = evaluate(tiny_set, settings)
    assert {k: result[k] for k in SCRIPTED} == SCRIPTED


def test_normalisation_and_matching_follow_the_set_rules():
    assert norm("  Jens\n STOLTENBERG ") == "jens stoltenberg"
    assert contains_any("Led by Jens  Stoltenberg.", ["jens stoltenberg"])
    assert not contains_any("Led by Jens Stoltenberg.", ["Erna Solberg", "Stoltenberg Jens"])


def test_real_chain_on_a_tiny_set(tiny_set, settings, embedder, monkeypatch):
    monkeypatch.setattr("rag.library.get_embedder", lambda *a, **k: embedder)  # the session's model, loaded once
    result = evaluate(tiny_set, settings)
    assert (result["questions"], result["answerable"], result["unanswerable"], result["articles_indexed"]) == (4, 3, 1, 3)
    assert result["retrieval_hit@1"] <= result["retrieval_hit@4"] <= result["retrieval_hit@10"] == 1.0
    assert result["retrieval_hit@1"] >= 0.6667 and result["abstention"] == 1.0  # q1, q2 first; Lima: abstain
    assert result["settings"]["top_k"] == settings.top_k and result["latency_ms_p50"] > 0


def test_eval_command_prints_the_scores_as_json(tiny_set, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rag", "--store", str(tmp_path / "store"), "eval", str(tiny_set),
                           "--limit", "2"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["questions"] == 2 and result["answerable"] == 2  # every 2nd question: q1 and q3
    assert result["retrieval_hit@10"] == 1.0 and result["unanswerable"] == 0 and result["articles_indexed"] == 3


def _eval_store(settings: Settings, folder) -> Settings:
    return settings.model_copy(update={"store_path": settings.store_path.parent / f"{settings.store_path.name}-eval" / folder.name,
                                       "collection": "eval-articles"})


def test_eval_store_is_dropped_only_on_a_settings_mismatch(tiny_set, settings, embedder, monkeypatch):
    monkeypatch.setattr("rag.library.get_embedder", lambda *a, **k: embedder)
    evaluate(tiny_set, settings)
    store_settings = _eval_store(settings, tiny_set)
    assert Library(store_settings, embedder=embedder).store.count_articles() == 3

    def unavailable(self):
        raise StoreUnavailableError("Cannot reach the store right now")

    monkeypatch.setattr(Store, "_check_identity", unavailable)  # a store briefly unreadable: not a reason to drop it
    with pytest.raises(StoreUnavailableError):
        evaluate(tiny_set, settings)
    monkeypatch.undo()
    monkeypatch.setattr("rag.library.get_embedder", lambda *a, **k: embedder)
    store = Store(store_settings, embedder.label)
    assert store.count_articles() == 3 and store.count_chunks() > 0
    ids_before = set(store.chunks.get(include=[])["ids"])

    other = settings.model_copy(update={"chunk_tokens": 120})  # a real mismatch: rebuilt with the new settings
    assert evaluate(tiny_set, other)["settings"]["chunk_tokens"] == 120
    rebuilt = Store(_eval_store(other, tiny_set), embedder.label)
    assert rebuilt.chunks.metadata["chunk_tokens"] == 120 and set(rebuilt.chunks.get(include=[])["ids"]) != ids_before


# -- asked dates, any-article scoring, the time-relative split (a hand-made set with known scores)
DATED_ARTICLES = [
    {"id": "a1", "title": "Exampleton harbour opens", "published": "2023-05-01", "source": "x",
     "text": "Mayor Lina Park opened the new harbour in Exampleton on Monday. Bluewave Ferries will run the island route."},
    {"id": "a2", "title": "Second ferry for the island", "published": "2023-09-01", "source": "y",
     "text": "Bluewave Ferries added a second boat to the island route, the company said."},
    {"id": "a3", "title": "Island route changes hands", "published": "2024-06-01", "source": "z",
     "text": "Bluewave Ferries lost the island route contract to Tidal Lines, the council said on Saturday."},
]
DATED_QUESTIONS = [
    {"id": "q1", "question": "Who opened the new harbour in Exampleton?", "answers": ["Lina Park"], "article_id": "a1",
     "asked": "2023-12-31"},
    # the gold article is not yet published when the question is asked; two earlier ones hold the answer
    {"id": "q2", "question": "Which company runs the island route?", "answers": ["Bluewave Ferries"], "article_id": "a3",
     "asked": "2024-01-01"},
    {"id": "q3", "question": "Which company won the island route contract this week?", "answers": ["Tidal Lines"],
     "article_id": "a3", "asked": "2024-06-03"},
    {"id": "q4", "question": "What is the population of Mars?", "answers": [], "article_id": "a1", "asked": "2024-06-03"},
]


def test_eval_scores_a_tiny_set_as_defined(tmp_path, monkeypatch):
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in DATED_ARTICLES))
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in DATED_QUESTIONS))
    settings = Settings(store_path=tmp_path / "store")

    gold = evaluate(folder, settings)
    assert (gold["scoring"], gold["questions"], gold["answerable"], gold["unanswerable"]) == ("gold-article", 4, 3, 1)
    assert gold["retrieval_hit@4"] == round(2 / 3, 4)  # q2's gold article is after its asked date: a miss
    assert gold["time_relative"]["answerable"] == 1 and gold["time_relative"]["retrieval_hit@4"] == 1.0
    assert gold["other"]["answerable"] == 2 and gold["other"]["retrieval_hit@4"] == 0.5
    # by the week asked: q1 in the first week, q2 in the second, q3 in the last quarter of the 24 weeks (held out)
    weeks = gold["by_week"]
    assert (weeks["even"]["answerable"], weeks["odd"]["answerable"], weeks["held_out"]["answerable"]) == (1, 1, 1)
    assert (weeks["even"]["retrieval_hit@4"], weeks["odd"]["retrieval_hit@4"], weeks["held_out"]["retrieval_hit@4"]) == (1.0, 0.0, 1.0)

    (folder / "set.json").write_text(json.dumps({"scoring": "any-article"}))
    anyone = evaluate(folder, settings)
    assert anyone["scoring"] == "any-article" and anyone["retrieval_hit@4"] == 1.0 and anyone["other"]["retrieval_hit@4"] == 1.0
    assert anyone["answer_hit"] == 1.0  # each answer quotes a sentence holding the gold answer
    assert anyone["abstention"] == 1.0

    (folder / "set.json").write_text(json.dumps({"scoring": "every-article"}))
    try:
        evaluate(folder, settings)
    except Exception as exc:
        assert "unknown scoring 'every-article'" in str(exc)
    else:
        raise AssertionError("an unknown scoring must be refused")


def test_week_folds_hold_out_the_last_quarter_of_the_weeks():
    # news-2025's span: Wednesday 1 Jan 2025 (ISO week 1) to Thursday 18 Dec 2025 (week 51)
    asked = [date(2025, 1, 1), date(2025, 1, 5), date(2025, 1, 6), date(2025, 9, 21), date(2025, 9, 28), date(2025, 9, 29),
             date(2025, 12, 18)]  # weeks 0, 0, 1, 37, 38, 39 (ISO week 40: the first held out), 50
    assert week_folds(asked) == ["even", "even", "odd", "odd", "even", "held_out", "held_out"]
    assert week_folds([date(2025, 3, 3)]) == ["even"]  # one week: nothing held out
