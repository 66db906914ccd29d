"""Robustness of the training layer under bad input (issue 15): every public argument, invalid values.

The same property as ``tests/test_robustness_math.py`` (a clear ``ValueError``/``TypeError`` that
names the argument and ends with ``Received: ...``) for data, models, training, callbacks, plots
and repro (the checks run before any model is trained or any file downloaded), plus the unusual
valid inputs (``np.True_``, an empty ``predict``) and the casts that must not overflow.
"""

import functools
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from _bad_input import (
    bad_array,
    bad_int,
    bad_number,
    expect_clear_error,
    not_a_bool,
    not_a_str,
    not_callable,
    not_one_of,
    not_real_array,
    ragged,
    write_count,
)
from hypothesis import given
from hypothesis import strategies as st

from nnlib import callbacks, data, models, plots, repro
from nnlib.training import Trainer

MODULE = "training"


@pytest.fixture(scope="module", autouse=True)
def _count():
    yield
    write_count(MODULE)
    plt.close("all")


rng = np.random.default_rng(0)
XD, YD = np.arange(200.0).reshape(100, 2), np.repeat([0, 1], 50)
X4, Y3 = rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 3, 32)
XY = rng.normal(size=(10, 2))
LAB = (XY[:, 0] > 0).astype(int)
DEAD = "http://127.0.0.1:9/"  # never reached: every call below fails its checks first


def clf():
    return models.mlp(4, hidden_units=(8,), num_classes=3)


def trainer(**kw):
    return Trainer(clf, keras.losses.SparseCategoricalCrossentropy(from_logits=True), "sgd", **kw)


TRAINER = trainer(metrics=["accuracy"])


def unsized():
    return st.one_of(
        st.none(),
        st.text(max_size=3),
        st.integers(),
        st.floats(),
        st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
    )


def pred(points):
    return np.stack([points[:, 0], -points[:, 0]], axis=1)


def closing(call):
    def run(value):
        try:
            return call(value)
        finally:
            plt.close("all")

    return run


