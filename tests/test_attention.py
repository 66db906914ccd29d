"""nnlib.attention against keras.layers.MultiHeadAttention and keras.ops.dot_product_attention.

Tolerances: float64 agrees with Keras to rtol = atol = 1e-12 (measured: a few 1e-16 on values of
order 1, i.e. rounding in another summation order); float32 to rtol 1e-5, atol 1e-6.

Keras 3.15 rounds the scale 1/sqrt(key_dim) to float32 even in a float64 layer (``ops.cast`` of a
Python float goes through a float32 tensor): 0.5773502588 instead of 0.5773502692 for key_dim = 3, a
relative difference of 2e-8. The float64 comparisons therefore use key_dim in {1, 4, 16}, where
1/sqrt(key_dim) is exact in float32, and ``test_keras_rounds_the_scale_to_float32`` pins the quirk.
"""

import keras
import numpy as np
import pytest
from _bad_input import (
    bad_array,
    bad_int,
    bad_number,
    expect_clear_error,
    not_a_bool,
    not_real_array,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib.attention import (
    causal_mask,
    multi_head_attention,
    positional_encoding,
    scaled_dot_product_attention,
)

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
# Inputs exclude subnormal numbers: TensorFlow flushes them to zero on CPU.
ELEMENTS = st.floats(-2, 2, width=32, allow_subnormal=False)
# Keras 3.15's TF backend turns ``ops.add(x, b)`` into ``tf.nn.bias_add`` whenever ``b`` squeezes
# to a vector whose length equals x.shape[1] or x.shape[-1], and then adds it along axis 1 ("NCHW").
# A projection bias of shape (heads, 1) (key_dim or value_dim = 1) added to (batch, T, heads, 1)
# with T == heads is therefore added along the positions instead of the heads: MultiHeadAttention's
# output is wrong there (test_keras_bias_add_with_size_one_head_dim pins it). The comparisons use
# sizes >= 2.
# keras.ops warns when a softmax runs over an axis of size 1 (a single key, S = 1): legal here
SIZE_ONE_SOFTMAX = "ignore:You are using a softmax over axis:UserWarning"


def _layer(dtype, num_heads, key_dim, value_dim, output_shape, use_bias, shapes, data):
    """A built MultiHeadAttention with drawn weights (set through set_weights, copied to NumPy)."""
    layer = keras.layers.MultiHeadAttention(
        num_heads,
        key_dim,
        value_dim=value_dim,
        output_shape=output_shape,
        use_bias=use_bias,
        dtype=np.dtype(dtype).name,
    )
    layer.build(*shapes)  # query_shape, value_shape, key_shape
    weights = [
        data.draw(
            hnp.arrays(dtype, w.shape, elements=st.floats(-1, 1, width=32, allow_subnormal=False))
        )
        for w in layer.get_weights()
    ]
    layer.set_weights(weights)
    return layer, weights


@settings(max_examples=20, deadline=None)  # a Keras layer per example
@given(data=st.data())
@pytest.mark.filterwarnings(SIZE_ONE_SOFTMAX)
def test_multi_head_attention_matches_keras(data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    batch, T, S, heads = (data.draw(st.integers(1, n)) for n in (3, 5, 5, 3))
    # key_dim, value_dim >= 2: see KERAS_BIAS_ADD below
    key_dim = data.draw(st.sampled_from([2, 3, 4] if dtype == np.float32 else [4, 16]))
    value_dim = data.draw(st.integers(2, 4))
    d_q, d_v, d_k, d_out = (data.draw(st.integers(1, 6)) for _ in range(4))
    use_bias, separate_key = data.draw(st.booleans()), data.draw(st.booleans())
    query = data.draw(hnp.arrays(dtype, (batch, T, d_q), elements=ELEMENTS))
    value = data.draw(hnp.arrays(dtype, (batch, S, d_v), elements=ELEMENTS))
    key = data.draw(hnp.arrays(dtype, (batch, S, d_k), elements=ELEMENTS)) if separate_key else None
    layer, weights = _layer(
        dtype,
        heads,
        key_dim,
        value_dim,
        d_out,
        use_bias,
        (query.shape, value.shape, None if key is None else key.shape),
        data,
    )
    # a random mask in which every query keeps key 0, also under the causal mask (a fully
    # masked query: next test)
    mask = data.draw(hnp.arrays(np.bool_, (batch, T, S)))
    mask[..., 0] = True
    causal = data.draw(st.booleans())
    kwargs = dict(attention_mask=mask, use_causal_mask=causal)
    want_out, want_scores = layer(query, value, key, return_attention_scores=True, **kwargs)
    want_fused = layer(
        query, value, key, **kwargs
    )  # Keras's other code path (ops.dot_product_attention)
    got_out, got_scores = multi_head_attention(
        query, value, key, weights=weights, return_attention_scores=True, **kwargs
    )
    assert got_out.shape == (batch, T, d_out) and got_out.dtype == dtype
    assert got_scores.shape == (batch, heads, T, S) and got_scores.dtype == dtype
    np.testing.assert_allclose(got_scores, want_scores.numpy(), **TOL[dtype])
    np.testing.assert_allclose(got_out, want_out.numpy(), **TOL[dtype])
    np.testing.assert_allclose(got_out, want_fused.numpy(), **TOL[dtype])
    np.testing.assert_allclose(
        got_scores.sum(axis=-1), 1.0, **TOL[dtype]
    )  # every row is a distribution


def test_without_mask_self_attention_float64():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 8))
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, dtype="float64")
    want = layer(x, x).numpy()  # self-attention, Glorot-initialized kernels, zero biases
    np.testing.assert_allclose(
        multi_head_attention(x, x, weights=layer.get_weights()), want, rtol=1e-12, atol=1e-12
    )
    assert [w.shape for w in layer.get_weights()] == [(8, 2, 4), (2, 4)] * 3 + [(2, 4, 8), (8,)]


