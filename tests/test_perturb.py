"""nnlib.perturb: the portability matrix's one-ulp perturbation mode, and where nnlib applies it."""

from __future__ import annotations

import numpy as np
import pytest

from nnlib import perturb
from nnlib.data import load_breast_cancer, load_digits, train_val_test_split
from nnlib.numpy_net import MLP


def test_off_by_default_returns_the_same_object(monkeypatch):
    monkeypatch.delenv(perturb.ENV_VAR, raising=False)
    x = np.linspace(-1, 1, 7, dtype=np.float32)
    assert perturb.nudge(x) is x
    monkeypatch.setenv(perturb.ENV_VAR, "0")
    assert not perturb.enabled() and perturb.nudge(x) is x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_inexact_value_moves_by_one_ulp(monkeypatch, dtype):
    monkeypatch.setenv(perturb.ENV_VAR, "1")
    x = np.array([0.1, -2.7, 1e-3, 1 / 3, 3.3e5, -7e-9] * 50, dtype=dtype)
    y = perturb.nudge(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    ulp = np.spacing(np.abs(x))
    step = np.abs(y - x)
    # one ulp, measured at x or (for a step down across a power of two) at the smaller neighbour
    assert np.all((step == ulp) | (step == ulp / 2))
    assert (y > x).any() and (y < x).any()  # both directions
    assert np.array_equal(perturb.nudge(x), y)  # deterministic


def test_values_exact_on_every_cpu_stay(monkeypatch):
    # zeros, and numbers of few significant bits (the digits' grey levels k / 16) are the same anywhere
    monkeypatch.setenv(perturb.ENV_VAR, "1")
    x = np.array([0.0, 1.0, -2.5, 3 * 2.0**20, 5 / 16, 1 / 8192, 4095, -0.0], dtype=np.float32)
    assert np.array_equal(perturb.nudge(x), x)
    assert perturb.nudge(np.float32([4097 / 8192]))[0] != np.float32(4097 / 8192)  # 13 bits: nudged


def test_integers_and_other_objects_pass_through(monkeypatch):
    monkeypatch.setenv(perturb.ENV_VAR, "1")
    labels = np.arange(5)
    assert perturb.nudge(labels) is labels
    assert perturb.nudge([1.0, 2.0]) == [1.0, 2.0]


def test_data_and_initial_weights_are_perturbed_only_in_the_mode(monkeypatch):
    monkeypatch.delenv(perturb.ENV_VAR, raising=False)
    (x0, y0), _, _ = load_breast_cancer()
    (d0, _), _, _ = load_digits()
    w0 = MLP([64, 8, 10], seed=0).params
    monkeypatch.setenv(perturb.ENV_VAR, "1")
    (x1, y1), _, _ = load_breast_cancer()
    (d1, _), _, _ = load_digits()
    w1 = MLP([64, 8, 10], seed=0).params
    assert np.array_equal(y0, y1)
    changed = x0 != x1
    assert changed.mean() > 0.99 and np.allclose(x0, x1, rtol=2e-7, atol=0)
    assert np.array_equal(d0, d1)  # the digits' grey levels k / 16 are exact on every CPU
    assert not np.array_equal(w0[0], w1[0]) and np.allclose(w0[0], w1[0], rtol=1e-6, atol=0)
    assert np.array_equal(w0[1], w1[1])  # zero biases stay zero


def test_split_of_user_arrays_is_perturbed_too(monkeypatch):
    monkeypatch.setenv(perturb.ENV_VAR, "1")
    x = np.full((20, 2), 0.1)
    (x_tr, _), _, _ = train_val_test_split(x, np.arange(20) % 2, val_size=0.0, test_size=0.5)
    assert not np.any(x_tr == 0.1) and np.allclose(x_tr, 0.1, rtol=1e-15, atol=0)


def test_keras_builders_nudge_their_initial_weights(monkeypatch):
    from nnlib.models import mlp
    from nnlib.repro import seed_everything

    monkeypatch.delenv(perturb.ENV_VAR, raising=False)
    seed_everything(0)
    plain = [w.numpy() for w in mlp(4, hidden_units=(3,), num_classes=2).weights]
    monkeypatch.setenv(perturb.ENV_VAR, "1")
    seed_everything(0)
    nudged = [w.numpy() for w in mlp(4, hidden_units=(3,), num_classes=2).weights]
    assert not np.array_equal(plain[0], nudged[0]) and np.allclose(
        plain[0], nudged[0], rtol=1e-6, atol=0
    )
