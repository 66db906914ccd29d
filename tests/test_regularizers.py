"""nnlib.regularizers against keras.regularizers (values, gradients by GradientTape) and dropout."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import regularizers as R

RTOL = {np.float32: 1e-5, np.float64: 1e-6}


@st.composite
def weights(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
    # |x| >= 2^-20 or 0: TensorFlow flushes subnormal float32 results (e.g. 0.5 * 1e-38) to zero.
    magnitude = st.floats(2.0**-20, 10, width=32)
    return draw(
        hnp.arrays(dtype, shape, elements=magnitude | magnitude.map(lambda v: -v) | st.just(0.0))
    )


# 0, or factors that stay normal numbers in float32 (Keras casts the factor to x's dtype).
factors = st.just(0.0) | st.floats(2.0**-20, 1.0)


def keras_penalty_and_grad(reg, x):
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        penalty = reg(v)
    grad = tape.gradient(penalty, v)
    return float(penalty), None if grad is None else grad.numpy()


@settings(max_examples=15)  # 3 Keras regularizers + a GradientTape per example
@given(x=weights(), l1=factors, l2=factors)
def test_penalties_and_gradients_match_keras(x, l1, l2):
    rtol = RTOL[x.dtype.type]
    cases = [
        (R.l1, R.l1_grad, {"factor": l1}, keras.regularizers.L1(l1)),
        (R.l2, R.l2_grad, {"factor": l2}, keras.regularizers.L2(l2)),
        (R.l1_l2, R.l1_l2_grad, {"l1": l1, "l2": l2}, keras.regularizers.L1L2(l1=l1, l2=l2)),
    ]
    for penalty, grad, kw, keras_reg in cases:
        want, want_grad = keras_penalty_and_grad(keras_reg, x)
        if want_grad is None:  # Keras skips a zero factor entirely: the penalty is a constant 0
            want_grad = np.zeros_like(x)
        g = grad(x, **kw)
        assert g.dtype == x.dtype
        # Keras sums in float32 for float32 weights; an empty or all-zero x gives exactly 0.
        np.testing.assert_allclose(penalty(x, **kw), want, rtol=rtol)
        np.testing.assert_allclose(g, want_grad, rtol=rtol)


def test_dropout_is_inverted_and_seeded():
    x = np.ones((200, 50))
    out, mask = R.dropout(x, 0.25, np.random.default_rng(0))
    assert set(np.unique(out)) == {0.0, 1 / 0.75}  # survivors scaled by 1/(1-p)
    np.testing.assert_array_equal(out, x * mask)
    assert abs((out == 0).mean() - 0.25) < 0.01  # 10,000 draws: std of the rate ~0.004
    assert abs(out.mean() - 1.0) < 0.02  # expectation preserved
    out2, _ = R.dropout(x, 0.25, np.random.default_rng(0))
    np.testing.assert_array_equal(out, out2)  # same seed, same mask
    same, ones = R.dropout(x.astype(np.float32), 0.5, np.random.default_rng(0), training=False)
    assert same.dtype == np.float32 and np.all(same == 1) and np.all(ones == 1)


def test_dropout_matches_keras_statistics():
    # Keras's Dropout layer uses the same inverted scaling: zeros or x / (1 - rate).
    x = np.ones((100, 100), dtype=np.float32)
    k = keras.layers.Dropout(0.3, seed=1)(x, training=True).numpy()
    ours, _ = R.dropout(x, 0.3, np.random.default_rng(1))
    assert set(np.unique(k)) == set(np.unique(ours)) == {np.float32(0), np.float32(1 / 0.7)}
    assert abs((k == 0).mean() - (ours == 0).mean()) < 0.02


def test_golden_values():
    assert R.l1(np.array([1.0, -2.0]), factor=0.5) == 1.5
    assert R.l2(np.array([1.0, -2.0]), factor=0.25) == 1.25
    assert R.l1_l2(np.array([1.0, -2.0]), l1=0.5, l2=0.25) == 2.75
    np.testing.assert_array_equal(R.l2_grad(np.array([1.0, -2.0]), factor=0.25), [0.5, -1.0])
    np.testing.assert_array_equal(
        R.l1_grad(np.array([3.0, 0.0, -2.0]), factor=0.5), [0.5, 0.0, -0.5]
    )


def test_errors_name_the_argument():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"`rate` must be in \[0.0, 1.0\). Received: rate=1.0"):
        R.dropout(np.ones(3), 1.0, rng)
    with pytest.raises(ValueError, match=r"`rate` must be in \[0.0, 1.0\). Received: rate=-0.1"):
        R.dropout(np.ones(3), -0.1, rng)
    with pytest.raises(
        TypeError,
        match=r"`rng` must be a np.random.Generator \(np.random.default_rng\(seed\)\). "
        r"Received: rng=0 of type int",
    ):
        R.dropout(np.ones(3), 0.5, 0)
    with pytest.raises(
        ValueError, match=r"`factor` must be in \[0.0, inf\]. Received: factor=-1.0"
    ):
        R.l2(np.ones(3), factor=-1.0)
    with pytest.raises(
        ValueError, match=r"`x` must contain only finite values. Received: x with 1 NaN/inf"
    ):
        R.l1(np.array([1.0, np.inf]))


def test_docstring_examples():
    import doctest

    import nnlib.regularizers

    result = doctest.testmod(
        nnlib.regularizers, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
