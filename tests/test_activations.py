"""nnlib.activations against TensorFlow: values, derivatives (tf.GradientTape), stability, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import activations as A

RTOL = {np.float32: 1e-5, np.float64: 1e-6}


def atol(dtype):
    # TensorFlow computes several of these through 1 - y, 1 - y**2 or exp(z) - 1 (sigmoid'/tanh'/elu),
    # whose absolute rounding error is a few ulp of 1.0 where the exact value is ~0; rtol governs
    # every value that is not ~0.
    return 4 * np.finfo(dtype).eps


@st.composite
def z_arrays(draw, dtype=None):
    dtype = dtype or draw(st.sampled_from([np.float32, np.float64]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=6))
    elements = st.floats(-40, 40, width=32) | st.sampled_from([-1e4, 1e4, 0.0, -1e-3, 1e-3])
    return draw(hnp.arrays(dtype, shape, elements=elements))


def tf_twin(name, **kw):
    return {
        "linear": lambda z: keras.activations.linear(z),
        "sigmoid": tf.sigmoid,
        "tanh": tf.tanh,
        "relu": tf.nn.relu,
        "leaky_relu": lambda z: tf.nn.leaky_relu(z, alpha=kw["negative_slope"]),
        "elu": lambda z: keras.activations.elu(z, alpha=kw["alpha"]),
    }[name]


def params_for(name, draw_value):
    if name == "leaky_relu":
        return {"negative_slope": draw_value}
    if name == "elu":
        return {"alpha": draw_value}
    return {}


@pytest.mark.parametrize("name", sorted(A.ACTIVATIONS))
@given(z=z_arrays(), p=st.floats(0.05, 2.0))
def test_value_and_derivative_match_tensorflow(name, z, p):
    f, f_grad = A.ACTIVATIONS[name]
    kw = params_for(name, p)
    zt = tf.Variable(z)
    with tf.GradientTape() as tape:
        y = tf_twin(name, **kw)(zt)
        total = tf.reduce_sum(y)  # elementwise f: d(sum f)/dz_i = f'(z_i)
    dy = tape.gradient(total, zt)
    with np.errstate(
        over="raise", divide="raise", invalid="raise"
    ):  # no overflow (underflow to 0 is harmless), |z| = 1e4
        a, da = f(z, **kw), f_grad(z, **kw)
    assert a.dtype == z.dtype and da.dtype == z.dtype
    np.testing.assert_allclose(a, y.numpy(), rtol=RTOL[z.dtype.type], atol=atol(z.dtype))
    np.testing.assert_allclose(da, dy.numpy(), rtol=RTOL[z.dtype.type], atol=atol(z.dtype))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu"])
@given(z=z_arrays(np.float32))
def test_float32_derivatives_are_accurate_to_float64(name, z):
    # Our derivative formulas avoid cancellation, so float32 agrees with float64 to rtol 1e-5
    # everywhere (TensorFlow's 1 - y form does not for large |z|, hence its atol above).
    f_grad = A.ACTIVATIONS[name][1]
    np.testing.assert_allclose(f_grad(z), f_grad(z.astype(np.float64)), rtol=1e-5, atol=1e-30)


@given(z=z_arrays(), axis=st.sampled_from([-1, 0]))
def test_softmax_and_log_softmax_match_tensorflow(z, axis):
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s, ls = A.softmax(z, axis=axis), A.log_softmax(z, axis=axis)
    assert s.dtype == z.dtype and ls.dtype == z.dtype
    rtol = RTOL[z.dtype.type]
    np.testing.assert_allclose(s, tf.nn.softmax(z, axis=axis).numpy(), rtol=rtol, atol=1e-30)
    np.testing.assert_allclose(
        ls, tf.nn.log_softmax(z, axis=axis).numpy(), rtol=rtol, atol=atol(z.dtype)
    )
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=rtol)


def test_golden_values():
    assert A.sigmoid(0.0) == 0.5
    assert A.sigmoid_grad(0.0) == 0.25
    assert A.tanh_grad(0.0) == 1.0
    np.testing.assert_array_equal(A.relu(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(A.relu_grad(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(A.leaky_relu(np.array([-1.0, 2.0])), [-0.2, 2.0])
    np.testing.assert_allclose(A.elu(np.array([-np.log(2.0)])), [-0.5])  # e^{-ln 2} - 1
    np.testing.assert_allclose(A.softmax(np.array([np.log(1.0), np.log(3.0)])), [0.25, 0.75])
    np.testing.assert_array_equal(A.log_softmax(np.array([1e4, 0.0])), [0.0, -1e4])


def test_extreme_logits_stay_finite():
    z = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        np.testing.assert_array_equal(A.sigmoid(z), [[1.0, 0.0, 0.5]])
        np.testing.assert_array_equal(A.softmax(z), [[1.0, 0.0, 0.0]])
        assert np.all(np.isfinite(A.log_softmax(z)))


def test_errors_name_the_argument():
    with pytest.raises(
        ValueError, match=r"`z` must contain only finite values. Received: z with 1"
    ):
        A.sigmoid(np.array([0.0, np.nan]))
    with pytest.raises(TypeError, match=r"`z` must be an array of numbers. Received: z='a'"):
        A.relu("a")
    with pytest.raises(ValueError, match=r"`z` must have rank >= 1 \(softmax needs a class axis\)"):
        A.softmax(np.float64(1.0))
    with pytest.raises(
        ValueError, match=r"`axis` must be a valid axis for `z` of rank 2. Received: axis=2"
    ):
        A.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match=r"`alpha` must be finite. Received: alpha=inf"):
        A.elu(np.zeros(2), alpha=float("inf"))
    with pytest.raises(
        TypeError, match=r"`negative_slope` must be a real number. Received: negative_slope='x'"
    ):
        A.leaky_relu(np.zeros(2), negative_slope="x")


def test_docstring_examples():
    import doctest

    import nnlib.activations

    result = doctest.testmod(
        nnlib.activations, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
