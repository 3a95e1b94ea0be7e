"""Hostile and broken input: every bad file is named with a reason, the rest is indexed, nothing indexed is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from rag import Library, Settings
from rag.cli import cli
from rag.errors import InputError
from rag.loaders import SUPPORTED, load_paths, safe_upload_name
from rag.sentences import embed_text

from .conftest import BBC, ROOT

GOOD = "Harbour reopens after storm\n\nThe harbour at Porthleven reopened on Monday after winter storms damaged its sea wall."


def text_pdf(path: Path, text: str, password: str | None = None) -> Path:
    """A real one-page PDF with extractable text (pypdf), optionally encrypted with a user password."""
    w = PdfWriter()
    page = w.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    lines = " ".join(f"72 {720 - 16 * i} Td ({line}) Tj -72 {-(720 - 16 * i)} Td" for i, line in enumerate(text.split("\n")))
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf {lines} ET".encode("latin-1"))
    page[NameObject("/Contents")] = w._add_object(stream)
    if password:
        w.encrypt(user_password=password, owner_password="owner-" + password, algorithm="AES-256")
    with path.open("wb") as f:
        w.write(f)
    return path


def by_name(problems) -> dict[str, str]:
    return {Path(p.path.split(":")[0]).name: p.reason for p in problems}


@pytest.fixture
def bad_folder(tmp_path) -> Path:
    """One folder holding every kind of bad input next to good files."""
    d = tmp_path / "inbox"
    d.mkdir()
    (d / "empty.txt").write_text("")
    (d / "blank.md").write_text(" \n\t\n   \n")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (d / "latin1.txt").write_bytes("Café owners protest\n\nThe café tax rose to 20% in Zürich, owners said.".encode("latin-1"))
    (d / "utf16.txt").write_bytes("Tide tables change\n\nNew tide tables were published for the estuary.".encode("utf-16"))
    (d / "deep.html").write_text("<html><body>" + "<div>" * 100_000 + "deep" + "</div>" * 100_000 + "</body></html>")
    (d / "malformed.html").write_text("<html><head><title>Unclosed</title><body><p>Council votes on <b>bridge <i>plan "
                                      "<p>The council voted to repair the old bridge over the river before summer "
                                      "tourists arrive, after engineers found cracks<table><tr><td>in the piers")
    (d / "wall.html").write_text("<html><head><title>Just a moment...</title></head><body><noscript>Enable JavaScript "
                                 "and cookies to continue</noscript></body></html>")
    (d / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n" + os.urandom(2000))
    good_pdf = text_pdf(d / "report.pdf", "Ferry timetable changes\nThe island ferry will run twice a day from May.")
    half = good_pdf.read_bytes()
    (d / "truncated.pdf").write_bytes(half[: len(half) // 2])
    text_pdf(d / "locked.pdf", "Secret minutes\nNothing to see.", password="s3cret")
    (d / "records.jsonl").write_text("\n".join([
        json.dumps({"id": "rec-1", "title": "Library extends hours", "text": "The town library now opens on Sundays."}),
        '{"id": "rec-2", "title": "Broken", "text": "missing quote}',
        json.dumps({"id": "rec-3", "title": "Bus fares frozen", "text": "Bus fares will not rise this year, the council said."}),
    ]) + "\n")
    (d / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "surrogate.jsonl").write_text(
        '{"id": "rec-4", "title": "Odd \\ud800 title", "text": "A lone surrogate \\udfff and a NUL \\u0000 in the text."}\n')
    (d / "copy-a.txt").write_text("Duplicate story\n\nThe same text saved under two names.")
    (d / "copy-b.txt").write_text("Duplicate story\n\nThe same text saved under two names.")
    os.mkfifo(d / "pipe.txt")  # reading a FIFO would block forever
    (d / "dangling.txt").symlink_to(d / "does-not-exist.txt")
    (d / "loop-a.txt").symlink_to(d / "loop-b.txt")
    (d / "loop-b.txt").symlink_to(d / "loop-a.txt")
    (d / "self").symlink_to(d)  # a folder loop
    (d / "folder.txt").mkdir()  # a folder named like a file: walked into, not read
    (d / "folder.txt" / "inside.txt").write_text("Inside a folder\n\nA file inside a folder whose name ends in .txt.")
    (d / os.fsdecode(b"caf\xe9-name.txt")).write_text("Bad name\n\nThis file's name is Latin-1 bytes.")
    (d / "good.txt").write_text(GOOD)
    return d


EXPECTED_PROBLEMS = {
    "empty.txt": "empty file",
    "blank.md": "white space",
    "binary.txt": "binary file",
    "deep.html": "",  # either "no article text" or "could not parse": any clear reason
    "wall.html": "not an article: a JavaScript or browser check",
    "corrupt.pdf": "PDF",
    "truncated.pdf": "PDF",
    "locked.pdf": "encrypted PDF (needs a password)",
    "records.jsonl": "invalid JSON on line 2",
    "nested.json": "",
    "pipe.txt": "not a regular file (a FIFO)",
    "dangling.txt": "broken symbolic link",
    "loop-a.txt": "symbolic link loop",
    "loop-b.txt": "symbolic link loop",
    "self": "symbolic link to a folder, not followed",
    "caf\ufffd-name.txt": "file name is not valid UTF-8",
}


def test_bad_folder_every_problem_named_and_everything_else_indexed(library, bad_folder, tmp_path):
    before = tmp_path / "before.txt"
    before.write_text((BBC / "business" / "001.txt").read_text(encoding="utf-8"))
    kept = library.ingest([before]).added
    assert len(kept) == 1

    report = library.ingest([bad_folder])
    problems = by_name(report.skipped)
    for name, reason in EXPECTED_PROBLEMS.items():
        assert name in problems, f"{name} not reported; got {problems}"
        assert reason in problems[name], (name, problems[name])
    assert all(p.path.startswith(str(bad_folder)) for p in report.skipped)
    # exactly one of the two copies is reported as a duplicate of the other
    dup = [n for n in ("copy-a.txt", "copy-b.txt") if "duplicate of" in problems.get(n, "")]
    assert dup == ["copy-b.txt"]
    assert next(p.reason for p in report.skipped if p.path == f"{bad_folder / 'records.jsonl'}:2").startswith(
        "invalid JSON on line 2")

    titles = {a.title for a in library.articles()}
    assert titles >= {
        "Café owners protest", "Tide tables change", "Unclosed", "Ferry timetable changes",
        "Library extends hours", "Bus fares frozen", "Odd title", "Duplicate story", "Inside a folder",
        "Harbour reopens after storm",
    }, titles
    assert "Secret minutes" not in titles and "Bad name" not in titles
    warnings = by_name(report.warnings)
    assert "Windows-1252" in warnings["latin1.txt"] and "UTF-16" in warnings["utf16.txt"]
    latin = next(a for a in library.articles() if a.title == "Café owners protest")
    assert "Zürich" in library.article(latin.id).text
    odd = next(a for a in library.articles() if a.title == "Odd title")
    assert library.article(odd.id).text == "A lone surrogate  and a NUL  in the text."

    # nothing indexed before was lost, and it is all searchable
    assert kept[0] in {a.id for a in library.articles()}
    assert library.search("ferry twice a day")[0].title == "Ferry timetable changes"
    assert library.search("café tax Zürich")[0].title == "Café owners protest"


def test_a_file_that_turns_bad_keeps_its_article(library, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "story.txt").write_text(GOOD)
    (d / "other.txt").write_text("Other story\n\nSomething else happened in town.")
    library.ingest([d])
    (d / "story.txt").write_bytes(b"\x00\xff" * 50)  # overwritten by garbage
    report = library.ingest([d], prune=True)
    assert by_name(report.skipped)["story.txt"].startswith("binary file")
    assert report.removed == []
    assert {a.title for a in library.articles()} == {"Harbour reopens after storm", "Other story"}


def test_big_file_rejected_without_being_read(tmp_path, library):
    big = tmp_path / "big.txt"
    line = "The quick brown fox jumps over the lazy dog near the river bank today. " * 10 + "\n"
    with big.open("w") as f:
        for _ in range(50_000_000 // len(line) + 1):
            f.write(line)
    assert big.stat().st_size > 50_000_000
    (tmp_path / "small.txt").write_text(GOOD)
    tracemalloc.start()
    (item,) = load_paths([big], 20_000_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1_000_000, f"peak {peak / 1e6:.1f} MB while skipping a 50 MB file"
    assert item.problem.path == str(big)
    report = library.ingest([big, tmp_path / "small.txt"])
    (problem,) = report.skipped
    assert problem.path == str(big)
    assert "50.0 MB, over the 20.0 MB limit (set RAG_MAX_FILE_MB to raise it)" in problem.reason
    assert len(report.added) == 1


def test_file_size_limit_is_configurable(tmp_path, monkeypatch):
    f = tmp_path / "a.txt"
    f.write_text(GOOD + " More words." * 200)
    monkeypatch.setenv("RAG_MAX_FILE_MB", "0.001")
    limit = int(Settings().max_file_mb * 1_000_000)
    (item,) = load_paths([f], limit)
    assert "over the 0.0 MB limit" in item.problem.reason or "over the" in item.problem.reason
    (item,) = load_paths([f], 10_000_000)
    assert item.article is not None


@pytest.mark.parametrize("sentence", [
    " ".join(f"word{i % 997} and more" for i in range(100_000))[:100_000],  # words, no full stop
    "x" * 100_000,  # no space at all
    ("supercalifragilistic" * 5 + " ") * 1000,  # long words
], ids=["words", "one-token-run", "long-words"])
def test_a_100k_character_sentence_is_chunked_within_the_model_limit(library, embedder, tmp_path, sentence):
    sentence = sentence[:100_000]
    f = tmp_path / "long.txt"
    f.write_text("One endless sentence\n\n" + sentence)
    (item,) = load_paths([f])
    article = item.article
    chunks = library.chunk(article)
    sizes = embedder.count_tokens([embed_text(article.title, c.text) for c in chunks])
    assert max(sizes) + 2 <= embedder.max_tokens  # [CLS] and [SEP] included: nothing truncated
    assert len(chunks) < 2000  # long runs are cut into full windows, not one word piece per chunk
    covered = " ".join(article.text[c.start:c.end] for c in chunks)
    assert set(covered.split()) == set(article.text.split())  # every word is in some chunk
    assert article.text[chunks[-1].end:].strip() == ""
    if sentence.startswith("word0"):  # and it is indexed and found (embedding the others adds only minutes)
        report = library.ingest([f])
        assert report.added == [article.id] and report.chunks_embedded == len(chunks)
        assert library.search("word500 and more")[0].article_id == article.id


def _without_override(cmd: list[str]) -> list[str]:
    """As root, run ``cmd`` without the capabilities that let root ignore file permissions."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without util-linux setpriv to drop CAP_DAC_OVERRIDE")
    caps = "-dac_override,-dac_read_search,-fowner"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]


