"""Time in a question: "this week", "in March", "last year", "latest"... resolved against the day it is asked.

A small grammar covers the phrases news questions use; dateparser (with ``RELATIVE_BASE``) reads the
"N days/weeks ago" spans it matches. The result, a :class:`TimeScope`, is a *prior* for retrieval (never a
hard filter) and is reported with the answer ("news from 3–9 Jan 2026").
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .dates import spell

__all__ = ["TimeScope", "content_question", "resolve"]

_MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_MONTHS = "|".join(_MONTH_NAMES)
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "a few": 3, "several": 3}

Window = tuple[date, date]


@dataclass(frozen=True)
class TimeScope:
    """When a question is asked and what period it is about.

    ``window`` is the period the question names (None: none named); ``recency`` asks for the newest
    reporting ("latest", "still", "currently"); ``expressions`` are the phrases found; ``note`` explains a
    conflict ("last week in 2019") and which window was used.
    """

    as_of: date
    window: Window | None = None
    recency: bool = False
    expressions: tuple[str, ...] = ()
    relative: bool = False  # an expression relative to as_of ("this week"), not an absolute one ("in 2019")
    note: str | None = None

    @property
    def period(self) -> Window | None:
        """The window as searched: nothing after ``as_of`` is known."""
        return (self.window[0], min(self.window[1], self.as_of)) if self.window else None

    def describe(self) -> str:
        """What was searched, for people: "news from 3–9 Jan 2026", "news up to 9 Jan 2026, newest first"."""
        text = f"news from {spell(*self.period)}" if self.period else f"news up to {spell(self.as_of, self.as_of)}"
        return text + (", newest first" if self.recency else "")


def _month(year: int, month: int) -> Window:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _last_weekday(as_of: date, weekday: int) -> date:
    return as_of - timedelta(days=(as_of.weekday() - weekday) % 7)


def _reported(day: date, as_of: date) -> Window:
    """A day's news, reported that day and the two after (up to ``as_of``)."""
    return day, min(day + timedelta(days=2), as_of)


_THIS_WEEK = re.compile(r"\bthis (?:past )?week(?:end)?\b|\bthe past week\b")
_WEEKDAY = re.compile(r"\b(?:on |this )?(?<!last )(" + "|".join(_WEEKDAYS) + r")\b")
# A question about what is to come: its weekday (or weekend) is the next one, after as_of ("ahead of Germany's
# election on Sunday", "will … for the Super Bowl on Sunday"), so it names no period of news.
_UPCOMING = re.compile(r"\b(?:will|won't|ahead of|upcoming|(?:is|are) (?:set|expected|scheduled) to|in preparation for)\b")
# ... unless a verb in the past tense comes just before the day: "Which company said on Monday it will cut jobs?"
_PAST_VERB = re.compile(r"(?:\w+ed|said|told|was|were|did|met|won|lost|took|made|gave|began|came|went|held|hit|fell|"
                        r"rose|broke|chose|spoke|wrote|ran|left|sold|bought|paid|struck|became|got|saw|found|led)$")


def _upcoming(m: re.Match) -> bool:
    before = m.string[:m.start()].split()
    return bool(_UPCOMING.search(m.string)) and not (before and _PAST_VERB.fullmatch(before[-1]))


def _a_date(m: re.Match, month: str) -> bool:
    """"May 2" is a date after "on", "by" and the like; elsewhere "may" is likely the verb ("players may 2 …")."""
    return month != "may" or bool(re.search(r"\b(?:on|by|of|until|from|before|after)\s*$", m.string[:m.start()]))


def _on_day(day: date, as_of: date) -> Window | None:
    """A date the question names; None for one after ``as_of`` (a plan, not news yet: reporting before it counts)."""
    return _reported(day, as_of) if day <= as_of else None


def _on_day_of_year(month: int, day: int, as_of: date) -> Window | None:
    """"On April 2" with no year: this year's, or last year's if this year's is still to come; none if it is
    within a month (the question is about what is planned for it)."""
    this_year = date(as_of.year, month, day)
    if this_year <= as_of:
        return _reported(this_year, as_of)
    if (this_year - as_of).days <= 30:
        return None
    return _reported(date(as_of.year - 1, month, day), as_of)


def _since(month: int, day: int, year: int | None, as_of: date) -> Window | None:
    """"Since March" or "since March 3": from then up to ``as_of`` (the latest such day by then, without a year)."""
    start = date(year or as_of.year, month, day)
    if year is None and start > as_of:
        start = date(as_of.year - 1, month, day)
    return (start, as_of) if start <= as_of else None


def _recent_weekend(as_of: date) -> Window:
    """"Over the weekend": the Saturday and Sunday just past (on a Saturday or Sunday, this one so far)."""
    if as_of.weekday() == 5:
        return as_of, as_of
    sunday = as_of - timedelta(days=(as_of.weekday() + 1) % 7)
    return sunday - timedelta(days=1), sunday


