"""The chat page: ask questions about the indexed articles and check every answer against its cited passages.

Run with ``rag ui``, or from the project folder with ``python -m streamlit run ui/app.py`` (``python -m``
puts the folder on the path, so ``rag`` and ``ui`` import from it). The page only calls the library;
article text is untrusted and goes through ``ui.render`` before it is shown.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rag.config import offline_environment  # noqa: E402

offline_environment()  # before streamlit and the model read it

import streamlit as st  # noqa: E402

from rag import Answer, Filters, Library, RagError, Settings, build_chain  # noqa: E402
from rag.errors import InputError  # noqa: E402
from rag.terminal import counted  # noqa: E402
from rag.terms import content_terms  # noqa: E402
from ui import conversations, render, timebar, timeline  # noqa: E402
from ui.uploads import FileResult, ingest_uploads, original_names  # noqa: E402

log = logging.getLogger(__name__)
UPLOAD_TYPES = ["txt", "md", "markdown", "html", "htm", "json", "jsonl", "pdf"]
SEED_EXAMPLES = {  # questions the seed article answers; other libraries get questions from their titles
    "NATO Chief Says Afghanistan Troop Pullout Depends on Taliban": [
        "Who is the Secretary General of NATO?",
        "What does the troop withdrawal from Afghanistan depend on?",
        "How many U.S. troops are still in Afghanistan?",
    ],
}
LIST_LIMIT = 300  # articles listed in the sidebar
_CUT_OFF = re.compile(r"\s*(?:\.{3}|…)$")  # a headline a page cut short: "Is weed legal in Alabama after …"
STREAM_WORD_DELAY = 0.012  # seconds; an extractive answer arrives whole, shown word by word so it reads as it appears


@dataclass
class Resources:
    """What one process shares between sessions: the library (thread-safe search) and a lock for writes."""

    library: Library
    lock: threading.Lock = field(default_factory=threading.Lock)
    seeded: bool = False


@st.cache_resource(show_spinner=False)
def load_resources(settings_json: str) -> Resources:
    """Model and store, once per process and settings; model and BM25 index load now, so the first answer is quick."""
    library = Library(Settings.model_validate_json(settings_json))
    library.warm()
    return Resources(library)


@st.cache_resource(show_spinner=False)
def load_chain(settings_json: str, mode: str):
    return build_chain(load_resources(settings_json).library, answer_mode=mode)


# -- state


def init_state() -> None:
    st.session_state.setdefault("turns", [])  # list of (question, Answer)
    st.session_state.setdefault("upload_results", [])
    st.session_state.setdefault("uploaded_ids", [])
    st.session_state.setdefault("reading", None)
    conversations.init_state()


def history() -> list[tuple[str, str]]:
    out = []
    for question, answer in st.session_state.turns:
        out += [("user", question), ("assistant", answer.text)]
    return out


# -- library management


def progress_callback(bar):
    def update(done: int, total: int, title: str) -> None:
        bar.progress(done / max(total, 1), text=f"Indexed {done} of {total}: {render.md_escape(title)[:80]}")
    return update


def index_seeds(res: Resources) -> None:
    """First start: an empty store gets the seed articles, with progress, once per process."""
    settings = res.library.settings
    with res.lock:
        if res.seeded or not res.library.is_empty():
            res.seeded = True
            return
        bar = st.progress(0.0, text="First start: indexing the example articles…")
        try:
            report = res.library.ingest([settings.seeds_path], on_progress=progress_callback(bar))
            res.library.lexical.get()  # built now, so the first question waits on nothing
        except RagError as exc:
            st.error(str(exc))
            return
        finally:
            res.seeded = True
            bar.empty()
    if report.added:
        st.toast(f"Indexed {counted(len(report.added), 'example article')} from {settings.seeds_path.name}/")
    for p in report.skipped:
        st.warning(f"Not indexed: {render.md_escape(Path(p.path).name)}: {render.md_escape(p.reason)}")


def library_panel(res: Resources) -> None:
    lib = res.library
    head = st.container()  # filled last, so the list shows what this run's upload or removal left
    infos = lib.articles()
    settings = lib.settings
    files = st.file_uploader(f"Add articles (up to {settings.max_upload_mb:g} MB each)", type=UPLOAD_TYPES,
                             accept_multiple_files=True, max_upload_size=max(1, round(settings.max_upload_mb)),
                             key="uploader")
    new = [f for f in files or [] if f.file_id not in st.session_state.uploaded_ids]
    if new:
        bar = st.progress(0.0, text=f"Indexing {counted(len(new), 'file')}…")
        try:
            results = ingest_uploads(lib, [(f.name, f.getvalue()) for f in new], settings.uploads_path,
                                     settings.max_upload_mb, res.lock, progress_callback(bar))
        except RagError as exc:
            results = [FileResult(f.name, "rejected", str(exc)) for f in new]
        finally:
            bar.empty()
        st.session_state.uploaded_ids += [f.file_id for f in new]
        st.session_state.upload_results = results
        infos = lib.articles()
    show_results(st.session_state.upload_results)
    with head:
        articles_list(infos, original_names(settings.uploads_path))

    if infos:
        by_id = {a.id: a for a in infos}
        doomed = st.multiselect("Remove articles", list(by_id), format_func=lambda i: render.article_label(by_id[i]),
                                placeholder="Choose articles to remove", key="remove_ids")
        if st.button("Remove", disabled=not doomed, key="remove_btn"):
            try:
                with res.lock:
                    removed = lib.remove(doomed)
            except RagError as exc:
                st.error(str(exc))
                return
            st.session_state.pop("remove_ids", None)
            st.session_state.upload_results = [FileResult(by_id[i].title, "removed", "") for i in removed]
            st.rerun()

    with st.expander("Re-index a folder"):
        folder = st.text_input("Folder on the server", value=str(settings.seeds_path), key="reindex_folder")
        prune = st.checkbox("Also remove articles whose files are gone", key="reindex_prune")
        if st.button("Re-index", key="reindex_btn"):
            path = Path(folder).expanduser()
            if not path.is_dir():
                st.error(f"Not a folder: {render.md_escape(folder)}")
            else:
                bar = st.progress(0.0, text=f"Reading {render.md_escape(path.name)}/…")
                try:
                    with res.lock:
                        report = lib.ingest([path], prune=prune, on_progress=progress_callback(bar))
                except RagError as exc:
                    st.error(str(exc))
                    return
                finally:
                    bar.empty()
                st.session_state.upload_results = (
                    [FileResult(Path(p.path).name, "rejected", p.reason) for p in report.skipped]
                    + [FileResult(path.name, "indexed", f"{len(report.added)} added, {len(report.updated)} updated, "
                                  f"{len(report.unchanged)} unchanged, {len(report.removed)} removed")])
                st.rerun()


def articles_list(infos, names: dict[str, str]) -> None:
    st.subheader(f"Library · {counted(len(infos), 'article')}", anchor=False)
    if infos:
        with st.expander("Indexed articles", expanded=False):
            st.html(render.articles_html(infos[:LIST_LIMIT], names))
            if len(infos) > LIST_LIMIT:
                st.caption(f"and {len(infos) - LIST_LIMIT:,} more (newest first); `python -m rag articles` lists them all.")


ICONS = {"added": ":material/add_circle:", "updated": ":material/sync:", "unchanged": ":material/check:",
         "rejected": ":material/block:", "removed": ":material/delete:", "indexed": ":material/folder:"}


def show_results(results: list[FileResult]) -> None:
    for r in results:
        line = f"{ICONS.get(r.status, '')} **{r.status}** {render.md_escape(r.name)}"
        if r.detail and r.detail != r.name:
            line += f" — {render.md_escape(r.detail)}"
        (st.error if r.status == "rejected" else st.caption)(line)


# -- question settings


def filters_panel(res: Resources) -> tuple[Filters, int, str]:
    settings = res.library.settings
    infos = res.library.articles()
    by_id = {a.id: a for a in infos}
    st.subheader("Ask about", anchor=False)
    chosen = st.multiselect("Articles", list(by_id), key="filter_ids", placeholder="All articles",
                            format_func=lambda i: render.article_label(by_id[i]) if i in by_id else i)
    c1, c2 = st.columns(2)
    start = c1.date_input("Published from", value=None, key="filter_from", format="YYYY-MM-DD")
    end = c2.date_input("to", value=None, key="filter_to", format="YYYY-MM-DD")
    k = st.slider("Passages to read", 1, 12, min(settings.top_k, 12), key="k",
                  help="How many retrieved passages the answer may draw on.")
    modes = ["extractive"] + (["llm"] if settings.llm_model else [])
    mode = st.selectbox("Answer mode", modes, index=modes.index(settings.answer_mode) if settings.answer_mode in modes else 0,
                        key="mode", help="extractive: the best sentences of the passages, quoted. "
                        "llm: a written answer with citations (offered when RAG_LLM_MODEL is set, with RAG_LLM_BASE_URL).")
    if start and end and start > end:
        st.warning("The date range is empty: 'from' is after 'to'.")
    filters = Filters(article_ids=tuple(i for i in chosen if i in by_id),
                      published_from=_iso(start), published_to=_iso(end))
    return filters, k, mode


def _iso(d: date | None) -> str | None:
    return d.isoformat() if isinstance(d, date) else None


# -- chat


def show_answer(answer: Answer, turn: int, names: dict[str, str], settings: Settings) -> None:
    show_sourced(answer, turn, names)
    conversations.rating(settings, turn)


def show_sourced(answer: Answer, turn: int, names: dict[str, str]) -> None:
    """The answer, what was searched, its notes, and its sources (or, declined, the closest passages)."""
    prefix = f"t{turn}"
    st.html(render.answer_html(answer, prefix))
    timebar.searched_caption(answer)
    for note in answer.notes:  # e.g. the LLM failed and this is the extractive fallback, or markers were dropped
        st.caption(f":material/info: {render.md_escape(note)}")
    unsupported = [s for s in getattr(answer, "sentences", ()) if not s.supported]
    if unsupported:
        st.warning("Not supported by the cited passages:\n\n" + "\n\n".join(
            f"✗ {render.md_escape(s.text)}" + (f" ({render.md_escape(s.reason)})" if s.reason else "") for s in unsupported))
    if answer.abstained:
        if answer.passages:
            with st.expander("Closest passages searched"):
                for p in answer.passages[:5]:
                    st.html(f'<div class="rag-meta">{render.esc(p.title)}</div>'
                            f'<div class="rag-passage">{render.esc(p.text[:300])}…</div>')
        return
    if answer.citations:
        st.html('<div class="rag-sources">Sources</div>')
    for c in answer.citations:
        st.html(render.citation_html(c, prefix, names, note=conversations.note(turn, c.number)))
        st.button("Open the article at this passage", key=f"open-{turn}-{c.number}", type="tertiary",
                  icon=":material/article:", on_click=open_article, args=(turn, c.number))


def open_article(turn: int, number: int) -> None:
    st.session_state.reading = (turn, number)


@st.dialog("Article", width="large")
def article_dialog(res: Resources, turn: int, number: int) -> None:
    turns = st.session_state.turns
    c = next((x for x in turns[turn][1].citations if x.number == number), None) if turn < len(turns) else None
    if c is None:
        st.error("That citation is no longer in the conversation.")
        return
    try:
        article = res.library.article(c.article_id)
    except RagError as exc:
        st.error(str(exc))
        return
    start, end = c.start, c.end
    if article.text[start:end] != c.passage:  # re-indexed since the answer: find the passage again
        start = article.text.find(c.passage)
        end = start + len(c.passage)
        if start < 0:
            st.warning("The article changed since this answer; the cited passage is no longer in it.")
            start = end = 0
    meta = [render.source_html(article.source, original_names(res.library.settings.uploads_path))]
    meta.append(render.date_html(article.published))
    st.html(f'<div class="rag-card-head"><span class="rag-num">{number}</span>'
            f'<span class="rag-title">{render.esc(article.title)}</span></div>'
            f'<div class="rag-meta">{" · ".join(meta)} · <a href="#rag-cited">jump to the cited passage</a></div>')
    st.caption("Light shading: the retrieved passage. Yellow: the sentences the answer quotes.")
    st.html(render.article_html(article.text, (start, end), [(start + s, start + e) for s, e in c.quotes]))


def answer_stream(chain, request: dict, out: list[Answer]):
    """Yield the answer's new text word by word as the chain produces it; the last Answer lands in ``out``."""
    shown = ""
    for answer in chain.stream(request):
        out[:] = [answer]
        new = answer.text[len(shown):] if answer.text.startswith(shown) else answer.text
        shown = answer.text
        for word in new.split(" "):
            if word:
                yield render.md_escape(word) + " "
                time.sleep(STREAM_WORD_DELAY)


