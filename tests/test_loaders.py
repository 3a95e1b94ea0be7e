import json

import pytest

from rag.loaders import load_paths

from .conftest import BBC, SEEDS


def _load(*paths):
    items = list(load_paths(paths))
    return [i.article for i in items if i.article], [i.problem for i in items if i.problem], \
        [i.warning for i in items if i.warning]


def test_text_headline_is_the_first_line():
    arts, problems, _ = _load(SEEDS)
    assert not problems
    assert arts[0].title == "NATO Chief Says Afghanistan Troop Pullout Depends on Taliban"
    assert "Stoltenberg" in arts[0].text and not arts[0].text.startswith("NATO Chief")
    assert len(arts[0].content_hash) == 64


def test_markdown_front_matter(tmp_path):
    f = tmp_path / "a.md"
    f.write_text("---\ntitle: Budget day\npublished: 2024-03-05\nauthor: Ann\n---\n# Ignored\nThe budget rose.\n")
    arts, _, _ = _load(f)
    assert (arts[0].title, arts[0].published, arts[0].author) == ("Budget day", "2024-03-05", "Ann")


def test_front_matter_with_an_unquoted_colon_in_the_title(tmp_path):
    """Not valid YAML, but what people write: read as plain "key: value" lines, not as the body."""
    f = tmp_path / "a.md"
    f.write_text("---\ntitle: Letters: the harbour bridge\npublished: 2024-03-05\n---\nThe bridge should be green.\n")
    arts, problems, _ = _load(f)
    assert not problems
    assert (arts[0].title, arts[0].published) == ("Letters: the harbour bridge", "2024-03-05")
    assert arts[0].text == "The bridge should be green."


def test_html_article_body_and_metadata(tmp_path):
    f = tmp_path / "a.html"
    f.write_text("""<html><head><title>Rates rise again</title><meta name="author" content="Jo Reporter">
    <meta property="article:published_time" content="2023-06-01"></head><body><nav>Home | News</nav>
    <article><h1>Rates rise again</h1><p>The central bank raised interest rates by a quarter point on Thursday,
    citing stubborn inflation in services.</p><p>Economists had expected the move after strong wage data
    published last week.</p></article><footer>Copyright</footer></body></html>""")
    arts, problems, _ = _load(f)
    assert not problems
    a = arts[0]
    assert a.title == "Rates rise again" and a.published == "2023-06-01"
    assert "quarter point" in a.text and "Home | News" not in a.text


def test_jsonl_records_and_a_broken_line(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"id": "x1", "title": "One", "text": "First text.", "published": "2020-01-02"}) + "\n"
                 + "{not json\n" + json.dumps({"title": "Two", "text": "Second text.", "url": "https://e.x/2"}) + "\n")
    arts, problems, _ = _load(f)
    assert [a.title for a in arts] == ["One", "Two"]
    assert arts[0].id == "x1" and arts[1].source == "https://e.x/2"
    assert len(problems) == 1 and "line 2" in problems[0].reason


def test_bad_files_are_reported_and_the_rest_loaded(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text("   \n\n ")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 garbage")
    (tmp_path / "good.txt").write_text("Good headline\n\nGood body text.")
    (tmp_path / "copy.txt").write_text("Good headline\n\nGood body text.")
    (tmp_path / "latin.txt").write_bytes((BBC / "sport" / "199.txt").read_bytes())
    arts, problems, warnings = _load(tmp_path)
    reasons = {p.path.rsplit("/", 1)[-1]: p.reason for p in problems}
    assert reasons["empty.txt"] == "empty file"
    assert "white space" in reasons["blank.txt"]
    assert "binary" in reasons["bin.txt"]
    assert "PDF" in reasons["bad.pdf"]
    assert "duplicate of" in reasons["good.txt"] or "duplicate of" in reasons["copy.txt"]
    assert {a.title for a in arts} == {"Good headline", "Chelsea sack Mutu"}
    latin = next(a for a in arts if a.title == "Chelsea sack Mutu")
    assert "£" in latin.text and "Windows-1252" in warnings[0].reason


@pytest.mark.parametrize("name", ["x.docx", "y.csv"])
def test_unsupported_types_say_so(tmp_path, name):
    (tmp_path / name).write_text("data")
    _, problems, _ = _load(tmp_path / name)
    assert "unsupported file type" in problems[0].reason