bad_loader_dtype = not_one_of(["float32", "float64"])
not_a_path = st.one_of(
    st.integers(), st.floats(), st.lists(st.text(max_size=2), max_size=2), st.booleans()
)
TARGETS = [
    (
        "data.train_val_test_split x",
        lambda v: data.train_val_test_split(v, YD),
        "x",
        unsized() | ragged() | st.just(XD[:50]),
    ),
    (
        "data.train_val_test_split y",
        lambda v: data.train_val_test_split(XD, v),
        "y",
        unsized() | ragged() | st.just(YD[:3]),
    ),
    (
        "data.train_val_test_split y (cannot stratify)",
        lambda v: data.train_val_test_split(XD, v),
        "y",
        st.sampled_from([np.linspace(0, 1, 100), np.r_[np.zeros(99, int), 1], np.arange(100)]),
    ),
    (
        "data.train_val_test_split val_size",
        lambda v: data.train_val_test_split(XD, YD, val_size=v),
        "val_size",
        bad_number(0.0, 1.0, high_open=True) | st.floats(0.85, 0.99),
    ),
    (
        "data.train_val_test_split test_size",
        lambda v: data.train_val_test_split(XD, YD, test_size=v),
        "test_size",
        bad_number(0.0, 1.0, low_open=True, high_open=True),
    ),
    (
        "data.train_val_test_split seed",
        lambda v: data.train_val_test_split(XD, YD, seed=v),
        "seed",
        bad_int(0, 2**32 - 1),
    ),
    (
        "data.train_val_test_split stratify",
        lambda v: data.train_val_test_split(XD, YD, stratify=v),
        "stratify",
        not_a_bool(),
    ),
    (
        "data.train_val_test_split x (too few samples)",
        lambda v: data.train_val_test_split(XD[:v], YD[:v], stratify=False),
        "x",
        st.integers(0, 2),
    ),
    ("data.load_digits flatten", lambda v: data.load_digits(flatten=v), "flatten", not_a_bool()),
    ("data.load_digits dtype", lambda v: data.load_digits(dtype=v), "dtype", bad_loader_dtype),
    ("data.load_digits seed", lambda v: data.load_digits(seed=v), "seed", bad_int(0, 2**32 - 1)),
    (
        "data.load_breast_cancer standardize",
        lambda v: data.load_breast_cancer(standardize=v),
        "standardize",
        not_a_bool(),
    ),
    (
        "data.load_breast_cancer val_size",
        lambda v: data.load_breast_cancer(val_size=v),
        "val_size",
        bad_number(0.0, 1.0, high_open=True),
    ),
    ("data.make_moons n_samples", lambda v: data.make_moons(v), "n_samples", bad_int(10)),
    (
        "data.make_moons noise",
        lambda v: data.make_moons(100, noise=v),
        "noise",
        bad_number(0.0, None) | st.floats(1e39, 1e308),
    ),
    ("data.make_moons seed", lambda v: data.make_moons(100, seed=v), "seed", bad_int(0)),
    ("data.make_moons dtype", lambda v: data.make_moons(100, dtype=v), "dtype", bad_loader_dtype),
    (
        "data.make_spirals n_classes",
        lambda v: data.make_spirals(100, n_classes=v),
        "n_classes",
        bad_int(2),
    ),
    ("data.make_spirals n_samples", lambda v: data.make_spirals(v), "n_samples", bad_int(30)),
    (
        "data.make_spirals noise",
        lambda v: data.make_spirals(100, noise=v),
        "noise",
        bad_number(0.0, None) | st.just(1.7e308),
    ),
    (
        "data.to_dataset x",
        lambda v: data.to_dataset(v),
        "x",
        bad_array() | st.sampled_from([np.zeros((0, 2)), np.full((2, 2), 1e39), 3.0]),
    ),
    (
        "data.to_dataset y",
        lambda v: data.to_dataset(np.zeros((4, 2)), v),
        "y",
        not_real_array().filter(lambda v: v is not None)
        | st.sampled_from([np.arange(3), np.array([1e39, 0, 0, 0]), 5, np.full(4, np.nan)]),
    ),
    (
        "data.to_dataset batch_size",
        lambda v: data.to_dataset(np.zeros((4, 2)), batch_size=v),
        "batch_size",
        bad_int(1),
    ),
    (
        "data.to_dataset shuffle",
        lambda v: data.to_dataset(np.zeros((4, 2)), shuffle=v),
        "shuffle",
        not_a_bool(),
    ),
    (
        "data.to_dataset seed",
        lambda v: data.to_dataset(np.zeros((4, 2)), seed=v),
        "seed",
        bad_int(0),
    ),
    (
        "data.to_dataset drop_remainder",
        lambda v: data.to_dataset(np.zeros((4, 2)), drop_remainder=v),
        "drop_remainder",
        not_a_bool(),
    ),
    (
        "data.load_mnist cache_dir",
        lambda v: data.load_mnist(origin=DEAD, cache_dir=v),
        "cache_dir",
        not_a_path,
    ),
    (
        "data.load_mnist origin",
        lambda v: data.load_mnist(origin=v, cache_dir="/nonexistent"),
        "origin",
        not_a_str().filter(lambda v: v is not None),
    ),
    (
        "data.load_mnist val_size",
        lambda v: data.load_mnist(val_size=v, origin=DEAD),
        "val_size",
        bad_number(0.0, 1.0, high_open=True),
    ),
    (
        "data.load_fashion_mnist cache_dir",
        lambda v: data.load_fashion_mnist(origin=DEAD, cache_dir=v),
        "cache_dir",
        not_a_path,
    ),
    (
        "data.load_fashion_mnist origin",
        lambda v: data.load_fashion_mnist(origin=v),
        "origin",
        not_a_str().filter(lambda v: v is not None),
    ),
    (
        "data.load_fashion_mnist flatten",
        lambda v: data.load_fashion_mnist(flatten=v, origin=DEAD),
        "flatten",
        not_a_bool(),
    ),
]

