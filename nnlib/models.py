r"""Keras 3 model builders shared by the chapters: an MLP, a small CNN, a recurrent network.

Serves Chapter 2.4, *Deep learning vs classical machine learning*; Chapters 3.7,
*Regularization: L1, L2, dropout, early stopping and batch normalization*, 3.9, *Convolution and
pooling*, and 3.10, *Recurrent networks and backpropagation through time*; the programs of Part 4
(4.1, *A binary classifier in Keras 3*, to 4.6, *The custom training loop: callbacks, checkpoints
and distribution*, and 4.8, *Saving, loading and exporting models*); and Chapters 5.1, *Compute
cost and efficiency*, 5.3, *Interpretability and robustness*, and 5.4, *Privacy, deployment and
sustainability*. Each builder returns an uncompiled
``keras.Sequential`` whose first layer is a ``keras.Input``, so the model is built (its weights
exist) as soon as the function returns. :func:`keras_twin` builds the Keras copy of a NumPy
:class:`nnlib.numpy_net.MLP` (Chapter 3.3, *Forward propagation and backpropagation*, and Chapter
4.7, *The NumPy network vs Keras*).

**Outputs are logits by default** (``output_activation=None``): the last ``Dense`` layer computes
:math:`z = a W + b` and the loss applies the softmax/sigmoid itself, which is numerically stable.
Pair it with ``from_logits=True`` (e.g.
``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``). Pass
``output_activation="softmax"`` (or ``"sigmoid"``) to get probabilities instead, and then use the
loss with ``from_logits=False``.

**Random streams.** Every builder takes ``seed=``. With ``seed=None`` (the default) the layers
draw from Keras's global generator, which :func:`nnlib.repro.seed_everything` seeds: the weights
then depend on everything built before in the same process. With an integer ``seed`` every random
part of the model -- each kernel initializer (the recurrent layers' orthogonal one too), each
``Dropout`` layer and each recurrent layer's own dropout generator -- gets its own seed, derived
from ``seed`` and its position (``np.random.SeedSequence([seed, i])``), so the same call builds
the same model whatever ran before, and nothing is drawn from the global generators.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nnlib import perturb
from nnlib._validation import check_in_range, check_int, check_one_of, check_type
from nnlib.numpy_net import MLP
from nnlib.repro import import_tensorflow

import_tensorflow()  # TF's start-up log lines kept out of stderr before keras loads it

import keras  # noqa: E402

__all__ = ["mlp", "cnn", "rnn", "keras_twin"]

_OUTPUTS = (None, "softmax", "sigmoid", "linear")


def _shape(input_shape: int | Sequence[int], rank: int | None = None) -> tuple[int, ...]:
    """Normalize an input shape (without the batch dimension) and check its rank."""
    shape = (
        (input_shape,)
        if isinstance(input_shape, int) and not isinstance(input_shape, bool)
        else input_shape
    )
    check_type(
        "input_shape", shape, (tuple, list), "an int or a tuple of ints (without the batch axis)"
    )
    shape = tuple(check_int("input_shape", d, minimum=1) for d in shape)
    if rank is not None and len(shape) != rank:
        raise ValueError(
            f"`input_shape` must have {rank} entries (without the batch axis). "
            f"Received: input_shape={shape}"
        )
    return shape


def _units(name: str, units: int | Sequence[int]) -> tuple[int, ...]:
    units = (units,) if isinstance(units, int) and not isinstance(units, bool) else units
    check_type(name, units, (tuple, list), "an int or a sequence of ints")
    return tuple(check_int(name, u, minimum=1) for u in units)


@contextlib.contextmanager
def _global_streams_kept() -> Iterator[None]:
    """Building a Keras initializer without a seed draws one from Python's ``random``: inside this
    block the global generators' states are restored afterwards, so building an object to check
    or seed it never changes the weights of a model built later."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _keras_identifier(name: str, value, getter, what: str):
    """``value`` if Keras's ``getter`` understands it (e.g. ``"relu"``, a function, an object)."""
    try:
        with _global_streams_kept():
            getter(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"`{name}` must be a Keras {what} name such as {_EXAMPLES[what]}, or a callable. "
            f"Received: {name}={value!r:.80}"
        ) from None
    return value


