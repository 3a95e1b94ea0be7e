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


# Pages saved before their article loaded, as trafilatura extracts them: indexed, they would be quoted as news.
WALL_PAGES = {
    "cloudflare.html": ("""<html><head><title>Just a moment...</title></head><body><h1>www.example.com</h1>
        <h2>Checking if the site connection is secure</h2><noscript>Enable JavaScript and cookies to continue</noscript>
        <p>www.example.com needs to review the security of your connection before proceeding.</p></body></html>""",
                        "a JavaScript or browser check (“Checking if the site connection is secure”)"),
    "app.html": ("""<html><head><title>News App</title></head><body><noscript>You need to enable JavaScript to run
        this app.</noscript><div id="root"></div><script src="/static/js/main.js"></script></body></html>""",
                 "a JavaScript or browser check"),
    "paywall.html": ("""<html><head><title>Council approves new bridge</title></head><body><article>
        <h1>Council approves new bridge</h1><p>The council voted on Tuesday to</p><div class="paywall"><p>Subscribe to
        continue reading. Already a subscriber? Sign in.</p></div></article></body></html>""",
                     "a subscription or sign-in wall (“Subscribe to continue reading. Already a subscriber? Sign in.”) "
                     "and only 6 other words; save the page while signed in"),
    "consent.html": ("""<html><head><title>Before you continue to Example</title></head><body><h1>Before you continue to
        Example</h1><p>We use cookies and data to deliver and maintain services, measure audience engagement and improve
        the quality of our services. If you choose to Accept all, we will also use cookies to develop new services.
        Select Reject all to decline.</p><button>Reject all</button><button>Accept all</button></body></html>""",
                     "a cookie consent banner"),
}
STORY = ("The council voted on Tuesday to rebuild the harbour bridge, closed since engineers found cracks in two of "
         "its piers last winter. Work will start in May and take eighteen months, the mayor said, and a ferry will "
         "carry foot passengers across the harbour in the meantime. Shopkeepers on the east bank said the closure had "
         "cost them a third of their trade.")


@pytest.mark.parametrize("name", WALL_PAGES)
def test_a_page_that_is_a_wall_is_no_article_and_says_why(tmp_path, name):
    page, reason = WALL_PAGES[name]
    (tmp_path / name).write_text(page)
    arts, problems, _ = _load(tmp_path / name)
    assert not arts
    assert problems[0].reason.startswith("not an article: ") and reason in problems[0].reason


def test_a_record_that_is_a_wall_is_no_article(tmp_path):
    """A crawler's dump holds the same pages: the record is reported by its line, the others indexed."""
    f = tmp_path / "crawl.jsonl"
    f.write_text(json.dumps({"id": "w1", "title": "Just a moment...", "text": "Checking your browser before accessing "
                             "example.com. Please enable JavaScript and cookies to continue."}) + "\n"
                 + json.dumps({"id": "b1", "title": "Council approves new bridge", "text": STORY}) + "\n")
    arts, problems, warnings = _load(f)
    assert [a.id for a in arts] == ["b1"] and not warnings
    assert problems[0].path.endswith("crawl.jsonl:1")
    assert problems[0].reason == "not an article: a JavaScript or browser check (“Just a moment...”) and only 0 other words"
    # the interstitial's title over a story that loaded after all: nothing to leave out, nothing to warn about
    f.write_text(json.dumps({"id": "b2", "title": "Just a moment...", "text": STORY}) + "\n")
    arts, problems, warnings = _load(f)
    assert [a.text for a in arts] == [STORY] and not problems and not warnings


def test_a_page_saved_as_text_is_checked_for_walls_too(tmp_path):
    """A browser's "Save as text" keeps the wall: a text file that is only one is rejected, one after a story cut."""
    (tmp_path / "moment.txt").write_text("Just a moment...\n\nChecking if the site connection is secure\n\n"
                                         "Enable JavaScript and cookies to continue\n")
    (tmp_path / "bridge.md").write_text(f"# Council approves new bridge\n\n{STORY}\n\nAlready a subscriber? Sign in.\n")
    arts, problems, warnings = _load(tmp_path)
    assert [p.path.rsplit("/", 1)[-1] for p in problems] == ["moment.txt"]
    assert problems[0].reason == ("not an article: a JavaScript or browser check (“Just a moment...”) "
                                  "and only 0 other words")
    assert [a.title for a in arts] == ["Council approves new bridge"]
    assert arts[0].text.rstrip().endswith("in the meantime. Shopkeepers on the east bank said the closure had cost "
                                          "them a third of their trade.")
    assert warnings[0].path.endswith("bridge.md") and warnings[0].reason.startswith("left out a subscription")


