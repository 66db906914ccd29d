"""Argument checks shared by every ``nnlib`` module.

Serves no chapter directly: every public function of the library checks its input here, once, at
its entry (one check call, then the formula), and the appendix page *Contributing a chapter* asks
new library code to do the same.
The shared checks replace per-module variants: :func:`check_bool`, :func:`check_nonnegative`,
:func:`check_float_dtype`, :func:`check_list`, and the rest below.

Error messages are part of the API (tests match them). Each names the argument, says what was
expected and ends with ``Received: <arg>=<value>``, in the style of Keras.

What the checks promise (tested property by property in ``tests/test_robustness*.py``):

* arrays: ragged nested lists, ``None``, strings, objects, complex numbers (whose imaginary part a
  cast would drop) and dates/time spans are rejected with a message naming the argument;
* scalars: Python and NumPy numbers are accepted (``np.bool_`` where a bool is expected); a value
  that cannot be a finite float64 (``10 ** 400``, ``inf``) is rejected;
* casts (:func:`cast_finite`) check finiteness *after* the cast and say which value overflowed
  the target dtype, so a finite float64 never turns into a silent ``inf`` in float32;
* labels are checked against the loss kind (:func:`check_targets`), and the message says how to
  fix them (``np.argmax``, ``keras.utils.to_categorical`` or another loss).
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "check_type",
    "check_bool",
    "check_callable",
    "check_list",
    "check_int",
    "check_number",
    "check_positive",
    "check_nonnegative",
    "check_in_range",
    "check_one_of",
    "as_array",
    "as_float_array",
    "check_real_dtype",
    "check_float_dtype",
    "cast_finite",
    "check_rank",
    "check_same_shape",
    "check_same_length",
    "check_finite",
    "check_labels",
    "check_targets",
    "check_memory",
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


def check_bool(name: str, value: Any) -> bool:
    """``True`` or ``False``: a Python bool or a NumPy bool (``np.True_``), returned as a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"`{name}` must be a bool. Received: {name}={_short(value)} of type {type(value).__name__}"
        )
    return bool(value)


def check_list(name: str, value: Any, what: str) -> list:
    """A list from a list or tuple (``None`` means empty); a single string or object is an error."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"`{name}` must be a list of {what}. Received: {name}={_short(value)}")
    return list(value)


def check_callable(name: str, value: Any, expected: str) -> Any:
    """Raise ``TypeError`` unless ``value`` is callable; ``expected`` describes the call."""
    if not callable(value):
        raise TypeError(f"`{name}` must be {expected}. Received: {name}={_short(value)}")
    return value


def accepts(fn: Any, *args: Any) -> bool:
    """Whether ``fn`` can be called with ``args`` (True when Python cannot tell: some built-ins)."""
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        return False
    except ValueError:  # no signature available: trust it
        pass
    return True


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (not bool), optionally ``>= minimum`` and ``<= maximum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={_short(value)}")
    if maximum is not None and value > maximum or minimum is not None and value < minimum:
        if maximum is None:
            want = f">= {minimum}"
        else:
            want = f"<= {maximum}" if minimum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be an integer {want}. Received: {name}={_short(value)}")
    return int(value)


def check_number(name: str, value: Any) -> float:
    """A finite real number (not bool): a Python or NumPy int or float, or a ``Fraction``.

    Returned as a Python float; a value that a float64 cannot hold (``10 ** 400``) is rejected.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number. Received: {name}={_short(value)}")
    try:
        with np.errstate(over="ignore"):
            result = float(value)
        overflow = (
            math.isinf(result) and isinstance(value, np.floating) and bool(np.isfinite(value))
        )
    except OverflowError:  # a Python int or Fraction beyond the float64 range
        result, overflow = math.inf, True
    if overflow:
        raise ValueError(
            f"`{name}` must be finite and fit in a float64 (|{name}| < 1.8e308). "
            f"Received: {name}={_short(value)}"
        )
    if not math.isfinite(result):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value}")
    return result


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


