r"""Weight penalties (L1, L2) with their gradients, and inverted dropout, in NumPy.

Serves Chapter 3.7, *Regularization: L1, L2, dropout, early stopping and batch normalization*, and
:mod:`nnlib.numpy_net`. The penalties have
the values of ``keras.regularizers.L1 / L2 / L1L2`` (note: Keras's L2 is
:math:`\lambda \sum w^2`, *without* the 1/2 that some textbooks put in front), so the gradient of
``l2`` is :math:`2\lambda w`.

The penalties are Python floats (float64). Their sums never overflow or underflow on the way
when the penalty itself fits a float64: a float32 ``x`` of values near 3e38 has a finite L2
penalty, and ``l1_l2`` never multiplies a factor of 0 by an infinite sum.
"""

from __future__ import annotations

import math

import numpy as np

from nnlib._validation import (
    check_bool,
    check_float_input,
    check_in_range,
    check_nonnegative,
    check_type,
)

__all__ = ["l1", "l1_grad", "l2", "l2_grad", "l1_l2", "l1_l2_grad", "dropout"]


def _penalty(x: np.ndarray, power: int, factor: float) -> float:
    r""":math:`\lambda \sum_i |x_i|^p` (``p`` = 1 or 2) as a Python float, without intermediate
    overflow or underflow.

    The plain sum (in ``x``'s dtype) is used when it is a normal number, so ordinary values are
    unchanged. When it overflows (float32 values near 3e38) or underflows (``1e-200`` squared),
    ``x`` is scaled by :math:`2^{-e}` (exact: a power of two) so its largest entry lies in
    [0.5, 1), summed in float64, and the result is :math:`\lambda\,S\,2^{p e}` (``math.ldexp``).
    """
    if factor == 0.0:
        return 0.0  # never 0 * inf
    with np.errstate(over="ignore", under="ignore"):
        total = float(np.sum(np.abs(x) if power == 1 else np.square(x)))
    if math.isfinite(total) and (total >= np.finfo(x.dtype).tiny or not np.any(x)):
        return factor * total
    e = math.frexp(float(np.max(np.abs(x))))[1]  # max |x| = f 2^e, f in [0.5, 1)
    with np.errstate(under="ignore"):
        scaled = np.ldexp(np.abs(x).astype(np.float64), -e)
        s = float(np.sum(scaled if power == 1 else np.square(scaled)))  # in [0.25, x.size]
    try:
        return math.ldexp(factor * s, power * e)
    except OverflowError:  # the penalty itself exceeds the float64 range
        return math.inf


def l1(x: np.ndarray, factor: float = 0.01) -> float:
    r"""L1 penalty :math:`\Omega(w) = \lambda \sum_i |w_i|` (``keras.regularizers.L1(factor)``).

    It pushes weights to exactly zero (sparse weights).

    Args:
        x: weights, any shape.
        factor: :math:`\lambda \ge 0` (Keras's default 0.01).

    Returns:
        The penalty, a Python float.

    Example:
        >>> l1(np.array([1.0, -2.0]), factor=0.5)
        1.5
    """
    x = check_float_input("x", x)
    return _penalty(x, 1, check_nonnegative("factor", factor))


def l1_grad(x: np.ndarray, factor: float = 0.01) -> np.ndarray:
    r""":math:`\partial\Omega/\partial w = \lambda\,\mathrm{sign}(w)` (0 at :math:`w = 0`, as TensorFlow).

    Example:
        >>> l1_grad(np.array([1.0, 0.0, -2.0]), factor=0.1)
        array([ 0.1,  0. , -0.1])
    """
    x = check_float_input("x", x)
    return (check_nonnegative("factor", factor) * np.sign(x)).astype(x.dtype, copy=False)


def l2(x: np.ndarray, factor: float = 0.01) -> float:
    r"""L2 penalty :math:`\Omega(w) = \lambda \sum_i w_i^2` (``keras.regularizers.L2(factor)``).

    It shrinks all weights toward zero (weight decay).

    Example:
        >>> l2(np.array([1.0, -2.0]), factor=0.25)
        1.25
    """
    x = check_float_input("x", x)
    return _penalty(x, 2, check_nonnegative("factor", factor))


def l2_grad(x: np.ndarray, factor: float = 0.01) -> np.ndarray:
    r""":math:`\partial\Omega/\partial w = 2\lambda w`.

    Example:
        >>> l2_grad(np.array([1.0, -2.0]), factor=0.1)
        array([ 0.2, -0.4])
    """
    x = check_float_input("x", x)
    return (2 * check_nonnegative("factor", factor) * x).astype(x.dtype, copy=False)


def l1_l2(x: np.ndarray, l1: float = 0.0, l2: float = 0.0) -> float:
    r"""Elastic-net penalty :math:`\lambda_1 \sum|w_i| + \lambda_2 \sum w_i^2`
    (``keras.regularizers.L1L2(l1, l2)``, whose defaults are also 0).

    Example:
        >>> l1_l2(np.array([1.0, -2.0]), l1=0.5, l2=0.25)
        2.75
    """
    x = check_float_input("x", x)
    return _penalty(x, 1, check_nonnegative("l1", l1)) + _penalty(x, 2, check_nonnegative("l2", l2))


def l1_l2_grad(x: np.ndarray, l1: float = 0.0, l2: float = 0.0) -> np.ndarray:
    r""":math:`\lambda_1\,\mathrm{sign}(w) + 2\lambda_2 w`."""
    x = check_float_input("x", x)
    g = check_nonnegative("l1", l1) * np.sign(x) + 2 * check_nonnegative("l2", l2) * x
    return g.astype(x.dtype, copy=False)


def dropout(
    x: np.ndarray, rate: float, rng: np.random.Generator, training: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    r"""Inverted dropout: zero each unit with probability ``rate``, scale the survivors by
    :math:`1/(1-p)` so that the expected output equals the input,

    .. math:: m_i \sim \mathrm{Bernoulli}(1 - p), \qquad \tilde a = a \odot m / (1 - p).

    At inference (``training=False``) it is the identity, exactly like ``keras.layers.Dropout``.
    Backpropagation multiplies the incoming gradient by the same ``mask``.

    Args:
        x: activations, any shape.
        rate: drop probability :math:`p \in [0, 1)`.
        rng: a ``np.random.Generator`` (the source of the mask).
        training: apply dropout (``True``) or pass through (``False``).

    Returns:
        ``(output, mask)``: output like ``x``; ``mask`` holds :math:`m_i / (1-p)` (0 or
        :math:`1/(1-p)`), so ``output = x * mask`` and ``grad_x = grad_output * mask``.

    Example:
        >>> out, mask = dropout(np.ones(4), 0.5, np.random.default_rng(0))
        >>> sorted(set(out.tolist())) <= [0.0, 2.0]
        True
    """
    x = check_float_input("x", x)
    rate = check_in_range("rate", rate, 0.0, 1.0, high_inclusive=False)
    check_type(
        "rng", rng, np.random.Generator, "a np.random.Generator (np.random.default_rng(seed))"
    )
    if not check_bool("training", training) or rate == 0.0:
        return x.copy(), np.ones_like(x)
    keep = rng.random(x.shape) >= rate  # P(keep) = 1 - rate
    mask = keep.astype(x.dtype) / np.asarray(1.0 - rate, dtype=x.dtype)
    return x * mask, mask
