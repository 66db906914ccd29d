"""Robustness of the math layer under bad input (issue 15): every public argument, invalid values.

Part 1 throws invalid values (hypothesis, see ``tests/_bad_input.py``) at every public argument of
activations, losses, initializers, regularizers, optimizers, schedules, gradcheck, numpy_net, conv
and rnn, and requires a clear ``ValueError``/``TypeError``. Part 2 checks the unusual *valid*
inputs and the numerically careful paths: a correct result, no warning.
"""

import fractions
import warnings

import numpy as np
import pytest
from _bad_input import (
    bad_array,
    bad_int,
    bad_number,
    bad_pair,
    expect_clear_error,
    not_a_bool,
    not_a_str,
    not_callable,
    not_one_of,
    not_real_array,
    numbers_outside,
    write_count,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import activations as A
from nnlib import (
    conv,
    gradcheck,
    initializers,
    rnn,
)
from nnlib import (
    losses as L,
)
from nnlib import (
    optimizers as O,
)
from nnlib import (
    regularizers as R,
)
from nnlib import schedules as S
from nnlib.numpy_net import MLP

MODULE = "math"


@pytest.fixture(scope="module", autouse=True)
def _count():
    yield
    write_count(MODULE)


rng = np.random.default_rng(0)
Z = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
P = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
ONE_HOT = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
LABELS = np.array([1, 0])
X4, Y3 = rng.normal(size=(6, 4)), np.array([0, 1, 2, 0, 1, 2])
XI, K = rng.normal(size=(2, 5, 5, 3)), rng.normal(size=(3, 3, 3, 4))
XS, WX, WH, B = (
    rng.normal(size=(2, 4, 3)),
    rng.normal(size=(3, 5)),
    rng.normal(size=(5, 5)) * 0.5,
    rng.normal(size=5),
)


def gen():
    return np.random.default_rng(0)


def sgd_step(value, which):
    """One SGD update with ``value`` as the gradient (or the parameter)."""
    g, w = np.ones(2), np.ones(2)
    pair = (value, w) if which == "gradient" else (g, value)
    O.SGD(0.1).apply_gradients([pair])


def sq(v):
    return float(np.sum(v**2))


# (id, call(value), argument name in messages, strategy of invalid values)
ELEMENTWISE = [name for name in A.__all__ if name != "ACTIVATIONS"]  # every function
TARGETS = [
    (f"activations.{f} z", lambda v, f=f: getattr(A, f)(v), "z", bad_array()) for f in ELEMENTWISE
]
TARGETS += [
    (
        f"activations.{f} negative_slope",
        lambda v, f=f: getattr(A, f)(Z, negative_slope=v),
        "negative_slope",
        bad_number(),
    )
    for f in ("leaky_relu", "leaky_relu_grad")
]
TARGETS += [
    (f"activations.{f} alpha", lambda v, f=f: getattr(A, f)(Z, alpha=v), "alpha", bad_number())
    for f in ("elu", "elu_grad")
]
TARGETS += [
    (
        f"activations.{f} axis",
        lambda v, f=f: getattr(A, f)(Z, axis=v),
        "axis",
        bad_int() | st.integers(2, 2**70) | st.integers(-(2**70), -3),
    )
    for f in ("softmax", "log_softmax")
]
TARGETS += [
    (
        f"activations.{f} z (no class)",
        lambda v, f=f: getattr(A, f)(v),
        "z",
        hnp.arrays(np.float64, st.sampled_from([(0,), (3, 0), (2, 0)])),
    )
    for f in ("softmax", "log_softmax")
]

PAIR_LOSSES = [
    "mean_squared_error",
    "mean_absolute_error",
    "binary_crossentropy",
    "categorical_crossentropy",
    "hinge",
]
for f in PAIR_LOSSES + [f + "_grad" for f in PAIR_LOSSES]:
    y_true = ONE_HOT
    TARGETS += [
        (f"losses.{f} y_true", lambda v, f=f: getattr(L, f)(v, P), "y_true", bad_array()),
        (f"losses.{f} y_pred", lambda v, f=f: getattr(L, f)(y_true, v), "y_pred", bad_array()),
    ]
for f in ["sparse_categorical_crossentropy", "sparse_categorical_crossentropy_grad"]:
    TARGETS += [
        (
            f"losses.{f} y_true",
            lambda v, f=f: getattr(L, f)(v, P),
            "y_true",
            not_real_array()
            | st.sampled_from([[0.5, 1.0], [-1, 0], [0, 3], [np.nan, 0], [[0, 1], [1, 0]]]),
        ),
        (f"losses.{f} y_pred", lambda v, f=f: getattr(L, f)(LABELS, v), "y_pred", bad_array()),
    ]
for f in ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]:
    for g in (f, f + "_grad"):
        yt = LABELS if f.startswith("sparse") else ONE_HOT
        TARGETS += [
            (
                f"losses.{g} from_logits",
                lambda v, g=g, yt=yt: getattr(L, g)(yt, P, from_logits=v),
                "from_logits",
                not_a_bool(),
            ),
            (
                f"losses.{g} y_pred (not probabilities)",
                lambda v, g=g, yt=yt: getattr(L, g)(yt, P * v),
                "y_pred",
                numbers_outside(0.0, 1.0 / 0.7) | st.just(-1.0),
            ),
        ]