bad_activation = st.sampled_from(["nonsense", "Relu", 5, ["relu"], 2.5, {"a": 1}])
TARGETS += [
    (
        "models.mlp input_shape",
        lambda v: models.mlp(v),
        "input_shape",
        st.one_of(
            st.integers(max_value=0),
            st.text(max_size=2),
            st.none(),
            st.floats(),
            st.just((8, 8)),
            st.just((0,)),
        ),
    ),
    (
        "models.mlp hidden_units",
        lambda v: models.mlp(4, hidden_units=v),
        "hidden_units",
        st.one_of(
            st.integers(max_value=0),
            st.text(max_size=2),
            st.none(),
            st.lists(st.integers(max_value=0), min_size=1, max_size=2),
            st.lists(st.floats(1, 4), min_size=1, max_size=2),
        ),
    ),
    ("models.mlp num_classes", lambda v: models.mlp(4, num_classes=v), "num_classes", bad_int(1)),
    ("models.mlp activation", lambda v: models.mlp(4, activation=v), "activation", bad_activation),
    (
        "models.mlp dropout",
        lambda v: models.mlp(4, dropout=v),
        "dropout",
        bad_number(0.0, 1.0, high_open=True),
    ),
    (
        "models.mlp output_activation",
        lambda v: models.mlp(4, output_activation=v),
        "output_activation",
        not_one_of(["softmax", "sigmoid", "linear"]).filter(lambda v: v is not None),
    ),
    (
        "models.mlp kernel_initializer",
        lambda v: models.mlp(4, kernel_initializer=v),
        "kernel_initializer",
        st.sampled_from(["nonsense", 5, ["glorot_uniform"], 1.5]),
    ),
    (
        "models.cnn input_shape",
        lambda v: models.cnn(v),
        "input_shape",
        st.one_of(
            st.integers(),
            st.just((8, 8)),
            st.just((2, 2, 1)),
            st.just((8, 0, 1)),
            st.text(max_size=2),
        ),
    ),
    (
        "models.cnn activation",
        lambda v: models.cnn((8, 8, 1), activation=v),
        "activation",
        bad_activation,
    ),
    (
        "models.cnn kernel_size",
        lambda v: models.cnn((8, 8, 1), kernel_size=v),
        "kernel_size",
        bad_int(1),
    ),
    (
        "models.rnn cell",
        lambda v: models.rnn((10, 1), cell=v),
        "cell",
        not_one_of(["simple", "lstm", "gru"]),
    ),
    (
        "models.rnn units",
        lambda v: models.rnn((10, 1), units=v),
        "units",
        st.one_of(st.integers(max_value=0), st.none(), st.text(max_size=2)),
    ),
]

