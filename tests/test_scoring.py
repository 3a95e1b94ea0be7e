"""Sentence scoring: what a question asks for, sentences that offer it, and re-ranking passages by their best sentence."""

import pytest

from rag import build_chain
from rag.chunking import split_sentences
from rag.schema import Passage
from rag.scoring import SentenceScorer, describes, names_in, offers, question_kind, question_words, subject
from rag.terms import content_terms, span_terms

from .conftest import BBC


def _passage(i: int, text: str, score: float = 1.0) -> Passage:
    return Passage(chunk_id=f"a{i}:v:0", article_id=f"a{i}", title="", source=f"a{i}.txt", published=None,
                   text=text, start=0, end=len(text), score=score)


@pytest.mark.parametrize("question, kind", [
    ("Which country has offered to house deportees?", "name"),
    ("Who delivered the eulogy at the funeral?", "name"),
    ("What is the rocket's name?", "name"),
    ("What party leads the polls?", "name"),
    ("How many people were evacuated?", "number"),
    ("What percentage of students are absent?", "number"),
    ("When did the strike end?", "number"),
    ("What is the capital gains tax?", None),
    ("Why did the talks fail?", None),
    ("Who is Charlie Kirk?", None),  # a description of the name it gives, not another name
    ("Who is the Pentagon press secretary?", "name"),
])
def test_question_kind(question, kind):
    assert question_kind(question) == kind


def test_a_sentence_offers_a_name_or_number_the_question_does_not_give():
    q = "A group of 11 Yemeni detainees from Guantanamo Bay have been transferred to which country?"
    asked = question_words(q)
    assert offers("name", asked, "The detainees were flown to Oman on Monday.")
    assert not offers("name", asked, "The Yemeni detainees left Guantanamo Bay.")  # only names the question gives
    assert not offers("name", asked, "They left. Officials said nothing.")  # capitalised as sentence starts
    assert not offers("name", asked, "They were moved on Monday in January.")  # days and months are not answers
    how_many = "How many detainees are still held at Guantanamo Bay?"
    assert offers("number", question_words(how_many), "There are now 15 detainees at the base.")
    assert not offers("number", question_words("Were 11 detainees moved?"), "The 11 detainees were moved.")


def test_a_name_the_question_gives_in_another_number_or_a_date_offers_nothing():
    asked = question_words("Who was named best new artist at the Grammy Awards?")
    assert not offers("name", asked, "See every best new artist Grammy Award winner.")  # Award, Awards: one name
    assert not offers("name", asked, "The Grammys will crown a best new artist.")
    assert not offers("name", asked, "Nominations for best new artist were announced on Feb. 2.")  # a month, cut short
    assert offers("name", asked, "Chappell Roan is this year's Grammys best new artist.")


def test_a_name_that_opens_a_sentence_counts_when_its_passage_shows_it_is_one():
    passage = ("Officials said egg prices had doubled. Customers at Denny's will pay 50 cents more. “We had no choice,” "
               "the company said.\n\nDenny's has implemented a temporary surcharge, Reuters reported.")
    names = names_in(passage)
    assert names == {"denny", "reuters"}  # not "Officials", "Customers", "We": they open a sentence or a quotation
    asked = question_words("Which restaurant chain added a surcharge to meals with eggs?")
    assert offers("name", asked, "Denny's has implemented a temporary surcharge.", names)
    assert not offers("name", asked, "Denny's has implemented a temporary surcharge.")  # nothing shows it is a name
    assert not offers("name", asked, "Customers will pay 50 cents more.", names)
    assert not offers("name", question_words("What did Denny's add to its meals?"), "Denny's added a surcharge.", names)


def test_the_sentence_that_names_the_answer_beats_the_one_that_restates_the_question(embedder):
    """News quiz questions restate the story: overlap alone picks the sentence that names nothing."""
    question = "Which streaming platform is raising prices after reporting its biggest subscriber jump?"
    restates = "The streaming giant's record subscriber growth is a big reason why the company is raising prices."
    names = "The price rise follows the biggest subscriber jump in the history of Netflix."
    text = f"{restates} {names} Netflix said on Tuesday that its standard plan will cost two dollars more a month."
    ranked = SentenceScorer(embedder).score(question, [_passage(1, text)])
    assert ranked[0].text == names
    plain = SentenceScorer(embedder, type_weight=0.0).score(question, [_passage(1, text)])
    assert plain[0].text == restates  # without the answer-type term the restatement wins: the test can fail


