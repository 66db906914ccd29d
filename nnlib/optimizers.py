r"""Gradient-descent optimizers in NumPy, with the update rules of ``keras.optimizers``.

Serves Chapter 3.5, *Momentum and adaptive optimizers* (SGD, Momentum, Nesterov, AdaGrad, RMSprop,
Adam, AdamW, Muon; trajectories on a loss surface), Chapter 3.6, *Learning-rate decay and schedules*,
Chapter 4.7, *The NumPy network vs Keras*, and every chapter that trains :mod:`nnlib.numpy_net`'s
MLP (3.3, 3.7, 3.8, 5.2 and the FAQ).

Usage mirrors Keras::

    opt = Adam(learning_rate=1e-3)
    opt.apply_gradients(zip(grads, params))   # updates the NumPy arrays in `params` IN PLACE

Each optimizer keeps **explicit state**: ``opt.iterations`` (the number of updates done, Keras's
``optimizer.iterations``) and, per parameter array, a small dict of slot arrays
(``opt.get_state(w)``, e.g. ``{"m": ..., "v": ...}`` for Adam). ``learning_rate`` is a float or a
schedule (any callable ``step -> float``, e.g. :mod:`nnlib.schedules`) evaluated at
``step = opt.iterations``.

The docstrings give the textbook rule and say where Keras's differs; the code follows Keras, so a
trajectory equals the Keras optimizer's on the same gradients (``tests/test_optimizers.py``; in
float32 to the last bit, since every scalar is rounded to the parameter's dtype as Keras does).
Common to all (Keras's ``weight_decay``): if set, :math:`w \leftarrow w - \eta\lambda w` is applied
**before** the update (decoupled weight decay). Symbols: :math:`g` gradient, :math:`\eta` learning
rate, :math:`t` = ``iterations + 1``.

Muon's steps agree with Keras's only up to float32 rounding of its matrix products.

Where Keras overflows, we do better (and say so). Keras squares the gradient in the parameter's
dtype, so for :math:`|g| \gtrsim 1.8\cdot 10^{19}` in float32 (:math:`1.3\cdot 10^{154}` in
float64) :math:`g^2 = \infty` and Adam, RMSprop and Adagrad silently skip the step. Here the
second-moment slot is kept *scaled*: it holds :math:`v / 4^k`, and the gradient is squared as
:math:`(g\,2^{-k})^2`, with :math:`k = 0` (Keras's arithmetic, bit for bit) until a square would
overflow; then :math:`k` grows and the slot is divided by :math:`4^{\Delta k}` (exact: a power of
two), and ``opt.get_state(w)["exponent"]`` records :math:`k`. A zero denominator (``epsilon=0``
and a gradient that has always been 0) gives a step of 0, not NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from nnlib._validation import (
    _short,
    accepts,
    as_array,
    as_float_array,
    cast_finite,
    check_bool,
    check_finite,
    check_in_range,
    check_int,
    check_nonnegative,
    check_number,
    check_positive,
    check_rank,
    check_real_dtype,
)

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Muon", "newton_schulz"]

LearningRate = float | Callable[[int], float]


def _unit(name: str, value: float) -> float:
    """A decay/momentum coefficient in [0, 1)."""
    return check_in_range(name, value, 0.0, 1.0, high_inclusive=False)


def _check_schedule(schedule: Callable) -> Callable:
    """A learning-rate schedule must be callable as ``schedule(step)``."""
    if not accepts(schedule, 0):
        raise TypeError(
            "`learning_rate` must be a number or a schedule called as learning_rate(step) "
            f"(one argument: the step). Received: learning_rate={_short(schedule)}"
        )
    return schedule


def _second_moment(update: Callable, v: np.ndarray, g: np.ndarray, state: dict) -> int:
    r"""Set ``v[...] = update(v, g2)`` without overflow; return the exponent ``k`` of the slot.

    ``v`` holds the second moment divided by ``4**k`` (``k = state.get("exponent", 0)``) and
    ``g2`` is :math:`(g\,2^{-k})^2`. ``update`` is linear in ``(v, g2)`` (Adam's
    ``v + (g2 - v)(1 - beta_2)``, RMSprop's ``rho v + (1 - rho) g2``, Adagrad's ``v + g2``), so the
    scaled slot stays exact. With ``k = 0`` this is Keras's computation bit for bit; only when it
    overflows does ``k`` grow so that every scaled value stays below ``2**(max_exponent - 4)``.
    """
    k = state.get("exponent", 0)
    g_k = g if k == 0 else np.ldexp(g, -k)
    with np.errstate(over="ignore", invalid="ignore"):
        new = update(v, g_k * g_k)
    if not np.all(np.isfinite(new)):
        top = np.finfo(v.dtype).maxexp - 4  # keep |g 2^-k|^2 and v / 4^dk below 2^top
        e_g = math.frexp(float(np.max(np.abs(g))))[1]  # max |g| < 2^e_g
        e_v = math.frexp(float(np.max(v)))[1]
        k_new = max(k + 1, e_g - top // 2, k + (e_v - top + 1) // 2 + 1)
        with np.errstate(under="ignore"):
            v[...] = np.ldexp(v, -2 * (k_new - k))
            g_k = np.ldexp(g, -k_new)
            new = update(v, g_k * g_k)
        k = state["exponent"] = k_new
    v[...] = new
    return k


def _root(v: np.ndarray, k: int, epsilon: np.floating, inside: bool) -> np.ndarray:
    r""":math:`\sqrt{v + \epsilon}` (``inside``) or :math:`\sqrt{v} + \epsilon` of the true second
    moment, from the slot that holds it divided by ``4**k``."""
    if k == 0:
        return np.sqrt(v + epsilon) if inside else np.sqrt(v) + epsilon
    with np.errstate(under="ignore"):
        if inside:
            return np.ldexp(np.sqrt(v + np.ldexp(epsilon, -2 * k)), k)
        return np.ldexp(np.sqrt(v), k) + epsilon


def _divide(num: np.ndarray, denom: np.ndarray) -> np.ndarray:
    """``num / denom``, and 0 where ``denom == 0`` (``epsilon=0`` with an all-zero history)."""
    return np.divide(num, denom, out=np.zeros_like(num), where=denom != 0)


def _check_grads_and_params(grads_and_params: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(g, w)`` pairs, all checked before any parameter changes: ``w`` a finite float32/float64
    array (updated in place), ``g`` a finite array of its shape, cast to its dtype."""
    if isinstance(grads_and_params, (str, bytes, np.ndarray)) or not isinstance(
        grads_and_params, Iterable
    ):
        raise TypeError(
            "`grads_and_params` must be an iterable of (gradient, parameter) pairs, "
            f"e.g. zip(grads, params). Received: grads_and_params={_short(grads_and_params)}"
        )
    return [_check_pair(i, pair) for i, pair in enumerate(list(grads_and_params))]


