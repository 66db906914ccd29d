"""Data: real datasets that ship offline, seeded splits, and ``tf.data`` pipelines.

Serves part 2 (data, features, labels, splits), chapters 3.4 and 3.6 (the diabetes
regression of :func:`load_diabetes`) and every training chapter;
the 2-D toy sets (:func:`make_moons`, :func:`make_spirals`) serve the decision-boundary plots of
parts 2–4, and :func:`load_mnist` / :func:`load_fashion_mnist` serve readers who are online.
Every classification loader and generator returns :class:`Splits`, which unpacks like Keras's
``load_data()`` (:func:`load_diabetes`, a regression studied whole, returns ``(x, y)``)::

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_digits()

:func:`to_dataset` turns arrays into a deterministic ``tf.data`` pipeline for
:class:`nnlib.training.Trainer`.
"""
from __future__ import annotations

import gzip
import os
from typing import Any, NamedTuple

import numpy as np

from nnlib.perturb import nudge
from nnlib._validation import (
    as_array,
    cast_finite,
    check_bool,
    check_finite,
    check_float_input,
    check_in_range,
    check_int,
    check_real_dtype,
    check_same_length,
    check_type,
)

__all__ = [
    "Splits",
    "train_val_test_split",
    "load_digits",
    "load_breast_cancer",
    "load_diabetes",
    "make_moons",
    "make_spirals",
    "to_dataset",
    "load_mnist",
    "load_fashion_mnist",
    "DatasetDownloadError",
]


def _check_dtype(dtype: str) -> None:
    if dtype not in ("float32", "float64"):
        raise ValueError(f'`dtype` must be "float32" or "float64". Received: dtype={dtype!r}')


class Splits(NamedTuple):
    """Train / validation / test arrays, each an ``(x, y)`` pair."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def train_val_test_split(
    x: np.ndarray,
    y: np.ndarray,
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 0,
    stratify: bool = True,
) -> Splits:
    """Split ``(x, y)`` into train, validation and test sets, stratified by label and seeded.

    Args:
        x: features, shape ``(n, ...)``.
        y: labels, shape ``(n,)``.
        val_size: fraction of samples for validation, in ``[0, 1)``.
        test_size: fraction of samples for testing, in ``(0, 1)``; ``val_size + test_size < 1``.
        seed: seed of the shuffle; the same seed gives the same split.
        stratify: keep the class proportions of ``y`` in every split (classification data).

    Returns:
        :class:`Splits` ``((x_train, y_train), (x_val, y_val), (x_test, y_test))``.
    """
    x, y = as_array("x", x), as_array("y", y)
    check_same_length("x", x, "y", y)
    val_size = check_in_range("val_size", val_size, 0.0, 1.0, high_inclusive=False)
    test_size = check_in_range("test_size", test_size, 0.0, 1.0, False, False)
    if val_size + test_size >= 1.0:
        raise ValueError(
            "`val_size + test_size` must be < 1 so that samples remain for training. "
            f"Received: val_size={val_size}, test_size={test_size}"
        )
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)  # scikit-learn's seed range
    if check_bool("stratify", stratify):
        _check_stratifiable(y)
    x_rest, x_test, y_rest, y_test = _split(x, y, test_size, seed, stratify, "test", len(x))
    if val_size == 0:
        empty = (x_rest[:0], y_rest[:0])
        return _nudged(Splits((x_rest, y_rest), empty, (x_test, y_test)))
    x_train, x_val, y_train, y_val = _split(
        x_rest, y_rest, val_size / (1.0 - test_size), seed, stratify, "validation", len(x)
    )
    return _nudged(Splits((x_train, y_train), (x_val, y_val), (x_test, y_test)))


def _check_stratifiable(y: np.ndarray) -> None:
    """Stratifying needs class labels with at least two samples in every class."""
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError(
            f"`y` holds continuous values ({np.unique(y).size} distinct), which cannot be stratified by "
            f"class: pass stratify=False for regression targets. Received: y with dtype={y.dtype}"
        )
    classes, counts = np.unique(y, axis=0 if y.ndim > 1 else None, return_counts=True)
    if counts.size and counts.min() < 2:
        raise ValueError(
            f"`y` must have at least 2 samples of every class to stratify; class {classes[np.argmin(counts)]} "
            f"has {counts.min()}. Pass stratify=False, or drop or merge the rare classes. "
            f"Received: y with {classes.shape[0]} classes"
        )


def _split(x, y, size: float, seed: int, stratify: bool, part: str, n: int):
    """scikit-learn's ``train_test_split``, its size errors restated for our arguments."""
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(x, y, test_size=size, random_state=seed, stratify=y if stratify else None)
    except ValueError as err:  # too few samples (or samples per class) for the sizes asked for
        raise ValueError(
            f"`x` and `y` hold too few samples to split off a {part} set: {err} Use more samples, "
            f"other sizes{' or stratify=False' if stratify else ''}. Received: len(x)={n}"
        ) from None


