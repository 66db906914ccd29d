r"""Reference forward pass of a simple (Elman) recurrent layer, in NumPy.

Serves Chapter 3.10, *Recurrent networks and backpropagation through time*, and the background of
Chapter 4.5, *Recurrent networks for sequences*: it shows what
``keras.layers.SimpleRNN(return_sequences=True)`` computes, and equals it with the same weights
(tested).

.. math:: h_t = f\big(x_t W_x + h_{t-1} W_h + b\big), \qquad h_0 = 0,

with :math:`W_x` = Keras's ``kernel`` ``(features, units)``, :math:`W_h` = ``recurrent_kernel``
``(units, units)``, :math:`b` = ``bias`` ``(units,)``. The same weights are used at every time step;
the loop over time is inherent (each :math:`h_t` needs :math:`h_{t-1}`), the batch is vectorized.
"""

from __future__ import annotations

import numpy as np

from nnlib._validation import cast_finite, check_float_input, check_one_of
from nnlib.activations import _KERNELS, ACTIVATIONS

__all__ = ["simple_rnn"]


def simple_rnn(
    x: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
    b: np.ndarray,
    activation: str = "tanh",
    initial_state: np.ndarray | None = None,
) -> np.ndarray:
    r"""Run a simple RNN over a batch of sequences and return every hidden state.

    Args:
        x: inputs, shape ``(batch, time, features)``.
        W_x: input kernel, shape ``(features, units)``.
        W_h: recurrent kernel, shape ``(units, units)``.
        b: bias, shape ``(units,)``.
        activation: a key of :data:`nnlib.activations.ACTIVATIONS` (Keras's default ``"tanh"``).
        initial_state: :math:`h_0`, shape ``(batch, units)``; zeros by default.

    Returns:
        Hidden states :math:`h_1..h_T`, shape ``(batch, time, units)`` (the last one,
        ``[:, -1]``, is what ``return_sequences=False`` returns).

    Example:
        >>> h = simple_rnn(np.ones((1, 3, 1)), np.ones((1, 1)), np.zeros((1, 1)), np.zeros(1),
        ...                activation="linear")
        >>> h[0, :, 0]  # no recurrence: h_t = x_t W_x
        array([1., 1., 1.])
    """
    x, W_x, W_h, b, h = _check_inputs(x, W_x, W_h, b, activation, initial_state)
    f = _KERNELS[activation][0]
    xW = (
        x @ W_x + b
    )  # (batch, time, features) @ (features, units) -> (batch, time, units), all t at once
    hs = np.empty(xW.shape, dtype=x.dtype)
    for t in range(x.shape[1]):
        h = f(xW[:, t] + h @ W_h)  # (batch, units) @ (units, units) -> (batch, units)
        hs[:, t] = h
    return hs


def _check_inputs(x, W_x, W_h, b, activation, initial_state) -> tuple[np.ndarray, ...]:
    """Finite float arrays of matching shapes, all in ``x``'s dtype, and :math:`h_0`."""
    x = check_float_input("x", x, rank=3, meaning="(batch, time, features)")
    W_x = check_float_input("W_x", W_x, rank=2, meaning="(features, units)")
    W_h = check_float_input("W_h", W_h, rank=2, meaning="(units, units)")
    b = check_float_input("b", b, rank=1, meaning="(units,)")
    check_one_of("activation", activation, list(ACTIVATIONS))
    (batch, _, features), units = x.shape, W_x.shape[1]
    for name, array, shape in (
        ("W_x", W_x, (features, units)),
        ("W_h", W_h, (units, units)),
        ("b", b, (units,)),
    ):
        if array.shape != shape:
            raise ValueError(
                f"`{name}` must have shape {shape} for x.shape={x.shape} and "
                f"{units} units. Received: {name}.shape={array.shape}"
            )
    if initial_state is None:
        h = np.zeros((batch, units), dtype=x.dtype)
    else:
        h = check_float_input("initial_state", initial_state, rank=2, dtype=x.dtype)
        if h.shape != (batch, units):
            raise ValueError(
                f"`initial_state` must have shape {(batch, units)}. "
                f"Received: initial_state.shape={h.shape}"
            )
    W_x, W_h, b = (
        cast_finite(name, a, x.dtype) for name, a in (("W_x", W_x), ("W_h", W_h), ("b", b))
    )
    return x, W_x, W_h, b, h
