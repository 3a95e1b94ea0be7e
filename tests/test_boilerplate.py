"""Boilerplate (rag.boilerplate): a promotion in many stories is never quoted, copies of one story keep theirs, and
lines pointing to other stories ("More: …", the teasers after "Check Also") are never quoted."""

from __future__ import annotations

import json

from rag import boilerplate, build_chain
from rag.boilerplate import label_end, link_out_spans, plain, quotable, repeated_lines, says_nothing, tail_start
from rag.scoring import SentenceScorer

from .conftest import BBC, SEEDS, SHARED

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
    # a line too long to count whole counts by its short sentences, each story writing the rest its own way
    hub = "Check out the all new PLAY hub with puzzles, games and more!"
    lines = [f"x\nNeed a news break on day {i} of the trial? {hub}" for i in range(5)]
    assert plain(hub) in repeated_lines(lines, [str(i) for i in range(5)])
    paragraph = [f"x\nThe court heard from {i} witnesses on Monday and {i + 2} more on Tuesday before the judge adjourned. {hub}"
                 for i in range(5)]  # a paragraph (24 words or more) is the story's, whatever it ends with
    assert plain(hub) not in repeated_lines(paragraph, [str(i) for i in range(5)])


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


def test_lines_pointing_to_other_stories_are_found_by_offset():
    text = ("Officials met on Monday.\nMore:Medicare targets weight loss drugs\nMore than 100 people came.\n\n"
            "Read more:\n\nMichigan identifies 21 failing schools\n\nIs the plan working?\n\nThe state said it would act.\n"
            "WATCH: the hearing in full\nWatch the video below.\nThe more: the better.")
    found = [text[a:b] for a, b in link_out_spans(text)]
    assert found == ["More:Medicare targets weight loss drugs", "Read more:", "Michigan identifies 21 failing schools",
                     "Is the plan working?", "WATCH: the hearing in full"]
    first = link_out_spans(text)[0]
    assert first == (text.index("More:"), text.index("More:") + len(found[0]))
    # a bare label takes the headlines after it, not the story that goes on
    assert "The state said it would act." not in found and "More than 100 people came." not in found
    # any label glued to a headline is a link; a dateline glued to its story (a full stop ends it), or a time, is not
    glued = ("Officials met.\nLive updates:Delta Air Lines plane flips during landing; 18 injured\n"
             "Kohl's among latest to temporarily shutter:Kohl's to close all US stores\n"
             "Windsor:The city closed Windsor Lake on Friday.\nThe vote is at 5:30 p.m.\nNote:Results due Monday.")
    assert [glued[a:b] for a, b in link_out_spans(glued)] == [
        "Live updates:Delta Air Lines plane flips during landing; 18 injured",
        "Kohl's among latest to temporarily shutter:Kohl's to close all US stores"]


def test_the_seed_article_teaser_for_another_story_is_not_an_answer(library, embedder):
    """The seed ends with "Check Also / A New Front Opens? / We are approaching nine months since … October 7th …",
    another story's teaser: quoted, it cited the NATO article for what it does not say."""
    library.ingest([SEEDS])
    question, idf = "What happened on October 7th?", library.lexical.get().idf
    passages = library.search(question, k=20)  # all of it
    unfiltered = SentenceScorer(embedder, library.store.sentence_blobs, skip_links=False).score(question, passages, idf=idf)
    assert "October 7th" in unfiltered[0].text  # without the rule the teaser is the best sentence
    scored = library.scorer.score(question, passages, idf=idf)
    assert not any("October 7th" in s.text or s.text == "Check Also" for s in scored)
    answer = build_chain(library).invoke(question)
    assert "October 7th" not in answer.text and answer.abstained, answer.text
    # the article itself is still quoted
    assert "Stoltenberg" in build_chain(library).invoke("Who is the Secretary General of NATO?").text


def test_a_more_line_is_not_quoted(library, tmp_path, embedder):
    story = (BBC / "business/001.txt").read_text(encoding="latin-1").rstrip()
    lines = story.split("\n")
    link = "More:Harbour council approves new ferry terminal after a long night of protests"
    # as scraped news has it: a paragraph of its own; and once run into the next line, where it is kept with it
    (tmp_path / "story.txt").write_text("\n".join(lines[:4] + [link, ""] + lines[4:]) + "\n", encoding="utf-8")
    (tmp_path / "run-in.txt").write_text(f"Ferry news\n\n{link}\nThe terminal opens in May, the port said.\n", encoding="utf-8")
    library.ingest([tmp_path / "story.txt", tmp_path / "run-in.txt"])
    question, idf = "Did the harbour council approve the ferry terminal?", library.lexical.get().idf
    passages = [p for p in library.search(question, k=20) if p.title != "Ferry news"]
    unfiltered = SentenceScorer(embedder, library.store.sentence_blobs, skip_links=False).score(question, passages, idf=idf)
    assert unfiltered[0].text == link  # another story's headline matches best
    assert not any("Harbour" in s.text for s in library.scorer.score(question, passages, idf=idf))
    run_in = [p for p in library.search("When does the terminal open?", k=4) if p.title == "Ferry news"]
    assert any("opens in May" in s.text for s in library.scorer.score("When does the terminal open?", run_in, idf=idf))