def test_unreadable_file_is_reported(tmp_path):
    """chmod 000 does not stop root: as root the loader runs in a subprocess without the capabilities that bypass it."""
    d = Path(tempfile.mkdtemp(prefix="rag-unreadable-"))
    try:
        (d / "secret.txt").write_text("Secret\n\nYou cannot read this.")
        (d / "open.txt").write_text(GOOD)
        (d / "secret.txt").chmod(0)
        (d / "locked-dir").mkdir()
        (d / "locked-dir" / "x.txt").write_text(GOOD)
        (d / "locked-dir").chmod(0)
        d.chmod(0o755)
        code = ("import json,sys; from rag.loaders import load_paths; "
                "print(json.dumps([[i.article.title if i.article else None, i.problem.path if i.problem else None, "
                "i.problem.reason if i.problem else None] for i in load_paths([sys.argv[1]])]))")
        cmd = _without_override([sys.executable, "-c", code, str(d)])
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(d)}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(d), timeout=120)
        assert out.returncode == 0, out.stderr
        rows = json.loads(out.stdout)
        assert [None, str(d / "secret.txt"), "permission denied"] in rows
        assert any(path == str(d / "locked-dir") and "cannot read folder" in reason for _, path, reason in rows)
        assert ["Harbour reopens after storm", None, None] in rows
    finally:
        for p in (d / "locked-dir", d / "secret.txt"):
            p.chmod(0o700)
        shutil.rmtree(d)


