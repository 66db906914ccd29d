"""nnlib.autodiff: reverse mode (Var) and forward mode (Dual) against tf.GradientTape and finite differences.

The property tests draw random expression trees (seeded: tree ``k`` comes from
``np.random.default_rng(k)``, so a failure names its seed) over 1-4 inputs with every primitive and
constants on either side of each operator. A tree is redrawn when an intermediate value comes near
a singularity or a kink (|divisor| < 0.1, log or non-integer power of a value < 0.1, relu of a
value within 1e-3 of 0) or exceeds 1e3, so that finite differences are meaningful there.

Tolerances (float64 throughout):
* Var vs tf.GradientTape: rtol 1e-9, atol 1e-12 -- the same chain rule; the differences are TF's
  and Python's libm (exp, tanh, log differ by an ulp or two), amplified through at most ~30 ops;
* Dual (forward) vs Var (reverse): rtol 1e-10, atol 1e-12 -- the same rules summed in another order;
* either vs central finite differences (eps 1e-6): rtol 1e-5, atol 1e-6 -- truncation
  ~eps^2 |f'''| and rounding ~1e-16 |f| / eps with |f| <= 1e3.
A wrong rule gives errors of order 1: ``test_a_wrong_rule_is_caught`` checks that the comparison fails.
"""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings

from nnlib import autodiff as ad
from nnlib.gradcheck import numerical_gradient
from tests._bad_input import expect_clear_error, not_a_number

N_TREES = 300
UNARY = ("exp", "log", "tanh", "relu", "sigmoid", "neg")
BINARY = ("add", "sub", "mul", "div", "pow")


class Reject(Exception):
    """The drawn tree or point is too close to a singularity for a meaningful comparison."""


def random_tree(rng: np.random.Generator, n_inputs: int, depth: int) -> tuple:
    """A nested tuple: ("x", i), ("const", c), (unary_op, child) or (binary_op, left, right)."""
    if depth == 0 or rng.random() < 0.15:
        if rng.random() < 0.75:
            return ("x", int(rng.integers(n_inputs)))
        return ("const", float(rng.choice([-1.5, -0.5, 0.5, 2.0, 3.0])))
    if rng.random() < 0.4:
        return (str(rng.choice(UNARY)), random_tree(rng, n_inputs, depth - 1))
    op = str(rng.choice(BINARY))
    if (
        op == "pow" and rng.random() < 0.5
    ):  # a constant exponent, as in x ** 2 (also negative and fractional)
        return (
            "pow",
            random_tree(rng, n_inputs, depth - 1),
            ("const", float(rng.choice([2.0, 3.0, -1.0, 0.5]))),
        )
    return (op, random_tree(rng, n_inputs, depth - 1), random_tree(rng, n_inputs, depth - 1))


def evaluate(tree: tuple, x, ops: dict):
    kind, *args = tree
    if kind == "x":
        return x[args[0]]
    if kind == "const":
        return ops["const"](args[0])
    return ops[kind](*(evaluate(a, x, ops) for a in args))


# The same tree, evaluated by three interpreters. Constants stay Python floats for the engine, so
# `2.0 * x`, `x - 0.5`, `3.0 ** x` exercise __rmul__, __rsub__, __rpow__ and friends.
AD_OPS = {
    "const": float,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
    "neg": operator.neg,
    "exp": ad.exp,
    "log": ad.log,
    "tanh": ad.tanh,
    "relu": ad.relu,
    "sigmoid": ad.sigmoid,
}
TF_OPS = {
    **AD_OPS,
    "const": lambda c: tf.constant(c, tf.float64),
    "pow": tf.pow,
    "exp": tf.exp,
    "log": tf.math.log,
    "tanh": tf.tanh,
    "relu": tf.nn.relu,
    "sigmoid": tf.sigmoid,
}


