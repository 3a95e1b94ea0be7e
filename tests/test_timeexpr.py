"""Time in a question, resolved against the day it is asked."""

from datetime import date

import pytest

from rag.timeexpr import content_question, resolve

AS_OF = date(2026, 1, 9)  # a Friday


@pytest.mark.parametrize("question, window, recency, relative", [
    ("What happened today?", ("2026-01-09", "2026-01-09"), False, True),
    ("Who resigned yesterday?", ("2026-01-08", "2026-01-09"), False, True),  # reported that day and today
    ("Which company announced layoffs this week?", ("2026-01-03", "2026-01-09"), False, True),
    ("What did the court rule last week?", ("2025-12-29", "2026-01-04"), False, True),  # Monday to Sunday
    ("Who won the final last weekend?", ("2026-01-03", "2026-01-04"), False, True),
    ("What rose this month?", ("2026-01-01", "2026-01-09"), False, True),
    ("Who won the vote in March?", ("2025-03-01", "2025-03-31"), False, True),
    ("Who won the vote in March 2024?", ("2024-03-01", "2024-03-31"), False, False),
    ("What was the inflation rate last year?", ("2025-01-01", "2025-12-31"), False, True),
    ("How many storms so far this year?", ("2026-01-01", "2026-01-09"), True, True),
    ("Which bank recently cut rates?", ("2025-12-11", "2026-01-09"), True, True),
    ("What did the minister say two weeks ago?", ("2025-12-23", "2025-12-29"), False, True),
    ("What did the Senate pass on Wednesday?", ("2026-01-07", "2026-01-09"), False, True),
    ("What is the latest death toll?", None, True, True),
    ("Is he still the chief executive?", None, True, True),
    ("Who is the current prime minister?", None, True, True),
    ("What happened in 2019?", ("2019-01-01", "2019-12-31"), False, False),
    ("What is the capital of France?", None, False, False),
])
def test_expressions_resolve_to_windows(question, window, recency, relative):
    scope = resolve(question, AS_OF)
    got = (scope.window[0].isoformat(), scope.window[1].isoformat()) if scope.window else None
    assert (got, scope.recency, scope.relative) == (window, recency, relative)


@pytest.mark.parametrize("as_of, last_week, last_weekend", [
    ("2025-04-17", ("2025-04-07", "2025-04-13"), ("2025-04-12", "2025-04-13")),  # a Thursday: the Masters ended Sunday
    ("2025-04-14", ("2025-04-07", "2025-04-13"), ("2025-04-12", "2025-04-13")),  # a Monday
    ("2025-04-13", ("2025-03-31", "2025-04-06"), ("2025-04-05", "2025-04-06")),  # a Sunday: this weekend is today
    ("2025-04-12", ("2025-03-31", "2025-04-06"), ("2025-04-05", "2025-04-06")),  # a Saturday
])
def test_last_week_and_last_weekend_are_the_calendar_ones(as_of, last_week, last_weekend):
    day = date.fromisoformat(as_of)
    for question, window in (("What did the court rule last week?", last_week),
                             ("Which golfer completed the career grand slam last weekend?", last_weekend)):
        scope = resolve(question, day)
        assert (scope.window[0].isoformat(), scope.window[1].isoformat()) == window, question


THURSDAY = date(2025, 4, 17)


@pytest.mark.parametrize("question, window, relative", [
    ("Which golfer won over the weekend?", ("2025-04-12", "2025-04-13"), True),
    ("Who won this past weekend?", ("2025-04-12", "2025-04-13"), True),
    ("What did the president say last night?", ("2025-04-16", "2025-04-17"), True),
    ("What happened in the past few days?", ("2025-04-13", "2025-04-17"), True),
    ("What did the Fed announce last Thursday?", ("2025-04-10", "2025-04-12"), True),  # not today: a week ago
    ("What did the Fed announce on Thursday?", ("2025-04-17", "2025-04-17"), True),
    ("What did the minister say on April 10?", ("2025-04-10", "2025-04-12"), True),
    ("What did the minister say on 10 April?", ("2025-04-10", "2025-04-12"), True),
    ("What did the minister say on April 10, 2024?", ("2024-04-10", "2024-04-12"), False),
    ("What happened on May 20?", ("2024-05-20", "2024-05-22"), True),  # this year's is a month away: last year's
    ("What is planned for May 2?", None, False),  # two weeks away: a plan, so no window
    ("Which players may 2 teams sign?", None, False),  # "may", the verb
    ("Which party leads the polls ahead of the election on Sunday?", None, True),  # the coming Sunday: no news yet
    ("Which phrase will the NFL remove for the Super Bowl on Sunday?", None, True),
    ("Which company said on Monday it will cut 5,000 jobs?", ("2025-04-14", "2025-04-16"), True),  # said: it was Monday
    ("Who was chosen as the next pope on Thursday?", ("2025-04-17", "2025-04-17"), True),
    ("Which team won the final on Sunday?", ("2025-04-13", "2025-04-15"), True),
    ("Which film will top the box office this weekend?", None, True),  # the coming weekend
    ("Which film topped the box office this weekend?", ("2025-04-11", "2025-04-17"), True),
    ("Who decided against running for governor in 2026?", None, False),  # a year still to come: no news from it
    ("Who won the vote in 2025?", ("2025-01-01", "2025-12-31"), False),  # this year so far
    ("On July 4, 1776, the Congress adopted what?", None, False),
    ("How many storms since March?", ("2025-03-01", "2025-04-17"), True),
    ("How many storms since March 3?", ("2025-03-03", "2025-04-17"), True),
    ("How many storms since 3 March 2024?", ("2024-03-03", "2025-04-17"), True),
    ("How many storms since June?", ("2024-06-01", "2025-04-17"), True),
])
def test_weekends_nights_days_and_dates_a_question_names(question, window, relative):
    scope = resolve(question, THURSDAY)
    got = (scope.window[0].isoformat(), scope.window[1].isoformat()) if scope.window else None
    assert (got, scope.relative, scope.note) == (window, relative, None)


def test_time_words_are_left_out_of_the_matched_text():
    assert content_question("Which golfer won the Masters over the weekend?") == "Which golfer won the Masters?"
    assert content_question("What did the president say last night?") == "What did the president say?"


def test_conflicting_expressions_still_resolve_and_say_which_window():
    scope = resolve("What happened last week in 2019?", AS_OF)
    assert scope.window == (date(2019, 1, 1), date(2019, 12, 31))
    assert "do not overlap" in scope.note and "searched 2019" in scope.note


def test_describe_says_what_was_searched():
    assert resolve("Which company announced layoffs this week?", AS_OF).describe() == "news from 3–9 Jan 2026"
    assert resolve("Who is the mayor?", AS_OF).describe() == "news up to 9 Jan 2026"
    assert resolve("What is the latest figure?", AS_OF).describe() == "news up to 9 Jan 2026, newest first"
