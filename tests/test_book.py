"""The course website (``make book``): built from the lessons as they are, read as a reader would.

The site is built once for this module by ``tools/build_book.py`` (what ``make book`` runs) into a
temporary folder. Its build treats every Sphinx warning as an error (a broken internal link, a
missing image), so the build passing is the first check. What a reader must and must not get is
checked against the lesson notebooks themselves: every lesson folder is a page, every stored
figure is on it, no text of a hidden test is anywhere in the site, every solution is inside a
closed toggle, nothing is loaded from another host. The browser test serves the site on
127.0.0.1, blocks every other host, and opens every page in Debian's Chromium (as
``tests/test_browser.py`` does); its screenshots go to ``artifacts/book/``.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import html
import http.server
import json
import re
import subprocess
import sys
import threading
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from course_utils.classroom import grading, workspace
from course_utils.widgets import STORED_VIEW_NOTE

ROOT = Path(__file__).resolve().parents[1]
LESSONS = grading.lesson_names(ROOT)
SCREENSHOTS = ROOT / "artifacts" / "book"
SCREENSHOT_LESSONS = LESSONS[1], LESSONS[5]  # the failure's explorer; maths and a figure
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def source(lesson: str):
    return nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)


def page_path(site: Path, lesson: str) -> Path:
    return site / "lessons" / lesson / f"{lesson}.html"


def normal(text: str) -> str:
    """Whitespace folded: pages break and indent code and text their own way."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("book")
    run = subprocess.run(
        [sys.executable, "tools/build_book.py", str(build)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    print(run.stdout[-2000:])
    assert run.returncode == 0, f"make book failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return build / "site"


@pytest.fixture(scope="module")
def learner(tmp_path_factory) -> Path:
    """The learner edition of every lesson, as ``make lab`` writes it."""
    folder = tmp_path_factory.mktemp("learner")
    workspace.learner_edition(LESSONS, ROOT, folder)
    return folder


# --- what the pages are made of, parsed with the standard library ---


class Page(HTMLParser):
    """An HTML page's text, each piece marked whether it sits inside a closed ``<details>`` (a
    toggle), and its ``src=`` attributes, ``<link>`` elements and ``<img>`` sources."""

    VOID = {"img", "link", "meta", "br", "hr", "input", "source", "col", "area", "base", "wbr"}

    def __init__(self, text: str):
        super().__init__()
        self.open_elements: list[tuple[str, bool]] = []  # (tag, is a closed <details>)
        self.text: list[tuple[str, bool]] = []
        self.sources: list[str] = []
        self.links: list[dict] = []
        self.images: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "src" in attributes:
            self.sources.append(attributes["src"] or "")
        if tag == "link":
            self.links.append(attributes)
        if tag == "img":
            self.images.append(attributes.get("src", ""))
        if tag not in self.VOID:
            self.open_elements.append((tag, tag == "details" and "open" not in attributes))

    def handle_endtag(self, tag):
        while self.open_elements:  # tolerate elements left open, as browsers do
            if self.open_elements.pop()[0] == tag:
                break

    def handle_data(self, data):
        self.text.append((data, any(closed for _, closed in self.open_elements)))

    def shown(self) -> str:
        return normal("".join(t for t, hidden in self.text if not hidden))

    def toggled(self) -> str:
        return normal("".join(t for t, hidden in self.text if hidden))


@functools.cache
def parsed(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def readable_text(path: Path) -> str:
    """What a file of the site says, whatever its kind: a page's text, a notebook's cells."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""  # images and fonts
    if path.suffix == ".html":
        return normal(html.unescape("".join(t for t, _ in Page(text).text)) + " " + text)
    if path.suffix == ".ipynb":
        notebook = nbformat.reads(text, as_version=4)
        parts = [cell.source for cell in notebook.cells]
        parts += [json.dumps(cell.get("outputs", []), ensure_ascii=False) for cell in notebook.cells]
        return normal("\n".join(parts))
    return normal(text)


def only_in(regions: re.Pattern, *lessons: str) -> list[str]:
    """The lines that only those regions of the lessons' cells contain (not their other text)."""
    inside, outside = [], []
    for cell in [cell for lesson in lessons for cell in source(lesson).cells]:
        inside += [line for region in regions.findall(cell.source) for line in region.splitlines()]
        outside.append(regions.sub("", cell.source))
    elsewhere = normal("\n".join(outside))
    return [normal(line) for line in inside if normal(line) and normal(line) not in elsewhere]


# --- the build ---


def test_every_lesson_is_a_page_in_order_with_previous_and_next(site):
    pages = [page_path(site, lesson) for lesson in LESSONS]
    assert [p for p in pages if not p.is_file()] == []
    for before, after in zip(pages, pages[1:], strict=False):
        links = {link.get("rel"): link.get("href") for link in parsed(before).links}
        assert (before.parent / links["next"]).resolve() == after.resolve()
        links = {link.get("rel"): link.get("href") for link in parsed(after).links}
        assert (after.parent / links["prev"]).resolve() == before.resolve()
    # The table of contents of every page lists the lessons, in order.
    landing = (site / "index.html").read_text(encoding="utf-8")
    navigation = re.search(r'<nav class="[^"]*bd-docs-nav.*?</nav>', landing, re.DOTALL).group(0)
    listed = re.findall(r'href="lessons/([^/"]+)/', navigation)
    assert listed == LESSONS


def test_landing_page_says_what_the_course_is_and_lists_every_lesson(site):
    page = parsed(site / "index.html")
    text = page.shown()
    landing = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="https://stackoverflow.com/questions/33641799"' in landing
    assert "make lab" in text and "Who it is for" in text
    assert 'href="README.html#for-instructors"' in landing
    assert (site / "README.html").is_file()
    for lesson in LESSONS:
        notebook = source(lesson)
        title = re.search(r"^# (.+)$", notebook.cells[0].source, re.MULTILINE).group(1)
        graded = [c.metadata["nbgrader"] for c in notebook.cells if "nbgrader" in c.metadata]
        answers = sum(1 for g in graded if g.get("solution"))
        points = sum(g.get("points", 0) for g in graded if g.get("grade"))
        row = re.search(
            rf'<tr[^>]*>\s*<td[^>]*><p><a [^>]*href="lessons/{lesson}/{lesson}.html"'
            r"[^>]*>(.*?)</a></p></td>\s*<td[^>]*><p>(.*?)</p></td>\s*<td[^>]*><p>(.*?)</p></td>",
            landing,
            re.DOTALL,
        )
        assert row, f"no row for {lesson} in the landing page's table"
        assert normal(html.unescape(re.sub("<[^>]+>", "", row.group(1)))) == normal(
            title.replace("`", "")
        )
        assert row.group(3) == (f"{answers} ({points} points)" if answers else "none")
        # the time the lesson states, or until it does, the reading time of its prose
        assert re.search(r"\d+\s*(?:minutes?|min|hours?|h)\b", row.group(2)), row.group(2)


def test_every_stored_figure_is_an_image_on_its_page(site):
    checked = 0
    for lesson in LESSONS:
        page = page_path(site, lesson)
        shown = {
            hashlib.sha256((page.parent / src).read_bytes()).hexdigest()
            for src in parsed(page).images
            if (page.parent / src).is_file()
        }
        assert len(shown) == len(set(parsed(page).images)), f"{lesson}: an image file is missing"
        stored = [
            hashlib.sha256(base64.b64decode(output.data["image/png"])).hexdigest()
            for cell in source(lesson).cells
            if "BEGIN HIDDEN TESTS" not in cell.source  # the site leaves their outputs out
            for output in cell.get("outputs", [])
            if "image/png" in output.get("data", {})
        ]
        missing = [index for index, digest in enumerate(stored) if digest not in shown]
        assert missing == [], f"{lesson}: stored figures {missing} are not on its page"
        checked += len(stored)
    assert checked, "no lesson stores a figure: nothing was checked"


def test_each_explorer_says_it_is_live_in_jupyterlab_and_no_grading_noise_is_shown(site):
    for lesson in LESSONS:
        text = parsed(page_path(site, lesson)).shown()
        explorers = [
            output
            for cell in source(lesson).cells
            for output in cell.get("outputs", [])
            if str(output.get("data", {}).get("text/plain", "")).endswith(STORED_VIEW_NOTE)
        ]
        assert text.count("This explorer is live in JupyterLab") == len(explorers), lesson
        assert STORED_VIEW_NOTE not in text
        for noise in ["NBVAL_", "BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "run/s]"]:
            assert noise not in text, f"{lesson} shows {noise!r}"  # run/s]: a progress bar


def test_nothing_is_loaded_from_another_host(site):
    remote = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
    navigation = {"index", "search", "next", "prev"}  # links, not loads
    found = []
    for path in site.rglob("*.html"):
        page = parsed(path)
        found += [f"{path.name}: src={s}" for s in page.sources if remote.match(s)]
        found += [
            f"{path.name}: <link {link}>"
            for link in page.links
            if link.get("rel") not in navigation and remote.match(link.get("href") or "")
        ]
    for path in site.rglob("*.css"):
        text = path.read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)  # licences name their homes
        found += [
            f"{path.name}: {m.group(0)}"
            for m in re.finditer(r"""(url\(\s*['"]?|@import\s+['"])(https?:)?//[^)'"\s]*""", text)
        ]
    assert found == []


def test_no_text_of_a_hidden_test_is_anywhere_in_the_site(site):
    # Lines such as "import importlib" that a lesson also shows elsewhere are not looked for.
    hidden = list(dict.fromkeys(only_in(HIDDEN, *LESSONS)))
    assert hidden, "no lesson has hidden tests: nothing to look for"
    leaks = []
    for path in [p for p in site.parent.rglob("*") if p.is_file()]:  # the site and its sources
        text = readable_text(path)
        leaks += [f"{path.relative_to(site.parent)}: {line}" for line in hidden if line in text]
    assert leaks == [], "\n".join(leaks)


def test_every_solution_is_inside_a_closed_show_solution_toggle(site, learner):
    for lesson in LESSONS:
        page = parsed(page_path(site, lesson))
        stubs = [
            normal(cell.source)
            for cell in nbformat.read(learner / f"{lesson}.ipynb", as_version=4).cells
            if cell.metadata.get("nbgrader", {}).get("solution")
        ]
        assert page.shown().count("Show solution") == 0  # each label is a closed toggle's
        assert page.toggled().count("Show solution") == len(stubs)
        assert [stub for stub in stubs if stub not in page.shown()] == []  # as a learner has it
        for line in only_in(SOLUTION, lesson):
            assert line in page.toggled(), f"{lesson}: {line!r} not in a solution toggle"
            assert line not in page.shown(), f"{lesson}: {line!r} shown outside a toggle"


def test_each_lesson_offers_its_learner_edition_for_download(site, learner):
    for lesson in LESSONS:
        page = page_path(site, lesson)
        links = re.findall(
            r'<a class="reference download internal" download="" href="([^"]+)"',
            page.read_text(encoding="utf-8"),
        )
        assert [Path(link).name for link in links] == [f"{lesson}.ipynb"]
        download = (page.parent / urllib.parse.unquote(links[0])).read_text(encoding="utf-8")
        assert download == (learner / f"{lesson}.ipynb").read_text(encoding="utf-8")


def test_every_page_says_which_commit_it_was_built_from(site):
    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    for path in [site / "index.html", *(page_path(site, lesson) for lesson in LESSONS)]:
        text = path.read_text(encoding="utf-8")
        banner = re.search(r'<div class="bd-header-announcement.*?</div>', text, re.DOTALL)
        assert banner and f"Built from commit {commit}" in banner.group(0), path.name


def test_a_page_never_has_live_widgets_only_their_pictures():
    # No lesson stores widget state today (tools/execute_lessons.py drops it); one that did
    # must still show its explorer's picture, and load no widget script.
    sys.path.insert(0, str(ROOT / "tools"))
    import build_book

    png = base64.b64encode(b"a stored picture").decode()
    explorer = nbformat.v4.new_output(
        "display_data",
        data={
            build_book.WIDGET_VIEW: {"model_id": "0" * 32, "version_major": 2},
            "image/png": png,
            "text/plain": f"Explorer: x {STORED_VIEW_NOTE}",
        },
    )
    progress = nbformat.v4.new_output(
        "display_data", data={build_book.WIDGET_VIEW: {}, "text/plain": "runs: 0%|"}
    )
    cell = nbformat.v4.new_code_cell("explorer", outputs=[explorer, progress])
    lesson = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# A lesson"), cell],
        metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {"0": {}}}}},
    )
    page = build_book.prepare_lesson(lesson, copy.deepcopy(lesson), "x.ipynb")
    assert "widgets" not in page.metadata
    shown = page.cells[2]  # after the title and the download link
    assert [output.data for output in shown.outputs] == [
        {"image/png": png, "text/plain": f"Explorer: x {STORED_VIEW_NOTE}"}
    ]
    assert "live in JupyterLab" in page.cells[3].source