def check_nonnegative(name: str, value: Any) -> float:
    """A finite number ``>= 0`` (a rate, a penalty factor, a noise level, an epsilon)."""
    return check_in_range(name, value, 0.0, math.inf)


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` as a plain bool; False for arrays and for comparisons that fail."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    try:
        return type(a) is not bool and bool(a == b)
    except Exception:  # noqa: BLE001 - an object whose == raises is simply not an option
        return False


def check_one_of(name: str, value: Any, options: Iterable[Any]) -> Any:
    """One of a fixed set of options (e.g. ``padding in {"valid", "same"}``)."""
    options = list(options)
    if not any(_equal(value, option) for option in options):
        raise ValueError(f"`{name}` must be one of {options}. Received: {name}={_short(value)}")
    return value


def as_array(name: str, x: Any) -> np.ndarray:
    """``np.asarray(x)``, with a clear error for ragged nested lists (rows of unequal length)."""
    try:
        return np.asarray(x)
    except (ValueError, TypeError):  # NumPy: "... has an inhomogeneous shape after 1 dimensions"
        raise ValueError(
            f"`{name}` must be a rectangular array (nested lists of equal lengths). "
            f"Received: {name}={_short(x)}"
        ) from None


_NOT_REAL = {
    "c": "complex numbers (a cast to float would drop the imaginary part)",
    "m": "time spans (timedelta64)",
    "M": "dates (datetime64)",
    "U": "strings",
    "S": "bytes",
    "O": "Python objects (e.g. None, or integers too large for int64)",
    "V": "structured records",
}


def check_real_dtype(name: str, arr: np.ndarray) -> np.ndarray:
    """Require a real dtype: bool, int, unsigned int or float."""
    if arr.dtype.kind not in "biuf":
        what = _NOT_REAL.get(arr.dtype.kind, f"values of dtype {arr.dtype}")
        raise TypeError(
            f"`{name}` must be an array of numbers (bool, int or float), not {what}. "
            f"Received: {name} with dtype={arr.dtype}"
        )
    return arr


def check_float_dtype(name: str, dtype: Any) -> str:
    """``"float32"`` or ``"float64"``, also given as ``np.float32`` or ``np.dtype("float64")``;
    returned as the name. The dtype argument of every math-layer constructor and data loader."""
    if isinstance(dtype, np.dtype) or isinstance(dtype, type) and issubclass(dtype, np.generic):
        dtype = np.dtype(dtype).name
    return check_one_of(name, dtype, ["float32", "float64"])


def cast_finite(name: str, x: np.ndarray, dtype: Any) -> np.ndarray:
    """``x.astype(dtype)``, with finiteness checked AFTER the cast.

    A finite value beyond the target's range (1e39 into float32, a long double beyond float64)
    becomes ``inf`` in a plain cast; here it is an error that names the first such value. Values
    that were already NaN/inf are left to :func:`check_finite`.
    """
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    with np.errstate(over="ignore", invalid="ignore"):
        out = x.astype(dtype)
    if dtype.kind == "f" and not np.all(np.isfinite(out)):
        lost = ~np.isfinite(out)
        if x.dtype.kind == "f":
            lost &= np.isfinite(x)  # NaN/inf before the cast: not the cast's doing
        if lost.any():
            first = tuple(int(i) for i in np.argwhere(lost)[0])
            where = f"{name}[{', '.join(map(str, first))}]" if first else name
            raise ValueError(
                f"`{name}` must fit in {dtype.name} (|value| <= {np.finfo(dtype).max:.4g}): "
                f"{int(lost.sum())} value(s) overflow to inf when cast to {dtype.name}. "
                f"Received: {where}={x[first]}"
            )
    return out


def as_float_array(name: str, x: Any) -> np.ndarray:
    """Convert to a float32/float64 array; other float dtypes, ints and bools become float64.

    float32 and float64 inputs keep their dtype (the math layer returns the input's dtype).
    Ragged lists, strings, objects, complex numbers and dates are rejected (:func:`as_array`,
    :func:`check_real_dtype`).
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"`{name}` must be an array of numbers. Received: {name}={_short(x)}")
    arr = check_real_dtype(name, as_array(name, x))
    if arr.dtype not in (np.float32, np.float64):
        arr = cast_finite(name, arr, np.float64)  # a long double beyond float64 is an error
    return arr


def check_rank(
    name: str, x: np.ndarray, rank: int | tuple[int, ...], meaning: str = ""
) -> np.ndarray:
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
    for name, value in ((name_a, a), (name_b, b)):
        if np.ndim(value) == 0:
            raise ValueError(
                f"`{name}` must be an array with one entry per sample (shape (n, ...)). "
                f"Received: {name}={_short(value)}"
            )
    if len(a) != len(b):
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same number of samples. "
            f"Received: len({name_a})={len(a)}, len({name_b})={len(b)}"
        )


def _first_nonfinite(name: str, arr: np.ndarray) -> tuple[str, Any]:
    """Where the first NaN/inf of ``arr`` is (``"y[2]"``) and its value, for messages."""
    first = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
    where = f"{name}[{', '.join(map(str, first))}]" if first else name
    return where, arr[first]


def _count_nonfinite(arr: np.ndarray) -> str:
    """``"2 NaN"``, ``"1 inf"`` or ``"2 NaN and 1 inf"`` (inf counts -inf too)."""
    n_nan = int(np.count_nonzero(np.isnan(arr)))
    n_inf = int(np.count_nonzero(np.isinf(arr)))
    return " and ".join(f"{n} {kind}" for n, kind in ((n_nan, "NaN"), (n_inf, "inf")) if n)


def check_finite(name: str, x: np.ndarray) -> np.ndarray:
    """Require every element to be finite (no NaN or inf); the message says which and where."""
    arr = np.asarray(x)
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        where, value = _first_nonfinite(name, arr)
        raise ValueError(
            f"`{name}` must contain only finite values. Received: {name} with {bad} "
            f"NaN/inf value(s) out of {arr.size} ({_count_nonfinite(arr)}; the first is {where}={value})"
        )
    return x


def check_labels(name: str, y: Any, num_classes: int) -> np.ndarray:
    """Integer class labels in ``[0, num_classes)`` (integer-valued floats are converted)."""
    arr = as_array(name, y)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):  # a missing label, not a wrong type: say so, and where
            where, value = _first_nonfinite(name, arr)
            raise ValueError(
                f"`{name}` holds {_count_nonfinite(arr)} of its {arr.size} labels (the first is "
                f"{where}): every label must be a class index in [0, {num_classes}). Drop those "
                f"samples or fill in their labels. Received: {where}={value}"
            )
        if np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2.0**53):
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


def _fits(shape: tuple, want: tuple) -> bool:
    """``shape`` matches ``want``, where ``None`` in ``want`` matches any size."""
    return len(shape) == len(want) and all(w is None or w == d for d, w in zip(shape, want))


def check_targets(name: str, y: np.ndarray, kind: str, output_shape: tuple) -> np.ndarray:
    """Targets that fit the loss: the message says how to fix a mismatch.

    Args:
        name: the argument's name in messages (e.g. ``"train y"``).
        y: the targets (an array of numbers, one row per sample).
        kind: ``"sparse"`` (one integer label per output position), ``"categorical"`` (one-hot or
            probability rows), ``"binary"`` (values in [0, 1]) or ``"other"`` (any finite numbers,
            e.g. regression).
        output_shape: the model's output shape without the batch axis, e.g. ``(10,)``.
    """
    y = check_real_dtype(name, as_array(name, y))
    k, per_sample = output_shape[-1], tuple(y.shape[1:])
    if kind == "sparse":
        if k is not None and k > 1 and _fits(per_sample, output_shape):
            raise ValueError(
                f"`{name}` holds rows of length {k} (one-hot labels?), but the loss is sparse: "
                f"it expects one integer label per sample. Pass np.argmax({name}, axis=-1), or use "
                f"keras.losses.CategoricalCrossentropy. Received: {name}.shape={y.shape}"
            )
        if not (_fits(per_sample, output_shape[:-1]) or _fits(per_sample, (*output_shape[:-1], 1))):
            want = ", ".join(["n", *map(str, output_shape[:-1])])
            raise ValueError(
                f"`{name}` must hold one integer label per sample, shape "
                f"({want}{',' if len(output_shape) == 1 else ''}) "
                f"or ({want}, 1), for a sparse loss. Received: {name}.shape={y.shape}"
            )
        return check_labels(name, y, k) if k is not None else y
    if y.dtype.kind == "f":
        check_finite(name, y)
    if kind == "categorical" and not _fits(per_sample, output_shape):
        integer_labels = _fits(per_sample, output_shape[:-1]) or _fits(
            per_sample, (*output_shape[:-1], 1)
        )
        fix = (
            f"Use keras.losses.SparseCategoricalCrossentropy for integer labels, or pass "
            f"keras.utils.to_categorical({name}, {k})"
            if integer_labels
            else f"Give every sample a row of {k} values (one per class)"
        )
        raise ValueError(
            f"`{name}` must hold one-hot rows of length {k} for a categorical loss. {fix}. "
            f"Received: {name}.shape={y.shape}"
        )
    if kind in ("binary", "categorical") and y.size and (y.min() < 0 or y.max() > 1):
        what = "binary targets" if kind == "binary" else "one-hot (or probability) rows with values"
        raise ValueError(
            f"`{name}` must hold {what} in [0, 1]. Received: {name} with min={y.min()}, max={y.max()}"
        )
    return y


def _physical_memory() -> int | None:
    """Bytes of RAM, where the OS tells (Linux, macOS); else ``None``."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(name: str, value: Any, n_values: int, itemsize: int) -> None:
    """Refuse an allocation of ``n_values * itemsize`` bytes that exceeds this machine's RAM.

    Without it, NumPy either raises a bare ``MemoryError`` or (with memory overcommit) starts
    filling pages until the operating system kills the process.
    """
    need, total = int(n_values) * int(itemsize), _physical_memory()
    if total is not None and need > total:
        raise ValueError(
            f"`{name}` asks for {need / 2**30:.3g} GiB of arrays, more than this machine's "
            f"{total / 2**30:.3g} GiB of memory. Received: {name}={_short(value)}"
        )


# --- Helpers added for the math layer (activations, losses, optimizers, numpy_net, conv, rnn) ---


def check_float_input(
    name: str,
    x: Any,
    rank: int | tuple[int, ...] | None = None,
    meaning: str = "",
    dtype: Any = None,
) -> np.ndarray:
    """``as_float_array`` + optional ``check_rank`` + ``check_finite`` (+ a checked cast) in one call.

    The usual first line of a math-layer function: numbers in, float32/float64 array out, with
    NaN/inf rejected. With ``dtype``, the array is cast to it by :func:`cast_finite` (a finite
    value that overflows the new dtype is an error, not a silent inf).
    """
    arr = as_float_array(name, x)
    if rank is not None:
        check_rank(name, arr, rank, meaning)
    check_finite(name, arr)
    return arr if dtype is None else cast_finite(name, arr, dtype)


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
