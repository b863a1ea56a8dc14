"""The time line of each lesson's first cell, from a word count and a measured Run All.

    python tools/lesson_times.py                       # what each lesson states and what it should
    python tools/lesson_times.py --measure [NN ...]    # run lessons cold, record into run_times.json
    python tools/lesson_times.py --write               # rewrite each lesson's time line

The line has exactly this form (tests/test_lessons.py checks its two numbers):

    **Time:** about 12 min of reading, and about 20 s for Run All on a 2-core laptop.

Reading: the words of the lesson's markdown cells (``\\w+``), at 200 words a minute, rounded up.
Run All: the lesson executed top to bottom in a fresh kernel with an empty run cache on the bundled
sample (the environment of ``conftest.py``, as ``tools/execute_lessons.py`` makes the stored outputs),
wall time rounded to 5 s; recorded with the date, the CPU model and its number of cores in
``lessons/run_times.json``. Measure on an otherwise idle 2-core machine. ``--measure`` does not touch
the notebooks (it runs a copy in memory); ``--write`` changes only the time line of the first cell.
``--root DIR`` works on another copy of the course.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_utils.classroom.grading import lesson_names  # noqa: E402

WORDS_PER_MINUTE = 200
ROUND_SECONDS = 5
RUN_TIMES = Path("lessons") / "run_times.json"  # in the course folder
TIME_LINE = re.compile(
    r"^\*\*Time:\*\* about (\d+) min of reading, and about (\d+) s for Run All on a 2-core laptop\.$",
    re.MULTILINE,
)


def time_line(minutes: int, seconds: int) -> str:
    return f"**Time:** about {minutes} min of reading, and about {seconds} s for Run All on a 2-core laptop."


def notebook_path(root: Path, lesson: str) -> Path:
    return root / "lessons" / lesson / f"{lesson}.ipynb"


def words(notebook: dict) -> int:
    """The lesson's prose words: ``\\w+`` over its markdown cells (as /work/shared's lesson_report)."""
    prose = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    return len(re.findall(r"\w+", prose))


def reading_minutes(word_count: int) -> int:
    return max(1, math.ceil(word_count / WORDS_PER_MINUTE))


def rounded_seconds(seconds: float) -> int:
    return max(ROUND_SECONDS, ROUND_SECONDS * round(seconds / ROUND_SECONDS))


def stated(notebook: dict) -> tuple[int, int] | None:
    """(minutes, seconds) of the time line in the first cell, or None without one."""
    found = TIME_LINE.search("".join(notebook["cells"][0]["source"])) if notebook["cells"] else None
    return (int(found[1]), int(found[2])) if found else None


def recorded(root: Path) -> dict:
    path = root / RUN_TIMES
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def expected(root: Path, lesson: str) -> tuple[int, int | None]:
    """(reading minutes from the word count, recorded Run All seconds or None)."""
    notebook = json.loads(notebook_path(root, lesson).read_text(encoding="utf-8"))
    entry = recorded(root).get(lesson)
    return reading_minutes(words(notebook)), entry["seconds"] if entry else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_all_seconds(path: Path) -> float:
    """Wall time of executing the notebook cold: a fresh kernel, an empty run cache, no full MNIST."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="batch205-times-") as scratch:
        saved = {k: os.environ.get(k) for k in ("BATCH205_DATA", "BATCH205_CACHE")}
        for name in saved:  # as conftest.py sets them (matplotlib's font cache may stay warm)
            os.environ[name] = os.path.join(scratch, name.lower())
            os.makedirs(os.environ[name])
        try:
            start = time.perf_counter()
            NotebookClient(
                notebook,
                timeout=1800,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
            return time.perf_counter() - start
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def measure(root: Path, lessons: list[str], *, report=print) -> dict:
    """Run each lesson cold and record its rounded time in ``lessons/run_times.json``."""
    times = recorded(root)
    for lesson in lessons:
        seconds = run_all_seconds(notebook_path(root, lesson))
        times[lesson] = {
            "seconds": rounded_seconds(seconds),
            "date": datetime.date.today().isoformat(),
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
        }
        report(f"{lesson}: Run All in {seconds:.1f} s, recorded as {times[lesson]['seconds']} s")
    (root / RUN_TIMES).write_text(json.dumps(times, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return times


def write(root: Path, lessons: list[str], *, report=print) -> None:
    """Rewrite the time line of each lesson's first cell; nothing else of the notebook changes."""
    for lesson in lessons:
        path = notebook_path(root, lesson)
        text = path.read_text(encoding="utf-8")
        notebook = json.loads(text)
        minutes, seconds = expected(root, lesson)
        if stated(notebook) is None or seconds is None:
            why = (
                "no time line in its first cell" if stated(notebook) is None else "no recorded Run All"
            )
            report(f"{lesson}: left alone ({why})")
            continue
        first = notebook["cells"][0]
        source = TIME_LINE.sub(time_line(minutes, seconds), "".join(first["source"]), count=1)
        first["source"] = source.splitlines(keepends=True)
        new = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
        if new != text:
            path.write_text(new, encoding="utf-8")
        report(f"{lesson}: {time_line(minutes, seconds)}")


def main(argv: list[str]) -> int:
    root = ROOT
    if "--root" in argv:
        at = argv.index("--root")
        root, argv = Path(argv[at + 1]).resolve(), argv[:at] + argv[at + 2 :]
    mode = argv[0] if argv and argv[0].startswith("--") else ""
    chosen = [a for a in argv if not a.startswith("--")]
    lessons = [n for n in lesson_names(root) if not chosen or n[:2] in chosen or n in chosen]
    if mode == "--measure":
        measure(root, lessons)
    elif mode == "--write":
        write(root, lessons)
    elif mode:
        print(__doc__)
        return 2
    else:
        for lesson in lessons:
            notebook = json.loads(notebook_path(root, lesson).read_text(encoding="utf-8"))
            minutes, seconds = expected(root, lesson)
            print(
                f"{lesson}: {words(notebook)} words -> {minutes} min; recorded Run All "
                f"{seconds if seconds is not None else '-'} s; first cell states {stated(notebook)}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
