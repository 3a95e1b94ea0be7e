"""The typed records that cross module boundaries: articles, chunks, passages, answers, reports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One article as loaded from a file or record: the unit of ingestion and of citation."""

    id: str
    title: str
    text: str
    source: str
    published: str | None = None  # ISO date, YYYY-MM-DD
    author: str | None = None
    content_hash: str = ""
    origin: str | None = None  # the file it was loaded from, for --prune


@dataclass(frozen=True)
class Chunk:
    """A span of an article, sized for the embedding model; ``start``/``end`` index ``Article.text``."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the article fields a citation needs."""

    chunk_id: str
    article_id: str
    title: str
    source: str
    published: str | None
    text: str
    start: int
    end: int
    score: float = 0.0  # fused rank score
    similarity: float = 0.0  # cosine similarity of the passage's embedding to the question's


@dataclass(frozen=True)
class Report:
    """Another article of a citation's group of copies (the same story on another outlet, or another version)."""

    article_id: str
    title: str
    source: str
    published: str | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered reference from an answer to the exact passage (and sentences) it used."""

    number: int
    article_id: str
    title: str
    source: str
    published: str | None
    chunk_id: str
    start: int  # character span of the passage in the article
    end: int
    passage: str
    quotes: tuple[tuple[int, int], ...] = ()  # spans of the cited sentences, relative to ``passage``
    also_reported_by: tuple[Report, ...] = ()  # the other articles of this article's group (rag.groups), newest first


@dataclass(frozen=True)
class SentenceCheck:
    """How one sentence of a generated answer fared against the passages it cites.

    ``start``/``end`` index ``Answer.text``; ``cited`` holds citation numbers; ``score`` mixes word
    overlap and embedding similarity (0..1); ``reason`` says why a sentence is not supported.
    """

    text: str
    cited: tuple[int, ...]
    supported: bool
    score: float
    start: int = 0
    end: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Answer:
    """The chain's result: answer text with ``[n]`` markers and the citations they point to."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    passages: tuple[Passage, ...] = ()
    notes: tuple[str, ...] = ()
    standalone_question: str | None = None
    sentences: tuple[SentenceCheck, ...] = ()  # generated answers only: the citation check of each sentence
    as_of: str | None = None  # the day the question was asked as of (YYYY-MM-DD): later articles were not used
    window: tuple[str, str] | None = None  # the period the question names, resolved against as_of (first, last day)
    searched: str | None = None  # what was searched, for people: "news from 3–9 Jan 2026"

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


@dataclass(frozen=True)
class ArticleInfo:
    """What the store knows of an indexed article."""

    id: str
    title: str
    source: str
    published: str | None
    chunks: int
    content_hash: str
    origin: str | None = None


@dataclass(frozen=True)
class FileProblem:
    """A file (or record) that was not indexed, or was indexed with a caveat, and why."""

    path: str
    reason: str


@dataclass
class IngestReport:
    """Summary of one ingest run."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[FileProblem] = field(default_factory=list)
    warnings: list[FileProblem] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)