bad_pair_data = st.one_of(
    st.just(([[1.0, 2.0, 3.0, 4.0], [1.0]], Y3[:2])),
    st.just((np.full((4, 4), np.nan), Y3[:4])),
    st.just((np.full((4, 4), 1e39), Y3[:4])),
    st.just((X4, Y3 + 3)),
    st.just((X4, np.eye(3)[Y3])),
    st.just((X4, Y3[:5])),
    st.just((X4[:, :3], Y3)),
    st.just((X4, np.where(Y3 == 0, np.nan, 1.0))),
    st.just((X4 * 1j, Y3)),
    st.sampled_from([X4, None, "abc", 5, (X4,), (X4, Y3, Y3)]),
)
TARGETS += [
    (
        "training.Trainer model",
        lambda v: Trainer(v, "mse", "sgd"),
        "model",
        st.one_of(
            st.integers(),
            st.text(max_size=3),
            st.none(),
            st.just(keras.Sequential([keras.layers.Dense(1)])),
        ),
    ),
    (
        "training.Trainer loss",
        lambda v: Trainer(clf, v, "sgd"),
        "loss",
        st.sampled_from(["nonsense", 3, None, ["mse"], 2.5]),
    ),
    (
        "training.Trainer optimizer",
        lambda v: Trainer(clf, "mse", v),
        "optimizer",
        st.sampled_from(["nonsense", 5, None, ["sgd"], 0.1]),
    ),
    (
        "training.Trainer metrics",
        lambda v: Trainer(clf, "mse", "sgd", metrics=v),
        "metrics",
        st.sampled_from(["accuracy", 5, ["nonsense"], [5], [None], ("mae", 3)]),
    ),
    (
        "training.Trainer callbacks",
        lambda v: Trainer(clf, "mse", "sgd", callbacks=v),
        "callbacks",
        st.sampled_from([5, "abc", [5], [None], ["early"], (keras.callbacks.History(), 3)]),
    ),
    (
        "training.Trainer callbacks (EarlyStopping)",
        lambda v: Trainer(clf, "mse", "sgd", callbacks=[keras.callbacks.EarlyStopping(patience=v)]),
        "patience",
        st.sampled_from(["a", -1, 1.5, None]),
    ),
    (
        "training.Trainer strategy",
        lambda v: Trainer(clf, "mse", "sgd", strategy=v),
        "strategy",
        st.sampled_from(["mirrored", 5, object()]),
    ),
    ("training.Trainer.fit train", lambda v: TRAINER.fit(v), "train", bad_pair_data),
    (
        "training.Trainer.fit validation_data",
        lambda v: TRAINER.fit((X4, Y3), validation_data=v),
        "validation_data",
        bad_pair_data.filter(lambda v: v is not None),
    ),
    (
        "training.Trainer.fit epochs",
        lambda v: TRAINER.fit((X4, Y3), epochs=v),
        "epochs",
        bad_int(1),
    ),
    (
        "training.Trainer.fit verbose",
        lambda v: TRAINER.fit((X4, Y3), verbose=v),
        "verbose",
        bad_int(0),
    ),
    (
        "training.Trainer.fit batch_size",
        lambda v: TRAINER.fit(data.to_dataset(X4, Y3), batch_size=v),
        "batch_size",
        bad_int(1),
    ),
    (
        "training.Trainer.fit shuffle",
        lambda v: TRAINER.fit((X4, Y3), shuffle=v),
        "shuffle",
        not_a_bool(),
    ),
    ("training.Trainer.fit seed", lambda v: TRAINER.fit((X4, Y3), seed=v), "seed", bad_int(0)),
    (
        "training.Trainer.fit record_grad_norms",
        lambda v: TRAINER.fit((X4, Y3), record_grad_norms=v),
        "record_grad_norms",
        not_a_bool(),
    ),
    (
        "training.Trainer.fit check_numerics",
        lambda v: TRAINER.fit((X4, Y3), check_numerics=v),
        "check_numerics",
        not_a_bool(),
    ),
    ("training.Trainer.evaluate data", lambda v: TRAINER.evaluate(v), "data", bad_pair_data),
    (
        "training.Trainer.evaluate batch_size",
        lambda v: TRAINER.evaluate((X4, Y3), batch_size=v),
        "batch_size",
        bad_int(1),
    ),
    (
        "training.Trainer.predict x",
        lambda v: TRAINER.predict(v),
        "x",
        bad_array() | st.sampled_from([X4[:, :3], np.full((2, 4), 1e39), X4[0]]),
    ),
    (
        "training.Trainer.predict batch_size",
        lambda v: TRAINER.predict(X4, batch_size=v),
        "batch_size",
        bad_int(1),
    ),
    (
        "callbacks.ProgressBar verbose",
        lambda v: callbacks.ProgressBar(verbose=v),
        "verbose",
        bad_int(0),
    ),
    (
        "callbacks.ProgressBar file",
        lambda v: callbacks.ProgressBar(file=v),
        "file",
        st.one_of(st.integers(), st.text(max_size=2), st.floats()),
    ),
    (
        "callbacks.ResumableCheckpoint directory",
        lambda v: callbacks.ResumableCheckpoint(v),
        "directory",
        st.one_of(
            st.integers(), st.none(), st.lists(st.text(max_size=2), max_size=2), st.just(os.devnull)
        ),
    ),
    (
        "callbacks.ResumableCheckpoint max_to_keep",
        lambda v: callbacks.ResumableCheckpoint("ckpt", max_to_keep=v),
        "max_to_keep",
        bad_int(1),
    ),
    (
        "callbacks.ResumableCheckpoint every_n_epochs",
        lambda v: callbacks.ResumableCheckpoint("ckpt", every_n_epochs=v),
        "every_n_epochs",
        bad_int(1),
    ),
    (
        "repro.seed_everything seed",
        lambda v: repro.seed_everything(v),
        "seed",
        bad_int(0, 2**32 - 1),
    ),
]

