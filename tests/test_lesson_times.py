"""tools/lesson_times.py on a copy of the course: the time line's numbers come from the word count
and a cold Run All recorded in lessons/run_times.json, and --write changes that line only."""

import importlib.util
import json
import shutil
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01-naive-tutorial"

_spec = importlib.util.spec_from_file_location("lesson_times", ROOT / "tools/lesson_times.py")
lesson_times = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lesson_times)


def test_reading_minutes_round_up_and_run_all_rounds_to_five_seconds():
    assert [lesson_times.reading_minutes(n) for n in (0, 200, 201, 2500)] == [1, 1, 2, 13]
    assert [lesson_times.rounded_seconds(s) for s in (0.4, 12.4, 12.6, 61.0)] == [5, 10, 15, 60]
    line = lesson_times.time_line(12, 20)
    assert line == ("**Time:** about 12 min of reading, and about 20 s for Run All on a 2-core laptop.")
    assert lesson_times.TIME_LINE.fullmatch(line)


def test_write_puts_the_counted_and_recorded_numbers_in_the_time_line_and_nothing_else(tmp_path):
    folder = tmp_path / "lessons" / LESSON
    shutil.copytree(ROOT / "lessons" / LESSON, folder)
    path = folder / f"{LESSON}.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    typed = lesson_times.time_line(99, 7)  # a typed guess
    first = [line for line in notebook["cells"][0]["source"] if "**Time:**" not in line]
    first[-1] = first[-1].rstrip("\n") + "\n"
    notebook["cells"][0]["source"] = [*first, typed]  # the lesson's own time line, if any, replaced
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    before = path.read_text(encoding="utf-8").splitlines()
    (tmp_path / "lessons" / "run_times.json").write_text(json.dumps({LESSON: {"seconds": 35}}))

    minutes = lesson_times.reading_minutes(lesson_times.words(notebook))
    assert lesson_times.stated(notebook) == (99, 7) != lesson_times.expected(tmp_path, LESSON)
    assert lesson_times.main(["--write", "--root", str(tmp_path)]) == 0

    after = path.read_text(encoding="utf-8").splitlines()
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 1 and lesson_times.time_line(minutes, 35) in changed[0][1]
    assert lesson_times.stated(json.loads(path.read_text())) == (minutes, 35)
    assert lesson_times.expected(tmp_path, LESSON) == (minutes, 35)


def test_measure_runs_the_lesson_cold_and_records_seconds_date_cpu_and_cores(tmp_path):
    folder = tmp_path / "lessons" / "01-tiny"
    folder.mkdir(parents=True)
    cold = (
        "import os\n"
        "assert not os.listdir(os.environ['BATCH205_CACHE']), 'a warm run cache'\n"
        "from course_utils import load_mnist\n"
        "assert 'sample' in load_mnist('auto').name, 'not the bundled sample'"
    )
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Tiny"), nbformat.v4.new_code_cell(cold)]
    )
    nbformat.write(notebook, folder / "01-tiny.ipynb")
    assert lesson_times.main(["--measure", "--root", str(tmp_path)]) == 0
    entry = json.loads((tmp_path / "lessons" / "run_times.json").read_text())["01-tiny"]
    assert entry["seconds"] % 5 == 0 and 5 <= entry["seconds"] <= 120
    assert entry["cores"] >= 1 and entry["cpu"] and len(entry["date"]) == 10
    assert nbformat.read(folder / "01-tiny.ipynb", as_version=4) == notebook  # not written back
