"""Dated answers: when the cited articles disagree, the most recent report leads and says its date.

News changes: a figure or a name reported in one article may be replaced by another later. An
answer quoting both in the answerer's order would present the stale one as current. Two cited sentences
*disagree* when, from articles published on different days, they speak of the same thing (most of
their other content words are shared: ``SAME_SLOT``) and give it different values: different
figures (numbers other than years), or different proper names, each side having one the other lacks.
Then the answer is reordered: the newest sentence first, "As of <date>:", the older ones after it,
"Earlier (<date>):". When the cited sentences do not disagree among themselves, a retrieved but
uncited passage from a later article that disagrees with one of them is cited and leads the same way
(the answerer ranks sentences by match to the question, and a stale report can match better).
Everything else (agreeing sentences, undated articles, generated answers whose sentence checks index
their text) is left as it was, and so is history: a sentence that dates its fact to a year well before its
article ("Washington issued the first proclamation in 1789") is not a report a later one supersedes.
An answer to a question that names a period ("this week", "in February 2025") from articles all outside it says so
in a note: the period is a prior, not a filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from .answer import quotes_of
from .dates import period, spell
from .schema import Answer, Citation
from .scoring import CALENDAR, NOT_NAMES, question_kind
from .sentences import answer_spans
from .terms import content_terms, tokenize

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
# what rag.scoring already takes for grammar's capitals and dates, with the words that open a sentence
_NOT_NAME_WORDS = NOT_NAMES | frozenset("after before while when from by with since during under over there here then so "
                                        "or".split())
_SCALES = frozenset("hundr thousand million billion trillion mln bn".split())  # stems of tokenize()
_CLAUSE_END = re.compile(r"[,;:()!?]|\.(?:\s|$)")
# "about 2,300 steps" reports the same figure as "2,337 steps", rounded: a hedge before a figure says it is approximate
_HEDGED = re.compile(r"(?i)\b(?:about|around|nearly|almost|roughly|approximately|some|close to|more than|over|upwards of|"
                     r"at least|as (?:many|few|much|little) as|up to|under|less than|fewer than)\s+[$£€¥]?$|~\s*$")
_MONTH_BEFORE = re.compile(rf"(?i)\b(?:{CALENDAR.replace(' ', '|')})\.?\s+$")
_SINCE_YEAR = re.compile(r"(?i)\b(?:since|from)\s+(?:early\s+|late\s+)?(?:1[6-9]|20)\d\d\b")
_AFTER_NAME = re.compile(r"(?i:\b(?:after|before|since|until|till)\s+)([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)")
_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|of|de|van|von|la))*(?:\s+[A-Z][\w'’-]*)?")
# Measured on a news-2025 sample (benchmarks/dated_eval.py): with 0.4 of the smaller sentence's terms
# and any differing names, 6 of 111 answers changed and most changes were wrong (a stray "Well, that's a
# well-trained turkey!" led a price answer). Now: at least 3 shared terms and half of the smaller
# sentence's; names count only when the sentences are three quarters the same; questions never lead.
SAME_SLOT = 0.5  # share of the smaller sentence's other content terms that the two sentences must share
SAME_SLOT_TERMS = 3  # and at least this many shared terms
SAME_SLOT_NAMES = 0.75  # different names (not figures) disagree only when the sentences share this much


@dataclass(frozen=True)
class _Segment:
    text: str
    number: int  # the citation it cites


def figures(sentence: str) -> set[str]:
    """The numbers of a sentence, normalised ("1,200" -> "1200"); dates are not figures: years (1600-2100 written
    without a comma) and days of a month ("May 16", "Sept. 9", reported on different days by nature)."""
    return set(units(sentence))


def units(sentence: str) -> dict[str, set[str]]:
    """Each figure of :func:`figures` -> what it counts: the currency sign before it, "%" after it, or the next two
    words of its clause that are not stop words, scales ("million") or numbers ("21 of the 80 people on board":
    "people", "board"), stemmed. An empty set when nothing follows: such a figure may count anything."""
    out: dict[str, set[str]] = {}
    for m in _NUMBER.finditer(sentence):
        raw = m.group()
        if _is_year(raw) or _MONTH_BEFORE.search(sentence, 0, m.start()):
            continue
        counted = out.setdefault(_value(raw), set())
        if m.start() and sentence[m.start() - 1] in "$£€¥":
            counted.add(sentence[m.start() - 1])
        after = sentence[m.end():]
        if after.startswith("%") or after.lower().startswith((" percent", " per cent")):
            counted.add("%")
            continue
        clause = _CLAUSE_END.split(after[:80], 1)[0]  # "$21.50, or 5% more": the comma ends what 21.50 counts
        counted.update([w for w in tokenize(clause) if w not in _SCALES and not w.isdigit()][:2])
    return out


def hedged(sentence: str) -> set[str]:
    """The figures of :func:`units` (normalised the same way) that a hedge makes approximate: "about 2,300"."""
    return {_value(m.group()) for m in _NUMBER.finditer(sentence) if _HEDGED.search(sentence, 0, m.start())}


def _value(raw: str) -> str:
    value = raw.replace(",", "")
    return value.rstrip("0").rstrip(".") if "." in value else value


def _rounds_to(exact: str, rounded: str) -> bool:
    """Whether ``exact`` is within a unit of ``rounded``'s last significant digit: 2337 of "about 2300" (a unit of
    100) and 0.47 of "about 0.5", not 2337 of "about 2500"."""
    if not float(rounded):
        return False
    whole, _, decimals = rounded.partition(".")
    unit = 10.0 ** -len(decimals) if decimals else 10.0 ** (len(whole) - len(whole.rstrip("0")))
    return abs(float(exact) - float(rounded)) <= unit


def _in_common(fa: set[str], fb: set[str], approx_a: set[str], approx_b: set[str]) -> bool:
    """A figure both sentences give, exactly or as one's approximation of the other's ("about 2,300" / "2,337")."""
    return bool(fa & fb) or any((b in approx_b and _rounds_to(a, b)) or (a in approx_a and _rounds_to(b, a))
                                for a in fa for b in fb)


def _comparable(a: list[set[str]], b: list[set[str]]) -> bool:
    """Whether some figure of ``a`` and some of ``b`` (their :func:`units`) count the same thing, or either may count
    anything."""
    return any(not ua or not ub or ua & ub for ua in a for ub in b)


def _is_year(raw: str) -> bool:
    return bool(re.fullmatch(r"\d{4}", raw)) and 1600 <= int(raw) <= 2100


def names(sentence: str) -> set[str]:
    """Capitalised word runs without the words a sentence capitalises anyway ("After Lincoln" is Lincoln) and
    without weekdays and months; the sentence's first word is not one when it stands alone."""
    out = set()
    first = len(sentence) - len(sentence.lstrip())
    for m in _NAME.finditer(sentence):
        words = m.group().split()
        while words and words[0].lower().rstrip(".,") in _NOT_NAME_WORDS:
            words = words[1:]
        if not words or (m.start() == first and len(words) == len(m.group().split()) == 1):
            continue
        out.add(" ".join(words))
    return out