def _checked(op: str, fn):
    """A float op that rejects points near singularities and kinks, and large values."""

    def run(*a):
        if (
            (op == "div" and abs(a[1]) < 0.1)
            or (op == "log" and a[0] < 0.1)
            or (op == "relu" and abs(a[0]) < 1e-3)
        ):
            raise Reject(op)
        if op == "pow" and a[0] < 0.1 and not (float(a[1]).is_integer() and a[1] > 0):
            raise Reject(op)
        try:
            y = fn(*a)
        except (ValueError, OverflowError, ZeroDivisionError) as err:
            raise Reject(op) from err
        if not abs(y) <= 1e3:
            raise Reject(op)
        return y

    return run


CHECKED_OPS = {"const": float, **{k: _checked(k, v) for k, v in AD_OPS.items() if k != "const"}}


def draw(seed: int) -> tuple[tuple, np.ndarray]:
    """Tree number ``seed`` and a point where it is far from singularities (redrawn until it is)."""
    rng = np.random.default_rng(seed)
    while True:
        n = int(rng.integers(1, 5))
        tree, x = random_tree(rng, n, depth=int(rng.integers(2, 7))), rng.uniform(-2, 2, size=n)
        try:
            # x ± 1e-6 must be as safe as x: check the point and the corners of a small box
            for shift in (0.0, 1e-5, -1e-5):
                evaluate(tree, (x + shift).tolist(), CHECKED_OPS)
            return tree, x
        except Reject:
            continue


def reverse(tree, x):
    return ad.value_and_grad(lambda *v: evaluate(tree, v, AD_OPS), x)


def forward(tree, x):
    return ad.forward_grad(lambda *v: evaluate(tree, v, AD_OPS), x)


def tape(tree, x):
    xs = [tf.constant(v, tf.float64) for v in x]
    with tf.GradientTape() as t:
        t.watch(xs)
        y = evaluate(tree, xs, TF_OPS)
    grads = t.gradient(y, xs)
    return float(y), np.array([0.0 if g is None else float(g) for g in grads])


def finite_differences(tree, x):
    return numerical_gradient(
        lambda v: float(evaluate(tree, v.tolist(), AD_OPS)), x.copy(), eps=1e-6
    )


# ------------------------------------------------------------------ properties


def test_random_trees_match_gradient_tape_and_finite_differences():
    for seed in range(N_TREES):
        tree, x = draw(seed)
        value, grad = reverse(tree, x)
        tf_value, tf_grad = tape(tree, x)
        np.testing.assert_allclose(
            value, tf_value, rtol=1e-9, atol=1e-12, err_msg=f"seed {seed}: {tree}"
        )
        np.testing.assert_allclose(
            grad, tf_grad, rtol=1e-9, atol=1e-12, err_msg=f"seed {seed}: {tree}"
        )
        np.testing.assert_allclose(
            grad, finite_differences(tree, x), rtol=1e-5, atol=1e-6, err_msg=f"seed {seed}: {tree}"
        )


def test_forward_mode_equals_reverse_mode_on_random_trees():
    for seed in range(N_TREES):
        tree, x = draw(seed)
        value, grad = reverse(tree, x)
        f_value, f_grad = forward(tree, x)
        assert f_value == value, f"seed {seed}"  # the same float operations in the same order
        np.testing.assert_allclose(
            f_grad, grad, rtol=1e-10, atol=1e-12, err_msg=f"seed {seed}: {tree}"
        )


def test_the_random_trees_use_every_primitive_and_both_operand_orders():
    seen = set()

    def walk(tree, parent_op=None, side=None):
        seen.add(tree[0])
        if tree[0] == "const" and parent_op in BINARY:
            seen.add(f"{parent_op} with a constant on the {side}")
        for i, child in enumerate(tree[1:] if tree[0] not in ("x", "const") else ()):
            walk(child, tree[0], "left" if i == 0 else "right")

    for seed in range(N_TREES):
        walk(draw(seed)[0])
    assert set(UNARY) | set(BINARY) <= seen
    assert {
        f"{op} with a constant on the {side}" for op in BINARY for side in ("left", "right")
    } <= seen