TARGETS += [
    (
        f"losses.{f} y_true (not in [0, 1])",
        lambda v, f=f: getattr(L, f)(ONE_HOT * v, P),
        "y_true",
        numbers_outside(0.0, 1.0),
    )
    for f in ("binary_crossentropy", "categorical_crossentropy_grad")
]
TARGETS += [
    (
        f"losses.{f} y_pred (empty last axis)",
        lambda v, f=f: getattr(L, f)(np.zeros(v), np.zeros(v)),
        "y_pred",
        st.sampled_from([(0,), (2, 0), (3, 0)]),
    )
    for f in PAIR_LOSSES
]

for f in ("distillation_loss", "distillation_loss_grad"):
    TARGETS += [
        (
            f"losses.{f} teacher_logits",
            lambda v, f=f: getattr(L, f)(v, Z),
            "teacher_logits",
            bad_array(),
        ),
        (
            f"losses.{f} student_logits",
            lambda v, f=f: getattr(L, f)(Z, v),
            "student_logits",
            bad_array(),
        ),
        (
            f"losses.{f} temperature",
            lambda v, f=f: getattr(L, f)(Z, Z, temperature=v),
            "temperature",
            bad_number(0.0, None, low_open=True),
        ),
        (
            f"losses.{f} student_logits (no class)",
            lambda v, f=f: getattr(L, f)(np.zeros(v), np.zeros(v)),
            "student_logits",
            st.sampled_from([(0,), (2, 0), (3, 0)]),
        ),
    ]