def test_fully_masked_query_gets_zero_weights_like_keras_scores():
    """A query with no allowed key: Keras's Softmax layer (return_attention_scores=True) gives it
    all-zero weights, so its output is the output bias. (Keras's fused path, without scores,
    averages the values uniformly instead; nnlib follows the weights Keras reports.)"""
    rng = np.random.default_rng(1)
    q, v = rng.normal(size=(1, 3, 4)), rng.normal(size=(1, 5, 4))
    layer = keras.layers.MultiHeadAttention(
        num_heads=2, key_dim=4, dtype="float64", bias_initializer="ones"
    )
    layer(q, v)
    mask = np.ones((1, 3, 5), dtype=bool)
    mask[0, 1] = False  # query 1 may attend to nothing
    want_out, want_scores = layer(q, v, attention_mask=mask, return_attention_scores=True)
    got_out, got_scores = multi_head_attention(
        q, v, weights=layer.get_weights(), attention_mask=mask, return_attention_scores=True
    )
    np.testing.assert_array_equal(got_scores[0, :, 1], 0.0)
    np.testing.assert_allclose(got_scores, want_scores.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_out, want_out.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        got_out[0, 1], layer.get_weights()[-1]
    )  # only the output bias is left


def test_integer_mask_and_broadcast_mask():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 3))
    layer = keras.layers.MultiHeadAttention(num_heads=1, key_dim=1, dtype="float64")
    layer(x, x)
    W = layer.get_weights()
    mask01 = causal_mask(4).astype(int)  # (T, S), broadcast over the batch
    np.testing.assert_allclose(
        multi_head_attention(x, x, weights=W, attention_mask=mask01),
        multi_head_attention(x, x, weights=W, use_causal_mask=True),
        rtol=0,
        atol=0,
    )
    np.testing.assert_allclose(
        multi_head_attention(x, x, weights=W, use_causal_mask=True),
        layer(x, x, use_causal_mask=True).numpy(),
        rtol=1e-12,
        atol=1e-12,
    )


