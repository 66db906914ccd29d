r"""Learning-rate schedules with the arguments and values of ``keras.optimizers.schedules``.

Serves Chapter 3.6, *Learning-rate decay and schedules*, and :mod:`nnlib.optimizers`. A schedule is a
callable ``schedule(step) -> float`` where ``step`` is the number of optimizer updates done so far
(Keras's ``optimizer.iterations``: the first update uses ``step = 0``). Pass one as
``learning_rate=`` to any :mod:`nnlib.optimizers` optimizer.

Decay is an *optimization* aid (large steps early, fine steps late); it is not primarily a cure for
overfitting.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from nnlib._validation import (
    check_bool,
    check_in_range,
    check_int,
    check_nonnegative,
    check_number,
    check_positive,
    check_type,
)

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay"]


class LearningRateSchedule:
    """Base class: subclasses implement ``_value(step)``; ``__call__`` validates ``step``."""

    def __call__(self, step: int) -> float:
        step = check_int("step", step, minimum=0)
        return float(self._value(step))

    def _value(self, step: int) -> float:
        raise TypeError(
            f"`{type(self).__name__}` must define _value(step): LearningRateSchedule is the base "
            "class (use ExponentialDecay, PiecewiseConstantDecay or CosineDecay, or subclass it). "
            f"Received: an instance of {type(self).__name__}"
        )


_TINY = 2.2250738585072014e-308  # the smallest normal float64


def _name(name: object) -> str:
    return check_type("name", name, str, "a str")


def _step_number(name: str, value: object) -> float | int:
    """A step count: an integer kept exact (``2 ** 64`` is a valid step), or a finite float."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return check_number(name, value)


class ExponentialDecay(LearningRateSchedule):
    r"""Exponential decay :math:`\eta_t = \eta_0\, r^{t / T}` (with ``staircase=True``,
    :math:`r^{\lfloor t/T \rfloor}`: the rate drops by the factor :math:`r` every :math:`T` steps).

    Args:
        initial_learning_rate: :math:`\eta_0 > 0`.
        decay_steps: :math:`T > 0`.
        decay_rate: :math:`r > 0` (below 1 to decay).
        staircase: decay in discrete jumps.

    The value is computed as :math:`\eta_0 r^{p}` while :math:`r^{p}` fits a float64, and in log
    space, :math:`\exp(\log\eta_0 + p\log r)`, when it does not (a growing schedule
    :math:`10^{-300}\cdot 10^{t}` stays finite up to :math:`t = 608`; beyond the float64 range the
    value is ``inf``, and an optimizer then refuses it).

    Example:
        >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
        0.025
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ) -> None:
        self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = check_positive("decay_steps", decay_steps)
        self.decay_rate = check_positive("decay_rate", decay_rate)
        self.staircase = check_bool("staircase", staircase)
        self.name = _name(name)

    def _value(self, step: int) -> float:
        try:
            p = step / self.decay_steps
        except OverflowError:  # a step beyond the float64 range (10 ** 400)
            p = math.inf
        if self.staircase and math.isfinite(p):
            p = math.floor(p)
        try:
            q = self.decay_rate**p
        except OverflowError:
            q = math.inf
        if _TINY <= q < math.inf:  # r^p is a normal float64: the direct formula
            return self.initial_learning_rate * q
        # r^p alone over- or underflows, though the product may fit: compute in log space
        try:
            return math.exp(math.log(self.initial_learning_rate) + p * math.log(self.decay_rate))
        except OverflowError:  # the value itself exceeds the float64 range
            return math.inf


class PiecewiseConstantDecay(LearningRateSchedule):
    r"""Piecewise constant: ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Args:
        boundaries: strictly increasing steps, length ``len(values) - 1``.
        values: learning rates (> 0).

    Example:
        >>> s = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
        >>> s(10), s(11), s(21)
        (1.0, 0.5, 0.1)
    """

    def __init__(
        self, boundaries: Sequence[int], values: Sequence[float], name: str = "PiecewiseConstant"
    ) -> None:
        check_type("boundaries", boundaries, (list, tuple), "a list of steps")
        check_type("values", values, (list, tuple), "a list of learning rates")
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "`boundaries` must have one element fewer than `values`. Received: "
                f"boundaries={list(boundaries)} of length {len(boundaries)}, values={list(values)} "
                f"of length {len(values)}"
            )
        self.boundaries = [_step_number("boundaries", b) for b in boundaries]
        if any(b1 >= b2 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(
                f"`boundaries` must be strictly increasing. Received: boundaries={list(boundaries)}"
            )
        self.values = [check_positive("values", v) for v in values]
        self.name = _name(name)

    def _value(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]


class CosineDecay(LearningRateSchedule):
    r"""Cosine decay with optional linear warmup (Loshchilov & Hutter's SGDR, without restarts).

    Without warmup (``warmup_target=None``), with :math:`s = \min(t, T)`:

    .. math:: \eta_t = \eta_0 \Big[(1 - \alpha)\,\tfrac12\big(1 + \cos(\pi s / T)\big) + \alpha\Big]

    With warmup, the rate first rises linearly from ``initial_learning_rate`` to ``warmup_target``
    over ``warmup_steps`` steps, then decays as above from ``warmup_target`` (step counted from
    the end of warmup).

    Args:
        initial_learning_rate: :math:`\eta_0 \ge 0` (0 is allowed when warming up).
        decay_steps: :math:`T > 0`, the length of the decay.
        alpha: final rate as a fraction of the decayed-from rate, in [0, 1].
        name: accepted for Keras compatibility.
        warmup_target: peak rate after warmup, or ``None`` for no warmup.
        warmup_steps: length of the warmup (>= 0).

    Example:
        >>> CosineDecay(1.0, decay_steps=10)(5)  # half way: (1 + cos(pi/2)) / 2
        0.5
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str | None = None,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ) -> None:
        self.initial_learning_rate = check_nonnegative(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = check_positive("decay_steps", decay_steps)
        self.alpha = check_in_range("alpha", alpha, 0.0, 1.0)
        self.name = _name(name) if name is not None else "CosineDecay"
        self.warmup_target = (
            None if warmup_target is None else check_positive("warmup_target", warmup_target)
        )
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)

    def _decay(self, step: float, decay_from: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def _value(self, step: int) -> float:
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return (
                self.warmup_target - self.initial_learning_rate
            ) * fraction + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)
