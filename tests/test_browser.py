"""The course as students see it: JupyterLab in a real browser, lessons that run, widgets that respond.

The server is started by the README's command (``make lab`` runs ``python -m course_utils lab``,
the same entry point as here, with extra arguments for a port, a token and no browser) and driven
with Playwright through Debian's ``chromium`` (installed with apt; no browser is downloaded).

It serves a copy of ``lessons/`` with every output cleared: a notebook saved with widget views
from a dead kernel shows "Error displaying widget" for those stored views, which a test would
mistake for a broken lesson (TOOLCHAIN_NOTES §4), and autosave must not write into the checkout.
The kernels inherit this pytest session's ``$BATCH205_CACHE`` (root ``conftest.py``), which nbval
has warmed by running the lessons first, so the lessons' sweeps are read from disk.

A second server is started the way a new learner starts ``make lab``: on a fresh workspace, which
the entry point writes first (the learner edition, ``course_utils.classroom.workspace``); lesson
01 is run there with Run All, which must go through and show the "not done yet" lines, and then
exercise 1 is answered in the browser and its check rerun.

Screenshots (one per lesson, the explorer before and after the control change) are written to
``artifacts/screenshots/``. Without a browser the test fails when ``CI`` is set and skips otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb"))
EXPLORER_LESSON = "02-the-failure"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
# JupyterLab user settings written before the server starts: no news/update toast over the page,
# and every cell kept in the DOM (the default windowing detaches cells scrolled out of view, so
# their prompts and outputs could not be checked).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
WIDGET_MANAGER_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
NBGRADER_STUDENT_PLUGINS = [
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:validate-assignment",
]

SERVER_START_TIMEOUT = 120  # s; 5–13 s measured, the machine is shared
WORKSPACE_START_TIMEOUT = 300  # s; first use releases every lesson first (20–60 s measured)
LEARNER_LESSON = "01-naive-tutorial"
STORED_VIEW_LESSON = (
    "06-stable-logits"  # its explorer needs no data: the stored view is its only output
)
# Exercise 1 of the learner's lesson, answered as a learner would type it.
LEARNER_ANSWER = """def my_softmax(logits):
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)
"""
LESSON_RUN_TIMEOUT = 600  # s; a lesson runs in under 60 s cold on an idle machine; this one is shared
WIDGET_TIMEOUT = 60  # s; for widgets to render, and for the explorer to re-render


def browser_missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test", pytrace=False)
    pytest.skip(f"{reason} (CI installs it; see .ci/run)")


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_lessons_without_outputs(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in target.rglob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        notebook.metadata.pop("widgets", None)  # saved widget state of the kernel that made it
        nbformat.write(notebook, path)


@dataclass
class Lab:
    url: str
    token: str
    process: subprocess.Popen
    log: Path

    def api(self, path: str):
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(line for line in text[-lines:] if "running over TCP without" not in line)


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process id (it shuts its kernels down), SIGKILL to its group if stuck."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the server and its kernels
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = find_chromium()
    if executable is None:
        browser_missing("no chromium on PATH (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_missing("Playwright for Python is not installed (the test extra of pyproject.toml)")
    home = tmp_path_factory.mktemp("chromium-home")
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS, env=env
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory) -> Lab:
    """JupyterLab on 127.0.0.1 with a token, started by ``python -m course_utils lab``."""
    scratch = tmp_path_factory.mktemp("lab")
    served = scratch / "lessons"
    copy_lessons_without_outputs(LESSONS_DIR, served)
    return start_lab(request, scratch, [f"--ServerApp.root_dir={served}"], SERVER_START_TIMEOUT)


@pytest.fixture(scope="module")
def learner_lab(request, tmp_path_factory) -> Lab:
    """``make lab`` as a new learner starts it: a fresh workspace, written by the entry point."""
    scratch = tmp_path_factory.mktemp("learner-lab")
    return start_lab(
        request, scratch, [f"--workspace={scratch / 'workspace'}"], WORKSPACE_START_TIMEOUT
    )


def start_lab(request, scratch: Path, where: list[str], timeout: float) -> Lab:
    env = dict(os.environ)  # keeps BATCH205_CACHE and BATCH205_DATA of this session
    for variable in [
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "IPYTHONDIR",
        "MPLCONFIGDIR",
        "npm_config_cache",  # `jupyter lab` runs `npm prefix --global`, which logs there
    ]:
        env[variable] = str(scratch / variable.lower())
    for plugin, settings in LAB_SETTINGS.items():
        path = Path(env["JUPYTER_CONFIG_DIR"], "lab", "user-settings", f"{plugin}.jupyterlab-settings")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "course_utils",
        "lab",
        *where,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: which plugins are active
    ]
    log = scratch / "jupyterlab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    request.addfinalizer(lambda: stop_server(process))
    server = Lab(f"http://127.0.0.1:{port}", token, process, log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("/api/status")
            break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab not ready after {timeout} s:\n{server.log_tail()}")
            time.sleep(0.5)
    return server


@pytest.fixture(scope="module")
def context(browser, lab):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture(scope="module")
def ran_lessons(context, lab):
    """``ran_lessons(name)``: the lesson's page once Run All has finished; each lesson runs once.

    With ``start_next=True`` the next lesson's Run All is started before waiting for this one: its
    kernel is another process, so two lessons share the two cores and the test takes less time.
    """
    started, opened = {}, []

    def start(name: str) -> LessonPage:
        if name not in started:
            started[name] = "did not open"
            try:
                opened.append(LessonPage(context, lab, name))
                opened[-1].start_run_all()
                started[name] = opened[-1]
            except (Exception, pytest.fail.Exception) as error:
                started[name] = f"did not open: {error}"
        if isinstance(started[name], str):
            pytest.fail(f"{name} {started[name]}", pytrace=False)
        return started[name]

    def open_and_run(name: str, start_next: bool = False) -> LessonPage:
        lesson = start(name)
        names = lesson_names()
        following = names[names.index(name) + 1 :]
        if start_next and following and following[0] not in started:
            try:
                start(following[0])
            except pytest.fail.Exception:
                pass  # reported by that lesson's own test
        lesson.wait_until_run()
        lesson.page.bring_to_front()
        return lesson

    yield open_and_run
    for lesson in opened:
        lesson.page.close()


class LessonPage:
    """One lesson notebook open in its own tab (closing a tab skips the unsaved-changes prompt)."""

    def __init__(self, context, lab: Lab, name: str):
        self.lab, self.name = lab, name
        self.path = f"{name}/{name}.ipynb"
        self.problems: list[str] = []
        self.page = context.new_page()
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on(
            "console",
            lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"),
        )
        self.page.goto(f"{lab.url}/lab/tree/{urllib.parse.quote(self.path)}?reset&token={lab.token}")
        self.page.locator(".jp-Notebook .jp-Cell >> visible=true").first.wait_for(timeout=90_000)
        self.wait_for_idle_kernel()

    def wait_for_idle_kernel(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            states = [
                s["kernel"]["execution_state"]
                for s in self.lab.api("/api/sessions")
                if s["path"] == self.path
            ]
            if states == ["idle"]:
                return
            time.sleep(0.5)
        pytest.fail(f"{self.path}: no idle kernel after 90 s (sessions: {states})")

    def prompts(self) -> list[str]:
        """The input prompt of every code cell that has code ("[3]:", "[*]:" or "[ ]:")."""
        return self.page.evaluate(
            """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
                .filter(cell => cell.querySelector('.cm-content').textContent.trim() !== '')
                .map(cell => cell.querySelector('.jp-InputPrompt').textContent.trim())"""
        )

    def tracebacks(self) -> list[str]:
        return [
            text
            for text in self.page.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
            ).all_inner_texts()
            if "Traceback" in text
        ]

    def errors(self) -> list[str]:
        """Error outputs in the notebook's model: a SyntaxError is shown without "Traceback"."""
        return self.page.evaluate(
            """() => [...window.jupyterapp.shell.widgets('main')]
                .filter(panel => panel.content?.model?.cells)
                .flatMap(panel => [...panel.content.model.cells])
                .filter(cell => cell.type === 'code')
                .flatMap(cell => cell.outputs.toJSON())
                .filter(output => output.output_type === 'error')
                .map(output => `${output.ename}: ${output.evalue}`)"""
        )

    def start_run_all(self) -> None:
        """Run > Run All Cells, as a student would."""
        # Select the first cell by its prompt (the middle of the page may hold a link or a widget).
        self.page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
        self.page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        self.page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        self.started = time.monotonic()
        self.run_seconds, self.failure = None, None

    def wait_until_run(self) -> None:
        """Until every code cell has its number (or Run All stopped at an error)."""
        while self.run_seconds is None and self.failure is None:
            prompts = self.prompts()
            # Run All stops at an error: the cells after it go back to "[ ]:".
            if all(re.fullmatch(r"\[\d+\]:", p) for p in prompts) or (
                "[*]:" not in prompts and (self.errors() or self.tracebacks())
            ):
                self.run_seconds = time.monotonic() - self.started
            elif time.monotonic() - self.started > LESSON_RUN_TIMEOUT:
                self.failure = f"{self.path}: cells not all run after {LESSON_RUN_TIMEOUT} s: {prompts}"
            else:
                time.sleep(0.5)
        if self.failure:
            pytest.fail(self.failure, pytrace=False)

    def wait_for_widgets(self) -> None:
        """Until no widget shows "Loading widget..." (or the time runs out; the check reports it)."""
        deadline = time.monotonic() + WIDGET_TIMEOUT
        while time.monotonic() < deadline and "Loading widget" in self.outputs_text():
            time.sleep(0.5)

    def outputs_text(self) -> str:
        return "\n".join(self.page.locator(".jp-Notebook .jp-OutputArea").all_inner_texts())

    def screenshot(self, path: Path) -> None:
        """The whole notebook: the window is made as tall as the notebook for the picture."""
        viewport = self.page.viewport_size
        scroller = self.page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer").first
        extra = scroller.evaluate("e => e.scrollHeight - e.clientHeight")
        self.page.set_viewport_size(
            {"width": viewport["width"], "height": min(viewport["height"] + extra, 16000)}
        )
        self.page.wait_for_timeout(500)  # let JupyterLab lay the panels out again
        scroller.evaluate("e => { e.scrollTop = 0; }")  # Run All left it at the last cell
        self.page.wait_for_timeout(200)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=path)
        self.page.set_viewport_size(viewport)