# --- in a browser, with every other host blocked ---


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from test_browser import CHROMIUM_ARGS, browser_missing, find_chromium

    executable = find_chromium()
    if executable is None:
        browser_missing("no chromium on PATH (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("chromium-home")
    env = {"XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS, env=env
        )
        yield chromium
        chromium.close()


class Visit:
    """A fresh browser context on the served site; every request to another host is aborted
    and recorded, and so is every console error and page error."""

    def __init__(self, browser, base: str):
        self.base = base
        self.elsewhere: list[str] = []
        self.problems: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self.route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self.failed)

    def route(self, route):
        if route.request.url.startswith(self.base + "/"):
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort()

    def failed(self, request):
        if request.url.startswith(self.base + "/"):
            self.problems.append(f"failed: {request.url} {request.failure}")

    def open(self, path: str) -> None:
        self.page.goto(f"{self.base}/{path}", wait_until="load")
        self.page.wait_for_load_state("networkidle")
        if self.page.locator(".math").count():
            # MathJax typesets after load; its promise settles when the page's maths is done.
            try:
                self.page.wait_for_function(
                    "() => window.MathJax?.startup?.promise !== undefined", timeout=30_000
                )
            except Exception as error:
                pytest.fail(f"{path}: MathJax did not load ({error}); outside: {self.elsewhere}")
            self.page.evaluate("() => MathJax.startup.promise")

    def maths(self) -> dict:
        return self.page.evaluate(
            """() => ({
                source: document.querySelectorAll('.math').length,
                rendered: document.querySelectorAll('mjx-container').length,
                unrendered: [...document.querySelectorAll('.math')]
                    .filter(m => !m.querySelector('mjx-container')).length,
            })"""
        )

    def images(self) -> list[dict]:
        return self.page.evaluate(
            """() => [...document.images].map(img => ({
                src: img.currentSrc, loaded: img.complete && img.naturalWidth > 0}))"""
        )