INITS = ["zeros", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal"]
bad_shape = st.one_of(
    st.none(),
    st.text(max_size=3),
    st.floats(),
    st.integers(max_value=-1),
    st.lists(st.floats(0.5, 3), min_size=1, max_size=2),
    st.lists(st.integers(max_value=-1), min_size=1, max_size=2),
)
TARGETS += [
    (
        f"initializers.{f} shape",
        lambda v, f=f: getattr(initializers, f)(v, gen()),
        "shape",
        bad_shape,
    )
    for f in INITS
]
TARGETS += [
    ("initializers.compute_fans shape", lambda v: initializers.compute_fans(v), "shape", bad_shape)
]
TARGETS += [
    (
        f"initializers.{f} dtype",
        lambda v, f=f: getattr(initializers, f)((2, 3), gen(), dtype=v),
        "dtype",
        st.one_of(
            st.none(),
            st.integers(),
            st.sampled_from(["int32", "float16", "complex64", np.int8]),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
        ),
    )
    for f in INITS
]
TARGETS += [
    (
        f"initializers.{f} rng",
        lambda v, f=f: getattr(initializers, f)((2, 3), v),
        "rng",
        st.one_of(st.integers(), st.text(max_size=2), st.just(np.random.RandomState(0))),
    )
    for f in INITS[1:]
]
TARGETS += [
    (
        f"initializers.{f} shape (too big)",
        lambda v, f=f: getattr(initializers, f)(v, gen()),
        "shape",
        st.sampled_from([(10**7, 10**7), (2**40, 2**30), (10**20,)]),
    )
    for f in INITS
]

for f in ["l1", "l1_grad", "l2", "l2_grad", "l1_l2", "l1_l2_grad"]:
    TARGETS.append((f"regularizers.{f} x", lambda v, f=f: getattr(R, f)(v), "x", bad_array()))
for f in ["l1", "l1_grad", "l2", "l2_grad"]:
    TARGETS.append(
        (
            f"regularizers.{f} factor",
            lambda v, f=f: getattr(R, f)(Z, factor=v),
            "factor",
            bad_number(0.0, None),
        )
    )
for f in ["l1_l2", "l1_l2_grad"]:
    for arg in ("l1", "l2"):
        TARGETS.append(
            (
                f"regularizers.{f} {arg}",
                lambda v, f=f, arg=arg: getattr(R, f)(Z, **{arg: v}),
                arg,
                bad_number(0.0, None),
            )
        )
TARGETS += [
    ("regularizers.dropout x", lambda v: R.dropout(v, 0.5, gen()), "x", bad_array()),
    (
        "regularizers.dropout rate",
        lambda v: R.dropout(Z, v, gen()),
        "rate",
        bad_number(0.0, 1.0, high_open=True),
    ),
    (
        "regularizers.dropout rng",
        lambda v: R.dropout(Z, 0.5, v),
        "rng",
        st.one_of(st.integers(), st.none(), st.text(max_size=2)),
    ),
    (
        "regularizers.dropout training",
        lambda v: R.dropout(Z, 0.5, gen(), training=v),
        "training",
        not_a_bool(),
    ),
]

OPTS = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
for name in OPTS:
    cls = getattr(O, name)
    TARGETS += [
        (
            f"optimizers.{name} learning_rate",
            lambda v, cls=cls: cls(learning_rate=v),
            "learning_rate",
            bad_number(0.0, None, low_open=True),
        ),
        (
            f"optimizers.{name} weight_decay",
            lambda v, cls=cls: cls(weight_decay=v),
            "weight_decay",
            bad_number(0.0, None).filter(lambda v: v is not None),
        ),
        (
            f"optimizers.{name}.apply_gradients grads_and_params",
            lambda v, cls=cls: cls().apply_gradients(v),
            "grads_and_params",
            st.one_of(
                st.none(),
                st.integers(),
                st.text(min_size=1, max_size=3),
                st.lists(st.integers(), min_size=1, max_size=2),
                st.just(np.ones(3)),
            ),
        ),
        (
            f"optimizers.{name}.apply_gradients gradient",
            lambda v, cls=cls: cls().apply_gradients([(v, np.ones(2))]),
            "gradient 0",
            bad_array() | hnp.arrays(np.float64, st.sampled_from([(3,), (2, 1), ()])),
        ),
        (
            f"optimizers.{name}.get_state param",
            lambda v, cls=cls: cls().get_state(v),
            "param",
            st.one_of(
                st.text(max_size=3),
                st.integers(),
                st.none(),
                st.lists(st.floats(0, 1), max_size=2),
                hnp.arrays(st.sampled_from([np.int64, np.complex128, np.float16]), 2),
            ),
        ),
        (
            f"optimizers.{name} learning_rate schedule",
            lambda v, cls=cls: cls(learning_rate=lambda step: v).apply_gradients(
                [(np.ones(2), np.ones(2))]
            ),
            "learning_rate",
            bad_number(0.0, None).filter(lambda v: v is not None),
        ),
        (
            f"optimizers.{name} learning_rate (no step argument)",
            lambda v, cls=cls: cls(learning_rate=lambda: v),
            "learning_rate",
            st.floats(0.1, 1),
        ),
    ]
TARGETS += [
    (
        "optimizers.SGD.apply_gradients parameter",
        lambda v: sgd_step(v, "parameter"),
        "parameter 0",
        hnp.arrays(np.float64, 2, elements=st.sampled_from([np.nan, np.inf, -np.inf, 1.0])).filter(
            lambda w: not np.isfinite(w).all()
        ),
    ),
    (
        "optimizers.SGD.apply_gradients gradient (overflows float32)",
        lambda v: O.SGD(0.1).apply_gradients([(np.full(2, v), np.ones(2, np.float32))]),
        "gradient 0",
        st.floats(3.5e38, 1e300),
    ),
    (
        "optimizers.SGD momentum",
        lambda v: O.SGD(momentum=v),
        "momentum",
        bad_number(0.0, 1.0, high_open=True),
    ),
    (
        "optimizers.SGD nesterov",
        lambda v: O.SGD(momentum=0.5, nesterov=v),
        "nesterov",
        not_a_bool(),
    ),
    (
        "optimizers.RMSprop rho",
        lambda v: O.RMSprop(rho=v),
        "rho",
        bad_number(0.0, 1.0, high_open=True),
    ),
    (
        "optimizers.RMSprop momentum",
        lambda v: O.RMSprop(momentum=v),
        "momentum",
        bad_number(0.0, 1.0, high_open=True),
    ),
    (
        "optimizers.Adam beta_1",
        lambda v: O.Adam(beta_1=v),
        "beta_1",
        bad_number(0.0, 1.0, high_open=True),
    ),
    (
        "optimizers.Adam beta_2",
        lambda v: O.Adam(beta_2=v),
        "beta_2",
        bad_number(0.0, 1.0, high_open=True),
    ),
    ("optimizers.Adam epsilon", lambda v: O.Adam(epsilon=v), "epsilon", bad_number(0.0, None)),
    (
        "optimizers.Adagrad initial_accumulator_value",
        lambda v: O.Adagrad(initial_accumulator_value=v),
        "initial_accumulator_value",
        bad_number(0.0, None),
    ),
    ("optimizers.Optimizer (abstract)", lambda v: O.Optimizer(v), "Optimizer", st.floats(0.1, 1)),
]

TARGETS += [
    (
        "schedules.ExponentialDecay initial_learning_rate",
        lambda v: S.ExponentialDecay(v, 10, 0.5),
        "initial_learning_rate",
        bad_number(0.0, None, low_open=True),
    ),
    (
        "schedules.ExponentialDecay decay_steps",
        lambda v: S.ExponentialDecay(0.1, v, 0.5),
        "decay_steps",
        bad_number(0.0, None, low_open=True),
    ),
    (
        "schedules.ExponentialDecay decay_rate",
        lambda v: S.ExponentialDecay(0.1, 10, v),
        "decay_rate",
        bad_number(0.0, None, low_open=True),
    ),
    (
        "schedules.ExponentialDecay staircase",
        lambda v: S.ExponentialDecay(0.1, 10, 0.5, staircase=v),
        "staircase",
        not_a_bool(),
    ),
    (
        "schedules.ExponentialDecay name",
        lambda v: S.ExponentialDecay(0.1, 10, 0.5, name=v),
        "name",
        not_a_str(),
    ),
    (
        "schedules.PiecewiseConstantDecay boundaries",
        lambda v: S.PiecewiseConstantDecay(v, [0.1, 0.2, 0.3]),
        "boundaries",
        st.one_of(
            st.none(),
            st.text(max_size=2),
            st.integers(),
            st.lists(st.integers(), min_size=3, max_size=4),
            st.tuples(st.integers(0, 9), st.integers(-9, 0)),
            st.tuples(st.just(1.0), not_a_str().filter(lambda v: v is not None)),
        ),
    ),
    (
        "schedules.PiecewiseConstantDecay values",
        lambda v: S.PiecewiseConstantDecay([10], v),
        "values",
        st.one_of(
            st.none(),
            st.floats(),
            st.tuples(st.floats(0.1, 1), bad_number(0.0, None, low_open=True)),
        ),
    ),
    (
        "schedules.PiecewiseConstantDecay name",
        lambda v: S.PiecewiseConstantDecay([10], [0.1, 0.2], name=v),
        "name",
        not_a_str(),
    ),
    (
        "schedules.CosineDecay initial_learning_rate",
        lambda v: S.CosineDecay(v, 10),
        "initial_learning_rate",
        bad_number(0.0, None),
    ),
    (
        "schedules.CosineDecay decay_steps",
        lambda v: S.CosineDecay(1.0, v),
        "decay_steps",
        bad_number(0.0, None, low_open=True),
    ),
    (
        "schedules.CosineDecay alpha",
        lambda v: S.CosineDecay(1.0, 10, alpha=v),
        "alpha",
        bad_number(0.0, 1.0),
    ),
    (
        "schedules.CosineDecay name",
        lambda v: S.CosineDecay(1.0, 10, name=v),
        "name",
        not_a_str().filter(lambda v: v is not None),
    ),
    (
        "schedules.CosineDecay warmup_target",
        lambda v: S.CosineDecay(0.0, 10, warmup_target=v),
        "warmup_target",
        bad_number(0.0, None, low_open=True).filter(lambda v: v is not None),
    ),
    (
        "schedules.CosineDecay warmup_steps",
        lambda v: S.CosineDecay(0.0, 10, warmup_steps=v),
        "warmup_steps",
        bad_int(minimum=0),
    ),
    (
        "schedules.LearningRateSchedule (abstract)",
        lambda v: S.LearningRateSchedule()(v),
        "LearningRateSchedule",
        st.integers(0, 9),
    ),
]
TARGETS += [
    (f"schedules.{n}.__call__ step", lambda v, s=s: s(v), "step", bad_int(minimum=0))
    for n, s in [
        ("ExponentialDecay", S.ExponentialDecay(0.1, 10, 0.5)),
        ("PiecewiseConstantDecay", S.PiecewiseConstantDecay([10], [0.1, 0.2])),
        ("CosineDecay", S.CosineDecay(1.0, 10)),
    ]
]

TARGETS += [
    (
        "gradcheck.numerical_gradient f",
        lambda v: gradcheck.numerical_gradient(v, np.ones(2)),
        "f",
        not_callable(),
    ),
    (
        "gradcheck.numerical_gradient x",
        lambda v: gradcheck.numerical_gradient(sq, v),
        "x",
        bad_array(min_dims=0),
    ),
    (
        "gradcheck.numerical_gradient eps",
        lambda v: gradcheck.numerical_gradient(sq, np.ones(2), eps=v),
        "eps",
        bad_number(0.0, None, low_open=True),
    ),
    (
        "gradcheck.numerical_gradient f(x)",
        lambda v: gradcheck.numerical_gradient(lambda x: v, np.ones(2)),
        "f",
        st.one_of(
            st.none(),
            st.text(max_size=2),
            st.lists(st.floats(0, 1), min_size=2, max_size=3),
            st.sampled_from([np.nan, np.inf]),
            hnp.arrays(np.float64, st.integers(2, 3)),
            st.complex_numbers(max_magnitude=2).filter(lambda c: c.imag != 0),
        ),
    ),
    (
        "gradcheck.numerical_gradient eps (below resolution)",
        lambda v: gradcheck.numerical_gradient(lambda x: float(np.sum(x)), np.array([v])),
        "eps",
        st.floats(1e12, 1e300),
    ),
    (
        "gradcheck.relative_error a",
        lambda v: gradcheck.relative_error(v, np.ones(2)),
        "a",
        bad_array(),
    ),
    (
        "gradcheck.relative_error b",
        lambda v: gradcheck.relative_error(np.ones(2), v),
        "b",
        bad_array(),
    ),
    (
        "gradcheck.check_gradients f",
        lambda v: gradcheck.check_gradients(v, lambda x: 2 * x, np.ones(2)),
        "f",
        not_callable(),
    ),
    (
        "gradcheck.check_gradients grad_f",
        lambda v: gradcheck.check_gradients(sq, v, np.ones(2)),
        "grad_f",
        not_callable(),
    ),
    (
        "gradcheck.check_gradients grad_f(x)",
        lambda v: gradcheck.check_gradients(sq, lambda x: v, np.ones(2)),
        "grad_f",
        not_real_array() | hnp.arrays(np.float64, st.sampled_from([(3,), (1,), (2, 1), ()])),
    ),
    (
        "gradcheck.check_gradients grad_f(x) for a list",
        lambda v: gradcheck.check_gradients(
            lambda ps: sq(ps[0]) + sq(ps[1]), lambda ps: v, [np.ones(2), np.ones(3)]
        ),
        "grad_f",
        st.one_of(
            st.none(),
            st.just([np.ones(2)]),
            st.just(np.ones(2)),
            st.just([np.ones(2), np.ones(2)]),
            st.just([np.ones(2), "a"]),
        ),
    ),
    (
        "gradcheck.check_gradients x",
        lambda v: gradcheck.check_gradients(sq, lambda x: 2 * x, v),
        "x",
        bad_array() | st.sampled_from([[], (), [np.ones(2, np.float32)], [[1.0, 2.0]]]),
    ),
]

net = MLP([4, 8, 3], seed=0)
TARGETS += [
    (
        "numpy_net.MLP layer_sizes",
        lambda v: MLP(v),
        "layer_sizes",
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=2),
            st.lists(st.integers(1, 5), max_size=1),
            st.lists(st.integers(max_value=0), min_size=2, max_size=3),
            st.lists(st.floats(1, 5), min_size=2, max_size=3),
            st.just([4, 10**20]),
        ),
    ),
    (
        "numpy_net.MLP activation",
        lambda v: MLP([4, 3], activation=v),
        "activation",
        not_one_of(list(A.ACTIVATIONS)),
    ),
    ("numpy_net.MLP output", lambda v: MLP([4, 3], output=v), "output", not_one_of(["softmax"])),
    ("numpy_net.MLP seed", lambda v: MLP([4, 3], seed=v), "seed", bad_int(minimum=0)),
    (
        "numpy_net.MLP dropout",
        lambda v: MLP([4, 3], dropout=v),
        "dropout",
        bad_number(0.0, 1.0, high_open=True),
    ),
    ("numpy_net.MLP l2", lambda v: MLP([4, 3], l2=v), "l2", bad_number(0.0, None)),
    (
        "numpy_net.MLP dtype",
        lambda v: MLP([4, 3], dtype=v),
        "dtype",
        not_one_of(["float32", "float64"]),
    ),
    (
        "numpy_net.MLP.forward X",
        lambda v: net.forward(v),
        "X",
        bad_array() | hnp.arrays(np.float64, st.sampled_from([(4,), (2, 5), (1, 2, 4)])),
    ),
    ("numpy_net.MLP.predict X", lambda v: net.predict(v), "X", bad_array()),
    (
        "numpy_net.MLP.forward X (float32 overflow)",
        lambda v: MLP([4, 3], dtype="float32").forward(np.full((2, 4), v)),
        "X",
        st.floats(3.5e38, 1e300),
    ),
    (
        "numpy_net.MLP.accuracy y",
        lambda v: net.accuracy(X4, v),
        "y",
        not_real_array()
        | st.sampled_from(
            [Y3 + 0.5, Y3 - 1, Y3 + 3, Y3[:4], np.eye(3)[Y3], np.where(Y3 == 0, np.nan, 1.0)]
        ),
    ),
    ("numpy_net.MLP.loss_and_grads X", lambda v: net.loss_and_grads(v, Y3), "X", bad_array()),
    (
        "numpy_net.MLP.loss_and_grads y",
        lambda v: net.loss_and_grads(X4, v),
        "y",
        not_real_array() | st.sampled_from([Y3 + 3, np.eye(3)[Y3]]),
    ),
    (
        "numpy_net.MLP.loss_and_grads training",
        lambda v: net.loss_and_grads(X4, Y3, training=v),
        "training",
        not_a_bool(),
    ),
    (
        "numpy_net.MLP.loss_and_grads X (no sample)",
        lambda v: net.loss_and_grads(np.zeros((0, 4)), np.zeros(0, int)),
        "X",
        st.just(0),
    ),
]
for arg, values in [
    ("x", bad_array()),
    ("y", not_real_array() | st.sampled_from([Y3 + 3, np.eye(3)[Y3]])),
    ("epochs", bad_int(minimum=1)),
    ("batch_size", bad_int(minimum=1)),
    ("shuffle", not_a_bool()),
    (
        "callback",
        not_callable().filter(lambda v: v is not None)
        | st.sampled_from([lambda: None, lambda e: None]),
    ),
    ("optimizer", st.one_of(st.text(max_size=3), st.integers(), st.just(O.SGD))),
    (
        "validation_data",
        st.one_of(st.integers(), st.text(max_size=2), st.sampled_from([(), (X4,), [X4, Y3, Y3]])),
    ),
]:

    def call(v, arg=arg):
        kw = {"x": X4, "y": Y3, "epochs": 1, arg: v}
        return MLP([4, 8, 3], seed=0).fit(**kw)

    TARGETS.append(
        (
            f"numpy_net.MLP.fit {arg}",
            call,
            "validation_data" if arg == "validation_data" else arg,
            values,
        )
    )

