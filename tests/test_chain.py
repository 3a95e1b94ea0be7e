"""The chain on the seed article: cited answers, abstention, and the Runnable interface."""

import pytest

from rag import Answer, Library, build_chain, build_retriever
from rag.answer import NOT_IN_ARTICLES
from rag.errors import EmptyStoreError, InputError


@pytest.fixture
def chain(seeded):
    return build_chain(seeded)


@pytest.mark.parametrize("question, fact", [
    ("Who is the Secretary General of NATO?", "Stoltenberg"),
    ("How many U.S. troops are still in Afghanistan?", "2,500"),
    ("When is the deadline for NATO and the US to pull their forces from Afghanistan?", "May 1"),
])
def test_seed_questions_are_answered_with_a_citation(chain, seeded, question, fact):
    answer = chain.invoke(question)
    assert isinstance(answer, Answer) and not answer.abstained
    assert fact in answer.text
    assert len(answer.text.split()) <= 60
    assert "[1]" in answer.text
    cited = [c for c in answer.citations if fact in c.passage]
    assert cited, answer.citations
    c = cited[0]
    article = seeded.article(c.article_id)
    assert article.text[c.start:c.end] == c.passage
    assert c.title == "NATO Chief Says Afghanistan Troop Pullout Depends on Taliban"
    assert any(fact in c.passage[s:e] for s, e in c.quotes)
    assert [x.number for x in answer.citations] == list(range(1, len(answer.citations) + 1))


@pytest.mark.parametrize("question", ["Who won the 2018 FIFA World Cup final?", "What is the main ingredient of guacamole?"])
def test_unrelated_questions_abstain(chain, question):
    answer = chain.invoke(question)
    assert answer.abstained and answer.text == NOT_IN_ARTICLES and answer.citations == ()


def test_batch_stream_and_dict_input(chain):
    a, b = chain.batch(["Who is the Secretary General of NATO?", {"question": "How many U.S. troops are still in Afghanistan?",
                                                                   "history": [("user", "hi")]}])
    assert "Stoltenberg" in a.text and "2,500" in b.text
    streamed = list(chain.stream("Who is the Secretary General of NATO?"))
    assert streamed[-1].text == a.text


def test_retriever_is_a_langchain_retriever(seeded):
    docs = build_retriever(seeded, k=2).invoke("Stoltenberg")
    assert len(docs) == 2 and "Stoltenberg" in docs[0].page_content
    assert docs[0].metadata["article_id"] == seeded.articles()[0].id


def test_clear_errors(chain, settings, embedder, tmp_path):
    with pytest.raises(InputError):
        chain.invoke("  ")
    empty = Library(settings.model_copy(update={"store_path": tmp_path / "empty"}), embedder=embedder)
    with pytest.raises(EmptyStoreError, match="ingest"):
        build_chain(empty).invoke("Who is the Secretary General of NATO?")


def test_one_revision_read_per_question(chain, seeded, monkeypatch):
    """Every part of an answer reads one snapshot: against a Chroma server each revision read is an HTTP request."""
    chain.invoke("Who is the NATO Secretary General?")  # builds the lexical index and the group index
    reads = []
    real = seeded.store.revision
    monkeypatch.setattr(seeded.store, "revision", lambda: reads.append(1) or real())
    answer = chain.invoke("How many troops are in Afghanistan?")
    assert answer.citations and len(reads) == 1
