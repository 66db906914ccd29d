r"""A multilayer perceptron from scratch in NumPy: forward pass, backpropagation, mini-batch training.

Serves Chapter 3.3, *Forward propagation and backpropagation* (derived, implemented, checked by
finite differences and by ``GradientTape``) and Chapter 4.7, *The NumPy network vs Keras*; it is the
network trained in Chapters 3.5, *Momentum and adaptive optimizers*, 3.7, *Regularization: L1, L2,
dropout, early stopping and batch normalization*, 3.8, *Weight initialization*, 5.2, *Automated
search and the need for data*, and the FAQ (Part 6, *Frequently asked questions*).

Notation (the book's): layer :math:`l = 1..L` has weights :math:`W^l` of shape ``(in, out)`` (like a
Keras ``Dense`` kernel, so ``x @ W``) and bias :math:`b^l`;

.. math::
    z^l = a^{l-1} W^l + b^l, \qquad a^l = f(z^l), \qquad a^0 = X, \qquad a^L = \mathrm{softmax}(z^L).

Backpropagation for the mean cross-entropy :math:`L = -\frac1n\sum_i \log a^L_{i,y_i}`:

.. math::
    \delta^L = \frac{1}{n}(a^L - Y), \qquad
    \frac{\partial L}{\partial W^l} = (a^{l-1})^\top \delta^l, \qquad
    \frac{\partial L}{\partial b^l} = \textstyle\sum_i \delta^l_i, \qquad
    \delta^{l-1} = (\delta^l\, {W^l}^\top) \odot f'(z^{l-1}).

Everything is vectorized over the batch (no Python loop over samples).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import numpy as np

from nnlib import initializers
from nnlib._validation import (
    accepts,
    cast_finite,
    check_bool,
    check_callable,
    check_float_dtype,
    check_float_input,
    check_in_range,
    check_int,
    check_labels,
    check_memory,
    check_nonnegative,
    check_one_of,
    check_same_length,
    check_type,
)
from nnlib.activations import _KERNELS, ACTIVATIONS, _log_softmax, _softmax
from nnlib.optimizers import SGD, Optimizer
from nnlib.perturb import nudge
from nnlib.regularizers import dropout as dropout_fn

__all__ = ["MLP"]


def _check_callback(callback) -> None:
    """``callback(epoch, logs)`` must accept two positional arguments."""
    check_callable("callback", callback, "a function callback(epoch, logs)")
    if not accepts(callback, 0, {}):
        raise TypeError(
            "`callback` must accept two arguments, callback(epoch, logs). "
            f"Received: callback with signature {inspect.signature(callback)}"
        )


class MLP:
    r"""Fully connected classifier: hidden layers with activation ``f``, a softmax output.

    Args:
        layer_sizes: ``[n_inputs, hidden_1, ..., n_classes]`` (at least two entries).
        activation: hidden activation, a key of :data:`nnlib.activations.ACTIVATIONS`
            (``"relu"``, ``"tanh"``, ``"sigmoid"``, ...).
        output: the output layer; ``"softmax"`` (with mean cross-entropy loss).
        seed: one seed for three independent random streams (below): the weights (Glorot
            uniform, zero biases: Keras's ``Dense`` defaults), the dropout masks, and the
            shuffling in :meth:`fit`.
        dropout: rate in [0, 1) of inverted dropout after every hidden layer (training only).
        l2: factor :math:`\lambda \ge 0` of the penalty :math:`\lambda\sum_l \lVert W^l\rVert^2` added
            to the loss (Keras's ``kernel_regularizer=L2(l2)``; biases are not penalized).
        dtype: ``"float64"`` (for gradient checks) or ``"float32"``.

    Attributes:
        params: ``[W1, b1, W2, b2, ...]``, the arrays the optimizer updates in place.
        init_rng, dropout_rng, shuffle_rng: the three random streams. ``init_rng`` is
            ``np.random.default_rng(seed)``; the other two are its
            ``np.random.SeedSequence(seed).spawn(2)`` children, statistically independent of it
            and of each other. So changing ``dropout`` changes only the masks, never the initial
            weights or the order in which :meth:`fit` visits the samples, and adding a layer
            changes the weights but not the shuffle order.

    Example:
        >>> net = MLP([4, 8, 3], seed=0)
        >>> net.forward(np.zeros((2, 4))).shape
        (2, 3)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        output: str = "softmax",
        seed: int = 0,
        dropout: float = 0.0,
        l2: float = 0.0,
        dtype: str = "float64",
    ) -> None:
        check_type("layer_sizes", layer_sizes, (list, tuple), "a list of layer widths")
        if len(layer_sizes) < 2:
            raise ValueError(
                "`layer_sizes` must have at least 2 entries (inputs and classes). "
                f"Received: layer_sizes={list(layer_sizes)}"
            )
        self.layer_sizes = [check_int("layer_sizes", n, minimum=1) for n in layer_sizes]
        self.activation = check_one_of("activation", activation, list(ACTIVATIONS))
        self.output = check_one_of("output", output, ["softmax"])
        self.seed = check_int("seed", seed, minimum=0)
        self.dropout = check_in_range("dropout", dropout, 0.0, 1.0, high_inclusive=False)
        self.l2 = check_nonnegative("l2", l2)
        self.dtype = check_float_dtype("dtype", dtype)
        sizes = self.layer_sizes
        n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        check_memory("layer_sizes", layer_sizes, n_params, 8)  # the float64 draw of the weights
        self.f, self.f_grad = _KERNELS[self.activation]  # inputs are validated once, up front
        root = np.random.SeedSequence(self.seed)
        dropout_seeds, shuffle_seeds = root.spawn(2)
        self.init_rng = np.random.default_rng(root)  # the same stream as default_rng(seed)
        self.dropout_rng = np.random.default_rng(dropout_seeds)
        self.shuffle_rng = np.random.default_rng(shuffle_seeds)
        self.params: list[np.ndarray] = []
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            self.params.append(
                initializers.glorot_uniform((n_in, n_out), self.init_rng, self.dtype)
            )
            self.params.append(initializers.zeros((n_out,), dtype=self.dtype))
        self.params = [
            nudge(p, seed=i) for i, p in enumerate(self.params)
        ]  # a no-op unless NNLIB_PERTURB is set

    @property
    def num_layers(self) -> int:
        """Number of weight layers :math:`L`."""
        return len(self.params) // 2

    # ------------------------------------------------------------------ forward
    def _check_x(self, X, name: str = "X") -> np.ndarray:
        X = check_float_input(name, X, rank=2, meaning="(batch, features)")
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"`{name}` must have {self.layer_sizes[0]} features (layer_sizes[0]). "
                f"Received: {name}.shape={X.shape}"
            )
        return cast_finite(name, X, self.dtype)  # a float64 value beyond float32 is an error

    def _check_y(self, y, X: np.ndarray, name: str = "y", x_name: str = "X") -> np.ndarray:
        """Integer labels, one per row of ``X``: shape ``(n,)``, or ``(n, 1)`` (flattened, as
        Keras's sparse losses accept it); at least one sample."""
        y = check_labels(name, y, self.layer_sizes[-1])
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            hint = f" (one-hot rows? pass np.argmax({name}, axis=1))" if y.ndim == 2 else ""
            raise ValueError(
                f"`{name}` must have shape (batch,) or (batch, 1): one integer label per sample{hint}. "
                f"Received: {name}.shape={y.shape}"
            )
        check_same_length(x_name, X, name, y)
        if len(y) == 0:
            raise ValueError(
                f"`{x_name}` must hold at least one sample. Received: {x_name}.shape={X.shape}"
            )
        return y

    def _forward(self, X: np.ndarray, training: bool):
        """Return ``zs`` (pre-activations), ``activations`` (a^0 = X, ..., a^L) and dropout masks."""
        zs, activations, masks = [], [X], []
        a = X
        for l in range(self.num_layers):
            W, b = self.params[2 * l], self.params[2 * l + 1]
            z = a @ W + b  # (batch, in) @ (in, out) -> (batch, out)
            zs.append(z)
            if l < self.num_layers - 1:
                a = self.f(z)
                if training and self.dropout > 0:
                    a, mask = dropout_fn(a, self.dropout, self.dropout_rng)
                    masks.append(mask)
                else:
                    masks.append(None)
            else:
                a = _softmax(z)  # (batch, classes), rows sum to 1
            activations.append(a)
        return zs, activations, masks

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities :math:`a^L`, shape ``(batch, classes)`` (inference: no dropout)."""
        return self._forward(self._check_x(X), training=False)[1][-1]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class labels, shape ``(batch,)``."""
        return np.argmax(self.forward(X), axis=1)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of correctly classified samples."""
        X = self._check_x(X)
        y = self._check_y(y, X)
        return float(np.mean(self.predict(X) == y))

    # ------------------------------------------------------------------ backward
    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, training: bool = False
    ) -> tuple[float, list[np.ndarray]]:
        r"""Mean cross-entropy (+ L2 penalty) and its gradients by backpropagation.

        Args:
            X: inputs, shape ``(batch, layer_sizes[0])``.
            y: integer labels in ``[0, classes)``, shape ``(batch,)``.
            training: apply dropout (``fit`` passes ``True``; gradient checks use ``False``).

        Returns:
            ``(loss, grads)`` with ``grads`` in the order of :attr:`params`.
        """
        X = self._check_x(X)
        y = self._check_y(y, X)
        loss, grads, _ = self._backprop(X, y, check_bool("training", training))
        return loss, grads

    def _cross_entropy(self, z: np.ndarray, y: np.ndarray) -> float:
        r"""Mean cross-entropy :math:`-\frac1n\sum_i \log \mathrm{softmax}(z_i)_{y_i}` from the logits."""
        log_p = _log_softmax(z)  # stable: no log(0) even for huge logits
        return -float(np.mean(log_p[np.arange(len(y)), y]))

    def _penalty(self) -> float:
        r"""The L2 penalty :math:`\lambda\sum_l \lVert W^l\rVert^2` (0 without ``l2``)."""
        return self.l2 * sum(float(np.sum(W * W)) for W in self.params[0::2]) if self.l2 else 0.0

    def _backprop(self, X, y, training):
        n = X.shape[0]
        zs, activations, masks = self._forward(X, training)
        loss = self._cross_entropy(zs[-1], y) + self._penalty()
        Y = np.zeros_like(activations[-1])
        Y[np.arange(n), y] = 1  # one-hot, (batch, classes)
        delta = (activations[-1] - Y) / n  # dL/dz^L for softmax + mean cross-entropy
        grads: list[np.ndarray] = [None] * len(self.params)  # type: ignore[list-item]
        for l in reversed(range(self.num_layers)):
            W = self.params[2 * l]
            grads[2 * l] = activations[l].T @ delta  # (in, batch) @ (batch, out) -> (in, out)
            grads[2 * l + 1] = delta.sum(axis=0)
            if self.l2:
                grads[2 * l] = grads[2 * l] + 2 * self.l2 * W
            if l > 0:
                delta = delta @ W.T  # (batch, out) @ (out, in) -> (batch, in) = dL/da^{l}
                if masks[l - 1] is not None:
                    delta = delta * masks[l - 1]
                delta = delta * self.f_grad(zs[l - 1])  # dL/dz^{l}
        return loss, grads, activations[-1]

    # ------------------------------------------------------------------ training
    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer: Optimizer | None = None,
        validation_data: tuple | None = None,
        shuffle: bool = True,
        callback: Callable[[int, dict[str, float]], None] | None = None,
    ) -> dict[str, list[float]]:
        """Mini-batch training, like ``keras.Model.fit``.

        Each epoch shuffles the samples (with :attr:`shuffle_rng`), then for each batch computes
        gradients by backpropagation (with dropout) and lets ``optimizer`` update :attr:`params`
        in place. Every argument is checked once, before the first step.

        Args:
            x, y: training inputs ``(n, features)`` and integer labels ``(n,)`` (or ``(n, 1)``).
            epochs: passes over the data.
            batch_size: samples per update (the last batch may be smaller).
            optimizer: any :mod:`nnlib.optimizers` optimizer (default ``SGD(0.01)``, as Keras's
                ``"sgd"``). Its state persists across calls.
            validation_data: optional ``(x_val, y_val)`` evaluated after each epoch by one
                forward pass in inference mode (no dropout, no gradients).
            shuffle: reshuffle the training set every epoch.
            callback: optional ``callback(epoch, logs)`` called after each epoch (progress output
                belongs there, not in the library); checked before training starts.

        Returns:
            History dict of per-epoch lists: ``"loss"``, ``"accuracy"`` (running averages over the
            epoch's batches, as Keras reports them) and ``"val_loss"``, ``"val_accuracy"``.
        """
        x, y, val, optimizer = self._check_fit(
            x, y, epochs, batch_size, optimizer, validation_data, shuffle, callback
        )
        history: dict[str, list[float]] = {}
        for epoch in range(epochs):
            order = self.shuffle_rng.permutation(len(x)) if shuffle else np.arange(len(x))
            logs = self._train_epoch(x, y, order, batch_size, optimizer)
            if val is not None:  # a forward pass only: no dropout, no gradients
                logs["val_loss"], logs["val_accuracy"] = self._loss_and_accuracy(*val)
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if callback is not None:
                callback(epoch, dict(logs))
        return history

    def _train_epoch(self, x, y, order, batch_size, optimizer) -> dict[str, float]:
        """One pass over the batches of ``x[order]``; the epoch's mean loss and accuracy."""
        total_loss, total_correct = 0.0, 0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            loss, grads, probs = self._backprop(
                x[idx], y[idx], training=True
            )  # 1. forward + backward
            optimizer.apply_gradients(zip(grads, self.params))  # 2. update params in place
            total_loss += loss * len(idx)  # 3. running statistics
            total_correct += int(np.sum(np.argmax(probs, axis=1) == y[idx]))
        return {"loss": total_loss / len(x), "accuracy": total_correct / len(x)}

    def _loss_and_accuracy(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Loss (with the L2 penalty) and accuracy of checked data, from one inference forward pass."""
        zs, activations, _ = self._forward(X, training=False)
        loss = self._cross_entropy(zs[-1], y) + self._penalty()
        return loss, float(np.mean(np.argmax(activations[-1], axis=1) == y))

    def _check_fit(self, x, y, epochs, batch_size, optimizer, validation_data, shuffle, callback):
        """Every argument of :meth:`fit`, checked once before training: the arrays, the
        validation pair (or ``None``) and the optimizer (default ``SGD(0.01)``)."""
        x = self._check_x(x, "x")
        y = self._check_y(y, x, "y", "x")
        check_int("epochs", epochs, minimum=1)
        check_int("batch_size", batch_size, minimum=1)
        check_bool("shuffle", shuffle)
        optimizer = SGD(learning_rate=0.01) if optimizer is None else optimizer
        check_type("optimizer", optimizer, Optimizer, "an nnlib.optimizers optimizer")
        if callback is not None:
            _check_callback(callback)
        if validation_data is None:
            return x, y, None, optimizer
        check_type("validation_data", validation_data, (tuple, list), "a tuple (x_val, y_val)")
        if len(validation_data) != 2:
            raise ValueError(
                "`validation_data` must be a pair (x_val, y_val). "
                f"Received: validation_data of length {len(validation_data)}"
            )
        x_val = self._check_x(validation_data[0], "validation_data x")
        y_val = self._check_y(validation_data[1], x_val, "validation_data y", "validation_data x")
        return x, y, (x_val, y_val), optimizer
