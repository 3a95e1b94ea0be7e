"""Repeated lines (rag.boilerplate): a promotion in many stories is never quoted; copies of one story keep theirs."""

from __future__ import annotations

from rag import build_chain
from rag.boilerplate import plain, repeated_lines
from rag.scoring import SentenceScorer

from .conftest import BBC

PROMO = "Need a break? Play the Evening Post Daily Crossword Puzzle."
STORIES = ["business/001.txt", "sport/001.txt", "tech/001.txt", "politics/001.txt", "entertainment/001.txt", "business/002.txt"]
COPIED = "tech/009.txt"
DESK = "Reporting by Ann Lee for the wire desk."


def test_a_line_counts_once_per_story_and_only_when_short_enough():
    promo, byline = "Play the Daily Crossword Puzzle now.", "Reporting by Ann Lee for the wire desk."
    long = "The bank said " + " ".join(f"w{i}" for i in range(20)) + "."
    texts = [f"Story {i}.\n{promo}\n{long}\nSee more" for i in range(5)] + [f"Copy.\n{byline}"] * 5
    stories = [f"s{i}" for i in range(5)] + ["wire"] * 5  # five stories, then five copies of one
    found = repeated_lines(texts, stories)
    assert plain(promo) in found
    assert plain(byline) not in found  # one story, however many copies
    assert plain(long) not in found and "see more" not in found  # too long, too short
    assert plain(promo) not in repeated_lines(texts[:4], stories[:4])  # four stories are not enough
    # a line of several sentences: each one is skipped alone too
    both = repeated_lines([f"x\nNeed a break? {promo}" for _ in range(5)], [str(i) for i in range(5)])
    assert plain(promo) in both and plain(f"Need a break? {promo}") in both


def test_a_promotion_in_many_stories_is_never_quoted(library, tmp_path, embedder):
    folder = tmp_path / "news"
    folder.mkdir()
    for name in STORIES:
        text = (BBC / name).read_text(encoding="latin-1")
        (folder / name.replace("/", "-")).write_text(f"{text.rstrip()}\n{PROMO}\n", encoding="utf-8")
    original = (BBC / COPIED).read_text(encoding="latin-1").rstrip()
    for i in range(5):  # five versions of one wire story: one story, so its byline is not boilerplate
        (folder / f"copy-{i}.txt").write_text(f"{original}\nUpdate {i}: the figures were confirmed on day {i}.\n{DESK}\n",
                                              encoding="utf-8")
    library.ingest([folder])
    lex = library.lexical.get()
    groups = {m["origin"].rsplit("/", 1)[-1]: m.get("group") for m in library.store.all_records().values()}
    assert len({groups[f"copy-{i}.txt"] for i in range(5)}) == 1 and groups["copy-0.txt"]  # grouped as copies
    assert plain("Play the Evening Post Daily Crossword Puzzle.") in lex.boilerplate
    assert plain(DESK) not in lex.boilerplate

    question = "Which daily puzzle can Evening Post readers play?"
    passages = library.search(question, k=4)
    assert any("Crossword" in p.text for p in passages)
    unfiltered = SentenceScorer(embedder, library.store.sentence_blobs).score(question, passages)
    assert "Crossword" in unfiltered[0].text  # without the filter it is the best sentence there is
    assert not any("Crossword" in s.text for s in library.scorer.score(question, passages, idf=lex.idf))
    answer = build_chain(library).invoke(question)
    assert "Crossword" not in answer.text

    # a copy's own short line is still quoted when it answers
    desk = build_chain(library).invoke("Who reported the story for the wire desk?")
    assert "Ann Lee" in desk.text, desk.text
