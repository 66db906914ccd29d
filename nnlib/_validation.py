"""Argument checks shared by every ``nnlib`` module.

Error messages are part of the API (tests match them). Each names the argument, says what was
expected and ends with ``Received: <arg>=<value>``, in the style of Keras.
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

__all__ = [
    "check_type",
    "check_int",
    "check_number",
    "check_positive",
    "check_in_range",
    "check_one_of",
    "as_float_array",
    "check_rank",
    "check_same_shape",
    "check_same_length",
    "check_finite",
    "check_labels",
]


def _short(value: Any) -> str:
    """A short repr for error messages (arrays are summarized by shape and dtype)."""
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_type(name: str, value: Any, types: type | tuple[type, ...], expected: str) -> Any:
    """Raise ``TypeError`` unless ``isinstance(value, types)``."""
    if not isinstance(value, types):
        raise TypeError(
            f"`{name}` must be {expected}. Received: {name}={_short(value)} "
            f"of type {type(value).__name__}"
        )
    return value


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """An integer (not bool), optionally ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={_short(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value}")
    return int(value)


def check_number(name: str, value: Any) -> float:
    """A finite real number (not bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number. Received: {name}={_short(value)}")
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value}")
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """A finite number ``> 0``."""
    value = check_number(name, value)
    if value <= 0:
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value}")
    return value


def check_in_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A finite number in the interval ``[low, high]`` (brackets set by the flags)."""
    value = check_number(name, value)
    ok_low = value >= low if low_inclusive else value > low
    ok_high = value <= high if high_inclusive else value < high
    if not (ok_low and ok_high):
        interval = f"{'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"
        raise ValueError(f"`{name}` must be in {interval}. Received: {name}={value}")
    return value


def check_one_of(name: str, value: Any, options: Iterable[Any]) -> Any:
    """One of a fixed set of options (e.g. ``padding in {"valid", "same"}``)."""
    options = list(options)
    if value not in options:
        raise ValueError(f"`{name}` must be one of {options}. Received: {name}={_short(value)}")
    return value


def as_float_array(name: str, x: Any) -> np.ndarray:
    """Convert to a float32/float64 array; other float dtypes and ints become float64.

    float32 and float64 inputs keep their dtype (the math layer returns the input's dtype).
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"`{name}` must be an array of numbers. Received: {name}={_short(x)}")
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(
            f"`{name}` must be an array of numbers. Received: {name} with dtype={arr.dtype}"
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return arr


def check_rank(name: str, x: np.ndarray, rank: int | tuple[int, ...], meaning: str = "") -> np.ndarray:
    """Require ``x.ndim`` to be ``rank`` (or one of several ranks)."""
    ranks = (rank,) if isinstance(rank, int) else tuple(rank)
    if np.ndim(x) not in ranks:
        want = " or ".join(str(r) for r in ranks)
        extra = f" {meaning}" if meaning else ""
        raise ValueError(
            f"`{name}` must have rank {want}{extra}. Received: {name}.shape={np.shape(x)}"
        )
    return x


def check_same_shape(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Require two arrays to have the same shape."""
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"`{name_b}` must have the same shape as `{name_a}`. "
            f"Received: {name_a}.shape={np.shape(a)}, {name_b}.shape={np.shape(b)}"
        )


def check_same_length(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Require the same number of samples (first dimension)."""
    if len(a) != len(b):
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same number of samples. "
            f"Received: len({name_a})={len(a)}, len({name_b})={len(b)}"
        )


def check_finite(name: str, x: np.ndarray) -> np.ndarray:
    """Require every element to be finite (no NaN or inf)."""
    arr = np.asarray(x)
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"`{name}` must contain only finite values. Received: {name} with {bad} "
            f"NaN/inf value(s) out of {arr.size}"
        )
    return x


def check_labels(name: str, y: Any, num_classes: int) -> np.ndarray:
    """Integer class labels in ``[0, num_classes)``."""
    arr = np.asarray(y)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"`{name}` must hold integer class labels. Received: {name} with dtype={arr.dtype}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(
            f"`{name}` must hold labels in [0, {num_classes}). "
            f"Received: {name} with min={arr.min()}, max={arr.max()}"
        )
    return arr


# --- Helpers added for the math layer (activations, losses, optimizers, numpy_net, conv, rnn) ---


def check_float_input(
    name: str, x: Any, rank: int | tuple[int, ...] | None = None, meaning: str = ""
) -> np.ndarray:
    """``as_float_array`` + optional ``check_rank`` + ``check_finite`` in one call.

    The usual first line of a math-layer function: numbers in, float32/float64 array out, with
    NaN/inf rejected.
    """
    arr = as_float_array(name, x)
    if rank is not None:
        check_rank(name, arr, rank, meaning)
    check_finite(name, arr)
    return arr


def check_pair(name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each ``>= minimum`` (e.g. ``stride=2`` or ``pool_size=(2, 3)``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"`{name}` must be an integer or a pair of integers. Received: {name}={value!r}"
            )
        return check_int(name, value[0], minimum), check_int(name, value[1], minimum)
    value = check_int(name, value, minimum)
    return value, value


def check_min_rank(name: str, x: np.ndarray, rank: int, meaning: str = "") -> np.ndarray:
    """Require ``x.ndim >= rank`` (e.g. softmax needs at least a class axis)."""
    if np.ndim(x) < rank:
        extra = f" {meaning}" if meaning else ""
        raise ValueError(
            f"`{name}` must have rank >= {rank}{extra}. Received: {name}.shape={np.shape(x)}"
        )
    return x