def _nudged(splits: Splits) -> Splits:
    """Every floating array one ulp off in perturbation mode (``NNLIB_PERTURB=1``, see :mod:`nnlib.perturb`)."""
    return Splits(*((nudge(x, seed=i), y) for i, (x, y) in enumerate(splits)))


def load_digits(
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 0,
    flatten: bool = True,
    dtype: str = "float32",
) -> Splits:
    """scikit-learn's 1,797 real 8×8 handwritten digits, scaled to [0, 1] and split.

    The images are the UCI "Optical Recognition of Handwritten Digits" test set: 16 grey levels,
    ten balanced classes. They ship inside scikit-learn, so this works with no network.

    Args:
        val_size, test_size, seed: see :func:`train_val_test_split` (stratified).
        flatten: ``True`` gives ``x`` of shape ``(n, 64)`` for an MLP; ``False`` gives
            ``(n, 8, 8, 1)`` (NHWC) for a CNN.
        dtype: floating dtype of ``x`` (``"float32"`` or ``"float64"``).

    Returns:
        :class:`Splits` with ``x`` in ``[0, 1]`` and integer labels ``y`` in ``0..9``.

    Example:
        >>> (x_train, y_train), _, _ = load_digits()
        >>> x_train.shape
        (1257, 64)
    """
    from sklearn import datasets

    check_bool("flatten", flatten)
    _check_dtype(dtype)
    bunch = datasets.load_digits()
    x = (bunch.data / 16.0).astype(dtype)  # 16 grey levels -> [0, 1]
    if not flatten:
        x = x.reshape(-1, 8, 8, 1)  # (n, 64) -> (n, height, width, channels)
    return train_val_test_split(x, bunch.target.astype(np.int64), val_size, test_size, seed)


def load_breast_cancer(
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 0,
    standardize: bool = True,
    dtype: str = "float32",
) -> Splits:
    """The Wisconsin diagnostic breast-cancer data (569 tumours × 30 features), split.

    Label 1 is *benign* and 0 *malignant*, as scikit-learn stores them. With ``standardize=True``
    every feature is shifted and scaled by the **training** split's mean and standard deviation
    only, so no information leaks from validation or test data into preprocessing.

    Args:
        val_size, test_size, seed: see :func:`train_val_test_split` (stratified).
        standardize: z-score the features with training statistics.
        dtype: floating dtype of ``x``.

    Returns:
        :class:`Splits` with ``x`` of shape ``(n, 30)`` and labels ``y`` in ``{0, 1}``.
    """
    from sklearn import datasets

    check_bool("standardize", standardize)
    _check_dtype(dtype)
    bunch = datasets.load_breast_cancer()
    splits = train_val_test_split(bunch.data, bunch.target.astype(np.int64), val_size, test_size, seed)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = splits
    if standardize:
        mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
        x_tr, x_va, x_te = ((a - mean) / std for a in (x_tr, x_va, x_te))
    return _nudged(Splits(
        (x_tr.astype(dtype), y_tr), (x_va.astype(dtype), y_va), (x_te.astype(dtype), y_te)
    ))