@settings(max_examples=20, deadline=None)
@given(data=st.data())
@pytest.mark.filterwarnings(SIZE_ONE_SOFTMAX)
def test_scaled_dot_product_attention_matches_keras_ops(data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    B, T, S, N, d_k, d_v = (data.draw(st.integers(1, n)) for n in (2, 4, 4, 3, 5, 5))
    # keras.ops rounds a Python-float scale to float32: draw float32 numbers, and d_k in
    # {1, 4, 16} for the default 1/sqrt(d_k) in float64 (see the module docstring)
    scale = data.draw(st.one_of(st.none(), st.floats(0.125, 3.0, width=32)))
    if scale is None and dtype == np.float64:
        d_k = data.draw(st.sampled_from([1, 4, 16]))
    q = data.draw(hnp.arrays(dtype, (B, N, T, d_k), elements=ELEMENTS))
    k = data.draw(hnp.arrays(dtype, (B, N, S, d_k), elements=ELEMENTS))
    v = data.draw(hnp.arrays(dtype, (B, N, S, d_v), elements=ELEMENTS))
    out, w = scaled_dot_product_attention(q, k, v, scale=scale)
    # keras.ops puts the heads after the positions: (B, T, N, d)
    heads_last = lambda a: np.swapaxes(a, 1, 2)  # noqa: E731
    want = keras.ops.dot_product_attention(heads_last(q), heads_last(k), heads_last(v), scale=scale)
    np.testing.assert_allclose(out, heads_last(keras.ops.convert_to_numpy(want)), **TOL[dtype])
    assert out.dtype == w.dtype == dtype and w.shape == (B, N, T, S)


def test_keras_rounds_the_scale_to_float32():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 4, 5))
    layer = keras.layers.MultiHeadAttention(num_heads=1, key_dim=3, dtype="float64")
    _, want = layer(x, x, return_attention_scores=True)
    W_q, b_q, W_k, b_k = layer.get_weights()[:4]
    Q, K = (np.einsum("btd,dnh->bnth", x, W) + b[:, None] for W, b in ((W_q, b_q), (W_k, b_k)))
    exact = scaled_dot_product_attention(Q, K, K)[1]  # 1/sqrt(3) in float64
    rounded = scaled_dot_product_attention(Q, K, K, scale=float(np.float32(1 / np.sqrt(3))))[1]
    np.testing.assert_allclose(
        rounded, want.numpy(), rtol=1e-12, atol=1e-12
    )  # Keras = the float32 scale
    np.testing.assert_allclose(exact, want.numpy(), rtol=1e-6)  # close, ...
    assert np.abs(exact - want.numpy()).max() > 1e-12  # ... but not float64-equal


def test_keras_bias_add_with_size_one_head_dim():
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=1, value_dim=1, dtype="float64")
    layer.build((1, 1, 1), (1, 2, 1), None)
    W = [np.zeros(w.shape) for w in layer.get_weights()]
    W[5][:] = [[2.0], [3.0]]  # value bias: head 0 sees values 2, head 1 values 3, at both positions
    W[6][:] = 1.0  # the output sums the heads
    layer.set_weights(W)
    q, v = np.zeros((1, 1, 1)), np.zeros((1, 2, 1))
    mask = np.array([[[True, False]]])  # both heads attend to position 0 only
    np.testing.assert_allclose(
        multi_head_attention(q, v, weights=W, attention_mask=mask), [[[5.0]]]
    )  # 2 + 3
    # Keras adds the (2, 1) bias along the 2 positions: values (2, 3) in both heads, so 2 + 2
    np.testing.assert_allclose(layer(q, v, attention_mask=mask).numpy(), [[[4.0]]])
    np.testing.assert_allclose(
        keras.ops.add(np.zeros((1, 2, 2, 1)), W[5]).numpy()[0, :, :, 0], [[2, 2], [3, 3]]
    )


