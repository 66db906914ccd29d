r"""Reference forward passes of 2-D convolution and max pooling, in NumPy (NHWC).

Serves Chapter 3.9, *Convolution and pooling*, and the background of Chapter 4.4, *A convolutional
network for images*: they show what ``Conv2D`` and
``MaxPooling2D`` compute, and equal ``tf.nn.conv2d`` / ``tf.nn.max_pool2d`` (tested). They are
vectorized with a sliding-window view, not fast: use Keras to train.

Output size per spatial axis (input :math:`n`, window :math:`k`, stride :math:`s`), as TensorFlow:

* ``"valid"`` (no padding): :math:`\lfloor (n - k)/s \rfloor + 1`;
* ``"same"``: :math:`\lceil n/s \rceil`, padding :math:`p = \max((\lceil n/s\rceil - 1)s + k - n, 0)`
  split as :math:`\lfloor p/2 \rfloor` before and the rest after.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnlib._validation import cast_finite, check_float_input, check_one_of, check_pair

__all__ = ["conv2d", "max_pool2d"]


def _same_padding(n: int, k: int, s: int) -> tuple[int, int]:
    total = max((-(-n // s) - 1) * s + k - n, 0)  # -(-n // s) = ceil(n / s)
    return total // 2, total - total // 2


def _pad(
    x: np.ndarray, window: tuple[int, int], strides: tuple[int, int], padding: str, value: float
) -> np.ndarray:
    if padding == "valid":
        return x
    pads = [_same_padding(x.shape[axis], window[i], strides[i]) for i, axis in enumerate((1, 2))]
    return np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)], constant_values=value)


def _check_fits(x: np.ndarray, window: tuple[int, int], what: str, padding: str) -> None:
    """Every output needs one full window: an empty image never has one, and with
    ``padding="valid"`` the image must be at least as large as the window."""
    if x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(
            f"`x` must have height and width >= 1 (an empty image has no {what} window). "
            f"Received: x.shape={x.shape}"
        )
    if padding == "valid" and (x.shape[1] < window[0] or x.shape[2] < window[1]):
        raise ValueError(
            f"`x` is smaller than the {what} window {window} with padding='valid'. "
            f"Received: x.shape={x.shape}"
        )


def conv2d(
    x: np.ndarray, kernel: np.ndarray, stride: int | tuple[int, int] = 1, padding: str = "valid"
) -> np.ndarray:
    r"""2-D convolution (cross-correlation, as in every deep-learning library), NHWC:

    .. math:: y_{n,i,j,o} = \sum_{u,v,c} x_{n,\, s i + u,\, s j + v,\, c}\; K_{u,v,c,o}

    Args:
        x: images, shape ``(batch, height, width, in_channels)``.
        kernel: filters, shape ``(kh, kw, in_channels, out_channels)`` (a Keras ``Conv2D`` kernel).
        stride: an int or ``(sh, sw)``.
        padding: ``"valid"`` or ``"same"`` (zeros, TensorFlow's split).

    Returns:
        Shape ``(batch, out_height, out_width, out_channels)``, in ``x``'s dtype. No bias: add
        ``b`` (shape ``(out_channels,)``) to get ``Conv2D``'s output.

    Example:
        >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
        >>> conv2d(x, np.ones((2, 2, 1, 1)))[0, :, :, 0]  # sums of 2x2 windows
        array([[ 8., 12.],
               [20., 24.]])
    """
    x = check_float_input("x", x, rank=4, meaning="(batch, height, width, channels)")
    kernel = check_float_input(
        "kernel", kernel, rank=4, meaning="(kh, kw, in_channels, out_channels)"
    )
    if kernel.shape[2] != x.shape[3]:
        raise ValueError(
            f"`kernel` must have {x.shape[3]} input channels (x.shape[3]) in axis 2. "
            f"Received: kernel.shape={kernel.shape}, x.shape={x.shape}"
        )
    strides = check_pair("stride", stride)
    padding = check_one_of("padding", padding, ["valid", "same"])
    window = kernel.shape[:2]
    if min(window) == 0:
        raise ValueError(
            f"`kernel` must have a window of at least 1x1 (axes 0 and 1). Received: kernel.shape={kernel.shape}"
        )
    _check_fits(x, window, "kernel", padding)
    xp = _pad(x, window, strides, padding, 0.0)
    patches = sliding_window_view(xp, window, axis=(1, 2))[:, :: strides[0], :: strides[1]]
    # patches: (batch, oh, ow, in, kh, kw); contract (in, kh, kw) with the kernel's (kh, kw, in)
    return np.tensordot(
        patches, cast_finite("kernel", kernel, x.dtype), axes=([3, 4, 5], [2, 0, 1])
    )


def max_pool2d(
    x: np.ndarray,
    pool_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: str = "valid",
) -> np.ndarray:
    r"""2-D max pooling, NHWC: :math:`y_{n,i,j,c} = \max_{u,v} x_{n,\, s i + u,\, s j + v,\, c}`.

    Args:
        x: shape ``(batch, height, width, channels)``.
        pool_size: window, an int or ``(ph, pw)``.
        stride: an int or pair; ``None`` means ``pool_size`` (non-overlapping windows, as Keras).
        padding: ``"valid"`` or ``"same"`` (padded cells never win: they hold :math:`-\infty`).

    Returns:
        Shape ``(batch, out_height, out_width, channels)``.

    Example:
        >>> max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    x = check_float_input("x", x, rank=4, meaning="(batch, height, width, channels)")
    window = check_pair("pool_size", pool_size)
    strides = window if stride is None else check_pair("stride", stride)
    padding = check_one_of("padding", padding, ["valid", "same"])
    _check_fits(x, window, "pooling", padding)
    xp = _pad(x, window, strides, padding, -np.inf)
    patches = sliding_window_view(xp, window, axis=(1, 2))[:, :: strides[0], :: strides[1]]
    return patches.max(
        axis=(-2, -1)
    )  # (batch, oh, ow, channels, ph, pw) -> (batch, oh, ow, channels)
