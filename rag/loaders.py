"""Files and folders to articles: .txt .md .html .json .jsonl .pdf, with a reason for every file left out."""

from __future__ import annotations

import errno
import hashlib
import html
import html.entities
import json
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from . import walls
from .dates import DateProblem, parse_date
from .errors import InputError
from .schema import Article, FileProblem

log = logging.getLogger(__name__)

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".pdf"}


@dataclass(frozen=True)
class Loaded:
    """One loader outcome: an article (possibly with a warning) or a problem."""

    article: Article | None = None
    problem: FileProblem | None = None
    warning: FileProblem | None = None


def safe_upload_name(original_name: str) -> str:
    """A file name that is safe to create in the uploads folder, for a name a browser sent.

    Only the last component is used (no ``../``, no absolute path, ``\\`` counts as a separator), control
    and other unusual characters are replaced, the name never starts with a dot (hidden files are not
    indexed), and a short hash of the original keeps two names that clean up alike apart. The same
    original always gives the same name, so uploading a file again replaces it. Raises ``InputError``
    for an extension that cannot be indexed.
    """
    original = str(original_name or "")
    base = re.split(r"[/\\]", original)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    ext = "." + ext.lower()
    if ext not in SUPPORTED:
        kinds = " ".join(sorted(SUPPORTED))
        raise InputError(f"{clean_text(base)[:80]!r}: unsupported file type; upload one of {kinds}")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:60] or "upload"
    digest = hashlib.sha1(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}-{digest}{ext}"


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\n\x00{text}".encode()).hexdigest()


def _file_id(path: Path) -> str:
    """Stable id: readable stem plus a hash of the absolute path, so equal names in two folders differ."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-")[:40] or "article"
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    return f"{stem}-{digest}"


def normalise_date(value: object, today: date | None = None) -> tuple[str | None, str | None]:
    """A publication date at its real precision (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``) and a warning, if any.

    Strict (:func:`rag.dates.parse_date`): nothing is invented, so a refused value gives ``None`` (or the
    part that holds, e.g. the month of an impossible day) and the reason, which the loader reports.
    """
    try:
        return parse_date(value, today), None
    except DateProblem as exc:
        kept = exc.args[1] if len(exc.args) > 1 else None
        return kept, exc.args[0]


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Drop what cannot be stored or printed as UTF-8: NUL characters and lone surrogates (e.g. from JSON ``\\ud800``)."""
    return _UNSTORABLE.sub("", text)


# An HTML character reference left in text ("G7 communiqu&#233;", "Tottenham bid &#163;8m"): 22 BBC files hold them.
_REFERENCE = re.compile(r"&(?:#[0-9]{2,7}|#[xX][0-9a-fA-F]{2,6}|[A-Za-z][A-Za-z0-9]{1,30});")
# "Mr Blair&#191;s government": an apostrophe the corpus's conversion turned into "¿", which never sits inside a word
_INVERTED_APOSTROPHE = re.compile(r"(?<=[A-Za-z])¿(?=[a-z])")


def as_characters(text: str) -> str:
    """``text`` with its HTML character references read as the characters they stand for; unknown ones stay."""
    if "&" not in text:
        return text
    text = _REFERENCE.sub(_character, text)
    return _INVERTED_APOSTROPHE.sub("’", text) if "¿" in text else text


def _character(m: re.Match) -> str:
    ref = m.group(0)  # a name must be known whole: html.unescape reads "&notareference;" as "¬areference;"
    return html.unescape(ref) if ref[1] == "#" or ref[1:] in html.entities.html5 else ref


def _make(path: Path, article_id: str, title: str, text: str, source: str, published: object = None,
          author: str | None = None) -> tuple[Article, str | None]:
    """The article and a warning about its date, if the date was refused or cut to its real precision."""
    title = " ".join(as_characters(clean_text(title)).split())[:500]
    text = as_characters(clean_text(text)).strip()
    article_id, source = clean_text(article_id), clean_text(source)
    author = clean_text(str(author))[:200] if author else None
    day, warning = normalise_date(published)
    return Article(
        id=article_id,
        title=title or "Untitled",
        text=text,
        source=source,
        published=day,
        author=author,
        content_hash=content_hash(title, text),
        origin=str(path.resolve()),
    ), warning