def load_diabetes(standardize: bool = True, dtype: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    r"""The diabetes regression data (442 patients × 10 features), whole and unsplit.

    Ten baseline measurements per patient — age, sex, body-mass index, average blood pressure and
    six blood-serum values — and the target, a measure of disease progression one year later
    (Efron et al., 2004). Chapters 3.4 and 3.6 use all 442 patients to study *optimization*: the
    training loss of a linear model and its exact least-squares minimum, not generalization. To
    split, pass the arrays to :func:`train_val_test_split` with ``stratify=False``.

    With ``standardize=True`` every feature column and the target are z-scored over all 442
    patients, :math:`x'_{ij} = (x_{ij} - \mu_j)/\sigma_j` (population :math:`\sigma`), so that one
    learning rate suits every weight. With ``standardize=False`` they are the raw measurements in
    their own units (scikit-learn's ``load_diabetes(scaled=False)``; *not* scikit-learn's default,
    which is already centred and scaled to unit column norm).

    Args:
        standardize: z-score the features and the target.
        dtype: floating dtype of both arrays (``"float32"`` or ``"float64"``).

    Returns:
        ``(x, y)``: features of shape ``(442, 10)`` and targets of shape ``(442,)``.

    Example:
        >>> x, y = load_diabetes()
        >>> x.shape, y.shape
        ((442, 10), (442,))
    """
    from sklearn import datasets

    standardize = check_bool("standardize", standardize)
    _check_dtype(dtype)
    bunch = datasets.load_diabetes(scaled=False)
    x, y = bunch.data, bunch.target.astype(np.float64)
    if standardize:
        x = (x - x.mean(axis=0)) / x.std(axis=0)  # (442, 10): every column mean 0, std 1
        y = (y - y.mean()) / y.std()
    return nudge(x.astype(dtype), seed=0), nudge(y.astype(dtype), seed=1)


# --------------------------------------------------------------------------------------------
# Generated 2-D toy data (decision boundaries)
# --------------------------------------------------------------------------------------------


def make_moons(
    n_samples: int = 500,
    noise: float = 0.2,
    seed: int = 0,
    val_size: float = 0.15,
    test_size: float = 0.15,
    dtype: str = "float32",
) -> Splits:
    r"""Two interleaving half circles in 2-D: the smallest problem a linear model cannot solve.

    Class 0 lies on the upper arc :math:`(\cos t, \sin t)`, class 1 on the lower arc
    :math:`(1 - \cos t, \tfrac12 - \sin t)`, :math:`t \in [0, \pi]`, each point moved by Gaussian
    noise :math:`\mathcal N(0, \text{noise}^2 I)` (scikit-learn's generator, seeded).

    Args:
        n_samples: total number of points (``>= 10``), split evenly between the two classes.
        noise: standard deviation of the Gaussian noise, ``>= 0``.
        seed: seeds both the generator and the split.
        val_size, test_size: see :func:`train_val_test_split` (stratified).
        dtype: floating dtype of ``x``.

    Returns:
        :class:`Splits` with ``x`` of shape ``(n, 2)`` and labels ``y`` in ``{0, 1}``.

    Example:
        >>> (x_train, y_train), _, _ = make_moons(200, noise=0.1)
        >>> x_train.shape
        (140, 2)
    """
    from sklearn import datasets

    n_samples = check_int("n_samples", n_samples, minimum=10)
    noise = check_in_range("noise", noise, 0.0, float("inf"))
    seed = check_int("seed", seed, minimum=0)
    _check_dtype(dtype)
    with np.errstate(over="ignore"):
        x, y = datasets.make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    x = _noisy_points(x, noise, dtype)
    return train_val_test_split(x, y.astype(np.int64), val_size, test_size, seed)


def _noisy_points(x: np.ndarray, noise: float, dtype: str) -> np.ndarray:
    """Generated points in ``dtype``; a noise so large that they overflow it is an error."""
    if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > np.finfo(dtype).max:
        raise ValueError(
            f"`noise` is too large: the generated points overflow {dtype}. Received: noise={noise}"
        )
    return x.astype(dtype)


def make_spirals(
    n_samples: int = 600,
    n_classes: int = 3,
    noise: float = 0.2,
    seed: int = 0,
    val_size: float = 0.15,
    test_size: float = 0.15,
    dtype: str = "float32",
) -> Splits:
    r"""``n_classes`` interleaved spiral arms in 2-D: a classic test for a hidden layer's power.

    Arm :math:`k` holds points at radius :math:`r \in [0, 1]` and angle
    :math:`\theta = 4r + 2\pi k / K + \varepsilon`, :math:`\varepsilon \sim \mathcal N(0,
    \text{noise}^2)`, i.e. :math:`x = r(\sin\theta, \cos\theta)` (generated with a seeded NumPy
    ``Generator``).

    Args:
        n_samples: total number of points; each of the ``n_classes`` arms gets
            ``n_samples // n_classes`` (the remainder is dropped).
        n_classes: number of arms (classes), ``>= 2``.
        noise: standard deviation of the angular noise in radians, ``>= 0``.
        seed: seeds both the generator and the split.
        val_size, test_size: see :func:`train_val_test_split` (stratified).
        dtype: floating dtype of ``x``.

    Returns:
        :class:`Splits` with ``x`` of shape ``(n, 2)`` in ``[-1, 1]^2`` and labels
        ``y`` in ``0..n_classes-1``.

    Example:
        >>> (x_train, y_train), _, _ = make_spirals(300, n_classes=3)
        >>> sorted(set(y_train.tolist()))
        [0, 1, 2]
    """
    n_classes = check_int("n_classes", n_classes, minimum=2)
    n_samples = check_int("n_samples", n_samples, minimum=10 * n_classes)
    noise = check_in_range("noise", noise, 0.0, float("inf"))
    seed = check_int("seed", seed, minimum=0)
    _check_dtype(dtype)
    rng = np.random.default_rng(seed)
    per_class = n_samples // n_classes
    r = np.tile(np.linspace(0.0, 1.0, per_class), n_classes)  # (K * per_class,)
    k = np.repeat(np.arange(n_classes), per_class)
    with np.errstate(over="ignore", invalid="ignore"):
        theta = 4.0 * r + 2.0 * np.pi * k / n_classes + rng.normal(0.0, noise, r.shape)
        x = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)  # (n, 2)
    x = _noisy_points(x, noise, dtype)
    return train_val_test_split(x, k.astype(np.int64), val_size, test_size, seed)


