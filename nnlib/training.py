r"""A custom training loop: ``tf.GradientTape`` + ``tf.function`` + ``tf.distribute``, Keras-style.

Serves part 4 (the custom training loop, callbacks, checkpoint/resume, distribution) and every
chapter that trains a model. :class:`Trainer` does what ``keras.Model.fit`` does, in code a reader
can follow: one training step is

.. math::

    \mathcal L(\theta) = \frac{1}{B}\sum_{i=1}^{B} \ell\big(y_i, f_\theta(x_i)\big)
        + \Omega(\theta), \qquad
    g = \nabla_\theta \mathcal L, \qquad
    \theta \leftarrow \text{optimizer}(\theta, g)

where :math:`B` is the **global** batch size (all replicas together) and :math:`\Omega` the
layers' regularization penalties. The whole epoch (the loop over batches) runs inside one
``tf.function``, so no Python runs between steps.

Under a ``tf.distribute.Strategy`` (e.g. ``MirroredStrategy``) each replica computes per-example
losses on its slice of the batch and divides their sum by the global :math:`B`
(``tf.nn.compute_average_loss``); the optimizer then **sums** the replicas' gradients. Dividing by
the local batch size, or using a Keras loss object's own reduction (which already divides by the
number of replicas), would scale the gradient twice.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable, Sequence

import numpy as np

from nnlib._validation import (
    _short,
    as_array,
    as_float_array,
    cast_finite,
    check_bool,
    check_finite,
    check_int,
    check_number,
    check_real_dtype,
    check_same_length,
    check_targets,
    check_type,
)

__all__ = ["Trainer"]


def _loss_name(loss: Any) -> str:
    """A lowercase name for the loss kind (used to pick 'accuracy' and label checks)."""
    name = getattr(loss, "fn", None) or loss
    name = getattr(name, "__name__", None) or type(loss).__name__
    return name.lower().replace("_", "")


def _target_kind(loss_name: str) -> str:
    """What the loss expects as targets (see ``nnlib._validation.check_targets``)."""
    if "sparsecategorical" in loss_name:
        return "sparse"
    if "categorical" in loss_name:
        return "categorical"
    return "binary" if "binary" in loss_name else "other"


def _as_list(name: str, value: Any, what: str) -> list:
    """A list from a list/tuple (``None`` means empty); a single string or object is an error."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"`{name}` must be a list of {what}. Received: {name}={_short(value)}")
    return list(value)


def _check_callback(i: int, cb: Any) -> None:
    """A Keras callback; Keras's EarlyStopping (which checks nothing itself) gets its numbers checked."""
    import keras

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


def _keras_object(name: str, value: Any, getter: Callable, expected: str) -> Any:
    """Keras's ``getter(value)`` (``keras.optimizers.get`` ...), its errors restated for ``name``."""
    if value is None:
        raise TypeError(f"`{name}` must be {expected}. Received: {name}=None")
    try:
        return getter(value)
    except (ValueError, TypeError):
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={_short(value)}") from None


_LOSS = "a Keras loss name, a keras.losses.Loss or a function (y_true, y_pred) -> per-example losses"


def _per_example(loss: Any) -> Callable:
    """A function ``(y_true, y_pred) -> per-example losses`` (no reduction) from a Keras loss."""
    import keras

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


def _metric(metric: Any, loss_kind: str, from_logits: bool):
    """A fresh Keras metric object; 'accuracy' follows the loss as in ``Model.compile``."""
    import keras

    if isinstance(metric, str) and metric in ("accuracy", "acc"):
        if "sparsecategorical" in loss_kind:
            return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        if "categorical" in loss_kind:
            return keras.metrics.CategoricalAccuracy(name="accuracy")
        if "binary" in loss_kind:  # a logit > 0 is a probability > 0.5
            return keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0 if from_logits else 0.5)
        return keras.metrics.Accuracy(name="accuracy")
    if isinstance(metric, keras.metrics.Metric):
        return type(metric).from_config(metric.get_config())  # a copy created in our scope
    fn = keras.metrics.get(metric)
    if isinstance(fn, keras.metrics.Metric):
        return fn
    if not callable(fn):  # keras.metrics.get(None) is None
        raise ValueError(f"not a metric: {metric!r}")
    return keras.metrics.MeanMetricWrapper(fn, name=metric if isinstance(metric, str) else fn.__name__)


