"""Tests of nnlib.training.Trainer: a hand-computed step, determinism, accuracy floors,
distribution (subprocess with two logical CPUs) and every input-validation message."""
import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from nnlib import data, models, repro
from nnlib.training import Trainer

WORKER = os.path.join(os.path.dirname(__file__), "_training_worker.py")
SCCE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _linear():
    return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros", name="dense")])


def test_one_sgd_step_by_hand():
    # w = b = 0, x = (1, 2), y = (1, 2): L = mean(y^2) = 2.5,
    # dL/dw = -2 mean(x y) = -5, dL/db = -2 mean(y) = -3  ->  w = 0.5, b = 0.3 with eta = 0.1.
    model = _linear()
    trainer = Trainer(model, "mean_squared_error", keras.optimizers.SGD(0.1))
    x, y = np.array([[1.0], [2.0]]), np.array([[1.0], [2.0]])
    history = trainer.fit((x, y), epochs=1, batch_size=2, record_grad_norms=True)
    assert history.history["loss"] == [pytest.approx(2.5)]
    assert history.history["grad_norm/dense"] == [pytest.approx(math.sqrt(34.0), rel=1e-6)]
    w, b = model.get_weights()
    assert w[0, 0] == pytest.approx(0.5) and b[0] == pytest.approx(0.3)
    # evaluate / predict on the updated model: predictions 0.8 and 1.3, loss (0.04 + 0.49) / 2.
    np.testing.assert_allclose(trainer.predict(x).ravel(), [0.8, 1.3], rtol=1e-6)
    assert trainer.evaluate((x, y))["loss"] == pytest.approx(0.265, rel=1e-6)


def _digits_run(seed=0, epochs=3):
    repro.seed_everything(seed)
    (x, y), (x_val, y_val), _ = data.load_digits()
    model = models.mlp(64, hidden_units=(32,), dropout=0.2)
    trainer = Trainer(model, SCCE, keras.optimizers.Adam(1e-2), metrics=["accuracy"])
    history = trainer.fit(
        data.to_dataset(x, y, 64, shuffle=True, seed=seed), validation_data=(x_val, y_val), epochs=epochs
    )
    return history, model, trainer


def test_same_seed_gives_identical_histories_and_weights():
    h1, m1, trainer = _digits_run()
    h2, m2, _ = _digits_run()
    assert set(h1.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h1.history == h2.history
    assert all(np.array_equal(a, b) for a, b in zip(m1.get_weights(), m2.get_weights()))
    # Keras's own names and semantics: accuracy is the fraction of correct argmax predictions.
    (x_val, y_val) = data.load_digits().val
    logits = trainer.predict(x_val)
    assert logits.shape == (270, 10)
    assert trainer.evaluate((x_val, y_val))["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y_val))


def _floor_run(flat, build, optimizer, epochs):
    (x, y), (x_val, y_val), (x_test, y_test) = data.load_digits(flatten=flat)
    x, y = np.concatenate([x, x_val]), np.concatenate([y, y_val])  # hyper-parameters fixed: use all
    repro.seed_everything(0)
    trainer = Trainer(build(), SCCE, optimizer, metrics=["accuracy"])
    trainer.fit(data.to_dataset(x, y, 64, shuffle=True, seed=0), epochs=epochs)
    return trainer.evaluate((x_test, y_test))["accuracy"]


def test_digits_mlp_reaches_97_percent_test_accuracy():
    steps = 15 * math.ceil(1527 / 64)
    accuracy = _floor_run(
        True,
        lambda: models.mlp(64, hidden_units=(256,)),
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-2, steps)),
        15,
    )
    assert accuracy >= 0.97


def test_digits_cnn_reaches_98_percent_test_accuracy():
    accuracy = _floor_run(
        False,
        lambda: models.cnn((8, 8, 1), filters=(16, 32), dense_units=(128,), dropout=0.3),
        keras.optimizers.Adam(2e-3),
        25,
    )
    assert accuracy >= 0.98


