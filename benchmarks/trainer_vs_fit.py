"""Throughput of nnlib's Trainer.fit vs keras.Model.fit on identical model, data, batch and optimizer.

    python benchmarks/trainer_vs_fit.py [--repeats 3]

Three cases: the digits MLP (64-256-10, batch 32), a 784-512-512-10 MLP on generated data
(batch 256) and a small CNN on generated 28x28 images (batch 128). For each, both loops start from
the same seeded weights, compile once (one warm-up epoch, not timed), then train for a fixed
number of epochs; we report the best of ``--repeats`` timings as samples per second and the ratio
Trainer / Keras (> 1 means the Trainer is faster). Keras runs with ``jit_compile=False`` and
``steps_per_execution=1`` (its defaults on CPU), with the same metric (accuracy).
Timings depend on the machine and its load: compare ratios, not absolute numbers.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from nnlib import data, models, repro  # noqa: E402
from nnlib.training import Trainer  # noqa: E402


def _cases():
    (x, y), _, _ = data.load_digits()
    yield "digits MLP 64-256-10", x, y, 32, 5, lambda: models.mlp(64, (256,))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8192, 784)).astype(np.float32)
    y = rng.integers(0, 10, 8192)
    yield "MLP 784-512-512-10", x, y, 256, 2, lambda: models.mlp(784, (512, 512))
    x = rng.random((2048, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 2048)
    yield "CNN 28x28 (16, 32)", x, y, 128, 2, lambda: models.cnn((28, 28, 1), filters=(16, 32))


def _time(run, epochs):
    start = time.perf_counter()
    run(epochs)
    return time.perf_counter() - start


def main(repeats: int) -> None:
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    rows = []
    for name, x, y, batch, epochs, build in _cases():
        ds = data.to_dataset(x, y, batch_size=batch, shuffle=True, seed=0)
        repro.seed_everything(0)
        trainer = Trainer(build(), loss, keras.optimizers.Adam(1e-3), metrics=["accuracy"])
        repro.seed_everything(0)
        model = build()
        model.compile(keras.optimizers.Adam(1e-3), loss, metrics=["accuracy"], jit_compile=False)
        run_trainer = lambda e: trainer.fit(ds, epochs=e)  # noqa: E731
        run_keras = lambda e: model.fit(ds, epochs=e, verbose=0)  # noqa: E731
        run_trainer(1), run_keras(1)  # trace / compile, not timed
        t_trainer, t_keras = [], []
        for _ in range(repeats):  # interleaved, so background load hits both alike
            t_trainer.append(_time(run_trainer, epochs))
            t_keras.append(_time(run_keras, epochs))
        n = len(x) * epochs
        s_trainer, s_keras = n / min(t_trainer), n / min(t_keras)
        rows.append((name, batch, s_trainer, s_keras, s_trainer / s_keras))
    print(
        f"{'case':<24}{'batch':>6}{'Trainer samples/s':>19}{'Keras fit samples/s':>21}{'ratio':>7}"
    )
    for name, batch, s_t, s_k, ratio in rows:
        print(f"{name:<24}{batch:>6}{s_t:>19,.0f}{s_k:>21,.0f}{ratio:>7.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    main(parser.parse_args().repeats)
