"""What TensorFlow itself did on the course's data: the recordings of ``tools/compare_tensorflow.py``.

TensorFlow is not a dependency of the course. A maintainer ran the 2015 tutorial's graph in
TensorFlow 2.21 (TF1 graph mode, one thread) on the bundled sample, in the batch order of
``batch_indices``, and stored the outcomes as JSON files in ``course_utils/bundled``. The lessons
print them next to their own measurements, and ``tests/test_tensorflow_fidelity.py`` and
``tests/test_tensorflow_optimizers.py`` check the numpy core against them.
"""

from __future__ import annotations

import json
from pathlib import Path

BUNDLED = Path(__file__).with_name("bundled")

TENSORFLOW_RECORDS = {
    "outcomes": "tensorflow_outcomes_sample.json",
    "outcomes_eigen": "tensorflow_outcomes_sample_eigen.json",
    "optimizers": "tensorflow_optimizers_sample.json",
}
"""Name of a recording → its file in ``course_utils/bundled``.

``outcomes``: gradient descent 0.01 at batch sizes 150–400, TensorFlow's default x86 build (oneDNN);
``outcomes_eigen``: the same with ``TF_ENABLE_ONEDNN_OPTS=0`` (Eigen's kernels);
``optimizers``: the optimizers of the 2015 answers at the batch sizes of lesson 07.
"""


def tensorflow_record(name: str) -> dict:
    """The parsed recording of what TensorFlow did, by name (a key of :data:`TENSORFLOW_RECORDS`).

    Parameters
    ----------
    name : {"outcomes", "outcomes_eigen", "optimizers"}

    Returns
    -------
    dict
        ``tensorflow`` (its version), ``data`` and ``data_sha256`` (the data set and its
        fingerprint, compare ``MnistData.fingerprint``), ``settings`` (steps, seed, loss, reduction,
        dtype, threads, whether oneDNN was on) and ``outcomes``: per batch size (a string key) a dict
        with ``first_nonfinite_step`` (``None`` if the run stayed finite) and ``test_accuracy``. In
        ``optimizers``, ``outcomes`` has one such table per optimizer name of ``OPTIMIZERS``, and
        ``optimizers`` gives each one's learning rate and the TensorFlow call that was run.

    Examples
    --------
    >>> record = tensorflow_record("optimizers")
    >>> record["tensorflow"], record["optimizers"]["adam"]["tensorflow_call"]
    ('2.21.0', 'AdamOptimizer(0.001, beta1=0.9, beta2=0.999, epsilon=1e-08)')
    >>> record["outcomes"]["rmsprop"]["205"]["first_nonfinite_step"]
    287

    Introduced in lesson 07.
    """
    if name not in TENSORFLOW_RECORDS:
        raise ValueError(
            f"no TensorFlow recording {name!r}; choose one of {sorted(TENSORFLOW_RECORDS)}"
        )
    return json.loads((BUNDLED / TENSORFLOW_RECORDS[name]).read_text())
