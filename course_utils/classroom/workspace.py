"""The learner's workspace: the learner edition of every lesson in a folder of the learner's own.

``make lab`` (``python -m course_utils lab``) calls :func:`prepare` before it opens JupyterLab
there. On first use it writes the learner edition of every lesson (nbgrader's release: solutions
replaced by ``pass  # YOUR CODE HERE``, hidden tests removed) into ``<workspace>/<lesson>/``,
and a read-only solved edition into ``<workspace>/solved/``. Afterwards it never overwrites a
notebook the learner may have changed: when a lesson changed upstream (``git pull``) its new
learner edition is put beside the learner's copy, ``<lesson> (updated YYYY-MM-DD).ipynb``, and the
learner is told. A manifest (:data:`MANIFEST`) records, per lesson, the SHA-256 of the source
notebook and of the learner edition last released; a copy whose bytes still equal the latest
release is the learner's untouched copy, and only that one is replaced in place.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

import nbformat

from . import grading

ENVIRONMENT = "BATCH205_WORKSPACE"
DEFAULT_FOLDER = "workspace"  # in the course folder; listed in .gitignore
MANIFEST = ".batch205-workspace.json"
SOLVED = "solved"
SOLVED_LABEL = "SOLVED – instructor edition"


def workspace_dir(folder: str | Path | None = None, *, course: str | Path | None = None) -> Path:
    """The learner's workspace: ``folder``, else ``$BATCH205_WORKSPACE``, else ``workspace/`` in
    the course folder."""
    chosen = folder or os.environ.get(ENVIRONMENT)
    if chosen:
        return Path(chosen).expanduser().resolve()
    return grading.course_root(course) / DEFAULT_FOLDER


def learner_notebook(workspace: Path, lesson: str) -> Path:
    return workspace / lesson / f"{lesson}.ipynb"


def solved_notebook(workspace: Path, lesson: str) -> Path:
    return workspace / SOLVED / f"{lesson} (SOLVED).ipynb"


def learner_edition(lessons: list[str], course: Path, into: Path) -> dict[str, str]:
    """Write the learner edition of ``lessons`` as ``into/<lesson>.ipynb``; returns their texts."""
    texts = {}
    with tempfile.TemporaryDirectory(prefix="batch205-learner-") as scratch:
        for folder in grading.release(lessons, scratch, course=course):
            notebook = nbformat.read(folder / f"{folder.name}.ipynb", as_version=4)
            texts[folder.name] = nbformat.writes(notebook) + "\n"
    for lesson, text in texts.items():
        (into / f"{lesson}.ipynb").write_text(text, encoding="utf-8")
    return texts


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def prepare(
    folder: str | Path | None = None,
    *,
    course: str | Path | None = None,
    today: datetime.date | None = None,
) -> tuple[Path, list[str]]:
    """Create or bring up to date the learner's workspace; returns it and what to tell the learner.

    Never overwrites a learner's notebook that differs from the edition last released to it.
    """
    root = grading.course_root(course)
    workspace = workspace_dir(folder, course=root)
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path = workspace / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    known = manifest.setdefault("lessons", {})
    first_use = not known
    date = (today or datetime.date.today()).isoformat()
    messages = []
    sources = {
        lesson: sha256((root / "lessons" / lesson / f"{lesson}.ipynb").read_bytes())
        for lesson in grading.lesson_names(root)
    }
    stale = [
        lesson
        for lesson, digest in sources.items()
        if lesson not in known
        or known[lesson]["source_sha256"] != digest
        or not learner_notebook(workspace, lesson).is_file()
    ]
    with tempfile.TemporaryDirectory(prefix="batch205-edition-") as scratch:
        editions = learner_edition(stale, root, Path(scratch)) if stale else {}
    for lesson, text in editions.items():
        entry = known.get(lesson)
        released = sha256(text)
        mine = learner_notebook(workspace, lesson)
        if not mine.is_file():
            _write(mine, text)
            if entry is not None:
                messages.append(f"{lesson}: your notebook was missing; wrote the lesson again")
            elif not first_use:
                messages.append(f"new lesson: {mine.relative_to(workspace)}")
        elif sha256(mine.read_bytes()) == released:
            pass  # the learner already has exactly this edition
        elif entry is not None and released == entry["released_sha256"]:
            pass  # the source changed (e.g. its stored outputs), its learner edition did not
        elif entry is not None and sha256(mine.read_bytes()) == entry["released_sha256"]:
            _write(mine, text)  # untouched by the learner: nothing of theirs to keep
            messages.append(f"{lesson}: updated (you had not changed your copy)")
        else:
            beside = _beside(mine, date, text)
            messages.append(
                f"{lesson} changed upstream: the new version is {beside.relative_to(workspace)}, "
                f"next to your {mine.name} (left as it was)"
            )
        new_edition = entry is None or released != entry["released_sha256"]
        known[lesson] = {
            "source_sha256": sources[lesson],
            "released_sha256": released,
            "notebook": str(mine.relative_to(workspace)),
            "released_on": date if new_edition else entry["released_on"],
        }
    _write_solved(root, workspace, sources)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if first_use:
        messages.insert(0, f"wrote the learner edition of {len(editions)} lessons into {workspace}")
    return workspace, messages


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _beside(mine: Path, date: str, text: str) -> Path:
    """``<lesson> (updated DATE).ipynb`` next to the learner's copy; a second change on the same
    day gets ``(updated DATE, 2)``; an identical file already there is reused."""
    number = 1
    while True:
        suffix = f" (updated {date})" if number == 1 else f" (updated {date}, {number})"
        path = mine.with_name(f"{mine.stem}{suffix}.ipynb")
        if not path.exists() or path.read_text(encoding="utf-8") == text:
            _write(path, text)
            return path
        number += 1


def _write_solved(root: Path, workspace: Path, sources: dict[str, str]) -> None:
    """The instructor's notebooks, read-only, with a first cell saying what they are."""
    for lesson in sources:
        notebook = nbformat.read(root / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
        banner = nbformat.v4.new_markdown_cell(
            f"**{SOLVED_LABEL}** of `{lesson}`: every exercise solved (read-only copy, rewritten "
            f"by `make lab`). Your own notebook is `{lesson}/{lesson}.ipynb`."
        )
        banner.id = "solved-edition"  # fixed: the same source gives the same file
        notebook.cells.insert(0, banner)
        target = solved_notebook(workspace, lesson)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()  # read-only: replace, do not write into it
        nbformat.write(notebook, target)
        target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
