from rag.chunking import chunk_article, split_sentences
from rag.loaders import content_hash
from rag.schema import Article


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
    from rag.loaders import load_paths

    from .conftest import BBC

    files = sorted(BBC.glob("*/*.txt"))[::step]
    return [item.article for item in load_paths(files) if item.article]


def test_word_pieces_count_each_sentence_as_if_it_were_tokenized_alone(embedder):
    """An article is tokenized once; its sentences' counts must be what tokenizing each sentence gives."""
    tricky = _article("Café naïve — “quoted” said Mr. O’Neil.\n\nLine one\n- bullet two\tTabbed… end? Yes!" * 3)
    for article in [*_bbc_sample(), tricky]:
        spans = split_sentences(article.text)
        assert embedder.word_pieces(article.text).count(spans) == embedder.count_tokens([article.text[s:e] for s, e in spans])
