"""nnlib.schedules against keras.optimizers.schedules: same arguments, same values."""

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlib import schedules as S

# Keras evaluates schedules in float32 (its initial_learning_rate becomes a float32 tensor), so
# the comparison uses the float32 tolerance.
RTOL = 1e-5

lr = st.floats(1e-4, 1.0)
steps = st.integers(0, 500)


def keras_value(schedule, step):
    return float(np.asarray(schedule(step)))


# decay_rate >= 0.5 and decay_steps >= 5 keep values above float32's smallest normal number.
@given(
    lr=lr,
    decay_steps=st.integers(5, 200),
    decay_rate=st.floats(0.5, 0.99),
    staircase=st.booleans(),
    step=steps,
)
def test_exponential_decay_matches_keras(lr, decay_steps, decay_rate, staircase, step):
    kw = dict(
        initial_learning_rate=lr,
        decay_steps=decay_steps,
        decay_rate=decay_rate,
        staircase=staircase,
    )
    ours = S.ExponentialDecay(**kw)(step)
    assert isinstance(ours, float)
    np.testing.assert_allclose(
        ours, keras_value(keras.optimizers.schedules.ExponentialDecay(**kw), step), rtol=RTOL
    )


@given(data=st.data(), step=steps)
def test_piecewise_constant_decay_matches_keras(data, step):
    boundaries = sorted(data.draw(st.sets(st.integers(0, 400), min_size=1, max_size=4)))
    values = data.draw(st.lists(lr, min_size=len(boundaries) + 1, max_size=len(boundaries) + 1))
    step = data.draw(
        st.sampled_from(boundaries + [b + 1 for b in boundaries] + [step])
    )  # hit the edges
    ours = S.PiecewiseConstantDecay(boundaries, values)(step)
    want = keras_value(keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values), step)
    np.testing.assert_allclose(ours, want, rtol=RTOL)


@given(
    lr=lr,
    decay_steps=st.integers(1, 300),
    alpha=st.floats(0, 1),
    step=steps,
    warmup=st.one_of(st.none(), st.tuples(st.floats(1e-3, 2.0), st.integers(1, 100))),
)
def test_cosine_decay_matches_keras(lr, decay_steps, alpha, step, warmup):
    kw = dict(initial_learning_rate=lr, decay_steps=decay_steps, alpha=alpha)
    if warmup is not None:
        kw.update(warmup_target=warmup[0], warmup_steps=warmup[1])
    ours = S.CosineDecay(**kw)(step)
    want = keras_value(keras.optimizers.schedules.CosineDecay(**kw), step)
    # alpha = 0 makes the value exactly 0 at the end of the decay; float32 cos(pi) rounding leaves
    # Keras ~1e-8 * lr there, so an absolute tolerance of float32 eps * lr applies near 0 only.
    np.testing.assert_allclose(
        ours, want, rtol=RTOL, atol=1.2e-7 * max(lr, kw.get("warmup_target", 0))
    )


def test_golden_values():
    assert S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20) == pytest.approx(0.025)
    assert S.ExponentialDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(0.05)
    s = S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert (s(0), s(10), s(11), s(20), s(21)) == (1.0, 1.0, 0.5, 0.5, 0.1)
    assert S.CosineDecay(1.0, decay_steps=10)(5) == pytest.approx(0.5)
    assert S.CosineDecay(1.0, decay_steps=10, alpha=0.1)(10) == pytest.approx(0.1)
    warm = S.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    assert (warm(0), warm(2), warm(4)) == (0.0, 0.5, 1.0)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"`decay_steps` must be > 0. Received: decay_steps=0"):
        S.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5)
    with pytest.raises(
        ValueError,
        match=r"`initial_learning_rate` must be > 0. Received: initial_learning_rate=-0.1",
    ):
        S.ExponentialDecay(-0.1, 10, 0.5)
    with pytest.raises(
        ValueError,
        match=r"`boundaries` must have one element fewer than `values`. Received: "
        r"boundaries=\[1, 2\] of length 2, values=\[1.0, 0.5\] of length 2",
    ):
        S.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(
        ValueError, match=r"`boundaries` must be strictly increasing. Received: boundaries=\[5, 5\]"
    ):
        S.PiecewiseConstantDecay([5, 5], [1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match=r"`alpha` must be in \[0.0, 1.0\]. Received: alpha=1.5"):
        S.CosineDecay(0.1, 10, alpha=1.5)
    with pytest.raises(ValueError, match=r"`step` must be an integer >= 0. Received: step=-1"):
        S.CosineDecay(0.1, 10)(-1)
    with pytest.raises(TypeError, match=r"`staircase` must be a bool. Received: staircase=1"):
        S.ExponentialDecay(0.1, 10, 0.5, staircase=1)


def test_docstring_examples():
    import doctest

    import nnlib.schedules

    result = doctest.testmod(
        nnlib.schedules, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
