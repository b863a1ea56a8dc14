"""What TensorFlow and PyTorch themselves did on the course's data, as their tools recorded it.

Neither framework is a dependency of the course. A maintainer ran the 2015 tutorial's graph in
TensorFlow 2.21 (TF1 graph mode, one thread; ``tools/compare_tensorflow.py``) and its float16,
bfloat16 and autocast versions in PyTorch 2.13 CPU (one thread; ``tools/compare_pytorch.py``) on
the bundled sample, in the batch order of ``batch_indices``, and stored the outcomes as JSON files
in ``course_utils/bundled``. The lessons print them next to their own measurements, and
``tests/test_tensorflow_fidelity.py``, ``tests/test_tensorflow_optimizers.py`` and
``tests/test_pytorch_fidelity.py`` check the numpy core against them.
"""

from __future__ import annotations

import json
from pathlib import Path

from .validate import require_choice

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
    return _read_record(TENSORFLOW_RECORDS, name)


PYTORCH_RECORDS = {
    "pure": "pytorch_pure_sample.json",
    "pure_tensorflow_log": "pytorch_pure_tensorflow_log_sample.json",
    "autocast": "pytorch_autocast_sample.json",
}
"""Name of a PyTorch recording → its file in ``course_utils/bundled``.

``pure_tensorflow_log``: the naive summed tutorial with every tensor in float16, and in bfloat16,
over a band of batch sizes that covers each one's failing region, with TensorFlow's gradient of
``log`` (``grad * reciprocal(p)``, as the course computes it) in place of PyTorch's
(``grad / p``); ``pure``: the float16 runs with PyTorch's own ``log``; ``autocast``: the stable loss with the mean in pure float16/bfloat16 and
under ``torch.autocast("cpu")``, with and without ``GradScaler``.
"""


def pytorch_record(name: str) -> dict:
    """The parsed recording of what PyTorch did, by name (a key of :data:`PYTORCH_RECORDS`).

    Parameters
    ----------
    name : {"pure", "pure_tensorflow_log", "autocast"}

    Returns
    -------
    dict
        ``pytorch`` (its version), ``data`` and ``data_sha256`` (as in :func:`tensorflow_record`),
        ``pytorch_settings`` (threads, whether ``torch.set_flush_denormal`` was on, the CPU kernels
        torch chose, ``log_gradient``: ``"pytorch"`` or ``"tensorflow"``), ``autocast_op_dtypes`` (per low dtype: the dtype each op of the tutorial
        returned under CPU autocast, probed) and ``runs``: a list of dicts with ``settings`` (the
        keyword arguments of :func:`~course_utils.train` that do what the PyTorch run did) and
        ``outcomes``: per batch size (a string key) ``first_nonfinite_step`` (``None`` if the run
        stayed finite), ``test_accuracy`` and ``first_losses``; runs with ``GradScaler`` also give
        ``skipped_steps`` and ``final_loss_scale``.

    Examples
    --------
    >>> record = pytorch_record("autocast")
    >>> record["autocast_op_dtypes"]["float16"]["cross_entropy"]  # in CPU autocast's float32 list
    'float32'
    >>> record["autocast_op_dtypes"]["float16"]["log_softmax"]  # in no list: keeps float16
    'float16'

    Introduced in lesson 09.
    """
    return _read_record(PYTORCH_RECORDS, name)


def _read_record(records: dict[str, str], name: str) -> dict:
    require_choice("name", name, tuple(records))
    return json.loads((BUNDLED / records[name]).read_text())
