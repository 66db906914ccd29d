"""Tests of nnlib.callbacks: kill-and-resume, divergence guard, early stopping, progress bar."""

import io
import os
import signal
import subprocess
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from nnlib import callbacks, data, models
from nnlib.distribute import python_command  # the suite's: a process forked with TF imported
from nnlib.training import Trainer

WORKER = os.path.join(os.path.dirname(__file__), "_training_worker.py")


def _linear(kernel=0.0):
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(kernel)),
        ]
    )


def _regression_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    return x, x @ np.array([[1.0], [-2.0], [0.5]], np.float32)


# ----------------------------------------------------------------------------- resume


def test_killed_run_resumes_to_the_same_weights_as_an_uninterrupted_run(tmp_path):
    ckpt, ref, out = tmp_path / "ckpt", tmp_path / "ref", tmp_path / "out.npz"
    # 1. A run that SIGKILLs itself while the pipeline hands out batch 50 (epoch 2 of 6, 20 batches each).
    crash = subprocess.run(
        [*python_command(), WORKER, "crash", str(ckpt), "50"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crash.returncode == -signal.SIGKILL, crash.stderr[-3000:]
    # 2. The directory is readable: its latest checkpoint is complete and says 2 epochs were done.
    latest = tf.train.latest_checkpoint(str(ckpt))
    assert latest is not None and latest.endswith("ckpt-2")
    assert tf.train.load_checkpoint(latest).get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 2
    # 3. Rerun with the same directory (resumes), then an uninterrupted reference run.
    resume = subprocess.run(
        [*python_command(), WORKER, "resume", str(ckpt), str(ref), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resume.returncode == 0, resume.stderr[-3000:]
    with np.load(out) as result:
        assert int(result["initial_epoch"]) == 2
        assert len(result["loss"]) == 4 and len(result["ref_loss"]) == 6
        np.testing.assert_array_equal(result["loss"], result["ref_loss"][2:])
        for i in range(4):  # kernel and bias of two layers, bit for bit
            np.testing.assert_array_equal(result[f"w{i}"], result[f"ref_w{i}"])
    assert tf.train.latest_checkpoint(str(ckpt)).endswith("ckpt-6")


def test_checkpoint_resumes_in_process_and_counts_epochs(tmp_path):
    x, y = _regression_data()

    def run(epochs):
        cb = callbacks.ResumableCheckpoint(tmp_path, max_to_keep=1)
        trainer = Trainer(_linear(), "mse", keras.optimizers.SGD(0.01), callbacks=[cb])
        return trainer.fit((x, y), epochs=epochs, batch_size=8), cb, trainer

    first, cb, _ = run(2)
    assert cb.initial_epoch == 0 and cb.restored_from is None and len(first.history["loss"]) == 2
    second, cb, trainer = run(3)
    assert cb.initial_epoch == 2 and cb.restored_from.endswith("ckpt-2")
    assert second.epoch == [2] and int(trainer.optimizer.iterations.numpy()) == 3 * 4
    assert second.history["loss"][0] < first.history["loss"][-1]  # continued, not restarted
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".index")) == ["ckpt-3.index"]


def test_checkpoint_argument_errors():
    with pytest.raises(
        ValueError, match=r"`max_to_keep` must be an integer >= 1. Received: max_to_keep=0"
    ):
        callbacks.ResumableCheckpoint("ckpt", max_to_keep=0)
    with pytest.raises(TypeError, match=r"`directory` must be a path. Received: directory=3"):
        callbacks.ResumableCheckpoint(3)
    with pytest.raises(ValueError, match=r"`every_n_epochs` must be an integer >= 1"):
        callbacks.ResumableCheckpoint("ckpt", every_n_epochs=0)


# ----------------------------------------------------------------------------- divergence


def test_divergence_guard_stops_at_first_nonfinite_loss_with_last_finite_weights():
    x, y = _regression_data()
    full_batch = data.to_dataset(x, y, batch_size=32)  # one step per epoch: step == epoch

    def trainer(cbs=()):
        return Trainer(_linear(), "mse", keras.optimizers.SGD(1e3), callbacks=list(cbs))

    guard = callbacks.DivergenceGuard()
    guarded = trainer([guard])
    with pytest.warns(
        RuntimeWarning, match=r"Training diverged: the loss became inf at step \d+ \(epoch \d+\)"
    ):
        history = guarded.fit(full_batch, epochs=100)
    losses = history.history["loss"]
    s = guard.step
    assert guard.stopped and guard.epoch == s and len(losses) == s + 1  # stopped in that epoch
    assert (
        np.all(np.isfinite(losses[:-1]))
        and not np.isfinite(losses[-1])
        and guard.loss == losses[-1]
    )
    assert losses[-2] > 1e30  # it really blew up on its way there
    restored = guarded.model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in restored)
    # The restored weights are exactly those after s updates (before the update of step s).
    reference = trainer()
    reference.fit(full_batch, epochs=s)
    assert all(np.array_equal(a, b) for a, b in zip(restored, reference.model.get_weights()))
    # One more unguarded step with them would produce non-finite weights.
    reference.fit(full_batch, epochs=1)
    assert not all(
        np.all(np.isfinite(w)) for w in reference.model.get_weights()
    ) or not np.isfinite(reference.evaluate(full_batch)["loss"])

    # The same guard works in keras.Model.fit (per-batch hooks) and stops at the same step.
    model = _linear()
    model.compile(keras.optimizers.SGD(1e3), "mse")
    keras_guard = callbacks.DivergenceGuard()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(
            x, y, batch_size=32, epochs=100, verbose=0, callbacks=[keras_guard], shuffle=False
        )
    assert keras_guard.stopped and keras_guard.step == s
    for a, b in zip(model.get_weights(), restored):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_divergence_guard_under_steps_per_execution_names_the_call_and_restores_its_start():
    # fit(steps_per_execution=3) calls the batch hooks once per 3 steps: the guard cannot see the
    # step that went wrong, only the call; it must say so and put back the weights from before it.
    x, y = _regression_data()

    def guarded(steps_per_execution):
        model = _linear()
        model.compile(keras.optimizers.SGD(3.0), "mse", steps_per_execution=steps_per_execution)
        guard = callbacks.DivergenceGuard()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(x, y, batch_size=4, epochs=20, verbose=0, callbacks=[guard], shuffle=False)
        return model, guard, [str(w.message) for w in caught if w.category is RuntimeWarning]

    _, exact, _ = guarded(1)
    s = exact.step  # 8 steps per epoch; calls of 3, 3 and 2 steps
    assert exact.stopped and exact.last_step == s and s > 8
    first = 8 * (s // 8) + 3 * ((s % 8) // 3)
    last = min(first + 2, 8 * (s // 8) + 7)
    model, guard, messages = guarded(3)
    assert guard.stopped and (guard.step, guard.last_step) == (first, last)
    assert guard.epoch == s // 8
    assert messages == [guard.reason] and (
        f"in steps {first}-{last} (epoch {s // 8}; one call of fit ran {last - first + 1} steps"
        in guard.reason
    ), guard.reason
    # the weights after exactly `first` steps: the same batches, in the same order
    reference = _linear()
    reference.compile(keras.optimizers.SGD(3.0), "mse")
    stream = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()
    reference.fit(stream, steps_per_epoch=first, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_divergence_guard_counts_the_steps_a_loss_scale_optimizer_skipped():
    # Mixed float16: LossScaleOptimizer skips (and does not count) a step whose scaled gradients
    # overflow, here about 25 of the first 33. The guard's steps are batches, under
    # fit(steps_per_execution=3) too, where it cannot count them one by one.
    x, y = _regression_data()

    def guarded(steps_per_execution):
        model = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Dense(
                    1, dtype="mixed_float16", kernel_initializer=keras.initializers.Constant(0.0)
                ),
            ]
        )
        optimizer = keras.optimizers.LossScaleOptimizer(
            keras.optimizers.SGD(3.0), initial_scale=2.0**24
        )
        model.compile(optimizer, "mse", steps_per_execution=steps_per_execution)
        guard = callbacks.DivergenceGuard()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model.fit(x, y, batch_size=4, epochs=20, verbose=0, callbacks=[guard], shuffle=False)
        return guard, int(optimizer.iterations)

    exact, applied = guarded(1)
    s = exact.step  # 8 steps per epoch; calls of 3, 3 and 2 steps
    assert exact.stopped and s > 8 and applied < s - 8, (s, applied)  # steps were skipped
    first = 8 * (s // 8) + 3 * ((s % 8) // 3)
    guard, _ = guarded(3)
    assert (guard.epoch, guard.step, guard.last_step) == (
        s // 8,
        first,
        min(first + 2, 8 * (s // 8) + 7),
    )


def test_no_guard_no_stop():
    x, y = _regression_data()
    trainer = Trainer(_linear(), "mse", keras.optimizers.SGD(1e3))
    history = trainer.fit((x, y), epochs=40, batch_size=32)
    assert len(history.history["loss"]) == 40 and not np.isfinite(history.history["loss"][-1])


# ----------------------------------------------------------------------------- early stopping


def test_keras_early_stopping_works_with_trainer_and_restores_best_weights():
    x, y = _regression_data()
    val = (x, -y)  # every step toward y moves away from -y: val_loss is best after epoch 0

    def trainer(cbs=()):
        return Trainer(_linear(), "mse", keras.optimizers.SGD(0.05), callbacks=list(cbs))

    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    assert stop.__class__ is keras.callbacks.EarlyStopping
    history = trainer([stop]).fit((x, y), validation_data=val, epochs=50, batch_size=32)
    val_loss = history.history["val_loss"]
    assert len(val_loss) == 3 and val_loss[0] < val_loss[1] < val_loss[2]
    best = trainer()
    best.fit((x, y), epochs=1, batch_size=32)
    assert all(
        np.array_equal(a, b) for a, b in zip(stop.model.get_weights(), best.model.get_weights())
    )


# ----------------------------------------------------------------------------- progress bar


def test_progress_bar_is_silent_at_verbose_0_and_shows_epochs_at_1(capsys):
    x, y = _regression_data()
    stream = io.StringIO()
    Trainer(_linear(), "mse", "sgd", callbacks=[callbacks.ProgressBar(verbose=1, file=stream)]).fit(
        (x, y), epochs=3
    )
    text = stream.getvalue()
    assert "3/3" in text and "epoch" in text and "loss=" in text
    quiet = io.StringIO()
    Trainer(_linear(), "mse", "sgd", callbacks=[callbacks.ProgressBar(verbose=0, file=quiet)]).fit(
        (x, y), epochs=2
    )
    assert quiet.getvalue() == ""
    Trainer(_linear(), "mse", "sgd").fit((x, y), epochs=2, verbose=0)
    assert capsys.readouterr().err == ""
    Trainer(_linear(), "mse", "sgd").fit((x, y), epochs=2, verbose=1)  # adds a ProgressBar itself
    assert "2/2" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"`verbose` must be an integer >= 0"):
        callbacks.ProgressBar(verbose=-1)


# ----------------------------------------------------------------------------- divergence: the
# three failure modes of issue 15


def _overflow_run(lr, n, batch, epochs, keras_fit=False):
    """A 1-weight linear regression (x = 100, y = 1) whose first update at ``lr`` overflows float32
    although the loss of that step is finite."""
    keras.utils.set_random_seed(0)
    model = models.mlp(1, hidden_units=(), num_classes=1)
    start = model.get_weights()
    x, y = np.full((n, 1), 100.0, np.float32), np.ones((n, 1), np.float32)
    guard = callbacks.DivergenceGuard()
    with pytest.warns(
        RuntimeWarning,
        match=r"the update at step 0 \(epoch 0\) made the weights NaN/inf, although its loss was",
    ):
        if keras_fit:
            model.compile(keras.optimizers.SGD(learning_rate=lr), "mse")
            model.fit(
                x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0, callbacks=[guard]
            )
        else:
            Trainer(model, "mse", keras.optimizers.SGD(learning_rate=lr), callbacks=[guard]).fit(
                data.to_dataset(x, y, batch_size=batch), epochs=epochs
            )
    return guard, start, model.get_weights()


@pytest.mark.parametrize("keras_fit", [False, True], ids=["Trainer", "keras.Model.fit"])
@pytest.mark.parametrize("n, epochs", [(8, 3), (4, 1)], ids=["several steps", "one step"])
def test_divergence_guard_catches_an_update_that_overflows_the_weights(keras_fit, n, epochs):
    """Failure modes 1-3: a finite-loss step whose update makes the weights -inf. The guard used to
    restore [-inf] (several steps), never fire (a one-step run) -- through both loops."""
    guard, start, end = _overflow_run(1e38, n, 4, epochs, keras_fit)
    assert guard.stopped and guard.step == 0 and guard.epoch == 0
    assert (
        np.isfinite(guard.loss) and guard.weights_finite is False
    )  # the loss was fine, the weights were not
    assert all(
        np.array_equal(a, b) for a, b in zip(start, end)
    )  # back to the weights before step 0


def test_divergence_guard_notices_a_nan_batch_that_leaves_the_loss_finite():
    """Failure mode 4: a NaN in a later batch makes a ReLU model's first kernel NaN while the loss of
    that step stays finite; the guard checks the weights, so it stops and restores the weights before."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 3, 32)
    x[10, 0] = np.nan  # batch 1 of 4
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    guard = callbacks.DivergenceGuard()
    trainer = Trainer(
        models.mlp(4, hidden_units=(8,), num_classes=3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "sgd",
        callbacks=[guard],
    )
    with pytest.warns(RuntimeWarning, match=r"Training diverged: the update at step 1 \(epoch 0\)"):
        trainer.fit(ds, epochs=2)
    assert (
        guard.stopped
        and guard.step == 1
        and np.isfinite(guard.loss)
        and guard.weights_finite is False
    )
    assert all(np.isfinite(w).all() for w in trainer.model.get_weights())
    keras.utils.set_random_seed(0)
    reference = Trainer(
        models.mlp(4, hidden_units=(8,), num_classes=3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "sgd",
    )
    reference.fit(ds.take(1))  # exactly one step: the weights the guard must have put back
    assert all(
        np.array_equal(a, b)
        for a, b in zip(trainer.model.get_weights(), reference.model.get_weights())
    )


def test_divergence_guard_needs_finite_weights_to_start_from():
    model = _linear()
    model.layers[-1].kernel.assign(np.full((3, 1), np.nan, np.float32))
    x, y = _regression_data()
    with pytest.raises(
        ValueError,
        match=r"`model` must have finite weights when training starts with a DivergenceGuard",
    ):
        Trainer(model, "mse", "sgd", callbacks=[callbacks.DivergenceGuard()]).fit((x, y))


# ----------------------------------------------------------------------------- the declared protocol


def test_trainer_callback_protocol_order_resume_and_no_back_channel():
    """The Trainer drives callbacks through Keras's CallbackList, calls set_trainer before
    on_train_begin, starts at the largest initial_epoch its TrainerCallbacks ask for, and never
    has a callback write into it."""
    x, y = _regression_data()
    calls = []

    class Resume(callbacks.TrainerCallback):
        def set_trainer(self, trainer):
            super().set_trainer(trainer)
            calls.append("set_trainer")

        def on_train_begin(self, logs=None):
            calls.append("on_train_begin")
            self.initial_epoch = 2  # e.g. restored from somewhere

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("on_epoch_end", epoch, list(logs)))

    class Plain(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("plain", epoch))

    resume = Resume()
    trainer = Trainer(_linear(), "mse", keras.optimizers.SGD(0.01), callbacks=[resume, Plain()])
    history = trainer.fit((x, y), validation_data=(x, y), epochs=4, batch_size=8)
    assert resume.trainer is trainer and trainer.initial_epoch == 2 and history.epoch == [2, 3]
    assert calls[:2] == ["set_trainer", "on_train_begin"]
    assert calls[2:] == [
        ("plain", 2),
        ("on_epoch_end", 2, ["loss", "val_loss"]),
        ("plain", 3),
        ("on_epoch_end", 3, ["loss", "val_loss"]),
    ]
    assert list(history.history) == ["loss", "val_loss"]  # the Trainer's order, loss first
    assert int(trainer.optimizer.iterations.numpy()) == 2 * 4  # two epochs of 4 batches were run
    assert (
        callbacks.TrainerCallback.watches_divergence is False
        and callbacks.DivergenceGuard.watches_divergence is True
    )
    assert isinstance(callbacks.ResumableCheckpoint("ckpt"), callbacks.TrainerCallback)


def test_on_divergence_reaches_every_trainer_callback_only_when_one_watches():
    x, y = _regression_data()
    reports = []

    class Listener(callbacks.TrainerCallback):
        def on_divergence(self, epoch, step, loss, last_good_weights, weights_finite=True):
            reports.append((epoch, step))

    with pytest.warns(RuntimeWarning, match="Training diverged"):
        Trainer(
            _linear(),
            "mse",
            keras.optimizers.SGD(1e3),
            callbacks=[Listener(), callbacks.DivergenceGuard()],
        ).fit((x, y), epochs=100, batch_size=32)
    assert len(reports) == 1
    Trainer(_linear(), "mse", keras.optimizers.SGD(1e3), callbacks=[Listener()]).fit(
        (x, y), epochs=40, batch_size=32
    )
    assert len(reports) == 1  # nobody watches: no backups, no reports
