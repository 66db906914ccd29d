r"""A custom training loop: ``tf.GradientTape`` + ``tf.function`` + ``tf.distribute``, Keras-style.

Serves Chapter 4.6, *The custom training loop: callbacks, checkpoints and distribution* (this
module is what that chapter builds), and every chapter that trains with a :class:`Trainer`:
2.4, *Deep learning vs classical machine learning*; 3.9, *Convolution and pooling*; 3.10,
*Recurrent networks and backpropagation through time*; 4.1, *A binary classifier in Keras 3*;
4.2, *SGD with Nesterov momentum, and random labels*; 4.5, *Recurrent networks for sequences*;
4.8, *Saving, loading and exporting models*; 5.3, *Interpretability and robustness*; and 5.4,
*Privacy, deployment and sustainability*. :class:`Trainer` does what ``keras.Model.fit`` does, in
code a reader can follow: one training step is

.. math::

    \mathcal L(\theta) = \frac{1}{B}\sum_{i=1}^{B} \ell\big(y_i, f_\theta(x_i)\big)
        + \Omega(\theta), \qquad
    g = \nabla_\theta \mathcal L, \qquad
    \theta \leftarrow \text{optimizer}(\theta, g)

where :math:`B` is the **global** batch size (all replicas together) and :math:`\Omega` the
layers' regularization penalties. The whole epoch (the loop over batches) runs inside one
``tf.function``, so no Python runs between steps; with ``jit_compile=True`` each step is also
compiled by XLA.

Under a ``tf.distribute.Strategy`` (e.g. ``MirroredStrategy``) each replica computes per-example
losses on its slice of the batch and divides their sum by the global :math:`B`
(``tf.nn.compute_average_loss``); the optimizer then **sums** the replicas' gradients. Dividing by
the local batch size, or using a Keras loss object's own reduction (which already divides by the
number of replicas), would scale the gradient twice.

**Mixed precision.** Under a ``mixed_float16`` or ``mixed_bfloat16`` policy the layers compute
in 16 bits and keep float32 weights; the loss is always computed in float32 (the model's output
is cast first). float16 has only 5 exponent bits, so small gradients underflow to 0: the Trainer
wraps the optimizer in ``keras.optimizers.LossScaleOptimizer``, which multiplies the loss by a
scale :math:`S` before the gradients are taken, divides them by :math:`S` before the update, and
adapts :math:`S` (halved, and the step skipped, when a gradient overflows; doubled after 2,000
finite steps). bfloat16 has float32's exponent range and needs no scaling.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from nnlib._validation import (
    _short,
    as_array,
    as_float_array,
    cast_finite,
    check_bool,
    check_finite,
    check_int,
    check_list,
    check_one_of,
    check_real_dtype,
    check_same_length,
    check_targets,
    check_type,
)
from nnlib.repro import import_tensorflow

tf = import_tensorflow()  # TF's start-up log lines kept out of stderr before keras loads it

import keras  # noqa: E402

from nnlib.callbacks import ProgressBar, TrainerCallback, check_callbacks  # noqa: E402
from nnlib.data import to_dataset  # noqa: E402

__all__ = ["Trainer", "LOSS_KINDS"]

#: What each Keras loss expects as targets, keyed by its class or function. It picks the
#: ``"accuracy"`` metric and the label checks: ``"sparse"`` (one integer class label per
#: sample), ``"categorical"`` (one-hot or probability rows), ``"binary"`` (values in [0, 1]).
#: A loss that is not here (MSE, hinge, a custom function) is ``"other"``: any finite numbers.
LOSS_KINDS: dict[Any, str] = {
    keras.losses.SparseCategoricalCrossentropy: "sparse",
    keras.losses.sparse_categorical_crossentropy: "sparse",
    keras.losses.CategoricalCrossentropy: "categorical",
    keras.losses.categorical_crossentropy: "categorical",
    keras.losses.CategoricalFocalCrossentropy: "categorical",
    keras.losses.categorical_focal_crossentropy: "categorical",
    keras.losses.BinaryCrossentropy: "binary",
    keras.losses.binary_crossentropy: "binary",
    keras.losses.BinaryFocalCrossentropy: "binary",
    keras.losses.binary_focal_crossentropy: "binary",
}

_ACCURACY = {  # the metric that "accuracy" means for each loss kind (Model.compile chooses from the
    # shapes instead, and its BinaryAccuracy always uses threshold 0.5)
    "sparse": lambda from_logits: keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
    "categorical": lambda from_logits: keras.metrics.CategoricalAccuracy(name="accuracy"),
    # a logit > 0 is a probability > 0.5
    "binary": lambda from_logits: keras.metrics.BinaryAccuracy(
        name="accuracy", threshold=0.0 if from_logits else 0.5
    ),
    "other": lambda from_logits: keras.metrics.Accuracy(name="accuracy"),
}

_POLICIES = (None, "float32", "mixed_float16", "mixed_bfloat16")
_LOSS = (
    "a Keras loss name, a keras.losses.Loss or a function (y_true, y_pred) -> per-example losses"
)
_CHECK_NUMERICS = "nnlib check_numerics: `{}` holds NaN/inf in batch"


def _loss_kind(loss: Any) -> str:
    """The loss's row of :data:`LOSS_KINDS`: by class (subclasses too), by the function a Keras
    loss object or a ``functools.partial`` wraps, or by the function itself; else ``"other"``."""
    owner = getattr(loss, "__self__", loss)  # a bound Loss.call: its Loss object
    keys = [*type(owner).__mro__, getattr(owner, "fn", None), getattr(owner, "func", None), owner]
    return next(
        (LOSS_KINDS[k] for k in keys if isinstance(k, Hashable) and k in LOSS_KINDS), "other"
    )


def _from_logits(loss: Any) -> bool:
    """The loss's ``from_logits`` (a Keras loss object's config, or a ``functools.partial``'s)."""
    owner = getattr(loss, "__self__", loss)  # a bound Loss.call: its Loss object
    config = (
        owner.get_config()
        if isinstance(owner, keras.losses.Loss)
        else getattr(owner, "keywords", None) or {}
    )
    return bool(config.get("from_logits", False))


