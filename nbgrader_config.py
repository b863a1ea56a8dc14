# nbgrader configuration of the course: `lessons/` is the source directory (one folder per lesson,
# the "assignment"). Run nbgrader commands from this folder; see the README's "For instructors".
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "lessons"
c.CourseDirectory.course_id = "batch205"

# A learner's infinite loop costs one cell this long, not the whole batch (nbgrader's default: 30 s).
c.Execute.timeout = int(os.environ.get("BATCH205_CELL_TIMEOUT", "120"))
# A deleted test cell is put back from the database and graded, instead of silently dropped.
c.OverwriteCells.add_missing_cells = True
# Grading a class (`python -m course_utils grade`, see course_utils/batch.py and containment.py):
# submissions graded at once, each in its own process (0: the number of CPUs), and the limits of
# each submission's kernel. Defaults suit a laptop; the command line overrides them (--jobs, ...).
c.ClassGrading.jobs = 0
c.ClassGrading.memory_mb = 4096  # address space of each kernel process, and memory of all of them
c.ClassGrading.cpu_seconds = 1200
c.ClassGrading.processes = 64  # at once, the kernel included
c.ClassGrading.file_size_mb = 256  # any one file
c.ClassGrading.disk_mb = 1024  # written into its folder, home and /tmp together
c.ClassGrading.output_mb = 32  # printed text and images of the notebook
c.ClassGrading.wall_seconds = 3600  # one submission, from start to end
c.ClassGrading.sandbox = "auto"  # bubblewrap when installed ("bwrap": required, "none": never)
# Feedback must not reveal the hidden tests (nbgrader shows them by default), neither in the cells
# nor in the code lines that a traceback of a failing test prints (ShortTracebacks keeps only
# the check's message: what is wrong and a hint).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "course_utils.grading.ShortTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