def test_a_store_this_user_cannot_write_is_named_in_one_line(seeded, settings, embedder):
    """Chroma writes to its folder even to read; the user gets the folder and the fix, not a traceback."""
    seeded.store.close()
    folder = settings.store_path
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    try:
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        cmd = _without_override([sys.executable, "-m", "rag", "ask", "Who is the Pentagon press secretary?"])
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "RAG_STORE_PATH": str(folder)}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=300)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr
    assert f"The store at {folder} cannot be written" in out.stderr
    assert "write access" in out.stderr
    assert Library(settings, embedder=embedder).store.count_articles() == 1  # and nothing in it was lost


@pytest.mark.parametrize("original, expected_ext", [
    ("../../etc/passwd.txt", ".txt"),
    ("/etc/cron.d/evil.md", ".md"),
    ("..\\..\\windows\\system32\\a.HTML", ".html"),
    ("bad\x00name\n\r\x1b[31m.txt", ".txt"),
    (".bashrc.txt", ".txt"),
    ("..", None),
    ("", None),
    ("payload.txt.exe", None),
    ("noext", None),
    ("report.PDF", ".pdf"),
    ("ünïcödé – news.jsonl", ".jsonl"),
    ("a" * 5000 + ".txt", ".txt"),
])
def test_safe_upload_name(original, expected_ext, tmp_path):
    if expected_ext is None:
        with pytest.raises(InputError, match="unsupported file type"):
            safe_upload_name(original)
        return
    name = safe_upload_name(original)
    assert name.endswith(expected_ext) and Path(name).suffix in SUPPORTED
    assert "/" not in name and "\\" not in name and not name.startswith(".") and ".." not in name
    assert name.isascii() and name.isprintable() and len(name) <= 80
    target = (tmp_path / name).resolve()
    assert target.parent == tmp_path.resolve()
    assert safe_upload_name(original) == name  # stable: a re-upload replaces the file
    target.write_text(GOOD)  # really creatable