def test_mirrored_strategy_on_two_cpus_matches_one_device(tmp_path):
    out = tmp_path / "dist.json"
    proc = subprocess.run([sys.executable, WORKER, "distribute", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    one, two = result["one_device"], result["mirrored"]
    assert result["one_device_replicas"] == 1 and result["mirrored_replicas"] == 2
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(two[key], one[key], rtol=0, atol=1e-5, err_msg=key)
    norms_one = [v for k, v in sorted(one.items()) if k.startswith("grad_norm/")]
    norms_two = [v for k, v in sorted(two.items()) if k.startswith("grad_norm/")]
    assert len(norms_one) == 2
    np.testing.assert_allclose(norms_two, norms_one, rtol=1e-5)
    assert one["loss"][-1] < 0.5 * one["loss"][0]  # and it learned something


# ----------------------------------------------------------------------------- validation


@pytest.fixture(scope="module")
def digits_trainer():
    return Trainer(models.mlp(64, hidden_units=(8,)), SCCE, "sgd", metrics=["accuracy"])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(train=(np.zeros((5, 64)), np.zeros(4, int))), ValueError,
         r"`train x` and `train y` must have the same number of samples. Received: len\(train x\)=5, len\(train y\)=4"),
        (dict(train=(np.zeros((4, 64)), np.array([0, 1, 2, 10]))), ValueError,
         r"`train y` must hold labels in \[0, 10\). Received: train y with min=0, max=10"),
        (dict(train=(np.full((2, 64), np.nan), np.zeros(2, int))), ValueError,
         r"`train x` must contain only finite values. Received: train x with 128 NaN/inf"),
        (dict(train=(np.zeros((4, 63)), np.zeros(4, int))), ValueError,
         r"`train x` must have shape \(batch, 64\) to match the model's input. Received: train x.shape=\(4, 63\)"),
        (dict(train=data.to_dataset(np.zeros((4, 8, 8)), np.zeros(4, int))), ValueError,
         r"`train x` must have shape \(batch, 64\) .* Received: train x.shape=\(None, 8, 8\)"),
        (dict(train=(np.zeros((4, 64)), np.zeros(4, int)), validation_data=(np.zeros((4, 64)), -np.ones(4, int))),
         ValueError, r"`validation_data y` must hold labels in \[0, 10\)"),
        (dict(train=(np.zeros((4, 64)), np.zeros(4, int)), epochs=0), ValueError, r"`epochs` must be an integer >= 1. Received: epochs=0"),
        (dict(train=np.zeros((4, 64))), TypeError, r"`train` must be a tf.data.Dataset of \(x, y\) batches or an \(x, y\) pair"),
        (dict(train=data.to_dataset(np.zeros((4, 64)))), TypeError, r"`train` must be a tf.data.Dataset of \(x, y\) batches. Received: train.element_spec="),
        (dict(train=(np.zeros((4, 64)), np.zeros(4, int)), record_grad_norms="yes"), TypeError, r"`record_grad_norms` must be a bool"),
    ],
)
def test_fit_rejects_bad_input_before_any_step(digits_trainer, kwargs, exc, match):
    before = [w.copy() for w in digits_trainer.model.get_weights()]
    with pytest.raises(exc, match=match):
        digits_trainer.fit(**kwargs)
    assert all(np.array_equal(a, b) for a, b in zip(before, digits_trainer.model.get_weights()))
    assert int(digits_trainer.optimizer.iterations.numpy()) == 0


def test_dataset_labels_are_checked_on_the_first_batch(digits_trainer):
    bad = tf.data.Dataset.from_tensor_slices((np.zeros((4, 64), np.float32), np.array([0, 12, 1, 3]))).batch(2)
    with pytest.raises(ValueError, match=r"`train y` must hold labels in \[0, 10\). Received: train y with min=0, max=12"):
        digits_trainer.fit(bad)


def test_binary_targets_and_regression_targets_are_checked():
    trainer = Trainer(models.mlp(2, (4,), num_classes=1), keras.losses.BinaryCrossentropy(from_logits=True), "adam", ["accuracy"])
    assert trainer.metrics[0].get_config()["threshold"] == 0.0  # logits: z > 0 <=> p > 0.5
    with pytest.raises(ValueError, match=r"`train y` must hold binary targets in \[0, 1\]. Received: train y with min=0.0, max=2.0"):
        trainer.fit((np.zeros((2, 2)), np.array([[0.0], [2.0]])))
    regression = Trainer(_linear(), "mse", "sgd")
    with pytest.raises(ValueError, match=r"`train y` must contain only finite values"):
        regression.fit((np.zeros((2, 1)), np.array([[0.0], [np.inf]])))


def test_constructor_errors():
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model \(or a function that builds one\)"):
        Trainer("mlp", "mse", "sgd")
    with pytest.raises(ValueError, match=r"`model` must be built \(give it a keras.Input\)"):
        Trainer(keras.Sequential([keras.layers.Dense(1)]), "mse", "sgd")
    with pytest.raises(TypeError, match=r"`strategy` must be a tf.distribute.Strategy"):
        Trainer(_linear(), "mse", "sgd", strategy="mirrored")
    with pytest.raises(TypeError, match=r"`loss` must be a Keras loss name, a keras.losses.Loss or a function"):
        Trainer(_linear(), 3, "sgd")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with pytest.raises(ValueError, match=r"`model` must be created under `strategy.scope\(\)`"):
        Trainer(_linear(), "mse", "sgd", strategy=strategy)
    trainer = Trainer(_linear, "mse", keras.optimizers.SGD(0.1), strategy=strategy)  # a builder is fine
    assert trainer.fit((np.ones((2, 1)), np.ones((2, 1))), epochs=2).history["loss"][0] == pytest.approx(1.0)