def decode(data: bytes) -> tuple[str, str | None]:
    """Bytes to text; returns (text, warning). Raises ValueError for binary data."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[2:].decode(codec), f"decoded as {codec.upper()} (byte order mark)"
            except UnicodeDecodeError as exc:
                raise ValueError(f"starts with a {codec.upper()} byte order mark but is not valid {codec.upper()}") from exc
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        bad = exc.start
    sample = data[:8192]
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if sample and controls / len(sample) > 0.05:
        raise ValueError("binary file (control bytes), not text")
    return data.decode("cp1252", errors="replace"), f"not valid UTF-8 (byte {bad}); decoded as Windows-1252/Latin-1"


def _split_front_matter(text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    m = re.match(r"^---\s*\n(.*?)\n---\s*\n?", text, re.S)
    if not m:
        return {}, text
    import yaml

    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:  # e.g. "title: Letters: the bridge", unquoted: read plain "key: value" lines
        meta = _plain_front_matter(m.group(1))
        if meta is None:
            return {}, text
    return (meta if isinstance(meta, dict) else {}), text[m.end():]


def _plain_front_matter(block: str) -> dict | None:
    """Front matter as ``key: value`` lines split at the first colon, or None if a line is not one."""
    lines = [line for line in block.splitlines() if line.strip()]
    pairs = [re.match(r"^([A-Za-z_][\w-]*):\s*(.*)$", line) for line in lines]
    if not lines or not all(pairs):
        return None
    return {p.group(1): p.group(2).strip().strip('"\'') for p in pairs}


def _load_text(path: Path, raw: str) -> tuple[Article, str | None]:
    meta, body = _split_front_matter(raw)
    title = str(meta.get("title") or "")
    if not title:
        lines = body.lstrip().split("\n", 1)
        title = lines[0].lstrip("#").strip()
        body = lines[1] if len(lines) > 1 else ""
    if not body.strip():
        raise ValueError("no text after the headline")
    body, warning = _without_wall(title, body, page=False)  # a page saved as text keeps its wall
    article, date_warning = _make(path, _file_id(path), title, body, str(meta.get("source") or meta.get("url") or path),
                                  meta.get("published") or meta.get("date"), meta.get("author"))
    return article, _joined(warning, date_warning)


def _load_html(path: Path, raw: str) -> tuple[Article, str | None]:
    import trafilatura

    # The date from the page's metadata and markup only (article:published_time, JSON-LD, <time>):
    # htmldate's extensive search also guesses from any date in the text.
    doc = trafilatura.bare_extraction(raw, with_metadata=True, include_comments=False, url=None,
                                      date_extraction_params={"original_date": True, "extensive_search": False,
                                                              "max_date": date.today().isoformat()})
    if doc is None:
        raise ValueError("no article text found in the HTML")
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = (data.get("text") or "").strip()
    if not text:
        raise ValueError("no article text found in the HTML")
    title = data.get("title") or path.stem
    text, warning = _without_wall(title, text)
    article, date_warning = _make(path, _file_id(path), title, text, data.get("url") or str(path), data.get("date"),
                                  data.get("author"))
    return article, _joined(warning, date_warning)


def _joined(*warnings: str | None) -> str | None:
    return "; ".join(w for w in warnings if w) or None


def _without_wall(title: str, text: str, page: bool = True) -> tuple[str, str | None]:
    """The text without a browser check, paywall or cookie banner, and a warning; raises when no story is left.

    A saved web page (``page``) is also told how to save it again, and warned about when it is nearly empty; a
    JSON record or text file is what a crawler or a person kept, and a short one is often a real brief."""
    wall = walls.find(title, text)
    if wall is None:
        if page and (n := walls.words_beside(title, text)) < walls.SHORT_PAGE_WORDS:
            return text, f"only {n} words of text besides the headline: a menu or index page rather than an article?"
        return text, None
    said = wall.said if len(wall.said) <= 80 else wall.said[:79] + "…"
    if wall.words < walls.MIN_ARTICLE_WORDS:
        advice = f"; {wall.advice}" if page else ""
        raise ValueError(f"not an article: {wall.kind} (“{said}”) and only {wall.words} other words{advice}")
    if wall.text == text.strip():
        return text, None  # only the title was the wall's ("Just a moment..."): the story loaded after all
    cut = ": the article may be cut short" if wall.kind == walls.PAYWALL else ""
    return wall.text, f"left out {wall.kind} (“{said}”){cut}"


_DATE_KEYS = ("published", "date", "pubDate", "datePublished")


def _record(path: Path, rec: object, where: str) -> tuple[Article, str | None]:
    if not isinstance(rec, dict):
        raise ValueError(f"{where}: expected an object with title and text")
    text = rec.get("text") or rec.get("body") or rec.get("content")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: no text")
    rid = rec.get("id")
    article_id = str(rid) if rid not in (None, "") else f"{_file_id(path)}-{where.replace(' ', '')}"
    source = rec.get("url") or rec.get("source") or f"{path}#{where.replace(' ', '')}"
    title = str(rec.get("title") or rec.get("headline") or "Untitled")
    text, warning = _without_wall(title, text, page=False)
    article, date_warning = _make(path, article_id, title, text, str(source),
                                  next((rec[k] for k in _DATE_KEYS if rec.get(k) not in (None, "")), None), rec.get("author"))
    return article, _joined(warning, date_warning)


def _loaded(path: str, made: tuple[Article, str | None]) -> Loaded:
    article, warning = made
    return Loaded(article=article, warning=FileProblem(path, warning) if warning else None)


def _too_big(size: int, max_bytes: int | None, what: str) -> str | None:
    if max_bytes is not None and size > max_bytes:
        return f"{what} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit (set RAG_MAX_FILE_MB to raise it)"
    return None


def _jsonl_line(path: Path, n: int, line: str, max_bytes: int | None) -> Loaded | None:
    if not line.strip():
        return None
    where = f"{path}:{n}"
    if reason := _too_big(len(line.encode("utf-8", "surrogatepass")), max_bytes, f"the record on line {n}"):
        return Loaded(problem=FileProblem(where, reason))
    try:
        return _loaded(where, _record(path, json.loads(line), f"line {n}"))
    except json.JSONDecodeError as exc:
        return Loaded(problem=FileProblem(where, f"invalid JSON on line {n}: {exc.msg}"))
    except ValueError as exc:
        return Loaded(problem=FileProblem(where, str(exc)))


def _stream_jsonl(path: Path, max_bytes: int | None) -> Iterator[Loaded]:
    """An archive line by line: memory holds one record, and the per-article limit applies to each."""
    shown = display_path(path)
    with path.open("rb") as f:
        for n, raw_line in enumerate(f, 1):
            if max_bytes is not None and len(raw_line) > max_bytes:
                yield Loaded(problem=FileProblem(f"{shown}:{n}", _too_big(len(raw_line), max_bytes, f"the record on line {n}")))
                continue
            try:
                line, warning = decode(raw_line)
            except ValueError as exc:
                yield Loaded(problem=FileProblem(f"{shown}:{n}", str(exc)))
                continue
            if warning:
                yield Loaded(warning=FileProblem(f"{shown}:{n}", warning))
            if item := _jsonl_line(path, n, line, None):
                yield item


def _load_records(path: Path, raw: str, max_bytes: int | None = None) -> Iterator[Loaded]:
    if path.suffix.lower() == ".jsonl":
        for n, line in enumerate(raw.splitlines(), 1):
            if item := _jsonl_line(path, n, line, max_bytes):
                yield item
        return
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        yield Loaded(problem=FileProblem(str(path), f"invalid JSON: {exc.msg} at line {exc.lineno}"))
        return
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    records = data if isinstance(data, list) else [data]
    for n, rec in enumerate(records):
        where = f"{path}[{n}]"
        if max_bytes is not None and (reason := _too_big(len(json.dumps(rec).encode()), max_bytes, f"item {n}")):
            yield Loaded(problem=FileProblem(where, reason))
            continue
        try:
            yield _loaded(where, _record(path, rec, f"item {n}"))
        except ValueError as exc:
            yield Loaded(problem=FileProblem(f"{path}[{n}]", str(exc)))


def _load_pdf(path: Path) -> tuple[Article, str | None]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("encrypted PDF (needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata or {}
        created = _pdf_created(reader)
    except ValueError:
        raise
    except (PdfReadError, OSError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"corrupt or unreadable PDF: {exc}") from exc
    except Exception as exc:  # pypdf raises many kinds on damaged files
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise ValueError("encrypted PDF (needs a password)") from exc
        raise ValueError(f"corrupt or unreadable PDF: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise ValueError("PDF has no extractable text (scanned images?)")
    title = str(meta.get("/Title") or "").strip() or text.strip().split("\n", 1)[0][:200]
    return _make(path, _file_id(path), title, text, str(path), created)


def _pdf_created(reader) -> object:
    """pypdf's ``creation_date`` (a datetime); the raw ``D:YYYYMMDD`` string when pypdf cannot parse it."""
    try:
        return reader.metadata.creation_date if reader.metadata else None
    except Exception:  # a malformed date string: keep what its digits say, strictly parsed
        raw = str((reader.metadata or {}).get("/CreationDate", ""))
        m = re.match(r"D?:?(\d{4})(\d{2})?(\d{2})?", raw)
        return "-".join(g for g in m.groups() if g) if m else raw


