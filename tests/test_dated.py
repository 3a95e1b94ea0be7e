"""Dated answers (rag.dated): disagreeing reports put the newest first with its date, the older marked earlier."""

from __future__ import annotations

from dataclasses import replace

from rag import build_chain
from rag.answer import ExtractiveAnswerer
from rag.dated import disagree, figures, hedged, history, lead_with_latest, names, units, window_note
from rag.schema import Answer, Citation

from .test_timeline import BRIDGE, write

OLD = """---
title: Harbour bridge will cost 410 million pounds
published: 2024-03-05
source: https://example-news.test/bridge-2024
---
The new harbour bridge will cost 410 million pounds to build, the city council said on Tuesday.
Work on the bridge began last spring, and the council expects the first cars to cross it in two years.
Local shop owners welcomed the project, which they hope will bring more visitors to the old port.
"""
NEW = """---
title: Council revises budget after soft ground found
published: 2025-09-18
source: https://other-paper.test/harbour-bridge
---
Engineers found soft ground under the southern pier, and the design of the foundations had to change.
The new harbour bridge will now cost 530 million pounds to build, the council said in a statement.
Opposition members asked for an independent review of the budget before more money is spent.
"""
QUESTION = "How much will the new harbour bridge cost to build?"


def test_the_newest_report_leads_with_its_date(library, tmp_path):
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "old.md").write_text(OLD)
    (tmp_path / "news" / "new.md").write_text(NEW)
    library.ingest([tmp_path / "news"])
    passages, qvec = library.search_with_vector(QUESTION)
    plain = ExtractiveAnswerer(library.embedder, term_weights=library.term_weights).answer(QUESTION, passages, qvec)
    assert plain.text.index("410") < plain.text.index("530")  # ranked by overlap, the stale figure comes first

    answer = build_chain(library).invoke(QUESTION)
    assert answer.text.startswith("As of 2025-09-18: The new harbour bridge will now cost 530 million pounds")
    assert "Earlier (2024-03-05): The new harbour bridge will cost 410 million pounds" in answer.text
    assert answer.text.index("530") < answer.text.index("410")
    first, second = answer.citations
    assert (first.number, first.published, second.number, second.published) == (1, "2025-09-18", 2, "2024-03-05")
    assert "[1]" in answer.text.split("Earlier")[0] and answer.text.rstrip().endswith("[2]")
    assert len(answer.text.split()) <= library.settings.answer_max_words


def test_a_later_retrieved_report_leads_when_only_the_stale_one_was_cited(library, tmp_path):
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "old.md").write_text(OLD)
    write(tmp_path / "news", "cost.md", *BRIDGE["cost.md"])  # 2025-09-18: "will now cost 530 million pounds"
    library.ingest([tmp_path / "news"])
    question = "How much will the new harbour bridge cost to build, according to the city council?"
    passages, qvec = library.search_with_vector(question)
    # an answer of one sentence quotes only the stale report (the default answerer quotes both here)
    plain = ExtractiveAnswerer(library.embedder, term_weights=library.term_weights, max_sentences=1).answer(
        question, passages, qvec)
    assert "410" in plain.text and "530" not in plain.text
    assert any("530" in p.text for p in passages)

    answer = lead_with_latest(plain, library.settings.answer_max_words)
    assert answer.text.startswith("As of 2025-09-18: The harbour bridge will now cost 530 million pounds")
    assert "[1] Earlier (2024-03-05): The new harbour bridge will cost 410 million pounds" in answer.text
    new, old = answer.citations
    assert (new.published, old.published) == ("2025-09-18", "2024-03-05")
    (s, e), = new.quotes
    assert new.passage[s:e].startswith("The harbour bridge will now cost 530 million pounds")

    chained = build_chain(library).invoke(question)  # the chain leads with the newest report either way
    assert chained.text.startswith("As of 2025-09-18: The harbour bridge will now cost 530 million pounds")
    assert "Earlier (2024-03-05): The new harbour bridge will cost 410 million pounds" in chained.text


def cite(n: int, published: str | None) -> Citation:
    return Citation(number=n, article_id=f"a{n}", title="t", source="s", published=published, chunk_id=f"a{n}:v:0",
                    start=0, end=0, passage="")


def test_agreeing_or_undated_reports_are_left_alone():
    same = Answer("How many staff?", "The firm employs 1,200 people. [1] The firm employs 1200 people, it said. [2]",
                  citations=(cite(1, "2024-01-01"), cite(2, "2025-01-01")))
    assert lead_with_latest(same) is same
    undated = replace(same, text="The firm employs 1,200 people. [1] The firm employs 1,500 people. [2]",
                      citations=(cite(1, None), cite(2, "2025-01-01")))
    assert lead_with_latest(undated) is undated
    other_subject = replace(same, text="The firm employs 1,200 people. [1] Its shares rose 5% on Monday in London. [2]")
    assert lead_with_latest(other_subject) is other_subject


