"""Invalid values for the property-based robustness tests (issue 15), and the assertion they share.

Each strategy draws values that are invalid for one kind of argument: arrays of numbers, finite
numbers, integers, bools, callables. A robustness test passes one such value to one public
argument (every other argument valid) and requires a ``ValueError``/``TypeError`` whose message
names the argument (in backticks, as every ``nnlib`` message does) and ends with
``Received: ...`` -- never a raw NumPy/TensorFlow error, a warning or a silent result.

``COUNT`` tallies the invalid-input examples run; with ``NNLIB_COUNT_INVALID=<file>`` in the
environment each test module appends its tally to that file (the issue asks for the number).
"""

from __future__ import annotations

import collections
import os
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

COUNT: collections.Counter = collections.Counter()


def expect_clear_error(call: Callable[[], Any], name: str, module: str) -> Exception:
    """``call()`` must raise a ValueError/TypeError naming ``name`` and ending with ``Received: ...``,
    without emitting any warning on the way (a RuntimeWarning or ComplexWarning fails the test)."""
    COUNT[module] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = call()
        except (ValueError, TypeError) as err:
            message = str(
                err
            )  # the name in backticks, or (element names such as "gradient 0") as words
            named = f"`{name}" in message or re.search(
                rf"(?<![\w`]){re.escape(name)}(?![\w`])", message
            )
            assert named, f"the message does not name `{name}`: {message!r}"
            assert re.search(r"Received: .+\Z", message, re.S), (
                f"no final 'Received: ...': {message!r}"
            )
            return err
    raise AssertionError(f"invalid `{name}` accepted; returned {result!r:.200}")


def write_count(module: str) -> None:
    path = os.environ.get("NNLIB_COUNT_INVALID")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{module} {COUNT[module]}\n")


# ----------------------------------------------------------------------------- arrays


def ragged() -> st.SearchStrategy:
    """Nested lists whose rows differ in length: NumPy cannot make an array of them."""
    rows = st.lists(st.lists(st.floats(-2, 2), min_size=1, max_size=3), min_size=2, max_size=4)
    return rows.filter(lambda r: len({len(row) for row in r}) > 1)


def non_finite_array(dtype: Any = np.float64, min_dims: int = 1) -> st.SearchStrategy:
    """A float array holding at least one NaN or inf."""
    shapes = hnp.array_shapes(min_dims=min_dims, max_dims=max(min_dims, 2), max_side=3)

    @st.composite
    def draw(d):
        shape = d(shapes)
        a = d(hnp.arrays(dtype, shape, elements=st.floats(-3, 3, width=32)))
        a.flat[d(st.integers(0, a.size - 1))] = d(st.sampled_from([np.nan, np.inf, -np.inf]))
        return a

    return draw()


def not_real_array(min_dims: int = 1) -> st.SearchStrategy:
    """Anything that is not an array of real numbers: ragged lists, None, text, complex numbers,
    dates and time spans, objects (None entries, integers beyond int64), dicts."""
    shapes = hnp.array_shapes(min_dims=min_dims, max_dims=max(min_dims, 2), max_side=3)
    complex_elements = st.complex_numbers(max_magnitude=10, allow_nan=False, allow_infinity=False)
    return st.one_of(
        ragged(),
        st.none(),
        st.text(max_size=3),
        st.binary(max_size=3),
        hnp.arrays(np.complex128, shapes, elements=complex_elements),
        hnp.arrays(
            np.dtype("m8[s]"),
            shapes,
            elements=st.integers(-9, 9).map(lambda i: np.timedelta64(i, "s")),
        ),
        hnp.arrays(np.dtype("M8[D]"), shapes),
        st.lists(st.integers(min_value=2**64, max_value=2**70), min_size=1, max_size=3),
        st.lists(st.none(), min_size=1, max_size=3),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    )


def bad_array(min_dims: int = 1) -> st.SearchStrategy:
    """An array argument's invalid values: not real numbers, or not finite."""
    return not_real_array(min_dims) | non_finite_array(min_dims=min_dims)


# ----------------------------------------------------------------------------- scalars


