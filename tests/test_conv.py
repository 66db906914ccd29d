"""nnlib.conv against tf.nn.conv2d / tf.nn.max_pool2d, "valid" and "same", float32 and float64."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib.conv import conv2d, max_pool2d

RTOL = {np.float32: 1e-5, np.float64: 1e-6}
# Inputs exclude subnormal numbers: TensorFlow flushes them to zero on CPU.


@st.composite
def images(draw, min_side=1):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(min_side, 9)),
        draw(st.integers(min_side, 9)),
        draw(st.integers(1, 3)),
    )
    return draw(
        hnp.arrays(dtype, shape, elements=st.floats(-10, 10, width=32, allow_subnormal=False))
    )


@given(data=st.data(), padding=st.sampled_from(["valid", "same"]))
def test_conv2d_matches_tf(data, padding):
    x = data.draw(images())
    kh, kw = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    if padding == "valid":
        kh, kw = min(kh, x.shape[1]), min(kw, x.shape[2])
    kernel = data.draw(
        hnp.arrays(
            x.dtype,
            (kh, kw, x.shape[3], data.draw(st.integers(1, 3))),
            elements=st.floats(-2, 2, width=32, allow_subnormal=False),
        )
    )
    stride = data.draw(st.sampled_from([1, 2, 3, (1, 2), (2, 1)]))
    got = conv2d(x, kernel, stride=stride, padding=padding)
    want = tf.nn.conv2d(x, kernel, strides=stride, padding=padding.upper()).numpy()
    assert got.shape == want.shape and got.dtype == x.dtype
    # sums of products of size ~10: cancellation to ~0 leaves an absolute error of a few ulp of
    # the terms' magnitude (|x k| <= 20, up to 48 terms), hence atol = 1e3 * eps of the dtype.
    np.testing.assert_allclose(got, want, rtol=RTOL[x.dtype.type], atol=1e3 * np.finfo(x.dtype).eps)


@given(data=st.data(), padding=st.sampled_from(["valid", "same"]))
def test_max_pool2d_matches_tf(data, padding):
    x = data.draw(images(min_side=3))
    pool = data.draw(st.sampled_from([1, 2, 3, (2, 3)]))
    stride = data.draw(st.sampled_from([None, 1, 2, (1, 2)]))
    got = max_pool2d(x, pool_size=pool, stride=stride, padding=padding)
    want = tf.nn.max_pool2d(
        x, ksize=pool, strides=pool if stride is None else stride, padding=padding.upper()
    ).numpy()
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, want)  # a max is exact


def test_golden_values():
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(conv2d(x, np.ones((2, 2, 1, 1)))[0, :, :, 0], [[8, 12], [20, 24]])
    # "same" with a 3x3 kernel of ones: the centre sees all 9 values, a corner 4
    same = conv2d(x, np.ones((3, 3, 1, 1)), padding="same")[0, :, :, 0]
    assert same[1, 1] == 36 and same[0, 0] == 0 + 1 + 3 + 4
    np.testing.assert_array_equal(
        max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0], [[5, 7], [13, 15]]
    )


def test_errors_name_the_argument():
    x = np.zeros((1, 4, 4, 2))
    with pytest.raises(
        ValueError,
        match=r"`x` must have rank 4 \(batch, height, width, channels\). Received: x.shape=\(4, 4\)",
    ):
        conv2d(np.zeros((4, 4)), np.zeros((2, 2, 1, 1)))
    with pytest.raises(
        ValueError,
        match=r"`kernel` must have 2 input channels \(x.shape\[3\]\) in axis 2. "
        r"Received: kernel.shape=\(2, 2, 3, 1\)",
    ):
        conv2d(x, np.zeros((2, 2, 3, 1)))
    with pytest.raises(
        ValueError, match=r"`padding` must be one of \['valid', 'same'\]. Received: padding='full'"
    ):
        conv2d(x, np.zeros((2, 2, 2, 1)), padding="full")
    with pytest.raises(ValueError, match=r"`stride` must be an integer >= 1. Received: stride=0"):
        max_pool2d(x, stride=0)
    with pytest.raises(
        ValueError,
        match=r"`x` is smaller than the kernel window \(5, 5\) with padding='valid'. "
        r"Received: x.shape=\(1, 4, 4, 2\)",
    ):
        conv2d(x, np.zeros((5, 5, 2, 1)))
    with pytest.raises(
        ValueError,
        match=r"`pool_size` must be an integer or a pair of integers. Received: pool_size=\(1, 2, 3\)",
    ):
        max_pool2d(x, pool_size=(1, 2, 3))


def test_docstring_examples():
    import doctest

    import nnlib.conv

    result = doctest.testmod(
        nnlib.conv, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
