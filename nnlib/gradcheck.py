r"""Gradient checking by central finite differences.

Serves Chapter 3.3, *Forward propagation and backpropagation* ("is my gradient right?"), the
gradient checks of Chapters 3.1, *Activation functions and their derivatives*, 3.9, *Convolution
and pooling*, and 3.10, *Recurrent networks and backpropagation through time*, and the tests of
:mod:`nnlib.numpy_net`. The central difference

.. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}

has truncation error :math:`O(\varepsilon^2)` (the one-sided difference has :math:`O(\varepsilon)`),
so with :math:`\varepsilon = 10^{-5}` in float64 an analytic gradient that is right agrees to
about :math:`10^{-9}` relative error, and a wrong one is off by far more than :math:`10^{-6}`.
Always check in float64: float32 rounding alone is about :math:`10^{-7}/\varepsilon`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nnlib._validation import (
    _short,
    as_array,
    check_callable,
    check_float_input,
    check_positive,
    check_real_dtype,
    check_same_shape,
)

__all__ = ["numerical_gradient", "relative_error", "check_gradients"]


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    r"""Central-difference gradient of a scalar function :math:`f` at ``x``, one coordinate at a time.

    ``x`` is perturbed **in place** (and restored) so that ``f`` may close over the very array
    it reads, e.g. a weight matrix of a network: ``numerical_gradient(lambda _: net.loss(X, y), W)``.

    Any memory layout works (a transposed or sliced view, Fortran order): each coordinate is
    perturbed through its own index.

    Args:
        f: maps an array shaped like ``x`` to a finite scalar.
        x: float64 array (float32 is converted, which breaks in-place closures: use float64).
        eps: step :math:`\varepsilon > 0`; ``x ± eps`` must differ from ``x`` (a step below the
            float64 resolution of a coordinate, e.g. 1e-5 at 1e30, is an error).

    Returns:
        Array shaped like ``x`` (float64).

    Example:
        >>> numerical_gradient(lambda v: float(np.sum(v ** 2)), np.array([1.0, -2.0]))  # 2x
        array([ 2., -4.])
    """
    check_callable("f", f, "a callable returning a scalar")
    x = check_float_input("x", x)
    eps = check_positive("eps", eps)
    if x.dtype != np.float64 or not x.flags.writeable:
        x = x.astype(np.float64)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):  # x[i] itself, whatever the memory layout
        old = x[i]
        x[i] = old + eps
        f_plus = _scalar(f(x))
        x[i] = old - eps
        f_minus = _scalar(f(x))
        x[i] = old
        grad[i] = _difference(f_plus, f_minus, old, eps, i)
    return grad


def _scalar(value: Any) -> float:
    """``f(x)`` as a finite float: a Python or NumPy number, a 0-d or one-element array."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = np.asarray(None)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise TypeError(f"`f` must return a scalar (a float). Received: f(x)={_short(value)}")
    result = float(arr.reshape(()))
    if not math.isfinite(result):
        raise ValueError(
            f"`f` must return a finite value at every perturbed point. Received: f(x)={result}"
        )
    return result


def _difference(f_plus: float, f_minus: float, x_i: float, eps: float, index: tuple) -> float:
    """The central difference; halved first where f+ - f- or 2 eps would overflow."""
    where = f"x[{', '.join(map(str, index))}]" if index else "x"
    if not (math.isfinite(x_i + eps) and math.isfinite(x_i - eps)):
        raise ValueError(
            f"`eps` is too large: {where} ± eps overflows float64. Received: eps={eps}"
        )
    if x_i + eps == x_i or x_i - eps == x_i:
        raise ValueError(
            f"`eps` is below the float64 resolution at {where}={x_i} (x ± eps rounds back to x): "
            f"use a step near 1e-5 * |x|. Received: eps={eps}"
        )
    g = (f_plus - f_minus) / (2 * eps)
    if not math.isfinite(g):  # e.g. eps = 1e308: compute (f+/2 - f-/2) / eps instead
        g = (0.5 * f_plus - 0.5 * f_minus) / eps
    return g


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    r"""Relative error between two gradients, :math:`\dfrac{\lVert a - b\rVert_2}{\lVert a\rVert_2 + \lVert b\rVert_2}`
    (0 when both are zero).

    Scale-free, symmetric, and not fooled by single near-zero entries (an elementwise ratio would
    be). Below :math:`10^{-7}` the gradients agree; above :math:`10^{-3}` something is wrong.
    Meaningless when the true gradient is ~0 (then both are rounding noise): check such points with
    an absolute tolerance instead.

    Example:
        >>> relative_error(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
        0.0
    """
    a, b = check_float_input("a", a), check_float_input("b", b)
    check_same_shape("a", a, "b", b)
    a, b = a.astype(np.float64), b.astype(np.float64)
    # Scale both by 2^-e (exact: a power of two), with 2^e near the largest |entry|, so that the
    # squares in the norms neither overflow (1e200) nor underflow (1e-200); the ratio is unchanged.
    top = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    if top == 0.0:
        return 0.0
    e = math.frexp(top)[1]
    with np.errstate(under="ignore"):
        a, b = np.ldexp(a, -e), np.ldexp(b, -e)
        denom = np.linalg.norm(a) + np.linalg.norm(b)
        return float(np.linalg.norm(a - b) / denom)