def not_a_number() -> st.SearchStrategy:
    """Not a finite real number: None, text, bools (np.bool_ too), complex numbers, NaN/inf,
    integers beyond the float64 range, lists and arrays."""
    return st.one_of(
        st.none(),
        st.text(max_size=3),
        st.booleans(),
        st.sampled_from([np.True_, np.False_]),
        st.complex_numbers(max_magnitude=5, allow_nan=False).filter(lambda c: c.imag != 0),
        st.sampled_from([np.nan, np.inf, -np.inf, np.float32(np.inf), np.float64(np.nan)]),
        st.integers(min_value=2**1024, max_value=2**1100),
        st.integers(min_value=-(2**1100), max_value=-(2**1024)),
        st.lists(st.floats(0, 1), min_size=1, max_size=2),
        hnp.arrays(np.float64, st.integers(2, 3), elements=st.floats(0, 1)),
    )


def numbers_outside(
    low: float | None, high: float | None, low_open: bool = False, high_open: bool = False
) -> st.SearchStrategy:
    """Finite floats outside an interval (``low_open``: ``low`` itself is outside too)."""
    parts = []
    if low is not None:
        below = st.floats(max_value=low, allow_nan=False, allow_infinity=False)
        parts.append(below.filter(lambda v: v <= low if low_open else v < low))
    if high is not None:
        above = st.floats(min_value=high, allow_nan=False, allow_infinity=False)
        parts.append(above.filter(lambda v: v >= high if high_open else v > high))
    return st.one_of(*parts)


def bad_number(
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> st.SearchStrategy:
    """A number argument's invalid values: not a number, or outside [low, high]."""
    if low is None and high is None:
        return not_a_number()
    return not_a_number() | numbers_outside(low, high, low_open, high_open)


def not_an_int() -> st.SearchStrategy:
    """Not an integer: floats (integral ones too), bools, None, text, lists, complex numbers."""
    return st.one_of(
        st.floats(allow_nan=True),
        st.booleans(),
        st.sampled_from([np.True_, np.float64(2.0)]),
        st.none(),
        st.text(max_size=3),
        st.lists(st.integers(0, 3), min_size=1, max_size=2),
        st.complex_numbers(max_magnitude=5),
    )


def bad_int(minimum: int | None = None, maximum: int | None = None) -> st.SearchStrategy:
    """An integer argument's invalid values: not an integer, or outside [minimum, maximum]."""
    parts = [not_an_int()]
    if minimum is not None:
        parts.append(st.integers(max_value=minimum - 1, min_value=minimum - 2**70))
    if maximum is not None:
        parts.append(st.integers(min_value=maximum + 1, max_value=maximum + 2**70))
    return st.one_of(*parts)


def not_a_bool() -> st.SearchStrategy:
    """Not a bool (np.bool_ *is* one): ints, floats, None, text, lists, arrays."""
    return st.one_of(
        st.integers(),
        st.floats(),
        st.none(),
        st.text(max_size=3),
        st.lists(st.booleans(), min_size=1, max_size=2),
        st.just(np.array([True])),
        st.sampled_from([np.int64(1), np.float32(0.0)]),
    )


def bad_pair(minimum: int = 1) -> st.SearchStrategy:
    """Invalid values of an int-or-pair argument (``stride=2`` or ``pool_size=(2, 3)``)."""

    def valid_pair(v):
        return (
            isinstance(v, (list, tuple))
            and len(v) == 2
            and all(isinstance(i, int) and not isinstance(i, bool) and i >= minimum for i in v)
        )

    return (
        bad_int(minimum) | st.tuples(st.integers(1, 3), bad_int(minimum)) | st.just((1, 2, 3))
    ).filter(lambda v: not valid_pair(v))


def not_callable() -> st.SearchStrategy:
    return st.one_of(
        st.integers(),
        st.floats(),
        st.none(),
        st.text(max_size=3),
        st.lists(st.integers(), max_size=2),
    )


def not_a_str() -> st.SearchStrategy:
    return st.one_of(
        st.integers(),
        st.floats(),
        st.none(),
        st.booleans(),
        st.lists(st.text(max_size=2), max_size=2),
    )


def not_one_of(options: list[str]) -> st.SearchStrategy:
    """Neither one of ``options`` nor (for strings) a near miss of one."""
    return st.one_of(
        st.text(max_size=6).filter(lambda s: s not in options),
        st.sampled_from([o.upper() for o in options if o.upper() not in options] or ["?"]),
        st.integers(),
        st.none(),
        st.lists(st.sampled_from(options), min_size=1, max_size=1),
    )
