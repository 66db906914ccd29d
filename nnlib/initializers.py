r"""Weight initializers with the same distributions as ``keras.initializers``.

Serves Chapter 3.8, *Weight initialization* (why the variance of a layer's output must not grow or
shrink with depth) and :mod:`nnlib.numpy_net`.

Every initializer is ``(shape, rng) -> array``: ``rng`` is a ``np.random.Generator``, so the same
seed gives the same weights. With ``fan_in`` / ``fan_out`` the numbers of inputs and outputs of
a unit (for a conv kernel ``(kh, kw, in, out)``: ``kh*kw*in`` and ``kh*kw*out``):

================  =================================  =====================================
initializer       distribution                       variance
================  =================================  =====================================
glorot_uniform    :math:`U(-l, l)`                   :math:`2/(\text{fan\_in}+\text{fan\_out})`
glorot_normal     truncated normal                   :math:`2/(\text{fan\_in}+\text{fan\_out})`
he_uniform        :math:`U(-l, l)`                   :math:`2/\text{fan\_in}`
he_normal         truncated normal                   :math:`2/\text{fan\_in}`
================  =================================  =====================================

Keras's ``*_normal`` initializers draw from a normal cut at two standard deviations; cutting
shrinks the variance by the factor 0.7737..., so the pre-cut standard deviation is divided by
0.87962566103423978 (its square root) to keep the variance on target. We do the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nnlib._validation import check_float_dtype, check_int, check_memory, check_type

__all__ = ["compute_fans", "zeros", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal"]

# Standard deviation of a standard normal truncated to [-2, 2] (Keras's constant).
_TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    r"""``(fan_in, fan_out)`` of a weight shape, as Keras computes them.

    ``(in, out)`` Dense kernel: ``(in, out)``. Conv kernel ``(*receptive_field, in, out)``:
    both multiplied by the receptive field size. A vector: ``(n, n)``; a scalar: ``(1, 1)``.

    Example:
        >>> compute_fans((3, 3, 8, 16))
        (72, 144)
    """
    shape = _check_shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    check_type("shape", shape, (tuple, list), "a tuple of non-negative integers")
    return tuple(check_int("shape", s, minimum=0) for s in shape)


def _check_rng(rng) -> np.random.Generator:
    return check_type(
        "rng", rng, np.random.Generator, "a np.random.Generator (np.random.default_rng(seed))"
    )


def _check_size(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Refuse a shape whose float64 draw (8 bytes a value, before the cast) cannot fit in memory."""
    check_memory("shape", shape, math.prod(shape), 8)
    return shape


def _uniform(shape, rng, dtype, variance: float) -> np.ndarray:
    limit = math.sqrt(3.0 * variance)  # Var U(-l, l) = l^2 / 3
    return rng.uniform(-limit, limit, size=_check_size(shape)).astype(dtype)


def _truncated_normal(shape, rng, dtype, variance: float) -> np.ndarray:
    x = rng.standard_normal(size=_check_size(shape))
    outside = np.abs(x) > 2.0
    while np.any(outside):  # redraw the samples beyond two standard deviations
        x[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(x) > 2.0
    return (x * (math.sqrt(variance) / _TRUNCATED_STD)).astype(dtype)


def zeros(
    shape: Sequence[int], rng: np.random.Generator | None = None, dtype: str = "float32"
) -> np.ndarray:
    r"""All zeros (Keras's default bias initializer); ``rng`` is accepted for a uniform signature.

    Example:
        >>> zeros((2,), np.random.default_rng(0))
        array([0., 0.], dtype=float32)
    """
    if rng is not None:
        _check_rng(rng)
    shape, dtype = _check_shape(shape), check_float_dtype("dtype", dtype)
    check_memory("shape", shape, math.prod(shape), np.dtype(dtype).itemsize)
    return np.zeros(shape, dtype=dtype)


def glorot_uniform(
    shape: Sequence[int], rng: np.random.Generator, dtype: str = "float32"
) -> np.ndarray:
    r"""Glorot (Xavier) uniform: :math:`U(-l, l)`, :math:`l = \sqrt{6/(\text{fan\_in}+\text{fan\_out})}`.

    Keras's default kernel initializer for ``Dense``, ``Conv2D`` and ``SimpleRNN``'s input kernel.

    Args:
        shape: weight shape, e.g. ``(in, out)``.
        rng: a ``np.random.Generator``.
        dtype: ``"float32"`` (Keras's default) or ``"float64"``.

    Returns:
        Array of ``shape`` and ``dtype``.

    Example:
        >>> W = glorot_uniform((64, 32), np.random.default_rng(0))
        >>> bool(np.abs(W).max() <= np.sqrt(6 / 96))
        True
    """
    fan_in, fan_out = compute_fans(shape)
    return _uniform(
        _check_shape(shape),
        _check_rng(rng),
        check_float_dtype("dtype", dtype),
        1.0 / max(1.0, (fan_in + fan_out) / 2.0),
    )


def glorot_normal(
    shape: Sequence[int], rng: np.random.Generator, dtype: str = "float32"
) -> np.ndarray:
    r"""Glorot normal: truncated normal (at :math:`\pm 2\sigma_0`) with variance
    :math:`2/(\text{fan\_in}+\text{fan\_out})`.

    Example:
        >>> glorot_normal((64, 32), np.random.default_rng(0)).shape
        (64, 32)
    """
    fan_in, fan_out = compute_fans(shape)
    return _truncated_normal(
        _check_shape(shape),
        _check_rng(rng),
        check_float_dtype("dtype", dtype),
        1.0 / max(1.0, (fan_in + fan_out) / 2.0),
    )


def he_uniform(
    shape: Sequence[int], rng: np.random.Generator, dtype: str = "float32"
) -> np.ndarray:
    r"""He uniform: :math:`U(-l, l)`, :math:`l = \sqrt{6/\text{fan\_in}}` (variance :math:`2/\text{fan\_in}`,
    suited to ReLU layers, which zero half their inputs).

    Example:
        >>> bool(np.abs(he_uniform((6, 3), np.random.default_rng(0))).max() <= 1.0)
        True
    """
    fan_in, _ = compute_fans(shape)
    return _uniform(
        _check_shape(shape),
        _check_rng(rng),
        check_float_dtype("dtype", dtype),
        2.0 / max(1.0, fan_in),
    )


def he_normal(shape: Sequence[int], rng: np.random.Generator, dtype: str = "float32") -> np.ndarray:
    r"""He normal: truncated normal (at :math:`\pm 2\sigma_0`) with variance :math:`2/\text{fan\_in}`.

    Example:
        >>> he_normal((64, 32), np.random.default_rng(0)).dtype
        dtype('float32')
    """
    fan_in, _ = compute_fans(shape)
    return _truncated_normal(
        _check_shape(shape),
        _check_rng(rng),
        check_float_dtype("dtype", dtype),
        2.0 / max(1.0, fan_in),
    )