# --------------------------------------------------------------------------------------------
# tf.data pipelines
# --------------------------------------------------------------------------------------------


def to_dataset(
    x: Any,
    y: Any = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
):
    r"""Arrays -> a deterministic ``tf.data`` pipeline: (shuffle) -> batch -> prefetch.

    With ``shuffle=True`` the samples are reshuffled at every pass (epoch) with a seeded
    sequence of permutations: the :math:`e`-th pass over a freshly built dataset always sees the
    same order. :class:`nnlib.training.Trainer` relies on this to restore the data order when it
    resumes from a checkpoint (it replays the first :math:`e` passes).

    Args:
        x: features, shape ``(n, ...)``; must be finite, also once cast to float32.
        y: labels or targets (numbers), shape ``(n, ...)``, or ``None`` for a features-only
            dataset (for ``predict``); float targets must be finite in float32.
        batch_size: samples per batch, ``>= 1``; the last batch may be smaller unless
            ``drop_remainder=True``.
        shuffle: reshuffle the whole data set (buffer = ``n``) at every pass.
        seed: seed of the shuffle sequence.
        drop_remainder: drop a last, smaller batch.

    Returns:
        A ``tf.data.Dataset`` of ``(x, y)`` batches (or ``x`` batches when ``y is None``),
        ``x`` as ``float32``.

    Example:
        >>> ds = to_dataset(np.zeros((10, 2)), np.arange(10), batch_size=4)
        >>> [int(xb.shape[0]) for xb, yb in ds]
        [4, 4, 2]
    """
    import tensorflow as tf

    x = check_float_input("x", x, dtype=np.float32)  # finite before and after the cast
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"`x` must hold at least one sample. Received: x.shape={x.shape}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    shuffle = check_bool("shuffle", shuffle)
    seed = check_int("seed", seed, minimum=0)
    drop_remainder = check_bool("drop_remainder", drop_remainder)
    if y is None:
        tensors = x
    else:
        y = as_array("y", y)
        check_same_length("x", x, "y", y)
        check_real_dtype("y", y)
        if y.dtype.kind == "f":
            y = cast_finite("y", check_finite("y", y), np.float32)
        tensors = (x, y)
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)  # new order each pass
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    options.deterministic = True  # parallel stages keep their order
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST: the real Keras download, verified by SHA-256, cached
# --------------------------------------------------------------------------------------------

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


def _finish_images(
    x_train, y_train, x_test, y_test, val_size, seed, flatten, dtype
) -> Splits:
    """uint8 images -> scaled floats, NHWC or flat; carve a stratified validation split."""
    _check_dtype(dtype)
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
    _check_dtype(dtype)
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
        x_train, y_train, x_test, y_test = (f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
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
        fname: _fetch(fname, base + fname, file_hash, cache_dir, os.path.join("datasets", "fashion-mnist"))
        for fname, file_hash in _FASHION_FILES.items()
    }
    y_train = _read_idx(paths["train-labels-idx1-ubyte.gz"], 2049)
    x_train = _read_idx(paths["train-images-idx3-ubyte.gz"], 2051)
    y_test = _read_idx(paths["t10k-labels-idx1-ubyte.gz"], 2049)
    x_test = _read_idx(paths["t10k-images-idx3-ubyte.gz"], 2051)
    return _finish_images(x_train, y_train, x_test, y_test, val_size, seed, flatten, dtype)
