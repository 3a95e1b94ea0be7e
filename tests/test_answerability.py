"""The answerability decision: questions about the seed article answered with a supporting citation,
off-topic and malformed ones declined cleanly, LLM mode declining without a model call, and a
leave-article-out check on a few squad-dev articles."""

from __future__ import annotations

import json

import numpy as np
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from rag import Answer, Library, build_chain
from rag.answer import NOT_IN_ARTICLES, NOTHING_ASKED
from rag.answerability import FEATURES, fit, load
from rag.loaders import content_hash
from rag.retrieval import Filters
from rag.schema import Article
from rag.terms import distinctive_terms

from .conftest import SHARED

# Written for this test from the seed article; several use words the article does not ("name", "how long", "which country").
SEED_QUESTIONS = [
    ("What is the name of the Pentagon press secretary?", "John Kirby"),
    ("Who is the Secretary General of NATO?", "Stoltenberg"),
    ("How many U.S. troops are still in Afghanistan?", "2,500"),
    ("By what date must NATO and the United States pull their forces out?", "May 1"),
    ("How long does the virtual meeting of the defense ministers last?", "two-day"),
    ("Which country's defense minister warned that the peace talks have not progressed enough?", "German"),
    ("Who wrote the Defense Department report on the Taliban?", "O’Donnell"),
    ("How many troops could be withdrawn under the deal with the Taliban?", "10,000"),
    ("What did O’Donnell accuse the Taliban of?", "negotiating in bad faith"),
    ("Which terrorist group does the Taliban still have relations with?", "al-Qaida"),
    ("Which country's diplomats backed the Taliban's claim that it met the terms of the deal?", "Russian"),
    ("Under which president was the deal with the Taliban signed?", "Trump"),
    ("Who initiated the review of the agreement?", "Biden"),
    ("What is the name of the German defense minister?", "Kramp-Karrenbauer"),
    ("How long has the conflict in Afghanistan gone on?", "20-year"),
    ("According to Stoltenberg, what does leaving Afghanistan depend on?", "conditions-based"),
    ("What did the Taliban warn NATO against?", "continuation of war"),
    ("On which day will the ministers consult on the next steps in Afghanistan?", "Thursday"),
    ("What does AQIS stand for?", "Indian Subcontinent"),
    ("What must the Taliban stop supporting, according to the NATO chief?", "international terrorist groups"),
]
# The same, typed with a slip (the first four were declined or answered wrong before misspelt words were read as
# the library's: rag.terms.respellings)
MISSPELT = [
    ("What is the name of the Pentgon press secretary?", "John Kirby"),
    ("Who is Stoltenburg?", "Secretary General"),
    ("How many troups could be withdrawn under the deal?", "10,000"),
    ("Who initated the review of the agreement?", "Biden"),
    ("Who is the Secretery General of NATO?", "Stoltenberg"),
    ("Which terorist group does the Taliban still have relations with?", "al-Qaida"),
]
OFF_TOPIC = [
    "What is the main ingredient of guacamole?",
    "Who painted the Mona Lisa?",
    "What is the capital of Australia?",
    "How many moons does Jupiter have?",
    "What is the recommended daily dose of vitamin D for adults?",
]
BAD_INPUT = [
    "NATO",
    "what is the",
    "?!?! ... ,,,",
    "2021 1 5 2,500",
    "Key Western defense officials appear to be signaling that a deteriorating situation in Afghanistan will not permit "
    "for the withdrawal of some 10,000 troops under the terms of a deal signed with the Taliban last February. NATO and "
    "the United States are facing a May 1 deadline to pull their forces from Afghanistan.",
    "¿Quién es el secretario general de la OTAN?",
    "Wer ist der Generalsekretär der NATO?",
    "北约秘书长是谁？",
]


@pytest.fixture
def chain(seeded):
    return build_chain(seeded)


@pytest.mark.parametrize("question, fact", SEED_QUESTIONS)
def test_seed_questions_are_answered_with_a_supporting_citation(chain, question, fact):
    answer = chain.invoke(question)
    assert not answer.abstained, question
    assert fact in answer.text and len(answer.text.split()) <= 60
    assert any(fact in c.passage[s:e] for c in answer.citations for s, e in c.quotes), answer.citations
    assert "nine months" not in answer.text, answer.text  # the page's teaser for another story is never quoted


@pytest.mark.parametrize("question, fact", MISSPELT)
def test_misspelt_seed_questions_are_answered_with_a_supporting_citation(chain, question, fact):
    answer = chain.invoke(question)
    assert not answer.abstained and fact in answer.text, answer.text
    assert any(fact in c.passage[s:e] for c in answer.citations for s, e in c.quotes), answer.citations


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_are_declined(chain, question):
    answer = chain.invoke(question)
    assert answer.abstained and answer.text == NOT_IN_ARTICLES and answer.citations == ()


