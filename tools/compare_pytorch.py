"""Run the tutorial in float16 and bfloat16 in PyTorch itself (CPU) on the course's data and order.

For maintainers: records what PyTorch does with the low-precision settings of lesson 09, for
``tests/test_pytorch_fidelity.py``. PyTorch is not a dependency of the course; run this in a
separate environment that has it and the course's runtime packages (the tool takes the sample and
the batch order from ``course_utils``), e.g.

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install "torch==2.13.0" -e .    # the records: its CPU-only build 2.13.0+cpu
    /tmp/torchvenv/bin/python tools/compare_pytorch.py --preset pure --dtypes float16 \
        --json course_utils/bundled/pytorch_pure_sample.json
    /tmp/torchvenv/bin/python tools/compare_pytorch.py --preset pure --log-gradient tensorflow \
        --json course_utils/bundled/pytorch_pure_tensorflow_log_sample.json
    /tmp/torchvenv/bin/python tools/compare_pytorch.py --preset autocast \
        --json course_utils/bundled/pytorch_autocast_sample.json

Each preset is a list of runs (:data:`PRESETS`); a run is one set of the course's ``train``
settings (its ``settings`` in the record, passed to ``course_utils.train`` as they are) and the
PyTorch code that does the same:

``pure`` (``dtype="float16"`` or ``"bfloat16"``, no ``mixed_precision``): every tensor in that
dtype, ``y = torch.softmax(x @ W + b, 1)``, ``loss = -(y_ * torch.log(y)).sum()`` (naive) or
``F.cross_entropy(x @ W + b, labels, reduction=...)`` (stable), ``torch.optim.SGD(lr)``.
``--log-gradient tensorflow`` swaps ``torch.log`` for :func:`tensorflow_log`, the same log with
TensorFlow's gradient ``grad * reciprocal(p)`` that the course computes: PyTorch's ``grad / p``
gives 0 where ``1/p`` overflows and ``y = 0``, TensorFlow's NaN, which in float16 decides where
the naive tutorial fails. Measured
in torch 2.13.0 on an AVX2 CPU without native float16/bfloat16 arithmetic: bfloat16 ``x @ W``
equals the float32 product rounded once to bfloat16; float16 ``x @ W`` is within 1.2 units in the
last place of the exact product (not always the nearest float16: 12 of 3000 entries of a 300×784
by 784×10 product differed from it). Element-wise ops and softmax compute in float32 and round
each result; ``SGD`` rounds ``W - lr·g`` once.

``autocast`` (``mixed_precision=True``): float32 master weights ``W``, ``b`` and
``with torch.autocast("cpu", dtype=...)``: ``z = torch.addmm(b, x, W)`` (what ``nn.Linear``
runs), ``loss = F.cross_entropy(z, labels, reduction="mean")``; with ``dynamic_loss_scale``
through ``torch.amp.GradScaler("cpu")`` at its defaults (initial scale 2**16, halved on a step
with inf/NaN gradients, which is skipped; doubled after 2000 clean steps). Which ops run in which
dtype under CPU autocast is probed, not assumed (:func:`autocast_op_dtypes`), and stored in the
record. In torch 2.13: ``mm``, ``addmm``, ``linear`` and ``matmul`` run in the low dtype;
``cross_entropy`` and ``nll_loss`` are in CPU autocast's float32 list (the logits are cast to
float32 first, so its log-softmax runs in float32); ``softmax``, ``log_softmax``, ``exp``,
``log``, ``logsumexp`` and ``sum`` are in no list and keep their input's dtype, so the naive
``log(softmax(z))`` would stay in the low dtype under CPU autocast (unlike CUDA autocast, whose
float32 list has softmax and log_softmax); ``x @ W + b`` would be float32 (a float16 product plus
a float32 bias promotes). Backward: the float32 gradient of the logits is cast to the low dtype
for ``addmm``'s backward products, and the weight gradients are cast back to float32.

Batches follow ``course_utils.batch_indices`` (TensorFlow's 2015 next_batch rule), from zero
weights, one thread. A run's first non-finite step is the first step whose loss or parameters are
not finite (a run stops when its parameters are); test accuracy is measured in the run's own
precision (under autocast for ``autocast`` runs); the first three losses are stored as they were.
The records keep PyTorch's default, subnormals on (``flush_subnormals=False`` in their settings).
``--flush-denormal`` calls ``torch.set_flush_denormal(True)`` (the CPU's FTZ/DAZ), and its runs say
``flush_subnormals=True``; probed in torch 2.13, it flushes float32 and bfloat16 subnormals (their
arithmetic runs in float32) but not float16's (``1e-3 * 1e-3`` stays ``1.01e-06`` in float16: the
float32 → float16 conversion makes subnormals whatever the CPU flags say), so for float16 the flag
is not the course's ``flush_subnormals=True``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compare_tensorflow import parse_sizes  # noqa: E402  (tools/, this script's folder)

from course_utils.data import load_mnist  # noqa: E402
from course_utils.training import batch_indices  # noqa: E402

FIRST_LOSSES = 3
"""How many of a run's first losses the record keeps (the 2015 question printed the first few)."""

