"""nnlib.numpy_net.MLP: backprop equals GradientTape on the same Keras model, finite differences,
and training on the real digits data."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.data import load_digits
from nnlib.gradcheck import check_gradients
from nnlib.models import keras_twin
from nnlib.numpy_net import MLP
from nnlib.optimizers import SGD, Adam


def keras_loss_and_grads(net, X, y):
    model = keras_twin(net)
    with tf.GradientTape() as tape:
        logits = model(X)
        loss = tf.reduce_mean(
            keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        )
        loss += net.l2 * tf.add_n(
            [tf.reduce_sum(tf.square(w)) for w in model.trainable_weights[0::2]]
        )
    grads = tape.gradient(loss, model.trainable_weights)
    return float(loss), [g.numpy() for g in grads], tf.nn.softmax(logits).numpy()


@settings(max_examples=15)  # a Keras model per example
@given(
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "elu", "leaky_relu"]),
    hidden=st.lists(st.integers(1, 8), min_size=0, max_size=2),
    classes=st.integers(2, 5),
    batch=st.integers(1, 8),
    l2=st.sampled_from([0.0, 0.01]),
    seed=st.integers(0, 100),
)
def test_backprop_equals_gradient_tape(activation, hidden, classes, batch, l2, seed):
    net = MLP([3] + hidden + [classes], activation=activation, seed=seed, l2=l2)
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((batch, 3)), rng.integers(0, classes, batch)
    loss, grads = net.loss_and_grads(X, y)
    want_loss, want_grads, want_probs = keras_loss_and_grads(net, X, y)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-6)
    np.testing.assert_allclose(
        net.forward(X), want_probs, rtol=1e-6, atol=1e-15
    )  # probs ~0 underflow alike
    assert len(grads) == len(net.params)
    for g, want, p in zip(grads, want_grads, net.params):
        assert g.shape == p.shape
        # Gradients of dead ReLU units are exactly 0 on both sides; a tiny atol covers cancellation
        # in sums of terms of order 1 whose exact total is ~0.
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_finite_difference_check(activation):
    net = MLP([5, 7, 4, 3], activation=activation, seed=1, l2=0.01)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 5)), np.array([0, 1, 2, 0, 1, 2])
    error = check_gradients(
        lambda _: net.loss_and_grads(X, y)[0], lambda _: net.loss_and_grads(X, y)[1], net.params
    )
    assert error < 1e-6
    # and the check can fail: a gradient with the L2 term forgotten is caught
    wrong = lambda _: [
        g - (2 * 0.01 * p if i % 2 == 0 else 0)
        for i, (g, p) in enumerate(zip(net.loss_and_grads(X, y)[1], net.params))
    ]
    assert check_gradients(lambda _: net.loss_and_grads(X, y)[0], wrong, net.params) > 1e-4


def test_fit_reaches_high_accuracy_on_digits():
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_digits(dtype="float64")
    net = MLP([64, 64, 10], seed=0)
    history = net.fit(
        x_train,
        y_train,
        epochs=20,
        batch_size=32,
        optimizer=Adam(learning_rate=3e-3),
        validation_data=(x_val, y_val),
    )
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 20 for v in history.values())
    assert history["loss"][-1] < 0.2 * history["loss"][0]
    assert net.accuracy(x_test, y_test) >= 0.95  # measured 0.970 (seed 0)


def test_fit_with_dropout_and_float32_is_seeded():
    (x_train, y_train), _, _ = load_digits()
    runs = []
    for _ in range(2):
        net = MLP([64, 32, 10], seed=3, dropout=0.2, dtype="float32")
        hist = net.fit(x_train[:300], y_train[:300], epochs=3, optimizer=SGD(0.1, momentum=0.9))
        runs.append((hist["loss"], net.params[0].copy()))
        assert net.params[0].dtype == np.float32 and net.forward(x_train[:2]).dtype == np.float32
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][0][-1] < runs[0][0][0]


def test_golden_values():
    net = MLP([2, 3], seed=0)
    net.params[0][...] = 0.0  # zero weights: uniform probabilities, loss = log(3)
    loss, grads = net.loss_and_grads(np.ones((4, 2)), np.array([0, 0, 0, 0]))
    assert loss == pytest.approx(np.log(3))
    np.testing.assert_allclose(grads[1], [1 / 3 - 1, 1 / 3, 1 / 3])  # mean of (p - onehot)
    np.testing.assert_array_equal(net.predict(np.ones((1, 2))), [0])
    assert [p.shape for p in MLP([4, 8, 3]).params] == [(4, 8), (8,), (8, 3), (3,)]


def test_errors_name_the_argument():
    net = MLP([4, 3])
    with pytest.raises(
        ValueError,
        match=r"`X` must have 4 features \(layer_sizes\[0\]\). Received: X.shape=\(2, 5\)",
    ):
        net.forward(np.zeros((2, 5)))
    with pytest.raises(
        ValueError, match=r"`X` must have rank 2 \(batch, features\). Received: X.shape=\(4,\)"
    ):
        net.forward(np.zeros(4))
    with pytest.raises(
        ValueError, match=r"`y` must hold labels in \[0, 3\). Received: y with min=0, max=3"
    ):
        net.loss_and_grads(np.zeros((2, 4)), [0, 3])
    with pytest.raises(
        ValueError,
        match=r"`X` and `y` must have the same number of samples. Received: len\(X\)=2, len\(y\)=3",
    ):
        net.loss_and_grads(np.zeros((2, 4)), [0, 1, 2])
    with pytest.raises(
        ValueError,
        match=r"`layer_sizes` must have at least 2 entries \(inputs and classes\). Received: layer_sizes=\[4\]",
    ):
        MLP([4])
    with pytest.raises(
        ValueError,
        match=r"`activation` must be one of \[.*'relu'.*\]. Received: activation='swish'",
    ):
        MLP([4, 3], activation="swish")
    with pytest.raises(
        ValueError, match=r"`dropout` must be in \[0.0, 1.0\). Received: dropout=1.0"
    ):
        MLP([4, 3], dropout=1.0)
    with pytest.raises(
        TypeError,
        match=r"`optimizer` must be an nnlib.optimizers optimizer. Received: optimizer='adam'",
    ):
        net.fit(np.zeros((2, 4)), [0, 1], optimizer="adam")
    with pytest.raises(
        ValueError, match=r"`X` must contain only finite values. Received: X with 1 NaN/inf"
    ):
        net.forward(np.array([[0.0, np.nan, 0.0, 0.0]]))


def test_docstring_examples():
    import doctest

    import nnlib.numpy_net

    result = doctest.testmod(
        nnlib.numpy_net, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0


def test_fit_callback_must_take_epoch_and_logs():
    from nnlib.numpy_net import _check_callback

    with pytest.raises(
        TypeError, match=r"must accept two arguments.*Received: callback with signature \(epoch\)"
    ):
        _check_callback(lambda epoch: None)
    _check_callback(print)  # no inspectable signature: trusted


def test_three_random_streams_from_one_seed():
    """Weights, dropout masks and shuffling have separate generators (SeedSequence.spawn):
    turning dropout on changes neither the initial weights nor the order of the samples."""
    plain, dropped = MLP([4, 8, 3], seed=7), MLP([4, 8, 3], seed=7, dropout=0.5)
    for a, b in zip(plain.params, dropped.params):
        np.testing.assert_array_equal(a, b)
    # the weights come from default_rng(seed), as before the streams were separated
    np.testing.assert_array_equal(
        plain.params[0],
        __import__("nnlib.initializers").initializers.glorot_uniform(
            (4, 8), np.random.default_rng(7), "float64"
        ),
    )
    orders = []
    for net in (plain, dropped):
        net.fit(np.zeros((10, 4)), np.zeros(10, int), epochs=2, batch_size=5)
        orders.append(net.shuffle_rng.permutation(10))  # the next epoch's order
    np.testing.assert_array_equal(*orders)
    assert not np.array_equal(
        MLP([4, 8, 3], seed=7).dropout_rng.random(5), MLP([4, 8, 3], seed=7).shuffle_rng.random(5)
    )
    # a wider layer draws more initial weights, but the shuffle order stays
    np.testing.assert_array_equal(
        MLP([4, 16, 3], seed=7).shuffle_rng.permutation(10),
        MLP([4, 8, 3], seed=7).shuffle_rng.permutation(10),
    )


def test_validation_is_a_forward_pass_on_data_checked_once(monkeypatch):
    (x_train, y_train), (x_val, y_val), _ = load_digits(dtype="float64")
    net = MLP([64, 16, 10], seed=0, dropout=0.3, l2=1e-3)
    checks, backprops = [], []
    check_x, backprop = net._check_x, net._backprop
    monkeypatch.setattr(
        net, "_check_x", lambda X, name="X": checks.append(name) or check_x(X, name)
    )
    monkeypatch.setattr(
        net,
        "_backprop",
        lambda X, y, training: backprops.append(len(X)) or backprop(X, y, training),
    )
    history = net.fit(
        x_train[:100], y_train[:100], epochs=3, batch_size=50, validation_data=(x_val, y_val)
    )
    assert checks == ["x", "validation_data x"]  # once each, not per epoch
    assert backprops == [50] * 6  # only the training batches go backwards
    monkeypatch.undo()
    loss, _ = net.loss_and_grads(x_val, y_val)  # the same number the slow way
    assert history["val_loss"][-1] == loss and history["val_accuracy"][-1] == net.accuracy(
        x_val, y_val
    )


def test_nan_labels_are_reported_as_nan_with_their_place():
    net = MLP([4, 3])
    with pytest.raises(
        ValueError,
        match=r"`y` holds 1 NaN of its 3 labels \(the first is y\[1\]\): every label must "
        r"be a class index in \[0, 3\). Drop those samples or fill in their labels. "
        r"Received: y\[1\]=nan",
    ):
        net.fit(np.zeros((3, 4)), np.array([0.0, np.nan, 2.0]))
