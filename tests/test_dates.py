"""Publication dates: strict parsing at the date's real precision, from every kind of file, with warnings."""

import json
from datetime import date

import pytest

from rag.dates import DateProblem, parse_date, parse_period, period, spell
from rag.loaders import load_file, load_paths

TODAY = date(2026, 1, 9)


@pytest.mark.parametrize("value, expected", [
    ("2024", "2024"),
    (2019, "2019"),
    ("2024-03", "2024-03"),
    ("March 2024", "2024-03"),
    ("2024-03-05", "2024-03-05"),
    ("2024-03-05T23:10:00+01:00", "2024-03-05"),
    ("Tue, 05 Mar 2024 10:00:00 GMT", "2024-03-05"),
    ("5 March 2024", "2024-03-05"),
    ("March 5, 2024", "2024-03-05"),
    ("13/06/2021", "2021-06-13"),  # day-first: 13 is no month
    ("06/13/2021", "2021-06-13"),  # month-first: 13 is no month
    ("2024/03/05", "2024-03-05"),
    (date(2020, 1, 2), "2020-01-02"),
])
def test_dates_keep_their_real_precision(value, expected):
    assert parse_date(value, TODAY) == expected


@pytest.mark.parametrize("value, reason, kept", [
    ("05/06/2021", "ambiguous (day-first or month-first?)", None),
    ("2026-02-30", "does not exist; kept as 2026-02", "2026-02"),
    ("Updated 3 hours ago", "relative to when the page was read", None),
    ("yesterday", "relative to when the page was read", None),
    ("2026-03-01", "in the future (today is 2026-01-09)", None),
    ("soon-ish", "not in a known date format", None),
])
def test_untrustworthy_dates_are_refused_with_a_reason(value, reason, kept):
    with pytest.raises(DateProblem) as info:
        parse_date(value, TODAY)
    assert reason in info.value.args[0]
    assert (info.value.args[1] if len(info.value.args) > 1 else None) == kept


def test_periods_mean_the_whole_year_month_or_day():
    assert period("2024") == (date(2024, 1, 1), date(2024, 12, 31))
    assert period("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert parse_period("2024-03-05") == (date(2024, 3, 5), date(2024, 3, 5))
    for bad in ("2024-13", "24", "March", "2024-02-30"):
        with pytest.raises(ValueError):
            parse_period(bad)
    assert spell(date(2026, 1, 3), date(2026, 1, 9)) == "3–9 Jan 2026"
    assert spell(date(2025, 12, 27), date(2026, 1, 2)) == "27 Dec 2025 – 2 Jan 2026"


def test_html_date_comes_from_article_published_time_not_from_the_text(tmp_path):
    body = ("<article><h1>Harbour reopens</h1><p>The harbour reopened on Tuesday after repairs that began on "
            "January 3, 2020. The mayor said ferries will run every hour, and fishing boats will return next week.</p>"
            "<p>Repairs cost more than planned because the sea wall had to be rebuilt twice after storms.</p></article>")
    dated, undated = tmp_path / "dated.html", tmp_path / "undated.html"
    dated.write_text('<html><head><title>Harbour reopens</title><meta property="article:published_time" '
                     f'content="2024-03-05T10:00:00Z"></head><body>{body}</body></html>')
    undated.write_text(f"<html><head><title>Harbour reopens</title></head><body>{body}</body></html>")
    (a,) = load_file(dated)
    assert a.article.published == "2024-03-05" and a.warning is None
    (b,) = load_file(undated)
    assert b.article.published is None  # never today's date, never a date guessed from the text


def test_jsonl_with_mixed_date_formats(tmp_path):
    f = tmp_path / "mixed.jsonl"
    rows = [
        {"title": "ISO", "text": "Story one.", "published": "2021-03-05"},
        {"title": "Ambiguous", "text": "Story two.", "date": "05/06/2021"},
        {"title": "Year only", "text": "Story three.", "published": "2019"},
        {"title": "Impossible", "text": "Story four.", "published": "2025-02-30"},
        {"title": "RSS", "text": "Story five.", "pubDate": "Tue, 05 Mar 2024 10:00:00 GMT"},
        {"title": "Schema.org", "text": "Story six.", "datePublished": "March 5, 2024"},
        {"title": "Relative", "text": "Story seven.", "published": "yesterday"},
        {"title": "Future", "text": "Story eight.", "published": "2999-01-01"},
        {"title": "None", "text": "Story nine."},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows))
    items = list(load_file(f))
    by_title = {i.article.title: i for i in items}
    assert {t: i.article.published for t, i in by_title.items()} == {
        "ISO": "2021-03-05", "Ambiguous": None, "Year only": "2019", "Impossible": "2025-02", "RSS": "2024-03-05",
        "Schema.org": "2024-03-05", "Relative": None, "Future": None, "None": None}
    warned = {t: i.warning for t, i in by_title.items() if i.warning}
    assert set(warned) == {"Ambiguous", "Impossible", "Relative", "Future"}
    assert warned["Ambiguous"].path == f"{f}:2" and "ambiguous" in warned["Ambiguous"].reason
    assert warned["Impossible"].path == f"{f}:4" and "kept as 2025-02" in warned["Impossible"].reason


def test_front_matter_dates(tmp_path):
    f = tmp_path / "a.md"
    f.write_text("---\ntitle: Council vote\ndate: 2024-03\n---\nThe council voted on the budget.\n")
    (item,) = load_file(f)
    assert item.article.published == "2024-03"
    g = tmp_path / "b.md"
    g.write_text("---\ntitle: Council vote\npublished: 2024-03-05\n---\nThe council voted on the budget.\n")
    (item,) = load_file(g)
    assert item.article.published == "2024-03-05"  # YAML reads it as a date object


def test_archive_limit_applies_per_article(tmp_path):
    """A JSONL archive over RAG_MAX_FILE_MB is indexed record by record; a record over it is skipped, named."""
    f = tmp_path / "archive.jsonl"
    small = [{"id": f"a{i}", "title": f"Story {i}", "text": "The council met again. " * 20} for i in range(20)]
    big = {"id": "huge", "title": "Huge", "text": "word " * 2000}
    f.write_text("\n".join(json.dumps(r) for r in [*small[:10], big, *small[10:]]))
    assert f.stat().st_size > 5000
    items = list(load_paths([f], max_bytes=5000, max_archive_bytes=1_000_000))
    assert len([i for i in items if i.article]) == 20
    (problem,) = [i.problem for i in items if i.problem]
    assert problem.path == f"{f}:11" and "over the 0.0 MB limit (set RAG_MAX_FILE_MB" in problem.reason
    (too_big,) = load_paths([f], max_bytes=5000, max_archive_bytes=10_000)
    assert "RAG_MAX_ARCHIVE_MB" in too_big.problem.reason
    (txt,) = load_paths([_write(tmp_path / "big.txt", "word " * 2000)], max_bytes=5000, max_archive_bytes=1_000_000)
    assert "RAG_MAX_FILE_MB" in txt.problem.reason  # the archive cap is for JSON/JSONL only


def _write(path, text):
    path.write_text(text)
    return path
