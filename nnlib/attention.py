r"""Attention in NumPy: scaled dot-product attention, multi-head attention, positional encoding.

Serves chapter 4.10 (Attention and a tiny Transformer). Reference forward passes that equal
``keras.layers.MultiHeadAttention`` with the same weights (tested in ``tests/test_attention.py``).

Scaled dot-product attention (Vaswani et al., 2017) mixes the values :math:`V` with weights
that say how well each query matches each key:

.. math::

    \operatorname{Attention}(Q, K, V)
        = \operatorname{softmax}\!\Big(\frac{Q K^\top}{\sqrt{d_k}}\Big) V,

with :math:`Q` of shape ``(T, d_k)`` (one row per query position), :math:`K` ``(S, d_k)`` and
:math:`V` ``(S, d_v)``; the softmax runs over the :math:`S` keys. A boolean mask (``True`` = may
attend, Keras's convention) removes keys before the softmax. Multi-head attention projects the
inputs :math:`N` times, attends in each head, and projects the concatenated results back:

.. math::

    \text{head}_n = \operatorname{Attention}(X_q W^Q_n + b^Q_n,\; X_k W^K_n + b^K_n,\;
        X_v W^V_n + b^V_n), \qquad
    \text{out} = \sum_n \text{head}_n W^O_n + b^O.

Keras stores each projection as a 3-D kernel (``EinsumDense``): ``query/kernel`` has shape
``(d_query, N, d_k)`` and ``query/bias`` ``(N, d_k)`` (the same for ``key``; ``value`` has
``d_v`` in place of ``d_k``), ``attention_output/kernel`` ``(N, d_v, d_out)`` and its bias
``(d_out,)``. :func:`multi_head_attention` takes them in ``layer.get_weights()`` order.

The sinusoidal :func:`positional_encoding` gives the position information that attention, which
treats its inputs as a set, does not have on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnlib._validation import (
    _short,
    as_array,
    cast_finite,
    check_bool,
    check_float_input,
    check_int,
    check_positive,
    check_real_dtype,
    check_type,
)

__all__ = [
    "scaled_dot_product_attention",
    "multi_head_attention",
    "causal_mask",
    "positional_encoding",
]


def _check_mask(name: str, mask, target: tuple[int, ...], meaning: str) -> np.ndarray:
    """A boolean mask that broadcasts to ``target`` (bools, or numbers that are all 0 or 1)."""
    arr = check_real_dtype(name, as_array(name, mask))
    if arr.dtype != bool:
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(
                f"`{name}` must be boolean (True = may attend), or hold only 0 and 1. "
                f"Received: {name} with values {np.unique(arr)[:5].tolist()}"
            )
        arr = arr.astype(bool)
    try:
        if arr.ndim > len(target) or np.broadcast_shapes(arr.shape, target) != target:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"`{name}` must broadcast to {meaning} = {target}. Received: {name}.shape={arr.shape}"
        ) from None
    return arr


def _masked_softmax(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Softmax over the last axis that gives masked entries weight 0 (a fully masked row: all 0)."""
    if mask is None:
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))  # every exponent <= 0
        return e / e.sum(axis=-1, keepdims=True)
    mask = np.broadcast_to(mask, scores.shape)
    m = np.where(mask, scores, -np.inf).max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # a row with no allowed key has no maximum
    e = np.where(mask, np.exp(np.where(mask, scores - m, 0.0)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)  # Keras's Softmax layer: a fully masked row is 0


def scaled_dot_product_attention(
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    mask: np.ndarray | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Attention output and weights, :math:`A = \operatorname{softmax}(s\,QK^\top)`, :math:`AV`.

    The scale :math:`s` defaults to :math:`1/\sqrt{d_k}`: for queries and keys with independent
    entries of mean 0 and variance 1, :math:`q \cdot k` has variance :math:`d_k`, and the scale
    brings it back to 1 so that the softmax does not saturate as :math:`d_k` grows.

    Args:
        query: ``(..., T, d_k)``; any leading axes (batch, heads) are batch axes.
        key: ``(..., S, d_k)``, the same leading axes.
        value: ``(..., S, d_v)``, the same leading axes.
        mask: booleans (or 0/1) that broadcast to ``(..., T, S)``; ``True`` = the query may
            attend to that key. A query with no allowed key gets all-zero weights (as Keras).
        scale: the factor :math:`s` > 0 applied to :math:`QK^\top`; ``None`` means
            :math:`1/\sqrt{d_k}` (``scale=1.0`` gives unscaled dot-product attention).

    Returns:
        ``(output, weights)``: output ``(..., T, d_v)`` and weights ``(..., T, S)`` (each row sums
        to 1 over the allowed keys), in the dtype of ``query`` (float32 or float64).

    Example:
        >>> q = np.array([[1.0, 0.0]]); k = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> out, w = scaled_dot_product_attention(q, k, np.array([[1.0], [0.0]]), scale=np.log(3))
        >>> w  # scores (log 3, 0): weights 3/4 and 1/4
        array([[0.75, 0.25]])
    """
    q = check_float_input("query", query, meaning="(..., T, d_k)")
    k = check_float_input("key", key, meaning="(..., S, d_k)")
    v = check_float_input("value", value, meaning="(..., S, d_v)")
    for name, x in (("query", q), ("key", k), ("value", v)):
        if x.ndim < 2:
            raise ValueError(
                f"`{name}` must have rank >= 2 (..., positions, features). "
                f"Received: {name}.shape={x.shape}"
            )
    if k.shape[-1] != q.shape[-1] or k.shape[:-2] != q.shape[:-2]:
        raise ValueError(
            f"`key` must have shape (..., S, {q.shape[-1]}) with the leading axes of `query` "
            f"{q.shape[:-2]}. Received: key.shape={k.shape}, query.shape={q.shape}"
        )
    if v.shape[:-1] != k.shape[:-1]:
        raise ValueError(
            f"`value` must have shape {k.shape[:-1] + ('d_v',)} (one value per key). "
            f"Received: value.shape={v.shape}, key.shape={k.shape}"
        )
    d_k, target = q.shape[-1], q.shape[:-1] + k.shape[-2:-1]  # target (..., T, S)
    s = 1.0 / np.sqrt(d_k) if scale is None else check_positive("scale", scale)
    m = None if mask is None else _check_mask("mask", mask, target, "(..., T, S)")
    k, v = cast_finite("key", k, q.dtype), cast_finite("value", v, q.dtype)

    scores = s * (q @ np.swapaxes(k, -1, -2))  # (..., T, d_k) @ (..., d_k, S) -> (..., T, S)
    weights = _masked_softmax(scores, m).astype(q.dtype, copy=False)
    return weights @ v, weights  # (..., T, S) @ (..., S, d_v) -> (..., T, d_v)


def causal_mask(query_length: int, key_length: int | None = None) -> np.ndarray:
    r"""The mask of a decoder: position :math:`i` may attend to keys :math:`j \le i`.

    Equal to what ``keras.layers.MultiHeadAttention(..., use_causal_mask=True)`` builds.

    Args:
        query_length: :math:`T`.
        key_length: :math:`S` (default :math:`T`).

    Returns:
        A bool array of shape ``(T, S)``, lower-triangular.

    Example:
        >>> causal_mask(3).astype(int)
        array([[1, 0, 0],
               [1, 1, 0],
               [1, 1, 1]])
    """
    T = check_int("query_length", query_length, minimum=1)
    S = T if key_length is None else check_int("key_length", key_length, minimum=1)
    return np.tril(np.ones((T, S), dtype=bool))


def _check_weights(
    weights, q_shape: tuple, k_shape: tuple, v_shape: tuple
) -> dict[str, np.ndarray]:
    """``layer.get_weights()`` of a MultiHeadAttention -> ``{"W_q": ..., "b_q": ..., ...}``."""
    check_type("weights", weights, (list, tuple), "a list of arrays in layer.get_weights() order")
    if len(weights) not in (4, 8):
        raise ValueError(
            "`weights` must hold 8 arrays (kernel and bias of query, key, value, output) "
            "or 4 kernels "
            f"(use_bias=False), in layer.get_weights() order. Received: len(weights)={len(weights)}"
        )
    names = ["W_q", "b_q", "W_k", "b_k", "W_v", "b_v", "W_o", "b_o"][
        :: 1 if len(weights) == 8 else 2
    ]
    w = {
        n: check_float_input(f"weights[{i}] ({n})", a)
        for i, (n, a) in enumerate(zip(names, weights))
    }
    N, d_k = w["W_q"].shape[1:] if w["W_q"].ndim == 3 else (0, 0)
    d_v = w["W_v"].shape[2] if w["W_v"].ndim == 3 else 0
    d_out = w["W_o"].shape[2] if w["W_o"].ndim == 3 else 0
    expected = {
        "W_q": (q_shape[2], N, d_k),
        "b_q": (N, d_k),
        "W_k": (k_shape[2], N, d_k),
        "b_k": (N, d_k),
        "W_v": (v_shape[2], N, d_v),
        "b_v": (N, d_v),
        "W_o": (N, d_v, d_out),
        "b_o": (d_out,),
    }
    for i, n in enumerate(names):
        if w[n].shape != expected[n] or 0 in expected[n]:
            raise ValueError(
                f"`weights[{i}]` ({n}) must have shape {expected[n]} for query.shape={q_shape}, "
                f"key.shape={k_shape}, value.shape={v_shape} (N={N} heads, d_k={d_k}, d_v={d_v}). "
                f"Received: weights[{i}].shape={w[n].shape}"
            )
    return w


def _check_inputs(query, value, key, weights, attention_mask, use_causal_mask):
    """The checks of :func:`multi_head_attention`: arrays (query's dtype), weights, mask."""
    xq = check_float_input("query", query, rank=3, meaning="(batch, T, d_query)")
    xv = check_float_input("value", value, rank=3, meaning="(batch, S, d_value)")
    xk = xv if key is None else check_float_input("key", key, rank=3, meaning="(batch, S, d_key)")
    if xv.shape[0] != xq.shape[0] or xk.shape[:2] != xv.shape[:2]:
        raise ValueError(
            "`value` and `key` must have the batch size of `query` and one row per key position "
            f"(the same S). Received: query.shape={xq.shape}, value.shape={xv.shape}, "
            f"key.shape={xk.shape}"
        )
    w = _check_weights(weights, xq.shape, xk.shape, xv.shape)
    target = (xq.shape[0], xq.shape[1], xv.shape[1])  # (batch, T, S)
    mask = None
    if attention_mask is not None:
        mask = _check_mask("attention_mask", attention_mask, target, "(batch, T, S)")
    if check_bool("use_causal_mask", use_causal_mask):
        causal = causal_mask(target[1], target[2])
        mask = causal if mask is None else mask & causal
    mask = None if mask is None else np.broadcast_to(mask, target)
    dtype = xq.dtype
    w = {n: cast_finite(f"weights ({n})", a, dtype) for n, a in w.items()}
    return xq, cast_finite("key", xk, dtype), cast_finite("value", xv, dtype), w, mask


def multi_head_attention(
    query: np.ndarray,
    value: np.ndarray,
    key: np.ndarray | None = None,
    *,
    weights: Sequence[np.ndarray],
    attention_mask: np.ndarray | None = None,
    use_causal_mask: bool = False,
    return_attention_scores: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""``keras.layers.MultiHeadAttention`` in NumPy, for inputs ``(batch, positions, features)``.

    Self-attention is ``multi_head_attention(x, x, weights=...)``. Arguments follow the Keras call
    (``key`` defaults to ``value``); the layer's weights come in ``layer.get_weights()`` order.

    Args:
        query: :math:`X_q`, ``(batch, T, d_query)``.
        value: :math:`X_v`, ``(batch, S, d_value)``.
        key: :math:`X_k`, ``(batch, S, d_key)``; ``None`` means ``value``.
        weights: ``[W_q, b_q, W_k, b_k, W_v, b_v, W_o, b_o]`` with shapes ``(d_query, N, d_k)``,
            ``(N, d_k)``, ``(d_key, N, d_k)``, ``(N, d_k)``, ``(d_value, N, d_v)``, ``(N, d_v)``,
            ``(N, d_v, d_out)``, ``(d_out,)``; or the four kernels alone (``use_bias=False``).
        attention_mask: booleans (or 0/1) broadcasting to ``(batch, T, S)``; ``True`` = may attend.
        use_causal_mask: also apply :func:`causal_mask` (combined with ``attention_mask`` by AND).
        return_attention_scores: also return the weights of every head.

    Returns:
        The output ``(batch, T, d_out)`` in the dtype of ``query``; with
        ``return_attention_scores=True`` also the attention weights ``(batch, N, T, S)``.

    Example:
        >>> W = [np.ones((1, 1, 1)), np.zeros((1, 1))] * 3 + [np.ones((1, 1, 1)), np.zeros(1)]
        >>> multi_head_attention(np.ones((1, 1, 1)), np.array([[[1.0], [3.0]]]), weights=W)
        array([[[2.76159416]]])

        (one head, identity projections: scores (1, 3), weights (0.119, 0.881), output
        0.119 * 1 + 0.881 * 3.)
    """
    xq, xk, xv, w, mask = _check_inputs(query, value, key, weights, attention_mask, use_causal_mask)
    return_attention_scores = check_bool("return_attention_scores", return_attention_scores)

    def project(x, W, b):  # (batch, L, d) x (d, N, h) -> (batch, N, L, h): one slice per head
        y = np.einsum("bld,dnh->bnlh", x, W)
        return y if b is None else y + b[:, None, :]  # b (N, h) -> (N, 1, h)

    Q = project(xq, w["W_q"], w.get("b_q"))
    K = project(xk, w["W_k"], w.get("b_k"))
    V = project(xv, w["W_v"], w.get("b_v"))
    heads, scores = scaled_dot_product_attention(  # (batch, N, T, d_v), (batch, N, T, S)
        Q,
        K,
        V,
        mask=None if mask is None else mask[:, None],
        scale=None,  # one mask for every head
    )
    out = np.einsum("bnth,nho->bto", heads, w["W_o"])  # sum over heads and d_v -> (batch, T, d_out)
    if "b_o" in w:
        out = out + w["b_o"]
    return (out, scores) if return_attention_scores else out


def positional_encoding(
    length: int, depth: int, base: float = 10000.0, dtype=np.float64
) -> np.ndarray:
    r"""Sinusoidal positional encoding (Vaswani et al., 2017), shape ``(length, depth)``.

    .. math::

        PE_{p,\,2i} = \sin(p\,\omega_i), \qquad PE_{p,\,2i+1} = \cos(p\,\omega_i),
        \qquad \omega_i = \text{base}^{-2i/\text{depth}},

    so column pairs are clocks of geometrically decreasing frequency. For a fixed offset :math:`k`,
    each pair of :math:`PE_{p+k}` is the pair of :math:`PE_p` rotated by the angle
    :math:`k\,\omega_i`: a relative position is a linear map, the same for every :math:`p`.

    Args:
        length: number of positions :math:`p = 0, \dots, \text{length} - 1`.
        depth: the model width :math:`d` (an odd ``depth`` ends with a sine column).
        base: the wavelength scale (10000 in the paper).
        dtype: ``np.float32`` or ``np.float64``.

    Returns:
        An array of shape ``(length, depth)`` with values in ``[-1, 1]``.

    Example:
        >>> positional_encoding(2, 4, base=100.0).round(4)  # omega = (1, 0.1)
        array([[0.    , 1.    , 0.    , 1.    ],
               [0.8415, 0.5403, 0.0998, 0.995 ]])
    """
    length = check_int("length", length, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    base = check_positive("base", base)
    if base <= 1:
        raise ValueError(f"`base` must be > 1 (the longest wavelength). Received: base={base}")
    try:
        float_dtype = dtype is not None and np.dtype(dtype) in (
            np.float32,
            np.float64,
        )  # np.dtype(None) is float64
    except TypeError:  # not a dtype at all (e.g. a dict)
        float_dtype = False
    if not float_dtype:
        raise ValueError(f"`dtype` must be float32 or float64. Received: dtype={_short(dtype)}")
    p = np.arange(length, dtype=np.float64)[:, None]  # (length, 1)
    i = np.arange(depth) // 2  # column pair index: 0, 0, 1, 1, ...
    angle = p * base ** (-2.0 * i / depth)  # (length, depth)
    pe = np.where(np.arange(depth) % 2 == 0, np.sin(angle), np.cos(angle))
    return pe.astype(dtype)
