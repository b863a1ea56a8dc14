"""Build the course website from the lessons' stored outputs: ``make book``.

Usage: ``.venv/bin/python tools/build_book.py [BUILD_DIR]`` (default ``_build``). The site is
written to ``BUILD_DIR/site/``, a folder of static files that any web server serves as it is;
``BUILD_DIR/book/`` holds what it is built from. Both are made anew on every build.

Jupyter Book 1 builds it, without executing anything, from *prepared copies* of the lessons:
Jupyter Book copies the notebooks it builds into the site, so the copies must already be what a
reader may see. Each copy is taken from the learner edition that ``make lab`` hands out
(``course_utils.classroom.workspace.learner_edition``: nbgrader's release, hidden tests removed) with the
outputs of the lesson as stored; each exercise's stub is followed by the course's solution in a
cell that myst-nb shows behind a closed "Show solution" toggle. Every lesson folder
``lessons/NN-name/`` is a page, in order; the learner edition of each is offered for download.

MathJax comes from the npm package pinned in ``book/package-lock.json`` (``npm ci`` in ``book/``,
which ``make book`` runs), so no page loads anything from another host. It goes into ``vendor/``
at the top of the site through ``html_extra_path``: every script in ``html_static_path`` would be
added to every page (TOOLCHAIN_NOTES §6). Widgets are never live on the site, so it needs no
widget scripts: an explorer is the picture stored with it. (Tried: ipywidgets' embedder,
``@jupyter-widgets/html-manager`` 1.0.15 with RequireJS 2.3.7, drew a stored slider, but it calls
MathJax 2's ``MathJax.Hub.Queue``, a page error beside MathJax 3, and looked for its icon fonts
at the top of the site.)
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_utils.classroom import grading, workspace  # noqa: E402
from course_utils.widgets import STORED_VIEW_NOTE  # noqa: E402

BOOK = ROOT / "book"
NODE_MODULES = BOOK / "node_modules"
VENDOR = "vendor"  # folder at the top of the site
# What pages may load, from each npm package: MathJax's TeX and MathML input with HTML output, and
# the parts it loads on demand (TeX extensions, fonts, menu, accessibility).
VENDORED = {
    "mathjax": [
        "LICENSE",
        "es5/tex-mml-chtml.js",
        "es5/input",
        "es5/output/chtml",
        "es5/ui",
        "es5/a11y",
        "es5/sre",
    ],
}
MATHJAX = f"{VENDOR}/mathjax/es5/tex-mml-chtml.js"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

SOLUTION_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
SHOW_SOLUTION = {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"}
EXPLORER_LINE = (
    "*This explorer is live in JupyterLab (`make lab`): there its controls redraw the picture. "
    "Here you see the picture stored with the lesson.*"
)
# A lesson says how long it takes in its first cell, e.g. "Time: about 45 minutes".
DURATION = re.compile(
    r"(?:about |~|≈ ?)?\d+(?:\s*(?:–|-|to)\s*\d+)?\s*(?:minutes?|min|hours?|h)\b", re.IGNORECASE
)


def prepare_lesson(source, learner, download: str):
    """The page of a lesson: the learner edition's cells with the stored outputs, solutions toggled.

    ``source`` is the lesson as stored (solutions, hidden tests, outputs), ``learner`` its learner
    edition (nbgrader's release of the same cells), ``download`` the path of that edition.
    """
    page = nbformat.v4.new_notebook(metadata=copy.deepcopy(source.metadata))
    page.metadata.pop("widgets", None)  # widget state: no kernel, no live widgets on the site
    for cell, released in zip(source.cells, learner.cells, strict=True):
        assert cell.id == released.id, f"{cell.id} != {released.id}: not the same lesson"
        # Only the cell tags matter to the page (myst-nb reads them); nbgrader's metadata is noise.
        metadata = {"tags": cell.metadata["tags"]} if "tags" in cell.metadata else {}
        if cell.metadata.get("nbgrader", {}).get("solution"):
            page.cells.append(clean(released, source=released.source, metadata=metadata))
            solution = SOLUTION_LINE.sub("", cell.source)
            if cell.cell_type == "code":
                toggled = {"tags": ["hide-cell"], "mystnb": SHOW_SOLUTION}
                page.cells.append(clean(cell, source=solution, metadata=toggled))
                page.cells[-1].id = f"{cell.id}-solution"  # the stub keeps the lesson's cell id
            else:  # a written answer: sphinx-design's dropdown is closed until clicked
                page.cells.append(
                    nbformat.v4.new_markdown_cell(f":::{{dropdown}} Show solution\n{solution}\n:::")
                )
        else:
            # The learner edition's source: nbgrader removed the hidden tests. Where it did, the
            # stored outputs are partly theirs (their own ✓ lines, their own cases): drop them all.
            shown = clean(cell, source=released.source, metadata=metadata)
            if released.source != cell.source:
                shown.outputs = []
            page.cells.append(shown)
            if any(is_explorer(output) for output in shown.get("outputs", [])):
                page.cells.append(nbformat.v4.new_markdown_cell(EXPLORER_LINE))
    exercises = any(cell.metadata.get("nbgrader", {}).get("solution") for cell in source.cells)
    edition = (
        "the learner edition: the exercises without their solutions"
        if exercises
        else "it has no exercises"  # the appendix
    )
    page.cells.insert(
        1,
        nbformat.v4.new_markdown_cell(
            f"[Download this lesson's notebook](path:{download}) ({edition}, to run in JupyterLab)"
        ),
    )
    return page


def clean(cell, *, source: str, metadata: dict):
    """A copy of ``cell`` with ``source`` and ``metadata``, without nbval's marker lines, widget
    views (their other formats stay: an explorer's PNG) and what is left of progress bars."""
    cell = copy.deepcopy(cell)
    cell.source, cell.metadata = source, metadata
    if cell.cell_type == "code":
        for output in cell.outputs:
            output.get("data", {}).pop(WIDGET_VIEW, None)
        # Without its view a widget is a display of text alone: a progress bar frozen at "0%"
        # (tools/execute_lessons.py drops the views too) or a control's repr.
        cell.outputs = [
            output
            for output in cell.outputs
            if not (output.output_type == "display_data" and set(output.data) == {"text/plain"})
        ]
    return cell


def is_explorer(output) -> bool:
    return str(output.get("data", {}).get("text/plain", "")).endswith(STORED_VIEW_NOTE)


def lesson_row(lesson: str, notebook) -> str:
    """One row of the landing page's table: title, time and exercises, read from the lesson."""
    first = notebook.cells[0].source
    heading = re.search(r"^# (.+)$", first, re.MULTILINE)
    title = heading.group(1).strip() if heading else lesson
    stated = [
        DURATION.search(line)
        for line in first.splitlines()
        if re.search(r"\btime\b|\btakes\b", line, re.IGNORECASE)
    ]
    # Every lesson states its time (tools/lesson_times.py writes and checks that line).
    duration = next((found.group(0) for found in stated if found), "—")
    graded = [c.metadata["nbgrader"] for c in notebook.cells if "nbgrader" in c.metadata]
    answers = sum(1 for g in graded if g.get("solution"))
    points = sum(g.get("points", 0) for g in graded if g.get("grade"))
    exercises = f"{answers} ({points} points)" if answers else "none"
    return f"| [{title}](lessons/{lesson}/{lesson}.ipynb) | {duration} | {exercises} |"


def built_from() -> str:
    """Which commit of the course the site is built from, for the top of every page."""

    def git(*args):
        run = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else None

    commit = git("rev-parse", "--short=12", "HEAD")
    if commit is None:
        return "Built from a copy of the course outside git (commit unknown)."
    changed = " with uncommitted changes" if git("status", "--porcelain") else ""
    return f"Built from commit {commit}{changed} of the batch205 course."


def write_sources(src: Path) -> None:
    """The prepared lessons, the landing page, the READMEs and the Jupyter Book config."""
    lessons = grading.lesson_names(ROOT)
    downloads = src / "downloads"
    downloads.mkdir(parents=True)
    learner = workspace.learner_edition(lessons, ROOT, downloads)
    rows = []
    for lesson in lessons:
        source = nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
        edition = nbformat.reads(learner[lesson], as_version=4)
        page = prepare_lesson(source, edition, f"../../downloads/{lesson}.ipynb")
        (src / "lessons" / lesson).mkdir(parents=True)
        nbformat.write(page, src / "lessons" / lesson / f"{lesson}.ipynb")
        rows.append(lesson_row(lesson, source))
    # Lessons link to lessons/README.md; the landing page to README.md's instructors' section.
    shutil.copy(ROOT / "lessons" / "README.md", src / "lessons" / "README.md")
    shutil.copy(ROOT / "README.md", src / "README.md")
    shutil.copy(BOOK / "index.md", src / "index.md")
    table = "\n".join(["| lesson | time | graded exercises |", "|---|---|---|", *rows])
    toc = {
        "format": "jb-book",
        "root": "index",
        "parts": [
            {
                "caption": "Lessons",
                "chapters": [{"file": f"lessons/{name}/{name}"} for name in lessons],
            },
            {
                "caption": "About the course",
                "chapters": [{"file": "README"}, {"file": "lessons/README"}],
            },
        ],
    }
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (src / "_config.yml").write_text(yaml.safe_dump(config(table), sort_keys=False))


def config(table: str) -> dict:
    return {
        "title": "batch205",
        "author": "the batch205 course",
        "copyright": "",
        "only_build_toc_files": True,  # downloads/ holds notebooks that are files, not pages
        "execute": {"execute_notebooks": "off"},  # the stored outputs, as nbval checks them
        "html": {"announcement": built_from()},  # a banner at the top of every page
        "parse": {
            "myst_enable_extensions": ["colon_fence", "dollarmath", "substitution"],
            "myst_substitutions": {"lessons": table},
        },
        "sphinx": {
            "recursive_update": True,  # add to Jupyter Book's html_theme_options, not replace them
            "config": {
                # Jupyter Book's extensions less sphinx_thebe (code run on a remote kernel: not
                # used here; its inline script, added twice to every page, is a JavaScript error).
                "extensions": [
                    "sphinx_togglebutton",
                    "sphinx_copybutton",
                    "myst_nb",
                    "jupyter_book",
                    "sphinx_comments",
                    "sphinx_external_toc",
                    "sphinx.ext.intersphinx",
                    "sphinx_design",
                    "sphinx_book_theme",
                ],
                # Relative to the _static folder, which is beside vendor/ at the top of the site.
                "mathjax_path": f"../{MATHJAX}",
                # No widget scripts, from a CDN or not: pages store no widget state.
                "nb_ipywidgets_js": {},
                "html_extra_path": ["../vendor"],
                "myst_heading_anchors": 3,  # for links such as README.md#for-instructors
                "html_copy_source": False,  # a lesson's download is its learner edition
                "html_theme_options": {"use_download_button": False},
                # A theme mode to start in: without one, a first visit logs a console error
                # ("Got invalid theme mode"). Light, as the figures are drawn on white.
                "html_context": {"default_mode": "light"},
            },
        },
    }


def vendor(into: Path) -> None:
    """The files of VENDORED from book/node_modules, kept in their package folders."""
    if not (NODE_MODULES / ".package-lock.json").is_file():
        raise SystemExit(f"{NODE_MODULES} is missing: run `npm ci` in {BOOK} (make book does)")
    for package, patterns in VENDORED.items():
        for pattern in patterns:
            for path in sorted((NODE_MODULES / package).glob(pattern)):
                target = into / VENDOR / package / path.relative_to(NODE_MODULES / package)
                target.parent.mkdir(parents=True, exist_ok=True)
                if path.is_dir():
                    shutil.copytree(path, target)
                else:
                    shutil.copy2(path, target)


def build(build_dir: Path) -> Path:
    """Build the site into ``build_dir/site``; returns that folder."""
    work, site = build_dir / "book", build_dir / "site"
    for folder in (work, site):
        shutil.rmtree(folder, ignore_errors=True)
    vendor(work / "vendor")
    write_sources(work / "src")
    # Sphinx's warnings go to stderr; Jupyter Book's own messages (stdout) name the folder the
    # site is then moved from, so they are shown only when the build fails.
    jupyter_book = subprocess.run(
        [
            Path(sys.executable).parent / "jupyter-book",
            "build",
            work / "src",
            "--path-output",
            work,
            "--warningiserror",  # a broken link, a missing image or figure: no site
            "--keep-going",  # ... after reporting all of them
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    if jupyter_book.returncode:
        raise SystemExit(f"{jupyter_book.stdout}\njupyter-book build failed: no site")
    (work / "_build" / "html").rename(site)
    return site


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    site = build(Path(argv[0]) if argv else ROOT / "_build")
    files = [p for p in site.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files) / 1e6
    print(f"site: {site} ({len(files)} files, {size:.1f} MB) in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