def _finite(x: Any, name: str, step: Any) -> Any:
    """``x`` itself, but only once it is checked for NaN/inf (``check_numerics=True``): everything
    computed from it -- the gradients, the weight update -- waits for the check, and a failed check
    stops the compiled epoch *before* that step's update. The error names the batch ``step``."""
    import tensorflow as tf

    if not x.dtype.is_floating:
        return x
    finite = tf.reduce_all(tf.math.is_finite(x))  # one fused pass (faster than CheckNumerics on CPU)
    with tf.control_dependencies([tf.debugging.Assert(finite, [_CHECK_NUMERICS.format(name), step])]):
        return tf.identity(x)


_CHECK_NUMERICS = "nnlib check_numerics: `{}` holds NaN/inf in batch"


def _compile(fn: Callable) -> Callable:
    """``tf.function(fn)``, with retracing statistics kept per Trainer.

    TensorFlow warns about "excessive retracing" when functions with the same code are traced
    five times, which happens legitimately when a notebook builds several Trainers; wrapping
    ``fn`` in a ``partial`` gives each Trainer's function its own statistics.
    """
    import tensorflow as tf

    return tf.function(functools.partial(fn))


class Trainer:
    r"""Train a Keras model with a ``tf.GradientTape`` loop compiled by ``tf.function``.

    Args:
        model: a ``keras.Model`` with a known input shape (e.g. from :mod:`nnlib.models`), or a
            zero-argument function that builds one. With ``strategy=`` pass the function (or build
            the model under ``strategy.scope()``) so its variables are mirrored.
        loss: a Keras loss name, ``keras.losses.Loss`` object or per-example loss function.
        optimizer: a Keras optimizer name or object (its variables are created here; under a
            ``strategy`` the trainer uses a copy made in ``strategy.scope()``: read
            ``trainer.optimizer``).
        metrics: Keras metric names or objects; ``"accuracy"`` picks the sparse / categorical /
            binary accuracy that matches ``loss`` (threshold 0 for a binary loss with
            ``from_logits=True``). The trainer uses its own copies of metric objects. A list
            (``metrics=["accuracy"]``, as in Keras); ``None`` means none.
        callbacks: ``keras.callbacks.Callback`` objects (``None``: none). The trainer calls
            ``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end`` and ``on_train_end`` (the
            batch loop is compiled, so there are no per-batch hooks) and honours
            ``model.stop_training``.
        strategy: a ``tf.distribute.Strategy``; ``None`` means the default (one device).

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
    ) -> None:
        import keras
        import tensorflow as tf

        if strategy is not None:
            check_type("strategy", strategy, tf.distribute.Strategy, "a tf.distribute.Strategy")
        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope():  # every variable below is created (mirrored) here
            if callable(model) and not isinstance(model, keras.Model):
                model = model()
            check_type("model", model, keras.Model, "a keras.Model (or a function that builds one)")
            if not model.built or not model.trainable_variables:
                raise ValueError(
                    "`model` must be built (give it a keras.Input) and have trainable weights. "
                    f"Received: model={model.name!r} with built={model.built}"
                )
            if strategy is not None and not all(
                self.strategy.extended.variable_created_in_scope(v.value) for v in model.variables
            ):
                raise ValueError(
                    "`model` must be created under `strategy.scope()` (or passed as a function that "
                    "builds it) so its variables are mirrored. Received: model built outside the scope"
                )
            self.model = model
            if strategy is not None and isinstance(optimizer, keras.optimizers.Optimizer):
                optimizer = type(optimizer).from_config(optimizer.get_config())  # bound to the scope
            self.optimizer = _keras_object(
                "optimizer", optimizer, keras.optimizers.get,
                "a Keras optimizer name (e.g. 'adam', 'sgd') or a keras.optimizers.Optimizer",
            )
            self.optimizer.build(model.trainable_variables)
            self.loss_fn = _per_example(loss)
            self._loss_kind = _loss_name(self.loss_fn)
            self._target_kind = _target_kind(self._loss_kind)
            config = self.loss_fn.get_config() if hasattr(self.loss_fn, "get_config") else {}
            from_logits = bool(config.get("from_logits", False))
            self.metrics = []
            for i, m in enumerate(_as_list("metrics", metrics, "Keras metric names or objects, e.g. ['accuracy']")):
                try:
                    self.metrics.append(_metric(m, self._loss_kind, from_logits))
                except (ValueError, TypeError):
                    raise ValueError(
                        "`metrics` must hold Keras metric names (e.g. 'accuracy', 'mae') or "
                        f"keras.metrics.Metric objects. Received: metrics[{i}]={_short(m)}"
                    ) from None
            self._last_good = None  # weight backups, created when a DivergenceGuard asks for them
        self.callbacks = _as_list("callbacks", callbacks, "keras.callbacks.Callback objects")
        for i, cb in enumerate(self.callbacks):
            _check_callback(i, cb)
        self.initial_epoch = 0  # a ResumableCheckpoint moves it forward in on_train_begin
        self._epoch_fns: dict = {}
        self._layer_groups = [
            (layer.name, [self._var_index(w) for w in layer.trainable_weights])
            for layer in model.layers
            if layer.trainable_weights
        ]

    def _var_index(self, w) -> int:
        for i, v in enumerate(self.model.trainable_variables):
            if v is w:
                return i
        raise AssertionError("layer weight not in model.trainable_variables")  # internal invariant

    # ------------------------------------------------------------------ the training step

    def _train_step(self, x, y, record_grad_norms: bool, check_numerics: bool, step):
        """One optimizer step on this replica's slice of the batch (runs inside tf.function)."""
        import tensorflow as tf

        if check_numerics:  # the batch must be finite before anything is computed from it
            x, y = _finite(x, "train x", step), _finite(y, "train y", step)
        ctx = tf.distribute.get_replica_context()
        # 0. The global batch size: this step's samples summed over all replicas.
        global_batch = ctx.all_reduce("sum", tf.shape(y)[0])
        with tf.GradientTape() as tape:
            # 1. Forward pass in training mode (dropout active).
            y_pred = self.model(x, training=True)
            # 2. Per-example losses, summed and divided by the GLOBAL batch size.
            per_example = self.loss_fn(y, y_pred)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
            # 3. Regularization penalties, split evenly across replicas.
            if self.model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.model.losses))
        # 4. Gradients of this replica's share of the loss.
        grads = tape.gradient(loss, self.model.trainable_variables)
        # 5. One update; the optimizer sums the replicas' gradients first.
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        # 6. Metrics accumulate over the epoch (their variables sum across replicas).
        for metric in self.metrics:
            metric.update_state(y, y_pred)
        norms = tf.zeros([0])
        if record_grad_norms:  # per-layer norm of the full (all-replica) gradient
            full = ctx.all_reduce("sum", grads)
            norms = tf.stack([tf.linalg.global_norm([full[i] for i in idx]) for _, idx in self._layer_groups])
        return loss, tf.cast(tf.shape(y)[0], tf.float32), norms

    def _eval_step(self, x, y):
        """Loss sum and metric updates on one replica's slice, in inference mode."""
        import tensorflow as tf

        y_pred = self.model(x, training=False)
        per_example = self.loss_fn(y, y_pred)
        for metric in self.metrics:
            metric.update_state(y, y_pred)
        return tf.reduce_sum(per_example), tf.cast(tf.shape(y)[0], tf.float32)

    def _train_epoch_fn(self, record_grad_norms: bool, guard: bool, check_numerics: bool):
        """The compiled epoch: a loop over the (distributed) dataset with no Python in between."""
        key = (record_grad_norms, guard, check_numerics)
        if key in self._epoch_fns:
            return self._epoch_fns[key]
        import tensorflow as tf

        strategy, SUM = self.strategy, tf.distribute.ReduceOp.SUM
        n_layers = len(self._layer_groups)
        floats = [w for w in self.model.weights if tf.as_dtype(w.dtype).is_floating]

        def train_epoch(dataset):
            loss_sum, count = tf.constant(0.0), tf.constant(0.0)
            norm_sum = tf.zeros([n_layers if record_grad_norms else 0])
            step, bad_step, bad_loss = tf.constant(0, tf.int64), tf.constant(-1, tf.int64), tf.constant(0.0)
            bad_weights = tf.constant(False)
            for x, y in iter(dataset):  # a tf.while_loop over get_next, not a tf.data reduce
                if guard:  # keep the weights before this step while no step has gone wrong
                    ok = bad_step < 0
                    for backup, w in zip(self._last_good, self.model.weights):
                        backup.assign(tf.where(ok, w.value, backup))
                args = (x, y, record_grad_norms, check_numerics, step)
                loss, n, norms = strategy.run(self._train_step, args=args)
                loss, n = strategy.reduce(SUM, loss, axis=None), strategy.reduce(SUM, n, axis=None)
                if record_grad_norms:  # identical on every replica: take the first
                    norm_sum += strategy.experimental_local_results(norms)[0]
                # A step goes wrong when its loss is NaN/inf, or (with a guard) when its update
                # leaves NaN/inf weights although the loss was finite (e.g. an overflowing step).
                weights_ok = tf.constant(True)
                if guard:
                    weights_ok = tf.reduce_all([tf.reduce_all(tf.math.is_finite(w.value)) for w in floats])
                first_bad = (bad_step < 0) & tf.logical_not(tf.math.is_finite(loss) & weights_ok)
                bad_step = tf.where(first_bad, step, bad_step)
                bad_loss = tf.where(first_bad, loss, bad_loss)
                bad_weights = tf.where(first_bad, tf.logical_not(weights_ok), bad_weights)
                loss_sum += loss * n
                count += n
                step += 1
            return loss_sum / count, norm_sum / tf.cast(step, tf.float32), bad_step, bad_loss, bad_weights

        self._epoch_fns[key] = _compile(train_epoch)
        return self._epoch_fns[key]

    def _eval_fn(self):
        if "eval" in self._epoch_fns:
            return self._epoch_fns["eval"]
        import tensorflow as tf

        strategy, SUM = self.strategy, tf.distribute.ReduceOp.SUM

        def eval_epoch(dataset):
            loss_sum, count = tf.constant(0.0), tf.constant(0.0)
            for x, y in iter(dataset):
                s, n = strategy.run(self._eval_step, args=(x, y))
                loss_sum += strategy.reduce(SUM, s, axis=None)
                count += strategy.reduce(SUM, n, axis=None)
            return loss_sum / count

        self._epoch_fns["eval"] = _compile(eval_epoch)
        return self._epoch_fns["eval"]

    # ------------------------------------------------------------------ input checks

    def _check_x(self, name: str, x_shape: tuple) -> None:
        want = tuple(self.model.input_shape[1:])
        got = tuple(x_shape[1:])
        if len(want) != len(got) or any(w is not None and g is not None and w != g for w, g in zip(want, got)):
            raise ValueError(
                f"`{name}` must have shape (batch, {', '.join(str(w) for w in want)}) to match the "
                f"model's input. Received: {name}.shape={tuple(x_shape)}"
            )

    def _check_y(self, name: str, y: np.ndarray) -> None:
        """Targets that fit the loss: sparse labels, one-hot rows or binary values (with a fix)."""
        check_targets(name, y, self._target_kind, tuple(self.model.output_shape[1:]))

    def _as_dataset(self, name: str, data: Any, batch_size: int, shuffle: bool, seed: int):
        """Validate ``data`` (a dataset of (x, y) batches or an (x, y) pair) -> tf.data.Dataset."""
        import tensorflow as tf

        from nnlib.data import to_dataset

        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            if not (isinstance(spec, tuple) and len(spec) == 2):
                raise TypeError(
                    f"`{name}` must be a tf.data.Dataset of (x, y) batches. "
                    f"Received: {name}.element_spec={spec}"
                )
            self._check_x(f"{name} x", tuple(spec[0].shape))
            for x, y in data.take(1):  # the first batch, before any step
                check_finite(f"{name} x", x.numpy())
                self._check_y(f"{name} y", y.numpy())
            return data
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = as_float_array(f"{name} x", data[0]), as_array(f"{name} y", data[1])
            check_same_length(f"{name} x", x, f"{name} y", y)
            x = cast_finite(f"{name} x", check_finite(f"{name} x", x), np.float32)  # to_dataset's dtype
            self._check_x(f"{name} x", x.shape)
            self._check_y(f"{name} y", check_real_dtype(f"{name} y", y))
            if y.dtype.kind == "f":
                y = cast_finite(f"{name} y", y, np.float32)
            return to_dataset(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
        raise TypeError(
            f"`{name}` must be a tf.data.Dataset of (x, y) batches or an (x, y) pair of arrays. "
            f"Received: {name} of type {type(data).__name__}"
        )

    # ------------------------------------------------------------------ public API

    def fit(
        self,
        train: Any,
        validation_data: Any = None,
        epochs: int = 1,
        verbose: int = 0,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        record_grad_norms: bool = False,
        check_numerics: bool = False,
    ):
        r"""Train for ``epochs`` passes over ``train``; return a ``keras.callbacks.History``.

        Args:
            train: a ``tf.data.Dataset`` of ``(x, y)`` batches (e.g. from
                :func:`nnlib.data.to_dataset`), or an ``(x, y)`` pair of arrays, which is batched
                with ``batch_size`` and reshuffled every epoch with ``seed`` if ``shuffle``.
                Before the first step, arrays are checked completely (lengths, finiteness, input
                shape, labels within the model's classes); a dataset is checked on its
                ``element_spec`` and its first batch.
            validation_data: the same kinds, evaluated after every epoch (``val_`` keys).
            epochs: index of the last epoch, ``>= 1`` (as in Keras: a resumed run continues up to it).
            verbose: ``0`` silent; ``1`` adds a :class:`nnlib.callbacks.ProgressBar`.
            batch_size, shuffle, seed: only used when ``train`` is a pair of arrays.
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
        import keras
        import tensorflow as tf

        from nnlib.callbacks import DivergenceGuard, ProgressBar

        epochs = check_int("epochs", epochs, minimum=1)
        verbose = check_int("verbose", verbose, minimum=0)
        batch_size = check_int("batch_size", batch_size, minimum=1)  # checked even where unused
        shuffle, seed = check_bool("shuffle", shuffle), check_int("seed", seed, minimum=0)
        check_bool("record_grad_norms", record_grad_norms)
        check_numerics = check_bool("check_numerics", check_numerics)
        train = self._as_dataset("train", train, batch_size, shuffle, seed)
        if validation_data is not None:
            validation_data = self._as_dataset("validation_data", validation_data, batch_size, False, seed)
        history = keras.callbacks.History()
        callbacks = list(self.callbacks)
        if verbose and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            callbacks.append(ProgressBar(verbose=verbose))
        callbacks.append(history)
        guards = [cb for cb in callbacks if isinstance(cb, DivergenceGuard)]
        if guards:
            self._check_weights_finite()
        if guards and self._last_good is None:
            import tensorflow as tf

            with self.strategy.scope():
                self._last_good = [tf.Variable(w.value, trainable=False) for w in self.model.weights]
        for cb in callbacks:
            cb.set_model(self.model)
            cb.set_params({"epochs": epochs, "verbose": verbose, "steps": None})
            if hasattr(cb, "set_trainer"):
                cb.set_trainer(self)

        self.model.stop_training = False
        self.initial_epoch = 0
        logs: dict = {}
        for cb in callbacks:
            cb.on_train_begin(logs)
        for _ in range(self.initial_epoch):  # resumed: replay the data order of the done epochs
            for _ in train:
                pass
        train_epoch = self._train_epoch_fn(record_grad_norms, bool(guards), check_numerics)
        dist_train = self.strategy.experimental_distribute_dataset(train)
        if validation_data is not None:
            dist_val = self.strategy.experimental_distribute_dataset(validation_data)
        for epoch in range(self.initial_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            steps_before = int(self.optimizer.iterations.numpy())
            for metric in self.metrics:
                metric.reset_state()
            try:
                loss, norms, bad_step, bad_loss, bad_weights = train_epoch(dist_train)
            except tf.errors.InvalidArgumentError as err:  # check_numerics found a bad batch
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
            logs = {"loss": float(loss)}
            logs.update({m.name: float(m.result()) for m in self.metrics})
            if guards and int(bad_step) >= 0:
                last_good = [b.numpy() for b in self._last_good]
                for guard in guards:
                    guard.on_divergence(epoch, steps_before + int(bad_step), float(bad_loss), last_good,
                                        weights_finite=not bool(bad_weights))
            if validation_data is not None:
                logs.update({f"val_{k}": v for k, v in self._evaluate(dist_val).items()})
            if record_grad_norms:
                logs.update({f"grad_norm/{name}": float(v) for (name, _), v in zip(self._layer_groups, norms.numpy())})
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.model.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end(logs)
        return history

    def _check_weights_finite(self) -> None:
        """A guard restores the last finite weights: there must be some to start from."""
        for w in self.model.weights:
            value = np.asarray(w.numpy())
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                raise ValueError(
                    "`model` must have finite weights when training starts with a DivergenceGuard "
                    f"(it can only restore finite weights). Received: {w.path} with NaN/inf values"
                )

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
        loss = self._eval_fn()(dist_data)
        results = {"loss": float(loss)}
        results.update({m.name: float(m.result()) for m in self.metrics})
        return results

    def predict(self, x: Any, batch_size: int = 32) -> np.ndarray:
        """Model outputs (logits or probabilities, as the model gives them) in inference mode.

        Args:
            x: an array of inputs ``(n, ...)``, or a ``tf.data.Dataset`` of ``x`` batches or of
                ``(x, y)`` batches (``y`` is ignored).
            batch_size: batch size for an array.

        Returns:
            A NumPy array of shape ``(n, outputs)``.
        """
        import tensorflow as tf

        from nnlib.data import to_dataset

        if not isinstance(x, tf.data.Dataset):
            x = as_float_array("x", x)
            self._check_x("x", x.shape)
            if len(x) == 0:  # no samples, no outputs
                return np.zeros((0, *self.model.output_shape[1:]), np.float32)
            x = to_dataset(x, batch_size=check_int("batch_size", batch_size, minimum=1))
        elif isinstance(x.element_spec, tuple):
            x = x.map(lambda xb, *rest: xb)
        if "predict" not in self._epoch_fns:
            self._epoch_fns["predict"] = _compile(lambda xb: self.model(xb, training=False))
        forward = self._epoch_fns["predict"]
        return np.concatenate([forward(xb).numpy() for xb in x], axis=0)
