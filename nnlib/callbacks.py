r"""Callbacks for :class:`nnlib.training.Trainer` (and, where it makes sense, ``keras.Model.fit``).

Serves Chapter 4.6, *The custom training loop: callbacks, checkpoints and distribution* (every
callback here, and the protocol below), and Chapter 2.4, *Deep learning vs classical machine
learning* (early stopping). All are ``keras.callbacks.Callback`` subclasses using Keras's hook
names (``on_train_begin``, ``on_epoch_end``, ...), so the same object works in both loops:

==========================  =========================  =========================================
callback                    with ``Trainer``            with ``keras.Model.fit``
==========================  =========================  =========================================
:class:`ProgressBar`        yes                        yes
:data:`EarlyStopping`       yes (Keras's own class)    yes
:class:`ResumableCheckpoint`  saves and resumes        saves and restores weights; pass
                                                       ``initial_epoch=cb.initial_epoch`` yourself
:class:`DivergenceGuard`    yes (exact step)           yes (copies weights every batch: slower)
==========================  =========================  =========================================

``EarlyStopping`` *is* ``keras.callbacks.EarlyStopping``: it only needs ``logs``,
``model.get_weights/set_weights`` and ``model.stop_training``, all of which the Trainer provides
(tested in ``tests/test_callbacks.py``), so we reuse it instead of copying it.

**The protocol between the Trainer and its callbacks.** The Trainer drives every callback through
Keras's ``keras.callbacks.CallbackList`` with Keras's hooks, in Keras's order:
``on_train_begin``, then per epoch ``on_epoch_begin`` and ``on_epoch_end``, then
``on_train_end`` (no per-batch hooks: the batch loop is compiled), and it stops after an epoch in
which a callback set ``model.stop_training``. A callback that needs more than Keras's hooks derives
from :class:`TrainerCallback`, the whole extension interface: the Trainer hands itself over
(``set_trainer``), reads where to resume (``initial_epoch``) and reports a diverging step
(``watches_divergence``, ``on_divergence``). It calls nothing else, and no callback writes into
the Trainer.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import warnings
from typing import Any

from nnlib.repro import import_tensorflow

tf = import_tensorflow()  # TF's start-up log lines kept out of stderr before keras loads it

import keras  # noqa: E402
import numpy as np  # noqa: E402

from nnlib import distribute  # noqa: E402
from nnlib._validation import _short, check_int, check_list, check_number, check_type  # noqa: E402

__all__ = [
    "TrainerCallback",
    "ProgressBar",
    "EarlyStopping",
    "ResumableCheckpoint",
    "DivergenceGuard",
]

EarlyStopping = keras.callbacks.EarlyStopping
"""Keras's ``EarlyStopping`` (``monitor="val_loss"``, ``patience``, ``restore_best_weights``):
stop when the monitored value has not improved for ``patience`` epochs."""


class TrainerCallback(keras.callbacks.Callback):
    r"""The extension interface of :class:`nnlib.training.Trainer`: a Keras callback plus four
    documented members, each with a default that does nothing.

    ============================================  ================================================
    member                                        contract
    ============================================  ================================================
    ``set_trainer(trainer)``                      called once per ``fit``, before
                                                  ``on_train_begin``; stores ``self.trainer``
                                                  (e.g. to checkpoint ``trainer.optimizer``)
    ``initial_epoch`` (attribute, default 0)      read after ``on_train_begin``: the epoch to
                                                  start at. The Trainer takes the largest value
                                                  over its callbacks and replays that many passes
                                                  of the data so that the batch order continues
    ``watches_divergence`` (class attribute,      ``True`` makes the Trainer keep the weights from
    default ``False``)                            before every step and test every step's loss and
                                                  weights for NaN/inf inside the compiled epoch
    ``on_divergence(epoch, step, loss,            called after an epoch in which step ``step``
    last_good_weights, weights_finite)``          (global, 0-based) went wrong, before
                                                  ``on_epoch_end``, with the weights from before
                                                  that step
    ============================================  ================================================

    Under ``keras.Model.fit`` these members are simply not used; the Keras hooks still are.
    """

    watches_divergence: bool = False
    initial_epoch: int = 0
    trainer: Any = None

    def set_trainer(self, trainer: Any) -> None:
        """Called by the Trainer before ``on_train_begin``."""
        self.trainer = trainer

    def on_divergence(
        self,
        epoch: int,
        step: int,
        loss: float,
        last_good_weights: list,
        weights_finite: bool = True,
    ) -> None:
        """Called by the Trainer (only if ``watches_divergence``) after an epoch in which a step
        went wrong: a non-finite loss, or non-finite weights after the update."""


def check_callbacks(callbacks: Any) -> list[keras.callbacks.Callback]:
    """The ``callbacks`` argument of the Trainer: a list of Keras callbacks (``None``: none).
    Keras's ``EarlyStopping``, which checks nothing itself, gets its numbers checked here."""
    callbacks = check_list("callbacks", callbacks, "keras.callbacks.Callback objects")
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, keras.callbacks.Callback):
            raise TypeError(
                "`callbacks` must hold keras.callbacks.Callback objects (e.g. nnlib.callbacks.DivergenceGuard()). "
                f"Received: callbacks[{i}]={_short(cb)} of type {type(cb).__name__}"
            )
        if isinstance(cb, keras.callbacks.EarlyStopping):
            check_int("patience", cb.patience, minimum=0)
            check_int("start_from_epoch", cb.start_from_epoch, minimum=0)
            if cb.baseline is not None:
                check_number("baseline", cb.baseline)
            check_type("monitor", cb.monitor, str, "a str (a key of the logs, e.g. 'val_loss')")
    return callbacks