TARGETS += [
    (
        "conv.conv2d x",
        lambda v: conv.conv2d(v, K),
        "x",
        bad_array()
        | hnp.arrays(np.float64, st.sampled_from([(5, 5, 3), (1, 0, 0, 3), (1, 2, 2, 3)])),
    ),
    (
        "conv.conv2d kernel",
        lambda v: conv.conv2d(XI, v),
        "kernel",
        bad_array()
        | hnp.arrays(
            np.float64, st.sampled_from([(3, 3, 3), (0, 3, 3, 4), (3, 0, 3, 4), (3, 3, 2, 4)])
        ),
    ),
    ("conv.conv2d stride", lambda v: conv.conv2d(XI, K, stride=v), "stride", bad_pair()),
    (
        "conv.conv2d padding",
        lambda v: conv.conv2d(XI, K, padding=v),
        "padding",
        not_one_of(["valid", "same"]),
    ),
    (
        "conv.max_pool2d x",
        lambda v: conv.max_pool2d(v),
        "x",
        bad_array() | hnp.arrays(np.float64, st.sampled_from([(4, 4), (1, 0, 0, 1), (1, 1, 1, 1)])),
    ),
    (
        "conv.max_pool2d pool_size",
        lambda v: conv.max_pool2d(XI, pool_size=v),
        "pool_size",
        bad_pair(),
    ),
    (
        "conv.max_pool2d stride",
        lambda v: conv.max_pool2d(XI, stride=v),
        "stride",
        bad_pair().filter(lambda v: v is not None),
    ),
    (
        "conv.max_pool2d padding",
        lambda v: conv.max_pool2d(XI, padding=v),
        "padding",
        not_one_of(["valid", "same"]),
    ),
    (
        "rnn.simple_rnn x",
        lambda v: rnn.simple_rnn(v, WX, WH, B),
        "x",
        bad_array() | hnp.arrays(np.float64, st.sampled_from([(4, 3), (2, 4, 2)])),
    ),
    (
        "rnn.simple_rnn W_x",
        lambda v: rnn.simple_rnn(XS, v, WH, B),
        "W_x",
        bad_array() | hnp.arrays(np.float64, st.sampled_from([(3,), (2, 5)])),
    ),
    (
        "rnn.simple_rnn W_h",
        lambda v: rnn.simple_rnn(XS, WX, v, B),
        "W_h",
        bad_array() | hnp.arrays(np.float64, st.sampled_from([(5,), (5, 4)])),
    ),
    (
        "rnn.simple_rnn b",
        lambda v: rnn.simple_rnn(XS, WX, WH, v),
        "b",
        bad_array(min_dims=0) | hnp.arrays(np.float64, st.sampled_from([(4,), (5, 1)])),
    ),
    (
        "rnn.simple_rnn activation",
        lambda v: rnn.simple_rnn(XS, WX, WH, B, activation=v),
        "activation",
        not_one_of(list(A.ACTIVATIONS)),
    ),
    (
        "rnn.simple_rnn initial_state",
        lambda v: rnn.simple_rnn(XS, WX, WH, B, initial_state=v),
        "initial_state",
        bad_array().filter(lambda v: v is not None)
        | hnp.arrays(np.float64, st.sampled_from([(5,), (1, 5), (2, 4)])),
    ),
]


