"""Follow-up questions made standalone before retrieval: by the chat model, or by a rule when there is none.

"How many troops does it have?" retrieves nothing useful on its own; the search must carry what
"it" referred to in the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .terms import content_terms

_PRONOUN = re.compile(r"\b(it|its|he|him|his|she|her|hers|they|them|their|theirs|this|that|these|those)\b", re.I)
_TOKEN = re.compile(r"[A-Za-z0-9][\w'’.&-]*")
_QUESTION_WORDS = {"who", "what", "when", "where", "why", "how", "which", "whose", "whom", "is", "are", "was", "were",
                   "do", "does", "did", "can", "could", "will", "would", "should", "has", "have", "had", "tell", "and",
                   "but", "so", "please", "give", "list", "name", "describe", "explain", "the", "a", "an", "in", "on"}
_JOINERS = {"of", "for", "de", "van", "von", "al", "bin"}
_MAX_PHRASES = 3
_MAX_TERMS = 6


def is_follow_up(question: str) -> bool:
    """A question with a pronoun (it, he, she, they, this, that...) leans on the conversation."""
    return bool(_PRONOUN.search(question))


def user_questions(history: Sequence[tuple[str, str]]) -> list[str]:
    return [text for role, text in history if role.lower() in ("user", "human") and text.strip()]


def key_phrases(question: str) -> list[str]:
    """Names in a question: runs of capitalised words or acronyms ("NATO Secretary General", "Jens Stoltenberg")."""
    tokens = _TOKEN.findall(question)
    phrases: list[list[str]] = []
    run: list[str] = []
    for i, tok in enumerate(tokens):
        word = tok if "." in tok[:-1] else tok.rstrip(".")  # keep "U.S.", drop a sentence's full stop
        proper = word[:1].isupper() and not (i == 0 and word.lower() in _QUESTION_WORDS) and word.lower() != "i"
        if proper:
            run.append(word)
        elif run and word.lower() in _JOINERS and i + 1 < len(tokens) and tokens[i + 1][:1].isupper():
            run.append(word)
        else:
            if run:
                phrases.append(run)
            run = []
    if run:
        phrases.append(run)
    out: list[str] = []
    for p in phrases:
        while p and p[-1].lower() in _JOINERS:
            p.pop()
        text = " ".join(p)
        if text and text.lower() not in (o.lower() for o in out):
            out.append(text)
    return out


def rule_based(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Add the previous question's names (or, lacking names, its key terms) to a follow-up that needs them.

    Each earlier user turn is made standalone in order, so context carries across several follow-ups.
    """
    standalone = ""
    for q in user_questions(history):
        standalone = _rewrite(q, standalone)
    return _rewrite(question, standalone)


def _rewrite(question: str, previous: str) -> str:
    if not previous or not is_follow_up(question):
        return question
    lowered = question.lower()
    context = [p for p in key_phrases(previous) if p.lower() not in lowered][:_MAX_PHRASES]
    if not context:
        have = content_terms(question)
        context = [t for t in sorted(content_terms(strip_context(previous)) - have) if not _PRONOUN.fullmatch(t)][:_MAX_TERMS]
    if not context:
        return question
    return f"{strip_context(question)} (context: {', '.join(context)})"


def strip_context(text: str) -> str:
    return re.sub(r"\s*\(context: [^)]*\)$", "", text)


CONDENSE_SYSTEM = (
    "You rewrite follow-up questions. Given a conversation and a follow-up question, write one standalone question "
    "that asks the same thing and can be understood without the conversation: replace pronouns such as it, he, she, "
    "they, this and that with what they refer to. Do not answer the question. Reply with the question only."
)
_MAX_TURN_CHARS = 600
_MAX_TURNS = 6


def condense_messages(question: str, history: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The chat messages asking a model for the standalone question (the last few turns, each shortened)."""
    lines = []
    for role, text in list(history)[-_MAX_TURNS:]:
        who = "User" if role.lower() in ("user", "human") else "Assistant"
        text = " ".join(text.split())
        lines.append(f"{who}: {text[:_MAX_TURN_CHARS]}")
    convo = "\n".join(lines)
    return [("system", CONDENSE_SYSTEM),
            ("human", f"Conversation:\n{convo}\n\nFollow-up question: {question}\n\nStandalone question:")]


def parse_condensed(reply: str, max_chars: int) -> str:
    """The question in a model's reply; ``ValueError`` when there is none usable."""
    for line in reply.splitlines():
        line = re.sub(r"^\s*(standalone question|question)\s*:\s*", "", line.strip(), flags=re.I).strip().strip('"“”\'')
        if line:
            if len(line) > max_chars:
                raise ValueError(f"the rewritten question is {len(line)} characters long")
            return line
    raise ValueError("the model returned no question")
