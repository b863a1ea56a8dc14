"""Execute lesson notebooks in place, storing their outputs, in the same environment as the tests.

Usage: ``.venv/bin/python tools/execute_lessons.py [lessons/NN-name/NN-name.ipynb ...]``
(default: every lesson). The stored outputs are the course's text and what nbval compares, so they
are made on the bundled sample with an empty run cache, as `conftest.py` sets up for the tests.

Widget views are not stored: no kernel can bring them back when the notebook is opened later, and
JupyterLab then shows "Error displaying widget" for each (TOOLCHAIN_NOTES §4). An explorer's output
also carries a PNG of its first view (``widgets.Explorer``), which is what a reader without a kernel
sees; a progress bar keeps its text. nbval never compares widget views, so tests are unaffected.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import conftest  # noqa: E402,F401  (sets BATCH205_DATA, BATCH205_CACHE, ... for the kernel)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def drop_widget_views(notebook) -> None:
    """Remove widget views and the saved widget state, keeping each output's other formats.

    Also the timestamps of earlier executions (``record_timing=False`` keeps old ones).
    """
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)


def execute(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=1800,
        kernel_name="python3",
        record_timing=False,  # no wall-clock timestamps in the stored cells' metadata
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    elapsed = time.perf_counter() - start
    drop_widget_views(notebook)
    nbformat.write(notebook, path)
    return elapsed


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(
        (ROOT / "lessons").glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb")
    )
    for path in paths:
        print(f"{path.name}: executed in {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
