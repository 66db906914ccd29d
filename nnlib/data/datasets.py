r"""Data sets that ship offline, seeded train/validation/test splits, and 2-D toy data.

Serves Chapter 2.2, *Data, features and labels* (features, labels, the three splits) and
Chapter 2.3, *Training, validation and evaluation*; Chapters 3.4, *Gradient descent: batches and
the learning rate*, and 3.6, *Learning-rate decay and schedules* (the diabetes regression of
:func:`load_diabetes`); and every chapter that trains on the handwritten digits
(:func:`load_digits`) or the breast-cancer data (:func:`load_breast_cancer`, Chapter 4.1, *A binary
classifier in Keras 3*). The 2-D toy sets (:func:`make_moons`, :func:`make_spirals`) serve the
decision-boundary figures of Parts 2-4.

Every classification loader and generator returns :class:`Splits`, which unpacks like Keras's
``load_data()``::

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_digits()

:func:`load_diabetes`, a regression studied whole, returns ``(x, y)``. In perturbation mode
(:mod:`nnlib.perturb`) every floating array returned here is one ulp off.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnlib._validation import (
    as_array,
    check_bool,
    check_float_dtype,
    check_in_range,
    check_int,
    check_nonnegative,
    check_same_length,
)
from nnlib.perturb import nudge

__all__ = [
    "Splits",
    "train_val_test_split",
    "load_digits",
    "load_breast_cancer",
    "load_diabetes",
    "make_moons",
    "make_spirals",
]


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
        return train_test_split(
            x, y, test_size=size, random_state=seed, stratify=y if stratify else None
        )
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

    The images are the UCI "Optical Recognition of Handwritten Digits" test set: 17 grey levels (0–16),
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
    check_float_dtype("dtype", dtype)
    bunch = datasets.load_digits()
    x = (bunch.data / 16.0).astype(dtype)  # 17 grey levels 0..16 -> [0, 1]
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
    check_float_dtype("dtype", dtype)
    bunch = datasets.load_breast_cancer()
    splits = train_val_test_split(
        bunch.data, bunch.target.astype(np.int64), val_size, test_size, seed
    )
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = splits
    if standardize:
        mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
        x_tr, x_va, x_te = ((a - mean) / std for a in (x_tr, x_va, x_te))
    return _nudged(
        Splits((x_tr.astype(dtype), y_tr), (x_va.astype(dtype), y_va), (x_te.astype(dtype), y_te))
    )


def load_diabetes(
    standardize: bool = True, dtype: str = "float64"
) -> tuple[np.ndarray, np.ndarray]:
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
    check_float_dtype("dtype", dtype)
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
    noise = check_nonnegative("noise", noise)
    seed = check_int("seed", seed, minimum=0)
    check_float_dtype("dtype", dtype)
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
    noise = check_nonnegative("noise", noise)
    seed = check_int("seed", seed, minimum=0)
    check_float_dtype("dtype", dtype)
    rng = np.random.default_rng(seed)
    per_class = n_samples // n_classes
    r = np.tile(np.linspace(0.0, 1.0, per_class), n_classes)  # (K * per_class,)
    k = np.repeat(np.arange(n_classes), per_class)
    with np.errstate(over="ignore", invalid="ignore"):
        theta = 4.0 * r + 2.0 * np.pi * k / n_classes + rng.normal(0.0, noise, r.shape)
        x = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)  # (n, 2)
    x = _noisy_points(x, noise, dtype)
    return train_val_test_split(x, k.astype(np.int64), val_size, test_size, seed)