def display_path(path: Path | str) -> str:
    """The path as printable text: bytes that are not UTF-8 (kept by Python as surrogates) become U+FFFD."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def _check_file(path: Path, max_bytes: int | None) -> str | None:
    """Why ``path`` cannot be read as an article file, or None if it can."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return "file name is not valid UTF-8: rename the file"
    try:
        st = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if path.is_symlink():
            return "broken symbolic link"
        return f"cannot read: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else \
            "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a socket or special file"
        return f"not a regular file ({kind})"
    if st.st_size == 0:
        return "empty file"
    if max_bytes is not None and st.st_size > max_bytes:
        return (f"file is {st.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit "
                "(set RAG_MAX_FILE_MB to raise it)")
    return None


def _read_bounded(path: Path, max_bytes: int | None) -> bytes:
    """Read at most ``max_bytes`` (+1 to notice a file that grew after it was checked)."""
    with path.open("rb") as f:
        data = f.read() if max_bytes is None else f.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise ValueError(f"file grew over the {max_bytes / 1e6:.1f} MB limit while being read")
    return data


def load_file(path: Path, max_bytes: int | None = None, max_archive_bytes: int | None = None) -> Iterator[Loaded]:
    """Load one file; never raises for bad content, yields problems instead.

    Only regular files are opened (a FIFO named ``x.txt`` would block a read forever), and never
    more than ``max_bytes`` of one article, so memory stays bounded whatever the folder holds. A JSON
    or JSONL archive of many articles may be up to ``max_archive_bytes`` (default: ``max_bytes``); the
    per-article limit then applies to each record, and a JSONL archive over ``max_bytes`` is read a line at a time.
    """
    shown = display_path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        yield Loaded(problem=FileProblem(shown, f"unsupported file type '{suffix or path.name}'"))
        return
    archive = suffix in (".json", ".jsonl")
    file_limit = max(max_archive_bytes, max_bytes or 0) if archive and max_archive_bytes is not None else max_bytes
    reason = _check_file(path, file_limit)
    if reason:
        if file_limit != max_bytes:
            reason = reason.replace("RAG_MAX_FILE_MB", "RAG_MAX_ARCHIVE_MB")
        yield Loaded(problem=FileProblem(shown, reason))
        return
    try:
        if suffix == ".pdf":
            yield _loaded(shown, _load_pdf(path))
            return
        if suffix == ".jsonl" and max_bytes is not None and path.stat().st_size > max_bytes:
            yield from _stream_jsonl(path, max_bytes)
            return
        raw_bytes = _read_bounded(path, file_limit)
    except PermissionError:
        yield Loaded(problem=FileProblem(shown, "permission denied"))
        return
    except ValueError as exc:
        yield Loaded(problem=FileProblem(shown, str(exc)))
        return
    except OSError as exc:
        yield Loaded(problem=FileProblem(shown, f"cannot read: {exc.strerror or exc}"))
        return
    try:
        raw, warning = decode(raw_bytes)
    except ValueError as exc:
        yield Loaded(problem=FileProblem(shown, str(exc)))
        return
    del raw_bytes
    if not raw.strip():
        yield Loaded(problem=FileProblem(shown, "file holds only white space"))
        return
    warn = FileProblem(shown, warning) if warning else None
    try:
        if suffix in (".json", ".jsonl"):
            yield from _load_records(path, raw, max_bytes)
            if warn:
                yield Loaded(warning=warn)
            return
        article, date_warning = _load_html(path, raw) if suffix in (".html", ".htm") else _load_text(path, raw)
    except ValueError as exc:
        yield Loaded(problem=FileProblem(shown, str(exc)))
        return
    except Exception as exc:  # a parser failing on hostile input (e.g. RecursionError) must not stop the run
        log.debug("loader failed on %s", shown, exc_info=True)
        yield Loaded(problem=FileProblem(shown, f"could not parse: {type(exc).__name__}: {str(exc)[:200]}"))
        return
    if date_warning:
        warn = FileProblem(shown, f"{warn.reason}; {date_warning}" if warn else date_warning)
    yield Loaded(article=article, warning=warn)