def test_who_is_a_name_prefers_the_sentence_that_says_what_they_are(embedder):
    """"Who is Ann Lee?" asks for a description: rewarding another name preferred whom she met to what she is."""
    assert subject("Who is Ann Lee?") == "Ann Lee" and subject("who was Pope Leo XIV") == "Pope Leo XIV"
    assert subject("Who is the press secretary?") is None and subject("Who is Ann Lee's lawyer?") is None
    assert describes("Ann Lee", "Ann Lee, a marine biologist, studies reefs.")
    assert describes("Ann Lee", "Lee was a diver before she studied reefs.")
    assert describes("John Kirby", "“We weren’t in the seat,” Pentagon press secretary John Kirby told reporters.")
    assert not describes("John Kirby", "“We weren’t in the seat,” said John Kirby.")
    assert describes("John Kirby", "Asked by John Kirby, press secretary John Kirby said no.")  # any mention may say it
    assert not describes("Ann Lee", "Bob Stone met Ann Lee in Paris.") and not describes("Ann Lee", "It praised Ann Lee.")
    # asked by surname: the role comes before the first names; typed with ' where the article prints ’
    assert describes("O'Donnell", "Defense Department acting Inspector General Sean O’Donnell wrote in the report.")
    assert describes("Stone", "Ann Lee met Mayor Bob Stone.") and not describes("Stone", "The mayor met Bob Stone.")
    assert not describes("Stone", "Mayor Ann Lee Bob Stone")  # two first names at most
    text = "Ann Lee met Bob Stone and Carl Ortiz in Paris on Monday. Ann Lee, a marine biologist, studies coral reefs."
    ranked = SentenceScorer(embedder).score("Who is Ann Lee?", [_passage(1, text)])
    assert ranked[0].text.startswith("Ann Lee, a marine biologist")
    as_a_name = SentenceScorer(embedder).score("Which person did Ann Lee meet?", [_passage(1, text)])
    assert as_a_name[0].text.startswith("Ann Lee met Bob Stone")  # asked for a name, the other names win: the test can fail


def test_who_is_a_surname_is_answered_with_what_the_person_is(seeded):
    """The seed article says "acting Inspector General Sean O’Donnell" once and "O’Donnell also accused …" later; the
    answer to "Who is O'Donnell?" led with the second, which names him without saying who he is."""
    answer = build_chain(seeded).invoke("Who is O'Donnell?")
    assert answer.text.startswith("“The Taliban continues to maintain relations with al-Qaida,” Defense Department acting "
                                  "Inspector General Sean O’Donnell wrote"), answer.text


def test_rerank_puts_the_passage_with_the_answering_sentence_first(embedder):
    question = "Who was appointed governor of the central bank?"
    vague = _passage(1, "Central banks around the world face questions about their independence. "
                        "Governors of central banks often serve long terms. Economists debate the role of a governor.",
                     score=1.0)
    answers = _passage(2, "The weather in the capital was cold. Markets opened late after a holiday. "
                          "The government appointed Ana Costa as governor of the central bank on Friday.", score=0.9)
    qvec = embedder.query_vector(question)
    order = SentenceScorer(embedder).rerank(question, [vague, answers], qvec, {}, fusion_weight=1.0)
    assert [p.article_id for p in order] == ["a2", "a1"]
    kept = SentenceScorer(embedder).rerank(question, [vague, answers], qvec, {}, fusion_weight=100.0)
    assert [p.article_id for p in kept] == ["a1", "a2"]  # a large fusion weight keeps the retrieval order


def test_span_terms_equal_each_sentence_read_alone():
    """One pass over a passage gives every sentence the terms it would have alone (offsets stay right after "İ")."""
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(BBC.glob("*/*.txt"))[:60]]
    texts.append("İstanbul hosted the summit. Leaders met on Monday. The İzmir delegation left early.")
    for text in texts:
        spans = split_sentences(text)
        assert span_terms(text, spans) == [content_terms(text[s:e]) for s, e in spans]
    assert span_terms("No words here.", []) == []
