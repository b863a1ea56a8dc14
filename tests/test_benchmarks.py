"""benchmarks/run.py runs and prints one ``NAME ratio=X.XX ...`` line per figure (no timing asserted)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^(?P<name>\w+) ratio=\d+\.\d\d( \w+=\d+\.\d{3}s){2}")


def test_quick_benchmarks_print_one_ratio_line_per_figure():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=ROOT,
    )
    lines = completed.stdout.splitlines()
    names = [m["name"] for m in map(LINE.match, lines) if m]
    skipped = [line for line in lines if line.startswith("single_run skipped:")]
    assert len(names) + len(skipped) == len(lines), completed.stdout
    figures = [
        "phase_diagram_2x2",
        "phase_diagram_bound",
        "widget_update",
        "widget_cached_update",
        "lesson_run_all_01",  # --quick runs the first lesson only
    ]
    assert names[-5:] == figures
    if skipped:  # PyTorch absent: said so, once
        assert names == figures and len(skipped) == 1
    else:
        assert names[:2] == ["single_run_B100", "single_run_B1000"]
