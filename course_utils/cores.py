"""How many processes to run at once: one per CPU core this process may use.

The one default of the training runs' worker processes (:mod:`course_utils.multirun`) and of the
submissions graded at once (:mod:`course_utils.classroom.class_grading`).
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system tells it), at least 1."""
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use, not all the machine's
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
