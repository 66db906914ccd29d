"""Tests of nnlib.models: shapes, parameter counts (by hand), outputs, seeding, errors."""

import keras
import numpy as np
import pytest

from nnlib import models, repro


def test_mlp_parameter_count_by_hand_and_logits():
    model = models.mlp(64, hidden_units=(32,), num_classes=10)
    assert model.count_params() == 64 * 32 + 32 + 32 * 10 + 10  # 2410
    assert model.output_shape == (None, 10)
    assert model.layers[-1].activation.__name__ == "linear"  # logits by default
    probs = models.mlp(4, (8, 8), num_classes=3, dropout=0.5, output_activation="softmax")
    assert [type(l).__name__ for l in probs.layers] == [
        "Dense",
        "Dropout",
        "Dense",
        "Dropout",
        "Dense",
    ]
    out = probs(np.ones((2, 4), np.float32)).numpy()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    assert models.mlp(3, hidden_units=(), num_classes=1).count_params() == 4  # logistic regression


def test_cnn_shapes_and_count():
    model = models.cnn((8, 8, 1), filters=(4,), dense_units=(), num_classes=10)
    # conv: 3*3*1*4 + 4 = 40; pooled 4x4x4 = 64 -> dense 64*10 + 10 = 650
    assert model.count_params() == 40 + 650
    assert models.cnn((8, 8, 1)).output_shape == (None, 10)
    assert models.cnn((28, 28, 1), dropout=0.25, output_activation="softmax").output_shape == (
        None,
        10,
    )


@pytest.mark.parametrize(
    "cell, count",
    [("simple", 8 + 64 + 8 + 9), ("gru", 3 * (8 + 64 + 16) + 9), ("lstm", 4 * (8 + 64 + 8) + 9)],
)
def test_rnn_parameter_counts(cell, count):
    model = models.rnn((20, 1), units=8, cell=cell)
    assert model.count_params() == count
    assert model(np.zeros((3, 20, 1), np.float32)).shape == (3, 1)


def test_stacked_rnn_returns_sequences_between_layers():
    model = models.rnn((5, 2), units=(6, 4), cell="simple", num_classes=3)
    assert model.layers[0].return_sequences and not model.layers[1].return_sequences
    assert model.output_shape == (None, 3)


def test_seeded_builders_give_identical_weights():
    repro.seed_everything(7)
    a = models.cnn((8, 8, 1)).get_weights()
    repro.seed_everything(7)
    b = models.cnn((8, 8, 1)).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: models.mlp((8, 8)),
            ValueError,
            r"`input_shape` must have 1 entries .* Received: input_shape=\(8, 8\)",
        ),
        (lambda: models.mlp("64"), TypeError, r"`input_shape` must be an int or a tuple of ints"),
        (
            lambda: models.mlp(64, hidden_units=(32, 0)),
            ValueError,
            r"`hidden_units` must be an integer >= 1",
        ),
        (lambda: models.mlp(64, dropout=1.0), ValueError, r"`dropout` must be in \[0.0, 1.0\)"),
        (
            lambda: models.mlp(64, num_classes=0),
            ValueError,
            r"`num_classes` must be an integer >= 1",
        ),
        (
            lambda: models.mlp(64, output_activation="relu"),
            ValueError,
            r"`output_activation` must be one of",
        ),
        (lambda: models.cnn((8, 8)), ValueError, r"`input_shape` must have 3 entries"),
        (
            lambda: models.cnn((8, 8, 1), filters=(4, 4, 4, 4)),
            ValueError,
            r"`input_shape` is too small for 4 pooling steps",
        ),
        (
            lambda: models.cnn((8, 8, 1), kernel_size=0),
            ValueError,
            r"`kernel_size` must be an integer >= 1",
        ),
        (
            lambda: models.rnn((10, 1), cell="transformer"),
            ValueError,
            r"`cell` must be one of \['simple', 'lstm', 'gru'\]",
        ),
        (lambda: models.rnn((10,)), ValueError, r"`input_shape` must have 2 entries"),
    ],
)
def test_builder_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_checking_arguments_does_not_consume_the_seeded_random_streams():
    # Validating `kernel_initializer` builds a Keras initializer, which draws a seed from Python's
    # `random`; the builder must restore the streams, or every seeded chapter's weights would change.
    import keras

    from nnlib.repro import seed_everything

    seed_everything(0)
    built = models.mlp(4, hidden_units=(3,), num_classes=2).weights[0].numpy()
    seed_everything(0)
    plain = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)]
    )
    np.testing.assert_array_equal(built, plain.weights[0].numpy())


@pytest.mark.parametrize(
    "build",
    [
        lambda seed: models.mlp(8, hidden_units=(16, 8), num_classes=3, dropout=0.3, seed=seed),
        lambda seed: models.cnn((8, 8, 1), filters=(4,), dense_units=(8,), dropout=0.2, seed=seed),
        lambda seed: models.rnn((5, 2), units=(4, 3), cell="lstm", dropout=0.1, seed=seed),
    ],
    ids=["mlp", "cnn", "rnn"],
)
def test_seed_alone_fixes_the_weights_and_the_dropout_masks(build):
    import random

    keras.utils.set_random_seed(1)
    a = build(3)
    keras.utils.set_random_seed(2)  # another global state: the seed alone decides
    state = random.getstate()
    b = build(3)
    assert random.getstate() == state  # nothing drawn from the global generators
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    kernels = [k for k, w in enumerate(a.weights) if "kernel" in w.path]
    c = build(4)
    assert not any(np.array_equal(a.get_weights()[k], c.get_weights()[k]) for k in kernels)
    x = np.ones((4, *a.input_shape[1:]), np.float32)
    np.testing.assert_array_equal(
        a(x, training=True).numpy(), b(x, training=True).numpy()
    )  # same masks


def test_seed_none_keeps_the_global_generator():
    repro.seed_everything(5)
    a = models.mlp(4, hidden_units=(3,), num_classes=2, dropout=0.5).get_weights()
    repro.seed_everything(5)
    b = models.mlp(4, hidden_units=(3,), num_classes=2, dropout=0.5, seed=None).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    with pytest.raises(
        ValueError, match=r"`seed` must be an integer in \[0, 4294967295\]. Received: seed=-1"
    ):
        models.mlp(4, seed=-1)
