r"""MNIST and Fashion-MNIST through the real Keras download: verified by SHA-256, cached, and
with an error that names the offline alternative when there is no network.

Serves Chapter 4.3, *An MLP with dropout for handwritten digits*, which shows the MNIST call (and
what happens offline), and readers who are online; no chapter downloads anything while the tests
run, and the tests use small files they make.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from nnlib._validation import check_bool, check_float_dtype, check_in_range, check_int, check_type
from nnlib.data.datasets import Splits, _nudged

__all__ = ["load_mnist", "load_fashion_mnist", "DatasetDownloadError"]

_KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# SHA-256 of the files Keras serves (the same values keras.datasets checks).
_MNIST_FILES = {"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"}
_FASHION_FILES = {
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}


class DatasetDownloadError(OSError):
    """A data set could not be downloaded (typically: no network). The message names the
    offline alternative, :func:`load_digits`."""


def _cache_base(cache_dir: str | None) -> str:
    """The folder ``keras.utils.get_file`` caches into (same rules as Keras)."""
    base = os.path.expanduser(
        cache_dir or os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
    )
    try:
        os.makedirs(base, exist_ok=True)  # Keras silently falls back to /tmp for a missing dir
    except OSError:
        pass
    return base if os.access(base, os.W_OK) else os.path.join("/tmp", ".keras")


def _fetch(fname: str, origin: str, file_hash: str, cache_dir: str | None, subdir: str) -> str:
    """Download ``origin`` into the Keras cache (or reuse it) and verify its SHA-256."""
    import keras

    base = _cache_base(cache_dir)
    try:
        return keras.utils.get_file(
            fname=fname,
            origin=origin,
            file_hash=file_hash,
            hash_algorithm="sha256",
            cache_dir=base,
            cache_subdir=subdir,
        )
    except ValueError as err:  # Keras: "Incomplete or corrupted file detected"
        bad = os.path.join(base, subdir, fname)
        if os.path.exists(bad):
            os.remove(bad)  # never leave a file that failed its checksum in the cache
        raise ValueError(
            f"The downloaded file {fname!r} failed its SHA-256 check (corrupted or not the "
            f"expected file) and was deleted. Expected sha256={file_hash}. "
            f"Received: origin={origin!r}"
        ) from err
    except Exception as err:  # urllib errors re-raised by Keras as plain Exception
        raise DatasetDownloadError(
            f"Could not download {fname!r} from {origin!r} ({err}). This data set needs the "
            "network the first time (it is cached afterwards). Offline, use "
            "nnlib.data.load_digits() (8x8 handwritten digits that ship with scikit-learn)."
        ) from err


def _finish_images(x_train, y_train, x_test, y_test, val_size, seed, flatten, dtype) -> Splits:
    """uint8 images -> scaled floats, NHWC or flat; carve a stratified validation split."""
    check_float_dtype("dtype", dtype)
    x_train = (x_train.astype(dtype) / 255.0).astype(dtype)  # [0, 255] -> [0, 1]
    x_test = (x_test.astype(dtype) / 255.0).astype(dtype)
    shape = (-1, int(np.prod(x_train.shape[1:]))) if flatten else (-1, *x_train.shape[1:], 1)
    x_train, x_test = x_train.reshape(shape), x_test.reshape(shape)
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    if val_size == 0:
        return _nudged(Splits((x_train, y_train), (x_train[:0], y_train[:0]), (x_test, y_test)))
    from sklearn.model_selection import train_test_split

    x_tr, x_va, y_tr, y_va = train_test_split(
        x_train, y_train, test_size=val_size, random_state=seed, stratify=y_train
    )
    return _nudged(Splits((x_tr, y_tr), (x_va, y_va), (x_test, y_test)))


def _check_loader_args(val_size, seed, flatten, dtype, cache_dir, origin) -> tuple[float, int]:
    val_size = check_in_range("val_size", val_size, 0.0, 1.0, high_inclusive=False)
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    check_bool("flatten", flatten)
    check_float_dtype("dtype", dtype)
    if cache_dir is not None:
        check_type("cache_dir", cache_dir, (str, os.PathLike), "a path (or None for ~/.keras)")
    if origin is not None:
        check_type("origin", origin, str, "a URL string (or None for Keras's)")
    return val_size, seed


def load_mnist(
    val_size: float = 0.1,
    seed: int = 0,
    flatten: bool = True,
    dtype: str = "float32",
    cache_dir: str | None = None,
    origin: str | None = None,
) -> Splits:
    r"""MNIST (70,000 real 28×28 handwritten digits) via the Keras download, verified and cached.

    The file ``mnist.npz`` is fetched once with ``keras.utils.get_file`` from Keras's storage,
    checked against its published SHA-256 (a corrupted or substituted file is rejected and
    deleted), cached under ``cache_dir`` (default ``~/.keras``) and read with ``np.load``
    (pickles disabled). The official 10,000 test images stay the test split; ``val_size`` of the
    60,000 training images become a stratified validation split. Pixels are scaled
    :math:`x / 255 \in [0, 1]`.

    Args:
        val_size: fraction of the training images held out for validation, in ``[0, 1)``.
        seed: seed of the validation split.
        flatten: ``True`` gives ``x`` of shape ``(n, 784)``; ``False`` gives ``(n, 28, 28, 1)``.
        dtype: floating dtype of ``x``.
        cache_dir: cache directory (Keras's ``cache_dir``); ``None`` means ``~/.keras``.
        origin: download URL; ``None`` means Keras's official one. For mirrors and tests.

    Returns:
        :class:`Splits` with labels ``y`` in ``0..9``.

    Raises:
        DatasetDownloadError: the download failed (e.g. offline); the message names
            :func:`load_digits` as the offline alternative.
        ValueError: the file failed its SHA-256 check.

    Example:
        >>> (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_mnist()  # doctest: +SKIP
        >>> x_train.shape  # doctest: +SKIP
        (54000, 784)
    """
    val_size, seed = _check_loader_args(val_size, seed, flatten, dtype, cache_dir, origin)
    fname, file_hash = next(iter(_MNIST_FILES.items()))
    path = _fetch(fname, origin or _KERAS_DATASETS + fname, file_hash, cache_dir, "datasets")
    with np.load(path, allow_pickle=False) as f:  # plain arrays only: never unpickle downloads
        x_train, y_train, x_test, y_test = (
            f[k] for k in ("x_train", "y_train", "x_test", "y_test")
        )
    return _finish_images(x_train, y_train, x_test, y_test, val_size, seed, flatten, dtype)


def _read_idx(path: str, magic: int) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format): big-endian header, then uint8 data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = magic - 2048  # 2049: labels (1-D), 2051: images (3-D)
    header = np.frombuffer(raw, dtype=">u4", count=1 + ndim)
    if int(header[0]) != magic:
        raise ValueError(
            f"`{os.path.basename(path)}` is not an IDX file with magic number {magic}. "
            f"Received: magic={int(header[0])}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 * (1 + ndim)).reshape(header[1:].astype(int))


def load_fashion_mnist(
    val_size: float = 0.1,
    seed: int = 0,
    flatten: bool = True,
    dtype: str = "float32",
    cache_dir: str | None = None,
    origin: str | None = None,
) -> Splits:
    r"""Fashion-MNIST (70,000 28×28 clothing images, 10 classes) via the Keras download.

    Same contract as :func:`load_mnist`: four gzipped IDX files fetched with
    ``keras.utils.get_file`` (each verified by SHA-256, cached under
    ``cache_dir/datasets/fashion-mnist``), pixels scaled to ``[0, 1]``, a stratified validation
    split from the 60,000 training images. Labels: 0 T-shirt/top, 1 trouser, 2 pullover,
    3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot.

    Args:
        val_size, seed, flatten, dtype, cache_dir: as in :func:`load_mnist`.
        origin: base URL the four file names are appended to; ``None`` means Keras's.

    Returns:
        :class:`Splits` with labels ``y`` in ``0..9``.

    Raises:
        DatasetDownloadError: a download failed (names :func:`load_digits` as the offline
            alternative).
        ValueError: a file failed its SHA-256 check or is not an IDX file.
    """
    val_size, seed = _check_loader_args(val_size, seed, flatten, dtype, cache_dir, origin)
    base = origin or _KERAS_DATASETS
    paths = {
        fname: _fetch(
            fname, base + fname, file_hash, cache_dir, os.path.join("datasets", "fashion-mnist")
        )
        for fname, file_hash in _FASHION_FILES.items()
    }
    y_train = _read_idx(paths["train-labels-idx1-ubyte.gz"], 2049)
    x_train = _read_idx(paths["train-images-idx3-ubyte.gz"], 2051)
    y_test = _read_idx(paths["t10k-labels-idx1-ubyte.gz"], 2049)
    x_test = _read_idx(paths["t10k-images-idx3-ubyte.gz"], 2051)
    return _finish_images(x_train, y_train, x_test, y_test, val_size, seed, flatten, dtype)