def _keras_object(name: str, value: Any, getter: Callable, expected: str) -> Any:
    """Keras's ``getter(value)`` (``keras.optimizers.get`` ...), its errors restated for ``name``."""
    if value is None:
        raise TypeError(f"`{name}` must be {expected}. Received: {name}=None")
    try:
        return getter(value)
    except (ValueError, TypeError):
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={_short(value)}") from None


def _per_example(loss: Any) -> Callable:
    """A function ``(y_true, y_pred) -> per-example losses`` (no reduction) from a Keras loss."""
    if isinstance(loss, str):
        loss = _keras_object("loss", loss, keras.losses.get, _LOSS)
    if isinstance(loss, type):
        loss = loss()
    if isinstance(loss, keras.losses.Loss):
        config = dict(loss.get_config(), reduction=None)  # per-example values, we reduce ourselves
        try:
            return type(loss).from_config(config)
        except Exception:  # a custom Loss that cannot be rebuilt: call its per-example method
            return loss.call
    if callable(loss):
        return loss  # Keras loss *functions* already return per-example values
    raise TypeError(f"`loss` must be {_LOSS}. Received: loss={_short(loss)}")


def _metric(metric: Any, loss_kind: str, from_logits: bool) -> keras.metrics.Metric:
    """A fresh Keras metric object; 'accuracy' follows the loss kind as in ``Model.compile``."""
    if isinstance(metric, str) and metric in ("accuracy", "acc"):
        return _ACCURACY[loss_kind](from_logits)
    if isinstance(metric, keras.metrics.Metric):
        return type(metric).from_config(metric.get_config())  # a copy created in our scope
    fn = keras.metrics.get(metric)
    if isinstance(fn, keras.metrics.Metric):
        return fn
    if not callable(fn):  # keras.metrics.get(None) is None
        raise ValueError(f"not a metric: {metric!r}")
    return keras.metrics.MeanMetricWrapper(
        fn, name=metric if isinstance(metric, str) else fn.__name__
    )


def _metrics(metrics: Any, loss_kind: str, from_logits: bool) -> list[keras.metrics.Metric]:
    result = []
    for i, m in enumerate(
        check_list("metrics", metrics, "Keras metric names or objects, e.g. ['accuracy']")
    ):
        try:
            result.append(_metric(m, loss_kind, from_logits))
        except (ValueError, TypeError):
            raise ValueError(
                "`metrics` must hold Keras metric names (e.g. 'accuracy', 'mae') or "
                f"keras.metrics.Metric objects. Received: metrics[{i}]={_short(m)}"
            ) from None
    return result


def _built_model(model: Any, policy: str | None) -> Any:
    """Call a model-building function under the mixed-precision ``policy`` (then restore Keras's
    global policy); a model object is returned as it is."""
    if not callable(model) or isinstance(model, keras.Model):
        return model
    if policy is None:
        return model()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        return model()
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _check_model(model: Any, strategy: Any, policy: str | None) -> keras.Model:
    check_type("model", model, keras.Model, "a keras.Model (or a function that builds one)")
    if not model.built or not model.trainable_variables:
        raise ValueError(
            "`model` must be built (give it a keras.Input) and have trainable weights. "
            f"Received: model={model.name!r} with built={model.built}"
        )
    if strategy is not None and not all(
        strategy.extended.variable_created_in_scope(v.value) for v in model.variables
    ):
        raise ValueError(
            "`model` must be created under `strategy.scope()` (or passed as a function that "
            "builds it) so its variables are mirrored. Received: model built outside the scope"
        )
    policies = sorted({layer.dtype_policy.name for layer in model.layers})
    if policy is not None and policies != [policy]:
        raise ValueError(
            f"`mixed_precision={policy!r}` needs a model whose layers were built under that policy: "
            "pass a function that builds the model (the Trainer builds it under the policy), or call "
            f"keras.mixed_precision.set_global_policy({policy!r}) before building it. "
            f"Received: model with layer policies {policies}"
        )
    return model


