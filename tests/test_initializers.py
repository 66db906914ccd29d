"""nnlib.initializers: the same distributions as keras.initializers (statistics of many samples)."""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from nnlib import initializers as I

KERAS = {
    "glorot_uniform": keras.initializers.GlorotUniform,
    "glorot_normal": keras.initializers.GlorotNormal,
    "he_uniform": keras.initializers.HeUniform,
    "he_normal": keras.initializers.HeNormal,
}


def target_variance(name, shape):
    fan_in, fan_out = I.compute_fans(shape)
    return 2.0 / (fan_in + fan_out) if name.startswith("glorot") else 2.0 / fan_in


def pooled_samples(sample, shape, minimum=10_000):
    """Concatenate independent draws until there are at least `minimum` values."""
    reps = math.ceil(minimum / math.prod(shape))
    return np.concatenate([np.ravel(sample(i)) for i in range(reps)])


@settings(max_examples=10)  # each example draws >= 10,000 values from Keras
@given(
    name=st.sampled_from(sorted(KERAS)),
    fan_in=st.integers(16, 300),
    fan_out=st.integers(16, 300),
    conv=st.booleans(),
)
def test_same_distribution_as_keras(name, fan_in, fan_out, conv):
    shape = (3, 3, fan_in, fan_out) if conv else (fan_in, fan_out)
    ours_fn, rng = getattr(I, name), np.random.default_rng(0)
    ours = pooled_samples(lambda i: ours_fn(shape, rng), shape)
    theirs = pooled_samples(lambda i: KERAS[name](seed=i)(shape).numpy(), shape)
    var = target_variance(name, shape)
    assert ours_fn(shape, rng).dtype == np.float32 and ours_fn(shape, rng).shape == shape
    for x in (ours, theirs):  # both hit the textbook variance (std error of the estimate <= 1.4%)
        assert abs(x.mean()) < 5 * math.sqrt(var / x.size)
        assert abs(x.var() / var - 1) < 0.05
    # same support: uniform within +-sqrt(3 var); truncated normal within +-2 sigma_0
    bound = (
        math.sqrt(3 * var) if name.endswith("uniform") else 2 * math.sqrt(var) / 0.87962566103423978
    )
    assert np.abs(ours).max() <= bound * (1 + 1e-6) and np.abs(theirs).max() <= bound * (1 + 1e-6)
    assert np.abs(ours).max() > 0.95 * bound  # the support is actually used, not narrower
    # same shape of distribution: two-sample Kolmogorov-Smirnov test (deterministic seeds)
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


def test_truncated_normal_is_not_a_plain_normal():
    # The KS check above can fail: an untruncated normal of the same variance is rejected.
    rng = np.random.default_rng(0)
    theirs = keras.initializers.HeNormal(seed=0)((200, 200)).numpy().ravel()
    plain = rng.normal(0, math.sqrt(2 / 200), size=theirs.size)
    assert stats.ks_2samp(plain, theirs).pvalue < 1e-6


def test_golden_values():
    assert I.compute_fans((3, 3, 8, 16)) == (72, 144)
    assert I.compute_fans((5,)) == (5, 5) and I.compute_fans(()) == (1, 1)
    np.testing.assert_array_equal(I.zeros((2, 3)), np.zeros((2, 3), dtype=np.float32))
    w = I.glorot_uniform((2, 4), np.random.default_rng(0), dtype="float64")  # limit sqrt(6/6) = 1
    assert w.dtype == np.float64 and np.abs(w).max() <= 1.0
    a = I.he_normal((10, 10), np.random.default_rng(7))
    np.testing.assert_array_equal(a, I.he_normal((10, 10), np.random.default_rng(7)))  # seeded


def test_errors_name_the_argument():
    with pytest.raises(
        TypeError,
        match=r"`rng` must be a np.random.Generator \(np.random.default_rng\(seed\)\). "
        r"Received: rng=42 of type int",
    ):
        I.he_uniform((2, 2), 42)
    with pytest.raises(ValueError, match=r"`shape` must be an integer >= 0. Received: shape=-1"):
        I.glorot_normal((2, -1), np.random.default_rng(0))
    with pytest.raises(
        ValueError,
        match=r"`dtype` must be one of \['float32', 'float64'\]. Received: dtype='int32'",
    ):
        I.glorot_uniform((2, 2), np.random.default_rng(0), dtype="int32")


def test_docstring_examples():
    import doctest

    import nnlib.initializers

    result = doctest.testmod(
        nnlib.initializers, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