def test_golden_values():
    # scores (log 3, 0) with scale 1: weights 3/4 and 1/4, output 3/4 * 4 + 1/4 * 8 = 5
    q, k, v = np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[4.0], [8.0]])
    out, w = scaled_dot_product_attention(q, k, v, scale=np.log(3.0))
    np.testing.assert_allclose(w, [[0.75, 0.25]], rtol=1e-15)
    np.testing.assert_allclose(out, [[5.0]], rtol=1e-15)
    # the default scale is 1/sqrt(d_k): q.k = 4 with d_k = 4 gives score 2
    out, w = scaled_dot_product_attention(np.ones((1, 4)), np.array([np.ones(4), np.zeros(4)]), v)
    np.testing.assert_allclose(w, [[np.e**2 / (np.e**2 + 1), 1 / (np.e**2 + 1)]], rtol=1e-15)
    # a mask removes a key: all weight on the other
    out, w = scaled_dot_product_attention(q, k, v, mask=np.array([[False, True]]))
    np.testing.assert_array_equal(w, [[0.0, 1.0]])
    np.testing.assert_array_equal(out, [[8.0]])
    # one head, identity projections (the docstring's example)
    W = [np.ones((1, 1, 1)), np.zeros((1, 1))] * 3 + [np.ones((1, 1, 1)), np.zeros(1)]
    e1, e3 = np.exp(1.0), np.exp(3.0)
    got = multi_head_attention(np.ones((1, 1, 1)), np.array([[[1.0], [3.0]]]), weights=W)
    np.testing.assert_allclose(got, [[[(e1 + 3 * e3) / (e1 + e3)]]], rtol=1e-15)


