r"""Automatic differentiation of scalar programs: reverse mode (:class:`Var`) and forward mode (:class:`Dual`).

Serves chapter 3.11, *Automatic differentiation*. The arithmetic is plain Python floats (float64).

Every primitive is written **once**, as a rule that returns its value and its local partial
derivatives :math:`\partial y / \partial a_i` at the given floats (the table ``_RULES``). The two
modes use the same rules differently:

* **reverse mode** -- a :class:`Var` keeps its ``parents`` together with those partials: the
  computational graph. :meth:`Var.backward` visits the graph once, outputs before inputs, and
  accumulates :math:`\bar a_i \mathrel{+}= \bar y \,\partial y/\partial a_i` (with
  :math:`\bar v = \partial\,\mathrm{root}/\partial v`): the whole gradient in one pass;
* **forward mode** -- a :class:`Dual` carries a tangent :math:`\dot a` next to its value and
  propagates :math:`\dot y = \sum_i \partial y/\partial a_i\, \dot a_i` immediately, storing nothing:
  one directional derivative per pass.

Example:
    >>> x, y = Var(2.0), Var(3.0)
    >>> z = x * y + x.exp()
    >>> z.backward()
    >>> x.grad == 3.0 + math.exp(2.0), y.grad
    (True, 2.0)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Union

import numpy as np

from nnlib._validation import _short, check_callable, check_float_input, check_number

__all__ = [
    "Var",
    "Dual",
    "add",
    "sub",
    "mul",
    "div",
    "power",
    "exp",
    "log",
    "tanh",
    "relu",
    "sigmoid",
    "topological_order",
    "value_and_grad",
    "jvp",
    "forward_grad",
]

Operand = Union[float, "Var", "Dual"]


# ------------------------------------------------------------------ the rules: value and local partials


def _exp(x: float) -> tuple[float, tuple[float]]:
    y = math.exp(x)
    return y, (y,)


def _tanh(x: float) -> tuple[float, tuple[float]]:
    y = math.tanh(x)
    return y, (1.0 - y * y,)


def _sigmoid(x: float) -> tuple[float, tuple[float]]:
    e = math.exp(-abs(x))  # never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) for x < 0
    s = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
    return s, (s * (1.0 - s),)


def _div(a: float, b: float) -> tuple[float, tuple[float, float]]:
    q = a / b
    return q, (1.0 / b, -q / b)  # -q/b, not -a/b**2: b**2 may underflow to 0 where a/b is finite


def _power(a: float, b: float, wrt_b: bool = False) -> tuple[float, tuple[float, float]]:
    if wrt_b and a <= 0:
        raise ValueError(
            "`a` must be > 0 in a ** b when the exponent `b` is differentiated "
            f"(d/db a**b = a**b ln a). Received: a={a}, b={b}"
        )
    if (a < 0 and b != int(b)) or (a == 0 and b < 1):
        raise ValueError(
            f"`a` ** `b` or its derivative is not a finite real number. Received: a={a}, b={b}"
        )
    y = a**b
    return y, (b * a ** (b - 1), y * math.log(a) if wrt_b else 0.0)


_RULES: dict[str, Callable[..., tuple[float, tuple[float, ...]]]] = {
    "add": lambda a, b: (a + b, (1.0, 1.0)),
    "sub": lambda a, b: (a - b, (1.0, -1.0)),
    "mul": lambda a, b: (a * b, (b, a)),
    "div": _div,
    "power": _power,
    "exp": _exp,
    "log": lambda x: (math.log(x), (1.0 / x,)),
    "tanh": _tanh,
    "relu": lambda x: (x, (1.0,)) if x > 0 else (0.0, (0.0,)),
    "sigmoid": _sigmoid,
}


def _operand(name: str, a: object) -> Operand:
    """A Var, a Dual or a finite real number (returned as a float); anything else is a TypeError."""
    if isinstance(a, (Var, Dual)) or (
        type(a) is float and math.isfinite(a)
    ):  # the common cases, quickly
        return a
    if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Real):
        raise TypeError(
            f"`{name}` must be a real number, a Var or a Dual. "
            f"Received: {name}={_short(a)} of type {type(a).__name__}"
        )
    return check_number(name, a)


def _received(names: tuple[str, ...], vals: list) -> str:
    return ", ".join(f"{n}={v!r}" for n, v in zip(names, vals))


def _apply(op: str, names: tuple[str, ...], *args: object) -> Operand:
    """Primitive ``op`` on floats, Vars or Duals: the only place where the two modes differ."""
    args = tuple(_operand(name, a) for name, a in zip(names, args))
    vals = [a.value if isinstance(a, (Var, Dual)) else a for a in args]
    if (op == "div" and vals[1] == 0) or (op == "log" and vals[0] <= 0):
        wanted = "`b` must be nonzero in a / b" if op == "div" else "`x` must be > 0 in log(x)"
        raise ValueError(f"{wanted}. Received: {_received(names, vals)}")
    try:
        extra = (isinstance(args[1], (Var, Dual)),) if op == "power" else ()
        y, partials = _RULES[op](*vals, *extra)
    except OverflowError:
        y, partials = math.inf, ()
    if not (math.isfinite(y) and all(map(math.isfinite, partials))):
        raise ValueError(
            f"`{'`, `'.join(names)}` too large: {op}({', '.join(names)}) or its derivative overflows "
            f"float64. Received: {_received(names, vals)}"
        )
    duals, graph = any(isinstance(a, Dual) for a in args), any(isinstance(a, Var) for a in args)
    if duals and graph:
        raise TypeError(
            f"`{'` and `'.join(names)}` must not mix a Var (reverse mode) and a Dual (forward "
            f"mode). Received: {_received(names, args)}"
        )
    if duals:  # forward mode: the tangent, now; nothing is stored
        tangent = sum(p * a.tangent for p, a in zip(partials, args) if isinstance(a, Dual))
        if not math.isfinite(tangent):
            raise ValueError(
                f"`{'`, `'.join(names)}` too large: the tangent of {op}({', '.join(names)}) "
                f"overflows float64. Received: {_received(names, args)}"
            )
        return Dual._node(y, tangent)
    if graph:  # reverse mode: store the edges to the Var operands with their partials
        return Var._node(y, tuple((a, p) for a, p in zip(args, partials) if isinstance(a, Var)), op)
    return y


# ------------------------------------------------------------------ the primitives


def add(a: Operand, b: Operand) -> Operand:
    """:math:`a + b`; partials :math:`(1, 1)`."""
    return _apply("add", ("a", "b"), a, b)


def sub(a: Operand, b: Operand) -> Operand:
    """:math:`a - b`; partials :math:`(1, -1)`."""
    return _apply("sub", ("a", "b"), a, b)


def mul(a: Operand, b: Operand) -> Operand:
    """:math:`a b`; partials :math:`(b, a)`."""
    return _apply("mul", ("a", "b"), a, b)


def div(a: Operand, b: Operand) -> Operand:
    """:math:`a / b`; partials :math:`(1/b, -a/b^2)`."""
    return _apply("div", ("a", "b"), a, b)


def power(a: Operand, b: Operand) -> Operand:
    r""":math:`a^b`; partials :math:`(b a^{b-1},\ a^b \ln a)`; the second (a Var/Dual exponent) needs :math:`a > 0`."""
    return _apply("power", ("a", "b"), a, b)


def exp(x: Operand) -> Operand:
    """:math:`e^x`; partial :math:`e^x`."""
    return _apply("exp", ("x",), x)


def log(x: Operand) -> Operand:
    r""":math:`\ln x` for :math:`x > 0`; partial :math:`1/x`."""
    return _apply("log", ("x",), x)


def tanh(x: Operand) -> Operand:
    r""":math:`\tanh x`; partial :math:`1 - \tanh^2 x`."""
    return _apply("tanh", ("x",), x)


def relu(x: Operand) -> Operand:
    r""":math:`\max(x, 0)`; partial 1 for :math:`x > 0`, else 0 (TensorFlow's choice at 0 too)."""
    return _apply("relu", ("x",), x)


def sigmoid(x: Operand) -> Operand:
    r""":math:`\sigma(x) = 1/(1+e^{-x})`; partial :math:`\sigma(x)(1-\sigma(x))`."""
    return _apply("sigmoid", ("x",), x)


class _Scalar:
    """Python's operators and five methods, each one call of a primitive (shared by Var and Dual).

    The methods let ``np.exp``, ``np.log`` and ``np.tanh`` work elementwise on NumPy object arrays of Vars.
    """

    __slots__ = ()
    value: float

    def __add__(self, other):
        return add(self, other)  # noqa: E704

    def __radd__(self, other):
        return add(other, self)  # noqa: E704

    def __sub__(self, other):
        return sub(self, other)  # noqa: E704

    def __rsub__(self, other):
        return sub(other, self)  # noqa: E704

    def __mul__(self, other):
        return mul(self, other)  # noqa: E704

    def __rmul__(self, other):
        return mul(other, self)  # noqa: E704

    def __truediv__(self, other):
        return div(self, other)  # noqa: E704

    def __rtruediv__(self, other):
        return div(other, self)  # noqa: E704

    def __pow__(self, other):
        return power(self, other)  # noqa: E704

    def __rpow__(self, other):
        return power(other, self)  # noqa: E704

    def __neg__(self):
        return mul(-1.0, self)  # noqa: E704

    def exp(self):
        return exp(self)  # noqa: E704

    def log(self):
        return log(self)  # noqa: E704

    def tanh(self):
        return tanh(self)  # noqa: E704

    def relu(self):
        return relu(self)  # noqa: E704

    def sigmoid(self):
        return sigmoid(self)  # noqa: E704


class Var(_Scalar):
    r"""A float that remembers how it was computed: a node of the computational graph (reverse mode).

    Args:
        value: a finite real number (stored as a Python float, i.e. float64).

    Attributes:
        value: the number.
        grad: :math:`\partial\,\mathrm{root}/\partial\,\mathrm{self}` after ``root.backward()`` (0.0 before).
        parents: ``((parent, partial), ...)``, the Vars this one was computed from, each with the local
            partial :math:`\partial\,\mathrm{self}/\partial\,\mathrm{parent}`; the forward pass stores them
            for the backward pass. Empty for an input.
        op: the primitive that made it (``""`` for an input).
    """

    __slots__ = ("value", "grad", "parents", "op")

    def __init__(self, value: float) -> None:
        self.value, self.grad, self.parents, self.op = check_number("value", value), 0.0, (), ""

    @classmethod
    def _node(cls, value: float, parents: tuple[tuple[Var, float], ...], op: str) -> Var:
        node = cls.__new__(cls)  # the value was checked by _apply
        node.value, node.grad, node.parents, node.op = value, 0.0, parents, op
        return node

    def __repr__(self) -> str:
        return (
            f"Var(value={self.value!r}, grad={self.grad!r}{f', op={self.op!r}' if self.op else ''})"
        )

    def backward(self, grad: float = 1.0) -> None:
        r"""Set ``.grad`` of every Var ``v`` that this one depends on to :math:`g\,\partial\,\mathrm{self}/\partial v`.

        One pass over :func:`topological_order` backwards; each edge costs one multiply-add,
        :math:`\bar a \mathrel{+}= \bar y\, \partial y/\partial a`. Gradients are reset first, so a second
        call gives the same result. ``grad`` is :math:`g`, the seed :math:`\bar{\mathrm{self}}`: 1.0, or an
        upstream gradient when this graph is one piece of a larger computation.
        """
        grad = check_number("grad", grad)
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = grad
        for node in reversed(
            order
        ):  # a node's consumers all come after it in `order`: its grad is complete
            for parent, partial in node.parents:
                parent.grad += partial * node.grad


class Dual(_Scalar):
    r"""A dual number :math:`a + \dot a\,\varepsilon` with :math:`\varepsilon^2 = 0` (forward mode).

    Args:
        value: the number :math:`a`.
        tangent: its derivative :math:`\dot a` along the chosen direction of the inputs (1.0 for the
            input being differentiated, 0.0 for the others).
    """

    __slots__ = ("value", "tangent")

    def __init__(self, value: float, tangent: float = 0.0) -> None:
        self.value, self.tangent = check_number("value", value), check_number("tangent", tangent)

    @classmethod
    def _node(cls, value: float, tangent: float) -> Dual:
        node = cls.__new__(cls)  # both numbers were checked by _apply
        node.value, node.tangent = value, tangent
        return node

    def __repr__(self) -> str:
        return f"Dual(value={self.value!r}, tangent={self.tangent!r})"


# ------------------------------------------------------------------ graph walk and helpers


def topological_order(root: Var) -> list[Var]:
    """Every Var that ``root`` depends on, once each, inputs before the Vars computed from them, ``root`` last.

    An iterative depth-first search, so a chain of 100,000 operations needs no deep recursion.
    """
    if not isinstance(root, Var):
        raise TypeError(
            f"`root` must be a Var. Received: root={_short(root)} of type {type(root).__name__}"
        )
    order, seen, stack = [], {root}, [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent, _ in parents:
            if parent not in seen:
                seen.add(parent)
                stack.append((parent, iter(parent.parents)))
                break
        else:  # every parent is placed: the node can follow them
            stack.pop()
            order.append(node)
    return order


def _output(out: object, kind: type) -> float:
    """The value of ``f``'s result: a ``kind`` (Var or Dual) or a plain number (constant function)."""
    if isinstance(out, (bool, np.bool_)) or not isinstance(out, (kind, numbers.Real)):
        raise TypeError(
            f"`f` must return a {kind.__name__} or a number (one scalar). Received: f(x)={_short(out)}"
        )
    return out.value if isinstance(out, kind) else check_number("f(x)", out)


def value_and_grad(f: Callable[..., Var], x: Sequence[float]) -> tuple[float, np.ndarray]:
    r"""Reverse mode: :math:`f(x)` and :math:`\nabla f(x)` from **one** forward and one backward pass.

    Args:
        f: called as ``f(*vars)`` with one :class:`Var` per entry of ``x``; returns a Var.
        x: the point, a 1-D sequence of finite numbers.

    Returns:
        ``(value, gradient)``, the gradient a float64 array shaped like ``x``.

    Example:
        >>> value_and_grad(lambda a, b: a * b + b, [2.0, 3.0])
        (9.0, array([3., 3.]))
    """
    check_callable("f", f, "a callable of Vars returning a Var")
    xs = [Var(v) for v in check_float_input("x", x, rank=1).tolist()]
    out = f(*xs)
    value = _output(out, Var)
    if isinstance(out, Var):
        out.backward()
    return value, np.array([v.grad for v in xs], dtype=np.float64)


def jvp(f: Callable[..., Dual], x: Sequence[float], v: Sequence[float]) -> tuple[float, float]:
    r"""Forward mode: :math:`f(x)` and the directional derivative :math:`\nabla f(x) \cdot v` from **one** pass.

    Example:
        >>> jvp(lambda a, b: a * b + b, [2.0, 3.0], [1.0, 0.0])   # the partial derivative in a
        (9.0, 3.0)
    """
    check_callable("f", f, "a callable of Duals returning a Dual")
    x, v = check_float_input("x", x, rank=1), check_float_input("v", v, rank=1)
    if v.shape != x.shape:
        raise ValueError(
            f"`v` must have the shape of `x`. Received: v.shape={v.shape}, x.shape={x.shape}"
        )
    out = f(*(Dual(a, b) for a, b in zip(x.tolist(), v.tolist())))
    return _output(out, Dual), out.tangent if isinstance(out, Dual) else 0.0


def forward_grad(f: Callable[..., Dual], x: Sequence[float]) -> tuple[float, np.ndarray]:
    r"""Forward mode gradient: :math:`n` passes of :func:`jvp`, one per basis vector :math:`e_i` of :math:`\mathbb R^n`.

    Example:
        >>> forward_grad(lambda a, b: a * b + b, [2.0, 3.0])
        (9.0, array([3., 3.]))
    """
    check_callable("f", f, "a callable of Duals returning a Dual")
    x = check_float_input("x", x, rank=1)
    if x.size == 0:
        raise ValueError(f"`x` must hold at least one number. Received: x.shape={x.shape}")
    passes = [jvp(f, x, e) for e in np.eye(x.size)]
    return passes[0][0], np.array([d for _, d in passes], dtype=np.float64)
