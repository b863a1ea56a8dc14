"""The classroom: the tools of instructors and learners around the lessons, which no lesson imports.

* :mod:`~course_utils.classroom.grading`: nbgrader's steps for one course (release, collect,
  autograde, feedback, grades) and the results read back from the gradebook;
* :mod:`~course_utils.classroom.class_grading`: a whole class at once (``python -m course_utils
  grade``), each submission in a worker process (:mod:`~course_utils.classroom.grade_worker`),
  contained (:mod:`~course_utils.classroom.containment`) within its
  :mod:`~course_utils.classroom.limits`;
* :mod:`~course_utils.classroom.workspace` and :mod:`~course_utils.classroom.lab`: the learner's
  own copy of the lessons and JupyterLab on it (``make lab``);
  :mod:`~course_utils.classroom.progress`: a learner's points.

It uses the science layer of the package at most (its argument checks, the data folder), never the
experiments or the teaching (``tests/test_layers.py``), so that grading a submission loads neither
numpy's runs nor matplotlib.
"""
