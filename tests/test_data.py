"""Tests of nnlib.data: generated 2-D data, tf.data pipelines, and the verified MNIST download."""

import gzip
import hashlib
import os

import numpy as np
import pytest

from nnlib import data

# ----------------------------------------------------------------------------- generated data


def test_make_moons_without_noise_lies_on_the_two_arcs():
    # Golden value by hand: class 0 is the unit upper arc (x^2 + y^2 = 1), class 1 the lower arc
    # centred at (1, 0.5): (x - 1)^2 + (y - 0.5)^2 = 1.
    splits = data.make_moons(100, noise=0.0, seed=0)
    x = np.concatenate([s[0] for s in splits])
    y = np.concatenate([s[1] for s in splits])
    assert x.shape == (100, 2) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [50, 50]
    np.testing.assert_allclose(np.hypot(*x[y == 0].T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(x[y == 1, 0] - 1.0, x[y == 1, 1] - 0.5), 1.0, atol=1e-6)


def test_make_moons_is_seeded():
    a, b, c = (data.make_moons(60, noise=0.3, seed=s).train[0] for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_make_spirals_without_noise_golden_point():
    # Arm k at radius r has angle 4r + 2*pi*k/K; the outermost point of arm 0 is (sin 4, cos 4).
    splits = data.make_spirals(300, n_classes=3, noise=0.0, seed=0)
    x = np.concatenate([s[0] for s in splits]).astype(np.float64)
    y = np.concatenate([s[1] for s in splits])
    assert x.shape == (300, 2) and np.bincount(y).tolist() == [100, 100, 100]
    assert np.hypot(*x.T).max() <= 1.0 + 1e-6
    assert np.min(np.hypot(*(x[y == 0] - [np.sin(4.0), np.cos(4.0)]).T)) < 1e-6
    np.testing.assert_array_equal(
        data.make_spirals(90, seed=3).test[0], data.make_spirals(90, seed=3).test[0]
    )


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: data.make_moons(5), ValueError, r"`n_samples` must be an integer >= 10"),
        (lambda: data.make_moons(100, noise=-1.0), ValueError, r"`noise` must be in \[0.0, inf\]"),
        (lambda: data.make_moons(100, dtype="int8"), ValueError, r"`dtype` must be"),
        (
            lambda: data.make_spirals(100, n_classes=1),
            ValueError,
            r"`n_classes` must be an integer >= 2",
        ),
        (
            lambda: data.make_spirals(20, n_classes=3),
            ValueError,
            r"`n_samples` must be an integer >= 30",
        ),
        (lambda: data.make_spirals(100, seed=1.5), TypeError, r"`seed` must be an integer"),
    ],
)
def test_generator_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----------------------------------------------------------------------------- tf.data


def _order(ds):
    return np.concatenate([yb.numpy() for _, yb in ds]).tolist()


def test_to_dataset_batches_and_keeps_order_without_shuffle():
    ds = data.to_dataset(np.zeros((10, 2)), np.arange(10), batch_size=4)
    assert [int(xb.shape[0]) for xb, _ in ds] == [4, 4, 2]
    assert _order(ds) == list(range(10))
    xb, yb = next(iter(ds))
    assert xb.dtype.name == "float32" and yb.dtype.name == "int64"
    assert [
        int(b.shape[0])
        for b in data.to_dataset(np.zeros((10, 2)), batch_size=3, drop_remainder=True)
    ] == [3, 3, 3]


