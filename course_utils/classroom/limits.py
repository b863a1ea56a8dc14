"""The limits of one submission's grading kernel: the one list of them.

Each field of :class:`Limits` carries its default, unit and meaning. The command line's options
(``python -m course_utils grade --memory-mb ...``), the ``c.ClassGrading`` settings of
``nbgrader_config.py``, the summary line of a graded class and (checked by a test) the README's
table are made from it. How each limit is enforced: :mod:`course_utils.classroom.containment`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field, fields

from ..validate import require_choice, require_positive_int

SANDBOXES = ("auto", "bwrap", "none")


def _limit(default: int, label: str, unit: str, meaning: str):
    """A limit of a kernel: ``label`` and ``unit`` as the summary and the README say it."""
    return field(default=default, metadata={"label": label, "unit": unit, "help": meaning})


@dataclass(frozen=True)
class Limits:
    """The limits of one submission's grading kernel (defaults suit a laptop).

    Each field's ``metadata`` says what it limits (``help``), in which ``unit``, and its ``label``
    in the summary. ``sandbox``: ``"auto"`` (bubblewrap when it is installed and works),
    ``"bwrap"`` (required), ``"none"`` (limits only).
    """

    memory_mb: int = _limit(
        4096, "memory", "MiB", "address space of each kernel process, and memory of all of them"
    )
    cpu_seconds: int = _limit(1200, "CPU time", "s", "CPU time of the kernel's processes together")
    processes: int = _limit(64, "processes at once", "", "processes a kernel may have at once")
    file_size_mb: int = _limit(256, "size of one file", "MiB", "size of any one file it writes")
    disk_mb: int = _limit(
        1024, "bytes written in all", "MiB", "bytes it writes into its folder, home and /tmp"
    )
    output_mb: int = _limit(32, "output of the notebook", "MiB", "printed text and images")
    wall_seconds: int = _limit(3600, "one submission", "s", "grading one submission, start to end")
    sandbox: str = field(
        default="auto",
        metadata={"help": "bubblewrap around each kernel: auto (when installed), bwrap, none"},
    )

    def __post_init__(self):
        for limit in numeric_limits():
            require_positive_int(limit.name, getattr(self, limit.name))
        require_choice("sandbox", self.sandbox, SANDBOXES)
        if self.sandbox == "bwrap" and not bwrap_works():
            raise ValueError(
                "sandbox='bwrap' but bubblewrap is not installed or does not work here "
                "(Debian: apt-get install bubblewrap); use sandbox='auto' or 'none'"
            )

    @property
    def uses_bwrap(self) -> bool:
        return self.sandbox == "bwrap" or (self.sandbox == "auto" and bwrap_works())

    def describe(self) -> str:
        """One line for the summary: the limits and whether the sandbox is used."""
        sandbox = (
            "bubblewrap sandbox: yes (read-only file system, own process namespace)"
            if self.uses_bwrap
            else "bubblewrap sandbox: no (limits, private home and process-tree kill only)"
        )
        limits = ", ".join(
            f"{limit.metadata['label']} {getattr(self, limit.name)} {limit.metadata['unit']}".rstrip()
            for limit in numeric_limits()
        )
        return f"each submission contained: {limits}; {sandbox}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Limits:
        return cls(**json.loads(text))


def numeric_limits() -> tuple:
    """The fields of :class:`Limits` that are numbers (all but ``sandbox``), in their order."""
    return tuple(limit for limit in fields(Limits) if "unit" in limit.metadata)


_BWRAP: dict[str, bool] = {}


def bwrap_works() -> bool:
    """Whether ``bwrap`` is on PATH and can start a sandbox here (checked once per process)."""
    if "ok" not in _BWRAP:
        path = shutil.which("bwrap")
        ok = False
        if path and sys.platform.startswith("linux"):
            try:
                probe = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
                probe += ["--unshare-pid", "--die-with-parent", "--", "true"]
                ok = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        _BWRAP["ok"] = ok
    return _BWRAP["ok"]
