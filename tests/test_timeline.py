"""Timelines (rag.timeline): the articles on a subject by date, each with its most relevant sentence, copies once."""

from __future__ import annotations

import shutil

import pytest

from rag import Filters
from rag.timeline import timeline

from .conftest import BBC

BRIDGE = {
    "plan.md": ("2023-06-01", "https://a.test/plan", "City plans a harbour bridge",
                "The city council unveiled plans for a harbour bridge linking the old port to the new town. "
                "The bridge would carry cars, bicycles and a tram line across the harbour."),
    "cost.md": ("2025-09-18", "https://b.test/cost", "Harbour bridge budget rises",
                "The harbour bridge will now cost 530 million pounds, the council said, after engineers found soft "
                "ground under the southern pier of the bridge."),
    "start.md": ("2024-03-05", "https://c.test/start", "Work starts on harbour bridge",
                 "Construction of the harbour bridge began on Tuesday with the first pile driven into the seabed. "
                 "The council expects the bridge to open to traffic in two years."),
    "letter.md": (None, "https://d.test/letter", "Letters on the harbour bridge",
                  "A reader writes that the harbour bridge will spoil the view of the old lighthouse from the beach, "
                  "and asks the council to paint the bridge green."),
}
# the 2024 report as carried by another outlet, one sentence longer: a copy, shown once
COPY = ("2024-03-05", "https://e.test/wire", "Work starts on harbour bridge",
        BRIDGE["start.md"][3] + " Residents gathered on the quay to watch.")


def write(folder, name, published, source, title, text):
    date = f"published: {published}\n" if published else ""
    (folder / name).write_text(f"---\ntitle: {title}\n{date}source: {source}\n---\n{text}\n")


def write_bridge(folder):
    """The bridge articles and the copy as front-matter files in ``folder`` (made)."""
    folder.mkdir()
    for name, fields in BRIDGE.items():
        write(folder, name, *fields)
    write(folder, "wire.md", *COPY)
    return folder


@pytest.fixture
def bridge_dir(tmp_path):
    d = write_bridge(tmp_path / "news")
    shutil.copy(BBC / "business" / "001.txt", d / "bbc-business-001.txt")  # another subject
    return d


def test_timeline_orders_by_date_undated_last_and_shows_copies_once(library, bridge_dir):
    library.ingest([bridge_dir])
    t = timeline(library, "the harbour bridge")
    assert [e.published for e in t.entries] == ["2023-06-01", "2024-03-05", "2025-09-18", None]
    assert [e.citation.title for e in t.entries] == ["City plans a harbour bridge", "Work starts on harbour bridge",
                                                     "Harbour bridge budget rises", "Letters on the harbour bridge"]
    assert [e.citation.number for e in t.entries] == [1, 2, 3, 4]
    start = t.entries[1].citation
    assert {start.source, *(r.source for r in start.also_reported_by)} == {"https://c.test/start", "https://e.test/wire"}
    assert len(start.also_reported_by) == 1
    assert "530 million pounds" in t.entries[2].sentence
    for e in t.entries:  # each sentence is cited: its span in the cited passage
        (s, end), = e.citation.quotes
        assert " ".join(e.citation.passage[s:end].split()) == e.sentence
    assert all("Time Warner" not in e.citation.title for e in t.entries)


def test_timeline_respects_the_limit_and_filters(library, bridge_dir):
    library.ingest([bridge_dir])
    assert len(timeline(library, "the harbour bridge", limit=2).entries) == 2
    t = timeline(library, "the harbour bridge", filters=Filters(published_from="2024-01-01"))
    assert [e.published for e in t.entries] == ["2024-03-05", "2025-09-18"]
    assert timeline(library, "quantum chromodynamics of gluon plasma").entries == ()