def lesson_names():
    return [path.parent.name for path in LESSONS]


def test_students_extensions_are_active(context, lab):
    page = context.new_page()
    try:
        page.goto(f"{lab.url}/lab?reset&token={lab.token}")
        page.wait_for_function("window.jupyterapp !== undefined", timeout=90_000)
        page.evaluate("() => window.jupyterapp.restored")
        wanted = [WIDGET_MANAGER_PLUGIN]
        if importlib.util.find_spec("nbgrader") is not None:
            wanted += NBGRADER_STUDENT_PLUGINS
        active = page.evaluate(
            "ids => ids.filter(id => window.jupyterapp.isPluginActivated(id))", wanted
        )
        assert active == wanted, f"not active in JupyterLab: {sorted(set(wanted) - set(active))}"
    finally:
        page.close()


@pytest.mark.parametrize("name", lesson_names())
def test_lesson_runs_in_jupyterlab_without_errors_and_its_widgets_render(ran_lessons, name):
    lesson = ran_lessons(name, start_next=True)
    lesson.wait_for_widgets()
    lesson.screenshot(SCREENSHOTS / f"{name}.png")
    tracebacks = lesson.tracebacks()
    assert not tracebacks, f"{name}: error output in the browser:\n" + "\n\n".join(tracebacks)
    assert not lesson.errors(), f"{name}: cells raised {lesson.errors()}"
    text = lesson.outputs_text()
    assert "Error displaying widget" not in text, f"{name}: a widget failed: {lesson.problems}"
    assert "Loading widget" not in text, f"{name}: a widget never rendered in {WIDGET_TIMEOUT} s"
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in lesson.prompts()), lesson.prompts()
    print(f"{name}: ran in {lesson.run_seconds:.1f} s")


