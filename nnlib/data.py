"""Data: real datasets that ship offline, seeded splits, and ``tf.data`` pipelines.

Serves chapter 1.1 (digits), part 2 (data, features, labels, splits) and every training chapter.
The loaders return :class:`Splits`, which unpacks like Keras's ``load_data()``::

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_digits()
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnlib._validation import (
    check_in_range,
    check_int,
    check_same_length,
    check_type,
)

__all__ = ["Splits", "train_val_test_split", "load_digits", "load_breast_cancer"]


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
    from sklearn.model_selection import train_test_split

    x, y = np.asarray(x), np.asarray(y)
    check_same_length("x", x, "y", y)
    val_size = check_in_range("val_size", val_size, 0.0, 1.0, high_inclusive=False)
    test_size = check_in_range("test_size", test_size, 0.0, 1.0, False, False)
    if val_size + test_size >= 1.0:
        raise ValueError(
            "`val_size + test_size` must be < 1 so that samples remain for training. "
            f"Received: val_size={val_size}, test_size={test_size}"
        )
    seed = check_int("seed", seed, minimum=0)
    strat = y if stratify else None
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=strat
    )
    if val_size == 0:
        empty = (x_rest[:0], y_rest[:0])
        return Splits((x_rest, y_rest), empty, (x_test, y_test))
    strat = y_rest if stratify else None
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_size / (1.0 - test_size), random_state=seed, stratify=strat
    )
    return Splits((x_train, y_train), (x_val, y_val), (x_test, y_test))


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

    check_type("flatten", flatten, bool, "a bool")
    if dtype not in ("float32", "float64"):
        raise ValueError(f'`dtype` must be "float32" or "float64". Received: dtype={dtype!r}')
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

    check_type("standardize", standardize, bool, "a bool")
    if dtype not in ("float32", "float64"):
        raise ValueError(f'`dtype` must be "float32" or "float64". Received: dtype={dtype!r}')
    bunch = datasets.load_breast_cancer()
    splits = train_val_test_split(bunch.data, bunch.target.astype(np.int64), val_size, test_size, seed)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = splits
    if standardize:
        mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
        x_tr, x_va, x_te = ((a - mean) / std for a in (x_tr, x_va, x_te))
    return Splits(
        (x_tr.astype(dtype), y_tr), (x_va.astype(dtype), y_va), (x_te.astype(dtype), y_te)
    )
