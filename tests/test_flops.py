"""nnlib.flops.graph_flops: TensorFlow's profiler count of a traced function, checked by formula."""

from __future__ import annotations

import keras
import pytest
import tensorflow as tf

from nnlib.flops import graph_flops


def test_a_dense_layer_counts_2mkn_for_the_product_and_one_per_bias():
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    counts = graph_flops(lambda x: layer(x), tf.TensorSpec((2, 3), tf.float32))
    by_kind = {name.rsplit("/", 1)[1]: flops for name, flops in counts.items()}
    assert by_kind == {"MatMul": 2 * 2 * 3 * 4, "BiasAdd": 2 * 4}


def test_several_inputs_and_an_uncounted_einsum():
    # the product is counted, the einsum (as in Keras's attention scores) has no registered count
    counts = graph_flops(
        lambda a, b: (tf.matmul(a, b), tf.einsum("ij,jk->ik", a, b)),
        tf.TensorSpec((5, 6), tf.float32),
        tf.TensorSpec((6, 7), tf.float32),
    )
    assert sum(counts.values()) == 2 * 5 * 6 * 7
    assert not any("Einsum" in name for name in counts)


def test_the_loggers_level_is_restored():
    logger = tf.get_logger()
    before = logger.level
    graph_flops(lambda x: x * 2.0, tf.TensorSpec((3,), tf.float32))
    assert logger.level == before


@pytest.mark.parametrize(
    "args, error, message",
    [
        (("not a function", tf.TensorSpec((1,))), TypeError, "`fn` must be a function of tensors"),
        ((lambda x: x,), ValueError, "`input_specs` must give one tf.TensorSpec"),
        ((lambda x: x, (1, 2)), TypeError, "`input_specs[0]` must be a tf.TensorSpec"),
    ],
)
def test_bad_input_names_the_argument(args, error, message):
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        graph_flops(*args)
