"""Command line of the course: ``python -m course_utils COMMAND``.

Commands
--------
fetch-data   download full MNIST into the cache (hash-checked; the only command that uses the network)
info         which data set the lessons will use, and where the cache is
lab          start JupyterLab in your workspace (what `make lab` runs); ARGS go to `jupyter lab`
progress     which exercises of your workspace pass, with their points (graded on copies)
release      student versions of the lessons (no solutions, no hidden tests) into a folder
grade        an instructor's batch: autograde submissions, feedback, grades.csv (nbgrader)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from . import data
from .classroom.limits import SANDBOXES, Limits


def fetch_data(args: argparse.Namespace) -> int:
    folder = data.fetch_mnist(args.data_dir, progress_bar=not args.quiet)
    print(f"full MNIST is ready in {folder}")
    print(data.load_full(folder))
    return 0


def info(args: argparse.Namespace) -> int:
    folder = args.data_dir or data.data_dir()
    present = data.full_mnist_present(folder)
    print(f"cache folder: {folder} (set BATCH205_DATA to move it)")
    print(f"full MNIST cached: {'yes' if present else 'no (run: python -m course_utils fetch-data)'}")
    print(f"lessons will use: {data.load_mnist('auto', folder)}")
    return 0


def start_lab(args: argparse.Namespace) -> int:
    from .classroom import lab

    return lab.launch(args.lab_args)


def release_lessons(args: argparse.Namespace) -> int:
    from .classroom import grading

    for folder in grading.release(args.lessons, args.to, course=args.course, force=args.force):
        print(f"student version written to {folder}")
    return 0


def show_progress(args: argparse.Namespace) -> int:
    from .classroom import progress

    results = progress.workspace_progress(
        args.workspace, args.lesson, course=args.course, timeout=args.timeout, report=print
    )
    score, most = sum(r.score for r in results), sum(r.max_score for r in results)
    print(f"total: {score:g} of {most:g} points in {len(results)} lessons")
    return 1 if any(r.error for r in results) else 0


def grade_lesson(args: argparse.Namespace) -> int:
    from .classroom import class_grading

    report = class_grading.grade(
        args.lesson,
        args.submissions,
        course=args.course,
        timeout=args.timeout,
        grades_csv=args.csv,
        report=lambda line: print(line, flush=True),
        jobs=args.jobs,
        limits={limit.name: getattr(args, limit.name) for limit in fields(Limits)},
    )
    print(class_grading.summary_table(report.results))
    print(report.containment)
    print(f"feedback (html, hidden tests removed): {report.feedback}/<student>/{args.lesson}/")
    if report.feedback_error:
        print(f"error: {report.feedback_error}", file=sys.stderr)
    print(f"grades of every graded lesson: {report.grades_csv}")
    return 1 if report.feedback_error or any(r.error for r in report.results) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description="batch205 course tools")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-data", help="download full MNIST (about 11 MB) into the cache")
    fetch.add_argument(
        "--data-dir", help="folder to download into (default: $BATCH205_DATA or the user cache)"
    )
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(handler=fetch_data)
    show = commands.add_parser("info", help="which data the lessons will use")
    show.add_argument("--data-dir")
    show.set_defaults(handler=info)
    # "+" as prefix: every ARG, even --port=8889 or --help, is passed through to `jupyter lab`.
    lab_parser = commands.add_parser(
        "lab",
        prefix_chars="+",
        add_help=False,
        help="start JupyterLab in your workspace (make lab); --workspace=DIR chooses it",
    )
    lab_parser.add_argument("lab_args", nargs="*", metavar="ARGS")
    lab_parser.set_defaults(handler=start_lab)
    course_help = "folder with nbgrader_config.py and lessons/ (default: current folder or this repo)"
    rel = commands.add_parser("release", help="student versions of lessons, for self-study")
    rel.add_argument(
        "lessons", nargs="*", metavar="LESSON", help="e.g. 01-naive-tutorial (default: all)"
    )
    rel.add_argument("--to", required=True, help="folder to write the lessons into")
    rel.add_argument("--force", action="store_true", help="overwrite lesson folders already there")
    rel.add_argument("--course", help=course_help)
    rel.set_defaults(handler=release_lessons)
    prog = commands.add_parser("progress", help="which exercises of your workspace pass")
    prog.add_argument(
        "workspace", nargs="?", help="default: $BATCH205_WORKSPACE or workspace/ in the course"
    )
    prog.add_argument("--lesson", action="append", help="only this lesson (repeatable)")
    prog.add_argument("--timeout", type=int, help="seconds per cell (default as for grade)")
    prog.add_argument("--course", help=course_help)
    prog.set_defaults(handler=show_progress)
    grd = commands.add_parser("grade", help="autograde one lesson's submissions with nbgrader")
    grd.add_argument("lesson", metavar="LESSON", help="e.g. 01-naive-tutorial")
    grd.add_argument(
        "submissions",
        metavar="SUBMISSIONS_DIR",
        help="one <student>.ipynb or <student>/ folder per student (nbgrader's submitted/ works too)",
    )
    grd.add_argument(
        "--timeout", type=int, help="seconds per cell (default 120 or $BATCH205_CELL_TIMEOUT)"
    )
    grd.add_argument(
        "--csv", help="where to export the grades (default: grades.csv in the course folder)"
    )
    grd.add_argument("--course", help=course_help)
    grd.add_argument(
        "--jobs",
        type=int,
        help="submissions graded at once, each in its own process (default: c.ClassGrading.jobs "
        "in nbgrader_config.py, 0 there meaning the number of CPUs)",
    )
    for limit in fields(Limits):  # one option per limit; the defaults: c.ClassGrading in the config
        unit = f", {limit.metadata['unit']}" if limit.metadata.get("unit") else ""
        grd.add_argument(
            "--" + limit.name.replace("_", "-"),
            **({"choices": SANDBOXES} if limit.name == "sandbox" else {"type": int}),
            help=f"{limit.metadata['help']}{unit}; default {limit.default} "
            f"(c.ClassGrading.{limit.name})",
        )
    grd.set_defaults(handler=grade_lesson)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (data.DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
