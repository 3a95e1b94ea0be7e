"""Syndicated copies (rag.groups): BBC near-duplicates grouped at ingest, one per group in the top k, listed on citations."""

from __future__ import annotations

import shutil

import pytest

from rag import build_chain
from rag.groups import Grouper, diversify, pack_signature, signature, unpack_signature
from rag.schema import Passage

from .conftest import BBC

# Same story, measured with benchmarks/groups.py: a retitled version (Jaccard 0.97), a same-headline
# version (0.76), an updated report (0.64). Distinct stories that share paragraphs or a subject:
# Beatles suits / Elvis recordings (0.33), "Levy tipped for" / "Levy takes" Whitbread prize (0.24).
SAME = [("politics/004.txt", "politics/330.txt"), ("tech/009.txt", "tech/379.txt"), ("sport/424.txt", "sport/511.txt")]
DISTINCT = [("entertainment/152.txt", "entertainment/163.txt"), ("entertainment/007.txt", "entertainment/013.txt")]
IDENTICAL = ("entertainment/129.txt", "entertainment/261.txt")  # byte-identical files


def copy_bbc(dest, names):
    dest.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(BBC / name, dest / name.replace("/", "-"))
    return dest


def groups_by_file(library) -> dict[str, str]:
    return {m["origin"].rsplit("/", 1)[-1]: m.get("group") for m in library.store.all_records().values()}


@pytest.fixture
def grouped(library, tmp_path):
    names = [n for pair in SAME + DISTINCT for n in pair] + list(IDENTICAL) + ["business/001.txt"]
    report = library.ingest([copy_bbc(tmp_path / "bbc", names)])
    return library, report


def test_bbc_copies_are_grouped_and_distinct_stories_are_not(grouped):
    library, report = grouped
    files = groups_by_file(library)
    for a, b in SAME:
        fa, fb = a.replace("/", "-"), b.replace("/", "-")
        assert files[fa] and files[fa] == files[fb], (a, b)
    for a, b in DISTINCT:
        assert files[a.replace("/", "-")] != files[b.replace("/", "-")], (a, b)
    # a byte-identical file is not indexed a second time: reported as a duplicate of the first
    assert [p.path.rsplit("/", 1)[-1] for p in report.skipped if "duplicate of" in p.reason] == ["entertainment-261.txt"]
    assert "entertainment-261.txt" not in files and files["entertainment-129.txt"]
    assert len(set(files.values())) == len(files) - len(SAME)


def test_top_k_holds_one_article_per_group_and_the_citation_lists_the_other(grouped):
    library, _ = grouped
    passages = library.search("Where will the Labour Party hold its 2006 autumn conference?", k=4)
    titles = [p.title for p in passages]
    assert len({"Labour chooses Manchester", "Manchester wins Labour conference"} & set(titles)) == 1, titles
    answer = build_chain(library).invoke("Where will the Labour Party hold its 2006 autumn conference?")
    cited = answer.citations[0]
    assert "Manchester" in answer.text
    assert cited.title in {"Labour chooses Manchester", "Manchester wins Labour conference"}
    others = [r.title for r in cited.also_reported_by]
    assert others == list({"Labour chooses Manchester", "Manchester wins Labour conference"} - {cited.title})


def test_grouping_is_incremental_and_removal_keeps_the_rest(library, tmp_path):
    first = copy_bbc(tmp_path / "one", ["politics/004.txt", "business/001.txt"])
    library.ingest([first])
    before = library.store.all_records()
    second = copy_bbc(tmp_path / "two", ["politics/330.txt"])
    library.ingest([second])
    files = groups_by_file(library)
    assert files["politics-330.txt"] == files["politics-004.txt"]
    after = library.store.all_records()
    assert all(after[rid]["minhash"] == m["minhash"] and after[rid]["group"] == m["group"] for rid, m in before.items())
    # the group's founder removed: the copy keeps its group, and lists nobody
    founder = next(rid for rid, m in after.items() if m["origin"].endswith("politics-004.txt"))
    library.remove([founder])
    files = groups_by_file(library)
    assert files["politics-330.txt"] == after[founder]["group"]
    assert library.groups.get().others(next(iter(set(after) - {founder} - set(before)))) == ()
    # a new copy joins the remaining member's group
    library.ingest([copy_bbc(tmp_path / "three", ["politics/004.txt"])])
    assert groups_by_file(library)["politics-004.txt"] == files["politics-330.txt"]


def test_a_changed_article_is_regrouped(library, tmp_path):
    d = copy_bbc(tmp_path / "bbc", ["politics/004.txt", "politics/330.txt"])
    library.ingest([d])
    assert len(set(groups_by_file(library).values())) == 1
    (d / "politics-330.txt").write_text((BBC / "sport/424.txt").read_text())  # now another story
    library.ingest([d])
    files = groups_by_file(library)
    assert files["politics-330.txt"] != files["politics-004.txt"]


def test_signatures_round_trip_and_estimate_similarity():
    text = (BBC / "politics/004.txt").read_text()
    sig = signature("t", text)
    assert (unpack_signature(pack_signature(sig)) == sig).all()
    assert unpack_signature("w3p64:abc") is None and unpack_signature(None) is None
    grouper = Grouper({}, 0.5)
    assert grouper.assign("a", "1", sig) == "a@1"
    assert grouper.assign("b", "1", signature("t", text + " One more sentence at the end.")) == "a@1"
    assert grouper.assign("c", "1", signature("t", (BBC / "sport/424.txt").read_text())) == "c@1"


def _p(article: str, chunk: int, published: str | None = None) -> Passage:
    return Passage(chunk_id=f"{article}:v:{chunk}", article_id=article, title=article, source="s", published=published,
                   text="", start=0, end=0)


def test_diversify_keeps_one_article_per_group_preferring_the_newest():
    ranked = [_p("a", 0, "2024-01-01"), _p("b", 0), _p("a", 1, "2024-01-01"), _p("c", 0, "2025-02-02"), _p("d", 0),
              _p("c", 1, "2025-02-02")]
    groups = {"a": "g", "c": "g"}  # c is a later version of a
    out = diversify(ranked, groups, 4)
    assert [p.chunk_id for p in out] == ["c:v:0", "b:v:0", "d:v:0", "c:v:1"]  # c takes a's place; its other chunk keeps its rank
    assert [p.chunk_id for p in diversify(ranked, {}, 3)] == ["a:v:0", "b:v:0", "a:v:1"]
    assert diversify(ranked, lambda _: None, 10) == ranked