bad_range = st.one_of(
    st.text(max_size=2),
    st.integers(),
    st.none(),
    st.just((1,)),
    st.just((0, 1, 5)),
    st.just((0, 0)),
    st.just((1, 0)),
    st.just((np.nan, 1)),
    st.just((0, np.inf)),
    st.just((-1e308, 1e308)),
)
bad_labels = st.one_of(
    st.none(),
    st.just(np.array(["a"] * 10)),
    st.just(LAB + 0.7),
    st.just(LAB - 1),
    st.just(np.where(LAB == 0, np.nan, 1.0)),
    st.just(LAB[:5]),
    st.just(LAB * 10**6),
)
TARGETS += [
    (name, closing(call), arg, values)
    for name, call, arg, values in [
        (
            "plots.plot_history history",
            lambda v: plots.plot_history(v),
            "history",
            st.one_of(
                st.integers(),
                st.lists(st.integers(), max_size=2),
                st.just({"loss": 5}),
                st.just({"loss": ["a", "b"]}),
                st.just({"loss": [[1, 2], [3]]}),
                st.just({"loss": [1, 2], "val_loss": [1, 2, 3]}),
                st.just({"loss": [np.nan, 1j]}),
            ),
        ),
        (
            "plots.plot_history metrics",
            lambda v: plots.plot_history({"loss": [1.0, 0.5]}, metrics=v),
            "metrics",
            st.one_of(st.integers(), st.text(max_size=3), st.just(["accuracy"]), st.just([])),
        ),
        (
            "plots.plot_decision_boundary predict",
            lambda v: plots.plot_decision_boundary(v, XY, LAB),
            "predict",
            not_callable()
            | st.sampled_from(
                [
                    lambda p: np.zeros(3),
                    lambda p: None,
                    lambda p: np.full(len(p), "a"),
                    lambda p: np.zeros((len(p), 2, 2)),
                    lambda p: np.full(len(p), np.nan),
                ]
            ),
        ),
        (
            "plots.plot_decision_boundary x",
            lambda v: plots.plot_decision_boundary(pred, v, LAB),
            "x",
            bad_array()
            | st.sampled_from([XY[:, :1], np.full((10, 2), np.nan), np.full((10, 2), np.inf)]),
        ),
        (
            "plots.plot_decision_boundary y",
            lambda v: plots.plot_decision_boundary(pred, XY, v),
            "y",
            bad_labels,
        ),
        (
            "plots.plot_decision_boundary resolution",
            lambda v: plots.plot_decision_boundary(pred, XY, LAB, resolution=v),
            "resolution",
            bad_int(10),
        ),
        (
            "plots.plot_function_and_grad f",
            lambda v: plots.plot_function_and_grad(v),
            "f",
            not_callable()
            | st.sampled_from([lambda z: np.zeros(3), lambda z: "a", lambda z: None]),
        ),
        (
            "plots.plot_function_and_grad grad_f",
            lambda v: plots.plot_function_and_grad(np.tanh, grad_f=v),
            "grad_f",
            not_callable().filter(lambda v: v is not None)
            | st.sampled_from([lambda z: "a", lambda z: np.zeros(2)]),
        ),
        (
            "plots.plot_function_and_grad x_range",
            lambda v: plots.plot_function_and_grad(np.tanh, x_range=v),
            "x_range",
            bad_range,
        ),
        (
            "plots.plot_function_and_grad num",
            lambda v: plots.plot_function_and_grad(np.tanh, num=v),
            "num",
            bad_int(2),
        ),
        (
            "plots.plot_loss_surface loss_fn",
            lambda v: plots.plot_loss_surface(v, resolution=10),
            "loss_fn",
            not_callable()
            | st.sampled_from(
                [lambda a: a, lambda a, b: "a", lambda a, b: a * np.nan, lambda a, b: 1.0]
            ),
        ),
        (
            "plots.plot_loss_surface x_range",
            lambda v: plots.plot_loss_surface(np.hypot, x_range=v, resolution=10),
            "x_range",
            bad_range,
        ),
        (
            "plots.plot_loss_surface y_range",
            lambda v: plots.plot_loss_surface(np.hypot, y_range=v, resolution=10),
            "y_range",
            bad_range,
        ),
        (
            "plots.plot_loss_surface trajectories",
            lambda v: plots.plot_loss_surface(np.hypot, trajectories=v, resolution=10),
            "trajectories",
            st.sampled_from(
                [
                    [np.zeros((3, 2))],
                    {"a": "xyz"},
                    {"a": np.zeros((0, 2))},
                    {"a": [1, 2, 3]},
                    {"a": [[0, 1j]]},
                    5,
                ]
            ),
        ),
        (
            "plots.plot_loss_surface levels",
            lambda v: plots.plot_loss_surface(np.hypot, levels=v, resolution=10),
            "levels",
            bad_int(1).filter(
                lambda v: (
                    not (
                        isinstance(v, list) and len(v) >= 2 and all(a < b for a, b in zip(v, v[1:]))
                    )
                )
            )
            | st.sampled_from([[1.0, 0.5], [1.0], [np.nan, 1.0], [[0.0, 1.0]], ["a", "b"]]),
        ),
        (
            "plots.plot_loss_surface log_scale",
            lambda v: plots.plot_loss_surface(np.hypot, log_scale=v, resolution=10),
            "log_scale",
            not_a_bool(),
        ),
        (
            "plots.plot_loss_surface resolution",
            lambda v: plots.plot_loss_surface(np.hypot, resolution=v),
            "resolution",
            bad_int(10),
        ),
        (
            "plots.show_images images",
            lambda v: plots.show_images(v),
            "images",
            bad_array()
            | st.sampled_from(
                [
                    np.zeros((2, 8, 8, 2)),
                    np.zeros((0, 8, 8)),
                    np.zeros((0, 64)),
                    np.zeros((2, 10)),
                    np.zeros(5),
                ]
            ),
        ),
        (
            "plots.show_images labels",
            lambda v: plots.show_images(np.zeros((2, 8, 8)), labels=v, class_names=["a", "b"]),
            "labels",
            st.sampled_from([5, [0, 5], [-1, 0], [0.7, 1.2], [0], "ab", [None, 0]]),
        ),
        (
            "plots.show_images class_names",
            lambda v: plots.show_images(np.zeros((2, 8, 8)), labels=[0, 1], class_names=v),
            "class_names",
            st.one_of(st.integers(), st.text(min_size=1, max_size=2), st.just(["a"])),
        ),
        (
            "plots.show_images ncols",
            lambda v: plots.show_images(np.zeros((2, 8, 8)), ncols=v),
            "ncols",
            bad_int(1),
        ),
        (
            "plots.show_images cmap",
            lambda v: plots.show_images(np.zeros((2, 8, 8)), cmap=v),
            "cmap",
            st.sampled_from(["nonsense", 5, ["gray"], "Gray_R"]),
        ),
        (
            "plots.plot_confusion_matrix y_true",
            lambda v: plots.plot_confusion_matrix(v, [0, 1]),
            "y_true",
            st.sampled_from(
                [None, ["a", "b"], [0.7, 1.6], [0, 10**6], [-1, 0], [0], [], [[0, 1], [1]]]
            ),
        ),
        (
            "plots.plot_confusion_matrix y_pred",
            lambda v: plots.plot_confusion_matrix([0, 1], v),
            "y_pred",
            st.sampled_from([None, ["a", "b"], [0.5, 1.0], [0, 10**6], [-1, 0], [np.nan, 0]]),
        ),
        (
            "plots.plot_confusion_matrix class_names",
            lambda v: plots.plot_confusion_matrix([0, 1], [0, 1], class_names=v),
            "class_names",
            st.one_of(st.integers(), st.just("ab"), st.floats()),
        ),
        (
            "plots.plot_confusion_matrix normalize",
            lambda v: plots.plot_confusion_matrix([0, 1], [0, 1], normalize=v),
            "normalize",
            not_a_bool(),
        ),
    ]
]