def _last_week(as_of: date) -> Window:
    """The calendar week before this one, Monday to Sunday: on a Thursday, "last week" is not 7 to 13 days ago."""
    monday = as_of - timedelta(days=as_of.weekday() + 7)
    return monday, monday + timedelta(days=6)


def _last_weekend(as_of: date) -> Window:
    """The Saturday and Sunday before ``as_of`` (on a Sunday, the weekend before): what a golfer won "last weekend",
    asked on Thursday, was decided four days ago."""
    sunday = as_of - timedelta(days=(as_of.weekday() + 1) % 7 or 7)
    return sunday - timedelta(days=1), sunday


def _ago(span: str, as_of: date) -> Window | None:
    """"3 weeks ago" through dateparser, anchored at ``as_of``; the window is the unit around that day."""
    import dateparser

    m = re.match(r"(\w+(?: few)?)\s+(day|week|month|year)s?\s+ago", span)
    if not m:
        return None
    n = _NUMBER_WORDS.get(m[1], None)
    text = f"{n if n is not None else m[1]} {m[2]}s ago"
    parsed = dateparser.parse(text, languages=["en"], settings={"RELATIVE_BASE": datetime.combine(as_of, datetime.min.time()),
                                                                "PREFER_DATES_FROM": "past"})
    if parsed is None:
        return None
    d = parsed.date()
    half = {"day": 0, "week": 3, "month": 15, "year": 182}[m[2]]
    return d - timedelta(days=half), min(d + timedelta(days=half), as_of)


# (pattern, relative to as_of?, resolver); the first matching phrase of each kind counts
_RULES: list[tuple[re.Pattern, bool, object]] = [
    (re.compile(r"\b(?:in the|over the|during the) (?:past|last) (?:week|seven days|7 days)\b"), True, lambda m, d: (d - timedelta(6), d)),
    (re.compile(r"\b(?:in the|over the|during the) (?:past|last) (?:month|30 days)\b"), True, lambda m, d: (d - timedelta(29), d)),
    (re.compile(r"\b(?:in the|over the|during the) (?:past|last) year\b"), True, lambda m, d: (d - timedelta(364), d)),
    (re.compile(r"\b(?:in|over|during) the (?:past|last) (?:few|couple of|several) days\b"), True,
     lambda m, d: (d - timedelta(4), d)),
    (re.compile(r"\btoday\b|\btonight\b|\bthis morning\b"), True, lambda m, d: (d, d)),
    (re.compile(r"\byesterday\b"), True, lambda m, d: _reported(d - timedelta(1), d)),
    (re.compile(r"\blast night\b"), True, lambda m, d: (d - timedelta(1), d)),  # reported that night or the next day
    (re.compile(r"\b(?:over|on|during) the weekend\b|\bthis past weekend\b"), True, lambda m, d: _recent_weekend(d)),
    (_THIS_WEEK, True, lambda m, d: None if m[0] == "this weekend" and _upcoming(m) else (d - timedelta(6), d)),
    (re.compile(r"\blast weekend\b"), True, lambda m, d: _last_weekend(d)),
    (re.compile(r"\blast week\b"), True, lambda m, d: _last_week(d)),
    (re.compile(r"\bthis month\b"), True, lambda m, d: (d.replace(day=1), d)),
    (re.compile(r"\blast month\b"), True, lambda m, d: _month(*((d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)))),
    (re.compile(r"\b(?:so far this year|this year|year to date)\b"), True, lambda m, d: (date(d.year, 1, 1), d)),
    (re.compile(r"\blast year\b"), True, lambda m, d: (date(d.year - 1, 1, 1), date(d.year - 1, 12, 31))),
    (re.compile(r"\b(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a few|several) (?:day|week|month|year)s? ago\b"),
     True, lambda m, d: _ago(m[0], d)),
    (re.compile(r"\blast (" + "|".join(_WEEKDAYS) + r")\b"), True,  # on a Thursday, "last Thursday" is a week ago
     lambda m, d: _reported(_last_weekday(d - timedelta(1), _WEEKDAYS[m[1]]), d)),
    (_WEEKDAY, True, lambda m, d: None if _upcoming(m) else _reported(_last_weekday(d, _WEEKDAYS[m[1]]), d)),
    (re.compile(r"(?<!since )\b(" + _MONTHS + r") (\d{1,2})(?:st|nd|rd|th)?,? ((?:1[89]|20)\d{2})\b"), False,
     lambda m, d: _on_day(date(int(m[3]), _MONTH_NAMES[m[1]], int(m[2])), d)),
    (re.compile(r"(?<!since )\b(\d{1,2}) (" + _MONTHS + r"),? ((?:1[89]|20)\d{2})\b"), False,
     lambda m, d: _on_day(date(int(m[3]), _MONTH_NAMES[m[2]], int(m[1])), d)),
    (re.compile(r"(?<!since )\b(" + _MONTHS + r") (\d{1,2})(?:st|nd|rd|th)?\b(?!,? \d)"), True,
     lambda m, d: _on_day_of_year(_MONTH_NAMES[m[1]], int(m[2]), d) if _a_date(m, m[1]) else None),
    (re.compile(r"(?<!since )\b(\d{1,2}) (" + _MONTHS + r")\b(?!,? \d)"), True,
     lambda m, d: _on_day_of_year(_MONTH_NAMES[m[2]], int(m[1]), d) if _a_date(m, m[2]) else None),
    (re.compile(r"\bsince (" + _MONTHS + r")(?: (\d{1,2})(?:st|nd|rd|th)?\b)?(?:,? ((?:1[89]|20)\d{2}))?"), True,  # up to as_of
     lambda m, d: _since(_MONTH_NAMES[m[1]], int(m[2] or 1), int(m[3]) if m[3] else None, d)),
    (re.compile(r"\bsince (\d{1,2}) (" + _MONTHS + r")\b(?:,? ((?:1[89]|20)\d{2}))?"), True,
     lambda m, d: _since(_MONTH_NAMES[m[2]], int(m[1]), int(m[3]) if m[3] else None, d)),
    (re.compile(r"\b(?:in|during|of|by) (" + _MONTHS + r")(?:,? (\d{4}))?\b"), None,
     lambda m, d: _month(int(m[2]), _MONTH_NAMES[m[1]]) if m[2] else
     _month(d.year if _MONTH_NAMES[m[1]] <= d.month else d.year - 1, _MONTH_NAMES[m[1]])),
    (re.compile(r"\b(?:in|during|of) ((?:1[89]|20)\d{2})\b"), False, lambda m, d: (date(int(m[1]), 1, 1), date(int(m[1]), 12, 31))),
]
_RECENT = re.compile(r"\b(?:recent|recently|latest|current|currently|now|still|newest|most recent|so far|as of now|ongoing)\b")
_RECENT_WINDOW = 30  # "recently": the last 30 days, with the newest favoured


