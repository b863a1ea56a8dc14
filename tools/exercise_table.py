"""The table of each lesson's exercises and points in lessons/README.md, derived from the notebooks.

    python tools/exercise_table.py           # print the table
    python tools/exercise_table.py --write   # rewrite it in lessons/README.md, between its markers

An exercise is a "### Exercise X (N points): title" heading of a lesson; its points are the nbgrader
points of the graded test cells below it (tests/test_lessons.py checks that the heading states them
and that the README's table is this one).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_utils.classroom.grading import lesson_names  # noqa: E402

README = ROOT / "lessons" / "README.md"
BEGIN = "<!-- exercises: written by tools/exercise_table.py from the notebooks; do not edit by hand -->"
END = "<!-- end of exercises -->"
HEADING = re.compile(
    r"^#+\s*(?:\d+\.\s*)?(?:Final\s+)?Exercise\s+(\S+?)(?:\s+\((\d+(?:\.\d+)?) points?\))?:\s*(.*)$",
    re.MULTILINE | re.IGNORECASE,
)


def exercises(notebook: Path) -> list[dict]:
    """``[{label, title, stated, points}]``: each exercise heading with graded test cells below it,
    ``stated`` the points its heading states (None if it states none), ``points`` nbgrader's."""
    found, current = {}, None
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for label, stated, title in HEADING.findall(source):
                current = {"label": label, "title": title.strip(), "stated": stated and float(stated)}
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("grade") and meta.get("points"):
            current = current or {"label": "?", "title": "(no exercise heading above)", "stated": None}
            entry = found.setdefault(current["label"], {**current, "points": 0.0})
            entry["points"] += float(meta["points"])
    return list(found.values())


def table(root: Path = ROOT) -> str:
    lines = ["| lesson | exercise | points |", "|---|---|---|"]
    total = 0.0
    for lesson in lesson_names(root):
        for e in exercises(root / "lessons" / lesson / f"{lesson}.ipynb"):
            title = e["title"].replace("|", "\\|")
            lines.append(f"| {lesson[:2]} | {e['label']} {title} | {e['points']:g} |")
            total += e["points"]
    lines.append(f"| all | | **{total:g}** |")
    return "\n".join(lines)


def section(text: str) -> str | None:
    """The table between the markers of a README's text, or None without markers."""
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def write(root: Path = ROOT) -> None:
    path = root / "lessons" / "README.md"
    text = path.read_text(encoding="utf-8")
    new = f"{BEGIN}\n{table(root)}\n{END}"
    if section(text) is None:
        text = text.rstrip("\n") + "\n\n## Exercises and points\n\n" + new + "\n"
    else:
        head, rest = text.split(BEGIN, 1)
        text = head + new + rest.split(END, 1)[1]
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        write()
    elif argv:
        print(__doc__)
        return 2
    else:
        print(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
