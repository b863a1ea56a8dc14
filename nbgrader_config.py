# nbgrader configuration of the course: `lessons/` is the source directory (one folder per lesson,
# the "assignment"). Run nbgrader commands from this folder; see the README's "For instructors".
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "lessons"
c.CourseDirectory.course_id = "batch205"

# The learner edition's stub in place of each solution (nbgrader's default raises
# NotImplementedError, a traceback in the learner's Run All): the same text as
# course_utils.checks.LEARNER_STUB, whose checks take it for "not done yet".
c.ClearSolutions.code_stub = {"python": "pass  # YOUR CODE HERE"}
# A learner's infinite loop costs one cell this long, not the whole batch (nbgrader's default: 30 s).
c.Execute.timeout = int(os.environ.get("BATCH205_CELL_TIMEOUT", "120"))
# A deleted test cell is put back from the database and graded, instead of silently dropped.
c.OverwriteCells.add_missing_cells = True
# Grading a class (`python -m course_utils grade`): how many submissions at once, each in its own
# process, and the limits of each submission's kernel. The defaults suit a laptop; their one list is
# course_utils/classroom/limits.py (see the README's table, or `python -m course_utils grade --help`).
# Change one here, e.g. `c.ClassGrading.jobs = 4` (default 0: one per CPU core) or
# `c.ClassGrading.memory_mb = 8192`; the command line overrides this file (--jobs, --memory-mb, ...).
# Feedback must not reveal the hidden tests (nbgrader shows them by default), neither in the cells
# nor in the code lines that a traceback of a failing test prints (ShortTracebacks keeps only
# the check's message: what is wrong and a hint).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "course_utils.classroom.grading.ShortTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
