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


# ---------------------------------------------------------------- knowledge distillation


def _logits(seed, shape=(6, 10), scale=2.0, dtype=np.float32):
    return (np.random.default_rng(seed).normal(0, scale, shape)).astype(dtype)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0, 10.0])
def test_distillation_loss_is_keras_logits_distillation_with_a_kl_instance(temperature):
    # With logits of spread ~ 2 every probability is far above Keras's clip at 1e-7, so the clip
    # changes nothing and the two must agree to float32 rounding.
    from keras.distillation import LogitsDistillation

    teacher, student = _logits(0), _logits(1)
    keras_loss = LogitsDistillation(temperature=temperature, loss=keras.losses.KLDivergence())
    v = tf.Variable(student)
    with tf.GradientTape() as tape:
        value = keras_loss.compute_loss(tf.constant(teacher), v)
    ours = L.distillation_loss(teacher, student, temperature)
    assert ours.shape == (6,) and ours.dtype == np.float32
    np.testing.assert_allclose(ours.mean(), float(value), rtol=1e-5)
    # The gradient T (p - q) / n is a difference of nearly equal float32 probabilities: both sides
    # carry an absolute rounding error of a few ulp of 1 / n (measured: at most 6e-8), hence atol.
    np.testing.assert_allclose(
        L.distillation_loss_grad(teacher, student, temperature),
        tape.gradient(value, v).numpy(),
        rtol=1e-4,
        atol=1e-7,
    )


def test_distillation_loss_at_temperature_1_is_cross_entropy_minus_the_teachers_entropy():
    teacher, student = _logits(2, dtype=np.float64), _logits(3, dtype=np.float64)
    q = np.exp(teacher) / np.exp(teacher).sum(axis=1, keepdims=True)
    entropy = -np.sum(q * np.log(q), axis=1)
    np.testing.assert_allclose(
        L.distillation_loss(teacher, student, 1.0),
        L.categorical_crossentropy(q, student, from_logits=True) - entropy,
        rtol=1e-12,
    )


def test_distillation_loss_ignores_a_constant_per_row_and_is_zero_for_equal_rows():
    teacher = _logits(4, dtype=np.float64)
    shifted = teacher + np.arange(6.0)[:, None]  # softmax cannot see a constant added to a row
    np.testing.assert_allclose(L.distillation_loss(teacher, shifted, 3.0), 0.0, atol=1e-13)
    np.testing.assert_allclose(L.distillation_loss_grad(teacher, shifted, 3.0), 0.0, atol=1e-15)


def test_distillation_gradient_matches_finite_differences():
    from nnlib.gradcheck import numerical_gradient

    teacher, student = _logits(5, (3, 4), dtype=np.float64), _logits(6, (3, 4), dtype=np.float64)
    numeric = numerical_gradient(lambda s: L.distillation_loss(teacher, s, 2.5).mean(), student)
    np.testing.assert_allclose(
        L.distillation_loss_grad(teacher, student, 2.5), numeric, rtol=1e-6, atol=1e-9
    )


def test_at_a_high_temperature_distillation_matches_the_logits():
    # T (p - q) / n -> (s - t) / (n k) for zero-mean logits: the T^2 keeps the gradient's size.
    teacher, student = _logits(7, dtype=np.float64), _logits(8, dtype=np.float64)
    teacher -= teacher.mean(axis=1, keepdims=True)
    student -= student.mean(axis=1, keepdims=True)
    limit = (student - teacher) / student.size
    for temperature, rel in ((10.0, 0.3), (100.0, 0.03), (1000.0, 0.003)):
        grad = L.distillation_loss_grad(teacher, student, temperature)
        assert np.abs(grad - limit).max() < rel * np.abs(limit).max()


def test_keras_default_logits_distillation_is_not_this_loss():
    # Keras 3.15: LogitsDistillation's default loss="kl_divergence" is a string, which resolves to
    # the function keras.losses.kl_divergence, not the class KLDivergence, so compute_loss skips its
    # softmax and its T^2 and treats logits / T as probabilities (clipped to [1e-7, 1]). The book
    # (chapter 5.4) says so; this test notices when Keras changes it.
    from keras.distillation import LogitsDistillation

    teacher, student = _logits(9), _logits(10)
    default = LogitsDistillation(temperature=4.0)
    assert not isinstance(default.loss, keras.losses.KLDivergence)
    scaled_t, scaled_s = teacher / 4.0, student / 4.0
    as_probabilities = np.clip(scaled_t, 1e-7, 1) * np.log(
        np.clip(scaled_t, 1e-7, 1) / np.clip(scaled_s, 1e-7, 1)
    )
    value = float(default.compute_loss(teacher, student))
    np.testing.assert_allclose(value, as_probabilities.sum(axis=1).mean(), rtol=1e-5)
    assert abs(value - L.distillation_loss(teacher, student, 4.0).mean()) > 0.1


def test_distillation_loss_is_finite_for_huge_logits_and_takes_any_leading_shape():
    # log-softmax, not log(softmax): logits of 1e4 give the exact values, no inf or nan
    teacher, student = np.array([[1e4, 0.0]]), np.array([[0.0, 1e4]])
    np.testing.assert_allclose(L.distillation_loss(teacher, student, 1.0), [1e4])
    np.testing.assert_allclose(L.distillation_loss_grad(teacher, student, 1.0), [[-1.0, 1.0]])
    one_row = L.distillation_loss(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0]), 2.0)
    assert one_row.shape == () and one_row.dtype == np.float64 and one_row > 0
    cube = _logits(11, (2, 3, 4), dtype=np.float64)
    assert L.distillation_loss(cube, cube[::-1], 2.0).shape == (2, 3)
    assert L.distillation_loss_grad(cube, cube[::-1], 2.0).shape == (2, 3, 4)


def test_a_temperature_whose_square_overflows_the_logits_dtype_is_named():
    for dtype, temperature in ((np.float64, 1e200), (np.float32, 1e20)):
        zeros = np.zeros((1, 2), dtype)
        with pytest.raises(
            ValueError, match=r"`temperature` must be small enough .* Received: temperature=1e\+"
        ):
            L.distillation_loss(zeros, zeros, temperature)
    assert np.isfinite(
        L.distillation_loss(np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32), 1e19)
    )