def _context(sentence: str) -> set[str]:
    facts = " ".join(figures(sentence) | names(sentence))
    return content_terms(sentence) - content_terms(facts)


def overlap(a: str, b: str) -> float:
    """Share of the smaller sentence's content words (figures and names aside) the two share; 0 below 3 shared."""
    ca, cb = _context(a), _context(b)
    shared = len(ca & cb)
    return shared / min(len(ca), len(cb)) if shared >= SAME_SLOT_TERMS else 0.0


def disagree(a: str, b: str, question: str = "", known: str = "") -> bool:
    """Whether sentences ``a`` and ``b`` give different figures or names for the same thing.

    ``known`` is what the older report ``b`` said around it (its passage): a name of the newer ``a`` found there
    was no news when ``b`` was written ("Glendale" then, "Arizona" now, and that report named Arizona too)."""
    shared = overlap(a, b)
    if shared < SAME_SLOT or a.rstrip().endswith("?") or b.rstrip().endswith("?"):
        return False
    asked, lowered = figures(question), question.lower()
    ua, ub = units(a), units(b)
    fa, fb = set(ua) - asked, set(ub) - asked
    all_a, all_b = names(a) - _reference_points(a), names(b) - _reference_points(b)
    # a name of the other sentence, or the question's ("Grammy Award" is asked in "Grammy Awards"), is no difference,
    # nor is another form of one ("Treasury Department" / "U.S. Treasury", "Pope Leo XIV" / "Leo")
    na = {n for n in all_a if n not in b and n.lower() not in lowered and not _variant(n, all_b)}
    nb = {n for n in all_b if n not in a and n.lower() not in lowered and not _variant(n, all_a)}
    # figures: none in common (one shared value is agreement, the rest detail), and no names on both sides
    # (different figures for "Brazil" and for "Americans" are two subjects, not an update)
    # and of the same thing: "1,400 miles long" against "2,900 individual reefs" is two facts, not an update
    # and not one's rounding of the other: "about 2,300 steps" is "2,337 steps" as a headline reports it
    if (fa and fb and not _in_common(fa, fb, hedged(a), hedged(b)) and not (na and nb)
            and _comparable([ua[f] for f in fa], [ub[f] for f in fb])):
        return True
    # names: only when the sentences are nearly the same, and not when the question asks for a number
    news = {n for n in na if n not in known}
    return shared >= SAME_SLOT_NAMES and question_kind(question) != "number" and bool(news and nb)