def test_lesson_02_explorer_redraws_when_the_batch_size_slider_moves(ran_lessons):
    assert EXPLORER_LESSON in lesson_names(), f"lessons/{EXPLORER_LESSON} is missing"
    lesson = ran_lessons(EXPLORER_LESSON)
    page = lesson.page
    # An Explorer: a VBox of the controls (HBox), the summary (HTML) and the figure (Image).
    explorer = page.locator(
        ".widget-vbox:has(> .widget-hbox .widget-slider):has(> .widget-image)"
    ).first
    explorer.wait_for(timeout=WIDGET_TIMEOUT * 1000)
    summary = explorer.locator(":scope > .widget-html").last  # after the title, if there is one
    image = explorer.locator(":scope > .widget-image")
    sliders = explorer.locator(".widget-slider")
    slider = sliders.filter(has_text=re.compile("batch", re.IGNORECASE))
    slider = slider.first if slider.count() else sliders.first
    handle, readout = slider.locator(".noUi-handle"), slider.locator(".widget-readout")

    def shown():
        return {
            "slider": readout.inner_text(),
            "summary": summary.inner_text(),
            "src": image.get_attribute("src"),
            "png_sha256": image.evaluate(
                """async img => {
                    const bytes = await (await fetch(img.src)).arrayBuffer();
                    const digest = await crypto.subtle.digest('SHA-256', bytes);
                    return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
                }"""
            ),
        }

    explorer.scroll_into_view_if_needed()
    before = shown()
    explorer.screenshot(path=SCREENSHOTS / f"{EXPLORER_LESSON}-explorer-before.png")
    # The keyboard on the slider's handle, as a student without a mouse would: Home (the smallest
    # batch size), or End if the slider already sits at its minimum.
    handle.focus()
    page.keyboard.press("Home")
    if readout.inner_text() == before["slider"]:
        page.keyboard.press("End")
    assert readout.inner_text() != before["slider"], "the slider did not move"
    page.wait_for_function(
        "([summary, image, text, src]) => summary.innerText !== text && image.src !== src",
        arg=[summary.element_handle(), image.element_handle(), before["summary"], before["src"]],
        timeout=WIDGET_TIMEOUT * 1000,
    )
    after = shown()
    explorer.screenshot(path=SCREENSHOTS / f"{EXPLORER_LESSON}-explorer-after.png")
    print(f"explorer before: {before}\nexplorer after:  {after}")
    assert after["summary"] != before["summary"]
    assert after["png_sha256"] != before["png_sha256"], "the figure's PNG did not change"
    assert not lesson.tracebacks() and not lesson.errors()