def test_disagreement_is_the_same_slot_with_other_figures_or_names():
    assert disagree("The bridge will cost 410 million pounds.", "The bridge will now cost 530 million pounds.")
    assert disagree("Ann Smith was appointed chief executive of the Acme mining company.",
                    "The Acme mining company appointed Bob Jones as chief executive.")
    # names differ, but the sentences are about different things (a news-2025 false alarm before the thresholds)
    assert not disagree("Trump said Kirk will receive the nation's highest civilian honor, the Presidential Medal of Freedom.",
                        "The Presidential Medal of Freedom, which was established under former President John F. Kennedy, "
                        "is one of the highest awards a civilian can receive.")
    assert not disagree("Why did the council raise the bridge budget to 530 million?", "The bridge will cost 410 million.")
    assert not disagree("The bridge will cost 410 million pounds.", "Shop owners welcomed the bridge in 2025.")
    assert not disagree("In 2024 the bridge cost 410 million.", "In 2025 the bridge cost 410 million.")
    assert figures("It cost 1,200.50 in 2024, up 5%.") == {"1200.5", "5"}
    assert names("Officials said Ann Smith of Acme Corp met them.") == {"Ann Smith of Acme Corp"}


def test_agreeing_reports_from_other_days_are_not_a_disagreement():
    """False alarms of news-2025's full run, where "As of … / Earlier (…)" told readers an agreeing report was stale."""
    # a weekday, a sentence's capitalised "The" and an agency's name are not a different answer
    assert not disagree("Red No. 3, an additive that gives food and drinks a cherry-red color, was officially banned on Wednesday.",
                        "The Food and Drug Administration has officially banned Red No. 3, an additive used for giving food "
                        "and drinks a bright, cherry-red color.", "Which color additive was banned this week?")
    # days of a month are dates, not figures
    assert not disagree("Former President Joe Biden was diagnosed with metastatic prostate cancer on May 16.",
                        "Former President Joe Biden has been diagnosed with an aggressive prostate cancer, a spokesperson "
                        "said on May 18.", "Joe Biden was diagnosed with which illness?")
    # one figure in common is the answer agreed on; the others are detail
    assert not disagree("16-pound turkey: $21.50 (down 16.3% from last year's nationwide average)",
                        "The average price for the frozen turkey is $21.50, or a fraction more than $1.34 per pound.",
                        "What is the average price for a 16-pound turkey this year?")
    # figures for two subjects
    assert not disagree("In Brazil, ultraprocessed foods make up 25% to 30% of total calorie intake.",
                        "“Americans consume a large percentage of their daily calories from ultraprocessed foods – 58% in "
                        "adults and 67% in children,” she added.",
                        "What share of calories comes from ultraprocessed foods?")
    # a name the question gives (here in the plural) is not an answer
    assert not disagree("Chappell Roan wins best new artist, advocates for healthcare",
                        "Best new artist Grammy Award winners", "Who was named best new artist at the Grammy Awards?")
    # a question for a number: other names are other subjects, not an update
    assert not disagree("At least three people in Pike County died due to the floods, according to Beshear.",
                        "At least three people have died in Houston and another died in Central Texas.",
                        "How many people died in the floods?")
    # another form of a name is the same name ("U.S. Treasury" / "Treasury Department", "Pope Leo XIV" / "Leo")
    assert not disagree("President Trump has ordered the U.S. Treasury to stop minting pennies.",
                        "President Donald Trump recently announced that he told the Treasury Department to stop minting "
                        "pennies, ending a 233-year run of the 1-cent coin.", "Which US currency may be on the way out?")
    assert not disagree("Cardinal Robert Francis Prevost is now Pope Leo XIV following a two-day papal conclave seeking a "
                        "successor to Pope Francis, who died on April 21.",
                        "Following a two-day papal conclave, Leo was elected as the successor to Pope Francis — who was the "
                        "first pope from Latin America and died on April 21 at the age of 88.", "Which country is Pope Leo XIV from?")
    assert disagree("The bridge will cost 410 million pounds, Ann Smith said.", "The bridge will now cost 530 million pounds.")
    # figures disagree when they count the same thing: "21 of the 80 people" against "18 of the 80 people" …
    delta = "All 80 people on board survived after a Delta Air Lines plane flipped over after landing in which city?"
    assert disagree("A Delta Air Lines regional jet flipped on its roof while landing at Toronto Pearson Airport, injuring 21 of "
                    "the 80 people onboard.", "A Delta Air Lines regional jet flipped upside down upon arrival at Canada's "
                    "Toronto Pearson Airport on Monday, injuring 18 of the 80 people on board, officials said.", delta)
    # … not "1,400 miles long" against "2,900 individual reefs on 900 islands" (news-2025: two facts, both true)
    assert not disagree("At more than 1,400 miles long, Australia's Great Barrier Reef is the world's largest coral reef and "
                        "the planet's biggest structure made by living organisms.", "The Great Barrier Reef is the world's "
                        "largest reef, and is made up of over 2,900 individual reefs on 900 islands in the Pacific Ocean off "
                        "of Queensland, Australia.", "Which of the following is the world’s largest coral reef?")
    # a hedged figure is the other rounded: "about 2,300 steps" reports the "2,337 steps" of the same study (news-2025:
    # it was called an update); a hedge does not cover a figure outside its last digit's unit, and bare figures still differ
    steps = "Walking how many steps per day reduces the risk of a host of serious diseases, according to new research?"
    study = ("According to a study published in the European Journal of Preventive Cardiology, walking as few as 2,337 steps "
             "a day has been shown to substantially reduce the risk of dying from cardiovascular disease.")
    assert not disagree(study, "◾ Walking about 2,300 steps a day can reduce the risk of dying from cardiovascular disease "
                        "(disease of the heart and blood vessels).", steps)
    assert disagree(study, "Walking about 2,500 steps a day can reduce the risk of dying from cardiovascular disease.", steps)
    assert disagree(study, "Walking 2,300 steps a day can reduce the risk of dying from cardiovascular disease.", steps)
    assert hedged("It costs about $5,000, more than 20% of 300 people, ~1.5 tonnes.") == {"5000", "20", "1.5"}
    assert not disagree("The fund grew 0.47% in March, the bank said on Monday.", "The fund grew about 0.5% in March, the "
                        "bank said.") and disagree("The fund grew 0.47% in March, the bank said on Monday.",
                                                   "The fund grew 0.62% in March, the bank said.")
    assert units("It cost $21.50, or 5% more, and 410 million pounds in 2024.") == {
        "21.5": {"$"}, "5": {"%"}, "410": {"pound"}}
    assert units("Turnout was 61") == {"61": set()}  # nothing follows: it may count anything
    assert figures("The parade on Tuesday, September 5, 1882, drew 1,950 people; on Sept. 9 it rained.") == {"1950"}
    assert names("After Lincoln, presidents issued proclamations on Thursday, November 23.") == {"Lincoln"}


