r"""``tf.data`` input pipelines: arrays -> a deterministic, seeded stream of batches.

Serves Chapter 4.6, *The custom training loop: callbacks, checkpoints and distribution* (the
pipeline that :class:`nnlib.training.Trainer` consumes, and why a resumed run replays the data
order), Chapter 4.1, *A binary classifier in Keras 3*, and every chapter that passes a
``tf.data.Dataset`` to the Trainer. TensorFlow is imported on the first call, so loading data
(:mod:`nnlib.data.datasets`) stays NumPy-only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlib._validation import (
    as_array,
    cast_finite,
    check_bool,
    check_finite,
    check_float_input,
    check_int,
    check_real_dtype,
    check_same_length,
)

__all__ = ["to_dataset"]


def to_dataset(
    x: Any,
    y: Any = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
):
    r"""Arrays -> a deterministic ``tf.data`` pipeline: (shuffle) -> batch -> prefetch.

    With ``shuffle=True`` the samples are reshuffled at every pass (epoch) with a seeded
    sequence of permutations: the :math:`e`-th pass over a freshly built dataset always sees the
    same order. :class:`nnlib.training.Trainer` relies on this to restore the data order when it
    resumes from a checkpoint (it replays the first :math:`e` passes).

    Args:
        x: features, shape ``(n, ...)``; must be finite, also once cast to float32.
        y: labels or targets (numbers), shape ``(n, ...)``, or ``None`` for a features-only
            dataset (for ``predict``); float targets must be finite in float32.
        batch_size: samples per batch, ``>= 1``; the last batch may be smaller unless
            ``drop_remainder=True``.
        shuffle: reshuffle the whole data set (buffer = ``n``) at every pass.
        seed: seed of the shuffle sequence.
        drop_remainder: drop a last, smaller batch.

    Returns:
        A ``tf.data.Dataset`` of ``(x, y)`` batches (or ``x`` batches when ``y is None``),
        ``x`` as ``float32``.

    Example:
        >>> ds = to_dataset(np.zeros((10, 2)), np.arange(10), batch_size=4)
        >>> [int(xb.shape[0]) for xb, yb in ds]
        [4, 4, 2]
    """
    import tensorflow as tf

    x = check_float_input("x", x, dtype=np.float32)  # finite before and after the cast
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"`x` must hold at least one sample. Received: x.shape={x.shape}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    shuffle = check_bool("shuffle", shuffle)
    seed = check_int("seed", seed, minimum=0)
    drop_remainder = check_bool("drop_remainder", drop_remainder)
    if y is None:
        tensors = x
    else:
        y = as_array("y", y)
        check_same_length("x", x, "y", y)
        check_real_dtype("y", y)
        if y.dtype.kind == "f":
            y = cast_finite("y", check_finite("y", y), np.float32)
        tensors = (x, y)
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)  # new order each pass
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    options.deterministic = True  # parallel stages keep their order
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