# The runs of each preset as the course's train() settings (learning rate, steps and seed are
# added from the command line). Batch sizes: "pure" covers each dtype's failing region, found by
# a scan of B = 1…100 (float16) and 50…400 (bfloat16); "autocast": 10, the tutorial's 100, the question's 205.
PRESETS = {
    "pure": [
        ({"dtype": "float16", "loss": "naive", "reduction": "sum"}, "1-100"),
        ({"dtype": "bfloat16", "loss": "naive", "reduction": "sum"}, "150-400"),
    ],
    "autocast": [
        *(
            ({"dtype": dtype, "loss": "stable", "reduction": "mean"}, "10,100,205")
            for dtype in ("float16", "bfloat16")
        ),
        *(
            (
                {
                    "dtype": dtype,
                    "loss": "stable",
                    "reduction": "mean",
                    "mixed_precision": True,
                    **scaling,
                },
                "10,100,205",
            )
            for dtype in ("float16", "bfloat16")
            for scaling in (
                {"loss_scale": 1.0, "dynamic_loss_scale": False},
                {"loss_scale": 2.0**16, "dynamic_loss_scale": True},
            )
        ),
    ],
}


@dataclass(frozen=True)
class TorchOutcome:
    """What one PyTorch run did: the fields of a record's outcome (``skipped_steps``: GradScaler)."""

    first_nonfinite_step: int | None
    test_accuracy: float
    first_losses: list[float]
    skipped_steps: int | None = None
    final_loss_scale: float | None = None

    def as_record(self) -> dict:
        record = {
            "first_nonfinite_step": self.first_nonfinite_step,
            "test_accuracy": round(self.test_accuracy, 4),
            "first_losses": self.first_losses,
        }
        if self.skipped_steps is not None:
            record["skipped_steps"] = self.skipped_steps
            record["final_loss_scale"] = self.final_loss_scale
        return record


def torch_dtype(name: str):
    """``torch.float16`` or ``torch.bfloat16`` by the course's name."""
    import torch

    if name not in ("float16", "bfloat16"):
        raise ValueError(f"dtype {name!r}: this tool records 'float16' or 'bfloat16'")
    return getattr(torch, name)


def logits_of(x, weights, bias, mixed_precision: bool):
    """``xW + b`` as the module doc's PyTorch code computes it."""
    import torch

    if mixed_precision:
        return torch.addmm(bias, x, weights)  # in autocast's low-precision list, as nn.Linear is
    return x @ weights + bias


@functools.cache
def tensorflow_log():
    """``torch.log`` with TensorFlow's gradient ``grad * reciprocal(p)`` (PyTorch's: ``grad / p``).

    The two differ where ``1/p`` overflows: TensorFlow's then gives ``0 * inf = NaN`` for every
    class with ``y = 0``, PyTorch's gives 0. In float32 that needs p < 2**-128 (subnormal), in
    float16 only p < 2**-16 (a logit gap of about 11), so the naive float16 tutorial fails at much
    smaller batch sizes with TensorFlow's gradient (its ``_LogGrad``), which the course computes
    (``course_utils.model``: ``g_p = -y * (1/p)``).
    """
    import torch

    class Log(torch.autograd.Function):
        @staticmethod
        def forward(ctx, p):
            ctx.save_for_backward(p)
            return torch.log(p)

        @staticmethod
        def backward(ctx, grad):
            (p,) = ctx.saved_tensors
            return grad * torch.reciprocal(p)

    return Log.apply


LOG_GRADIENTS = ("pytorch", "tensorflow")
"""The naive loss's ``log``: PyTorch's own, or :func:`tensorflow_log`."""


