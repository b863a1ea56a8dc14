"""Benchmark of a class on the course's JupyterHub: N students through fetch, submit, grade, feedback.

Run as root: ``.venv/bin/python benchmarks/hub.py [--students 10]`` (part of ``make benchmarks``;
several minutes). It stands up ``deploy/`` as tests/test_hub.py does (``deploy/hubclass.py``: a
scratch root, Unix users with a test prefix, all removed afterwards), starts every user's server,
and times, through the Hub's and the servers' APIs only: the instructor's release; each student
fetching lesson 01, putting the solution in and submitting; the instructor's ``nbgrader
collect``, the course's ``grade`` command with ``--jobs 2`` and with ``--jobs 1`` (alternately,
``--repeat`` times, on the same collected submissions; each run grades every student again),
``nbgrader release_feedback``; each student fetching their feedback. It prints one line::

    hub_class_10x01 ratio=X.XX jobs2=...s jobs1=...s per_student=...s ...  # what was run

``ratio`` is how many times faster ``--jobs 2`` grades than ``--jobs 1``; ``per_student`` is the
class's round trip (fetch and submit, collect, grade with ``--jobs 2``, feedback released and
fetched) divided by the number of students. Server start-up is reported apart (``spawn``). No test
runs this script: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
LESSON = "01-naive-tutorial"
NOTEBOOK = f"{LESSON}/{LESSON}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10, help="students in the class")
    parser.add_argument("--repeat", type=int, default=1, help="alternating grade runs of each")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("hub_class skipped: needs root (makes Unix users, runs the hub as root)")
        return 0
    import hubclass

    d = hubclass.Deployment()
    try:
        return run(d, args)
    finally:
        problems = d.close()
        if problems:
            print(f"cleanup problems: {problems}", file=sys.stderr)


def run(d, args) -> int:
    import hubclass

    d.create_root()
    teacher = d.add_instructor("teach")
    names = d.add_students(*(f"s{n:03d}" for n in range(1, args.students + 1)))
    hub_start = d.start_hub()
    teach = d.login(teacher)
    students = [d.login(name) for name in names]
    start = time.perf_counter()
    for server in [teach, *students]:
        server.begin_start()
    spawn = max(server.wait_ready(start) for server in [teach, *students])

    t = time.perf_counter()
    teach.shell(
        f"python -m course_utils release {LESSON} --to release --force && "
        f"nbgrader release_assignment {LESSON}",
        cwd="batch205",
    )
    release = time.perf_counter() - t
    source = json.loads((d.course / "lessons" / LESSON / f"{LESSON}.ipynb").read_text())

    t = time.perf_counter()
    for server in students:
        server.nbgrader("fetch", LESSON)
        server.write_notebook(NOTEBOOK, hubclass.solved(server.read_notebook(NOTEBOOK), source))
        if not server.nbgrader("submit", LESSON)["success"]:
            raise SystemExit(f"submit of {server.user} failed")
    fetch_submit = time.perf_counter() - t

    t = time.perf_counter()
    teach.shell(f"nbgrader collect {LESSON}", cwd="batch205")
    collect = time.perf_counter() - t

    times = {2: [], 1: []}
    outputs = {}
    for _ in range(args.repeat):
        for jobs in times:
            t = time.perf_counter()
            outputs[jobs] = teach.shell(
                f"python -m course_utils grade {LESSON} submitted --jobs {jobs} --sandbox bwrap",
                cwd="batch205",
            )
            times[jobs].append(time.perf_counter() - t)
    grades = teach.read("batch205/grades.csv")["content"]
    rows = list(csv.DictReader(io.StringIO(grades)))
    full = sum(float(r["score"]) == float(r["max_score"]) > 0 for r in rows if r["student_id"] in names)
    if full != len(names):
        raise SystemExit(f"only {full} of {len(names)} students got full marks:\n{outputs[1]}")

    t = time.perf_counter()
    teach.shell(f"nbgrader release_feedback {LESSON}", cwd="batch205")
    for server in students:
        server.nbgrader("fetch_feedback", LESSON)
        if not server.glob(f"{LESSON}/feedback", ".html"):
            raise SystemExit(f"{server.user} got no feedback")
    feedback = time.perf_counter() - t

    load = os.getloadavg()[0]
    jobs2, jobs1 = statistics.median(times[2]), statistics.median(times[1])
    per_student = (fetch_submit + collect + jobs2 + feedback) / len(names)
    n = len(names)
    print(
        f"hub_class_{n}x01 ratio={jobs1 / jobs2:.2f} jobs2={jobs2:.3f}s jobs1={jobs1:.3f}s "
        f"per_student={per_student:.3f}s fetch_submit={fetch_submit:.3f}s collect={collect:.3f}s "
        f"feedback={feedback:.3f}s release={release:.3f}s spawn={spawn:.3f}s "
        f"hub_start={hub_start:.3f}s  # {n} students solve lesson {LESSON} through the hub's "
        f"APIs; grade = python -m course_utils grade (contained, bubblewrap), --repeat {args.repeat}; "
        f"load average after: {load:.1f}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