@pytest.mark.parametrize(
    "call, name, values", [t[1:] for t in TARGETS], ids=[t[0] for t in TARGETS]
)
@given(data=st.data())
def test_invalid_value_gets_a_clear_error(call, name, values, data):
    value = data.draw(values, label=name)
    expect_clear_error(lambda: call(value), name, MODULE)


# ============================================================================= valid, unusual input


def quiet(call):
    """Run ``call`` with every warning an error (no RuntimeWarning on the way to a correct result)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call()


def test_numpy_scalars_and_fractions_are_numbers():
    assert (
        quiet(lambda: A.leaky_relu(np.array([-1.0]), negative_slope=fractions.Fraction(1, 5)))[0]
        == -0.2
    )
    assert quiet(lambda: A.elu(np.array([1.0]), alpha=np.float32(0.5)))[0] == 1.0
    assert quiet(lambda: R.l2(np.array([2.0]), factor=np.int64(3))) == 12.0
    assert quiet(lambda: L.binary_crossentropy([[1.0]], [[0.5]], from_logits=np.False_))[
        0
    ] == pytest.approx(np.log(2))
    assert quiet(lambda: S.ExponentialDecay(0.1, 10, 0.5, staircase=np.True_)(25)) == pytest.approx(
        0.025
    )
    assert quiet(lambda: R.dropout(np.ones(3), 0.5, gen(), training=np.False_))[0].tolist() == [
        1.0,
        1.0,
        1.0,
    ]
    net32 = MLP([4, 3], seed=0)
    assert quiet(lambda: net32.fit(X4, Y3 % 3, epochs=1, shuffle=np.True_))["loss"]


def test_step_counts_beyond_int64_are_valid():
    assert quiet(lambda: S.ExponentialDecay(0.1, 2**64, 0.5)(0)) == 0.1
    schedule = S.PiecewiseConstantDecay([2**64], [0.1, 0.2])
    assert (schedule(2**64), schedule(2**64 + 1)) == (0.1, 0.2)  # the boundary is kept exact
    assert (
        quiet(lambda: S.ExponentialDecay(0.1, 10, 0.5)(10**400)) == 0.0
    )  # underflows to 0, correctly
    assert quiet(lambda: S.ExponentialDecay(0.1, 10, 0.5, staircase=True)(10**400)) == 0.0
    assert quiet(lambda: O.SGD(learning_rate=2**64).learning_rate) == 2.0**64


def test_exponential_decay_in_log_space_where_the_power_overflows():
    grow = S.ExponentialDecay(1e-300, 1, 10.0)
    assert quiet(lambda: grow(309)) == pytest.approx(1e9, rel=1e-12)  # 10^309 alone overflows
    assert quiet(lambda: S.ExponentialDecay(0.1, 1, 10.0)(1000)) == float(
        "inf"
    )  # the value itself does
    w, opt = np.array([1.0]), O.SGD(learning_rate=grow)
    for _ in range(400):  # the growing schedule reaches 1e100 at step 400, still finite
        quiet(lambda: opt.apply_gradients([(np.array([1.0]), w)]))
    assert np.isfinite(w).all() and w[0] < -1e99
    assert (
        S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20) == 0.025
    )  # the direct formula


@given(
    big=st.floats(float(np.float32(1e20)), float(np.float32(3e38)), width=32),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_adaptive_optimizers_step_through_overflowing_squares_float32(big, sign):
    """Where Keras's g*g overflows (|g| >= 1.8e19 in float32), the step still has its size."""
    g = np.array([sign * big, -sign * big], np.float32)
    for opt, step in [(O.Adam(), 1e-3), (O.Adagrad(), 1e-3), (O.RMSprop(), 1e-3 / np.sqrt(0.1))]:
        w = np.ones(2, np.float32)
        quiet(lambda: opt.apply_gradients([(g, w)]))
        np.testing.assert_allclose(
            w, [1 - sign * step, 1 + sign * step], rtol=1e-6
        )  # w moves by the step


