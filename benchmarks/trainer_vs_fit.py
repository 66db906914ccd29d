"""Throughput of nnlib's Trainer.fit vs keras.Model.fit, each with and without XLA (jit_compile).

    python benchmarks/trainer_vs_fit.py [--repeats 9] [--markdown benchmarks/results.md]

Five workloads: the digits MLP (64-256-10, batch 32, real data), a 784-512-512-10 MLP (batch 256),
a compute-bound 784-2048-2048-10 MLP (batch 512), a small CNN on 28x28 images (batch 128) and a
GRU over 28 steps of 28 features (batch 128); all but the first on generated data, since only the
shapes matter for speed. Each workload runs six loops from the same seeded weights: Trainer,
``fit`` (one step per call of its compiled function, Keras's default) and ``fit`` with
``compile(steps_per_execution=<batches per epoch>)`` (one call per epoch, as the Trainer), each
with ``jit_compile`` False and True, on the same shuffled ``tf.data`` pipeline, with the same
optimizer (Adam 1e-3), loss and metric. One untimed epoch compiles each loop; then the six are
timed in turn ``--repeats`` times (interleaved, so that background load hits them alike), and each
reports the median samples per second with its min-max spread. Ratio = median Trainer / median fit
at the same ``jit_compile`` (> 1: the Trainer is faster), for each of the two ``fit`` loops.

For the MLPs the script also counts the matmul FLOPs of one training step (forward 2*m*n per layer
and sample, backward 2*m*n for the weight gradient and 2*m*n for the input gradient, except for the
first layer, whose input needs none; biases, activations and the optimizer are left out) and
compares the achieved FLOP/s with two roofs: this machine's float32 matmul FLOP/s on one
2048x2048 @ 2048x2048 product, and the FLOP/s of exactly the step's matmuls run alone (the same
shapes, nothing else; both the median of 10).
Weights are seeded with ``keras.utils.set_random_seed`` but op determinism stays off: with it on,
Keras's ``fit`` ignores ``jit_compile=True`` (chapter 4.11), and production runs leave it off.
Timings depend on the machine and on its load: compare ratios, not absolute numbers.
"""

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from nnlib import data, models  # noqa: E402
from nnlib.training import Trainer  # noqa: E402

# (loop, jit_compile); "fit, k = epoch": compile(steps_per_execution=<batches per epoch>)
LOOPS = [
    ("Trainer", False),
    ("fit", False),
    ("Trainer", True),
    ("fit", True),
    ("fit, k = epoch", False),
    ("fit, k = epoch", True),
]


