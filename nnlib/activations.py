r"""Activation functions and their derivatives, in NumPy.

Serves Chapter 3.1, *Activation functions and their derivatives* (sigmoid, tanh, ReLU, Leaky ReLU,
ELU, softmax; saturation), Chapter 2.1, *Neurons, layers and networks*, Chapter 3.3, *Forward
propagation and backpropagation*, Chapter 1.2, *The Python deep-learning ecosystem*, and the
from-scratch network of :mod:`nnlib.numpy_net`. Every elementwise activation ``f`` has a sibling
``f_grad`` returning :math:`f'(z)` with the same parameters, and :data:`ACTIVATIONS` maps Keras's
names to ``(f, f_grad)`` pairs.

Conventions (checked against ``tf.GradientTape`` in ``tests/test_activations.py``): at a kink the
derivative is the one TensorFlow uses (``relu_grad(0) == 0``, ``leaky_relu_grad(0) ==
negative_slope``, ``elu_grad(0) == alpha``). ``sigmoid`` and ``softmax`` are written so that no
intermediate overflows, even for :math:`|z| = 10^4`. float32 and float64 keep their dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnlib._validation import check_float_input, check_int, check_min_rank, check_number

__all__ = [
    "linear",
    "linear_grad",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "elu",
    "elu_grad",
    "softmax",
    "log_softmax",
    "ACTIVATIONS",
]


def linear(z: np.ndarray) -> np.ndarray:
    r"""Identity :math:`f(z) = z` (Keras's ``"linear"``), e.g. the output of a regression net.

    Example:
        >>> linear(np.array([-1.0, 2.0]))
        array([-1.,  2.])
    """
    return check_float_input("z", z).copy()


def linear_grad(z: np.ndarray) -> np.ndarray:
    r""":math:`f'(z) = 1`, with the shape and dtype of ``z``."""
    return np.ones_like(check_float_input("z", z))


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""Logistic sigmoid :math:`\sigma(z) = \dfrac{1}{1 + e^{-z}}`, a smooth squashing to (0, 1).

    Computed without overflow: with :math:`e = e^{-|z|} \le 1`,
    :math:`\sigma(z) = 1/(1+e)` for :math:`z \ge 0` and :math:`e/(1+e)` for :math:`z < 0`.

    Args:
        z: pre-activations, any shape.

    Returns:
        :math:`\sigma(z)`, same shape and dtype.

    Example:
        >>> float(sigmoid(0.0))
        0.5
    """
    return _sigmoid(check_float_input("z", z))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    r""":math:`\sigma'(z) = \sigma(z)\,(1 - \sigma(z))`, at most 1/4 (at :math:`z = 0`).

    Example:
        >>> float(sigmoid_grad(0.0))
        0.25
    """
    return _sigmoid_grad(check_float_input("z", z))


def _sigmoid_grad(z: np.ndarray) -> np.ndarray:
    # Same value as a * (1 - a), but without the cancellation in 1 - a when a is close to 1:
    # with e = exp(-|z|), sigma'(z) = e / (1 + e)^2 (the derivative is even in z).
    e = np.exp(-np.abs(z))
    return (e / ((1 + e) * (1 + e))).astype(z.dtype, copy=False)


def tanh(z: np.ndarray) -> np.ndarray:
    r"""Hyperbolic tangent :math:`\tanh z = \dfrac{e^{z} - e^{-z}}{e^{z} + e^{-z}} = 2\sigma(2z) - 1`.

    Example:
        >>> float(tanh(0.0))
        0.0
    """
    return np.tanh(check_float_input("z", z))


def tanh_grad(z: np.ndarray) -> np.ndarray:
    r""":math:`\tanh'(z) = 1 - \tanh^2 z`, at most 1 (at :math:`z = 0`).

    Example:
        >>> float(tanh_grad(0.0))
        1.0
    """
    return _tanh_grad(check_float_input("z", z))


def _tanh_grad(z: np.ndarray) -> np.ndarray:
    # 1 - tanh(z)^2 = sech(z)^2 = 4 e / (1 + e)^2 with e = exp(-2|z|): no cancellation, no overflow.
    # |z| is capped at 1000 (e is 0 from |z| = 373 on, even in float64) so that 2|z| cannot overflow.
    e = np.exp(-2 * np.minimum(np.abs(z), 1000))
    return (4 * e / ((1 + e) * (1 + e))).astype(z.dtype, copy=False)


def relu(z: np.ndarray) -> np.ndarray:
    r"""Rectified linear unit :math:`\mathrm{relu}(z) = \max(z, 0)`.

    Example:
        >>> relu(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """
    return _relu(check_float_input("z", z))


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0).astype(z.dtype, copy=False)


def relu_grad(z: np.ndarray) -> np.ndarray:
    r""":math:`\mathrm{relu}'(z) = 1` if :math:`z > 0` else 0 (0 at the kink, as TensorFlow).

    Example:
        >>> relu_grad(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 1.])
    """
    return _relu_grad(check_float_input("z", z))