def test_a_wrong_rule_is_caught(monkeypatch):
    # Break one derivative (tanh' = 1 - y instead of 1 - y^2): the property test above must notice.
    monkeypatch.setitem(ad._RULES, "tanh", lambda x: (math.tanh(x), (1.0 - math.tanh(x),)))
    failures = 0
    for seed in range(60):
        tree, x = draw(seed)
        _, grad = reverse(tree, x)
        _, tf_grad = tape(tree, x)
        failures += not np.allclose(grad, tf_grad, rtol=1e-9, atol=1e-12)
    assert failures >= 5


# ------------------------------------------------------------------ golden values and graph mechanics


def test_golden_values():
    # f = x y + x / y at (3, 2): df/dx = y + 1/y = 2.5, df/dy = x - x/y^2 = 2.25 (exact in binary)
    value, grad = ad.value_and_grad(lambda x, y: x * y + x / y, [3.0, 2.0])
    assert value == 7.5 and grad.tolist() == [2.5, 2.25]
    # a node used twice: u = x * x, f = u * u = x^4, df/dx = 4 x^3 = 32 at x = 2 (both paths accumulate)
    x = ad.Var(2.0)
    u = x * x
    f = u * u
    f.backward()
    assert (f.value, u.grad, x.grad) == (16.0, 8.0, 32.0)
    f.backward()  # gradients are reset, not accumulated across calls
    assert x.grad == 32.0
    f.backward(grad=0.5)  # an upstream gradient scales everything
    assert x.grad == 16.0
    assert ad.forward_grad(lambda x: x**4.0, [2.0]) == (16.0, np.array([32.0]))
    assert ad.jvp(lambda x, y: x * y, [3.0, 2.0], [1.0, 1.0]) == (6.0, 5.0)
    assert ad.relu(ad.Var(0.0)).parents[0][1] == 0.0  # TensorFlow's choice at the kink
    assert (
        ad.exp(1.0) == math.exp(1.0) and ad.log(math.e) == 1.0
    )  # plain floats in, plain floats out


def test_graph_records_parents_with_local_partials():
    x, y = ad.Var(3.0), ad.Var(2.0)
    z = x * y
    assert z.op == "mul" and z.parents == ((x, 2.0), (y, 3.0))
    w = 2.0**x  # a constant base: only the exponent is a parent
    assert w.op == "power" and len(w.parents) == 1 and w.parents[0] == (x, 8.0 * math.log(2.0))
    assert x.parents == () and x.op == ""
    assert repr(z) == "Var(value=6.0, grad=0.0, op='mul')"


def test_topological_order_puts_inputs_first_and_each_node_once():
    x = ad.Var(1.0)
    a, b = x.tanh(), x.exp()
    root = a * b + a
    order = ad.topological_order(root)
    assert len(order) == len({id(n) for n in order}) == 5  # x, a, b, a*b, root
    assert order[0] is x and order[-1] is root
    position = {id(n): i for i, n in enumerate(order)}
    assert all(position[id(p)] < position[id(n)] for n in order for p, _ in n.parents)


def test_a_deep_chain_needs_no_recursion():
    x = ad.Var(0.5)
    y = x
    for _ in range(20_000):  # far beyond Python's recursion limit of 1,000
        y = y * 1.0 + 0.0
    y.backward()
    assert len(ad.topological_order(y)) == 40_001 and x.grad == 1.0