def _mlp_flops(sizes):
    """Matmul FLOPs per sample of one training step of a dense network with these layer sizes."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return sum(6 * m * n for m, n in pairs) - 2 * pairs[0][0] * pairs[0][1]


def _cases():
    """(name, (x, y), batch size, epochs per timing, model builder, dense layer sizes or None)."""
    rng = np.random.default_rng(0)

    def generated(n, shape):
        return rng.normal(size=(n, *shape)).astype(np.float32), rng.integers(0, 10, n)

    digits = data.load_digits()[0]
    # epochs per timing: about 1-4 s each on a 2-core CPU
    yield "digits MLP 64-256-10", digits, 32, 100, lambda: models.mlp(64, (256,)), [64, 256, 10]
    yield (
        "MLP 784-512-512-10",
        generated(8192, (784,)),
        256,
        6,
        (lambda: models.mlp(784, (512, 512))),
        [784, 512, 512, 10],
    )
    yield (
        "MLP 784-2048-2048-10",
        generated(4096, (784,)),
        512,
        3,
        (lambda: models.mlp(784, (2048, 2048))),
        [784, 2048, 2048, 10],
    )
    yield (
        "CNN 28x28 (16, 32)",
        generated(2048, (28, 28, 1)),
        128,
        6,
        (lambda: models.cnn((28, 28, 1), filters=(16, 32), num_classes=10)),
        None,
    )
    yield (
        "GRU 28x28, 64 units",
        generated(2048, (28, 28)),
        128,
        8,
        (lambda: models.rnn((28, 28), units=64, cell="gru", num_classes=10)),
        None,
    )


def _median_seconds(fn, repeats: int) -> float:
    fn().numpy()  # trace
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn().numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_flops(n: int = 2048, repeats: int = 10) -> float:
    """Float32 FLOP/s of one n x n @ n x n product on this machine (median of ``repeats``)."""
    a = tf.random.stateless_normal((n, n), seed=(0, 1))
    return 2 * n**3 / _median_seconds(tf.function(lambda: tf.reduce_sum(a @ a)), repeats)


def step_matmul_flops(sizes, batch: int, repeats: int = 10) -> float:
    """FLOP/s of exactly the matmuls of one training step of a dense network, alone.

    The same shapes as the real step (forward a @ W, weight gradient a^T @ delta, input gradient
    delta @ W^T except for the first layer) with nothing else: the roof a training loop can reach.
    """
    seed = iter(range(100))
    normal = lambda *shape: tf.random.stateless_normal(shape, seed=(0, next(seed)))  # noqa: E731
    layers = [(normal(batch, m), normal(m, n), normal(batch, n)) for m, n in zip(sizes, sizes[1:])]

    @tf.function(autograph=False)  # a Python loop over the layers, unrolled when traced
    def matmuls():
        total = tf.constant(0.0)
        for i, (a, w, delta) in enumerate(layers):
            total += tf.reduce_sum(a @ w) + tf.reduce_sum(tf.matmul(a, delta, transpose_a=True))
            if i > 0:
                total += tf.reduce_sum(tf.matmul(delta, w, transpose_b=True))
        return total

    return batch * _mlp_flops(sizes) / _median_seconds(matmuls, repeats)


def _loops(build, ds):
    """The training loops of LOOPS, each started from the same seeded weights."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    batches_per_epoch = int(ds.cardinality())
    assert batches_per_epoch > 0, "the benchmark's datasets are finite"
    runs = []
    for kind, jit in LOOPS:
        # Seeds only: nnlib.repro.seed_everything also turns on op determinism, with which Keras
        # falls back to jit_compile=False (chapter 4.11), and a benchmark wants the production setting.
        keras.utils.set_random_seed(0)
        model = build()
        if kind == "Trainer":
            trainer = Trainer(
                model, loss, keras.optimizers.Adam(1e-3), metrics=["accuracy"], jit_compile=jit
            )
            runs.append(lambda epochs, t=trainer: t.fit(ds, epochs=epochs))
        else:
            model.compile(
                keras.optimizers.Adam(1e-3),
                loss,
                metrics=["accuracy"],
                jit_compile=jit,
                steps_per_execution=batches_per_epoch if kind.endswith("epoch") else 1,
            )
            runs.append(lambda epochs, m=model: m.fit(ds, epochs=epochs, shuffle=False, verbose=0))
    return runs


def benchmark(repeats: int) -> tuple[float, list[dict]]:
    peak = matmul_flops()
    rows = []
    for name, (x, y), batch, epochs, build, sizes in _cases():
        ds = data.to_dataset(x, y, batch_size=batch, shuffle=True, seed=0)
        runs = _loops(build, ds)
        for run in runs:
            run(1)  # trace / compile, not timed
        times = [[] for _ in runs]
        for _ in range(repeats):
            for run, t in zip(runs, times):
                start = time.perf_counter()
                run(epochs)
                t.append(time.perf_counter() - start)
        n = len(x) * epochs
        speeds = [sorted(n / s for s in t) for t in times]  # samples/s, slowest first
        rows.append(
            {
                "name": name,
                "batch": batch,
                "speeds": speeds,
                "flops": None if sizes is None else _mlp_flops(sizes),
                "roof": None if sizes is None else step_matmul_flops(sizes, batch),
            }
        )
    return peak, rows


def _cell(speeds):
    return f"{statistics.median(speeds):,.0f} ({speeds[0]:,.0f}–{speeds[-1]:,.0f})"