@pytest.mark.parametrize(
    "call, name, values", [t[1:] for t in TARGETS], ids=[t[0] for t in TARGETS]
)
@given(data=st.data())
def test_invalid_value_gets_a_clear_error(call, name, values, data):
    value = data.draw(values, label=name)
    expect_clear_error(lambda: call(value), name, MODULE)


# ============================================================================= valid, unusual input


def test_numpy_bools_are_bools():
    assert data.load_digits(flatten=np.False_).train[0].shape[1:] == (8, 8, 1)
    assert data.load_breast_cancer(standardize=np.True_).train[0].shape[1] == 30
    assert len(data.train_val_test_split(XD, YD, stratify=np.True_).test[0]) == 15
    assert [
        b[0].shape[0]
        for b in data.to_dataset(
            np.zeros((5, 2)), shuffle=np.True_, drop_remainder=np.True_, batch_size=2
        )
    ] == [2, 2]
    history = trainer().fit(
        (X4, Y3), shuffle=np.False_, record_grad_norms=np.True_, check_numerics=np.False_
    )
    assert any(k.startswith("grad_norm/") for k in history.history)


def test_predict_on_no_samples_gives_no_outputs():
    assert TRAINER.predict(X4[:0]).shape == (0, 3)


def test_metrics_and_callbacks_none_mean_none():
    t = Trainer(clf, "mse", "sgd", metrics=None, callbacks=None)
    assert t.metrics == [] and t.callbacks == []