@pytest.mark.parametrize("question", BAD_INPUT)
def test_bad_input_gets_a_clear_answer_or_a_clear_decline(chain, question):
    answer = chain.invoke(question)
    assert isinstance(answer, Answer)
    if answer.abstained:
        assert answer.text in (NOT_IN_ARTICLES, NOTHING_ASKED) and answer.citations == ()
    else:
        assert answer.citations and "[1]" in answer.text and len(answer.text.split()) <= 60


@pytest.mark.parametrize("question", ["what is the", "Why?", "Who is he?", "?!?! ... ,,,", "Is it?"])
def test_a_question_of_stop_words_alone_is_told_so(chain, question):
    answer = chain.invoke(question)  # it used to quote the sentences closest to "what is the"
    assert answer.abstained and answer.text == NOTHING_ASKED and answer.citations == () and answer.searched is None


def test_a_follow_up_of_stop_words_is_read_with_its_conversation(chain):
    history = [("user", "Who is the Secretary General of NATO?"),
               ("assistant", "“Our presence in Afghanistan is conditions-based,” Secretary General Jens Stoltenberg told reporters. [1]")]
    answer = chain.invoke({"question": "Who is he?", "history": history})
    assert not answer.abstained and "Stoltenberg" in answer.text, answer.text


class Counting(GenericFakeChatModel):
    """A scripted chat model that counts how often it is called."""

    calls: int = 0

    def _stream(self, *args, **kwargs):
        self.calls += 1
        yield from super()._stream(*args, **kwargs)


def test_llm_mode_declines_without_calling_the_model(seeded):
    model = Counting(messages=iter(["Jens Stoltenberg leads NATO [1].", "unused"]))
    chain = build_chain(seeded, answer_mode="llm", llm=model)
    declined = chain.invoke("What is the main ingredient of guacamole?")
    assert declined.abstained and declined.text == NOT_IN_ARTICLES and model.calls == 0
    assert chain.invoke("what is the").text == NOTHING_ASKED and model.calls == 0
    answered = chain.invoke("Who is the Secretary General of NATO?")
    assert not answered.abstained and "Stoltenberg" in answered.text and model.calls == 1


def test_distinctive_means_distinctive_in_english():
    weights = distinctive_terms("What is the name of the Pentagon press secretary?")
    assert weights.get("name", 0.0) < 0.1 and weights["press"] < 0.2 < weights["secretari"] < 0.5 < weights["pentagon"]
    assert max(distinctive_terms("How long is the name of the country?").values()) < 0.05  # ordinary words weigh ~nothing
    # a large library's own statistics count too: a word it uses everywhere is less distinctive
    idf = {"pentagon": 0.1, "name": 5.0, "press": 5.0, "secretari": 5.0}
    assert distinctive_terms("Pentagon name?", idf, chunks=10_000)["pentagon"] < weights["pentagon"]
    assert distinctive_terms("Pentagon name?", idf, chunks=10)["pentagon"] == weights["pentagon"]


def test_committed_model_matches_the_features_and_fit_learns():
    model = load()
    assert len(model.coef) == len(FEATURES) and 0 < model.threshold < 1
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    y = (x[:, 0] - x[:, 4] > 0).astype(float)
    learnt = fit(x, y)
    assert learnt.coef[0] > 1 and learnt.coef[4] < -1 and abs(learnt.coef[2]) < 0.5
    assert ((learnt.probability(x) >= 0.5) == (y == 1)).mean() > 0.95


@pytest.mark.slow
def test_leave_article_out_declines_and_answers(settings, embedder):
    """Three squad-dev articles: each article's questions are answered with it and declined without it.

    Fails if the decision always declines or never declines.
    """
    folder = SHARED / "eval" / "squad-dev"
    wanted = ("squad-oxygen", "squad-black_death", "squad-prime_number")  # held out from training
    rows = [json.loads(line) for line in (folder / "articles.jsonl").open(encoding="utf-8")]
    articles = [Article(id=r["id"], title=r["title"], text=r["text"], source="squad-dev", content_hash=content_hash(r["title"], r["text"]))
                for r in rows if r["id"] in wanted]
    library = Library(settings, embedder=embedder)
    library.ingest_articles(articles)
    chain = build_chain(library)
    texts = {a.id: a.text.lower() for a in articles}
    questions = [json.loads(line) for line in (folder / "questions.jsonl").open(encoding="utf-8")]
    answered = declined = total = 0
    for aid in wanted:
        own = [q for q in questions if q["article_id"] == aid
               and not any(g.lower() in t for other, t in texts.items() if other != aid for g in q["answers"])][:8:2]
        others = Filters(article_ids=tuple(a for a in wanted if a != aid))
        for q in own:
            total += 1
            answered += not chain.invoke(q["question"]).abstained
            declined += chain.invoke({"question": q["question"], "filters": others}).abstained
    assert total == 12
    assert answered >= 10, f"answered {answered} of {total} with their article"
    assert declined >= 9, f"declined {declined} of {total} without their article"
