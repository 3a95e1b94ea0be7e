"""Web pages saved before their article loaded: a browser check, a paywall or a cookie banner instead of the story.

trafilatura extracts whatever text such a page holds ("Enable JavaScript and cookies to continue"), which would
otherwise be indexed, retrieved and quoted as if it were news.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAYWALL = "a subscription or sign-in wall"  # the one wall that cuts a story short rather than hiding it all
# (what the page is, what to do about it, the lines that say so)
_KINDS = (
    ("a JavaScript or browser check", "save the page from a browser once the article has loaded", re.compile(
        r"enable javascript|javascript is (disabled|required|not enabled|turned off)|checking (if the site connection"
        r" is secure|your browser)|verify (that )?you are (a )?human|unusual traffic from your (computer|network)"
        r"|(disable|turn off) (your )?ad ?blocker|^(just a moment|attention required|access denied)\b[\W\w]{0,20}$")),
    (PAYWALL, "save the page while signed in", re.compile(
        r"(subscribe|sign in|log in|register) (now )?to (continue|keep) reading|(subscribe|sign in|log in|register) "
        r"(now )?to read (the|this) (full )?(article|story)|already a subscriber|(reached|used) your (\w+ )?(free )?"
        r"(article|story) limit|this (article|story|content) is (only )?(available|reserved) (to|for) (paying )?"
        r"(subscribers|members)")),
    ("a cookie consent banner", "accept or reject the banner in a browser, then save the page", re.compile(
        r"we use cookies|accept all cookies|cookie (settings|preferences)|^before you continue( to [\w .-]{1,40})?\W*$")),
)
EDGE_LINES = 5  # a wall stands before the story or where the page cut it off: lines inside a story are the story's
MAX_WALL_LINE_WORDS = 60  # a longer line is article text that mentions cookies or subscriptions, not the wall itself
MIN_ARTICLE_WORDS = 40  # fewer words than this beside a wall: the story itself is not on the page
SHORT_PAGE_WORDS = 15  # a page with no wall and fewer words than this is a menu or index page, most likely


@dataclass(frozen=True)
class Wall:
    kind: str  # "a cookie consent banner"
    advice: str
    said: str  # the first line of it, as the page says it
    text: str  # the page's text without the wall's lines
    words: int  # words left in that text, its headline line aside


def find(title: str, text: str) -> Wall | None:
    """The wall on a page (its title, first or last lines), or None for a page without one."""
    lines = text.splitlines()
    filled = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(filled[:EDGE_LINES] + filled[-EDGE_LINES:])
    hits = [_wall_line(line) if i in edges else None for i, line in enumerate(lines)]
    said = next(((hit, line.strip()) for hit, line in zip([_wall_line(title), *hits], [title, *lines]) if hit), None)
    if said is None:
        return None
    (kind, advice), line = said
    kept = "\n".join(line for line, hit in zip(lines, hits) if not hit).strip()
    return Wall(kind, advice, line, kept, words_beside(title, kept))


def _wall_line(line: str) -> tuple[str, str] | None:
    if len(line.split()) > MAX_WALL_LINE_WORDS:
        return None
    low = line.strip().lower()  # the patterns are in lower case: twice as fast as matching with re.I
    return next(((kind, advice) for kind, advice, says in _KINDS if says.search(low)), None)


def words_beside(title: str, text: str) -> int:
    """Words of ``text``, leaving out a line that repeats the headline (trafilatura often keeps the <h1>)."""
    head = " ".join(title.split()).casefold()
    return sum(len(line.split()) for line in text.splitlines() if " ".join(line.split()).casefold() != head)