class ProgressBar(keras.callbacks.Callback):
    r"""A ``tqdm`` progress bar over epochs, showing the latest logs rounded to 4 digits.

    The Trainer runs each epoch's batches inside one ``tf.function``, so the bar advances once
    per epoch. ``verbose=0`` makes it silent (nothing is created or printed).

    Args:
        verbose: ``0`` silent, ``1`` show the bar.
        file: stream to write to (default ``sys.stderr``).
    """

    def __init__(self, verbose: int = 1, file: Any = None) -> None:
        super().__init__()
        self.verbose = check_int("verbose", verbose, minimum=0)
        if file is not None and not callable(getattr(file, "write", None)):
            raise TypeError(
                f"`file` must be a text stream with a write() method (e.g. sys.stdout), or None for "
                f"sys.stderr. Received: file={_short(file)}"
            )
        self.file = file
        self.bar = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.verbose and self.bar is None:
            from tqdm.auto import tqdm

            total = self.params.get("epochs") if self.params else None
            self.bar = tqdm(total=total, initial=epoch, unit="epoch", file=self.file or sys.stderr)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.bar is not None:
            shown = {
                k: f"{v:.4g}" for k, v in (logs or {}).items() if not k.startswith("grad_norm/")
            }
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class ResumableCheckpoint(TrainerCallback):
    r"""Save the whole training state every ``every_n_epochs``; a rerun resumes exactly.

    A checkpoint (``tf.train.CheckpointManager``, newest ``max_to_keep`` kept) holds

    * every model variable (weights, batch-norm statistics and the dropout layers' RNG state),
    * every optimizer variable (step count, learning rate, moments),
    * the number of finished epochs, which also fixes the **data order**: the Trainer replays
      that many passes of the (seeded, reshuffled-every-pass) dataset before it continues, so the
      resumed run sees the same batches as an uninterrupted one.

    On ``on_train_begin`` the latest checkpoint in ``directory`` (if any) is restored and
    :class:`~nnlib.training.Trainer` continues at epoch :attr:`initial_epoch` (the
    :class:`TrainerCallback` protocol). A process killed
    at any moment leaves the previous checkpoint readable: TensorFlow writes the data files under
    a temporary name and replaces the ``checkpoint`` index file atomically.

    Under ``tf.distribute.MultiWorkerMirroredStrategy`` (Chapter 4.12) every worker takes part in
    each save, as TensorFlow requires, but only the chief's files land in ``directory``: the other
    workers write to a scratch folder inside it (:func:`nnlib.distribute.worker_directory`) and
    delete it again. On a restart every worker restores the chief's latest checkpoint.

    Args:
        directory: folder of the checkpoints (created if missing); on a cluster, a folder every
            worker can read (a shared file system or a bucket).
        max_to_keep: how many recent checkpoints to keep, ``>= 1``.
        every_n_epochs: save after every ``n``-th epoch, ``>= 1``.

    Attributes:
        initial_epoch: the epoch training resumed at (``0`` for a fresh start).
        restored_from: path of the restored checkpoint, or ``None``.
    """

    def __init__(
        self, directory: str | os.PathLike, max_to_keep: int = 3, every_n_epochs: int = 1
    ) -> None:
        super().__init__()
        check_type("directory", directory, (str, os.PathLike), "a path")
        self.directory = os.fspath(directory)
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise ValueError(
                "`directory` must be a folder for the checkpoints (created if missing), not a file. "
                f"Received: directory={self.directory!r}"
            )
        self.max_to_keep = check_int("max_to_keep", max_to_keep, minimum=1)
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=1)
        self.restored_from = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = self.trainer.optimizer if self.trainer is not None else self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.checkpoint = tf.train.Checkpoint(
            model=list(self.model.variables), optimizer=list(optimizer.variables), epoch=self._epoch
        )
        # Across workers every process saves, but only the chief into `directory` (the others
        # into a scratch folder they delete again); every process restores the chief's files.
        strategy = (
            self.trainer.strategy if self.trainer is not None else tf.distribute.get_strategy()
        )
        self._write_dir = distribute.worker_directory(self.directory, strategy)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self._write_dir, self.max_to_keep
        )
        self.initial_epoch, self.restored_from = 0, None
        latest = tf.train.latest_checkpoint(self.directory)
        if latest:
            self.checkpoint.restore(latest).assert_consumed()
            self.initial_epoch = int(self._epoch.numpy())
            self.restored_from = latest

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch.assign(epoch + 1)
        if (epoch + 1) % self.every_n_epochs == 0:
            self.manager.save(checkpoint_number=epoch + 1)
            if self._write_dir != self.directory:
                shutil.rmtree(self._write_dir, ignore_errors=True)