def _check_pair(i: int, pair: Any) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(
            "`grads_and_params` must be an iterable of (gradient, parameter) pairs, "
            f"e.g. zip(grads, params). Received: element {i} = {pair!r:.80}"
        )
    g, w = pair
    if not (isinstance(w, np.ndarray) and w.dtype in (np.float32, np.float64)):
        raise TypeError(
            "Each parameter must be a float32/float64 NumPy array (updated in place). "
            f"Received: parameter {i} of type {type(w).__name__}"
            + (f" with dtype={w.dtype}" if isinstance(w, np.ndarray) else "")
        )
    check_finite(f"parameter {i}", w)  # NaN/inf weights: training has already diverged
    g = check_real_dtype(f"gradient {i}", as_array(f"gradient {i}", g))
    if g.shape != w.shape:
        raise ValueError(
            f"Each gradient must have its parameter's shape. Received: gradient {i} with "
            f"shape {g.shape} for a parameter of shape {w.shape}"
        )
    check_finite(f"gradient {i}", g)  # before the cast: NaN/inf that came in
    return cast_finite(f"gradient {i}", g, w.dtype), w  # after: 1e39 -> float32 is an error


def _check_no_legacy_arguments(optimizer: str, kwargs: dict[str, Any]) -> None:
    """Keras 2's names (``lr``, ``decay``) get a message that says what to write instead."""
    for key, value in kwargs.items():
        if key == "lr":
            raise ValueError(
                f"`lr` is not an argument of {optimizer}: Keras 3 (and nnlib) call it `learning_rate`; "
                f"use {optimizer}(learning_rate={value!r}). Received: lr={_short(value)}"
            )
        if key == "decay":
            raise ValueError(
                f"`decay` is not an argument of {optimizer} in Keras 3 (and nnlib): pass a schedule "
                "as `learning_rate`, e.g. learning_rate=nnlib.schedules.ExponentialDecay(...). "
                f"Received: decay={_short(value)}"
            )
        raise TypeError(
            f"`{key}` is not an argument of {optimizer}. See help(nnlib.optimizers.{optimizer}). "
            f"Received: {key}={_short(value)}"
        )