class _LayerSeeds:
    """Seeds for the random parts of one model, derived from one ``seed`` (see the module docstring).

    ``seed=None`` leaves every layer as it was before ``seed=`` existed: no argument is added, so
    Keras's global generator decides, exactly as in the chapters' stored runs.
    """

    def __init__(self, seed: int | None) -> None:
        self.seed = None if seed is None else check_int("seed", seed, minimum=0, maximum=2**32 - 1)
        self.count = 0

    def _next(self) -> int:
        self.count += 1
        return int(np.random.SeedSequence([self.seed, self.count]).generate_state(1)[0])

    def initializers(self, **identifiers: Any) -> dict[str, Any]:
        """Layer keyword arguments: each random initializer with its own seed (``{}`` unseeded)."""
        if self.seed is None:
            return {}
        return {key: self._seeded(value) for key, value in identifiers.items()}

    def _seeded(self, identifier: Any) -> Any:
        with _global_streams_kept():
            initializer = keras.initializers.get(identifier)
        config = initializer.get_config() if hasattr(initializer, "get_config") else {}
        if "seed" not in config:  # zeros, ones, a plain function: nothing random to seed
            return initializer
        return type(initializer).from_config({**config, "seed": self._next()})

    def dropout(self) -> dict[str, Any]:
        """``Dropout`` keyword arguments: its own seed (``{}`` unseeded)."""
        return {} if self.seed is None else {"seed": self._next()}


_EXAMPLES = {"activation": "'relu', 'tanh'", "initializer": "'glorot_uniform', 'he_normal'"}


def _check_head(num_classes: int, output_activation: str | None) -> None:
    check_int("num_classes", num_classes, minimum=1)
    check_one_of("output_activation", output_activation, _OUTPUTS)


def _head(
    layers, num_classes: int, dropout: float, output_activation: str | None, seeds: _LayerSeeds
):
    """Optional dropout, then the output layer (logits unless an activation is asked for)."""
    if dropout > 0:
        layers.append(keras.layers.Dropout(dropout, **seeds.dropout()))
    layers.append(
        keras.layers.Dense(
            num_classes,
            activation=output_activation,
            name="output",
            **seeds.initializers(kernel_initializer="glorot_uniform"),
        )
    )
    return layers


def _nudged(model):
    """The model, its initial weights one ulp off in perturbation mode (see :mod:`nnlib.perturb`)."""
    if perturb.enabled():
        for i, weight in enumerate(model.weights):
            weight.assign(perturb.nudge(weight.numpy(), seed=i))
    return model