def test_numpy_object_arrays_of_vars_match_gradient_tape():
    # A 3-4-1 tanh/sigmoid network written with NumPy object arrays of Vars, against GradientTape.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=(5, 1)).astype(float)
    weights = [rng.normal(size=s) for s in [(3, 4), (4,), (4, 1), (1,)]]
    params = [np.vectorize(ad.Var, otypes=[object])(w) for w in weights]
    W1, b1, W2, b2 = params
    p = np.vectorize(ad.sigmoid, otypes=[object])(np.tanh(X @ W1 + b1) @ W2 + b2)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    loss.backward()
    tf_params = [tf.constant(w) for w in weights]
    with tf.GradientTape() as t:
        t.watch(tf_params)
        tw1, tb1, tw2, tb2 = tf_params
        tp = tf.sigmoid(tf.tanh(X @ tw1 + tb1) @ tw2 + tb2)
        tf_loss = -tf.reduce_mean(y * tf.math.log(tp) + (1 - y) * tf.math.log(1 - tp))
    assert abs(loss.value - float(tf_loss)) < 1e-12
    for P, g in zip(params, t.gradient(tf_loss, tf_params)):
        np.testing.assert_allclose(
            np.vectorize(lambda v: v.grad)(P), g.numpy(), rtol=1e-9, atol=1e-12
        )


def test_jvp_matches_tensorflow_forward_accumulator():
    def f(a, b, c, tanh=ad.tanh, exp=ad.exp):
        return tanh(a * b) + exp(c / b) - a**2.0

    x, v = np.array([0.3, -1.2, 0.7]), np.array([1.0, -2.0, 0.5])
    value, tangent = ad.jvp(f, x, v)
    primals = [tf.constant(c) for c in x]
    with tf.autodiff.ForwardAccumulator(primals, [tf.constant(c) for c in v]) as acc:
        out = f(*primals, tanh=tf.tanh, exp=tf.exp)
    assert abs(value - float(out)) < 1e-12
    assert abs(tangent - float(acc.jvp(out))) < 1e-12


