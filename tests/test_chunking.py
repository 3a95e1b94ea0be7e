import pytest

from rag import Library
from rag.chunking import chunk_article, split_sentences
from rag.errors import StoreMismatchError
from rag.loaders import content_hash, load_paths
from rag.schema import Article

from .conftest import BBC


def _article(text: str, title: str = "T") -> Article:
    return Article(id="a1", title=title, text=text, source="x", content_hash=content_hash(title, text))


def test_sentences_keep_offsets_and_abbreviations():
    text = "Mr. Smith went to the U.S. Army base. He said: \"It is fine.\" Prices rose 3.5 percent.\n\nNew paragraph"
    spans = split_sentences(text)
    got = [text[s:e] for s, e in spans]
    assert got == ["Mr. Smith went to the U.S. Army base.", 'He said: "It is fine."', "Prices rose 3.5 percent.",
                   "New paragraph"]


def test_chunks_fit_the_model_and_point_into_the_article(embedder):
    text = " ".join(f"Sentence number {i} talks about the economy of country {i}." for i in range(300))
    chunks = chunk_article(_article(text), embedder.word_pieces(text), max_tokens=120, overlap_tokens=30)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert embedder.count_tokens([c.text])[0] <= 120
    # neighbours overlap, and together they cover the whole text
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_one_giant_sentence_is_cut_within_the_limit(embedder):
    text = "word " * 20000 + "end."
    chunks = chunk_article(_article(text), embedder.word_pieces(text), max_tokens=200, overlap_tokens=40)
    assert len(chunks) >= 90
    assert max(embedder.count_tokens([c.text for c in chunks])) <= 200
    assert chunks[-1].text.endswith("end.")


def test_chunk_ids_are_deterministic_and_versioned(embedder):
    a = _article("One sentence here. Another one there.")
    b = _article("One sentence here. Another one changed.")
    ids_a = [c.id for c in chunk_article(a, embedder.word_pieces(a.text))]
    assert ids_a == [c.id for c in chunk_article(a, embedder.word_pieces(a.text))]
    assert ids_a != [c.id for c in chunk_article(b, embedder.word_pieces(b.text))]


def _bbc_sample(step: int = 40) -> list[Article]:
    files = sorted(BBC.glob("*/*.txt"))[::step]
    return [item.article for item in load_paths(files) if item.article]


def test_word_pieces_count_each_sentence_as_if_it_were_tokenized_alone(embedder):
    """An article is tokenized once; its sentences' counts must be what tokenizing each sentence gives."""
    tricky = _article("Café naïve — “quoted” said Mr. O’Neil.\n\nLine one\n- bullet two\tTabbed… end? Yes!" * 3)
    for article in [*_bbc_sample(), tricky]:
        spans = split_sentences(article.text)
        assert embedder.word_pieces(article.text).count(spans) == embedder.count_tokens([article.text[s:e] for s, e in spans])


@pytest.mark.parametrize("text, sentences", [
    ("Troops left the U.S. The rest stayed.", ["Troops left the U.S.", "The rest stayed."]),
    ("The vote closes at 5 p.m. The count starts later.", ["The vote closes at 5 p.m.", "The count starts later."]),
    ("Asked if he would go, he said no. Then he left.", ["Asked if he would go, he said no.", "Then he left."]),
    ('"Go now!" he said. She went.', ['"Go now!" he said.', "She went."]),
    ('"Is it over?" she asked. Nobody knew.', ['"Is it over?" she asked.', "Nobody knew."]),
    ("Talks in the U.K. continue. Gov. Smith agreed.", ["Talks in the U.K. continue.", "Gov. Smith agreed."]),
    ("Sen. John Smith spoke on Jan. 5 about No. 10 Downing Street.", ["Sen. John Smith spoke on Jan. 5 about No. 10 Downing Street."]),
    ("U.S. President Joe Biden spoke. J. R. R. Tolkien and George W. Bush did not.",
     ["U.S. President Joe Biden spoke.", "J. R. R. Tolkien and George W. Bush did not."]),
    ("He earned $3.5m in 2004. That was a lot.", ["He earned $3.5m in 2004.", "That was a lot."]),
    # seen in BBC text: a unit or plural before the full stop is not an initial; a sentence glued to the next
    ("It will compete with 3G.  HSDPA has been tested.", ["It will compete with 3G.", "HSDPA has been tested."]),
    ("The brand languished in the 1990s. Commodore filed for bankruptcy.",
     ["The brand languished in the 1990s.", "Commodore filed for bankruptcy."]),
    ("Proceeds go to victims of the tsunami.Steve will write a column.", ["Proceeds go to victims of the tsunami.",
                                                                            "Steve will write a column."]),
    ('Hague replied: "No. Definitely not." He smiled.', ['Hague replied: "No.', 'Definitely not."', "He smiled."]),
])
def test_news_sentences_split_right(text, sentences):
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == sentences
    assert all(text.index(sent) == s for sent, (s, _) in zip(sentences, spans))  # offsets point at the sentence


def test_store_built_with_another_splitter_asks_for_a_rebuild(library, settings, embedder):
    library.store.chunks.modify(metadata={**library.store._identity, "sentence_splitter": "old", "revision": "x"})
    with pytest.raises(StoreMismatchError, match=r"sentence_splitter='old'.*ingest --rebuild"):
        Library(settings, embedder=embedder)
