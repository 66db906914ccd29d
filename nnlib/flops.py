r"""TensorFlow's own count of the floating-point operations of a traced function.

Serves Chapter 5.1, *Compute cost and efficiency* (its dense and convolution formulas and the
FLOPs of a training step), and Chapter 4.10, *Attention and a tiny Transformer* (the projections
of ``MultiHeadAttention``), which check FLOP formulas against it. Training layer: imports
TensorFlow.

The count comes from TensorFlow's graph profiler (``tf.compat.v1.profiler``), the only FLOP
counter TensorFlow 2.21 ships. It counts a matrix product of :math:`(m, k)` by :math:`(k, n)` as
:math:`2mkn`, a convolution likewise per output value, a bias addition as one FLOP per element
and max pooling as one comparison per input value. Some operations have no registered count
(``Einsum``, which Keras's attention uses for its scores): they are left out, so a formula can
only be checked against the operations that are counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nnlib._validation import check_callable, check_type
from nnlib.repro import import_tensorflow

tf = import_tensorflow()

__all__ = ["graph_flops"]


def graph_flops(fn: Callable[..., Any], *input_specs: Any) -> dict[str, int]:
    """FLOPs of every operation of ``fn``, traced once for ``input_specs``, as TensorFlow counts them.

    Args:
        fn: a function of tensors, e.g. ``lambda x: model(x, training=False)``; it is traced with
            ``tf.function`` (not run).
        *input_specs: one ``tf.TensorSpec`` per argument of ``fn``, e.g.
            ``tf.TensorSpec((1, 8, 8, 1), tf.float32)`` for one 8×8 image.

    Returns:
        ``{operation name: FLOPs}`` for each operation the profiler counts (names as in the traced
        graph, e.g. ``"cnn_1/conv_1_1/convolution"``); their sum is the profiler's total.

    The profiler's deprecation notes, which TensorFlow logs on every call, are silenced for the
    duration of the call; the logger's level is restored afterwards.
    """
    check_callable("fn", fn, "a function of tensors")
    if not input_specs:
        raise ValueError(
            "`input_specs` must give one tf.TensorSpec per argument of `fn`. Received none"
        )
    for i, spec in enumerate(input_specs):
        check_type(f"input_specs[{i}]", spec, tf.TensorSpec, "a tf.TensorSpec")
    graph = tf.function(fn).get_concrete_function(*input_specs).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the v1 profiler logs deprecation notes otherwise
    try:
        report = tf.compat.v1.profiler.profile(graph=graph, options=options)
    finally:
        logger.setLevel(level)
    return {node.name: int(node.total_float_ops) for node in report.children}
