"""The moment a question is asked: the sidebar's "As of" day and the period an answer searched."""

from __future__ import annotations

from datetime import date

import streamlit as st

from rag import Answer
from rag.terminal import searched_line


def as_of_input() -> date:
    """The day questions are asked as of (today unless changed): articles published later are not used."""
    picked = st.date_input("As of", value=date.today(), key="as_of", format="YYYY-MM-DD", max_value=date.today(),
                           help="Questions are answered as of this day: later articles are not used, and "
                           "\"this week\" or \"latest\" mean as of then.")
    return picked if isinstance(picked, date) else date.today()


def searched_caption(answer: Answer) -> None:
    """Say what was searched, worded by :func:`rag.terminal.searched_line`."""
    if line := searched_line(answer.searched, answer.as_of, answer.window):
        st.caption(f":material/event: {line}")