def test_upload_names_that_clean_up_alike_stay_apart():
    names = {safe_upload_name(n) for n in ("a b.txt", "a/b.txt", "a_b.txt", "a-b.txt", "a?b.txt", "a\nb.txt")}
    assert len(names) == 6


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


HOSTILE = ('Quote " backslash \\ and </script><script>alert(1)</script> tag; line\u2028separator\u2029para; '
           'bell\x07 escape\x1b[31m red; tab\t and \x7f delete; emoji 🦊; RTL \u202e override.')


def test_json_output_is_valid_whatever_the_article_holds(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "hostile.jsonl").write_text(json.dumps({
        "id": "hostile-1", "title": "Hostile </script> \"title\"", "published": "2024-01-02",
        "text": f"The fox report. {HOSTILE} The fox was seen near the harbour at dawn.",
    }) + "\n" + '{"broken\n')
    (d / "x\u2028<script>.txt").write_text("Odd file name\n\nA file whose name holds </script> and a separator.")

    r = run("ingest", "--json", str(d))
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["added"] and report["skipped"][0]["path"].endswith("hostile.jsonl:2")

    r = run("articles", "--json")
    listed = json.loads(r.stdout)
    assert {"Hostile </script> \"title\"", "Odd file name"} <= {a["title"] for a in listed}

    r = run("ask", "--json", "--article", "hostile-1", "Where was the fox seen?")
    assert r.exit_code == 0, r.output
    answer = json.loads(r.stdout)
    assert answer["citations"], answer
    stored = " ".join(c["passage"] for c in answer["citations"])
    assert "</script><script>alert(1)</script>" in stored and "\u2028" in stored and "\x1b[31m" in stored
    # one JSON document per command, nothing else on stdout
    assert r.stdout.strip().startswith("{") and r.stdout.strip().endswith("}")

    # a question whose bytes were not UTF-8 (Python keeps them as lone surrogates in argv)
    r = run("ask", "--json", os.fsdecode(b"Where was the fox seen caf\xe9?"))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["question"] == "Where was the fox seen caf?"


def test_question_and_k_limits(tmp_path, monkeypatch):
    run("ingest", str(ROOT / "seeds"))
    r = run("ask", "x" * 1001)
    assert r.exit_code == 1 and "1001 characters long; the limit is 1000 (RAG_MAX_QUESTION_CHARS)" in r.output
    monkeypatch.setenv("RAG_MAX_QUESTION_CHARS", "20")
    r = run("ask", "Who is the Secretary General of NATO?")
    assert r.exit_code == 1 and "the limit is 20" in r.output
    monkeypatch.delenv("RAG_MAX_QUESTION_CHARS")
    for bad in ("0", "51", "-1"):
        r = run("ask", "-k", bad, "Who leads NATO?")
        assert r.exit_code == 2 and "-k" in r.output
    monkeypatch.setenv("RAG_TOP_K", "500")
    r = run("ask", "Who leads NATO?")
    assert r.exit_code == 1 and "Invalid configuration" in r.output and "top_k" in r.output


def test_a_question_copied_with_html_reads_as_its_text(seeded):
    from rag import build_chain

    answer = build_chain(seeded).invoke("What is the <em>name</em> of the Pentagon&#39;s press&nbsp;secretary?")
    assert answer.question == "What is the name of the Pentagon's press secretary?"
    assert "John Kirby" in answer.text and not answer.abstained
    assert seeded.check_question("Is x < 5 and y > 3, or AT&T <b>or</b> P&G?") == "Is x < 5 and y > 3, or AT&T or P&G?"
    with pytest.raises(InputError, match="The question is empty"):
        seeded.check_question("<em> </em>")


def test_library_limits_have_defaults_and_clear_messages(seeded):
    for k in (0, -1, 51):
        with pytest.raises(InputError, match=f"k={k}: ask for between 1 and 50 passages"):
            seeded.search("Who leads NATO?", k=k)
    assert len(seeded.search("Who leads NATO?", k=50)) >= 1
    with pytest.raises(InputError, match="1001 characters long; the limit is 1000"):
        seeded.search("x" * 1001)
    with pytest.raises(InputError, match="The question is empty"):
        seeded.search(" \n\t ")
    s = Settings()
    assert (s.max_question_chars, s.max_file_mb, s.max_upload_mb, s.llm_timeout, s.top_k) == (1000, 20.0, 20.0, 60.0, 4)

    for bad in ({"llm_timeout": 0}, {"max_upload_mb": -1}, {"max_file_mb": 0}, {"top_k": 0}, {"max_question_chars": 5}):
        with pytest.raises(ValidationError):
            Settings(**bad)