def test_a_name_the_older_report_already_gave_is_no_update():
    """news-2025 called Arizona an update of Glendale: the memorial's city on 2025-09-14, its state on 2025-09-18. The
    older report named Arizona (and Utah, and Turning Point USA) a few lines on, so the newer one told nothing new."""
    question = "A massive memorial service was recently held for conservative political activist Charlie Kirk in which state?"
    newer = ("A public memorial service for conservative activist Charlie Kirk, who was assassinated in Utah on Sept. 10, will "
             "be held Sunday, Sept. 21, in Arizona, Turning Point USA announced.")
    older = "A public memorial service for slain conservative activist Charlie Kirk will be held at State Farm Stadium in Glendale."
    passage = (f"{older} The stadium can hold up to 73,000 people. Kirk was fatally shot while speaking at Utah Valley "
               "University. His casket was returned to his home state of Arizona. Vigils were held at Turning Point USA.")
    assert disagree(newer, older, question)  # the two sentences alone
    assert not disagree(newer, older, question, known=passage)
    # a successor the older report did not know of is still news, whatever else it said
    appointed = "The Acme mining company appointed Bob Jones as chief executive."
    smith = "Ann Smith was appointed chief executive of the Acme mining company."
    assert disagree(appointed, smith, known=f"{smith} Acme mines copper in Chile.")
    assert not disagree(appointed, smith, known=f"{smith} Bob Jones is expected to succeed her.")

    text = f"{newer} [1] {older} [2]"
    answer = Answer(question, text, citations=(replace(cite(1, "2025-09-18"), passage=newer),
                                               replace(cite(2, "2025-09-14"), passage=passage)))
    assert lead_with_latest(answer) is answer
    unknown = replace(answer, citations=(answer.citations[0], replace(answer.citations[1], passage=older)))
    assert lead_with_latest(unknown).text.startswith("As of 2025-09-18: A public memorial service")
    swapped = replace(answer, text=f"{older} [1] {newer} [2]", citations=(  # the older report cited first
        replace(cite(1, "2025-09-14"), passage=passage), replace(cite(2, "2025-09-18"), passage=newer)))
    assert lead_with_latest(swapped) is swapped


