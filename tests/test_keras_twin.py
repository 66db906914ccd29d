"""nnlib.models.keras_twin: the Keras copy of a NumPy MLP (chapters 3.3 and 4.7).

Tolerances: in float64 the twin's logits and softmax probabilities equal the NumPy network's to
1e-12 (absolute; measured differences are a few ulps, ~1e-16); in float32 to 1e-6. Gradients through
the twin are checked against backpropagation in tests/test_numpy_net.py.
"""

import doctest
import random

import keras
import numpy as np
import pytest

from nnlib import models
from nnlib.activations import ACTIVATIONS
from nnlib.models import keras_twin
from nnlib.numpy_net import MLP


def numpy_logits(net, X):
    """z^L of the NumPy network: the pre-activation of its last layer (inference mode)."""
    return net._forward(net._check_x(X), training=False)[0][-1]


def test_every_nnlib_activation_has_a_keras_twin():
    assert set(models._KERAS_ACTIVATIONS) == set(ACTIVATIONS)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_pass_equals_the_numpy_net_in_float64(activation):
    net = MLP([5, 7, 6, 4], activation=activation, seed=3)
    X = 2.0 * np.random.default_rng(0).standard_normal((16, 5))  # negative and positive inputs
    twin = keras_twin(net)
    logits = keras.ops.convert_to_numpy(twin(X))
    np.testing.assert_allclose(logits, numpy_logits(net, X), rtol=0, atol=1e-12)
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(twin(X)))
    np.testing.assert_allclose(probs, net.forward(X), rtol=0, atol=1e-12)
    # hidden layers use the net's activation; the last one is linear: logits, not probabilities
    names = [layer.activation.__name__.lstrip("_") for layer in twin.layers]
    assert names == [activation] * 2 + ["linear"]
    assert not np.allclose(logits.sum(axis=1), 1.0)


def test_the_forward_check_can_fail():
    """A twin with another hidden activation is caught by the same tolerance."""
    net = MLP([5, 7, 4], activation="elu", seed=3)
    X = 2.0 * np.random.default_rng(0).standard_normal((16, 5))
    other = MLP([5, 7, 4], activation="relu", seed=3)  # the same initial weights, relu
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(keras_twin(other)(X)))
    assert np.abs(probs - net.forward(X)).max() > 1e-3


def test_structure_and_weights():
    net = MLP([4, 8, 5, 3], activation="tanh", seed=1)
    twin = keras_twin(net)
    assert twin.input_shape == (None, 4) and twin.output_shape == (None, 3)
    assert [layer.name for layer in twin.layers] == ["dense_1", "dense_2", "output"]
    assert twin.count_params() == sum(p.size for p in net.params)  # 40 + 45 + 18 = 103
    assert twin.count_params() == (4 * 8 + 8) + (8 * 5 + 5) + (5 * 3 + 3) == 103
    for w, p in zip(twin.get_weights(), net.params):
        np.testing.assert_array_equal(w, p)  # copied exactly, W laid out (in, out) like Dense


def test_weights_are_copies():
    net = MLP([4, 8, 3], seed=2)
    twin = keras_twin(net)
    before = [w.copy() for w in twin.get_weights()]
    net.params[0][...] += 1.0  # mutate the net in place ...
    net.fit(np.ones((6, 4)), np.array([0, 1, 2, 0, 1, 2]), epochs=2, batch_size=3)
    for w, b in zip(twin.get_weights(), before):
        np.testing.assert_array_equal(w, b)  # ... the twin keeps the weights of the call
    kept = [p.copy() for p in net.params]
    twin.set_weights([np.zeros_like(w) for w in before])  # and the other way round
    for p, k in zip(net.params, kept):
        np.testing.assert_array_equal(p, k)


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-6)])
def test_dtype_follows_the_net(dtype, tol):
    floatx = keras.backend.floatx()
    net = MLP([6, 5, 3], activation="sigmoid", seed=4, dtype=dtype)
    twin = keras_twin(net)
    assert keras.backend.floatx() == floatx == "float32"  # no global set_floatx needed
    assert twin.inputs[0].dtype == dtype
    assert all(w.dtype == dtype for w in twin.weights)
    assert all(layer.compute_dtype == dtype for layer in twin.layers)
    X = np.random.default_rng(1).standard_normal((8, 6)).astype(dtype)
    logits = keras.ops.convert_to_numpy(twin(X))
    assert logits.dtype == np.dtype(dtype)
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    np.testing.assert_allclose(probs, net.forward(X), rtol=0, atol=tol)


def test_perturbation_mode_does_not_nudge_twice(monkeypatch):
    monkeypatch.delenv("NNLIB_PERTURB", raising=False)
    plain = MLP([4, 8, 3], seed=0)
    monkeypatch.setenv("NNLIB_PERTURB", "1")
    net = MLP([4, 8, 3], seed=0)  # its initial weights are one ulp off here ...
    assert not np.array_equal(net.params[0], plain.params[0])
    for w, p in zip(keras_twin(net).get_weights(), net.params):
        np.testing.assert_array_equal(w, p)  # ... and the twin copies them as they are


def test_an_activation_without_keras_twin_is_an_error():
    net = MLP([4, 3])
    net.activation = "swish"  # not an nnlib activation, and so not mapped
    with pytest.raises(
        ValueError,
        match=r"`net.activation` must have a Keras equivalent, one of \['linear', 'sigmoid', "
        r"'tanh', 'relu', 'leaky_relu', 'elu'\]. Received: net.activation='swish'",
    ):
        keras_twin(net)
    net.activation = None
    with pytest.raises(ValueError, match=r"Received: net.activation=None"):
        keras_twin(net)


def test_a_net_that_is_not_an_mlp_is_an_error():
    with pytest.raises(
        TypeError,
        match=r"`net` must be an nnlib.numpy_net.MLP. Received: net=.* of type Sequential",
    ):
        keras_twin(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]))


def test_docstring_example():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    (test,) = finder.find(keras_twin, globs={"keras_twin": keras_twin, "MLP": MLP})
    assert test.examples
    runner.run(test)
    assert runner.failures == 0


def test_building_the_twin_draws_no_random_numbers():
    """Its initial weights are overwritten, so building it leaves Python's and NumPy's global
    generators (from which unseeded Keras initializers draw their seeds) where they were."""
    net = MLP([4, 8, 3], seed=0)
    random.seed(5)
    np.random.seed(5)
    keras_twin(net)
    after = random.random(), np.random.random()
    random.seed(5)
    np.random.seed(5)
    assert after == (random.random(), np.random.random())
    random.seed(5)
    keras.layers.Dense(3)  # the check can fail: a plain unseeded layer draws a seed
    assert random.random() != after[0]


def test_why_the_twin_has_its_own_leaky_relu():
    """Keras's "leaky_relu" on TensorFlow holds the slope 0.2 as a float32 attribute: in float64 it
    is off by 3e-9 absolute, far above float64 rounding; the twin's is exact."""
    x = np.array([-1.0, 0.0, 2.0])
    keras_value = keras.ops.convert_to_numpy(keras.activations.leaky_relu(x))
    assert keras_value[0] != -0.2 and abs(keras_value[0] + 0.2) < 1e-8
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(models._leaky_relu(x)), [-0.2, 0, 2])