def check_gradients(
    f: Callable[[np.ndarray], float],
    grad_f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray | list[np.ndarray],
    eps: float = 1e-5,
) -> float:
    r"""Compare an analytic gradient with :func:`numerical_gradient`; return the relative error.

    Args:
        f: scalar function of ``x``.
        grad_f: its claimed gradient, returning an array shaped like ``x``.
        x: the point (float64); or a list of arrays (e.g. a network's parameters), in which case
            ``f`` and ``grad_f`` take that list (``grad_f`` returns a list) and the **maximum** of
            the per-array relative errors is returned.
        eps: finite-difference step.

    Returns:
        :func:`relative_error` (max over arrays for a list).

    Example:
        >>> check_gradients(lambda v: float(np.sum(v ** 3)), lambda v: 3 * v ** 2, np.array([1.0, 2.0])) < 1e-9
        True
    """
    check_callable("f", f, "a callable returning a scalar")
    check_callable("grad_f", grad_f, "a callable returning an array")
    if isinstance(x, (list, tuple)):
        if not x:
            raise ValueError(f"`x` must hold at least one array. Received: x={x!r}")
        for i, xi in enumerate(x):
            if not (isinstance(xi, np.ndarray) and xi.dtype == np.float64):
                dtype = xi.dtype if isinstance(xi, np.ndarray) else "-"
                raise TypeError(
                    "`x` must be a list of float64 arrays (they are perturbed in place). "
                    f"Received: x[{i}] of type {type(xi).__name__} with dtype={dtype}"
                )
        analytic = grad_f(x)
        if not isinstance(analytic, (list, tuple)) or len(analytic) != len(x):
            got = (
                f"a list of length {len(analytic)}"
                if isinstance(analytic, (list, tuple))
                else _short(analytic)
            )
            raise TypeError(
                f"`grad_f` must return a list of {len(x)} gradient(s), one per array of `x`. "
                f"Received: grad_f(x)={got}"
            )
        analytic = [
            _gradient(f"grad_f(x)[{i}]", g, xi) for i, (g, xi) in enumerate(zip(analytic, x))
        ]
        errors = []
        for i, xi in enumerate(x):
            numeric = numerical_gradient(lambda _: f(x), xi, eps)  # perturbs x[i] in place
            errors.append(relative_error(analytic[i], numeric))
        return max(errors)
    x = check_float_input("x", x).astype(np.float64)
    return relative_error(_gradient("grad_f(x)", grad_f(x), x), numerical_gradient(f, x, eps))


def _gradient(name: str, g: Any, x: np.ndarray) -> np.ndarray:
    """The claimed gradient: an array of numbers shaped like ``x``."""
    if g is None or isinstance(g, (str, bytes)):
        raise TypeError(
            f"`{name}` must be an array of numbers shaped like `x`. Received: {name}={_short(g)}"
        )
    g = check_real_dtype(name, as_array(name, g))
    if g.shape != x.shape:
        raise ValueError(
            f"`{name}` must have the shape of `x`. Received: {name}.shape={g.shape}, x.shape={x.shape}"
        )
    return g
