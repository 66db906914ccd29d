"""nnlib.optimizers: 100-step trajectories equal to keras.optimizers on the same gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nnlib import optimizers as O
from nnlib import schedules as S
from nnlib.numpy_net import MLP

STEPS = 100


# ---------------------------------------------------------------- two problems, gradients in NumPy


def quadratic(dtype):
    """f(w) = 1/2 w^T A w - b^T w with condition number 100 (eigenvalues 1 .. 100)."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    A = Q @ np.diag(np.logspace(0, 2, 5)) @ Q.T
    b = rng.standard_normal(5)
    params = [np.linspace(-1.0, 1.0, 5).astype(dtype)]
    return params, lambda ps: [(A @ ps[0] - b).astype(dtype)]


def small_mlp(dtype):
    """Cross-entropy of a 4-6-3 tanh MLP on 16 fixed samples; gradients by nnlib backprop."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((16, 4)).astype(dtype), rng.integers(0, 3, 16)
    net = MLP([4, 6, 3], activation="tanh", seed=0, dtype=np.dtype(dtype).name)

    def grads(ps):
        net.params = ps  # evaluate at the given parameter values
        return net.loss_and_grads(X, y)[1]

    return [p.copy() for p in net.params], grads


# ---------------------------------------------------------------- configurations


def sched(kind):
    """The same schedule in nnlib and in Keras (fresh objects for each side)."""
    return {
        "exp": lambda m: m.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.8),
        "cos": lambda m: m.CosineDecay(
            0.05, decay_steps=80, alpha=0.1, warmup_target=0.2, warmup_steps=10
        ),
        "piece": lambda m: m.PiecewiseConstantDecay([30, 60], [0.05, 0.01, 0.001]),
    }[kind]


# Keras's default hyperparameters and common settings; float32 (Keras's native precision).
CONFIGS_FLOAT32 = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"momentum": 0.9, "learning_rate": "exp"}),
    ("SGD", {"weight_decay": 0.01}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adagrad", {"learning_rate": "cos"}),
    ("RMSprop", {}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9}),
    ("Adam", {"learning_rate": "piece"}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
]

# float64: Keras rounds Python-float hyperparameters to float32 (its learning-rate variable is
# float32, and ops.cast(0.999, "float64") goes through a float32 tensor), so we use values that
# float32 represents exactly (powers of two); then the trajectories agree to ~1e-12.
CONFIGS_FLOAT64 = [
    ("SGD", {"learning_rate": 2**-7, "momentum": 0.875, "nesterov": True}),
    ("SGD", {"learning_rate": 2**-7, "momentum": 0.75, "weight_decay": 2**-4}),
    ("Adagrad", {"learning_rate": 2**-3, "initial_accumulator_value": 0.125, "epsilon": 2**-20}),
    ("RMSprop", {"learning_rate": 2**-7, "rho": 0.875, "momentum": 0.5, "epsilon": 2**-20}),
    ("Adam", {"learning_rate": 2**-6, "beta_1": 0.875, "beta_2": 1 - 2**-10, "epsilon": 2**-20}),
    (
        "AdamW",
        {
            "learning_rate": 2**-6,
            "weight_decay": 2**-3,
            "beta_1": 0.875,
            "beta_2": 1 - 2**-10,
            "epsilon": 2**-20,
        },
    ),
]


def build(module, name, kw):
    kw = dict(kw)
    if isinstance(kw.get("learning_rate"), str):
        kw["learning_rate"] = sched(kw["learning_rate"])(
            S if module is O else keras.optimizers.schedules
        )
    return getattr(module, name)(**kw)


RUNS = [(n, kw, np.float32) for n, kw in CONFIGS_FLOAT32] + [
    (n, kw, np.float64) for n, kw in CONFIGS_FLOAT64
]
RUN_IDS = [
    f"{np.dtype(d).name}-{n}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for n, kw, d in RUNS
]


def flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def unflat(vector, like):
    sizes = np.cumsum([a.size for a in like])[:-1]
    return [part.reshape(a.shape) for part, a in zip(np.split(vector, sizes), like)]


@pytest.fixture(scope="module")
def trajectories():
    """Run every configuration for STEPS updates with nnlib and with Keras; record both paths.

    Each run optimizes the quadratic and the MLP together: nnlib updates the five arrays
    [w, W1, b1, W2, b2]; Keras updates one tf.Variable holding them end to end (every optimizer here
    acts elementwise, so this is the same update, and it keeps the traced graph small). All Keras
    updates of a step go through one tf.function (eager Keras costs ~30 ms a step). Gradients are
    computed in NumPy at each side's own current parameters, so only the optimizers differ.
    """
    runs = []
    for name, kw, dtype in RUNS:
        (q_params, q_grad), (m_params, m_grad) = quadratic(dtype), small_mlp(dtype)
        params = q_params + m_params
        theirs = tf.Variable(flat(params))
        keras_opt = build(keras.optimizers, name, kw)
        keras_opt.build([theirs])
        runs.append(
            {
                "grad": lambda ps, q=q_grad, m=m_grad: q(ps[:1]) + m(ps[1:]),
                "start": [p.copy() for p in params],
                "ours": [p.copy() for p in params],
                "ours_opt": build(O, name, kw),
                "theirs": theirs,
                "keras_opt": keras_opt,
                "path_ours": [],
                "path_theirs": [],
            }
        )

    @tf.function
    def keras_step(all_grads):
        for run, g in zip(runs, all_grads):
            run["keras_opt"].apply_gradients([(g, run["theirs"])])
        return [run["theirs"].read_value() for run in runs]

    values = [run["theirs"].numpy() for run in runs]
    for _ in range(STEPS):
        all_grads = []
        for run, value in zip(runs, values):
            run["ours_opt"].apply_gradients(
                zip(run["grad"]([p.copy() for p in run["ours"]]), run["ours"])
            )
            run["path_ours"].append([p.copy() for p in run["ours"]])
            all_grads.append(tf.constant(flat(run["grad"](unflat(value, run["start"])))))
        values = [t.numpy() for t in keras_step(all_grads)]
        for run, value in zip(runs, values):
            run["path_theirs"].append(unflat(value, run["start"]))
    return dict(zip(RUN_IDS, runs))


@pytest.mark.parametrize("run_id", RUN_IDS)
def test_trajectory_equals_keras(trajectories, run_id):
    run = trajectories[run_id]
    dtype = run["start"][0].dtype
    for step, (ours, theirs) in enumerate(zip(run["path_ours"], run["path_theirs"])):
        for w, want in zip(ours, theirs):
            assert w.dtype == dtype
            # Relative to the trajectory's scale: single coordinates cross 0 along the way.
            np.testing.assert_allclose(
                w, want, rtol=1e-5, atol=1e-5 * np.abs(want).max(), err_msg=f"step {step}"
            )
    assert run["ours_opt"].iterations == STEPS == int(run["keras_opt"].iterations)
    moved = [np.abs(w - p).max() for w, p in zip(run["ours"], run["start"])]
    assert min(moved[0], max(moved[1:])) > 1e-3  # both problems actually travelled


# ---------------------------------------------------------------- by hand


def test_golden_values_by_hand():
    w = np.array([1.0, -1.0])
    O.SGD(learning_rate=0.1).apply_gradients([(np.array([2.0, -4.0]), w)])
    np.testing.assert_allclose(w, [0.8, -0.6])  # w - 0.1 g

    w, opt = np.array([1.0]), O.SGD(learning_rate=0.1, momentum=0.5)
    opt.apply_gradients([(np.array([1.0]), w)])  # v = -0.1,              w = 0.9
    opt.apply_gradients([(np.array([1.0]), w)])  # v = 0.5(-0.1) - 0.1 = -0.15, w = 0.75
    np.testing.assert_allclose(w, [0.75])
    np.testing.assert_allclose(opt.get_state(w)["velocity"], [-0.15])

    w = np.array([1.0])
    O.SGD(learning_rate=0.1, momentum=0.5, nesterov=True).apply_gradients([(np.array([1.0]), w)])
    np.testing.assert_allclose(w, [1.0 + 0.5 * -0.1 - 0.1])  # w + mu v - eta g

    w = np.array([3.0, -3.0])  # Adam's first step moves every coordinate by ~eta (sign of g)
    O.Adam(learning_rate=0.1, epsilon=0.0).apply_gradients([(np.array([5.0, -0.01]), w)])
    np.testing.assert_allclose(w, [2.9, -2.9])

    w = np.array([1.0])  # Adagrad: accumulator 0.1 + 0.9^2... use G0 = 0.0: 1 - 0.5 * 2 / sqrt(4)
    O.Adagrad(learning_rate=0.5, initial_accumulator_value=0.0, epsilon=0.0).apply_gradients(
        [(np.array([2.0]), w)]
    )
    np.testing.assert_allclose(w, [0.5])

    w = np.array([2.0])  # AdamW: decay 2 - 0.1 * 0.5 * 2 = 1.9, then the Adam step of 0.1
    O.AdamW(learning_rate=0.1, weight_decay=0.5, epsilon=0.0).apply_gradients(
        [(np.array([1.0]), w)]
    )
    np.testing.assert_allclose(w, [1.8])


def test_state_is_explicit_and_schedule_sees_iterations():
    seen = []
    w = np.zeros(2)
    opt = O.Adam(learning_rate=lambda step: seen.append(step) or 0.1)
    for _ in range(3):
        opt.apply_gradients([(np.ones(2), w)])
    assert seen == [0, 1, 2] and opt.iterations == 3  # step = updates done so far (Keras)
    assert set(opt.get_state(w)) == {"m", "v"}
    np.testing.assert_allclose(opt.get_state(w)["m"], 1 - 0.9**3)
    w32 = np.zeros(2, dtype=np.float32)
    O.RMSprop(momentum=0.5).apply_gradients([(np.ones(2), w32)])
    assert w32.dtype == np.float32 and set(O.RMSprop(momentum=0.5).get_state(w32)) == {
        "velocity",
        "momentum",
    }


def test_errors_name_the_argument():
    with pytest.raises(
        ValueError, match=r"`momentum` must be in \[0.0, 1.0\). Received: momentum=1.5"
    ):
        O.SGD(momentum=1.5)
    with pytest.raises(
        ValueError, match=r"`learning_rate` must be > 0. Received: learning_rate=0.0"
    ):
        O.Adam(learning_rate=0.0)
    with pytest.raises(
        ValueError, match=r"`learning_rate` must be > 0. Received: learning_rate=-0.1"
    ):
        O.RMSprop(learning_rate=-0.1)
    with pytest.raises(ValueError, match=r"`beta_2` must be in \[0.0, 1.0\). Received: beta_2=1.0"):
        O.Adam(beta_2=1.0)
    with pytest.raises(ValueError, match=r"`rho` must be in \[0.0, 1.0\). Received: rho=-0.5"):
        O.RMSprop(rho=-0.5)
    with pytest.raises(
        ValueError,
        match=r"`initial_accumulator_value` must be in \[0.0, inf\]. Received: "
        r"initial_accumulator_value=-1.0",
    ):
        O.Adagrad(initial_accumulator_value=-1.0)
    with pytest.raises(
        ValueError,
        match=r"`weight_decay` must be a number >= 0 for AdamW. Received: weight_decay=None",
    ):
        O.AdamW(weight_decay=None)
    with pytest.raises(TypeError, match=r"`nesterov` must be a bool. Received: nesterov='yes'"):
        O.SGD(momentum=0.9, nesterov="yes")
    opt, w = O.SGD(), np.zeros(3)
    with pytest.raises(
        ValueError,
        match=r"Each gradient must have its parameter's shape. Received: gradient 0 "
        r"with shape \(2,\) for a parameter of shape \(3,\)",
    ):
        opt.apply_gradients([(np.zeros(2), w)])
    with pytest.raises(
        TypeError,
        match=r"Each parameter must be a float32/float64 NumPy array \(updated in "
        r"place\). Received: parameter 0 of type list",
    ):
        opt.apply_gradients([(np.zeros(3), [0.0, 0.0, 0.0])])
    with pytest.raises(
        TypeError, match=r"`grads_and_params` must be an iterable of \(gradient, parameter\) pairs"
    ):
        opt.apply_gradients([np.zeros(3)])
    with pytest.raises(
        ValueError,
        match=r"`gradient 0` must contain only finite values. Received: gradient 0 with 1",
    ):
        opt.apply_gradients([(np.array([0.0, np.nan, 0.0]), w)])
    with pytest.raises(
        ValueError,
        match=r"`learning_rate` schedule must return a finite number >= 0. "
        r"Received: learning_rate\(0\)=-1.0",
    ):
        O.SGD(learning_rate=lambda step: -1.0).apply_gradients([(np.zeros(3), w)])
    np.testing.assert_array_equal(w, 0.0)  # a rejected update leaves the parameters untouched


def test_docstring_examples():
    import doctest

    import nnlib.optimizers

    result = doctest.testmod(
        nnlib.optimizers, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0


def test_a_schedule_must_take_one_step_argument():
    from nnlib.optimizers import SGD

    with pytest.raises(
        TypeError, match=r"schedule called as learning_rate\(step\).*Received: learning_rate="
    ):
        SGD(learning_rate=lambda step, extra: 0.1)
    assert SGD(learning_rate=lambda step: 0.1) is not None


@pytest.mark.parametrize("cls", [O.SGD, O.Adagrad, O.RMSprop, O.Adam, O.AdamW])
def test_keras2_argument_names_say_what_to_write_instead(cls):
    name = cls.__name__
    with pytest.raises(
        ValueError,
        match=rf"`lr` is not an argument of {name}: Keras 3 \(and nnlib\) call it "
        rf"`learning_rate`; use {name}\(learning_rate=0.1\). Received: lr=0.1",
    ):
        cls(lr=0.1)
    with pytest.raises(
        ValueError,
        match=rf"`decay` is not an argument of {name} in Keras 3 .* pass a schedule "
        r"as `learning_rate`.*Received: decay=0.01",
    ):
        cls(decay=0.01)
    with pytest.raises(
        TypeError, match=rf"`momentun` is not an argument of {name}. .*Received: momentun=0.9"
    ):
        cls(momentun=0.9)
    with pytest.raises(
        ValueError, match=r"Argument\(s\) not recognized: \{'lr': 0.1\}"
    ):  # Keras 3 says less
        getattr(keras.optimizers, name)(lr=0.1)


def test_apply_gradients_checks_every_pair_before_changing_any_parameter():
    w0, w1 = np.ones(2), np.ones(3)
    with pytest.raises(
        ValueError, match=r"Each gradient must have its parameter's shape. Received: gradient 1"
    ):
        O.SGD(0.1).apply_gradients([(np.ones(2), w0), (np.ones(2), w1)])
    np.testing.assert_array_equal(w0, np.ones(2))  # pair 0 was valid, and still untouched


# ----------------------------------------------------------------------------- Muon


def _matrix_with_singular_values(rng, shape, values):
    u, _ = np.linalg.qr(rng.normal(size=(shape[0], shape[0])))
    v, _ = np.linalg.qr(rng.normal(size=(shape[1], shape[1])))
    k = len(values)
    return (u[:, :k] * values) @ v[:, :k].T, u[:, :k], v[:, :k]


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (10, 10)])
def test_newton_schulz_keeps_singular_vectors_and_moves_singular_values_near_1(shape):
    rng = np.random.default_rng(0)
    values = np.geomspace(1.0, 1e-2, min(shape))  # condition number 100
    g, u, v = _matrix_with_singular_values(rng, shape, values)
    out = O.newton_schulz(g)
    inner = u.T @ out @ v  # diagonal if the singular vectors are kept
    assert np.max(np.abs(inner - np.diag(np.diag(inner)))) < 1e-10
    s = np.diag(inner)
    assert np.all((s > 0.68) & (s < 1.2)), s  # the band the docstring states
    # a direction 10^4 times weaker than the strongest is amplified, but stays far below 1
    weak, *_ = _matrix_with_singular_values(rng, shape, np.geomspace(1.0, 1e-4, min(shape)))
    s_weak = np.linalg.svd(O.newton_schulz(weak), compute_uv=False)
    assert 0.01 < s_weak.min() < 0.1
    assert O.newton_schulz(np.zeros(shape)).shape == shape and not np.any(
        O.newton_schulz(np.zeros(shape))
    )


def test_newton_schulz_equals_keras_muon():
    rng = np.random.default_rng(1)
    g = rng.normal(size=(48, 20)).astype(np.float32)
    theirs = keras.ops.convert_to_numpy(
        keras.optimizers.Muon().zeropower_via_newtonschulz5(keras.ops.convert_to_tensor(g), 5)
    )
    ours = O.newton_schulz(g)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"nesterov": False, "momentum": 0.9},
        {"rms_rate": None, "weight_decay": None},
        {"weight_decay": 0.1, "ns_steps": 3},
    ],
    ids=["defaults", "no-nesterov", "no-rms-no-decay", "decay-3-steps"],
)
def test_muon_trajectory_equals_keras(kw):
    # 30 steps on an ill-conditioned least-squares problem in a 32x16 weight matrix, float32: our
    # steps equal Keras's up to float32 rounding of the matrix products (measured: 6e-8 relative).
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(32, 16)).astype(np.float32)
    target = rng.normal(size=(32, 16)).astype(np.float32)
    a = (rng.normal(size=(32, 32)) * np.geomspace(1, 0.01, 32)).astype(np.float32)

    def grad(w):
        return a.T @ (a @ w - target)

    ours, opt = w0.copy(), O.Muon(learning_rate=0.01, **kw)
    theirs, keras_opt = keras.Variable(w0.copy()), keras.optimizers.Muon(learning_rate=0.01, **kw)
    moved = 0.0
    for _ in range(30):
        opt.apply_gradients([(grad(ours), ours)])
        keras_opt.apply_gradients([(keras.ops.convert_to_tensor(grad(theirs.numpy())), theirs)])
        value = theirs.numpy()
        np.testing.assert_allclose(ours, value, rtol=0, atol=1e-6 * np.max(np.abs(value)))
        moved = max(moved, float(np.max(np.abs(value - w0))))
    assert moved > 0.1 and opt.iterations == 30  # the comparison is not of two idle runs


def test_muon_gives_biases_and_excluded_kernels_keras_adamw_step():
    # A hidden kernel (Muon), its bias (1-D: AdamW) and an output kernel excluded by name in Keras
    # and by identity here (AdamW), 20 steps of the same gradients through both.
    rng = np.random.default_rng(2)
    shapes = {"hidden_kernel": (12, 8), "hidden_bias": (8,), "output_kernel": (8, 3)}
    start = {k: rng.normal(size=v).astype(np.float32) for k, v in shapes.items()}
    grads = [
        {k: rng.normal(size=v).astype(np.float32) for k, v in shapes.items()} for _ in range(20)
    ]
    ours = {k: v.copy() for k, v in start.items()}
    opt = O.Muon(learning_rate=0.02, exclude=[ours["output_kernel"]], adam_weight_decay=0.01)
    assert [opt.uses_adamw(ours[k]) for k in shapes] == [False, True, True]
    theirs = {k: keras.Variable(v.copy(), name=k) for k, v in start.items()}
    keras_opt = keras.optimizers.Muon(
        learning_rate=0.02, exclude_layers=["output"], adam_weight_decay=0.01
    )
    for g in grads:
        opt.apply_gradients([(g[k], ours[k]) for k in shapes])
        keras_opt.apply_gradients([(keras.ops.convert_to_tensor(g[k]), theirs[k]) for k in shapes])
    for k in shapes:
        value = theirs[k].numpy()
        np.testing.assert_allclose(ours[k], value, rtol=0, atol=1e-6 * np.max(np.abs(value)))
        assert np.max(np.abs(value - start[k])) > 0.05, k  # every parameter moved


def test_muon_bad_input_is_named():
    with pytest.raises(
        ValueError, match=r"`ns_steps` must be an integer >= 1\. Received: ns_steps=0"
    ):
        O.Muon(ns_steps=0)
    with pytest.raises(TypeError, match=r"`ns_steps` must be an integer\. Received: ns_steps=2\.5"):
        O.Muon(ns_steps=2.5)
    with pytest.raises(ValueError, match=r"`g` must have rank 2"):
        O.newton_schulz(np.ones(4))
    with pytest.raises(ValueError, match=r"`rms_rate` must be > 0"):
        O.Muon(rms_rate=0)
    with pytest.raises(TypeError, match=r"`exclude` must be a list of parameter arrays"):
        O.Muon(exclude=np.zeros((2, 2)))
    with pytest.raises(TypeError, match=r"`exclude` must be a list of parameter arrays"):
        O.Muon(exclude=["output"])


def test_newton_schulz_band_is_relative_to_the_frobenius_norm_and_not_monotone():
    # A diagonal matrix's singular values are its entries, so each output entry is p(p(...p(x)))
    # of its input entry x / ||G||_F: the band the docstring states, and its peak at a weak input.
    d = np.geomspace(1.0, 1e-5, 400)
    out = np.diag(O.newton_schulz(np.diag(d)))
    relative = d / np.linalg.norm(d)
    band = relative >= 2e-3
    assert np.all((out[band] > 0.68) & (out[band] < 1.21))
    small = relative < 1.5e-3  # below the band: the output grows with the input, from 0
    assert np.all(out[small] < 0.68) and np.all(np.diff(out[small][::-1]) > 0)
    peak = relative[np.argmax(out)]
    assert 2e-3 < peak < 1e-2 and out.max() > 1.15 > out[0]  # the strongest input is not the peak
