"""One student's autograding in a process of its own.

``python -m course_utils.classroom.grade_worker JOB``: ``JOB`` is a JSON file written by
:mod:`course_utils.classroom.class_grading`: the worker's copy of the course, the lesson, the
student, the limits and the scratch folders. The worker runs nbgrader's
``autograde`` in that copy with only the execution step (:class:`ContainedExecute`): it writes
the executed notebook into the copy's ``autograded/`` and never touches the instructor's
gradebook. Its result (``success``, ``error``, ``limit``, the log) goes to ``JOB``'s ``result``
file, which the main process reads before it replays the execution into the one gradebook.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from pathlib import Path


def run(job: dict) -> dict:
    from . import containment, grading
    from .limits import Limits

    containment.become_subreaper()  # detached descendants stay ours to count and to kill
    home = Path(job["home"])
    # nbclient writes the kernel's connection file with tempfile: where a sandboxed kernel sees it
    os.environ["TMPDIR"] = job["tmp"]
    tempfile.tempdir = None
    containment.BOX = containment.Box(
        limits=Limits.from_json(job["limits"]),
        workdir=Path(job["course"]),
        home=home,
        tmp=Path(job["tmp"]),
        empty=Path(job["empty"]),
        hidden=tuple(Path(p) for p in job["hidden"]),
        token=job["token"],
    )
    api = grading.nbgrader_api(job["course"], timeout=job["timeout"])
    api.config.Autograde.autograde_preprocessors = [containment.ContainedExecute]
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Object of type .* not in session")
            outcome = api.autograde(job["lesson"], job["student"])
    finally:
        containment.kill_tree()
    log = outcome.get("log", "")
    tripwire = containment.TRIPWIRE
    if tripwire.limit:
        error = f"{containment.LimitExceededError.__name__}: {tripwire.limit} limit: {tripwire.message}"
    elif outcome["success"]:
        error = ""
    else:
        error = grading.error_of(log, outcome.get("error", ""))
    return {"success": bool(outcome["success"]), "error": error, "limit": tripwire.limit, "log": log}


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    try:
        result = run(job)
    except Exception as error:  # reported to the main process, which grades the others
        result = {"success": False, "error": f"{type(error).__name__}: {error}", "limit": "", "log": ""}
    Path(job["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