def test_to_dataset_shuffle_is_a_seeded_sequence_of_permutations():
    x, y = np.zeros((20, 1)), np.arange(20)
    first = data.to_dataset(x, y, batch_size=8, shuffle=True, seed=5)
    second = data.to_dataset(x, y, batch_size=8, shuffle=True, seed=5)
    passes_a = [_order(first) for _ in range(3)]
    passes_b = [_order(second) for _ in range(3)]
    assert passes_a == passes_b  # same seed -> same order at every pass
    assert all(sorted(p) == list(range(20)) for p in passes_a)  # each pass is a permutation
    assert passes_a[0] != passes_a[1]  # reshuffled each pass
    assert _order(data.to_dataset(x, y, 8, shuffle=True, seed=6)) != passes_a[0]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (
            dict(x=np.zeros((3, 2)), y=np.arange(4)),
            ValueError,
            r"`x` and `y` must have the same number of samples. Received: len\(x\)=3, len\(y\)=4",
        ),
        (
            dict(x=np.array([[0.0], [np.nan]]), y=np.arange(2)),
            ValueError,
            r"`x` must contain only finite values",
        ),
        (
            dict(x=np.zeros((2, 1)), y=np.array([0.0, np.inf])),
            ValueError,
            r"`y` must contain only finite values",
        ),
        (
            dict(x=np.zeros((2, 1)), y=np.arange(2), batch_size=0),
            ValueError,
            r"`batch_size` must be an integer >= 1",
        ),
        (
            dict(x=np.zeros((2, 1)), y=np.arange(2), shuffle=1),
            TypeError,
            r"`shuffle` must be a bool",
        ),
        (
            dict(x=np.zeros((0, 1)), y=np.arange(0)),
            ValueError,
            r"`x` must hold at least one sample",
        ),
        (dict(x="abc"), TypeError, r"`x` must be an array of numbers"),
    ],
)
def test_to_dataset_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        data.to_dataset(**kwargs)


# ----------------------------------------------------------------------------- downloads


def _sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A 12-image stand-in for mnist.npz served from a file:// URL, its hash patched in."""
    rng = np.random.default_rng(0)
    src = tmp_path / "server" / "mnist.npz"
    src.parent.mkdir()
    arrays = dict(
        x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        y_train=np.arange(20, dtype=np.uint8) % 10,
        x_test=np.full((4, 28, 28), 255, dtype=np.uint8),
        y_test=np.array([3, 1, 4, 1], dtype=np.uint8),
    )
    np.savez(src, **arrays)
    monkeypatch.setitem(data._MNIST_FILES, "mnist.npz", _sha256(src))
    return src, arrays, tmp_path / "cache"


def test_real_origins_and_hashes_are_keras_values():
    assert data._KERAS_DATASETS == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
    assert data._MNIST_FILES["mnist.npz"].startswith("731c5ac6")
    assert len(data._FASHION_FILES) == 4
    assert all(len(h) == 64 for h in data._FASHION_FILES.values())


def test_load_mnist_downloads_verifies_and_caches(tiny_mnist):
    src, arrays, cache = tiny_mnist
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = data.load_mnist(
        val_size=0.5, cache_dir=str(cache), origin=src.as_uri(), flatten=False
    )
    assert (cache / "datasets" / "mnist.npz").exists()
    assert x_tr.shape == (10, 28, 28, 1) and x_va.shape == (10, 28, 28, 1)
    assert x_te.dtype == np.float32 and np.all(x_te == 1.0)  # 255 / 255
    assert y_te.tolist() == [3, 1, 4, 1] and y_te.dtype == np.int64
    # Second call: served from the cache even though the origin is gone.
    src.unlink()
    splits = data.load_mnist(val_size=0.0, cache_dir=str(cache), origin=src.as_uri())
    assert splits.train[0].shape == (20, 784) and len(splits.val[0]) == 0
    np.testing.assert_allclose(
        splits.train[0][0], arrays["x_train"][0].reshape(-1) / 255.0, rtol=1e-6
    )


def test_load_mnist_rejects_a_corrupted_file_by_its_checksum(tiny_mnist):
    src, _, cache = tiny_mnist
    with open(src, "ab") as f:
        f.write(b"tampered")
    with pytest.raises(ValueError, match=r"'mnist.npz' failed its SHA-256 check .* deleted"):
        data.load_mnist(cache_dir=str(cache), origin=src.as_uri())
    assert not (cache / "datasets" / "mnist.npz").exists()


def test_load_mnist_offline_error_names_the_offline_alternative(tmp_path):
    with pytest.raises(
        data.DatasetDownloadError, match=r"Could not download 'mnist.npz'.*load_digits\(\)"
    ):
        data.load_mnist(cache_dir=str(tmp_path), origin=(tmp_path / "missing.npz").as_uri())
    with pytest.raises(OSError, match=r"Offline, use nnlib.data.load_digits"):
        data.load_mnist(cache_dir=str(tmp_path), origin="http://127.0.0.1:9/mnist.npz")


