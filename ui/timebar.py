"""The moment a question is asked: the sidebar's "As of" day and the period an answer searched."""

from __future__ import annotations

from datetime import date

import streamlit as st

from rag import Answer


def as_of_input() -> date:
    """The day questions are asked as of (today unless changed): articles published later are not used."""
    picked = st.date_input("As of", value=date.today(), key="as_of", format="YYYY-MM-DD", max_value=date.today(),
                           help="Questions are answered as of this day: later articles are not used, and "
                           "\"this week\" or \"latest\" mean as of then.")
    return picked if isinstance(picked, date) else date.today()


def searched_caption(answer: Answer) -> None:
    """Say what was searched: "Searched news from 3–9 Jan 2026 (as of 2026-01-09)"."""
    if answer.searched:
        st.caption(f":material/event: Searched {answer.searched} (as of {answer.as_of}).")