def test_docstring_examples():
    import doctest

    result = doctest.testmod(ad, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------ bad input


@given(bad=not_a_number())
@settings(max_examples=60)
def test_bad_operands_name_the_argument(bad):
    expect_clear_error(lambda: ad.Var(bad), "value", "autodiff")
    expect_clear_error(lambda: ad.Dual(1.0, bad), "tangent", "autodiff")
    expect_clear_error(lambda: ad.Var(1.0) + bad, "b", "autodiff")  # Var.__add__ -> add(self, bad)
    expect_clear_error(lambda: ad.mul(bad, ad.Var(1.0)), "a", "autodiff")
    expect_clear_error(lambda: ad.Dual(1.0, 1.0) / bad, "b", "autodiff")
    expect_clear_error(lambda: ad.exp(bad), "x", "autodiff")
    expect_clear_error(lambda: ad.Var(1.0).backward(grad=bad), "grad", "autodiff")


def test_non_numeric_operands_are_type_errors():
    with pytest.raises(
        TypeError, match=r"`b` must be a real number, a Var or a Dual. Received: b='2' of type str"
    ):
        ad.Var(1.0) * "2"
    with pytest.raises(
        TypeError, match=r"`a` must be a real number, a Var or a Dual. Received: a='2' of type str"
    ):
        "2" - ad.Var(1.0)  # str has no __sub__: Python calls Var.__rsub__ -> sub('2', var)
    with pytest.raises(
        TypeError,
        match=r"`a` must be a real number, a Var or a Dual. Received: a=1j of type complex",
    ):
        1j + ad.Var(1.0)
    with pytest.raises(
        TypeError,
        match=r"`b` must be a real number, a Var or a Dual. Received: b=array\(shape=\(2,\)",
    ):
        ad.Var(1.0) + np.ones(2)
    with pytest.raises(
        TypeError,
        match=r"`x` must be a real number, a Var or a Dual. "
        r"Received: x=None of type NoneType",
    ):
        ad.tanh(None)
    with pytest.raises(TypeError, match=r"`value` must be a real number. Received: value=True"):
        ad.Var(True)
    with pytest.raises(
        TypeError,
        match=r"`a` and `b` must not mix a Var \(reverse mode\) and a Dual \(forward mode\). "
        r"Received: a=Var\(value=1.0, grad=0.0\), b=Dual\(value=2.0, tangent=0.0\)",
    ):
        ad.Var(1.0) + ad.Dual(2.0)
    with pytest.raises(TypeError, match=r"`root` must be a Var. Received: root=3.0 of type float"):
        ad.topological_order(3.0)


def test_values_outside_the_domain_are_value_errors():
    with pytest.raises(ValueError, match=r"`b` must be nonzero in a / b. Received: a=1.0, b=0.0"):
        ad.Var(1.0) / 0
    with pytest.raises(ValueError, match=r"`x` must be > 0 in log\(x\). Received: x=-1.0"):
        ad.Var(-1.0).log()
    with pytest.raises(
        ValueError,
        match=r"`a` must be > 0 in a \*\* b when the exponent `b` is differentiated "
        r"\(d/db a\*\*b = a\*\*b ln a\). Received: a=-2.0, b=2.0",
    ):
        (-2.0) ** ad.Var(2.0)
    with pytest.raises(
        ValueError,
        match=r"`a` \*\* `b` or its derivative is not a finite real number. "
        r"Received: a=0.0, b=0.5",
    ):
        ad.Var(0.0) ** 0.5
    with pytest.raises(
        ValueError,
        match=r"`a` \*\* `b` or its derivative is not a finite real number. "
        r"Received: a=-8.0, b=0.5",
    ):
        ad.Var(-8.0) ** 0.5
    with pytest.raises(
        ValueError,
        match=r"`x` too large: exp\(x\) or its derivative overflows float64. "
        r"Received: x=800.0",
    ):
        ad.Var(800.0).exp()
    with pytest.raises(
        ValueError,
        match=r"`a`, `b` too large: mul\(a, b\) or its derivative overflows float64. "
        r"Received: a=1e\+200, b=1e\+200",
    ):
        ad.Var(1e200) * 1e200
    with pytest.raises(ValueError, match=r"`value` must be finite. Received: value=inf"):
        ad.Var(math.inf)
    assert (
        ad.Var(-2.0) ** 3.0
    ).value == -8.0  # a negative base is fine with a constant integer exponent
    assert (
        ad.sigmoid(ad.Var(-800.0)).value == 0.0 and ad.sigmoid(800.0) == 1.0
    )  # no overflow in sigmoid


def test_helpers_validate_their_arguments():
    with pytest.raises(
        TypeError, match=r"`f` must be a callable of Vars returning a Var. Received: f=3"
    ):
        ad.value_and_grad(3, [1.0])
    with pytest.raises(ValueError, match=r"`x` must have rank 1"):
        ad.value_and_grad(lambda a: a, [[1.0]])
    with pytest.raises(
        TypeError, match=r"`f` must return a Var or a number \(one scalar\). Received: f\(x\)='a'"
    ):
        ad.value_and_grad(lambda a: "a", [1.0])
    with pytest.raises(
        TypeError,
        match=r"`f` must return a Dual or a number \(one scalar\). Received: f\(x\)=\[1.0\]",
    ):
        ad.jvp(lambda a: [1.0], [1.0], [1.0])
    with pytest.raises(
        ValueError,
        match=r"`v` must have the shape of `x`. Received: v.shape=\(1,\), x.shape=\(2,\)",
    ):
        ad.jvp(lambda a, b: a * b, [1.0, 2.0], [1.0])
    with pytest.raises(
        ValueError, match=r"`x` must hold at least one number. Received: x.shape=\(0,\)"
    ):
        ad.forward_grad(lambda: 1.0, [])
    # a function that does not depend on its inputs has a zero gradient
    assert ad.value_and_grad(lambda a: 2.0, [1.0])[1].tolist() == [0.0]
    assert ad.forward_grad(lambda a: 2.0, [1.0])[1].tolist() == [0.0]