def test_labels_are_checked_against_the_loss_kind_with_a_fix():
    with pytest.raises(ValueError, match=r"one-hot labels\?.*Pass np.argmax\(train y, axis=-1\)"):
        trainer().fit((X4, np.eye(3)[Y3]))
    categorical = Trainer(clf, keras.losses.CategoricalCrossentropy(from_logits=True), "sgd")
    with pytest.raises(ValueError, match=r"keras.utils.to_categorical\(train y, 3\)"):
        categorical.fit((X4, Y3))
    binary = Trainer(
        models.mlp(4, (8,), num_classes=1), keras.losses.BinaryCrossentropy(from_logits=True), "sgd"
    )
    with pytest.raises(
        ValueError,
        match=r"`train y` must hold binary targets in \[0, 1\]. Received: train y with min=0, max=2",
    ):
        binary.fit((X4, (X4[:, :1] > 0).astype(int) * 2))
    categorical.fit((X4, np.eye(3)[Y3]))  # the right labels train


def test_casts_to_float32_are_checked_after_the_cast():
    x = X4.astype(np.float64)
    x[3, 1] = 1e300
    with pytest.raises(
        ValueError, match=r"`train x` must fit in float32 .* Received: train x\[3, 1\]=1e\+300"
    ):
        trainer().fit((x, Y3))
    with pytest.raises(ValueError, match=r"`x` must fit in float32 .* Received: x\[3, 1\]=1e\+300"):
        TRAINER.predict(x)
    with pytest.raises(
        ValueError, match=r"`noise` is too large: the generated points overflow float32"
    ):
        data.make_moons(200, noise=1e300)