def test_a_widget_label_run_into_a_sentence_is_left_out_of_the_quote(library, tmp_path):
    label = "AI-assisted summary "
    summary = "Venice doubled the entry fee for day visitors to 10 euros on busy days."
    assert label_end(label + summary) == len(label) and label_end(summary) == 0
    # a list item's bullet glyph (news-2025: "◾ Walking about 2,300 steps a day …" was quoted with it) is not quoted either
    assert label_end("◾ Walking about 2,300 steps a day.") == 2 and label_end("•  State law passed: June 1978.") == 3
    text = (f"{label}{summary}\n\nThe city council said the fee would cut crowds in the old town. Tourists who book a "
            "hotel night do not pay it, the council said on Tuesday.\n")
    (tmp_path / "venice.md").write_text(f"---\ntitle: Venice doubles its day-tripper fee\n---\n{text}", encoding="utf-8")
    library.ingest([tmp_path / "venice.md"])
    answer = build_chain(library).invoke("Which city doubled its entry fee for day visitors?")
    assert answer.text.startswith("Venice doubled the entry fee") and "AI-assisted" not in answer.text
    (citation,) = [c for c in answer.citations if c.number == 1]
    start, end = citation.quotes[0]
    assert citation.passage[start:end] == summary  # the citation marks the sentence without the label


FURNITURE = ["Updated Dec. 9, 2025, 4:09 p.m. ET", "Dec. 15, 2025 Updated Dec. 16, 2025, 4:13 p.m. ET",
             "Published 5:02 a.m. ET Jan. 3, 2025", "Contributing: Krystal Nurse/ USA TODAY", "Reuters contributed to this story.",
             "(Reporting by Ann Lee; Editing by Bo Chan)", "Products sold in Michigan include:",
             "The newest entrants, announced during the live broadcast of the show on April 27, are:"]
STATEMENTS = ["The vote is at 5 p.m. ET on Monday, Dec. 15.", "On May 5, 2025, the council met.", "Reporters contributed questions.",
              "Its views were outlined in a pamphlet written by Muhammad Abd al-Salaam Farag, in which he states:"]


def test_time_stamps_credits_and_list_lead_ins_say_nothing():
    assert [t for t in FURNITURE if not says_nothing(t)] == []
    assert [t for t in STATEMENTS if says_nothing(t)] == []
    assert not says_nothing("Contributing: Krystal Nurse/ USA TODAY", "Who contributed to the story?")  # a credit answers that


def test_page_furniture_is_never_quoted(library, tmp_path):
    text = ("Updated Dec. 9, 2025, 4:09 p.m. ET\n\nThe Rivertown council approved a toll of 3 dollars on the Elm Street bridge "
            "on Monday. The toll starts in March, council members said.\n\nVehicles that pay the Elm Street bridge toll "
            "include:\n\nTrucks over two tonnes pay double. Buses pay nothing.\n\n"
            "Contributing: Ann Lee/ Rivertown Post\n")
    (tmp_path / "toll.md").write_text(f"---\ntitle: Rivertown votes for a bridge toll\n---\n{text}", encoding="utf-8")
    library.ingest([tmp_path / "toll.md"])
    chain = build_chain(library)
    for question in ("When was the Elm Street bridge toll updated?", "Which vehicles pay the Elm Street bridge toll?",
                     "What did Ann Lee of the Rivertown Post find out about the bridge toll?"):
        answer = chain.invoke(question)
        assert not answer.abstained, question
        assert not any(line in answer.text for line in ("4:09 p.m.", "toll include:", "Contributing")), answer.text
    assert "Contributing: Ann Lee" in chain.invoke("Who contributed to the Rivertown Post story on the bridge toll?").text