def mlp(
    input_shape: int | Sequence[int],
    hidden_units: int | Sequence[int] = (64,),
    num_classes: int = 10,
    activation: str = "relu",
    dropout: float = 0.0,
    output_activation: str | None = None,
    kernel_initializer: str = "glorot_uniform",
    name: str = "mlp",
    seed: int | None = None,
) -> keras.Sequential:
    r"""A multilayer perceptron: ``Dense -> (Dropout) -> ... -> Dense(num_classes)``.

    Layer :math:`l` computes :math:`a^{(l)} = \phi(a^{(l-1)} W^{(l)} + b^{(l)})`; dropout (rate
    ``dropout``) follows every hidden layer; the output layer is
    :math:`z = a^{(L-1)} W^{(L)} + b^{(L)}` (logits) or its softmax/sigmoid.

    Args:
        input_shape: number of input features, e.g. ``64`` (or a 1-tuple).
        hidden_units: width of each hidden layer, e.g. ``(128, 64)``; ``()`` gives a linear /
            logistic model.
        num_classes: output units (10 for digits, 1 for a binary logit or a regression).
        activation: hidden activation (any Keras name: ``"relu"``, ``"tanh"``, ``"sigmoid"``, ...).
        dropout: dropout rate after each hidden layer, in ``[0, 1)``.
        output_activation: ``None`` (logits, default), ``"softmax"``, ``"sigmoid"`` or ``"linear"``.
        kernel_initializer: Keras initializer name for the hidden layers.
        name: model name.
        seed: ``None`` (Keras's global generator, seeded by
            :func:`nnlib.repro.seed_everything`) or an integer in ``[0, 2**32 - 1]`` that alone
            fixes every initial weight and dropout mask (see the module docstring).

    Returns:
        A built ``keras.Sequential`` mapping ``(batch, features)`` to ``(batch, num_classes)``.

    Example:
        >>> model = mlp(64, hidden_units=(32,), num_classes=10)
        >>> model.count_params()  # 64*32 + 32 + 32*10 + 10
        2410
    """
    shape = _shape(input_shape, rank=1)
    hidden = _units("hidden_units", hidden_units)
    dropout = check_in_range("dropout", dropout, 0.0, 1.0, high_inclusive=False)
    _keras_identifier("activation", activation, keras.activations.get, "activation")
    _keras_identifier(
        "kernel_initializer", kernel_initializer, keras.initializers.get, "initializer"
    )
    _check_head(num_classes, output_activation)
    seeds = _LayerSeeds(seed)
    layers = [keras.Input(shape=shape)]
    for i, units in enumerate(hidden, start=1):
        kernel = {
            "kernel_initializer": kernel_initializer,
            **seeds.initializers(kernel_initializer=kernel_initializer),
        }
        layers.append(keras.layers.Dense(units, activation=activation, name=f"dense_{i}", **kernel))
        if dropout > 0 and i < len(hidden):
            layers.append(keras.layers.Dropout(dropout, **seeds.dropout()))
    layers = _head(layers, num_classes, dropout if hidden else 0.0, output_activation, seeds)
    return _nudged(keras.Sequential(layers, name=name))


def cnn(
    input_shape: Sequence[int],
    filters: int | Sequence[int] = (32, 64),
    kernel_size: int = 3,
    pool_size: int = 2,
    dense_units: int | Sequence[int] = (64,),
    num_classes: int = 10,
    activation: str = "relu",
    dropout: float = 0.0,
    output_activation: str | None = None,
    name: str = "cnn",
    seed: int | None = None,
) -> keras.Sequential:
    r"""A small convolutional network: ``[Conv2D -> MaxPool] x n -> Flatten -> Dense ... -> Dense``.

    Each block computes :math:`a = \phi(x \star K + b)` with ``"same"`` padding, then halves the
    height and width with max pooling (``pool_size``), so an 8×8 digit becomes 4×4 and then 2×2.

    Args:
        input_shape: ``(height, width, channels)`` (NHWC, e.g. ``(8, 8, 1)``).
        filters: number of filters of each conv block.
        kernel_size: square kernel side.
        pool_size: square pooling window and stride; each block divides height and width by it.
        dense_units: hidden ``Dense`` widths after ``Flatten``.
        num_classes, activation, dropout, output_activation, name, seed: as in :func:`mlp`
            (dropout is applied after ``Flatten`` and after each hidden ``Dense``).

    Returns:
        A built ``keras.Sequential`` mapping ``(batch, h, w, c)`` to ``(batch, num_classes)``.

    Example:
        >>> cnn((8, 8, 1)).output_shape
        (None, 10)
    """
    shape = _shape(input_shape, rank=3)
    filters = _units("filters", filters)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    pool_size = check_int("pool_size", pool_size, minimum=1)
    dense = _units("dense_units", dense_units)
    dropout = check_in_range("dropout", dropout, 0.0, 1.0, high_inclusive=False)
    _keras_identifier("activation", activation, keras.activations.get, "activation")
    _check_head(num_classes, output_activation)
    seeds = _LayerSeeds(seed)
    if min(shape[:2]) < pool_size ** len(filters):
        raise ValueError(
            f"`input_shape` is too small for {len(filters)} pooling steps of size {pool_size}: "
            f"height and width must be >= {pool_size ** len(filters)}. Received: input_shape={shape}"
        )
    layers = [keras.Input(shape=shape)]
    for i, f in enumerate(filters, start=1):
        layers.append(
            keras.layers.Conv2D(
                f,
                kernel_size,
                padding="same",
                activation=activation,
                name=f"conv_{i}",
                **seeds.initializers(kernel_initializer="glorot_uniform"),
            )
        )
        layers.append(
            keras.layers.MaxPooling2D(pool_size, name=f"pool_{i}")
        )  # (h, w) -> (h/p, w/p)
    layers.append(keras.layers.Flatten())  # (h', w', f) -> (h' w' f,)
    for i, units in enumerate(dense, start=1):
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout, **seeds.dropout()))
        layers.append(
            keras.layers.Dense(
                units,
                activation=activation,
                name=f"dense_{i}",
                **seeds.initializers(kernel_initializer="glorot_uniform"),
            )
        )
    return _nudged(
        keras.Sequential(_head(layers, num_classes, dropout, output_activation, seeds), name=name)
    )