def markdown(peak: float, rows: list[dict], repeats: int) -> str:
    cpu = "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if "model name" in line), cpu)
    lines = [
        f"Machine: {cpu}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, oneDNN "
        f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default')}; median of {repeats} timings "
        f"(min–max in brackets). Float32 matmul, 2048³: {peak / 1e9:,.1f} GFLOP/s.",
        "",
        "| workload | batch | loop | XLA off: samples/s | XLA on: samples/s |",
        "|---|--:|---|--:|--:|",
    ]
    for row in rows:
        first = f"| {row['name']} | {row['batch']} |"
        for loop, label, ratio in (
            ("Trainer", "Trainer", None),
            ("fit", "fit", "Trainer / fit"),
            (
                "fit, k = epoch",
                "fit, steps_per_execution = epoch",
                "Trainer / fit, one call per epoch",
            ),
        ):
            off, on = (_cell(_speeds(row, loop, jit)) for jit in (False, True))
            lines.append(f"{first} {label} | {off} | {on} |")
            first = "| | |"
            if ratio:
                r = _ratios([row], fit=loop)[row["name"]]
                lines.append(f"| | | **{ratio}** | **{r[0]:.2f}** | **{r[1]:.2f}** |")
        if row["flops"] is not None:
            rates = [
                statistics.median(_speeds(row, "Trainer", jit)) * row["flops"]
                for jit in (False, True)
            ]
            cells = [f"{r / 1e9:,.1f} GFLOP/s = {r / peak:.0%}" for r in rates]
            lines.append(f"| | | Trainer, of 2048³ matmul FLOP/s | {cells[0]} | {cells[1]} |")
            roof = row["roof"]
            lines.append(
                f"| | | Trainer, of the same step's matmuls alone ({roof / 1e9:,.1f} GFLOP/s) "
                f"| {rates[0] / roof:.0%} | {rates[1] / roof:.0%} |"
            )
    return "\n".join(lines) + "\n"


def _speeds(row: dict, loop: str, jit: bool) -> list[float]:
    """A workload's sorted samples/s of one loop of LOOPS."""
    return row["speeds"][LOOPS.index((loop, jit))]


def _ratios(rows: list[dict], fit: str = "fit") -> dict[str, list[float]]:
    """Trainer / the ``fit`` loop of LOOPS, median over median, per workload: [XLA off, XLA on]."""
    median = statistics.median
    return {
        row["name"]: [
            round(median(_speeds(row, "Trainer", jit)) / median(_speeds(row, fit, jit)), 2)
            for jit in (False, True)
        ]
        for row in rows
    }


def record(history_path: str, rows: list[dict], repeats: int, last: int = 3) -> str:
    """Append this run's ratios to a JSON history; return a table of the ``last`` runs' ratios."""
    history = []
    if os.path.exists(history_path):
        with open(history_path) as f:
            history = json.load(f)
    history.append(
        {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "repeats": repeats,
            "ratios": _ratios(rows),
            "ratios_one_call_per_epoch": _ratios(rows, fit="fit, k = epoch"),
        }
    )
    with open(history_path, "w") as f:
        json.dump(history, f, indent=1)
        f.write("\n")
    tables = [ratios_table(history[-last:])]
    with_epoch_calls = [run for run in history if "ratios_one_call_per_epoch" in run][-last:]
    tables.append(
        "Trainer / `fit` with `steps_per_execution` = the batches of an epoch:\n\n"
        + ratios_table(with_epoch_calls, key="ratios_one_call_per_epoch")
    )
    return "\n".join(tables)


def ratios_table(runs: list[dict], key: str = "ratios") -> str:
    """Markdown: one column of Trainer / fit ratios per run, one row per workload and XLA setting."""
    heads = [f"{run['date']} ({run['repeats']} timings)" for run in runs]
    lines = [
        "| workload | XLA | " + " | ".join(heads) + " |",
        "|---|---|" + "--:|" * len(runs),
    ]
    for name in runs[-1][key]:
        for i, xla in enumerate(("off", "on")):
            cells = [f"{run[key][name][i]:.2f}" if name in run[key] else "" for run in runs]
            lines.append(f"| {name if i == 0 else ''} | {xla} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument(
        "--history",
        help="append this run's Trainer/fit ratios to this JSON file and write the last three "
        "runs' ratios to ratios.md next to it",
    )
    args = parser.parse_args()
    peak, rows = benchmark(args.repeats)
    table = markdown(peak, rows, args.repeats)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.history:
        ratios = record(args.history, rows, args.repeats)
        print(ratios)
        with open(os.path.join(os.path.dirname(args.history), "ratios.md"), "w") as f:
            f.write(ratios)