class Optimizer:
    """Base class: learning rate (float or schedule), weight decay, per-parameter state.

    Subclasses define ``_init_state(w) -> dict`` and ``_update(g, w, state, lr)``, which changes
    ``w`` in place; ``lr`` arrives as a scalar of ``w``'s dtype.
    """

    def __init__(
        self, learning_rate: LearningRate, weight_decay: float | None = None, **kwargs: Any
    ) -> None:
        _check_no_legacy_arguments(type(self).__name__, kwargs)
        if type(self) is Optimizer:
            raise TypeError(
                "`Optimizer` is the base class and cannot update anything: use SGD, Adagrad, RMSprop, "
                f"Adam, AdamW or Muon (or subclass it). Received: Optimizer(learning_rate={_short(learning_rate)})"
            )
        if callable(learning_rate):
            self.learning_rate: LearningRate = _check_schedule(learning_rate)
        else:
            self.learning_rate = check_positive("learning_rate", learning_rate)
        self.weight_decay = (
            None if weight_decay is None else check_nonnegative("weight_decay", weight_decay)
        )
        self.iterations = 0
        self._slots: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    # ---- state
    def get_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """The slot arrays kept for ``param`` (created with zeros/initial values on first use)."""
        if not (isinstance(param, np.ndarray) and param.dtype in (np.float32, np.float64)):
            raise TypeError(
                "`param` must be a float32/float64 NumPy array (a parameter this optimizer updates). "
                f"Received: param={_short(param)}"
            )
        key = id(param)
        if key not in self._slots:  # keep a reference to param so its id cannot be reused
            self._slots[key] = (param, self._init_state(param))
        return self._slots[key][1]

    def _init_state(self, w: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def current_learning_rate(self) -> float:
        """:math:`\\eta` for the next update: the float, or ``schedule(iterations)``."""
        if not callable(self.learning_rate):
            return self.learning_rate
        lr = self.learning_rate(self.iterations)
        try:
            value = check_number("learning_rate", lr[()] if isinstance(lr, np.ndarray) else lr)
        except (TypeError, ValueError):
            value = math.nan
        if not value >= 0:
            raise ValueError(
                "`learning_rate` schedule must return a finite number >= 0. "
                f"Received: learning_rate({self.iterations})={_short(lr)}"
            )
        return value

    # ---- the update
    def apply_gradients(self, grads_and_params: Iterable[tuple[np.ndarray, np.ndarray]]) -> None:
        r"""Apply one update to every ``(gradient, parameter)`` pair, in place; then
        ``iterations += 1``.

        .. math:: w \leftarrow w - \eta\lambda w \;\;(\text{only with weight\_decay } \lambda),
            \qquad w \leftarrow \text{update}(w, g, \text{state}, \eta)

        with :math:`\eta` = ``current_learning_rate()`` rounded to ``w``'s dtype, and the update
        rule of the subclass (its docstring). Every pair is checked before any parameter changes.

        Args:
            grads_and_params: pairs ``(g, w)``; ``w`` a float32/float64 NumPy array (updated in
                place), ``g`` an array of the same shape.
        """
        pairs = _check_grads_and_params(grads_and_params)
        eta = self.current_learning_rate()
        for g, w in pairs:
            eta_w = cast_finite("learning_rate", np.asarray(eta), w.dtype)[
                ()
            ]  # Keras rounds it to w's dtype
            decay = self._weight_decay_for(w)
            if decay is not None:
                w -= w * w.dtype.type(decay) * eta_w  # decoupled decay, before the step
            self._update(g, w, self.get_state(w), eta_w)
        self.iterations += 1

    def _weight_decay_for(self, w: np.ndarray) -> float | None:
        return self.weight_decay

    def _update(self, g: np.ndarray, w: np.ndarray, state: dict, lr: np.floating) -> None:
        raise TypeError(
            f"`{type(self).__name__}` must define _update(g, w, state, lr) (Optimizer is the base "
            f"class). Received: an instance of {type(self).__name__}"
        )


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (Nesterov) momentum.

    Plain (``momentum=0``): :math:`w \leftarrow w - \eta g`.

    Momentum, textbook (Polyak) form: :math:`v \leftarrow \mu v + g,\; w \leftarrow w - \eta v`.
    Keras stores the *step* instead, :math:`v \leftarrow \mu v - \eta g,\; w \leftarrow w + v`; the
    two agree while :math:`\eta` is constant and differ under a schedule (Keras's velocity remembers
    old learning rates). We follow Keras.

    Nesterov, textbook: gradient at the look-ahead point,
    :math:`v \leftarrow \mu v - \eta \nabla f(w + \mu v),\; w \leftarrow w + v`. Keras (like most
    libraries) rewrites it with the gradient at the current point:
    :math:`v \leftarrow \mu v - \eta g,\; w \leftarrow w + \mu v - \eta g`.

    Args:
        learning_rate: :math:`\eta > 0`, or a schedule.
        momentum: :math:`\mu \in [0, 1)`.
        nesterov: use Nesterov momentum.
        weight_decay: decoupled decay :math:`\lambda \ge 0`, or ``None``.

    Example:
        >>> w = np.array([1.0]); SGD(learning_rate=0.1).apply_gradients([(np.array([2.0]), w)])
        >>> w  # 1 - 0.1 * 2
        array([0.8])
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.momentum = _unit("momentum", momentum)
        self.nesterov = check_bool("nesterov", nesterov)

    def _init_state(self, w):
        return {"velocity": np.zeros_like(w)} if self.momentum != 0 else {}

    def _update(self, g, w, state, lr):
        if self.momentum == 0:
            w -= g * lr
            return
        mu, v = w.dtype.type(self.momentum), state["velocity"]
        v[...] = v * mu - g * lr
        if self.nesterov:
            w += v * mu - g * lr
        else:
            w += v


class Adagrad(Optimizer):
    r"""AdaGrad: per-coordinate steps shrink with the sum of all past squared gradients.

    Textbook: :math:`G \leftarrow G + g^2,\; w \leftarrow w - \eta\, g / (\sqrt{G} + \epsilon)`
    with :math:`G_0 = 0`. Keras starts the accumulator at ``initial_accumulator_value = 0.1`` and
    puts :math:`\epsilon` inside the root: :math:`w \leftarrow w - \eta\, g / \sqrt{G + \epsilon}`.

    Example:
        >>> w = np.array([1.0]); Adagrad(learning_rate=0.1, initial_accumulator_value=0.0
        ...                              ).apply_gradients([(np.array([2.0]), w)])
        >>> w  # 1 - 0.1 * 2 / sqrt(4 + 1e-7)
        array([0.9])
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.initial_accumulator_value = check_nonnegative(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.epsilon = check_nonnegative("epsilon", epsilon)

    def _init_state(self, w):
        return {"accumulator": np.full_like(w, self.initial_accumulator_value)}

    def _update(self, g, w, state, lr):
        k = _second_moment(lambda G, g2: G + g2, state["accumulator"], g, state)  # G <- G + g^2
        w -= _divide(
            lr * g, _root(state["accumulator"], k, w.dtype.type(self.epsilon), inside=True)
        )


class RMSprop(Optimizer):
    r"""RMSprop: divide the step by a running root-mean-square of recent gradients.

    .. math:: v \leftarrow \rho v + (1 - \rho) g^2

    Textbook (Hinton): :math:`w \leftarrow w - \eta\, g / (\sqrt{v} + \epsilon)`. Keras puts
    :math:`\epsilon` inside the root: :math:`w \leftarrow w - \eta\, g / \sqrt{v + \epsilon}`; with
    ``momentum`` :math:`\mu > 0`: :math:`s \leftarrow \mu s + \eta g/\sqrt{v+\epsilon},\;
    w \leftarrow w - s`.

    Args:
        learning_rate, rho (:math:`\rho \in [0, 1)`), momentum (:math:`\mu \in [0, 1)`), epsilon
        (:math:`\ge 0`), weight_decay: as in Keras.

    Example:
        >>> w = np.array([1.0]); RMSprop(learning_rate=0.1, rho=0.75).apply_gradients(
        ...     [(np.array([2.0]), w)])
        >>> np.round(w, 6)  # v = 0.25 * 4 = 1, so 1 - 0.1 * 2 / sqrt(1 + 1e-7)
        array([0.8])
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.rho = _unit("rho", rho)
        self.momentum = _unit("momentum", momentum)
        self.epsilon = check_nonnegative("epsilon", epsilon)

    def _init_state(self, w):
        state = {"velocity": np.zeros_like(w)}
        if self.momentum > 0:
            state["momentum"] = np.zeros_like(w)
        return state

    def _update(self, g, w, state, lr):
        f, v = w.dtype.type, state["velocity"]
        k = _second_moment(lambda v, g2: f(self.rho) * v + f(1 - self.rho) * g2, v, g, state)
        increment = _divide(lr * g, _root(v, k, f(self.epsilon), inside=True))
        if self.momentum > 0:
            s = state["momentum"]
            s[...] = w.dtype.type(self.momentum) * s + increment
            w -= s
        else:
            w -= increment


class Adam(Optimizer):
    r"""Adam: momentum (first moment) + RMSprop (second moment) with bias correction.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2

    Textbook (Kingma & Ba): :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)`,
    :math:`w \leftarrow w - \eta\, \hat m/(\sqrt{\hat v} + \epsilon)`.
    Keras folds the bias correction into the step size (the paper's "efficient" form):
    :math:`\alpha_t = \eta\sqrt{1-\beta_2^t}/(1-\beta_1^t)`,
    :math:`w \leftarrow w - \alpha_t\, m / (\sqrt{v} + \epsilon)` — the textbook rule with
    :math:`\epsilon` replaced by :math:`\epsilon/\sqrt{1-\beta_2^t}` (since
    :math:`\sqrt{v} = \sqrt{1-\beta_2^t}\,\sqrt{\hat v}`), which is larger than :math:`\epsilon`
    early on: about :math:`31.6\,\epsilon` at :math:`t = 1` with :math:`\beta_2 = 0.999`.
    Keras's default :math:`\epsilon = 10^{-7}` (the paper's is :math:`10^{-8}`).

    Example:
        >>> w = np.array([1.0]); Adam(learning_rate=0.1).apply_gradients(
        ...     [(np.array([2.0]), w)])
        >>> np.round(w, 5)  # first step: m_hat / sqrt(v_hat) = sign(g), so w moves by eta (less 2e-7)
        array([0.9])
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.beta_1 = _unit("beta_1", beta_1)
        self.beta_2 = _unit("beta_2", beta_2)
        self.epsilon = check_nonnegative("epsilon", epsilon)

    def _init_state(self, w):
        return {"m": np.zeros_like(w), "v": np.zeros_like(w)}

    def _update(self, g, w, state, lr):
        _adam_step(g, w, state, lr, self.iterations + 1, self.beta_1, self.beta_2, self.epsilon)


def _adam_step(g, w, state, lr, t, beta_1, beta_2, epsilon) -> None:
    """Adam's update of ``w`` in place (Keras's form, :class:`Adam`); ``t`` = iterations + 1."""
    f = w.dtype.type
    t = f(t)
    alpha = lr * np.sqrt(1 - f(beta_2) ** t) / (1 - f(beta_1) ** t)  # bias correction in the step
    m, v = state["m"], state["v"]
    m += (g - m) * f(1 - beta_1)  # = beta_1 m + (1 - beta_1) g
    k = _second_moment(lambda v, g2: v + (g2 - v) * f(1 - beta_2), v, g, state)
    w -= _divide(m * alpha, _root(v, k, f(epsilon), inside=False))


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter): ``Adam`` with
    ``weight_decay`` :math:`\lambda` set (Keras's default 0.004).

    Each step first shrinks :math:`w \leftarrow w - \eta\lambda w`, then takes the Adam step. The
    paper decays by :math:`\lambda w` times a schedule multiplier; Keras (and we) use
    :math:`\eta\lambda`. Unlike an L2 penalty added to the loss, the decay does not pass through
    Adam's per-coordinate scaling.

    Example:
        >>> w = np.array([1.0]); AdamW(learning_rate=0.1, weight_decay=0.5).apply_gradients(
        ...     [(np.array([2.0]), w)])
        >>> np.round(w, 5)  # decay: 1 - 0.1 * 0.5 = 0.95; then the Adam step of 0.1
        array([0.85])
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        if weight_decay is None:
            raise ValueError(
                "`weight_decay` must be a number >= 0 for AdamW. Received: weight_decay=None"
            )
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, weight_decay=weight_decay, **kwargs
        )


def newton_schulz(
    g: np.ndarray,
    steps: int = 5,
    coefficients: tuple[float, float, float] = (3.4445, -4.7750, 2.0315),
) -> np.ndarray:
    r"""Muon's approximate orthogonalization of a matrix: :math:`U S' V^\top` for :math:`g = U S V^\top`.

    The polar factor :math:`U V^\top` (every singular value replaced by 1) would need an SVD. Instead,
    scale :math:`X = g / (\lVert g\rVert_F + 10^{-7})`, so that every singular value is at most 1, and
    apply ``steps`` times the odd quintic :math:`X \leftarrow aX + b(XX^\top)X + c(XX^\top)^2X`, which
    maps each singular value :math:`\sigma` to :math:`p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` and
    leaves the singular vectors alone. Jordan et al.'s coefficients make :math:`p'(0) = a \approx 3.4`
    large, so small singular values grow fast, but they do not converge to 1, and the map is not
    monotone: every singular value of at least 0.2 % of :math:`\lVert g\rVert_F` comes out between
    0.68 and 1.21 (the largest outputs come from inputs near 0.4 % of it, not from the strongest);
    below about 0.15 % the output is under 0.68 and falls towards 0 (``tests/test_optimizers.py``). A tall
    matrix is transposed first, so the products are of the smaller side. Keras 3's
    ``keras.optimizers.Muon`` computes the same.

    Args:
        g: a 2-D array (all zeros give zeros).
        steps: the number of iterations, an integer ``>= 1``.
        coefficients: :math:`(a, b, c)`.

    Returns:
        An array of ``g``'s shape and dtype.

    Example:
        >>> s = np.linalg.svd(newton_schulz(np.diag([1.0, 0.01])), compute_uv=False)
        >>> np.round(s, 2)  # both directions now of the same size (p(1) = a + b + c = 0.701)
        array([0.7, 0.7])
    """
    g = check_rank("g", as_float_array("g", g), 2, "(a weight matrix's gradient)")
    steps = check_int("steps", steps, minimum=1)
    if len(coefficients) != 3:
        raise ValueError(
            f"`coefficients` must be three numbers (a, b, c). Received: coefficients={_short(coefficients)}"
        )
    f = g.dtype.type
    a, b, c = (f(check_number(n, v)) for n, v in zip(("a", "b", "c"), coefficients))
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g
    x = x / (np.linalg.norm(x) + f(1e-7))
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


class Muon(Optimizer):
    r"""Muon (Jordan et al., 2024): momentum whose step is orthogonalized, for weight matrices.

    For a 2-D parameter (a dense layer's kernel):

    .. math::
        m \leftarrow \mu m + g, \qquad G = g + \mu m \;\;(\text{Nesterov; else } G = m), \qquad
        w \leftarrow w - \eta\, s\, \mathrm{NS}_5(G)

    with :math:`\mathrm{NS}_5` = :func:`newton_schulz` (the step's singular values all set to about
    0.7–1.2, its singular vectors kept) and, following Liu et al. (2025) and Keras,
    :math:`s = 0.2\sqrt{\max(n_\text{rows}, n_\text{cols})}` (``rms_rate``; ``None`` gives
    :math:`s = 1`), which gives the step an RMS close to AdamW's, so that AdamW's learning rate and
    weight decay carry over. Decoupled weight decay as in :class:`Optimizer`.

    Every other parameter — biases and other shapes, and the arrays listed in ``exclude`` (Keras:
    ``exclude_layers``; put the output layer's kernel there) — gets an AdamW step instead, with
    ``adam_beta_1``, ``adam_beta_2``, ``epsilon`` and ``adam_weight_decay``, as in Keras's
    ``keras.optimizers.Muon``, whose defaults these are. Our steps equal Keras's on the same gradients
    up to float32 rounding of the matrix products (``tests/test_optimizers.py``). Differences from
    Keras: ``exclude`` matches arrays by identity (Keras's ``exclude_layers`` matches variable paths by
    regular expression); Keras also gives AdamW steps to variables whose path contains "embedding"
    (``exclude_embeddings=True``), which here must be listed in ``exclude``; ``adam_lr_ratio`` (1)
    and the Newton–Schulz coefficients are fixed. Like Keras, a convolution kernel (3-D or more) gets AdamW
    steps; Jordan et al.'s own code flattens it to a matrix and uses Muon.

    Args:
        learning_rate: :math:`\eta > 0`, or a schedule (for both kinds of step).
        momentum: :math:`\mu \in [0, 1)`.
        nesterov: use :math:`G = g + \mu m` instead of :math:`m`.
        ns_steps: Newton–Schulz iterations.
        rms_rate: the factor 0.2 of :math:`s`, or ``None``.
        weight_decay: decoupled decay :math:`\lambda \ge 0` of the Muon parameters, or ``None``.
        exclude: parameter arrays (matched by identity) that get the AdamW step although 2-D.
        adam_beta_1, adam_beta_2, epsilon, adam_weight_decay: the AdamW step's settings.

    Example:
        >>> w = np.zeros((2, 2)); Muon(learning_rate=0.1, weight_decay=None).apply_gradients(
        ...     [(np.diag([4.0, 0.04]), w)])
        >>> np.round(np.diag(w), 3)  # the same step, 0.1 * 0.2 * sqrt(2) * 0.7, for a 100x smaller gradient
        array([-0.02, -0.02])
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        rms_rate: float | None = 0.2,
        weight_decay: float | None = 0.004,
        exclude: Iterable[np.ndarray] = (),
        adam_beta_1: float = 0.9,
        adam_beta_2: float = 0.999,
        epsilon: float = 1e-7,
        adam_weight_decay: float | None = 0.004,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.momentum = _unit("momentum", momentum)
        self.nesterov = check_bool("nesterov", nesterov)
        self.ns_steps = check_int("ns_steps", ns_steps, minimum=1)
        self.rms_rate = None if rms_rate is None else check_positive("rms_rate", rms_rate)
        if isinstance(exclude, np.ndarray) or not isinstance(exclude, Iterable):
            raise TypeError(
                f"`exclude` must be a list of parameter arrays. Received: exclude={_short(exclude)}"
            )
        self.exclude = list(exclude)
        for e in self.exclude:
            if not isinstance(e, np.ndarray):
                raise TypeError(
                    "`exclude` must be a list of parameter arrays (NumPy arrays). "
                    f"Received an element {_short(e)}"
                )
        self.adam_beta_1 = _unit("adam_beta_1", adam_beta_1)
        self.adam_beta_2 = _unit("adam_beta_2", adam_beta_2)
        self.epsilon = check_nonnegative("epsilon", epsilon)
        self.adam_weight_decay = (
            None
            if adam_weight_decay is None
            else check_nonnegative("adam_weight_decay", adam_weight_decay)
        )

    def uses_adamw(self, param: np.ndarray) -> bool:
        """Whether ``param`` gets the AdamW step: not 2-D, or listed in ``exclude``."""
        return param.ndim != 2 or any(param is e for e in self.exclude)

    def _weight_decay_for(self, w):
        return self.adam_weight_decay if self.uses_adamw(w) else self.weight_decay

    def _init_state(self, w):
        if self.uses_adamw(w):
            return {"m": np.zeros_like(w), "v": np.zeros_like(w)}
        return {"m": np.zeros_like(w)}

    def _update(self, g, w, state, lr):
        if self.uses_adamw(w):
            t = self.iterations + 1
            _adam_step(g, w, state, lr, t, self.adam_beta_1, self.adam_beta_2, self.epsilon)
            return
        f = w.dtype.type
        mu, m = f(self.momentum), state["m"]  # mu for Nesterov's look-ahead below
        m += g + m * f(self.momentum - 1)  # = mu m + g, in Keras's arithmetic
        step = newton_schulz(g + mu * m if self.nesterov else m, self.ns_steps)
        if self.rms_rate is not None:
            step = step * f(math.sqrt(max(w.shape))) * f(self.rms_rate)
        w -= lr * step