def rnn(
    input_shape: Sequence[int],
    units: int | Sequence[int] = 32,
    cell: str = "lstm",
    num_classes: int = 1,
    dropout: float = 0.0,
    output_activation: str | None = None,
    name: str = "rnn",
    seed: int | None = None,
) -> keras.Sequential:
    r"""A recurrent network for sequences: stacked ``SimpleRNN``/``LSTM``/``GRU`` -> ``Dense``.

    The simple cell is :math:`h_t = \tanh(x_t W_x + h_{t-1} W_h + b)`; LSTM and GRU add gates that
    keep gradients alive over long sequences. Every recurrent layer but the last returns the whole
    sequence; the last returns :math:`h_T`, which the output layer maps to ``num_classes`` values.

    Args:
        input_shape: ``(timesteps, features)``; ``timesteps`` may not be ``None`` here.
        units: hidden size of each recurrent layer, e.g. ``32`` or ``(64, 32)``.
        cell: ``"simple"``, ``"lstm"`` or ``"gru"``.
        num_classes: output units (1 for a regression or a binary logit).
        dropout: dropout rate on :math:`h_T` before the output layer, in ``[0, 1)``.
        output_activation, name, seed: as in :func:`mlp`.

    Returns:
        A built ``keras.Sequential`` mapping ``(batch, timesteps, features)`` to
        ``(batch, num_classes)``.

    Example:
        >>> rnn((20, 1), units=8, cell="simple").count_params()  # 1*8 + 8*8 + 8, then 8 + 1
        89
    """
    shape = _shape(input_shape, rank=2)
    units = _units("units", units)
    check_one_of("cell", cell, ("simple", "lstm", "gru"))
    dropout = check_in_range("dropout", dropout, 0.0, 1.0, high_inclusive=False)
    _check_head(num_classes, output_activation)
    seeds = _LayerSeeds(seed)
    layer_cls = {
        "simple": keras.layers.SimpleRNN,
        "lstm": keras.layers.LSTM,
        "gru": keras.layers.GRU,
    }[cell]
    layers = [keras.Input(shape=shape)]
    for i, u in enumerate(units, start=1):
        # a recurrent layer has two random initializers and its own (unused) dropout generator
        seeded = {
            **seeds.initializers(
                kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal"
            ),
            **seeds.dropout(),
        }
        layers.append(layer_cls(u, return_sequences=i < len(units), name=f"{cell}_{i}", **seeded))
    return _nudged(
        keras.Sequential(_head(layers, num_classes, dropout, output_activation, seeds), name=name)
    )


@keras.saving.register_keras_serializable(package="nnlib")
def _leaky_relu(x):
    r"""Keras's ``leaky_relu`` (slope 0.2) in the input's own dtype: :math:`x` if :math:`x > 0`, else
    :math:`0.2 x`, with derivative 0.2 at 0 (TensorFlow's convention).

    On TensorFlow, ``activation="leaky_relu"`` calls ``tf.nn.leaky_relu``, whose slope is a float32
    attribute (0.2 becomes 0.2 + 3e-9): a float64 twin would then differ from
    :func:`nnlib.activations.leaky_relu` by about 1e-8 relative instead of by float64 rounding.
    """
    return keras.ops.where(x > 0, x, 0.2 * x)