class DivergenceGuard(TrainerCallback):
    r"""Stop at the first step that goes wrong and put back the last finite weights.

    With a too-large learning rate the loss grows and overflows to ``inf``, and some updates later the
    weights overflow to ``inf``/``NaN`` too; a single huge step (or a NaN in an input batch) can also make the
    weights non-finite while the loss of that step was still finite. Step :math:`s` goes wrong
    when its loss :math:`\mathcal L(\theta_s)` is NaN or :math:`\pm\infty`, **or** when its update
    leaves weights :math:`\theta_{s+1}` that are not all finite. At the first such step the guard
    restores :math:`\theta_s` — the weights before that step, which are all finite (the step
    before did not go wrong, and training must start from finite weights) — stops training,
    records where and why, and emits a ``RuntimeWarning``. Finite is not good: when the loss
    overflowed, :math:`\theta_s` is already far off; the guard saves the rest of the run and says
    why, and the remedy is a restart with a smaller learning rate. This holds for any number of steps,
    a one-step run included.

    With the Trainer the checks run inside the compiled epoch (no per-step Python; the weights
    are backed up and tested for NaN/inf at every step: ``watches_divergence`` of the
    :class:`TrainerCallback` protocol); with ``keras.Model.fit`` the guard copies the weights
    after every batch (slower).

    Under ``fit`` with ``compile(steps_per_execution=k)``, Keras calls the batch hooks once per
    ``k`` steps, so the guard sees calls, not steps: it names the call in which a step went wrong
    (``step`` to ``last_step``) and restores the weights from before that call, the last ones it
    saw finite. Compile with ``steps_per_execution=1`` (the default) to find the step itself.

    Attributes:
        stopped: whether training diverged.
        epoch, step: 0-based epoch and global step (batches since training began, the steps
            a mixed-precision ``LossScaleOptimizer`` skipped included) of the step that went
            wrong; under ``fit(steps_per_execution=k)``, the first step of the call in which it
            went wrong.
        last_step: ``step``, or the last step of that call.
        loss: that step's loss value.
        weights_finite: whether the weights after that step were finite (``False``: the update
            overflowed although the loss was finite).
        reason: a sentence saying what happened.
    """

    watches_divergence = True

    def __init__(self) -> None:
        super().__init__()
        self._reset()

    def _reset(self) -> None:
        self.stopped, self.epoch, self.step, self.loss, self.reason = False, None, None, None, None
        self.last_step, self.weights_finite = None, None
        self._seen, self._epoch, self._snapshot, self._steps_before = 0, 0, None, 0
        self._first_batch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()

    def on_divergence(
        self,
        epoch: int,
        step: int,
        loss: float,
        last_good_weights: list,
        weights_finite: bool = True,
    ) -> None:
        """Put back the weights from before the step that went wrong, stop, and say why."""
        self.model.set_weights(last_good_weights)
        self._stop(epoch, step, loss, weights_finite)

    def _stop(
        self, epoch: int, step: int, loss: float, weights_finite: bool, steps: int = 1
    ) -> None:
        self.stopped, self.epoch, self.step, self.loss = True, epoch, step, loss
        self.last_step, self.weights_finite = step + steps - 1, weights_finite
        self.model.stop_training = True
        if steps > 1:  # fit(steps_per_execution=k): the hooks saw only the end of the call
            where, before = (
                f"in steps {step}-{self.last_step} (epoch {epoch}; one call of fit ran {steps} "
                "steps, steps_per_execution, so the guard cannot tell which)",
                "that call",
            )
        else:
            where, before = f"at step {step} (epoch {epoch})", "that step"
        if not weights_finite and math.isfinite(loss):
            what = f"the update {where} made the weights NaN/inf, although its loss was {loss:.4g}"
        else:
            what = f"the loss became {loss} {where}"
        self.reason = (
            f"Training diverged: {what}; restored the weights from before {before} and stopped. "
            "Try a smaller learning rate (and check the inputs for NaN/inf)."
        )
        warnings.warn(self.reason, RuntimeWarning, stacklevel=2)

    # keras.Model.fit path: per-batch hooks ---------------------------------------------------

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch, self._snapshot = (
            epoch,
            None,
        )  # other callbacks may change weights between epochs

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self._snapshot is None:
            self._snapshot = self.model.get_weights()
        self._steps_before, self._first_batch = self._optimizer_steps(), batch

    def _optimizer_steps(self) -> int:
        """The optimizer's step count: one call of fit may run several (steps_per_execution)."""
        optimizer = getattr(self.model, "optimizer", None)
        return 0 if optimizer is None else int(optimizer.iterations)

    def _steps_in_call(self, last_batch: int) -> int:
        """How many steps (batches) the call of fit that just ended ran.

        The optimizer's count says it exactly, unless it is a ``LossScaleOptimizer``: that one skips
        the update of a step whose float16 gradients overflowed, without counting it. Then Keras's
        batch indices say it (first to last, clipped to the epoch's length: an epoch's last call
        may run fewer than ``steps_per_execution``); with data of unknown length they can't, and
        the guard counts the updates that were applied."""
        applied = self._optimizer_steps() - self._steps_before
        per_epoch = (self.params or {}).get("steps")
        optimizer = getattr(self.model, "optimizer", None)
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) and per_epoch:
            # applied: with steps_per_epoch over a repeated stream the last call runs all k steps
            return max(1, applied, min(last_batch, per_epoch - 1) - self._first_batch + 1)
        return max(1, applied)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # One copy per batch: the weights after a good step are the snapshot for the next one.
        if self.stopped:
            return
        loss = (logs or {}).get(
            "loss"
        )  # Keras logs the epoch's running mean: once NaN/inf, it stays so
        loss = None if loss is None else float(np.asarray(loss, dtype=float))
        weights = self.model.get_weights()
        weights_finite = all(np.all(np.isfinite(w)) for w in weights if w.dtype.kind == "f")
        steps = self._steps_in_call(batch)
        if (loss is not None and not math.isfinite(loss)) or not weights_finite:
            self.model.set_weights(self._snapshot)
            loss = math.nan if loss is None else loss
            self._stop(self._epoch, self._seen, loss, weights_finite, steps)
        else:
            self._snapshot = weights
        self._seen += steps