def loss_of(logits, onehot, labels, loss: str, reduction: str, log_gradient: str = "pytorch"):
    """The naive or the stable loss of the logits, summed or averaged over the batch."""
    import torch
    import torch.nn.functional as F

    if loss == "stable":
        return F.cross_entropy(logits, labels, reduction=reduction)
    if loss != "naive":
        raise ValueError(f"loss {loss!r}: this tool records 'naive' or 'stable'")
    if log_gradient not in LOG_GRADIENTS:
        raise ValueError(f"log_gradient {log_gradient!r}: choose one of {LOG_GRADIENTS}")
    log = torch.log if log_gradient == "pytorch" else tensorflow_log()
    per_example = -(onehot * log(torch.softmax(logits, dim=1))).sum(dim=1)
    return per_example.sum() if reduction == "sum" else per_example.mean()


def torch_run(data, batch_size: int, settings: dict, log_gradient: str = "pytorch") -> TorchOutcome:
    """One run of the module doc's PyTorch code with the course's ``settings``, from zero weights."""
    import torch

    low = torch_dtype(settings["dtype"])
    mixed = settings.get("mixed_precision", False)
    param_dtype = torch.float32 if mixed else low
    data_dtype = torch.float32 if mixed else low  # autocast casts x itself, inside addmm
    images = torch.tensor(data.train_images).to(data_dtype)
    labels = torch.from_numpy(data.train_labels.astype(np.int64))
    onehot = torch.eye(10, dtype=data_dtype)[labels]
    weights = torch.zeros(784, 10, dtype=param_dtype, requires_grad=True)
    bias = torch.zeros(10, dtype=param_dtype, requires_grad=True)
    optimizer = torch.optim.SGD([weights, bias], lr=settings["learning_rate"])
    dynamic = settings.get("dynamic_loss_scale", False)
    if mixed and settings.get("loss_scale", 1.0) != 1.0 and not dynamic:
        raise ValueError("a static loss scale has no PyTorch counterpart here; use GradScaler")
    scaler = torch.amp.GradScaler("cpu", init_scale=settings.get("loss_scale", 1.0), enabled=dynamic)
    losses, first, skipped = [], None, 0
    batches = batch_indices(len(data.train_labels), batch_size, settings["seed"])
    for step in range(settings["steps"]):
        idx = torch.from_numpy(next(batches))
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=low, enabled=mixed):
            logits = logits_of(images[idx], weights, bias, mixed)
            loss = loss_of(
                logits,
                onehot[idx],
                labels[idx],
                settings["loss"],
                settings["reduction"],
                log_gradient,
            )
        scaler.scale(loss).backward()
        scale_before = scaler.get_scale() if dynamic else None
        scaler.step(optimizer)
        scaler.update()
        if dynamic and scaler.get_scale() < scale_before:
            skipped += 1  # GradScaler found inf/NaN gradients: it skipped the step, halved the scale
        losses.append(float(loss.detach()))
        finite_params = bool(torch.isfinite(weights).all() and torch.isfinite(bias).all())
        if first is None and not (np.isfinite(losses[-1]) and finite_params):
            first = step
        if not finite_params:
            break
    with torch.no_grad(), torch.autocast("cpu", dtype=low, enabled=mixed):
        test_x = torch.tensor(data.test_images).to(data_dtype)
        logits = logits_of(test_x, weights, bias, mixed)
        correct = logits.argmax(dim=1).numpy() == data.test_labels
        # NaN logits predict nothing, as in the course (argmax would pick a class)
        correct &= torch.isfinite(logits).all(dim=1).numpy()
    return TorchOutcome(
        first_nonfinite_step=first,
        test_accuracy=float(correct.mean()),
        first_losses=losses[:FIRST_LOSSES],
        skipped_steps=skipped if dynamic else None,
        final_loss_scale=float(scaler.get_scale()) if dynamic else None,
    )


