"""nnlib.losses against keras.losses: per-sample values and gradients of the batch mean."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import losses as L

RTOL = {np.float32: 1e-5, np.float64: 1e-6}


def atol(dtype):
    # Where the exact value is ~0 (log q for q within an ulp of 1, p - y when p ~ y, a perfect
    # prediction), both implementations carry an absolute rounding error of a few ulp of 1.0.
    return 4 * np.finfo(dtype).eps


def keras_value_and_grad(fn, y_true, y_pred, **kw):
    """Per-sample Keras loss and the gradient of its batch mean w.r.t. y_pred (GradientTape)."""
    v = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        per_sample = fn(tf.constant(y_true), v, **kw)
        mean = tf.reduce_mean(per_sample)
    return per_sample.numpy(), tape.gradient(mean, v).numpy()


def assert_matches(ours_fn, ours_grad, keras_fn, y_true, y_pred, **kw):
    dtype = y_pred.dtype
    # Unnormalized probabilities: the gradient d/dp_y of -log(p_y / S) is -1/p_y + 1/S, a difference of
    # two terms of size 1/S that both implementations round to a few ulp of 1/S (found by hypothesis:
    # S = 0.006 gave an absolute difference of 5e-6 in float32). Scale the absolute tolerance to it.
    grad_scale = 1.0
    categorical = (
        keras.losses.categorical_crossentropy,
        keras.losses.sparse_categorical_crossentropy,
    )
    if keras_fn in categorical and not kw.get("from_logits", True):
        grad_scale = max(1.0, 1.0 / float(y_pred.sum(axis=-1).min()))
    want, want_grad = keras_value_and_grad(keras_fn, y_true, y_pred, **kw)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        got, got_grad = ours_fn(y_true, y_pred, **kw), ours_grad(y_true, y_pred, **kw)
    assert got.dtype == dtype and got_grad.dtype == dtype
    assert got.shape == y_pred.shape[:-1] and got_grad.shape == y_pred.shape
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype.type], atol=atol(dtype))
    np.testing.assert_allclose(
        got_grad, want_grad, rtol=RTOL[dtype.type], atol=atol(dtype) * grad_scale
    )


dtypes = st.sampled_from([np.float32, np.float64])
shapes = st.tuples(st.integers(1, 5), st.integers(1, 4))
big = st.sampled_from([-1e4, 1e4])


@st.composite
def regression(draw):
    dtype, shape = draw(dtypes), draw(shapes)
    values = st.floats(-100, 100, width=32)
    return draw(hnp.arrays(dtype, shape, elements=values)), draw(
        hnp.arrays(dtype, shape, elements=values)
    )


@st.composite
def binary(draw, logits):
    dtype, shape = draw(dtypes), draw(shapes)
    y_true = draw(
        hnp.arrays(dtype, shape, elements=st.sampled_from([0.0, 1.0]) | st.floats(0, 1, width=32))
    )
    if logits:
        elements = st.floats(-30, 30, width=32) | big
    else:  # include exact 0 and 1 and values beyond the 1e-7 clip
        elements = st.floats(0, 1, width=32) | st.sampled_from([0.0, 1.0, 1e-9, 1 - 1e-9])
    return y_true, draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def multiclass(draw, logits, sparse):
    dtype = draw(dtypes)
    n, k = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    if logits:
        y_pred = draw(hnp.arrays(dtype, (n, k), elements=st.floats(-30, 30, width=32) | big))
    else:
        y_pred = draw(hnp.arrays(dtype, (n, k), elements=st.floats(0, 1, width=32) | st.just(0.0)))
        assume(np.all(y_pred.sum(axis=-1) > 1e-3))
    if sparse:
        return labels, y_pred
    soft = draw(st.booleans())  # one-hot labels or a probability vector per row
    y_true = np.eye(k, dtype=dtype)[labels]
    if soft:
        w = draw(hnp.arrays(dtype, (n, k), elements=st.floats(0.125, 1, width=32)))
        y_true = (w / w.sum(axis=-1, keepdims=True)).astype(dtype)
    return y_true, y_pred


@given(data=regression())
def test_mse_and_mae_match_keras(data):
    y_true, y_pred = data
    assert_matches(
        L.mean_squared_error,
        L.mean_squared_error_grad,
        keras.losses.mean_squared_error,
        y_true,
        y_pred,
    )
    assert_matches(
        L.mean_absolute_error,
        L.mean_absolute_error_grad,
        keras.losses.mean_absolute_error,
        y_true,
        y_pred,
    )


@pytest.mark.parametrize("from_logits", [False, True])
@given(data=st.data())
def test_binary_crossentropy_matches_keras(from_logits, data):
    y_true, y_pred = data.draw(binary(from_logits))
    assert_matches(
        L.binary_crossentropy,
        L.binary_crossentropy_grad,
        keras.losses.binary_crossentropy,
        y_true,
        y_pred,
        from_logits=from_logits,
    )


@given(data=st.data(), labels=st.sampled_from(["01", "pm1", "real"]))
def test_hinge_matches_keras(data, labels):
    dtype, shape = data.draw(dtypes), data.draw(shapes)
    y_true = {
        "01": lambda: data.draw(hnp.arrays(dtype, shape, elements=st.sampled_from([0.0, 1.0]))),
        "pm1": lambda: data.draw(hnp.arrays(dtype, shape, elements=st.sampled_from([-1.0, 1.0]))),
        "real": lambda: data.draw(hnp.arrays(dtype, shape, elements=st.floats(-2, 2, width=32))),
    }[labels]()
    y_pred = data.draw(
        hnp.arrays(dtype, shape, elements=st.floats(-3, 3, width=32) | st.sampled_from([1.0, -1.0]))
    )
    assert_matches(L.hinge, L.hinge_grad, keras.losses.hinge, y_true, y_pred)


@pytest.mark.parametrize("from_logits", [False, True])
@given(data=st.data())
def test_categorical_crossentropy_matches_keras(from_logits, data):
    y_true, y_pred = data.draw(multiclass(from_logits, sparse=False))
    assert_matches(
        L.categorical_crossentropy,
        L.categorical_crossentropy_grad,
        keras.losses.categorical_crossentropy,
        y_true,
        y_pred,
        from_logits=from_logits,
    )


@pytest.mark.parametrize("from_logits", [False, True])
@given(data=st.data())
def test_sparse_categorical_crossentropy_matches_keras(from_logits, data):
    labels, y_pred = data.draw(multiclass(from_logits, sparse=True))
    assert_matches(
        L.sparse_categorical_crossentropy,
        L.sparse_categorical_crossentropy_grad,
        keras.losses.sparse_categorical_crossentropy,
        labels,
        y_pred,
        from_logits=from_logits,
    )


def test_golden_values():
    np.testing.assert_allclose(L.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]]), [0.5])
    np.testing.assert_allclose(L.mean_squared_error_grad([[0.0, 1.0]], [[1.0, 1.0]]), [[1.0, 0.0]])
    np.testing.assert_allclose(L.binary_crossentropy([[1.0]], [[0.5]]), [np.log(2)])
    np.testing.assert_allclose(L.sparse_categorical_crossentropy([1], [[0.5, 0.5]]), [np.log(2)])
    np.testing.assert_allclose(L.hinge([[1.0, 0.0]], [[0.5, 0.5]]), [1.0])  # labels -> (1, -1)
    # a confident wrong probability costs -log(1e-7) ~ 16.1 (Keras's clip), not inf
    np.testing.assert_allclose(L.binary_crossentropy([[1.0]], [[0.0]]), [-np.log(1e-7)], rtol=1e-6)


def test_logits_of_magnitude_1e4_are_finite_and_exact():
    z = np.array([[1e4, -1e4, 0.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        np.testing.assert_allclose(
            L.categorical_crossentropy([[0.0, 1.0, 0.0]], z, from_logits=True), [2e4]
        )
        np.testing.assert_allclose(
            L.sparse_categorical_crossentropy([0], z, from_logits=True), [0.0], atol=1e-12
        )
        np.testing.assert_allclose(
            L.binary_crossentropy([[0.0, 1.0, 1.0]], z, from_logits=True),
            [(1e4 + 1e4 + np.log(2)) / 3],
        )
        g = L.sparse_categorical_crossentropy_grad([1], z, from_logits=True)
        np.testing.assert_allclose(g, [[1.0, -1.0, 0.0]], atol=1e-12)  # softmax = (1, 0, 0)


def test_errors_name_the_argument():
    with pytest.raises(
        ValueError,
        match=r"`y_pred` must have the same shape as `y_true`. Received: "
        r"y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)",
    ):
        L.mean_squared_error(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(
        ValueError,
        match=r"`y_true` must hold labels in \[0, 3\). Received: y_true with min=0, max=3",
    ):
        L.sparse_categorical_crossentropy([0, 3], np.ones((2, 3)) / 3)
    with pytest.raises(
        ValueError,
        match=r"`y_true` must hold one integer label per row of `y_pred`, i.e. have "
        r"shape \(2,\). Received: y_true.shape=\(3,\)",
    ):
        L.sparse_categorical_crossentropy_grad([0, 1, 2], np.ones((2, 3)) / 3)
    with pytest.raises(
        TypeError,
        match=r"`y_true` must hold integer class labels. Received: y_true with dtype=float64",
    ):
        L.sparse_categorical_crossentropy([0.5, 1.0], np.ones((2, 3)) / 3)
    with pytest.raises(
        ValueError, match=r"`y_pred` must contain only finite values. Received: y_pred with 1"
    ):
        L.categorical_crossentropy([[1.0, 0.0]], [[np.inf, 0.0]], from_logits=True)
    with pytest.raises(
        TypeError, match=r"`from_logits` must be a bool. Received: from_logits='yes'"
    ):
        L.binary_crossentropy([[1.0]], [[0.5]], from_logits="yes")
    with pytest.raises(
        ValueError, match=r"`y_pred` must have rank >= 1. Received: y_pred.shape=\(\)"
    ):
        L.hinge(1.0, 1.0)


def test_docstring_examples():
    import doctest

    import nnlib.losses

    result = doctest.testmod(
        nnlib.losses, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
