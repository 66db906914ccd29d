"""nnlib.rnn.simple_rnn against keras.layers.SimpleRNN(return_sequences=True) with copied weights."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib.rnn import simple_rnn

RTOL = {np.float32: 1e-5, np.float64: 1e-6}
# Inputs exclude subnormal numbers: TensorFlow flushes them to zero on CPU.


@settings(max_examples=15)  # a Keras layer per example
@given(data=st.data(), activation=st.sampled_from(["tanh", "relu", "sigmoid"]))
def test_simple_rnn_matches_keras(data, activation):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    batch, time, features, units = (data.draw(st.integers(1, n)) for n in (3, 6, 4, 5))
    x = data.draw(
        hnp.arrays(
            dtype,
            (batch, time, features),
            elements=st.floats(-2, 2, width=32, allow_subnormal=False),
        )
    )
    layer = keras.layers.SimpleRNN(
        units, activation=activation, return_sequences=True, dtype=np.dtype(dtype).name
    )
    layer.build((batch, time, features))
    weights = [
        data.draw(
            hnp.arrays(dtype, w.shape, elements=st.floats(-1, 1, width=32, allow_subnormal=False))
        )
        for w in layer.get_weights()
    ]
    layer.set_weights(
        weights
    )  # kernel (features, units), recurrent_kernel (units, units), bias (units,)
    want = layer(x).numpy()
    got = simple_rnn(x, *weights, activation=activation)
    assert got.shape == (batch, time, units) and got.dtype == dtype
    # hidden states are sums of products of order 1 squashed by f; where a pre-activation cancels
    # to ~0 the absolute error is a few ulp of the terms, hence atol = 100 eps of the dtype.
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=100 * np.finfo(dtype).eps)


def test_golden_values():
    # h_t = h_{t-1} * 0.5 + x_t with linear activation: 1, 1.5, 1.75
    h = simple_rnn(
        np.ones((1, 3, 1)), np.ones((1, 1)), np.full((1, 1), 0.5), np.zeros(1), activation="linear"
    )
    np.testing.assert_allclose(h[0, :, 0], [1.0, 1.5, 1.75])
    h0 = simple_rnn(
        np.zeros((2, 1, 1)),
        np.ones((1, 1)),
        np.ones((1, 1)),
        np.zeros(1),
        activation="linear",
        initial_state=np.array([[2.0], [3.0]]),
    )
    np.testing.assert_allclose(h0[:, 0, 0], [2.0, 3.0])


def test_errors_name_the_argument():
    x = np.zeros((2, 3, 4))
    with pytest.raises(
        ValueError,
        match=r"`x` must have rank 3 \(batch, time, features\). Received: x.shape=\(3, 4\)",
    ):
        simple_rnn(np.zeros((3, 4)), np.zeros((4, 5)), np.zeros((5, 5)), np.zeros(5))
    with pytest.raises(
        ValueError,
        match=r"`W_x` must have shape \(4, 5\) for x.shape=\(2, 3, 4\) and 5 units. "
        r"Received: W_x.shape=\(3, 5\)",
    ):
        simple_rnn(x, np.zeros((3, 5)), np.zeros((5, 5)), np.zeros(5))
    with pytest.raises(
        ValueError,
        match=r"`W_h` must have shape \(5, 5\) for x.shape=\(2, 3, 4\) and 5 units. "
        r"Received: W_h.shape=\(5, 4\)",
    ):
        simple_rnn(x, np.zeros((4, 5)), np.zeros((5, 4)), np.zeros(5))
    with pytest.raises(
        ValueError, match=r"`activation` must be one of \[.*\]. Received: activation='gelu'"
    ):
        simple_rnn(x, np.zeros((4, 5)), np.zeros((5, 5)), np.zeros(5), activation="gelu")
    with pytest.raises(
        ValueError,
        match=r"`initial_state` must have shape \(2, 5\). Received: initial_state.shape=\(1, 5\)",
    ):
        simple_rnn(
            x, np.zeros((4, 5)), np.zeros((5, 5)), np.zeros(5), initial_state=np.zeros((1, 5))
        )


def test_docstring_examples():
    import doctest

    import nnlib.rnn

    result = doctest.testmod(
        nnlib.rnn, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
