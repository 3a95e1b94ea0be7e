"""Publication dates we can trust: strict parsing that keeps a date's real precision and never invents one.

A date is an ISO string of its precision: ``"2024"`` (a year), ``"2024-03"`` (a month) or ``"2024-03-05"``
(a day). Nothing is guessed: a year alone stays a year, a relative phrase ("3 hours ago") is not a date,
``05/06/2021`` (day-first or month-first?) is left out, an impossible day keeps the month it names, and a
date after today is left out. Each refusal comes with a reason the loader reports as a warning.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime

__all__ = ["parse_date", "parse_period", "parse_day", "period", "day_number", "as_date", "spell", "DateProblem"]

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"

_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?"
                  r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)?)?$", re.I)
_SLASHED_YMD = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_NUMERIC_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DAY_MONTH_YEAR = re.compile(rf"^(?:\w+,?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}})(?:\b.*)?$", re.I)
_MONTH_DAY_YEAR = re.compile(rf"^(?:\w+,?\s+)?{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?:\b.*)?$", re.I)
_MONTH_YEAR = re.compile(rf"^{_MONTH},?\s+(\d{{4}})$", re.I)
_RELATIVE = re.compile(r"\b(ago|today|yesterday|tomorrow|now|just now|last|this|next|hours?|minutes?|recently)\b", re.I)


class DateProblem(ValueError):
    """A date value that was refused, with the reason (the loader turns it into a warning naming the file)."""


def _check(year: int, month: int | None, day: int | None, text: str, today: date) -> str:
    """The ISO string of the given precision; an impossible day keeps its month, a future date is refused."""
    if not 1 <= year <= 9999:
        raise DateProblem(f"date {text!r}: year {year} is not plausible")
    if month is not None and not 1 <= month <= 12:
        raise DateProblem(f"date {text!r}: there is no month {month}")
    iso = f"{year:04d}" if month is None else f"{year:04d}-{month:02d}"
    if month is not None and day is not None:
        if not 1 <= day <= calendar.monthrange(year, month)[1]:
            raise DateProblem(f"date {text!r} does not exist; kept as {iso}", iso)
        iso = f"{iso}-{day:02d}"
    if period(iso)[0] > today:
        raise DateProblem(f"date {text!r} is in the future (today is {today.isoformat()}); left undated")
    return iso


def parse_date(value: object, today: date | None = None) -> str | None:
    """A publication date as ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; None for no value.

    Raises :class:`DateProblem` for a value that is not a trustworthy date. When part of it can be kept
    (an impossible day of a real month), ``exc.args[1]`` holds that part.
    """
    today = today or date.today()
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _check(value.year, value.month, value.day, value.isoformat(), today)
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return _check(value, None, None, str(value), today)
    text = " ".join(str(value).split())
    if len(text) > 80:
        raise DateProblem(f"date {text[:40]!r}...: too long to be a date")
    if m := _ISO.match(text):
        y, mo, d = (int(g) if g else None for g in m.groups())
        return _check(y, mo, d if mo else None, text, today)
    if m := _SLASHED_YMD.match(text) or _COMPACT.match(text):
        return _check(int(m[1]), int(m[2]), int(m[3]), text, today)
    if m := _NUMERIC_DMY.match(text):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        if a != b and a <= 12 and b <= 12:
            raise DateProblem(f"date {text!r} is ambiguous (day-first or month-first?); left undated: "
                              "write it as YYYY-MM-DD")
        day, month = (a, b) if a > 12 or a == b else (b, a)
        return _check(y, month, day, text, today)
    if m := _DAY_MONTH_YEAR.match(text):
        return _check(int(m[3]), _MONTHS[m[2].lower()], int(m[1]), text, today)
    if m := _MONTH_DAY_YEAR.match(text):
        return _check(int(m[3]), _MONTHS[m[1].lower()], int(m[2]), text, today)
    if m := _MONTH_YEAR.match(text):
        return _check(int(m[2]), _MONTHS[m[1].lower()], None, text, today)
    try:  # RSS pubDate (RFC 2822): "Tue, 05 Mar 2024 10:00:00 GMT"
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is not None:
        return _check(parsed.year, parsed.month, parsed.day, text, today)
    if _RELATIVE.search(text):
        raise DateProblem(f"date {text!r} is relative to when the page was read, not a publication date; left undated")
    raise DateProblem(f"date {text!r} is not in a known date format; left undated")


def period(iso: str) -> tuple[date, date]:
    """First and last day of a ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` date."""
    parts = [int(p) for p in iso[:10].split("-")]
    if len(parts) == 1:
        return date(parts[0], 1, 1), date(parts[0], 12, 31)
    if len(parts) == 2:
        return date(parts[0], parts[1], 1), date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
    d = date(*parts)
    return d, d


def day_number(iso: str | date | None) -> int | None:
    """A date as an int Chroma can range-filter (YYYYMMDD); a partial date counts from its first day."""
    if not iso:
        return None
    if isinstance(iso, date):
        return iso.year * 10000 + iso.month * 100 + iso.day
    try:
        d = period(iso)[0]
    except (ValueError, TypeError):
        return None
    return d.year * 10000 + d.month * 100 + d.day


def parse_period(text: str) -> tuple[date, date]:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (e.g. ``--since 2024``) as the whole period it names.

    Raises ValueError with a message for anything else.
    """
    t = (text or "").strip()
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", t):
        raise ValueError(f"{text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    try:
        return period(t)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date ({exc})") from exc


def parse_day(text: str) -> date:
    """A ``YYYY-MM-DD`` day (e.g. ``--as-of``); ValueError with a message otherwise."""
    t = (text or "").strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        raise ValueError(f"{text!r} is not a day: use YYYY-MM-DD")
    try:
        return date.fromisoformat(t)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real day ({exc})") from exc


def as_date(value: object, default: date | None = None) -> date:
    """An ``as_of`` given as a date, datetime or ``YYYY-MM-DD`` string; ``default`` (today) when None."""
    if value is None or value == "":
        return default or date.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_day(str(value))


def spell(first: date, last: date) -> str:
    """A window for people: "3–9 Jan 2026", "5 Mar 2024", "Dec 2025 – 9 Jan 2026"."""
    def full(d: date) -> str:
        return f"{d.day} {d.strftime('%b')} {d.year}"

    if first == last:
        return full(first)
    if first.month == 1 and first.day == 1 and last.month == 12 and last.day == 31:
        return str(first.year) if first.year == last.year else f"{first.year}–{last.year}"
    if first.year == last.year and first.month == last.month:
        if first.day == 1 and last.day == calendar.monthrange(last.year, last.month)[1]:
            return first.strftime("%B %Y")
        return f"{first.day}–{last.day} {first.strftime('%b')} {first.year}"
    if first.year == last.year:
        return f"{first.day} {first.strftime('%b')} – {full(last)}"
    return f"{full(first)} – {full(last)}"
