"""The package's layers and the imports between its modules (what import-linter would check, read
with ``ast`` from the package's own files).

science (the model, its training and the data) <- experiments (many runs, measurements, the
recordings) <- teaching (figures, explorers, exercise checks and their settings): a module imports
from its own layer or the ones below. The classroom (``course_utils/classroom/``: grading,
containment, the learner's workspace, the lab; and the command line) uses the science layer at
most, never the experiments or the teaching. No import cycle anywhere, also through imports
inside functions or by name.
"""

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"

LAYERS = {
    "science": {"data", "model", "linear", "optimizers", "training", "validate", "cores", "_fast"},
    "experiments": {"multirun", "sweeps", "spread", "diagnostics", "fidelity"},
    "teaching": {"plots", "widgets", "checks", "stand_ins", "lesson_settings"},
    "classroom": {
        "classroom",
        *(
            f"classroom.{name}"
            for name in (
                "grading",
                "class_grading",
                "grade_worker",
                "containment",
                "limits",
                "workspace",
                "lab",
                "progress",
            )
        ),
        "grading",  # the deprecated name of classroom.grading, for nbgrader_config.py files
        "__main__",
    },
}
# What each layer may import, besides itself.
MAY_IMPORT = {
    "science": set(),
    "experiments": {"science"},
    "teaching": {"science", "experiments"},
    "classroom": {"science"},
}
FACADE = "__init__"  # imports the public names of every layer: the package's front door


def module_names() -> list[str]:
    """Every module of the package, dotted below it (``grading``, ``classroom.grading``)."""
    return sorted(
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        for path in PACKAGE.rglob("*.py")
    )


def imported_by(module: str) -> set[str]:
    """The package's modules that ``module`` imports: relative or absolute import statements
    anywhere in the file (inside functions too), and ``importlib.import_module("course_utils.x")``."""
    path = PACKAGE.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom) and node.level:  # from .x import y, from . import x
            base = package[: len(package) - node.level + 1]
            stem = [*base, *node.module.split(".")] if node.module else base
            targets = [stem + [alias.name] for alias in node.names] + [stem]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils."):
            stem = node.module.split(".")[1:]
            targets = [stem + [alias.name] for alias in node.names] + [stem]
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".")[1:] for a in node.names if a.name.startswith("course_utils.")]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("course_utils.")
        ):
            targets = [node.args[0].value.split(".")[1:]]
        found |= {".".join(t) for t in targets}
    return found & set(module_names()) - {module}


def layer_of(module: str) -> str | None:
    return next((layer for layer, members in LAYERS.items() if module in members), None)


def imports() -> dict[str, set[str]]:
    return {module: imported_by(module) for module in module_names() if module != FACADE}


def test_every_module_has_a_layer():
    unplaced = [m for m in module_names() if m != FACADE and layer_of(m) is None]
    assert not unplaced, f"modules in no layer (add them to LAYERS): {unplaced}"


def test_no_module_imports_from_a_layer_above_it_or_beside_it():
    wrong = [
        f"{module} ({layer_of(module)}) imports {other} ({layer_of(other)})"
        for module, others in imports().items()
        for other in sorted(others)
        if layer_of(other) != layer_of(module) and layer_of(other) not in MAY_IMPORT[layer_of(module)]
    ]
    assert not wrong, "imports across the layers:\n" + "\n".join(wrong)


def test_no_import_cycle():
    try:
        graphlib.TopologicalSorter(imports()).prepare()
    except graphlib.CycleError as error:  # its list runs from an imported module to its importer
        pytest.fail(f"import cycle: {' imports '.join(reversed(error.args[1]))}")


def test_the_reader_sees_the_imports_this_test_relies_on():
    # The reader itself: a relative import, one inside a function, and one by name.
    assert {"model", "data", "validate"} <= imported_by("training")
    assert {"classroom.grading", "classroom.workspace"} <= imported_by("classroom.progress")
    assert {"data", "classroom.limits"} <= imported_by("classroom.containment")  # from .. import
    assert "stand_ins" in imported_by("checks")  # importlib.import_module("course_utils.stand_ins")
    assert "classroom.workspace" in imported_by("classroom.lab")  # inside a function


def test_the_graded_students_worker_imports_no_plotting_or_widget_library():
    """A worker grades one submission (``python -m course_utils.classroom.grade_worker``);
    matplotlib and ipywidgets would only slow down every one of them."""
    code = (
        "import sys, course_utils.classroom.grade_worker as worker\n"
        "from course_utils.classroom import containment, grading\n"  # what worker.run imports
        "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'IPython') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
