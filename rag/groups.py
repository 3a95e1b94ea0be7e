"""Syndicated copies: near-duplicate articles (a wire story on several outlets, an updated version) grouped.

At ingest each article gets a MinHash signature of its word shingles (datasketch) and joins the group
of the most similar indexed article whose estimated Jaccard similarity reaches the threshold, or
starts a group of its own. The signature and the group label are fields of the article's record in
the store (``minhash``, ``group``), written with it at its commit point: a re-ingest reads them back
instead of re-reading every text, and a removed article takes its signature with it. A group label
is opaque (its founder's id and version); the group is the set of records carrying it, so removing a
member leaves the others grouped as they were.

Retrieval keeps one article per group in the top k (:func:`diversify`), and a citation lists the
group's other articles (:func:`annotate`).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .schema import Answer, Passage, Report

log = logging.getLogger(__name__)

# Measured on the BBC corpus (benchmarks/groups.py, 2,128 articles): 5-word shingles at Jaccard 0.5 form
# 70 groups of 2: 28 of the 31 same-headline pairs and 42 retitled versions of one story (read by hand,
# the least similar at 0.62 included), no distinct stories; 0.3 also merged "Beatles suits sell for
# $110,000" with "Early Elvis recordings go on sale". The 3 pairs missed are short reports later expanded
# to 2-3 times their length (Jaccard 0.28-0.35).
SHINGLE_WORDS = 5
NUM_PERM = 128
SCHEME = "affine32"  # datasketch 2's default: uint32 values; spelled out because stored signatures depend on it
GROUP_KEY = "group"
MINHASH_KEY = "minhash"
_SIG_PREFIX = f"w{SHINGLE_WORDS}p{NUM_PERM}{SCHEME}crc:"  # a signature made with other parameters is not comparable
_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """The distinct runs of ``size`` consecutive words (lower case) of ``text``; a shorter text is one shingle."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def _crc32(data: bytes) -> int:
    # stable across processes (Python's hash() is salted) and ~10x faster than datasketch's default sha1
    return zlib.crc32(data)