def _optimizer(optimizer: Any, model: keras.Model, copy: bool) -> keras.optimizers.Optimizer:
    """The Keras optimizer (a copy bound to the strategy's scope if ``copy``), wrapped in a
    ``LossScaleOptimizer`` when a layer computes in float16, built for the model's weights."""
    if copy and isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = type(optimizer).from_config(optimizer.get_config())
    optimizer = _keras_object(
        "optimizer",
        optimizer,
        keras.optimizers.get,
        "a Keras optimizer name (e.g. 'adam', 'sgd') or a keras.optimizers.Optimizer",
    )
    float16 = any(layer.compute_dtype == "float16" for layer in model.layers)
    if float16 and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(model.trainable_variables)
    return optimizer


def _finite(x: Any, name: str, step: Any) -> Any:
    """``x`` itself, but only once it is checked for NaN/inf (``check_numerics=True``): everything
    computed from it -- the gradients, the weight update -- waits for the check, and a failed check
    stops the compiled epoch *before* that step's update. The error names the batch ``step``."""
    if not x.dtype.is_floating:
        return x
    finite = tf.reduce_all(
        tf.math.is_finite(x)
    )  # one fused pass (faster than CheckNumerics on CPU)
    with tf.control_dependencies(
        [tf.debugging.Assert(finite, [_CHECK_NUMERICS.format(name), step])]
    ):
        return tf.identity(x)


def _compile(fn: Callable, jit_compile: bool = False) -> Callable:
    """``tf.function(fn, jit_compile=...)``, with retracing statistics kept per Trainer.

    TensorFlow warns about "excessive retracing" when functions with the same code are traced
    five times, which happens legitimately when a notebook builds several Trainers; wrapping
    ``fn`` in a ``partial`` gives each Trainer's function its own statistics.
    """
    return tf.function(functools.partial(fn), jit_compile=jit_compile)


class _Default:
    """The default of an option that applies only to array inputs (``fit``'s ``batch_size``,
    ``shuffle``, ``seed``): it shows as its value, and tells a value left out from one given."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


@contextlib.contextmanager
def _tf_data_options_notice_silenced():
    """Drop TensorFlow's notice about tf.data options, and only it, while a loop is traced.

    Tracing ``for x, y in iter(dataset)`` over a ``tf.distribute`` dataset makes TensorFlow 2.21
    read the dataset's options in graph mode, which warns "To make it possible to preserve
    tf.data options across serialization boundaries ..." although the caller did nothing wrong.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="To make it possible to preserve tf.data options across serialization",
            category=UserWarning,
        )
        yield


def _value(option: Any) -> Any:
    return option.value if isinstance(option, _Default) else option


def _check_options_used(options: dict[str, Any], train: Any, validation_data: Any) -> None:
    """An array-only option of ``fit`` that the caller gave but no input would use is an error."""
    train_arrays = not isinstance(train, tf.data.Dataset)
    val_arrays = validation_data is not None and not isinstance(validation_data, tf.data.Dataset)
    used = {
        "batch_size": train_arrays or val_arrays,
        "shuffle": train_arrays,
        "seed": train_arrays and _value(options["shuffle"]),
    }
    for name, value in options.items():
        if isinstance(value, _Default) or used[name]:
            continue
        why = (
            "it seeds the shuffling, and shuffle=False"
            if train_arrays
            else (
                "`train` is a tf.data.Dataset, which is batched and shuffled where it is built "
                "(e.g. nnlib.data.to_dataset(x, y, batch_size=32, shuffle=True, seed=0))"
            )
        )
        raise ValueError(
            f"`{name}` would be ignored: {why}. Leave `{name}` out. Received: {name}={_short(value)}"
        )