@pytest.mark.browser
def test_pages_in_a_browser_with_every_other_host_blocked(browser, served):
    visit = Visit(browser, served)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = ["index.html", *(f"lessons/{lesson}/{lesson}.html" for lesson in LESSONS)]
    pages += ["README.html", "lessons/README.html"]
    report = {}
    try:
        for path in pages:
            visit.open(path)
            maths, images = visit.maths(), visit.images()
            report[path] = (maths, len(images))
            assert maths["unrendered"] == 0, f"{path}: maths left unrendered {maths}"
            assert all(i["loaded"] for i in images), f"{path}: {images}"
            name = Path(path).stem
            if path == "index.html":
                visit.page.screenshot(path=SCREENSHOTS / "index.png", full_page=True)
            if name in SCREENSHOT_LESSONS:  # its top, and its first explorer (or figure)
                visit.page.screenshot(path=SCREENSHOTS / f"{name}.png")
                explorer = visit.page.get_by_text("This explorer is live in JupyterLab")
                shown = explorer if explorer.count() else visit.page.locator(".cell_output img")
                # That line (or the figure) at the bottom of the view, the figure above it.
                shown.first.evaluate("e => { e.scrollIntoView({block: 'end'}); scrollBy(0, 80); }")
                visit.page.screenshot(path=SCREENSHOTS / f"{name}-explorer.png")
        print(report)
        assert sum(maths["rendered"] for maths, _ in report.values()), "no maths anywhere?"
        assert sum(images for _, images in report.values()), "no images anywhere?"
        assert visit.problems == []
        assert visit.elsewhere == []

        # The search page finds a word of the lessons, offline (its index is a file of the site).
        visit.page.goto(f"{served}/search.html?q=logsumexp", wait_until="load")
        found = visit.page.locator("#search-results li a")
        found.first.wait_for(timeout=30_000)
        assert any("/lessons/" in href for href in found.evaluate_all("a => a.map(e => e.href)"))
        visit.page.screenshot(path=SCREENSHOTS / "search.png")

        # A solution: closed, then opened by a click on its label.
        visit.open(f"lessons/{LESSONS[0]}/{LESSONS[0]}.html")
        toggle = visit.page.locator("details.hide").first
        solution = toggle.locator(".cell_input")
        assert not toggle.evaluate("d => d.open") and not solution.is_visible()
        toggle.locator("summary").click()
        assert toggle.evaluate("d => d.open") and solution.is_visible()
        toggle.scroll_into_view_if_needed()
        visit.page.screenshot(
            path=SCREENSHOTS / f"{LESSONS[0]}-solution-open.png", animations="disabled"
        )
        assert visit.problems == [] and visit.elsewhere == []
    finally:
        visit.context.close()