#: nnlib activation -> the Keras activation that computes the same function with the same default
#: parameters (``leaky_relu``: slope 0.2, exact in float64; ``elu``: ``alpha=1.0``).
_KERAS_ACTIVATIONS = {
    "linear": "linear",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": _leaky_relu,
    "elu": "elu",
}


def keras_twin(net: MLP) -> keras.Sequential:
    r"""The Keras copy of a NumPy :class:`nnlib.numpy_net.MLP`: same layers, same weights, **logits** out.

    Serves Chapter 3.3, *Forward propagation and backpropagation* (backpropagation checked
    against ``tf.GradientTape``), and Chapter 4.7, *The NumPy network vs Keras* (both networks
    trained step by step from the same weights).

    Hidden layer :math:`l` computes :math:`a^l = f(a^{l-1} W^l + b^l)` with the net's activation
    :math:`f`, as the net does; the last ``Dense`` layer is linear, so the model outputs the logits
    :math:`z^L = a^{L-1} W^L + b^L`, not the probabilities :math:`\mathrm{softmax}(z^L)` of
    ``net.forward``. The softmax belongs in the loss: pair the twin with
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=net.dtype)``, whose
    gradient with respect to the logits is the :math:`\frac1n(\mathrm{softmax}(z) - Y)` that the
    net backpropagates.

    The ``Input`` and every layer have ``dtype=net.dtype``, so a float64 net gets a float64 model
    without ``keras.backend.set_floatx`` (the loss needs its own ``dtype``, as above). The weights
    are copies of ``net.params`` at the time of the call (already one ulp off in perturbation
    mode, and not moved again): training either network afterwards leaves the other unchanged.
    Building it draws nothing from the global random generators, so the models built after it get
    the weights they would get without it.
    The twin is the network at inference: the net's dropout is not copied (its masks could not
    match anyway), nor its L2 penalty (add ``net.l2`` times the kernels' squared norms to the loss).

    Args:
        net: the NumPy network; its activation must be one of ``linear``, ``sigmoid``, ``tanh``,
            ``relu``, ``leaky_relu``, ``elu`` (Keras has each, with the same defaults; the twin's
            ``leaky_relu`` keeps its slope in float64, see :func:`_leaky_relu`).

    Returns:
        A built, uncompiled ``keras.Sequential`` mapping ``(batch, layer_sizes[0])`` to logits
        ``(batch, layer_sizes[-1])``, with layers ``dense_1, ..., output``.

    Raises:
        TypeError: ``net`` is not an :class:`~nnlib.numpy_net.MLP`.
        ValueError: the net's activation has no Keras equivalent.

    Example:
        >>> twin = keras_twin(MLP([4, 8, 3], activation="tanh", seed=0))
        >>> twin.output_shape, twin.layers[-1].activation.__name__, twin.weights[0].dtype
        ((None, 3), 'linear', 'float64')
    """
    check_type("net", net, MLP, "an nnlib.numpy_net.MLP")
    activation = _KERAS_ACTIVATIONS.get(net.activation) if isinstance(net.activation, str) else None
    if activation is None:
        raise ValueError(
            f"`net.activation` must have a Keras equivalent, one of {list(_KERAS_ACTIVATIONS)}. "
            f"Received: net.activation={net.activation!r}"
        )
    check_one_of("net.output", net.output, ["softmax"])
    sizes, dtype = net.layer_sizes, net.dtype
    with _global_streams_kept():  # the initial weights are overwritten: draw nothing for them
        layers = [keras.Input((sizes[0],), dtype=dtype)]
        for i, units in enumerate(sizes[1:-1], start=1):
            layers.append(
                keras.layers.Dense(units, activation=activation, dtype=dtype, name=f"dense_{i}")
            )
        layers.append(keras.layers.Dense(sizes[-1], dtype=dtype, name="output"))  # logits
        model = keras.Sequential(layers, name="keras_twin")
    model.set_weights(net.params)  # W1, b1, W2, b2, ... copied into the model's variables
    return model