def test_a_paywall_after_the_story_is_left_out_with_a_warning(tmp_path):
    f = tmp_path / "bridge.html"
    f.write_text(f"""<html><head><title>Council approves new bridge</title></head><body><article><h1>Council approves
        new bridge</h1><p>{STORY}</p><p>Subscribe to continue reading</p></article></body></html>""")
    arts, problems, warnings = _load(f)
    assert not problems and "eighteen months" in arts[0].text and "Subscribe" not in arts[0].text
    assert warnings[0].reason == ("left out a subscription or sign-in wall (“Subscribe to continue reading”): "
                                  "the article may be cut short")


def test_an_article_about_cookies_is_not_a_wall(tmp_path):
    f = tmp_path / "cookies.html"
    long_paragraph = ("Regulators said on Monday that sites which greet readers with a banner saying we use cookies must "
                      "offer a button to reject them that is as easy to find as the one to accept them, and that fines "
                      "will follow for publishers who hide it behind a second page of settings. " + STORY)
    short_lines = ["Access denied to reporters, the ministry said.", "Users must sign in to continue using the app.",
                   "Readers can change their privacy settings at any time."]  # wall-like words in short paragraphs
    f.write_text(f"<html><head><title>Cookie banners must offer a reject button</title></head><body><article>"
                 f"<p>{long_paragraph}</p>" + "".join(f"<p>{line}</p>" for line in short_lines) + "</article></body></html>")
    arts, problems, warnings = _load(f)
    assert not problems and not warnings
    assert "we use cookies" in arts[0].text and "harbour bridge" in arts[0].text
    assert all(line in arts[0].text for line in short_lines)


def test_a_wall_phrase_inside_a_story_is_the_story(tmp_path):
    """Only the first and last lines can be a wall: one inside a story is quoted speech or reporting."""
    paragraphs = [f"Paragraph {i} of the council's report on the bridge." for i in range(1, 6)]
    middle = "“Subscribe to continue reading” banners annoy readers, the survey found."
    f = tmp_path / "story.html"
    f.write_text("<html><head><title>Readers and banners</title></head><body><article>"
                 + "".join(f"<p>{p}</p>" for p in [*paragraphs, middle, *paragraphs]) + "</article></body></html>")
    arts, problems, warnings = _load(f)
    assert not problems and not warnings and middle in arts[0].text


def test_a_menu_page_is_indexed_with_a_warning(tmp_path):
    f = tmp_path / "home.html"
    f.write_text("<html><head><title>Home</title></head><body><nav><ul><li><a href='/'>Home</a></li>"
                 "<li><a href='/news'>News</a></li><li><a href='/sport'>Sport</a></li></ul></nav><p>Menu</p></body></html>")
    arts, problems, warnings = _load(f)
    assert len(arts) == 1 and not problems
    assert warnings[0].reason.startswith("only 3 words of text besides the headline")


def test_jsonl_records_and_a_broken_line(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"id": "x1", "title": "One", "text": "First text.", "published": "2020-01-02"}) + "\n"
                 + "{not json\n" + json.dumps({"title": "Two", "text": "Second text.", "url": "https://e.x/2"}) + "\n")
    arts, problems, _ = _load(f)
    assert [a.title for a in arts] == ["One", "Two"]
    assert arts[0].id == "x1" and arts[1].source == "https://e.x/2"
    assert len(problems) == 1 and "line 2" in problems[0].reason


def test_html_character_references_in_text_are_read_as_characters(tmp_path):
    arts, problems, _ = _load(BBC / "sport" / "191.txt", BBC / "business" / "210.txt", BBC / "politics" / "352.txt")
    assert not problems
    assert arts[0].title == "Tottenham bid £8m for Forest duo"
    assert "a G7 communiqué for achieving debt relief" in arts[1].text
    assert '"Mr Blair’s government is all talk.' in arts[2].text  # the corpus's "&#191;" stood for an apostrophe
    assert not any("&#" in a.title + a.text for a in arts)
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"title": "Ben &amp; Jerry&#x27;s", "text": "AT&T; P&G and &notareference; stay. &lt;3"}))
    (art,), _, _ = _load(f)
    assert (art.title, art.text) == ("Ben & Jerry's", "AT&T; P&G and &notareference; stay. <3")


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
