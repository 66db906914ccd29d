r"""Learning-rate schedules with the arguments and values of ``keras.optimizers.schedules``.

Serves chapter 3 (learning-rate decay and schedules) and :mod:`nnlib.optimizers`. A schedule is a
callable ``schedule(step) -> float`` where ``step`` is the number of optimizer updates done so far
(Keras's ``optimizer.iterations``: the first update uses ``step = 0``). Pass one as
``learning_rate=`` to any :mod:`nnlib.optimizers` optimizer.

Decay is an *optimization* aid (large steps early, fine steps late); it is not primarily a cure for
overfitting.
"""
from __future__ import annotations

import math
from typing import Sequence

from nnlib._validation import check_in_range, check_int, check_number, check_positive, check_type

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay"]


class LearningRateSchedule:
    """Base class: subclasses implement ``_value(step)``; ``__call__`` validates ``step``."""

    def __call__(self, step: int) -> float:
        step = check_int("step", step, minimum=0)
        return float(self._value(step))

    def _value(self, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class ExponentialDecay(LearningRateSchedule):
    r"""Exponential decay :math:`\eta_t = \eta_0\, r^{t / T}` (with ``staircase=True``,
    :math:`r^{\lfloor t/T \rfloor}`: the rate drops by the factor :math:`r` every :math:`T` steps).

    Args:
        initial_learning_rate: :math:`\eta_0 > 0`.
        decay_steps: :math:`T > 0`.
        decay_rate: :math:`r > 0` (below 1 to decay).
        staircase: decay in discrete jumps.

    Example:
        >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
        0.025
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = check_positive("decay_steps", decay_steps)
        self.decay_rate = check_positive("decay_rate", decay_rate)
        self.staircase = check_type("staircase", staircase, bool, "a bool")
        self.name = name

    def _value(self, step: int) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p


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

    def __init__(self, boundaries: Sequence[int], values: Sequence[float],
                 name: str = "PiecewiseConstant") -> None:
        check_type("boundaries", boundaries, (list, tuple), "a list of steps")
        check_type("values", values, (list, tuple), "a list of learning rates")
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "`boundaries` must have one element fewer than `values`. Received: "
                f"boundaries={list(boundaries)} of length {len(boundaries)}, values={list(values)} "
                f"of length {len(values)}"
            )
        self.boundaries = [check_number("boundaries", b) for b in boundaries]
        if any(b1 >= b2 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(
                f"`boundaries` must be strictly increasing. Received: boundaries={list(boundaries)}"
            )
        self.values = [check_positive("values", v) for v in values]
        self.name = name

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

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str | None = None, warmup_target: float | None = None,
                 warmup_steps: int = 0) -> None:
        self.initial_learning_rate = check_in_range(
            "initial_learning_rate", initial_learning_rate, 0.0, float("inf"))
        self.decay_steps = check_positive("decay_steps", decay_steps)
        self.alpha = check_in_range("alpha", alpha, 0.0, 1.0)
        self.name = name if name is not None else "CosineDecay"
        self.warmup_target = None if warmup_target is None else check_positive("warmup_target", warmup_target)
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
            return (self.warmup_target - self.initial_learning_rate) * fraction + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)
