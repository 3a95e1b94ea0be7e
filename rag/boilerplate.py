"""Lines a library repeats across unrelated stories: promotions, bylines, sign-offs.

Scraped news carries them ("Play the USA TODAY Daily Crossword Puzzle." is in 663 stories of news-2025's
5,280 articles); they match a question's names by accident and were quoted as answers. A line counts when it is
four to twelve words long (or is such a sentence of a line of up to 24) and occurs in at least ``MIN_STORIES``
stories, a story being a group of copies (:mod:`rag.groups`): a wire story carried by ten outlets is one story, so
its sentences are not boilerplate. The answerer and the re-ranker skip sentences that are such a line (or one of
its sentences). A byline of names alone at an article's top ("Steve Holland, Matt Spetalnick & Jeff Mason") is a
credit, as "Reporting by …" is.

Lines that send the reader to another story ("More: …", "Read more: …", a headline glued to a label "Live
updates:Delta Air Lines plane flips …", and the headlines after a bare "Check Also") are skipped too, in any
library: they are another story's words, so quoting them would cite this article for something it does not say.

A widget's label that scraping ran into the next sentence ("AI-assisted summary Venice's experimental …") is
left out of the quote, which starts after it. Page furniture that is not a statement (a time stamp "Updated Dec. 9,
2025, 4:09 p.m. ET", a credit "Contributing: Krystal Nurse/ USA TODAY", a list's lead-in "Products sold in Michigan
include:") is never quoted: 20 of the 816 sentences of news-2025's answers were such lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_STORIES = 5
MIN_WORDS = 4  # shorter repeated lines are mostly list items and headings ("New York", "Album of the year"), kept
MAX_WORDS = 12  # longer ones are mostly shared reporting (a quoted paragraph), kept
# the sentences of a repeated line, which is lower-cased by then: rag.chunking's splitter reads capitals, so a plain cut
_PIECES = re.compile(r"(?<=[.!?])[\"'”’)]*\s+")
# "More:", "Read more:", "Related stories:", "Check Also" …: with a colon or a bar and a headline after it, or alone on its line
_LINK_LABEL = (r"(?:more|read more|read also|also read|see also|check also|related(?: stories| articles| coverage| content)?"
               r"|watch|listen|you may also like|recommended(?: stories| reading)?)")
_LINK_LINE = re.compile(rf"(?i)\s*{_LINK_LABEL}\s*[:|]\s*\S")
# any label glued to another story's headline, a scraped link with no space after its colon: "Live updates:Delta Air
# Lines plane flips …", "Kohl's among latest to temporarily shutter:Kohl's to close all US stores …" (no final mark)
_GLUED_LINK = re.compile(r"[^:\n]{3,90}:[A-Z‘'\"“][^\n]*")
_BARE_LABEL = re.compile(rf"(?i)\s*{_LINK_LABEL}\s*:?\s*$")
# a call to click through to another page: "Click here to read the full story.", "(Click here to view)", "Editor's note:
# Click here for …", or a short sentence ending so ("To read more about efforts to restore power, click here."): 131 of
# news-2025's 145 sentences with "click here"; the others hold news before it, or a promotion in other words
_CLICK = re.compile(r"(?i)(?:[^:\n]{0,40}:\s*)?\(?(?:please |just |tap or |or )?click here\b")
_CLICK_END = re.compile(r"(?i)\bclick here\W*$")
MAX_CLICK_WORDS = 16
_ENDS_SENTENCE = re.compile(r"[.!][\"'”’)\]]*\s*$")  # a headline or a teaser cut off with "…" does not
MAX_LISTED = 8  # headlines after a bare label, at most
# what a quote starts after: a page widget's label run into the sentence it introduces, scraped without a line break
# ("AI-assisted summary Venice's experimental payment system …": USA TODAY's network, 161 articles of news-2025),
# or a list item's bullet glyph ("◾ Walking about 2,300 steps a day …")
_LEAD_IN = re.compile(r"(?:AI-assisted summary|[◾▪■•●►▶◆◼➤])\s+(?=\S)")
MAX_STAMP = 64  # characters: "Dec. 15, 2025 Updated Dec. 16, 2025, 4:13 p.m. ET" is 50
_LISTS = re.compile(r"\b(?:are|were|include[sd]?|including|following|below):$")  # "The newest entrants, announced …, are:"
# a byline after the sentence's own full stop (after a quotation's closing mark it names the speaker), or a picture
# credit in brackets, at the sentence's end
_GLUED_TAIL = re.compile(r"(?<=[.!?])\s?[—–]\s?[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){1,2}\s*$"
                         r"|\s*\((?:image|photo|picture)(?: credit)?:[^)]*\)\s*$", re.I)
# the words of a time stamp: "Dec. 15, 2025 Updated Dec. 16, 2025, 4:13 p.m. ET"
_STAMP_WORD = re.compile(r"(?i)(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?|(?:mon|tues|wednes|thurs|fri|satur|sun)day"
                         r"|updated|published|posted|last|[ap]\.?m\.?|[ecmp][sd]?t|gmt|bst|utc|at|on|\d+(?:st|nd|rd|th)?\.?")
_CREDIT = re.compile(r"(?i)\(?(?:contributing|contributors?|(?:additional )?reporting by|editing by|written by|compiled by"
                     r"|photos? by|photos?:|credit:|image:)|[\w .,&'’-]+ contributed (?:to )?(?:this|reporting)")
_ASKS_CREDIT = re.compile(r"(?i)\b(?:report|wr[io]te|written|writer|contribut|edit|photo|author|byline)")
# a byline of names alone on one of an article's first lines: "Steve Holland, Matt Spetalnick & Jeff Mason", "Aamer
# Madhani, USA TODAY", "By Jane Doe" (126 of news-2025's first three lines, all bylines; further in, such a line is
# mostly a list item, "Michael Jordan, Washington Wizards", which may be the answer)
_NAME = r"[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){1,2}"
_BYLINE = re.compile(rf"By {_NAME}(?:(?:, | & | and ){_NAME})*|{_NAME}(?:(?:, | & | and ){_NAME})+")
OPENING_LINES = 3
_UNQUOTED_FOR_CREDITS = frozenset({"link", "furniture"})
_UNQUOTED = _UNQUOTED_FOR_CREDITS | {"credit"}


def plain(text: str) -> str:
    """The form lines and sentences are compared in: lower case, white space collapsed."""
    return " ".join(text.lower().split())


def repeated_lines(texts: Iterable[str], stories: Iterable[str], min_stories: int = MIN_STORIES,
                   max_words: int = MAX_WORDS) -> frozenset[str]:
    """The short lines of ``texts`` (chunks, each with its story's label in ``stories``) found in ``min_stories``
    stories or more, in :func:`plain` form, with each of their sentences. A line of up to twice ``max_words`` counts
    by its short sentences: "Need a news break? Check out the all new PLAY hub with puzzles, games and more!" is
    two, and its second is in 70 of news-2025's articles."""
    seen: dict[str, set[str] | str] = {}
    common: set[str] = set()
    for text, story in zip(texts, stories):
        for line in text.split("\n"):
            spaces = line.count(" ")  # cheap word count: most lines are long paragraphs
            if not line or spaces >= 2 * max_words:
                continue
            for key in _short_parts(line, spaces, max_words):
                if key in common:
                    continue
                got = seen.get(key)
                if got is None:
                    seen[key] = story  # most lines occur once: no set for them
                    continue
                if isinstance(got, str):
                    if got == story:
                        continue
                    got = seen[key] = {got, story}
                else:
                    got.add(story)
                if len(got) >= min_stories:
                    common.add(key)
    pieces = {p for line in common for p in _PIECES.split(line) if p.count(" ") >= MIN_WORDS - 1}
    return frozenset(common | pieces)


def _short_parts(line: str, spaces: int, max_words: int) -> list[str]:
    """What a line is counted as: itself when short, else its sentences of ``MIN_WORDS`` to ``max_words`` words."""
    key = plain(line)
    if spaces < max_words:
        return [key] if key.count(" ") >= MIN_WORDS - 1 else []
    return [p for p in _PIECES.split(key) if MIN_WORDS - 1 <= p.count(" ") < max_words]


def link_out_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the lines of ``text`` that point to other stories.

    A line such as "More:Medicare targets weight loss drugs …" is one; a bare label ("Check Also", "Related:")
    is one with the headlines and teasers after it, up to the first line that ends a sentence (the story
    going on), or ``MAX_LISTED`` lines.
    """
    spans: list[tuple[int, int]] = []
    listed = -1  # lines still to take after a bare label; -1: not in a list
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            continue
        if _BARE_LABEL.fullmatch(line):
            spans.append((start, end))
            listed = MAX_LISTED
        elif _LINK_LINE.match(line) or (_GLUED_LINK.fullmatch(line) and not _ENDS_SENTENCE.search(line)):
            spans.append((start, end))
        elif listed > 0 and not _ENDS_SENTENCE.search(line):
            spans.append((start, end))
            listed -= 1
        else:
            listed = -1
    return spans


def label_end(sentence: str) -> int:
    """Where a sentence starts after a widget label run into it or a list's bullet glyph (0 when it has neither):
    quoted from there."""
    m = _LEAD_IN.match(sentence)
    return m.end() if m else 0


def tail_start(sentence: str) -> int:
    """Where a sentence ends before a live blog's byline or a picture credit glued to it ("… posted on Tuesday.—
    Sudiksha Kochi", "… north-eastern region (Image credit: AFP via Getty Images)"): quoted up to there."""
    m = _GLUED_TAIL.search(sentence)
    return m.start() if m else len(sentence)


def says_nothing(sentence: str, question: str = "") -> bool:
    """Whether a sentence is page furniture rather than a statement (:func:`furniture`), for ``question``."""
    return furniture(sentence) in unquoted(question)


def furniture(sentence: str) -> str | None:
    """What a sentence is when it is not a statement: "furniture" for a time stamp or a lead-in to a list (its last
    mark a colon, short or ending "… are:"), which would be quoted as an answer with nothing in it; "credit" for a
    credit, which answers only a question about who made the story; else None. Other long lead-ins say something
    themselves ("… a pamphlet written by Muhammad Abd al-Salaam Farag, in which he states:")."""
    text = sentence.strip()
    if _CREDIT.match(text):
        return "credit"
    lead_in = text.rstrip(" \"'”’)")
    if lead_in.endswith(":") and (lead_in.count(" ") < MAX_WORDS or _LISTS.search(lead_in)):
        return "furniture"
    if len(text) > MAX_STAMP or not any(c.isdigit() for c in text):
        return None
    return "furniture" if all(_STAMP_WORD.fullmatch(w) for w in re.findall(r"[A-Za-z0-9.]+", text)) else None


def unquoted(question: str) -> frozenset[str]:
    """The kinds of sentence (:func:`quotable`) never quoted for ``question``: links out and furniture, and credits
    unless it asks who made the story ("Who reported it?")."""
    return _UNQUOTED_FOR_CREDITS if _ASKS_CREDIT.search(question) else _UNQUOTED


def quotable(text: str, spans: list[tuple[int, int]], skip_links: bool = True,
             opening: bool = False) -> tuple[list[tuple[int, int]], list[str | None]]:
    """Each sentence span of a passage as it may be quoted (without a run-in label or a glued byline) and what it is:
    :func:`furniture`'s kind, "credit" for a byline of names alone among the first lines of a passage that
    opens its article (``opening``), or "link" for a line pointing to another story. Depends on the text alone,
    so a scorer works it out once per passage, not once per question."""
    links = link_out_spans(text) if skip_links else []
    head = _opening_end(text) if opening else 0
    quoted, kinds = [], []
    for s, e in spans:
        s += label_end(text[s:e])  # "AI-assisted summary Venice’s …" is quoted from "Venice’s"
        e = s + tail_start(text[s:e])  # "… on Tuesday.— Sudiksha Kochi" up to "Tuesday."
        quoted.append((s, e))
        out = any(a <= s and e <= b for a, b in links) or (skip_links and _clicks(text[s:e]))
        kind = "link" if out else furniture(text[s:e])
        if kind is None and e <= head and _BYLINE.fullmatch(text[s:e].strip()):
            kind = "credit"
        kinds.append(kind)
    return quoted, kinds


def _clicks(sentence: str) -> bool:
    """Whether a sentence only sends the reader to another page (:data:`_CLICK`)."""
    text = sentence.strip()
    return bool(_CLICK.match(text)) or (text.count(" ") < MAX_CLICK_WORDS and bool(_CLICK_END.search(text)))


def _opening_end(text: str) -> int:
    """Where the first ``OPENING_LINES`` lines of ``text`` that hold anything end."""
    end = 0
    for _ in range(OPENING_LINES):
        while end < len(text) and text[end] in " \t\n":
            end += 1
        found = text.find("\n", end)
        end = len(text) if found < 0 else found
    return end
