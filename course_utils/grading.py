"""Deprecated: moved to :mod:`course_utils.classroom.grading`.

This name stays for the ``nbgrader_config.py`` files already written, which list the feedback
preprocessor ``course_utils.grading.ShortTracebacks``: it is the same module.
"""

import sys
import warnings

from .classroom import grading

warnings.warn(
    "course_utils.grading is now course_utils.classroom.grading (in nbgrader_config.py: "
    "course_utils.classroom.grading.ShortTracebacks)",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = grading