def autocast_op_dtypes(dtype: str) -> dict[str, str]:
    """The dtype each op of the tutorial returns under ``torch.autocast("cpu", dtype)``, probed.

    Inputs are float32 (data, master weights); the logits fed to the other ops are ``addmm``'s.
    ``logits_grad`` and ``weights_grad``: the dtypes of the gradients that backward computes.
    """
    import torch
    import torch.nn.functional as F

    x = torch.rand(4, 784)
    weights = torch.zeros(784, 10, requires_grad=True)
    bias = torch.zeros(10, requires_grad=True)
    labels = torch.arange(4)
    grads = {}
    with torch.autocast("cpu", dtype=torch_dtype(dtype)):
        logits = torch.addmm(bias, x, weights)
        logits.register_hook(lambda grad: grads.update(logits_grad=grad.dtype))  # returns None
        outputs = {
            "mm": torch.mm(x, weights),
            "matmul": x @ weights,
            "linear": F.linear(x, weights.T, bias),
            "addmm": logits,
            "matmul + bias": x @ weights + bias,
            "softmax": torch.softmax(logits, dim=1),
            "log_softmax": torch.log_softmax(logits, dim=1),
            "exp": torch.exp(logits),
            "log": torch.log(torch.softmax(logits, dim=1)),
            "logsumexp": torch.logsumexp(logits, dim=1),
            "sum": logits.sum(),
            "nll_loss": F.nll_loss(logits, labels),
            "cross_entropy": F.cross_entropy(logits, labels),
        }
    outputs["cross_entropy"].backward()
    found = {name: str(tensor.dtype).removeprefix("torch.") for name, tensor in outputs.items()}
    found["logits_grad"] = str(grads["logits_grad"]).removeprefix("torch.")
    found["weights_grad"] = str(weights.grad.dtype).removeprefix("torch.")
    return found


def course_outcome(data, batch_size: int, settings: dict) -> dict:
    """The course's run with the same settings (needs the course's low-precision core)."""
    from course_utils.training import train

    ours = train(data, batch_size=batch_size, **settings)
    return {
        "first_nonfinite_step": ours.first_nonfinite_step,
        "test_accuracy": round(float(ours.test_accuracy), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), required=True)
    parser.add_argument("--batch-sizes", help="override the preset's: 150-400 or 100,205,1000")
    parser.add_argument("--dtypes", default="float16,bfloat16", help="only the preset's runs in these")
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", default="sample")
    parser.add_argument("--flush-denormal", action="store_true", help="torch.set_flush_denormal(True)")
    parser.add_argument(
        "--log-gradient",
        choices=LOG_GRADIENTS,
        default="pytorch",
        help="the naive loss's log: PyTorch's own or with TensorFlow's gradient (tensorflow_log)",
    )
    parser.add_argument("--compare", action="store_true", help="also run course_utils.train")
    parser.add_argument("--json", type=Path, help="also save PyTorch's outcomes to this file")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if not torch.set_flush_denormal(args.flush_denormal) and args.flush_denormal:
        raise SystemExit("this CPU cannot flush denormals (torch.set_flush_denormal returned False)")
    op_dtypes = {dtype: autocast_op_dtypes(dtype) for dtype in ("float16", "bfloat16")}
    data = load_mnist(args.source)
    common = {
        "learning_rate": args.learning_rate,
        "steps": args.steps,
        "seed": args.seed,
        "flush_subnormals": args.flush_denormal,
    }
    runs, disagree = [], []
    chosen = [run for run in PRESETS[args.preset] if run[0]["dtype"] in args.dtypes.split(",")]
    for preset_settings, sizes in chosen:
        settings = {**preset_settings, **common}
        outcomes = {}
        for batch_size in parse_sizes(args.batch_sizes or sizes):
            outcome = torch_run(data, batch_size, settings, args.log_gradient)
            outcomes[str(batch_size)] = outcome.as_record()
            line = f"{preset_settings} B={batch_size}: pytorch {outcome}"
            if args.compare:
                ours = course_outcome(data, batch_size, settings)
                line += f" | course_utils {ours}"
                if ours["first_nonfinite_step"] != outcome.first_nonfinite_step:
                    disagree.append((preset_settings, batch_size))
            print(line, flush=True)
        runs.append({"settings": settings, "outcomes": outcomes})
        failing = [
            int(b) for b, outcome in outcomes.items() if outcome["first_nonfinite_step"] is not None
        ]
        print(f"{preset_settings}: pytorch fails at {len(failing)} batch sizes: {failing}")
    if args.compare:
        print(f"disagreements (first non-finite step): {disagree or 'none'}")
    if args.json:
        record = {
            "made_by": " ".join(
                ["tools/compare_pytorch.py", *(sys.argv[1:] if argv is None else argv)]
            ),
            "pytorch": torch.__version__,
            "data": data.name,
            "data_sha256": data.fingerprint,
            "pytorch_settings": {
                "threads": 1,
                "set_flush_denormal": args.flush_denormal,
                "log_gradient": args.log_gradient,
                "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            },
            "autocast_op_dtypes": op_dtypes,
            "runs": runs,
        }
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    return 1 if disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())