def test_adaptive_optimizers_step_through_overflowing_squares_float64():
    for opt, want in [(O.Adam(), 1e-3), (O.Adagrad(), 1e-3), (O.RMSprop(), 1e-3 / np.sqrt(0.1))]:
        w = np.ones(2)
        quiet(lambda: opt.apply_gradients([(np.array([1e200, -1e200]), w)]))
        np.testing.assert_allclose(w, [1 - want, 1 + want], rtol=1e-12)
    # the scaled state keeps working when ordinary gradients follow, and equals the exact moments
    opt, w = O.Adam(), np.ones(1)
    for g in (1e200, 1e199, -3.0):
        quiet(lambda: opt.apply_gradients([(np.array([g]), w)]))
    state = opt.get_state(
        w
    )  # v = 0.999 (0.999 * 0.001 * 1e400 + 0.001 * 1e398) + 0.001 * 9, beyond float64
    v_log10 = np.log10(state["v"][0]) + 2 * state["exponent"] * np.log10(
        2
    )  # the slot holds v / 4^k
    assert v_log10 == pytest.approx(
        np.log10(0.999 * (0.999 * 0.001 + 0.001 * 1e-2)) + 400, abs=1e-12
    )


def test_adaptive_optimizers_keep_keras_arithmetic_and_state_in_the_normal_range():
    opt, w = O.Adam(), np.ones(3, np.float32)
    opt.apply_gradients([(np.array([1e-3, 2.0, -1e6], np.float32), w)])
    assert set(opt.get_state(w)) == {"m", "v"}  # no exponent: nothing was rescaled


