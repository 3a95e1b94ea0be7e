"""``rag eval`` scoring on a tiny hand-made set whose scores are known: asked dates, any-article scoring, time-relative split."""

import json

from rag import Settings
from rag.evaluate import evaluate

ARTICLES = [
    {"id": "a1", "title": "Exampleton harbour opens", "published": "2023-05-01", "source": "x",
     "text": "Mayor Lina Park opened the new harbour in Exampleton on Monday. Bluewave Ferries will run the island route."},
    {"id": "a2", "title": "Second ferry for the island", "published": "2023-09-01", "source": "y",
     "text": "Bluewave Ferries added a second boat to the island route, the company said."},
    {"id": "a3", "title": "Island route changes hands", "published": "2024-06-01", "source": "z",
     "text": "Bluewave Ferries lost the island route contract to Tidal Lines, the council said on Saturday."},
]
QUESTIONS = [
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
    (folder / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in ARTICLES))
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in QUESTIONS))
    settings = Settings(store_path=tmp_path / "store")

    gold = evaluate(folder, settings)
    assert (gold["scoring"], gold["questions"], gold["answerable"], gold["unanswerable"]) == ("gold-article", 4, 3, 1)
    assert gold["retrieval_hit@4"] == round(2 / 3, 4)  # q2's gold article is after its asked date: a miss
    assert gold["time_relative"]["answerable"] == 1 and gold["time_relative"]["retrieval_hit@4"] == 1.0
    assert gold["other"]["answerable"] == 2 and gold["other"]["retrieval_hit@4"] == 0.5

    (folder / "set.json").write_text(json.dumps({"scoring": "any-article"}))
    anyone = evaluate(folder, settings)
    assert anyone["scoring"] == "any-article" and anyone["retrieval_hit@4"] == 1.0 and anyone["other"]["retrieval_hit@4"] == 1.0
    assert anyone["answer_hit"] == 1.0  # each answer quotes a sentence holding the gold answer
    assert anyone["abstention_accuracy"] == 1.0

    (folder / "set.json").write_text(json.dumps({"scoring": "every-article"}))
    try:
        evaluate(folder, settings)
    except Exception as exc:
        assert "unknown scoring 'every-article'" in str(exc)
    else:
        raise AssertionError("an unknown scoring must be refused")
