"""The settings of the lessons' exercises, in one place: the lessons import them, the checks grade
with them and the stand-ins (the course's own answers) compute with them.

Plain data, importing nothing: the checks read a fresh copy of this module for every check
(:func:`course_utils.checks.reference`), so that a notebook that changed a dict it imported does
not change what is graded.
"""

# --- lesson 03: gradient scaling ---

PREDICTION_LEARNING_RATE = 0.007
"""Lesson 03's prediction exercise: the learning rate (measured by no cell before the check) at
which the learner predicts the smallest failing batch size from lr·B* ≈ c."""

# --- lesson 04: mean reduction ---

MATCH_SUM = {"batch_size": 150, "learning_rate": 0.01}
"""Lesson 04's exercise (a): the summed-loss run (the tutorial's learning rate at B = 150, which
trains) whose mean-loss twin the learner predicts: lr_mean = lr_sum · B."""

SMALL_BATCH = {"batch_size": 10, "reduction": "mean", "steps": 1000}
"""Lesson 04's exercise (b): the tiny-batch run (naive mean loss, float32) the learner makes train."""

SMALL_BATCH_ACCURACY = 0.88
"""The test accuracy that the run of :data:`SMALL_BATCH` must reach in lesson 04's exercise (b)."""

# --- lesson 05: epsilon ---

FADING_PULL = 0.01
"""Lesson 05's prediction: the gap from which epsilon pulls a target logit by less than 1 % of -1."""

FADING_GAP_TOLERANCE = 0.5
"""Its tolerance, in logit gap: for p ≪ ε the pull is about p/ε ∝ e^(−gap), so ±0.5 is a pull
within a factor e^0.5 ≈ 1.6 of 1 %, and leaves out the table's neighbouring rows (25 and 30)."""

# --- lesson 07: optimizers ---

SURVIVAL_SETTING = {"batch_size": 100, "learning_rate": 0.1, "loss": "naive", "reduction": "mean"}
"""The setting of lesson 07's survival exercise (every optimizer at the same learning rate)."""

SAFE_STEP = 0.5
"""Lesson 07's rule of thumb: a run at the survival setting stays finite if, after 1000 equal
gradients of its typical size, an optimizer's step per weight stays below this many learning rates."""

# --- lesson 08: capstone ---

CAPSTONE_SETUP = {"batch_size": 500, "learning_rate": 0.005, "optimizer": "rmsprop_decay0.9"}
"""The colleague's broken run of lesson 08's final exercise (naive loss, sum, float32 otherwise)."""

DIAGNOSES = ("overshooting", "log(0)")
"""The answers the diagnosis exercise accepts."""

EVIDENCE = ("smallest_loss_step", "limit_crossed_step")
"""The measurements the diagnosis exercise asks for (the keys of ``my_evidence``)."""

# --- lesson 09: low precision ---

GAP_TOLERANCE = 0.05
"""Lesson 09's prediction of float16's logit-gap limit is right within this much: the measured line is
a float16 number, and float16 numbers near 10 are 1/128 apart; every mistaken formula (ln of the
largest number, the base-2 or base-10 logarithm, float32's line) is more than 1 away."""