def ask(res: Resources, question: str, filters: Filters, k: int, mode: str, as_of: date | None = None) -> None:
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        try:
            chain = load_chain(settings_key(res.library.settings), mode)
        except InputError as exc:
            st.error(str(exc))
            return
        request = {"question": question, "history": history(), "filters": filters, "k": k, "as_of": as_of}
        st.session_state.last_request = request
        out: list[Answer] = []
        slot = st.empty()
        try:
            with slot.container(), st.spinner("Searching the articles…", show_time=False):
                st.write_stream(answer_stream(chain, request, out))
        except RagError as exc:
            slot.empty()
            st.error(str(exc))
            return
        except Exception as exc:  # a failing answerer (e.g. an unreachable LLM) must not end the page with a traceback
            log.exception("answering failed")
            slot.empty()
            st.error(f"The answer failed: {type(exc).__name__}: {exc}")
            return
        if not out:
            slot.empty()
            st.error("No answer was produced.")
            return
        turn = len(st.session_state.turns)
        st.session_state.turns.append((question, out[-1]))
        conversations.record(res.library.settings, question, out[-1], filters, k, mode)
        with slot.container():
            show_answer(out[-1], turn, original_names(res.library.settings.uploads_path), res.library.settings)


def example_questions(infos) -> list[str]:
    """The seed's own questions, else one about each of the newest headlines, one story each."""
    out = [q for a in infos for q in SEED_EXAMPLES.get(a.title, [])]
    asked: list[set[str]] = []
    for a in infos:
        if len(out) >= 3:
            break
        terms = content_terms(a.title)
        if a.title in SEED_EXAMPLES or any(2 * len(terms & t) >= min(len(terms), len(t)) for t in asked):
            continue  # "Will NJ get Trump's $1,776 'Warrior Dividend'?" after "What is Trump's warrior dividend?"
        asked.append(terms)
        out.append(f"What is “{_CUT_OFF.sub('', a.title)}” about?")
    return out[:3]