def signature(title: str, text: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` uint32 values) of an article's title and text (``size``-word shingles)."""
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, hashfunc=_crc32, scheme=SCHEME)
    m.update_batch(list(shingles(f"{title}\n{text}", size)))
    return np.asarray(m.hashvalues, dtype=np.uint32)


def pack_signature(sig: np.ndarray) -> str:
    """A signature as a short string for the record's metadata (684 characters)."""
    return _SIG_PREFIX + base64.b64encode(sig.astype("<u4").tobytes()).decode("ascii")


def unpack_signature(value: object) -> np.ndarray | None:
    """The signature stored by :func:`pack_signature`, or None for a missing one or one made with other parameters."""
    if not isinstance(value, str) or not value.startswith(_SIG_PREFIX):
        return None
    try:
        sig = np.frombuffer(base64.b64decode(value[len(_SIG_PREFIX):]), dtype="<u4")
    except ValueError:
        return None
    return sig if sig.size == NUM_PERM else None


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures' shingle sets."""
    return float(np.mean(a == b))


class Grouper:
    """Assigns groups to new articles, against what is indexed and what this ingest assigned before.

    Not thread-safe: an ingest uses it from its one writer thread, in article order.
    """

    def __init__(self, records: Mapping[str, Mapping], threshold: float) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM) if threshold < 1 else None
        self._sigs: dict[str, np.ndarray] = {}
        self._groups: dict[str, str] = {}
        for rid, meta in records.items():
            sig = unpack_signature(meta.get(MINHASH_KEY))
            if sig is not None and meta.get(GROUP_KEY):
                self._add(rid, sig, str(meta[GROUP_KEY]))

    def _add(self, article_id: str, sig: np.ndarray, group: str) -> None:
        if article_id in self._sigs and self._lsh is not None:
            self._lsh.remove(article_id)
        self._sigs[article_id], self._groups[article_id] = sig, group
        if self._lsh is not None:
            from datasketch import LeanMinHash

            self._lsh.insert(article_id, LeanMinHash(seed=1, hashvalues=sig, scheme=SCHEME))

    def assign(self, article_id: str, version: str, sig: np.ndarray) -> str:
        """The group of ``article_id`` (new or changed, at ``version``): the most similar article's, or its own."""
        group = f"{article_id}@{version}"
        if self._lsh is not None:
            from datasketch import LeanMinHash

            found = [(similarity(sig, self._sigs[c]), c) for c in
                     self._lsh.query(LeanMinHash(seed=1, hashvalues=sig, scheme=SCHEME)) if c != article_id]
            best = max(found, default=(0.0, ""))
            if best[0] >= self.threshold:
                group = self._groups[best[1]]
        self._add(article_id, sig, group)
        return group


@dataclass(frozen=True)
class GroupIndex:
    """Who is in which group, read from the article records of one store revision."""

    revision: str = ""
    group_of: dict[str, str] = field(default_factory=dict)  # article id -> group label (articles without: none)
    members: dict[str, tuple[Report, ...]] = field(default_factory=dict)  # group label -> its articles, newest first

    @classmethod
    def from_records(cls, records: Mapping[str, Mapping], revision: str = "") -> GroupIndex:
        group_of: dict[str, str] = {}
        members: dict[str, list[Report]] = {}
        for rid, meta in records.items():
            label = meta.get(GROUP_KEY)
            if not label:
                continue
            group_of[rid] = str(label)
            members.setdefault(str(label), []).append(Report(rid, meta.get("title", ""), meta.get("source", ""),
                                                             meta.get("published")))
        return cls(revision, group_of, {g: _newest_first(m) for g, m in members.items()})

    def others(self, article_id: str) -> tuple[Report, ...]:
        """The other articles of ``article_id``'s group (newest first)."""
        group = self.group_of.get(article_id)
        return tuple(r for r in self.members.get(group, ()) if r.article_id != article_id) if group else ()


def _newest_first(reports: list[Report]) -> tuple[Report, ...]:
    """Newest first, undated last; by source and id within a day (two stable sorts)."""
    by_name = sorted(reports, key=lambda r: (r.source, r.article_id))
    return tuple(sorted(by_name, key=lambda r: r.published or "", reverse=True))


class GroupCache:
    """The current :class:`GroupIndex` of a store; re-read only when the store's revision changes."""

    def __init__(self, store) -> None:
        self.store = store
        self._index = GroupIndex(revision="\0")
        self._lock = threading.Lock()

    def get(self, revision: str | None = None) -> GroupIndex:
        """The index at ``revision`` (the store's current one when not given: one more read of its stamp)."""
        revision = self.store.revision() if revision is None else revision
        if self._index.revision != revision:
            with self._lock:
                if self._index.revision != revision:
                    self._index = GroupIndex.from_records(self.store.all_records(), revision)
        return self._index


def diversify(passages: Sequence[Passage], group_of: Callable[[str], str | None] | Mapping[str, str],
              k: int) -> list[Passage]:
    """The top ``k`` passages with at most one article per group of copies.

    ``passages`` are ranked best first; ``group_of`` maps an article id to its group (None or absent:
    the article is its own group). A group's place in the ranking is its best passage's, and it is
    filled by its most recently published article there (an updated story supersedes the earlier
    version; copies on one day keep the best-ranked one), with that article's best passage. Several
    passages of that one article may still follow: they are parts of one story, not copies.
    """
    lookup = group_of.get if isinstance(group_of, Mapping) else group_of
    best: dict[str, Passage] = {}  # article -> its best passage
    for p in passages:
        best.setdefault(p.article_id, p)
    chosen: dict[str, str] = {}  # group -> the article that represents it
    for article_id, p in best.items():
        g = lookup(article_id) or article_id
        current = chosen.get(g)
        if current is None or (p.published or "") > (best[current].published or ""):
            chosen[g] = article_id
    out: list[Passage] = []
    placed: set[str] = set()
    for p in passages:
        g = lookup(p.article_id) or p.article_id
        if g not in placed:  # the group's first (best) slot: its representative's best passage
            placed.add(g)
            out.append(best[chosen[g]])
        elif p.article_id == chosen[g] and p.chunk_id != best[p.article_id].chunk_id:
            out.append(p)
        if len(out) >= k:
            break
    return out


def annotate(answer: Answer, index: GroupIndex) -> Answer:
    """The answer with each citation listing the other articles of its article's group."""
    if not answer.citations or not index.group_of:
        return answer
    return replace(answer, citations=tuple(replace(c, also_reported_by=index.others(c.article_id))
                                           for c in answer.citations))
