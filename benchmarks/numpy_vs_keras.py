"""Training throughput: the from-scratch NumPy MLP (nnlib.numpy_net) vs the same Keras model.

Same data (scikit-learn digits via nnlib.data.load_digits, 1,257 training images, float32), same
architecture (64-64-10, ReLU, softmax), same optimizer (Adam, lr 1e-3), same batch sizes. Keras
trains with ``model.fit`` (its compiled ``tf.function`` step); each side gets one warm-up epoch
that is not timed (Keras traces its step there). Throughput = training samples / wall second,
median over ``--repeats`` timed runs of ``--epochs`` epochs.

Run:  python benchmarks/numpy_vs_keras.py [--epochs 5] [--repeats 3] [--threads N]
``--threads N`` caps both NumPy's BLAS (OpenBLAS/OpenMP/MKL) and TensorFlow's thread pools at N
(set before either library is imported); without it both use their defaults (all cores).
Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--epochs", type=int, default=5)
_parser.add_argument("--repeats", type=int, default=3)
_parser.add_argument("--threads", type=int, default=None, help="cap BLAS and TF threads")
ARGS = _parser.parse_args()
if ARGS.threads:  # must happen before NumPy / TensorFlow start their thread pools
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from nnlib.data import load_digits  # noqa: E402
from nnlib.numpy_net import MLP  # noqa: E402
from nnlib.optimizers import Adam  # noqa: E402

SIZES = [64, 64, 10]


def numpy_throughput(x, y, batch_size, epochs, repeats):
    net = MLP(SIZES, activation="relu", seed=0, dtype="float32")
    opt = Adam(learning_rate=1e-3)
    net.fit(x, y, epochs=1, batch_size=batch_size, optimizer=opt)  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        net.fit(x, y, epochs=epochs, batch_size=batch_size, optimizer=opt)
        rates.append(epochs * len(x) / (time.perf_counter() - start))
    return statistics.median(rates), net.accuracy(x, y)


def keras_throughput(x, y, batch_size, epochs, repeats):
    import keras
    import tensorflow as tf

    if ARGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(ARGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(ARGS.threads)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((SIZES[0],))]
        + [keras.layers.Dense(n, activation="relu") for n in SIZES[1:-1]]
        + [keras.layers.Dense(SIZES[-1], activation="softmax")]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)  # warm-up: traces the train step
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
        rates.append(epochs * len(x) / (time.perf_counter() - start))
    accuracy = float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))
    return statistics.median(rates), accuracy


def main() -> None:
    args = ARGS
    (x, y), _, _ = load_digits(dtype="float32")
    rows = []
    for batch_size in (32, 256):
        np_rate, np_acc = numpy_throughput(x, y, batch_size, args.epochs, args.repeats)
        k_rate, k_acc = keras_throughput(x, y, batch_size, args.epochs, args.repeats)
        rows.append((batch_size, np_rate, k_rate, np_rate / k_rate, np_acc, k_acc))
    print(
        f"digits MLP {'-'.join(map(str, SIZES))}, {len(x)} training samples, Adam(1e-3), "
        f"{args.epochs} epochs x {args.repeats} repeats (median), "
        f"threads={args.threads or 'library default'}, {os.cpu_count()} CPUs\n"
    )
    print(
        "| batch | NumPy MLP (samples/s) | Keras fit (samples/s) | NumPy / Keras | train acc NumPy | train acc Keras |"
    )
    print(
        "|------:|----------------------:|----------------------:|--------------:|----------------:|----------------:|"
    )
    for b, n, k, r, na, ka in rows:
        print(f"| {b} | {n:,.0f} | {k:,.0f} | {r:.2f} | {na:.3f} | {ka:.3f} |")


if __name__ == "__main__":
    main()