class _CallbackList(keras.callbacks.CallbackList):
    """Keras's ``CallbackList``, except that ``on_epoch_end`` passes the logs in the Trainer's
    order (``loss``, metrics, ``val_*``, as :class:`History` records them; Keras sorts them)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, dict(logs or {}))


@dataclasses.dataclass
class _Epochs:
    """What the epoch loop of one ``fit`` needs."""

    epoch_fn: Callable  # the compiled pass over the training batches
    train: Any  # the distributed training data
    val: Any  # the distributed validation data, or None
    extensions: list  # the TrainerCallbacks among the callbacks
    guard: bool  # a callback watches for divergence
    record_grad_norms: bool


class Trainer:
    r"""Train a Keras model with a ``tf.GradientTape`` loop compiled by ``tf.function``.

    Args:
        model: a ``keras.Model`` with a known input shape (e.g. from :mod:`nnlib.models`), or a
            zero-argument function that builds one. With ``strategy=`` pass the function (or build
            the model under ``strategy.scope()``) so its variables are mirrored; with
            ``mixed_precision=`` pass the function (or build the model under that policy).
        loss: a Keras loss name, ``keras.losses.Loss`` object or per-example loss function. Its
            kind (:data:`LOSS_KINDS`) decides how labels are checked and what ``"accuracy"``
            means; read it as ``trainer.loss_kind``.
        optimizer: a Keras optimizer name or object (its variables are created here; under a
            ``strategy`` the trainer uses a copy made in ``strategy.scope()``, and with float16
            layers a ``LossScaleOptimizer`` around it: read ``trainer.optimizer``).
        metrics: Keras metric names or objects; ``"accuracy"`` picks the sparse / categorical /
            binary accuracy that matches ``loss`` (threshold 0 for a binary loss with
            ``from_logits=True``). The trainer uses its own copies of metric objects. A list
            (``metrics=["accuracy"]``, as in Keras); ``None`` means none.
        callbacks: ``keras.callbacks.Callback`` objects (``None``: none), driven through Keras's
            ``CallbackList``: ``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end`` and
            ``on_train_end`` (the batch loop is compiled, so there are no per-batch hooks); the
            trainer honours ``model.stop_training``. Callbacks that need more derive from
            :class:`nnlib.callbacks.TrainerCallback`, the documented extension interface.
        strategy: a ``tf.distribute.Strategy``; ``None`` means the default (one device).
        jit_compile: compile each training and evaluation step with XLA
            (``tf.function(jit_compile=True)``); the loop over batches stays an ordinary
            ``tf.function``, since XLA cannot compile an input pipeline. Results agree with
            ``False`` to float32 rounding (XLA fuses and reorders operations), not bit for bit, and
            repeat exactly on the CPU. (TensorFlow compiles with XLA also under op determinism;
            ``keras.Model.compile(jit_compile=True)`` falls back to no XLA there.)
        mixed_precision: ``None`` (the model's own dtype policy: whatever
            ``keras.mixed_precision`` policy was global when it was built), ``"float32"``,
            ``"mixed_float16"`` or ``"mixed_bfloat16"`` (the Trainer builds the model under that
            policy, or checks that a built model uses it). The loss is computed in float32;
            whenever a layer computes in float16 the optimizer is wrapped in
            ``keras.optimizers.LossScaleOptimizer`` (its scale: ``trainer.optimizer.dynamic_scale``).

    Example:
        >>> trainer = Trainer(nnlib.models.mlp(64), "sparse_categorical_crossentropy", "adam")  # doctest: +SKIP
        >>> history = trainer.fit(train_ds, validation_data=val_ds, epochs=5)  # doctest: +SKIP
        >>> history.history["val_loss"]  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any,
        loss: Any,
        optimizer: Any,
        metrics: Sequence[Any] = (),
        callbacks: Sequence[Any] = (),
        strategy: Any = None,
        jit_compile: bool = False,
        mixed_precision: str | None = None,
    ) -> None:
        if strategy is not None:
            check_type("strategy", strategy, tf.distribute.Strategy, "a tf.distribute.Strategy")
        self.strategy = strategy or tf.distribute.get_strategy()
        self.jit_compile = check_bool("jit_compile", jit_compile)
        self.mixed_precision = check_one_of("mixed_precision", mixed_precision, _POLICIES)
        with self.strategy.scope():  # every variable below is created (mirrored) here
            given = None if strategy is None else self.strategy
            self.model = _check_model(_built_model(model, mixed_precision), given, mixed_precision)
            self.optimizer = _optimizer(optimizer, self.model, copy=strategy is not None)
            self.loss_fn = _per_example(loss)
            self.loss_kind = _loss_kind(self.loss_fn)
            self.metrics = _metrics(metrics, self.loss_kind, _from_logits(self.loss_fn))
            self._last_good = None  # weight backups, made when a callback watches for divergence
        self.callbacks = check_callbacks(callbacks)
        self.initial_epoch = 0  # the epoch the last fit started at (> 0 after a resume)
        self._compiled: dict = {}
        variables = {id(v): i for i, v in enumerate(self.model.trainable_variables)}
        self._layer_groups = [
            (layer.name, [variables[id(w)] for w in layer.trainable_weights])
            for layer in self.model.layers
            if layer.trainable_weights
        ]

    # ------------------------------------------------------------------ the compiled steps

    def _train_step(self, x, y, record_grad_norms: bool):
        """One optimizer step on this replica's slice of the batch (runs inside tf.function)."""
        ctx = tf.distribute.get_replica_context()
        # 0. The global batch size: this step's samples summed over all replicas.
        global_batch = ctx.all_reduce("sum", tf.shape(y)[0])
        with tf.GradientTape() as tape:
            # 1. Forward pass in training mode (dropout active); the loss is computed in float32.
            y_pred = tf.cast(self.model(x, training=True), tf.float32)
            # 2. Per-example losses, summed and divided by the GLOBAL batch size.
            loss = tf.nn.compute_average_loss(
                self.loss_fn(y, y_pred), global_batch_size=global_batch
            )
            # 3. Regularization penalties, split evenly across replicas.
            if self.model.losses:
                loss += tf.nn.scale_regularization_loss(
                    tf.add_n([tf.cast(p, tf.float32) for p in self.model.losses])
                )
            # 4. Mixed float16: the loss times the loss scale S (otherwise the loss itself).
            scaled_loss = self.optimizer.scale_loss(loss)
        # 5. Gradients of this replica's share of the (scaled) loss.
        grads = tape.gradient(scaled_loss, self.model.trainable_variables)
        norms = self._grad_norms(ctx, grads) if record_grad_norms else tf.zeros([0])
        # 6. One update; the optimizer sums the replicas' gradients (and divides them by S) first.
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        # 7. Metrics accumulate over the epoch (their variables sum across replicas).
        for metric in self.metrics:
            metric.update_state(y, y_pred)
        return loss, tf.cast(tf.shape(y)[0], tf.float32), norms

    def _grad_norms(self, ctx, grads):
        """Per-layer norms of the full (all-replica, unscaled) gradient."""
        full = ctx.all_reduce("sum", grads)
        scale = (
            self.optimizer.dynamic_scale
            if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
            else 1.0
        )
        return (
            tf.stack(
                [tf.linalg.global_norm([full[i] for i in idx]) for _, idx in self._layer_groups]
            )
            / scale
        )

    def _eval_step(self, x, y):
        """Loss sum and metric updates on one replica's slice, in inference mode."""
        y_pred = tf.cast(self.model(x, training=False), tf.float32)
        for metric in self.metrics:
            metric.update_state(y, y_pred)
        return tf.reduce_sum(self.loss_fn(y, y_pred)), tf.cast(tf.shape(y)[0], tf.float32)

    def _step(self, name: str) -> Callable:
        """The train or eval step; its own XLA-compiled ``tf.function`` with ``jit_compile``."""
        step = {"train": self._train_step, "eval": self._eval_step}[name]
        if not self.jit_compile:
            return step  # traced inline into the epoch's tf.function
        if name not in self._compiled:
            self._compiled[name] = _compile(step, jit_compile=True)
        return self._compiled[name]

    def _train_epoch_fn(self, record_grad_norms: bool, guard: bool, check_numerics: bool):
        """The compiled epoch: a loop over the (distributed) dataset with no Python in between."""
        key = ("train_epoch", record_grad_norms, guard, check_numerics)
        if key in self._compiled:
            return self._compiled[key]
        strategy, SUM, train_step = self.strategy, tf.distribute.ReduceOp.SUM, self._step("train")
        floats = [w for w in self.model.weights if tf.as_dtype(w.dtype).is_floating]

        def train_epoch(dataset):
            loss_sum, count = tf.constant(0.0), tf.constant(0.0)
            norm_sum = tf.zeros([len(self._layer_groups) if record_grad_norms else 0])
            step, bad_step, bad_loss = (
                tf.constant(0, tf.int64),
                tf.constant(-1, tf.int64),
                tf.constant(0.0),
            )
            bad_weights = tf.constant(False)
            for x, y in iter(dataset):  # a tf.while_loop over get_next, not a tf.data reduce
                if check_numerics:  # the batch must be finite before anything is computed from it
                    x, y = strategy.run(
                        lambda x, y, s: (_finite(x, "train x", s), _finite(y, "train y", s)),
                        args=(x, y, step),
                    )
                if guard:  # keep the weights before this step while no step has gone wrong
                    for backup, w in zip(self._last_good, self.model.weights):
                        backup.assign(tf.where(bad_step < 0, w.value, backup))
                loss, n, norms = strategy.run(train_step, args=(x, y, record_grad_norms))
                loss, n = strategy.reduce(SUM, loss, axis=None), strategy.reduce(SUM, n, axis=None)
                if record_grad_norms:  # identical on every replica: take the first
                    norm_sum += strategy.experimental_local_results(norms)[0]
                # A step goes wrong when its loss is NaN/inf, or (with a guard) when its update
                # leaves NaN/inf weights although the loss was finite (e.g. an overflowing step).
                weights_ok = tf.constant(True)
                if guard:
                    weights_ok = tf.reduce_all(
                        [tf.reduce_all(tf.math.is_finite(w.value)) for w in floats]
                    )
                first_bad = (bad_step < 0) & tf.logical_not(tf.math.is_finite(loss) & weights_ok)
                bad_step = tf.where(first_bad, step, bad_step)
                bad_loss = tf.where(first_bad, loss, bad_loss)
                bad_weights = tf.where(first_bad, tf.logical_not(weights_ok), bad_weights)
                loss_sum, count, step = loss_sum + loss * n, count + n, step + 1
            return (
                loss_sum / count,
                norm_sum / tf.cast(step, tf.float32),
                bad_step,
                bad_loss,
                bad_weights,
            )

        self._compiled[key] = _compile(train_epoch)
        return self._compiled[key]

    def _eval_fn(self):
        if "eval_epoch" in self._compiled:
            return self._compiled["eval_epoch"]
        strategy, SUM, eval_step = self.strategy, tf.distribute.ReduceOp.SUM, self._step("eval")

        def eval_epoch(dataset):
            loss_sum, count = tf.constant(0.0), tf.constant(0.0)
            for x, y in iter(dataset):
                s, n = strategy.run(eval_step, args=(x, y))
                loss_sum += strategy.reduce(SUM, s, axis=None)
                count += strategy.reduce(SUM, n, axis=None)
            return loss_sum / count

        self._compiled["eval_epoch"] = _compile(eval_epoch)
        return self._compiled["eval_epoch"]

    # ------------------------------------------------------------------ input checks

    def _check_x(self, name: str, x_shape: tuple, want: tuple | None = None) -> None:
        """``x_shape`` against ``want`` (default: the model's one input shape), batch axis aside."""
        want = tuple(self.model.input_shape[1:]) if want is None else want
        got = tuple(x_shape[1:])
        if len(want) != len(got) or any(
            w is not None and g is not None and w != g for w, g in zip(want, got)
        ):
            raise ValueError(
                f"`{name}` must have shape (batch, {', '.join(str(w) for w in want)}) to match the "
                f"model's input. Received: {name}.shape={tuple(x_shape)}"
            )

    def _check_x_spec(self, name: str, spec: Any) -> None:
        """A dataset's ``x`` against the model's inputs: one tensor (or a one-entry dict keyed by
        the input's name) for a model with one input; for a model with several (a multimodal model,
        chapter 5.4), a dict keyed by input name or a tuple in the model's input order."""
        inputs = getattr(self.model, "inputs", None) or []
        if isinstance(spec, tf.TensorSpec) and len(inputs) <= 1:
            self._check_x(name, tuple(spec.shape))
            return
        names = [tensor.name for tensor in inputs]
        if isinstance(spec, dict) and inputs:
            if sorted(spec) != sorted(names):
                raise ValueError(
                    f"`{name}` must be a dict with one entry per model input, {sorted(names)}. "
                    f"Received: keys {sorted(spec)}"
                )
            parts = [(key, spec[key], tensor) for key, tensor in zip(names, inputs)]
        elif isinstance(spec, (tuple, list)) and len(spec) == len(inputs) > 1:
            parts = list(zip(names, spec, inputs))
        else:
            raise TypeError(
                f"`{name}` must be one tensor for a model with one input, or a dict keyed by input "
                f"name (or a tuple in input order) for a model with several; the model has "
                f"{len(inputs) or 'an unknown number of'} input(s). Received: {name} structured as {spec}"
            )
        for key, part, tensor in parts:
            self._check_x(f"{name}[{key!r}]", tuple(part.shape), tuple(tensor.shape[1:]))

    def _check_y(self, name: str, y: np.ndarray) -> None:
        """Targets that fit the loss kind: sparse labels, one-hot rows or binary values; a
        mismatch (one-hot rows for a sparse loss, NaN labels) gets a message with the fix."""
        check_targets(name, y, self.loss_kind, tuple(self.model.output_shape[1:]))

    def _as_dataset(self, name: str, data: Any, batch_size: int, shuffle: bool, seed: int):
        """Validate ``data`` (a dataset of (x, y) batches or an (x, y) pair) -> tf.data.Dataset."""
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            if not (isinstance(spec, tuple) and len(spec) == 2):
                raise TypeError(
                    f"`{name}` must be a tf.data.Dataset of (x, y) batches. "
                    f"Received: {name}.element_spec={spec}"
                )
            self._check_x_spec(f"{name} x", spec[0])
            if isinstance(spec[0], dict) and len(self.model.inputs) == 1:
                # a one-input model takes the tensor itself (Keras warns on a dict)
                (key,) = spec[0]
                data = data.map(lambda x, y: (x[key], y))
            for x, y in data.take(1):  # the first batch, before any step
                for part in tf.nest.flatten(x):
                    check_finite(f"{name} x", part.numpy())
                self._check_y(f"{name} y", y.numpy())
            return data
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = as_float_array(f"{name} x", data[0]), as_array(f"{name} y", data[1])
            check_same_length(f"{name} x", x, f"{name} y", y)
            x = cast_finite(
                f"{name} x", check_finite(f"{name} x", x), np.float32
            )  # to_dataset's dtype
            self._check_x(f"{name} x", x.shape)
            self._check_y(f"{name} y", check_real_dtype(f"{name} y", y))
            if y.dtype.kind == "f":
                y = cast_finite(f"{name} y", y, np.float32)
            return to_dataset(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
        raise TypeError(
            f"`{name}` must be a tf.data.Dataset of (x, y) batches or an (x, y) pair of arrays. "
            f"Received: {name} of type {type(data).__name__}"
        )

    def _prepare_data(self, train, validation_data, batch_size, shuffle, seed):
        """Both data sets checked and batched; an array-only option with no arrays to apply to is
        an error (a ``tf.data.Dataset`` is batched and shuffled where it is built)."""
        options = {"batch_size": batch_size, "shuffle": shuffle, "seed": seed}
        batch_size = check_int("batch_size", _value(batch_size), minimum=1)
        shuffle, seed = (
            check_bool("shuffle", _value(shuffle)),
            check_int("seed", _value(seed), minimum=0),
        )
        _check_options_used(options, train, validation_data)
        train = self._as_dataset("train", train, batch_size, shuffle, seed)
        if validation_data is not None:
            validation_data = self._as_dataset(
                "validation_data", validation_data, batch_size, False, 0
            )
        return train, validation_data

    # ------------------------------------------------------------------ fit, in four parts

    def fit(
        self,
        train: Any,
        validation_data: Any = None,
        epochs: int = 1,
        verbose: int = 0,
        batch_size: int = _Default(32),
        shuffle: bool = _Default(True),
        seed: int = _Default(0),
        record_grad_norms: bool = False,
        check_numerics: bool = False,
    ) -> keras.callbacks.History:
        r"""Train for ``epochs`` passes over ``train``; return a ``keras.callbacks.History``.

        Args:
            train: a ``tf.data.Dataset`` of ``(x, y)`` batches (e.g. from
                :func:`nnlib.data.to_dataset`), or an ``(x, y)`` pair of arrays, which is batched
                with ``batch_size`` and reshuffled every epoch with ``seed`` if ``shuffle``.
                For a model with several inputs, ``x`` is a dict keyed by input name (or a tuple in
                input order), in a dataset. Before the first step, arrays are checked completely
                (lengths, finiteness, input shape, labels that fit the loss kind); a dataset is
                checked on its ``element_spec`` and its first batch.
            validation_data: the same kinds, evaluated after every epoch (``val_`` keys).
            epochs: index of the last epoch, ``>= 1`` (as in Keras: a resumed run continues up to it).
            verbose: ``0`` silent; ``1`` adds a :class:`nnlib.callbacks.ProgressBar`.
            batch_size, shuffle, seed: for arrays only. Giving one that no input uses -- any of
                them with a ``tf.data.Dataset`` as ``train`` (``batch_size`` is still used by
                validation arrays), or ``seed`` with ``shuffle=False`` -- is a ``ValueError``
                rather than silently ignored.
            record_grad_norms: record the per-layer gradient norm
                :math:`\lVert \nabla_{\theta_l}\mathcal L\rVert_2`, averaged over the epoch's
                steps, as ``history["grad_norm/<layer name>"]``.
            check_numerics: check *every* batch of ``train`` for NaN/inf inside the compiled
                step, before anything is computed from it; the first bad batch stops training
                with a ``ValueError`` that names it, and the weights and optimizer state stay
                those of the step before. Arrays are always checked completely before training,
                so this matters for a ``tf.data.Dataset`` (otherwise checked on its first batch
                only). It costs one pass over each batch, a few percent of a step.

        Returns:
            A ``keras.callbacks.History`` whose ``history`` maps ``"loss"``, metric names,
            ``"val_loss"``, ``"val_<metric>"`` (and gradient norms) to per-epoch lists of floats.
        """
        # 1. Prepare the data: every argument checked once, before any step.
        epochs = check_int("epochs", epochs, minimum=1)
        verbose = check_int("verbose", verbose, minimum=0)
        record_grad_norms = check_bool("record_grad_norms", record_grad_norms)
        check_numerics = check_bool("check_numerics", check_numerics)
        train, val = self._prepare_data(train, validation_data, batch_size, shuffle, seed)
        # 2. Callbacks: the user's, a progress bar if verbose, and the History that fit returns.
        history = keras.callbacks.History()
        callbacks = self._callback_list(history, epochs, verbose)
        extensions = [cb for cb in callbacks.callbacks if isinstance(cb, TrainerCallback)]
        guard = self._prepare_guard(extensions)
        epoch_fn = self._train_epoch_fn(record_grad_norms, guard, check_numerics)
        # 3. Resume: callbacks restore their state in on_train_begin and say where to start.
        self.model.stop_training = False
        callbacks.on_train_begin()
        self.initial_epoch = self._resume(train, extensions)
        data = self._distribute(train), self._distribute(val)
        run = _Epochs(epoch_fn, *data, extensions, guard, record_grad_norms)
        # 4. The epochs: one compiled pass over the batches, the logs, the callbacks.
        logs: dict = {}
        for epoch in range(self.initial_epoch, epochs):
            callbacks.on_epoch_begin(epoch)
            logs = self._run_epoch(epoch, run)
            callbacks.on_epoch_end(epoch, logs)
            if self.model.stop_training:
                break
        callbacks.on_train_end(logs)
        return history

    def _callback_list(self, history, epochs: int, verbose: int) -> keras.callbacks.CallbackList:
        """Keras's ``CallbackList`` over the user's callbacks, a :class:`ProgressBar` when
        ``verbose`` asks for one and none is there (as Keras adds its own), and ``history``."""
        callbacks = list(self.callbacks)
        if verbose and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            callbacks.append(ProgressBar(verbose=verbose))
        for cb in callbacks:
            if isinstance(cb, TrainerCallback):
                cb.set_trainer(self)
        return _CallbackList(
            [*callbacks, history], model=self.model, epochs=epochs, verbose=verbose, steps=None
        )

    def _prepare_guard(self, extensions: list) -> bool:
        """With a callback that watches for divergence: finite weights to start from, and the
        variables that keep the weights from before each step."""
        if not any(cb.watches_divergence for cb in extensions):
            return False
        for w in self.model.weights:
            value = np.asarray(w.numpy())
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                raise ValueError(
                    "`model` must have finite weights when training starts with a DivergenceGuard "
                    f"(it can only restore finite weights). Received: {w.path} with NaN/inf values"
                )
        if self._last_good is None:
            with self.strategy.scope():
                self._last_good = [
                    tf.Variable(w.value, trainable=False) for w in self.model.weights
                ]
        return True

    def _resume(self, train, extensions: list) -> int:
        """The epoch to start at: the largest ``initial_epoch`` of the callbacks. The data order
        of the epochs already done is replayed, so a seeded, reshuffled dataset continues."""
        initial_epoch = max((cb.initial_epoch for cb in extensions), default=0)
        for _ in range(initial_epoch):
            for _ in train:
                pass
        return initial_epoch

    def _distribute(self, data):
        return None if data is None else self.strategy.experimental_distribute_dataset(data)

    def _run_epoch(self, epoch: int, run: _Epochs) -> dict[str, float]:
        """One epoch: the compiled pass over the batches, a divergence report, validation, logs."""
        steps_before = int(self.optimizer.iterations.numpy())
        for metric in self.metrics:
            metric.reset_state()
        loss, norms, bad_step, bad_loss, bad_weights = self._call_epoch(run, epoch, steps_before)
        logs = {"loss": float(loss), **{m.name: float(m.result()) for m in self.metrics}}
        if run.guard and int(bad_step) >= 0:
            last_good = [b.numpy() for b in self._last_good]
            for cb in run.extensions:
                cb.on_divergence(
                    epoch,
                    steps_before + int(bad_step),
                    float(bad_loss),
                    last_good,
                    weights_finite=not bool(bad_weights),
                )
        if run.val is not None:
            logs.update({f"val_{k}": v for k, v in self._evaluate(run.val).items()})
        if run.record_grad_norms:
            logs.update(
                {
                    f"grad_norm/{name}": float(v)
                    for (name, _), v in zip(self._layer_groups, norms.numpy())
                }
            )
        return logs

    def _call_epoch(self, run: _Epochs, epoch: int, steps_before: int):
        """``run.epoch_fn(run.train)``; a batch that fails ``check_numerics`` becomes a ValueError."""
        try:
            with _tf_data_options_notice_silenced():
                return run.epoch_fn(run.train)
        except tf.errors.InvalidArgumentError as err:
            found = re.search(r"`(train [xy])` holds NaN/inf in batch\]\s*\[(\d+)\]", str(err))
            if found is None:
                raise
            what, batch = found.group(1), int(found.group(2))
            # Keras counts a step before its update: the aborted step may have been counted.
            self.optimizer.iterations.assign(steps_before + batch)
            raise ValueError(
                f"`train` must hold finite values in every batch: batch {batch} of epoch {epoch} "
                f"has NaN/inf in `{what}` (check_numerics=True). Training stopped before its step. "
                f"Received: {what} of batch {batch} with NaN/inf"
            ) from None

    # ------------------------------------------------------------------ evaluate, predict

    def evaluate(self, data: Any, batch_size: int = 32) -> dict[str, float]:
        """Mean loss (without regularization penalties) and metrics over ``data``.

        Args:
            data: a ``tf.data.Dataset`` of ``(x, y)`` batches or an ``(x, y)`` pair of arrays.
            batch_size: batch size for a pair of arrays.

        Returns:
            ``{"loss": ..., <metric name>: ...}`` as Python floats.
        """
        batch_size = check_int("batch_size", batch_size, minimum=1)
        data = self._as_dataset("data", data, batch_size, False, 0)
        return self._evaluate(self.strategy.experimental_distribute_dataset(data))

    def _evaluate(self, dist_data) -> dict[str, float]:
        for metric in self.metrics:
            metric.reset_state()
        with _tf_data_options_notice_silenced():
            loss = self._eval_fn()(dist_data)
        return {"loss": float(loss), **{m.name: float(m.result()) for m in self.metrics}}

    def predict(self, x: Any, batch_size: int = 32) -> np.ndarray:
        """Model outputs (logits or probabilities, as the model gives them) in inference mode.

        Args:
            x: an array of inputs ``(n, ...)``, or a ``tf.data.Dataset`` of ``x`` batches or of
                ``(x, y)`` batches (``y`` is ignored).
            batch_size: batch size for an array.

        Returns:
            A NumPy array of shape ``(n, outputs)``, float32 (also under mixed precision).
        """
        if not isinstance(x, tf.data.Dataset):
            x = as_float_array("x", x)
            self._check_x("x", x.shape)
            if len(x) == 0:  # no samples, no outputs
                return np.zeros((0, *self.model.output_shape[1:]), np.float32)
            x = to_dataset(x, batch_size=check_int("batch_size", batch_size, minimum=1))
        elif isinstance(x.element_spec, tuple):
            x = x.map(lambda xb, *rest: xb)
        if "predict" not in self._compiled:
            self._compiled["predict"] = _compile(
                lambda xb: tf.cast(self.model(xb, training=False), tf.float32),
                jit_compile=self.jit_compile,
            )
        forward = self._compiled["predict"]
        return np.concatenate([forward(xb).numpy() for xb in x], axis=0)