def settings_key(settings: Settings) -> str:
    return settings.model_dump_json()


def main() -> None:
    st.set_page_config(page_title="Ask the articles", page_icon=":material/newspaper:", layout="centered")
    st.html(render.CSS)
    init_state()
    try:
        settings = Settings()
    except Exception as exc:  # pydantic validation of RAG_* variables
        st.error(f"Invalid configuration: {exc}")
        st.stop()
    try:
        with st.spinner("Loading the model and the article store…"):
            res = load_resources(settings_key(settings))
    except RagError as exc:
        st.error(str(exc))
        st.stop()
    if not res.seeded:
        index_seeds(res)
    conversations.resume(settings, res.library)

    sidebar = st.sidebar
    ask_box, conversation_box, library_box = sidebar.container(), sidebar.container(), sidebar.container()
    with library_box:
        st.divider()
        library_panel(res)
    with ask_box:
        filters, k, mode = filters_panel(res)
        as_of = timebar.as_of_input()

    st.title("Ask the articles", anchor=False)
    infos = res.library.articles()
    scope = counted(len(infos), "article")
    if filters.article_ids:
        scope = f"{len(filters.article_ids)} of {scope}"
    if filters.published_from or filters.published_to:
        scope += f", published {filters.published_from or '…'} to {filters.published_to or '…'}"
    if as_of != date.today():
        scope += f", as of {as_of.isoformat()}"
    newest = max((a.published for a in infos if a.published and a.published <= as_of.isoformat()), default=None)
    if newest:  # how fresh the news is: "this week" asked of last year's articles finds last year's
        scope += f"; the newest from {newest}"
    st.caption(f"Answers quote the indexed news articles and cite them; searching {scope}.")

    names = original_names(settings.uploads_path)
    timeline.view(res.library, filters, names)
    for i, (question, answer) in enumerate(st.session_state.turns):
        with st.chat_message("user"):
            st.text(question)
        with st.chat_message("assistant"):
            show_answer(answer, i, names, settings)

    prompt = st.chat_input("Ask a question about the articles", disabled=not infos,
                           max_chars=settings.max_question_chars, key="prompt")
    prompt = prompt or st.session_state.pop("pending", None)
    if prompt:
        ask(res, prompt, filters, k, mode, as_of)
    elif not st.session_state.turns:
        if not infos:
            st.info("The library is empty: add articles in the sidebar.")
        else:
            st.markdown("**Try asking**")
            for i, q in enumerate(example_questions(infos)):
                st.button(render.md_escape(q), key=f"example-{i}", icon=":material/chat:",
                          on_click=lambda q=q: st.session_state.update(pending=q))

    if st.session_state.reading is not None:
        turn, number = st.session_state.reading
        st.session_state.reading = None
        article_dialog(res, turn, number)

    with conversation_box:
        conversations.panel(settings, res.library)


main()