# --- the learner's path: `make lab` on a fresh workspace ---


def code_cells(page) -> list[dict]:
    """Every code cell of the open notebook: its source, prompt and output texts by kind."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => ({
            source: cell.querySelector('.cm-content').innerText,
            prompt: cell.querySelector('.jp-InputPrompt').textContent.trim(),
            stderr: [...cell.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(o => o.innerText).join('\\n'),
            stdout: [...cell.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')]
                .map(o => o.innerText).join('\\n'),
        }))"""
    )


def test_learner_runs_all_of_a_fresh_lesson_then_solves_an_exercise(browser, learner_lab):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        lesson = LessonPage(context, learner_lab, LEARNER_LESSON)
        lesson.start_run_all()
        lesson.wait_until_run()
        print(f"{LEARNER_LESSON}, learner edition: Run All in {lesson.run_seconds:.1f} s")
        lesson.screenshot(SCREENSHOTS / f"{LEARNER_LESSON}-learner-run-all.png")
        cells = [c for c in code_cells(lesson.page) if c["source"].strip()]
        assert all(re.fullmatch(r"\[\d+\]:", c["prompt"]) for c in cells), [c["prompt"] for c in cells]
        assert not lesson.tracebacks() and not lesson.errors(), lesson.errors()
        not_done = [c for c in cells if "not done yet" in c["stderr"]]
        assert [c["source"].split(" = ")[0].splitlines()[-1] for c in not_done] == [
            "my_softmax",
            "my_naive_cross_entropy",
            "my_naive_gradient",
        ]
        assert all(re.match(r"exercise \d not done yet: ", c["stderr"]) for c in not_done)

        # Exercise 1: type an answer into its cell, run it and then its check.
        answer = lesson.page.locator(".jp-Notebook .jp-CodeCell", has_text="def my_softmax(")
        answer.locator(".cm-content").click()
        lesson.page.keyboard.press("Control+a")
        lesson.page.keyboard.insert_text(LEARNER_ANSWER)
        lesson.page.keyboard.press("Shift+Enter")  # runs the answer, selects its check
        lesson.page.keyboard.press("Shift+Enter")  # runs the check
        check = lesson.page.locator(
            ".jp-Notebook .jp-CodeCell", has_text="my_softmax = check_softmax(my_softmax)"
        )
        check.locator("text=✓ my_softmax matches").wait_for(timeout=WIDGET_TIMEOUT * 1000)
        lesson.screenshot(SCREENSHOTS / f"{LEARNER_LESSON}-learner-exercise-1-solved.png")
        shown = next(c for c in code_cells(lesson.page) if "= check_softmax(" in c["source"])
        assert "not done yet" not in shown["stderr"] and "✓" in shown["stdout"]
        assert not lesson.tracebacks() and not lesson.errors()
    finally:
        context.close()


def test_solved_edition_shows_each_explorers_first_picture_without_running(browser, learner_lab):
    # A reader of the stored notebook (here the learner's read-only solved edition) has no live
    # widgets: each explorer's output must be its stored PNG, never "Error displaying widget".
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        problems = []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        path = f"solved/{STORED_VIEW_LESSON} (SOLVED).ipynb"
        page.goto(
            f"{learner_lab.url}/lab/tree/{urllib.parse.quote(path)}?reset&token={learner_lab.token}"
        )
        cell = page.locator(".jp-Notebook .jp-CodeCell", has_text="explorer = logit_gap_explorer(")
        picture = cell.locator(".jp-OutputArea-output.jp-RenderedImage img")
        try:
            picture.wait_for(timeout=90_000)
        finally:  # the page as the reader saw it, also when the picture never came
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"{STORED_VIEW_LESSON}-stored.png")
        assert picture.evaluate("img => img.complete && img.naturalWidth > 100")
        cell.screenshot(path=SCREENSHOTS / f"{STORED_VIEW_LESSON}-stored-explorer.png")
        text = "\n".join(page.locator(".jp-Notebook .jp-OutputArea").all_inner_texts())
        assert "Error displaying widget" not in text and "Loading widget" not in text
        assert not [p for p in problems if "widget" in p.lower()], problems
    finally:
        context.close()