def test_causal_mask_is_lower_triangular():
    np.testing.assert_array_equal(causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    np.testing.assert_array_equal(causal_mask(2, 4), [[1, 0, 0, 0], [1, 1, 0, 0]])
    assert causal_mask(2).dtype == bool


def test_positional_encoding_values_and_rotation():
    pe = positional_encoding(50, 16)
    assert pe.shape == (50, 16) and pe.dtype == np.float64
    np.testing.assert_array_equal(pe[0], np.tile([0.0, 1.0], 8))  # sin 0, cos 0
    omega = 10000.0 ** (-np.arange(0, 16, 2) / 16)  # one frequency per column pair
    np.testing.assert_allclose(pe[7, 0::2], np.sin(7 * omega), rtol=0, atol=1e-15)
    np.testing.assert_allclose(pe[7, 1::2], np.cos(7 * omega), rtol=0, atol=1e-15)
    assert np.all(np.abs(pe) <= 1.0)
    # an offset k is the same rotation of every column pair for every position p
    k = 5
    c, s = np.cos(k * omega), np.sin(k * omega)
    sin_p, cos_p = pe[:-k, 0::2], pe[:-k, 1::2]
    np.testing.assert_allclose(pe[k:, 0::2], sin_p * c + cos_p * s, atol=1e-12)
    np.testing.assert_allclose(pe[k:, 1::2], cos_p * c - sin_p * s, atol=1e-12)
    assert positional_encoding(3, 5, dtype=np.float32).dtype == np.float32
    np.testing.assert_allclose(
        positional_encoding(3, 5)[:, 4], np.sin(np.arange(3) * 10000.0 ** (-4 / 5))
    )


def test_errors_name_the_argument():
    x = np.zeros((2, 3, 4))
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    layer(x, x)
    W = layer.get_weights()
    with pytest.raises(
        ValueError,
        match=r"`query` must have rank 3 \(batch, T, d_query\). Received: query.shape=\(3, 4\)",
    ):
        multi_head_attention(np.zeros((3, 4)), x, weights=W)
    with pytest.raises(
        ValueError,
        match=r"`value` and `key` must have the batch size of `query`.*Received: "
        r"query.shape=\(2, 3, 4\), value.shape=\(1, 3, 4\)",
    ):
        multi_head_attention(x, np.zeros((1, 3, 4)), weights=W)
    with pytest.raises(
        ValueError, match=r"`weights` must hold 8 arrays .* Received: len\(weights\)=7"
    ):
        multi_head_attention(x, x, weights=W[:7])
    with pytest.raises(
        TypeError, match=r"`weights` must be a list of arrays in layer.get_weights\(\) order"
    ):
        multi_head_attention(x, x, weights=np.zeros(8))
    with pytest.raises(
        ValueError,
        match=r"`weights\[0\]` \(W_q\) must have shape \(4, 2, 3\) for query.shape=\(2, 3, 4\).*"
        r"Received: weights\[0\].shape=\(5, 2, 3\)",
    ):
        multi_head_attention(x, x, weights=[np.zeros((5, 2, 3))] + W[1:])
    with pytest.raises(
        ValueError,
        match=r"`weights\[6\]` \(W_o\) must have shape \(2, 3, 4\).*"
        r"Received: weights\[6\].shape=\(2, 4, 4\)",
    ):
        multi_head_attention(x, x, weights=W[:6] + [np.zeros((2, 4, 4)), W[7]])
    with pytest.raises(
        ValueError,
        match=r"`attention_mask` must broadcast to \(batch, T, S\) = \(2, 3, 3\). "
        r"Received: attention_mask.shape=\(3, 2\)",
    ):
        multi_head_attention(x, x, weights=W, attention_mask=np.ones((3, 2), bool))
    with pytest.raises(
        ValueError,
        match=r"`attention_mask` must be boolean \(True = may attend\), or hold only 0 and 1. "
        r"Received: attention_mask with values \[0.0, 0.5\]",
    ):
        multi_head_attention(x, x, weights=W, attention_mask=np.array([[0.0, 0.5, 0.0]] * 3))
    with pytest.raises(
        TypeError, match=r"`use_causal_mask` must be a bool. Received: use_causal_mask=1"
    ):
        multi_head_attention(x, x, weights=W, use_causal_mask=1)
    with pytest.raises(
        ValueError, match=r"`key` must have shape \(..., S, 2\) with the leading axes of `query`"
    ):
        scaled_dot_product_attention(np.zeros((3, 2)), np.zeros((4, 3)), np.zeros((4, 1)))
    with pytest.raises(
        ValueError,
        match=r"`value` must have shape \(4, 'd_v'\) \(one value per key\). "
        r"Received: value.shape=\(3, 1\)",
    ):
        scaled_dot_product_attention(np.zeros((3, 2)), np.zeros((4, 2)), np.zeros((3, 1)))
    with pytest.raises(
        ValueError,
        match=r"`query` must have rank >= 2 \(..., positions, features\). "
        r"Received: query.shape=\(2,\)",
    ):
        scaled_dot_product_attention(np.zeros(2), np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"`scale` must be > 0. Received: scale=0.0"):
        scaled_dot_product_attention(
            np.zeros((3, 2)), np.zeros((4, 2)), np.zeros((4, 1)), scale=0.0
        )
    with pytest.raises(
        ValueError,
        match=r"`mask` must broadcast to \(..., T, S\) = \(3, 4\). Received: mask.shape=\(3, 3\)",
    ):
        scaled_dot_product_attention(
            np.zeros((3, 2)), np.zeros((4, 2)), np.zeros((4, 1)), mask=np.ones((3, 3), bool)
        )
    with pytest.raises(
        ValueError, match=r"`key` must contain only finite values. Received: key with 1 NaN/inf"
    ):
        scaled_dot_product_attention(np.zeros((3, 2)), np.array([[np.nan, 0.0]]), np.zeros((1, 1)))
    with pytest.raises(
        ValueError, match=r"`query_length` must be an integer >= 1. Received: query_length=0"
    ):
        causal_mask(0)
    with pytest.raises(ValueError, match=r"`depth` must be an integer >= 1. Received: depth=0"):
        positional_encoding(4, 0)
    with pytest.raises(
        ValueError, match=r"`base` must be > 1 \(the longest wavelength\). Received: base=1.0"
    ):
        positional_encoding(4, 8, base=1.0)
    with pytest.raises(
        ValueError,
        match=r"`dtype` must be float32 or float64. Received: dtype=<class 'numpy.int32'>",
    ):
        positional_encoding(4, 8, dtype=np.int32)


def test_docstring_examples():
    import doctest

    import nnlib.attention

    result = doctest.testmod(
        nnlib.attention, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0


# Property-based bad input (tests/_bad_input.py): every public argument, invalid values drawn
# by hypothesis; each must raise a ValueError/TypeError that names the argument and ends with
# "Received: ...".
Q, KV = np.ones((2, 3, 4)), np.ones((2, 5, 4))
LAYER_WEIGHTS = [np.ones(s) for s in [(4, 2, 3), (2, 3)] * 3] + [np.ones((2, 3, 4)), np.ones(4)]
NOT_NONE = lambda v: v is not None  # noqa: E731  (None is valid: no mask, default scale, key = value)
BAD_MASK = not_real_array().filter(NOT_NONE) | st.sampled_from(
    [np.full((3, 5), 0.5), np.full((3, 5), np.nan), np.ones((2, 2), bool)]
)
BAD_INPUTS = [
    ("sdpa query", lambda v: scaled_dot_product_attention(v, KV, KV), "query", bad_array()),
    ("sdpa key", lambda v: scaled_dot_product_attention(Q, v, KV), "key", bad_array()),
    ("sdpa value", lambda v: scaled_dot_product_attention(Q, KV, v), "value", bad_array()),
    ("sdpa mask", lambda v: scaled_dot_product_attention(Q, KV, KV, mask=v), "mask", BAD_MASK),
    (
        "sdpa scale",
        lambda v: scaled_dot_product_attention(Q, KV, KV, scale=v),
        "scale",
        bad_number(0.0, None, low_open=True).filter(NOT_NONE),
    ),
    (
        "mha query",
        lambda v: multi_head_attention(v, KV, weights=LAYER_WEIGHTS),
        "query",
        bad_array(),
    ),
    (
        "mha value",
        lambda v: multi_head_attention(Q, v, weights=LAYER_WEIGHTS),
        "value",
        bad_array(),
    ),
    (
        "mha key",
        lambda v: multi_head_attention(Q, KV, v, weights=LAYER_WEIGHTS),
        "key",
        bad_array().filter(NOT_NONE),
    ),
    (
        "mha weights",
        lambda v: multi_head_attention(Q, KV, weights=v),
        "weights",
        st.one_of(st.none(), st.integers(), st.lists(st.just(np.ones(2)), max_size=9)),
    ),
    (
        "mha attention_mask",
        lambda v: multi_head_attention(Q, KV, weights=LAYER_WEIGHTS, attention_mask=v),
        "attention_mask",
        BAD_MASK,
    ),
    (
        "mha use_causal_mask",
        lambda v: multi_head_attention(Q, KV, weights=LAYER_WEIGHTS, use_causal_mask=v),
        "use_causal_mask",
        not_a_bool(),
    ),
    (
        "mha return_attention_scores",
        lambda v: multi_head_attention(Q, KV, weights=LAYER_WEIGHTS, return_attention_scores=v),
        "return_attention_scores",
        not_a_bool(),
    ),
    ("causal_mask query_length", lambda v: causal_mask(v), "query_length", bad_int(1)),
    (
        "causal_mask key_length",
        lambda v: causal_mask(2, v),
        "key_length",
        bad_int(1).filter(NOT_NONE),
    ),
    ("positional_encoding length", lambda v: positional_encoding(v, 4), "length", bad_int(1)),
    ("positional_encoding depth", lambda v: positional_encoding(4, v), "depth", bad_int(1)),
    (
        "positional_encoding base",
        lambda v: positional_encoding(4, 4, base=v),
        "base",
        bad_number(1.0, None, low_open=True),
    ),
    (
        "positional_encoding dtype",
        lambda v: positional_encoding(4, 4, dtype=v),
        "dtype",
        st.one_of(
            st.none(),
            st.sampled_from(["int32", "float16", np.int8, "complex64"]),
            st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
        ),
    ),
]


@pytest.mark.parametrize(
    "call, name, strategy", [t[1:] for t in BAD_INPUTS], ids=[t[0] for t in BAD_INPUTS]
)
@settings(max_examples=25)
@given(data=st.data())
def test_bad_input_gets_a_clear_error(data, call, name, strategy):
    expect_clear_error(lambda: call(data.draw(strategy)), name, "attention")
