"""Run every lesson of a learner workspace top to bottom as JupyterLab's *Run All* does; print a table.

    python tools/run_learner_edition.py [WORKSPACE]   (default: a fresh learner edition in a temp folder)

nbclient with its default ``allow_errors=False`` stops at the first error, like *Run All* (and, like
it, goes on past a cell tagged ``raises-exception``). The notebooks are run in memory; nothing is
written back. Per lesson: code cells that ran, of all code cells, the "not done yet" lines, the error
outputs (tracebacks), where it stopped (if it did) and the wall time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course_utils.classroom import workspace as learner  # noqa: E402


def run_all(path: Path, timeout: int = 1200) -> dict:
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    start = time.perf_counter()
    stopped = ""
    try:
        NotebookClient(
            notebook, timeout=timeout, resources={"metadata": {"path": str(path.parent)}}
        ).execute()
    except CellExecutionError as error:
        stopped = str(error).strip().splitlines()[-1][:80]
    seconds = time.perf_counter() - start
    ran = [c for c in code if c.execution_count is not None]
    not_done = sum(
        o.get("text", "").count("not done yet")
        for c in code
        for o in c.get("outputs", [])
        if o.get("name") == "stderr"
    )
    errors = sum(o.get("output_type") == "error" for c in code for o in c.get("outputs", []))
    return {
        "ran": len(ran),
        "errors": errors,
        "cells": len(code),
        "not_done": not_done,
        "stopped": stopped,
        "seconds": seconds,
    }


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="batch205-runall-") as scratch:
        folder = Path(argv[0]) if argv else learner.prepare(Path(scratch) / "workspace")[0]
        print(
            '| lesson | code cells that ran | "not done yet" lines | tracebacks | stopped at | time |'
        )
        print("|---|---|---|---|---|---|")
        for path in sorted(folder.glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb")):
            if path.stem != path.parent.name:
                continue  # an "(updated ...)" copy beside the learner's
            r = run_all(path)
            print(
                f"| {path.stem[:2]} | {r['ran']} of {r['cells']} | {r['not_done']} | {r['errors']} | "
                f"{r['stopped'] or '(went through)'} | {r['seconds']:.0f} s |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
