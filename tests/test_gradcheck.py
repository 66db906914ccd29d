"""nnlib.gradcheck: central differences are O(eps^2) accurate, and a wrong gradient is caught."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import gradcheck as G


def f(x):
    return float(np.sum(np.sin(x) * x**2))


def f_grad(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


@given(x=hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-3, 3)))
def test_numerical_gradient_matches_tensorflow(x):
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.sin(v) * v**2)
    want = tape.gradient(y, v).numpy()
    # central differences: truncation error ~ eps^2 |f'''| / 6 ~ 1e-10 * 10, rounding ~ 1e-16/1e-5
    np.testing.assert_allclose(G.numerical_gradient(f, x), want, rtol=1e-6, atol=1e-8)
    # a relative error needs a gradient that is not ~0 (at x = 0 it is 0 and the ratio is noise)
    assume(np.linalg.norm(want) > 1e-3)
    assert G.check_gradients(f, f_grad, x) < 1e-8


def test_a_wrong_gradient_is_caught():
    x = np.linspace(-2, 2, 7)
    assert G.check_gradients(f, lambda x: np.cos(x) * x**2, x) > 1e-2  # forgot a term
    assert G.check_gradients(f, lambda x: 1.001 * f_grad(x), x) > 1e-4  # 0.1 % off


def test_list_of_parameters_is_perturbed_in_place():
    W, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5])
    x = np.array([1.0, -1.0])

    def loss(params):
        W, b = params
        return float(np.sum((x @ W + b) ** 2))

    def grads(params):
        W, b = params
        r = 2 * (x @ W + b)
        return [np.outer(x, r), r]

    assert G.check_gradients(loss, grads, [W, b]) < 1e-9
    np.testing.assert_array_equal(W, [[1.0, 2.0], [3.0, 4.0]])  # restored after perturbation


def test_golden_values():
    np.testing.assert_allclose(
        G.numerical_gradient(lambda v: float(np.sum(v**2)), np.array([1.0, -2.0])),
        [2.0, -4.0],
        rtol=1e-9,
    )
    assert G.relative_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert G.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert G.relative_error(np.array([3.0, 4.0]), np.array([0.0, 0.0])) == 1.0  # |a-b| / (|a|+|b|)


def test_errors_name_the_argument():
    with pytest.raises(
        TypeError, match=r"`f` must be a callable returning a scalar. Received: f=3"
    ):
        G.numerical_gradient(3, np.zeros(2))
    with pytest.raises(ValueError, match=r"`eps` must be > 0. Received: eps=0.0"):
        G.numerical_gradient(f, np.zeros(2), eps=0.0)
    with pytest.raises(
        ValueError,
        match=r"`b` must have the same shape as `a`. Received: a.shape=\(2,\), b.shape=\(3,\)",
    ):
        G.relative_error(np.zeros(2), np.zeros(3))
    with pytest.raises(
        TypeError,
        match=r"`x` must be a list of float64 arrays \(they are perturbed in place\). "
        r"Received: x\[0\] of type ndarray with dtype=float32",
    ):
        G.check_gradients(f, f_grad, [np.zeros(2, dtype=np.float32)])
    with pytest.raises(
        TypeError, match=r"`grad_f` must be a callable returning an array. Received: grad_f=None"
    ):
        G.check_gradients(f, None, np.zeros(2))


def test_docstring_examples():
    import doctest

    import nnlib.gradcheck

    result = doctest.testmod(
        nnlib.gradcheck, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