def test_a_byline_or_picture_credit_glued_to_a_sentence_is_left_out_of_the_quote(library, tmp_path):
    cut = ["Caroline Kennedy called him a predator in a video posted on Tuesday.— Sudiksha Kochi",
           "Flooding in Libya has killed more than 11,000 people (Image credit: AFP via Getty Images)"]
    assert [t[:tail_start(t)] for t in cut] == ["Caroline Kennedy called him a predator in a video posted on Tuesday.",
                                                 "Flooding in Libya has killed more than 11,000 people"]
    kept = ['"We will rebuild the bridge." — Ann Lee', "The prize went to the best actor — Adrien Brody"]
    assert [tail_start(t) for t in kept] == [len(t) for t in kept]  # a quotation's speaker, a dash inside a sentence
    text = ("Live updates from the flood.\n\nThe Derna dam burst after Storm Daniel, the city council said on Monday.— Ann Lee\n\n"
            "Rescue teams reached the port on Tuesday.\n")
    (tmp_path / "flood.md").write_text(f"---\ntitle: Flood live\n---\n{text}", encoding="utf-8")
    library.ingest([tmp_path / "flood.md"])
    answer = build_chain(library).invoke("Which dam burst after Storm Daniel?")
    assert answer.text.startswith("The Derna dam burst after Storm Daniel, the city council said on Monday. [1]"), answer.text
    assert "Ann Lee" not in answer.text
    start, end = next(c for c in answer.citations if c.number == 1).quotes[0]
    assert answer.citations[0].passage[start:end].endswith("on Monday.")


def _news_2025(article_id: str) -> dict:
    """One article of the news-2025 set, as scraped."""
    return next(json.loads(line) for line in (SHARED / "eval" / "news-2025" / "articles.jsonl").open(encoding="utf-8")
                if f'"{article_id}"' in line)


def test_a_call_to_click_elsewhere_is_not_quoted(library, tmp_path, monkeypatch):
    """"Editor's note:Click here to watch the Starliner astronauts return to Earth." opened the answer about the
    splashdown (news-2025, as scraped): it names the astronauts and Earth, and says nothing."""
    record = _news_2025("rtqa-b79790bca4e1")
    (tmp_path / "starliner.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    library.ingest([tmp_path])
    ask = {"question": "A SpaceX capsule carrying stranded Nasa astronauts back to Earth splashed down off the coast of "
                       "which state?", "as_of": "2025-03-19"}
    with monkeypatch.context() as without_the_rule:
        without_the_rule.setattr(boilerplate, "_clicks", lambda sentence: False)
        assert build_chain(library).invoke(ask).text.startswith("Editor's note:Click here")
    library.scorer._cache.clear()  # what each sentence is, worked out once per passage
    answer = build_chain(library).invoke(ask)
    assert "Click here" not in answer.text and "Florida" in answer.text, answer.text
    sentences = ["Click here to read the full story.", "(Click here to view)", "Tap or click here for my take.",
                 "To read more about efforts to restore power, click here.", "Scammers texted “Click here to claim your "
                 "refund,” the police said.", "Peak viewing in Oklahoma will happen around 1:45 p.m., and the show will "
                 "be over by 3 p.m. Click here to get precise eclipse times for your location."]
    text = "\n".join(sentences)
    spans, at = [], 0
    for sentence in sentences:
        spans.append((at, at + len(sentence)))
        at += len(sentence) + 1
    assert quotable(text, spans)[1] == ["link", "link", "link", "link", None, None]


def test_a_byline_of_names_that_opens_an_article_is_a_credit(library, tmp_path):
    """A wire story's first line names its reporters: it led the answer about Gaza (news-2025, as scraped). Further
    in, a line of names is a list item that may be the answer."""
    record = _news_2025("rtqa-9481c35ba831")
    assert record["text"].startswith("Steve Holland, Matt Spetalnick & Jeff Mason\n")
    (tmp_path / "gaza.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    roster = ("The all-time scoring leaders who ended their careers elsewhere were honoured on Sunday.\n\n"
              "The first of them played for Chicago for thirteen seasons.\n\nThe league listed them by final club.\n\n"
              "Michael Jordan, Washington Wizards\n\nKarl Malone, Los Angeles Lakers\n")
    (tmp_path / "roster.md").write_text(f"---\ntitle: Scoring leaders honoured\n---\n{roster}", encoding="utf-8")
    library.ingest([tmp_path])
    chain = build_chain(library)
    answer = chain.invoke({"question": "President Donald Trump this week said the US “will take over” which territory?",
                           "as_of": "2025-02-07"})
    assert "Gaza Strip" in answer.text and "Spetalnick" not in answer.text, answer.text
    assert "Michael Jordan, Washington Wizards" in chain.invoke("Which club did Michael Jordan finish his career with?").text
    assert [kind for kind in quotable("Ann Lee and Tom Ray\n\nBy Jane Doe\n\nThe mayor and the council met.\n\nAnn Lee "
                                      "and Tom Ray", [(0, 19), (21, 32), (34, 64), (66, 85)], opening=True)[1]] == \
        ["credit", "credit", None, None]
