"""One worker of the multi-worker digits training in Chapter 4.12, *Training across machines*.

Every worker runs this same file. ``nnlib.distribute.launch_local`` (or, on a real cluster, the
scheduler) starts one process per worker with ``TF_CONFIG`` set; the chief (worker 0) writes the
results to OUT_DIR. With ``--single`` it trains alone, without any strategy: the reference run.

    python nnlib/examples/multi_worker_digits.py OUT_DIR [--single] [--epochs N] [--checkpoint DIR]
                                          [--kill-worker I --kill-at-batch K]
"""

import argparse
import json
import os
import signal
from pathlib import Path

import numpy as np

from nnlib import repro

parser = argparse.ArgumentParser()
parser.add_argument("out_dir", type=Path)
parser.add_argument("--single", action="store_true", help="one process, no strategy")
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--checkpoint", help="a ResumableCheckpoint folder: save each epoch, resume")
parser.add_argument("--kill-worker", type=int, default=1, help="which worker --kill-at-batch kills")
parser.add_argument("--kill-at-batch", type=int, default=0, help="SIGKILL at this batch (a crash)")
args = parser.parse_args()

repro.seed_everything(0)
tf = repro.import_tensorflow()
# The strategy comes first: creating it starts this worker's server and joins the cluster that
# TF_CONFIG describes, which must happen before TensorFlow runs any other op.
strategy = None if args.single else tf.distribute.MultiWorkerMirroredStrategy()

import keras  # noqa: E402

from nnlib import callbacks, data, distribute, models, training  # noqa: E402

(x, y), (x_val, y_val), _ = data.load_digits()
train = data.to_dataset(x, y, batch_size=64, shuffle=True, seed=1)  # global batches of 64

if args.kill_at_batch and distribute.task_from_env()[1] == args.kill_worker:
    seen = []

    def crash_at(xb):
        seen.append(1)
        if len(seen) == args.kill_at_batch:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: a real crash
        return xb

    train = train.map(
        lambda xb, yb: (tf.numpy_function(crash_at, [xb], tf.float32, stateful=True), yb)
    )
    train = train.map(lambda xb, yb: (tf.ensure_shape(xb, [None, 64]), yb))

checkpoint = [callbacks.ResumableCheckpoint(args.checkpoint)] if args.checkpoint else []
trainer = training.Trainer(
    lambda: models.mlp(64, hidden_units=(32,)),  # a function: built inside the strategy's scope
    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    keras.optimizers.Adam(1e-2),
    metrics=["accuracy"],
    callbacks=checkpoint,
    strategy=strategy,
)
history = trainer.fit(train, validation_data=(x_val, y_val), epochs=args.epochs)

if distribute.is_chief(strategy):  # every worker holds the same weights; one writes them
    args.out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(args.out_dir / "weights.npz", *trainer.model.get_weights())
    summary = {
        "history": history.history,
        "replicas": trainer.strategy.num_replicas_in_sync,
        "initial_epoch": checkpoint[0].initial_epoch if checkpoint else 0,
    }
    (args.out_dir / "summary.json").write_text(json.dumps(summary))