def _relu_grad(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(z.dtype)


def leaky_relu(z: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    r"""Leaky ReLU :math:`f(z) = z` for :math:`z > 0`, :math:`\alpha z` otherwise (:math:`\alpha` =
    ``negative_slope``; Keras's default is 0.2).

    Example:
        >>> leaky_relu(np.array([-1.0, 2.0]))
        array([-0.2,  2. ])
    """
    z = check_float_input("z", z)
    negative_slope = check_number("negative_slope", negative_slope)
    return np.where(z > 0, z, negative_slope * z).astype(z.dtype, copy=False)


def leaky_relu_grad(z: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    r""":math:`f'(z) = 1` for :math:`z > 0`, :math:`\alpha` otherwise.

    Example:
        >>> leaky_relu_grad(np.array([-1.0, 2.0]))
        array([0.2, 1. ])
    """
    z = check_float_input("z", z)
    negative_slope = check_number("negative_slope", negative_slope)
    return np.where(z > 0, 1, negative_slope).astype(z.dtype)


def elu(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r"""Exponential linear unit :math:`f(z) = z` for :math:`z > 0`, :math:`\alpha (e^{z} - 1)`
    otherwise; it saturates at :math:`-\alpha` for very negative inputs.

    Example:
        >>> float(elu(0.0))
        0.0
    """
    z = check_float_input("z", z)
    alpha = check_number("alpha", alpha)
    negative = alpha * np.expm1(np.minimum(z, 0))  # min(z, 0): exp never overflows
    return np.where(z > 0, z, negative).astype(z.dtype, copy=False)


def elu_grad(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r""":math:`f'(z) = 1` for :math:`z > 0`, :math:`\alpha e^{z}` otherwise.

    Example:
        >>> float(elu_grad(0.0, alpha=0.5))
        0.5
    """
    z = check_float_input("z", z)
    alpha = check_number("alpha", alpha)
    return np.where(z > 0, 1, alpha * np.exp(np.minimum(z, 0))).astype(z.dtype, copy=False)


def _check_axis(z: np.ndarray, axis: int) -> int:
    axis = check_int("axis", axis)
    if not -max(z.ndim, 1) <= axis < max(z.ndim, 1):
        raise ValueError(
            f"`axis` must be a valid axis for `z` of rank {z.ndim}. Received: axis={axis}"
        )
    if z.shape[axis] == 0:
        raise ValueError(
            f"`z` must have at least one class along axis {axis} (a softmax over nothing is "
            f"undefined). Received: z.shape={z.shape}"
        )
    return axis


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Softmax :math:`\mathrm{softmax}(z)_i = \dfrac{e^{z_i}}{\sum_j e^{z_j}}` along ``axis``.

    Stable: subtracting :math:`m = \max_j z_j` changes nothing mathematically, and afterwards every
    exponent is :math:`\le 0`, so nothing overflows.

    Args:
        z: logits, rank >= 1 (usually ``(batch, classes)``).
        axis: the class axis.

    Returns:
        Probabilities of the same shape and dtype, summing to 1 along ``axis``.

    Example:
        >>> softmax(np.array([0.0, 0.0]))
        array([0.5, 0.5])
    """
    z = check_min_rank("z", check_float_input("z", z), 1, "(softmax needs a class axis)")
    return _softmax(z, _check_axis(z, axis))


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(over="ignore"):  # z - m may round to -inf near the float limit: exp gives 0
        e = np.exp(z - z.max(axis=axis, keepdims=True))  # every exponent <= 0
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Log of the softmax via log-sum-exp:
    :math:`\log \mathrm{softmax}(z)_i = z_i - m - \log \sum_j e^{z_j - m}`, :math:`m = \max_j z_j`.

    Finite for logits of any magnitude (``log(softmax(z))`` would give ``-inf`` for
    :math:`z = (10^4, 0)`). Used by the cross-entropy losses.

    Example:
        >>> log_softmax(np.array([1e4, 0.0]))
        array([     0., -10000.])
    """
    z = check_min_rank("z", check_float_input("z", z), 1, "(softmax needs a class axis)")
    return _log_softmax(z, _check_axis(z, axis))


def _log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(over="ignore"):  # -inf where z_i - m overflows: the correctly rounded log p_i
        shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


#: Keras name -> (activation, derivative) for the elementwise activations.
ACTIVATIONS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "linear": (linear, linear_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
}

# Unchecked kernels for callers that validated their inputs once (numpy_net, rnn inner loops):
# name -> (f, f_grad) on float arrays, default parameters.
_KERNELS: dict[
    str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]
] = {
    "linear": (lambda z: z, np.ones_like),
    "sigmoid": (_sigmoid, _sigmoid_grad),
    "tanh": (np.tanh, _tanh_grad),
    "relu": (_relu, _relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
}