def test_epsilon_zero_with_a_zero_gradient_takes_no_step():
    for opt in (
        O.Adam(learning_rate=0.1, epsilon=0.0),
        O.RMSprop(learning_rate=0.1, epsilon=0.0),
        O.Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=0.0),
    ):
        w = np.ones(2)
        quiet(lambda: opt.apply_gradients([(np.array([0.0, 2.0]), w)]))
        assert w[0] == 1.0 and w[1] < 1.0


@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
        elements=st.floats(0.5, 10) | st.floats(-10, -0.5),
    ),
    order=st.sampled_from(["C", "F", "T", "slice"]),
)
def test_numerical_gradient_works_on_any_memory_layout(x, order):
    view = {"C": x, "F": np.asfortranarray(x), "T": x.T, "slice": x[::2]}[order]
    expected = 2 * np.array(view)  # d/dv sum(v^2) = 2v
    got = quiet(lambda: gradcheck.numerical_gradient(sq, view))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert (
        quiet(
            lambda: gradcheck.check_gradients(lambda ps: sq(ps[0]), lambda ps: [2 * ps[0]], [view])
        )
        < 1e-6
    )


def test_numerical_gradient_with_a_huge_step_and_relative_error_at_the_float_limits():
    assert (
        quiet(
            lambda: gradcheck.numerical_gradient(
                lambda v: float(np.sum(v)), np.array([0.0]), eps=1e308
            )
        )[0]
        == 1.0
    )
    for a, b, want in [(1e200, 2e200, 1 / 3), (1e-200, 2e-200, 1 / 3), (1e-320, 2e-320, 1 / 3)]:
        assert quiet(
            lambda: gradcheck.relative_error(np.array([a]), np.array([b]))
        ) == pytest.approx(want, rel=1e-12)
    assert quiet(
        lambda: gradcheck.relative_error(np.array([1e160, 0.0]), np.array([0.0, 1e160]))
    ) == pytest.approx(2**-0.5)