def test_the_word_budget_drops_the_older_report_first():
    text = "The bridge will cost 410 million pounds. [1] The bridge will now cost 530 million pounds. [2]"
    answer = Answer("What will the bridge cost?", text, citations=(cite(1, "2024-01-01"), cite(2, "2025-01-01")))
    full = lead_with_latest(answer, 60)
    assert full.text == ("As of 2025-01-01: The bridge will now cost 530 million pounds. [1] "
                         "Earlier (2024-01-01): The bridge will cost 410 million pounds. [2]")
    assert [c.article_id for c in full.citations] == ["a2", "a1"]
    assert full.notes == ()
    short = lead_with_latest(answer, 14)
    assert short.text == "As of 2025-01-01: The bridge will now cost 530 million pounds. [1]"
    assert [(c.number, c.article_id) for c in short.citations] == [(1, "a2")]
    assert short.notes == ("An earlier report differs but did not fit in the answer: 2024-01-01, “t”.",)
    assert lead_with_latest(answer, 10) is answer


def test_history_is_not_an_update():
    """news-2025's Thanksgiving answer read "As of 2025-11-24: Presidents after Washington … Earlier (2013-11-26): After
    Lincoln, …": names a sentence dates by are no answer of its own. A sentence that names its own year long before its
    article says when itself: "Earlier (<its article's date>)" would misdate it."""
    question = "Which US president issued the first Thanksgiving proclamation?"
    newer = ("Presidents after Washington also issued a Thanksgiving proclamation, but the months and days Thanksgiving "
             "was celebrated varied.")
    older = "After Lincoln, presidents issued annual Thanksgiving proclamations."
    assert not disagree(newer, older, question)
    assert disagree("Presidents like Washington also issued a Thanksgiving proclamation.",
                    "Presidents like Lincoln also issued a Thanksgiving proclamation.", question)
    text = ("George Washington issued the first Thanksgiving proclamation in 1789, calling on the nation to give thanks. [1] "
            "Abraham Lincoln issued the Thanksgiving proclamation in 1863, calling on the nation to give thanks. [2]")
    answer = Answer(question, text, citations=(cite(1, "2025-11-20"), cite(2, "2025-11-27")))
    assert disagree(*[s.split(" [")[0] for s in text.split("[1] ")], question)  # as reports, they would disagree
    assert lead_with_latest(answer) is answer
    assert history("Lincoln made it a national holiday in 1863.", "2025-11-27")
    assert not history("The plant employed 1,200 people in 2024.", "2025-03-01")  # last year's figure is still news
    assert not history("Since 2019 the plant has employed 1,200 people.", "2025-03-01")  # speaks of now
    assert not history("The plant employs 1,200 people.", "2025-03-01")
    assert not history("The fund holds 1990.5 million.", "2025-03-01")  # a figure, not a year
    # an old report that names an old year is left alone, a later report still supersedes one that names none
    stale = Answer("How many people does the plant employ?", "The plant employs 1,200 people, it said in 2019. [1] "
                   "The plant now employs 1,500 people, it said. [2]", citations=(cite(1, "2024-01-01"), cite(2, "2025-01-01")))
    assert lead_with_latest(stale) is stale
    fresh = replace(stale, text="The plant employs 1,200 people, it said. [1] The plant now employs 1,500 people, it said. [2]")
    assert lead_with_latest(fresh).text.startswith("As of 2025-01-01: The plant now employs 1,500 people")


def test_an_answer_from_outside_the_period_asked_about_says_so():
    week = ("2026-01-03", "2026-01-09")
    answer = Answer(question="q", text="A. [1] B. [2]", citations=(cite(1, "2025-11-14"), cite(2, None)), window=week)
    assert window_note(answer).notes == (
        "No article from 3–9 Jan 2026 answered this question: the cited articles are undated or from outside it.",)
    assert window_note(replace(answer, citations=(cite(1, None),))).notes[0].endswith("the cited articles are undated.")
    for inside in ("2026-01-05", "2026-01", "2026"):  # a date known to its month or year may fall in the week
        assert window_note(replace(answer, citations=(cite(1, "2025-11-14"), cite(2, inside)))).notes == ()
    assert window_note(replace(answer, window=None)).notes == ()
    assert window_note(replace(answer, abstained=True)).notes == ()