def test_check_numerics_stops_before_the_first_bad_batch_and_says_which():
    x = X4.copy()
    x[10, 0] = np.nan  # batch 1 of 8-sample batches
    ds = tf.data.Dataset.from_tensor_slices((x, Y3)).batch(8)
    t = trainer()
    before = [w.copy() for w in t.model.get_weights()]
    with pytest.raises(
        ValueError, match=r"batch 1 of epoch 0 has NaN/inf in `train x` \(check_numerics=True\)"
    ):
        t.fit(ds, epochs=2, check_numerics=True)
    assert int(t.optimizer.iterations.numpy()) == 1  # batch 0 was trained on, batch 1 was not
    after = t.model.get_weights()
    assert all(np.isfinite(w).all() for w in after) and not all(
        np.array_equal(a, b) for a, b in zip(before, after)
    )
    ys = np.where(
        np.arange(32) == 20, np.nan, X4[:, 0]
    )  # a regression target with a NaN in batch 2
    regression = Trainer(models.mlp(4, (8,), num_classes=1), "mse", "sgd")
    with pytest.raises(ValueError, match=r"batch 2 of epoch 0 has NaN/inf in `train y`"):
        regression.fit(
            tf.data.Dataset.from_tensor_slices((X4, ys[:, None])).batch(8), check_numerics=True
        )


def test_learner_mistakes_get_a_message_with_the_fix():
    """Issue 14: one-hot labels with a sparse loss (also inside a dataset, and a partial of the sparse
    function), NaN labels named as NaN with their place."""
    one_hot = np.eye(3)[Y3]
    partial_sparse = functools.partial(
        keras.losses.sparse_categorical_crossentropy, from_logits=True
    )
    for t, train in [
        (trainer(), tf.data.Dataset.from_tensor_slices((X4, one_hot)).batch(8)),
        (Trainer(clf, partial_sparse, "sgd"), (X4, one_hot)),
    ]:
        with pytest.raises(
            ValueError,
            match=r"`train y` holds rows of length 3 \(one-hot labels\?\), but the loss is "
            r"sparse.*Pass np.argmax\(train y, axis=-1\), or use keras.losses.CategoricalCrossentropy",
        ):
            t.fit(train)
    labels = Y3.astype(float)
    labels[[5, 9]] = np.nan
    with pytest.raises(
        ValueError,
        match=r"`train y` holds 2 NaN of its 32 labels \(the first is train y\[5\]\): every "
        r"label must be a class index in \[0, 3\)\. .* Received: train y\[5\]=nan",
    ):
        trainer().fit((X4, labels))
    regression = Trainer(models.mlp(4, (8,), num_classes=1), "mse", "sgd")
    with pytest.raises(
        ValueError,
        match=r"`train y` must contain only finite values. Received: train y with 1 NaN/inf "
        r"value\(s\) out of 32 \(1 inf; the first is train y\[4, 0\]=inf\)",
    ):
        regression.fit((X4, np.where(np.arange(32) == 4, np.inf, 0.0)[:, None]))


TARGETS_NEW = [
    (
        "training.Trainer jit_compile",
        lambda v: Trainer(clf, "mse", "sgd", jit_compile=v),
        "jit_compile",
        not_a_bool(),
    ),
    (
        "training.Trainer mixed_precision",
        lambda v: Trainer(clf, "mse", "sgd", mixed_precision=v),
        "mixed_precision",
        not_one_of(["float32", "mixed_float16", "mixed_bfloat16"]).filter(lambda v: v is not None),
    ),
    (
        "training.Trainer.fit seed (with a dataset)",
        lambda v: TRAINER.fit(data.to_dataset(X4, Y3), seed=v),
        "seed",
        st.integers(0, 2**31),
    ),
    (
        "models.mlp seed",
        lambda v: models.mlp(4, seed=v),
        "seed",
        bad_int(0, 2**32 - 1).filter(lambda v: v is not None),
    ),
    (
        "models.rnn seed",
        lambda v: models.rnn((10, 1), seed=v),
        "seed",
        bad_int(0, 2**32 - 1).filter(lambda v: v is not None),
    ),
]


@pytest.mark.parametrize(
    "call, name, values", [t[1:] for t in TARGETS_NEW], ids=[t[0] for t in TARGETS_NEW]
)
@given(data=st.data())
def test_new_arguments_get_a_clear_error(call, name, values, data):
    expect_clear_error(lambda: call(data.draw(values, label=name)), name, MODULE)