@given(scale=st.sampled_from([1.0, 1e30, 3e38]), n=st.integers(1, 20))
def test_regularizer_penalties_do_not_overflow_on_the_way(scale, n):
    x = np.full(n, scale, np.float32)
    exact = float(np.float32(scale))  # the float32 value, summed exactly in float64
    assert quiet(lambda: R.l1(x, factor=0.01)) == pytest.approx(0.01 * n * exact, rel=1e-6)
    assert quiet(lambda: R.l2(x, factor=0.01)) == pytest.approx(0.01 * n * exact**2, rel=1e-6)
    assert quiet(lambda: R.l1_l2(x, l1=0.01)) == pytest.approx(
        0.01 * n * exact, rel=1e-6
    )  # l2 = 0: never 0 * inf


def test_regularizer_penalties_at_the_float64_limits():
    assert quiet(lambda: R.l1(np.array([1e308, 1e308]), factor=0.01)) == pytest.approx(2e306)
    assert quiet(lambda: R.l2(np.array([1e200]), factor=1e-300)) == pytest.approx(1e100)
    assert quiet(lambda: R.l2(np.array([1e-200]), factor=1e300)) == pytest.approx(1e-100)
    assert quiet(lambda: R.l2(np.array([1e308, -1e308]), factor=0.01)) == float(
        "inf"
    )  # the penalty itself overflows
    assert quiet(lambda: R.l1_l2(np.array([1e200]), l1=0.01)) == pytest.approx(1e198)
    assert R.l1_l2(np.array([1.0, -2.0]), l1=0.5, l2=0.25) == 2.75  # ordinary values unchanged


def test_mlp_labels_shaped_n_by_1_are_the_same_labels():
    probe = MLP([4, 8, 3], seed=0)
    assert probe.accuracy(X4, probe.predict(X4).reshape(-1, 1)) == 1.0
    column, flat = MLP([4, 8, 3], seed=0), MLP([4, 8, 3], seed=0)
    h_column = column.fit(X4, Y3.reshape(-1, 1), epochs=2, shuffle=False)
    h_flat = flat.fit(X4, Y3, epochs=2, shuffle=False)
    assert h_column == h_flat and max(h_column["accuracy"]) <= 1.0
    assert all(np.array_equal(a, b) for a, b in zip(column.params, flat.params))


def test_activations_and_softmax_at_the_float_limits_are_quiet_and_exact():
    assert quiet(lambda: A.tanh_grad(np.array([1e308, -1e308]))).tolist() == [0.0, 0.0]
    assert quiet(lambda: A.tanh_grad(np.array([3e38, -3e38], np.float32))).tolist() == [0.0, 0.0]
    assert quiet(lambda: A.softmax(np.array([1.7e308, -1.7e308]))).tolist() == [1.0, 0.0]
    assert quiet(lambda: A.log_softmax(np.array([3e38, -3e38], np.float32))).tolist() == [
        0.0,
        -np.inf,
    ]
    assert quiet(
        lambda: L.sparse_categorical_crossentropy([0], [[1e308, -1e308]], from_logits=True)
    ).tolist() == [0.0]


def test_casts_check_finiteness_after_the_cast():
    with pytest.raises(
        ValueError, match=r"`gradient 0` must fit in float32 .*Received: gradient 0\[0\]=1e\+39"
    ):
        O.SGD(0.1).apply_gradients([(np.array([1e39]), np.array([1.0], np.float32))])
    with pytest.raises(
        ValueError,
        match=r"`X` must fit in float32 .* 1 value\(s\) overflow .*Received: X\[1, 2\]=1e\+300",
    ):
        MLP([4, 3], dtype="float32").forward(np.where(np.arange(8).reshape(2, 4) == 6, 1e300, 0.0))
    with pytest.raises(ValueError, match=r"`initial_state` must fit in float32"):
        rnn.simple_rnn(XS.astype(np.float32), WX, WH, B, initial_state=np.full((2, 5), 1e39))
