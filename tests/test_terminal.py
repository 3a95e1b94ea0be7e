"""Human output helpers (rag.terminal): counts read as words, quotations not doubled, terminal-safe text."""

from rag.schema import Answer, SentenceCheck
from rag.terminal import answer_lines, counted, facts_line, quote_body, searched_line, shown, wrap


def test_counts_read_as_words():
    assert (counted(1, "article"), counted(0, "file"), counted(3, "question")) == ("1 article", "0 files", "3 questions")
    assert counted(5280, "article") == "5,280 articles"


def test_a_quotation_cut_from_a_longer_one_is_not_opened_twice():
    assert quote_body("“Jimmy Kimmel is not a talented person.") == "Jimmy Kimmel is not a talented person."
    assert quote_body('"It is over.') == "It is over."
    # a quotation the sentence closes keeps its marks, made single: nested in the ones around it
    assert quote_body("“It is over,” she said.") == "‘It is over,’ she said."
    assert quote_body('"It is over," she said. ') == "'It is over,' she said."
    # closes one opened in an earlier sentence, or never opened in the article: opened here, as the answer's text is
    assert quote_body("It is over,” she said.") == "‘It is over,’ she said."
    assert quote_body('It is over," she said.') == "'It is over,' she said."
    assert quote_body("Officials said it was over.") == "Officials said it was over."
    # pages mix straight and curly marks (news-2025): one of each is a quotation, opened and closed
    mixed = '"Look, I voted and I look forward to working with the next mayor,” Schumer said.'
    assert quote_body(mixed) == "'Look, I voted and I look forward to working with the next mayor,’ Schumer said."


def test_control_characters_are_shown_escaped():
    assert shown("title\x1b[2J\u202e") == "title\\x1b[2J\\u202e"


def test_the_searched_period_names_the_as_of_day_once():
    assert searched_line("news up to 2 Dec 2026", "2026-12-02", None) == "Searched news up to 2 Dec 2026."
    assert (searched_line("news from 3–9 Jan 2026", "2026-01-09", ("2026-01-03", "2026-01-09"))
            == "Searched news from 3–9 Jan 2026 (as of 2026-01-09).")
    assert searched_line(None, "2026-01-09", None) is None


def test_a_quoted_headline_stands_on_a_line_of_its_own():
    """news-2025 read "Trump, conservative leaders honor Charlie Kirk [1] Vance calls Kirk a 'great American leader' [2]
    But Vance also …": headlines run into each other and into the next sentence."""
    text = ("Trump, conservative leaders honor Charlie Kirk [1] Vance calls Kirk a 'great American leader' [2] "
            "But Vance also acknowledged Kirk’s influence. [2] He called him “a great American leader.” [2]")
    assert answer_lines(Answer("q", text)) == [
        "Trump, conservative leaders honor Charlie Kirk [1]", "Vance calls Kirk a 'great American leader' [2]",
        "But Vance also acknowledged Kirk’s influence. [2] He called him “a great American leader.” [2]"]
    prose = "As of 2025-09-18: It costs 530 million. [1] Earlier (2024-03-05): It costs 410 million. [2] Why? [3]"
    assert answer_lines(Answer("q", prose)) == [prose]
    assert answer_lines(Answer("q", "A sentence. [1] A subhead [1] Another sentence. [1]")) == [
        "A sentence. [1]", "A subhead [1]", "Another sentence. [1]"]
    # a generated answer's markers may sit inside its sentences; an abstention has none
    generated = "Jens Stoltenberg [1] and John Kirby [2]"
    check = SentenceCheck(text=generated, cited=(1, 2), supported=True, score=0.9, start=0, end=len(generated))
    assert answer_lines(Answer("q", generated, sentences=(check,))) == [generated]
    assert answer_lines(Answer("q", generated)) == [generated]  # however it came without its checks
    headed = "Stoltenberg leads NATO [1] Kirby speaks for the Pentagon [2]"  # as quotes, two headlines; generated, as written
    assert answer_lines(Answer("q", headed)) == ["Stoltenberg leads NATO [1]", "Kirby speaks for the Pentagon [2]"]
    assert answer_lines(Answer("q", headed, sentences=(check,))) == [headed]
    assert answer_lines(Answer("q", "Stoltenberg [1] said so, and Kirby [2] agreed.")) == [
        "Stoltenberg [1] said so, and Kirby [2] agreed."]
    assert answer_lines(Answer("q", "The articles do not answer this question.", abstained=True)) == [
        "The articles do not answer this question."]


def test_a_long_source_stays_whole_on_the_line_of_its_date(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    url = "www.usatoday.com/story/news/2025/01/16/when-is-super-bowl-sunday-2025-where-when-and-who/77722972007"
    assert facts_line(("2025-01-16", url), "    ") == f"    2025-01-16 · {url}"
    assert wrap(f"2025-01-16 · {url}", "    ").splitlines() == ["    2025-01-16 ·", f"    {url}"]  # what it replaced
    assert facts_line(("undated", None, "a\x1b[31m.txt")) == "undated · a\\x1b[31m.txt"
