"""Benchmark of grading a class: 8 submissions of lesson 01 with ``--jobs 2`` against ``--jobs 1``.

Run ``.venv/bin/python benchmarks/grading.py`` (part of ``make benchmarks``; a few minutes).
It prints one line in the style of benchmarks/run.py::

    class_grading_8x01 ratio=X.XX jobs2=...s jobs1=...s  # what was run

``ratio`` is how many times faster ``--jobs 2`` grades the batch than ``--jobs 1`` (median
wall-clock seconds of the second divided by the first, timed alternately, ``--repeat`` times).
Each run grades a fresh copy of the course with ``python -m course_utils grade``, the containment
included; the submissions are the lesson's solved notebook, so every one runs the whole lesson.
No test runs this script: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01-naive-tutorial"


def grade_seconds(jobs: int, submissions: Path, scratch: Path) -> float:
    """Wall-clock seconds of the course command on a fresh course folder."""
    course = Path(tempfile.mkdtemp(prefix=f"jobs{jobs}-", dir=scratch))
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "lessons" / LESSON, course / "lessons" / LESSON)
    command = [sys.executable, "-m", "course_utils", "grade", LESSON, str(submissions)]
    command += ["--course", str(course), "--jobs", str(jobs)]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"grading failed (--jobs {jobs}):\n{completed.stdout}{completed.stderr}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs of each")
    parser.add_argument("--students", type=int, default=8, help="submissions in the batch")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="batch205-bench-") as folder:
        scratch = Path(folder)
        submissions = scratch / "submissions"
        submissions.mkdir()
        solved = ROOT / "lessons" / LESSON / f"{LESSON}.ipynb"
        for number in range(1, args.students + 1):
            shutil.copy(solved, submissions / f"student{number:02d}.ipynb")
        times = {2: [], 1: []}
        for _ in range(args.repeat):
            for jobs in times:
                times[jobs].append(grade_seconds(jobs, submissions, scratch))
    jobs2, jobs1 = statistics.median(times[2]), statistics.median(times[1])
    note = f"{args.students} solved submissions of lesson {LESSON}, python -m course_utils grade"
    print(
        f"class_grading_{args.students}x01 ratio={jobs1 / jobs2:.2f} "
        f"jobs2={jobs2:.3f}s jobs1={jobs1:.3f}s  # {note}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