def _reference_points(sentence: str) -> set[str]:
    """Names a sentence dates by rather than reports ("Presidents after Washington also issued …"): no value of its own."""
    return {m.group(1) for m in _AFTER_NAME.finditer(sentence)}


def history(sentence: str, published: str) -> bool:
    """Whether ``sentence`` dates what it says to a year at least two before its article's (``published``, ISO):
    "Abraham Lincoln made Thanksgiving a national holiday in 1863." Such a sentence says when itself; labelled
    "Earlier (<its article's date>)" it would be misdated, and a later article does not supersede it. "Since 2019"
    and "from 2019" speak of now."""
    years = [int(raw) for m in _NUMBER.finditer(sentence) if _is_year(raw := m.group())]
    return bool(years) and max(years) <= int(published[:4]) - 2 and not _SINCE_YEAR.search(sentence)


def _variant(name: str, others: set[str]) -> bool:
    """Whether ``name`` shares a word with one of ``others`` (a name's other form), "of" and the like aside."""
    words = {w for w in name.split() if w[:1].isupper()}
    return any(words & {w for w in o.split() if w[:1].isupper()} for o in others)


def lead_with_latest(answer: Answer, max_words: int | None = None) -> Answer:
    """The answer with the newest of disagreeing reports first and dated, the older ones marked as earlier.

    ``max_words`` keeps the answer within the word budget: sentences that take no part in the
    disagreement are dropped first, then the oldest reports. Returns ``answer`` itself when nothing
    disagrees, or when the newest sentence and its date alone would not fit.
    """
    if answer.abstained or answer.sentences or not answer.citations:
        return answer
    segments = _segments(answer.text)
    cites = {c.number: c for c in answer.citations}
    if not segments or any(s.number not in cites for s in segments):
        return answer
    dated = [s for s in segments if cites[s.number].published and not history(s.text, cites[s.number].published)]
    conflict: set[int] = set()
    for i, a in enumerate(dated):
        for b in dated[i + 1:]:
            if cites[a.number].published == cites[b.number].published:
                continue
            new, old = sorted((a, b), key=lambda s: cites[s.number].published or "", reverse=True)
            if disagree(new.text, old.text, answer.question, cites[old.number].passage):
                conflict |= {segments.index(a), segments.index(b)}
    if not conflict:
        newer = _newer_report(answer, segments, cites)
        if newer is None:
            return answer
        index, citation, sentence = newer
        cites[citation.number] = citation
        segments = [*segments, _Segment(sentence, citation.number)]
        conflict = {index, len(segments) - 1}
    involved = sorted((segments[i] for i in conflict), key=lambda s: cites[s.number].published or "", reverse=True)
    latest = cites[involved[0].number].published
    earlier = [(f"Earlier ({cites[s.number].published}): {s.text}", s.number) for s in involved[1:]
               if cites[s.number].published != latest]
    parts = [(f"As of {latest}: {involved[0].text}", involved[0].number), *earlier]
    parts += [(s.text, s.number) for s in involved[1:] if cites[s.number].published == latest]
    parts += [(s.text, s.number) for i, s in enumerate(segments) if i not in conflict]
    if max_words:
        while len(parts) > 1 and _words(parts) > max_words:
            parts.pop()
        if _words(parts) > max_words:  # the newest sentence alone fills the budget: its date would overrun it
            return answer
    dated = _renumber(answer, parts, cites)
    left_out = [cites[n] for text, n in earlier if (text, n) not in parts]
    if not left_out:
        return dated
    # the newest report is not the only one: say where the others are, without the words it would take to quote them
    reports = "; ".join(f"{c.published}, “{c.title or 'Untitled'}”" for c in left_out)
    said = "An earlier report differs" if len(left_out) == 1 else "Earlier reports differ"
    return replace(dated, notes=(*dated.notes, f"{said} but did not fit in the answer: {reports}."))


