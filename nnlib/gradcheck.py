r"""Gradient checking by central finite differences.

Serves chapter 3 (backpropagation: "is my gradient right?") and the tests of
:mod:`nnlib.numpy_net`. The central difference

.. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}

has truncation error :math:`O(\varepsilon^2)` (the one-sided difference has :math:`O(\varepsilon)`),
so with :math:`\varepsilon = 10^{-5}` in float64 an analytic gradient that is right agrees to
about :math:`10^{-9}` relative error, and a wrong one is off by far more than :math:`10^{-6}`.
Always check in float64: float32 rounding alone is about :math:`10^{-7}/\varepsilon`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from nnlib._validation import check_float_input, check_positive, check_same_shape

__all__ = ["numerical_gradient", "relative_error", "check_gradients"]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    r"""Central-difference gradient of a scalar function :math:`f` at ``x``, one coordinate at a time.

    ``x`` is perturbed **in place** (and restored) so that ``f`` may close over the very array
    it reads, e.g. a weight matrix of a network: ``numerical_gradient(lambda _: net.loss(X, y), W)``.

    Args:
        f: maps an array shaped like ``x`` to a scalar.
        x: float64 array (float32 is converted, which breaks in-place closures: use float64).
        eps: step :math:`\varepsilon > 0`.

    Returns:
        Array shaped like ``x`` (float64).

    Example:
        >>> numerical_gradient(lambda v: float(np.sum(v ** 2)), np.array([1.0, -2.0]))  # 2x
        array([ 2., -4.])
    """
    if not callable(f):
        raise TypeError(f"`f` must be a callable returning a scalar. Received: f={f!r}")
    x = check_float_input("x", x)
    eps = check_positive("eps", eps)
    if x.dtype != np.float64:
        x = x.astype(np.float64)
    grad = np.zeros_like(x)
    flat, grad_flat = x.reshape(-1), grad.reshape(-1)  # views on x and grad
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = float(f(x))
        flat[i] = old - eps
        f_minus = float(f(x))
        flat[i] = old
        grad_flat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


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
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


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
    if not callable(grad_f):
        raise TypeError(f"`grad_f` must be a callable returning an array. Received: grad_f={grad_f!r}")
    if isinstance(x, (list, tuple)):
        for i, xi in enumerate(x):
            if not (isinstance(xi, np.ndarray) and xi.dtype == np.float64):
                raise TypeError(
                    "`x` must be a list of float64 arrays (they are perturbed in place). "
                    f"Received: x[{i}] of type {type(xi).__name__} with dtype={np.asarray(xi).dtype}"
                )
        analytic = grad_f(x)
        errors = []
        for i, xi in enumerate(x):
            numeric = numerical_gradient(lambda _: f(x), xi, eps)  # perturbs x[i] in place
            errors.append(relative_error(analytic[i], numeric))
        return max(errors)
    x = check_float_input("x", x).astype(np.float64)
    return relative_error(grad_f(x), numerical_gradient(f, x, eps))