def _write_idx(path, array, magic):
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_load_fashion_mnist_reads_four_verified_idx_files(tmp_path, monkeypatch):
    server = tmp_path / "server"
    server.mkdir()
    labels = {"train": np.arange(10) % 10, "t10k": np.array([9, 0])}
    for part, y in labels.items():
        _write_idx(server / f"{part}-labels-idx1-ubyte.gz", y, 2049)
        _write_idx(server / f"{part}-images-idx3-ubyte.gz", np.full((len(y), 28, 28), 51), 2051)
    for fname in data._FASHION_FILES:
        monkeypatch.setitem(data._FASHION_FILES, fname, _sha256(server / fname))
    cache = tmp_path / "cache"
    splits = data.load_fashion_mnist(
        val_size=0.0, cache_dir=str(cache), origin=server.as_uri() + "/"
    )
    assert splits.train[0].shape == (10, 784) and splits.test[1].tolist() == [9, 0]
    np.testing.assert_allclose(splits.test[0], 0.2, rtol=1e-6)  # 51 / 255
    assert len(os.listdir(cache / "datasets" / "fashion-mnist")) == 4

    # A file with the right hash but the wrong content type is refused by its magic number.
    _write_idx(server / "t10k-labels-idx1-ubyte.gz", labels["t10k"], 2051)
    monkeypatch.setitem(
        data._FASHION_FILES,
        "t10k-labels-idx1-ubyte.gz",
        _sha256(server / "t10k-labels-idx1-ubyte.gz"),
    )
    with pytest.raises(
        ValueError, match=r"is not an IDX file with magic number 2049. Received: magic=2051"
    ):
        data.load_fashion_mnist(cache_dir=str(tmp_path / "cache2"), origin=server.as_uri() + "/")


def test_loader_argument_errors(tmp_path):
    with pytest.raises(ValueError, match=r"`val_size` must be in \[0.0, 1.0\)"):
        data.load_mnist(val_size=1.0, cache_dir=str(tmp_path))
    with pytest.raises(TypeError, match=r"`flatten` must be a bool"):
        data.load_fashion_mnist(flatten="yes", cache_dir=str(tmp_path))


# ----------------------------------------------------------------------------- shipped data


def test_load_digits_and_breast_cancer_shapes_and_scaling():
    (x_tr, y_tr), (x_va, _), (x_te, _) = data.load_digits()
    assert (len(x_tr), len(x_va), len(x_te)) == (1257, 270, 270) and x_tr.shape[1] == 64
    assert x_tr.min() == 0.0 and x_tr.max() == 1.0 and sorted(set(y_tr.tolist())) == list(range(10))
    assert data.load_digits(flatten=False).test[0].shape == (270, 8, 8, 1)
    (x_tr, y_tr), _, _ = data.load_breast_cancer()
    np.testing.assert_allclose(x_tr.mean(axis=0), 0.0, atol=1e-5)  # standardized on train only
    with pytest.raises(ValueError, match=r"`val_size \+ test_size` must be < 1"):
        data.train_val_test_split(np.zeros((10, 1)), np.zeros(10), 0.5, 0.5)


def test_load_diabetes_raw_golden_row_and_standardized_columns():
    # Golden values from the published table (Efron et al. 2004): patient 1 is 59 years old, sex 2,
    # BMI 32.1, blood pressure 101, s1..s6 = 157, 93.2, 38, 4, 4.8598, 87; progression 151.
    x_raw, y_raw = data.load_diabetes(standardize=False)
    assert x_raw.shape == (442, 10) and y_raw.shape == (442,) and x_raw.dtype == np.float64
    np.testing.assert_allclose(
        x_raw[0], [59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87], rtol=1e-12
    )
    assert y_raw[0] == 151.0 and y_raw.min() == 25.0 and y_raw.max() == 346.0
    x, y = data.load_diabetes()
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        x[0], (x_raw[0] - x_raw.mean(axis=0)) / x_raw.std(axis=0), rtol=1e-12
    )
    np.testing.assert_allclose(
        y, (y_raw - 152.13348416289594) / y_raw.std(), rtol=1e-12
    )  # mean 152.13
    assert data.load_diabetes(dtype="float32")[0].dtype == np.float32


def test_load_diabetes_argument_errors():
    with pytest.raises(TypeError, match=r"`standardize` must be a bool"):
        data.load_diabetes(standardize="yes")
    with pytest.raises(ValueError, match=r"`dtype` must be"):
        data.load_diabetes(dtype="int8")