def window_note(answer: Answer) -> Answer:
    """The answer with a note when the question named a period and no cited article is from it.

    The window is a prior, not a filter, so an answer may come from older reporting; it says "Searched news from
    February 2025", and without the note a reader takes the quotes for that month's news.
    """
    if not answer.window or answer.abstained or not answer.citations:
        return answer
    first, last = (date.fromisoformat(d) for d in answer.window)
    dated = [period(c.published) for c in answer.citations if c.published]
    if any(start <= last and end >= first for start, end in dated):
        return answer
    if not dated:
        where = "are undated"
    elif len(dated) < len(answer.citations):
        where = "are undated or from outside it"
    else:
        where = "were published outside it"
    note = f"No article from {spell(first, last)} answered this question: the cited articles {where}."
    return replace(answer, notes=(*answer.notes, note))


def _words(parts: list[tuple[str, int]]) -> int:
    """Words as the answer budget counts them (white-space split), a ``[n]`` marker each."""
    return sum(len(t.split()) + 1 for t, _ in parts)


def _newer_report(answer: Answer, segments: list[_Segment], cites: dict[int, Citation]) -> tuple[int, Citation, str] | None:
    """A sentence of a retrieved, uncited passage from a later article that disagrees with a cited sentence.

    The answerer picks sentences by how well they match the question, so a stale report with more
    words in common can be the only one cited while a later one was retrieved too. Returns the
    cited segment's index, a citation of the later passage (its sentence quoted), and that sentence;
    the newest such article wins, then the best-ranked passage.
    """
    cited = {c.article_id for c in cites.values()}
    asked = content_terms(answer.question)
    found: list[tuple[str, int, int, Citation, str]] = []
    for rank, p in enumerate(answer.passages):
        if p.article_id in cited or not p.published:
            continue
        for i, seg in enumerate(segments):
            when = cites[seg.number].published
            if not when or p.published <= when or history(seg.text, when):
                continue
            for start, end in answer_spans(p.text):
                sentence = " ".join(p.text[start:end].split())
                if (len(asked & content_terms(sentence)) >= 2 and not history(sentence, p.published)
                        and disagree(sentence, seg.text, answer.question, cites[seg.number].passage)):
                    citation = Citation(number=max(cites) + 1, article_id=p.article_id, title=p.title, source=p.source,
                                        published=p.published, chunk_id=p.chunk_id, start=p.start, end=p.end,
                                        passage=p.text, quotes=((start, end),))
                    found.append((p.published, -rank, i, citation, sentence))
                    break
    if not found:
        return None
    _, _, index, citation, sentence = max(found, key=lambda f: (f[0], f[1]))
    return index, citation, sentence


def _segments(text: str) -> list[_Segment]:
    return [_Segment(sentence, n) for sentence, n in quotes_of(text)]


def _renumber(answer: Answer, parts: list[tuple[str, int]], cites: dict[int, Citation]) -> Answer:
    """Citations numbered by first use in the new order; those no longer cited dropped."""
    new: dict[int, int] = {}
    for _, n in parts:
        new.setdefault(n, len(new) + 1)
    text = " ".join(f"{t} [{new[n]}]" for t, n in parts)
    citations = tuple(replace(cites[old], number=n) for old, n in sorted(new.items(), key=lambda kv: kv[1]))
    return replace(answer, text=text, citations=citations)