# Phrases whose words say nothing about the subject once resolved to a window ("this week" in a 2019
# story is another week): left out of the text that is matched. Weekdays, months and years stay: news
# text says "on Wednesday" and "in March" too.
_CONTENT_FREE = re.compile(
    r",?\s*\b(?:so far this year|this year|year to date|(?:in|over|during) the (?:past|last) (?:week|seven days|7 days|month|30 days|year)"
    r"|(?:in|over|during) the (?:past|last) (?:few|couple of|several) days|(?:over|on|during) the weekend|last night"
    r"|this (?:past )?week(?:end)?|the past week|last week(?:end)?|this month|last month|last year|today|tonight|yesterday"
    r"|(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a few|several) (?:day|week|month|year)s? ago"
    r"|recently|most recent|latest|currently|current|newest|still|right now|now)\b", re.I)


def content_question(question: str) -> str:
    """``question`` without the time phrases a window replaces: "Who announced layoffs this week?" -> "Who announced layoffs?"."""
    out = " ".join(_CONTENT_FREE.sub("", question).split())
    out = re.sub(r"\s+([?.!,])", r"\1", out)
    return out if len(out.split()) >= 2 else question


def resolve(question: str, as_of: date | None = None) -> TimeScope:
    """The :class:`TimeScope` of ``question`` asked on ``as_of`` (today by default)."""
    as_of = as_of or date.today()
    q = " ".join(question.lower().split())
    found: list[tuple[str, Window, bool]] = []
    upcoming: list[tuple[str, bool]] = []
    for pattern, relative, resolver in _RULES:
        m = pattern.search(q)
        if not m:
            continue
        try:
            window = resolver(m, as_of)  # type: ignore[operator]
        except (ValueError, OverflowError):
            continue
        rel = relative if relative is not None else not m[2]
        if (window is None and pattern in (_WEEKDAY, _THIS_WEEK)) or (window is not None and window[0] > as_of):
            upcoming.append((m[0].strip(), rel))  # what it names has not happened by as_of ("in 2026"): no news yet
        if window is None or window[0] > window[1] or window[0] > as_of:
            continue
        found.append((m[0].strip(), window, rel))
    recent = _RECENT.search(q)
    expressions = tuple(e for e, _, _ in found) + tuple(e for e, _ in upcoming) + ((recent[0],) if recent else ())
    relative = any(r for _, _, r in found) or any(r for _, r in upcoming) or bool(recent)
    if not found:
        if recent and recent[0] in ("recent", "recently"):
            return TimeScope(as_of, (as_of - timedelta(_RECENT_WINDOW - 1), as_of), True, expressions, True)
        return TimeScope(as_of, None, bool(recent), expressions, relative)
    window, note = found[0][1], None
    for _, other, _ in found[1:]:
        start, end = max(window[0], other[0]), min(window[1], other[1])
        if start <= end:
            window = (start, end)
            continue
        # disjoint: an absolute period ("in 2019") outranks one relative to today ("last week")
        keep = next((w for e, w, r in found if not r), window)
        note = (f"The question names periods that do not overlap ({', '.join(repr(e) for e, _, _ in found)}); "
                f"searched {spell(*keep)}.")
        window = keep
        break
    return TimeScope(as_of, window, bool(recent), expressions, relative, note)