def iter_files(paths: Iterable[Path | str]) -> Iterator[Path | FileProblem]:
    """Files below the given paths, sorted, hidden ones skipped; symlinked folders are reported, not followed."""
    for p in map(Path, paths):
        if p.is_dir():
            problems: list[FileProblem] = []
            found: list[Path] = []
            for root, dirs, files in os.walk(p, onerror=lambda err, out=problems: out.append(
                    FileProblem(display_path(err.filename), f"cannot read folder: {err.strerror}")), followlinks=False):
                linked = [d for d in dirs if not d.startswith(".") and os.path.islink(os.path.join(root, d))]
                problems.extend(FileProblem(display_path(os.path.join(root, d)), "symbolic link to a folder, not followed")
                                for d in linked)
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in linked)
                found.extend(Path(root) / f for f in files if not f.startswith("."))
            yield from problems
            yield from sorted(found)
        elif p.is_file() or p.is_symlink() or p.exists():
            yield p  # load_file says why a special or broken one cannot be read
        else:
            yield FileProblem(display_path(p), "no such file or folder")


def load_paths(paths: Iterable[Path | str], max_bytes: int | None = None,
               max_archive_bytes: int | None = None) -> Iterator[Loaded]:
    """Load every supported file under ``paths``; duplicates of an earlier article are reported, not loaded."""
    seen: dict[str, str] = {}
    for item in iter_files(paths):
        if isinstance(item, FileProblem):
            yield Loaded(problem=item)
            continue
        for loaded in load_file(item, max_bytes, max_archive_bytes):
            a = loaded.article
            if a is not None:
                first = seen.setdefault(a.content_hash, a.source)
                if first != a.source:
                    yield Loaded(problem=FileProblem(a.source, f"duplicate of {first} (same title and text)"))
                    continue
            yield loaded
