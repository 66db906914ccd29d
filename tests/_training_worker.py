"""Training runs that must happen in a fresh process (used by test_callbacks.py / test_training.py).

python tests/_training_worker.py crash DIR KILL_AT_BATCH
    Train with a ResumableCheckpoint in DIR and SIGKILL this process when the input pipeline
    hands out batch number KILL_AT_BATCH (mid-epoch).
python tests/_training_worker.py resume DIR REF_DIR OUT.npz
    Rerun with the same DIR (resumes from its checkpoint) to the end, then train the same
    model uninterrupted in REF_DIR; save both final weights and histories to OUT.npz.
python tests/_training_worker.py distribute OUT.json
    With two logical CPU devices: the same training on one device and under a two-replica
    MirroredStrategy; save both histories to OUT.json.
"""

import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

EPOCHS = 6
BATCH = 64


def _resumable_run(directory, kill_at_batch=None):
    import keras
    import tensorflow as tf

    from nnlib import callbacks, data, models, repro, training

    repro.seed_everything(0)
    (x, y), (x_val, y_val), _ = data.load_digits()
    model = models.mlp(64, hidden_units=(32,), dropout=0.2)  # dropout: RNG state matters too
    checkpoint = callbacks.ResumableCheckpoint(directory, max_to_keep=2)
    trainer = training.Trainer(
        model,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        keras.optimizers.Adam(1e-2),  # moments: optimizer state matters too
        metrics=["accuracy"],
        callbacks=[checkpoint],
    )
    train = data.to_dataset(x, y, batch_size=BATCH, shuffle=True, seed=3)  # data order matters too
    if kill_at_batch is not None:
        seen = []

        def count(xb):
            seen.append(1)
            if len(seen) == kill_at_batch:
                os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: a real crash
            return xb

        train = train.map(
            lambda xb, yb: (tf.numpy_function(count, [xb], tf.float32, stateful=True), yb)
        )
        train = train.map(lambda xb, yb: (tf.ensure_shape(xb, [None, 64]), yb))
    history = trainer.fit(train, validation_data=(x_val, y_val), epochs=EPOCHS)
    return model.get_weights(), history.history, checkpoint.initial_epoch


def _distribute(out):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from nnlib import data, repro, training

    (x, y), (x_val, y_val), _ = data.load_digits()
    x, y = x[:1000], y[:1000]  # 1000 = 15 * 64 + 40: the last batch splits unevenly

    def build():
        return keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(
                    32, activation="tanh", kernel_regularizer=keras.regularizers.L2(1e-3)
                ),
                keras.layers.Dense(10),
            ]
        )

    results = {}
    for name, strategy in [
        ("one_device", None),
        ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])),
    ]:
        repro.seed_everything(0)
        trainer = training.Trainer(
            build,
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            keras.optimizers.SGD(0.1, momentum=0.9),
            metrics=["accuracy"],
            strategy=strategy,
        )
        history = trainer.fit(
            data.to_dataset(x, y, batch_size=BATCH, shuffle=True, seed=1),
            validation_data=(x_val, y_val),
            epochs=4,
            record_grad_norms=True,
        )
        results[name] = history.history
        results[name + "_replicas"] = trainer.strategy.num_replicas_in_sync
    with open(out, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "crash":
        _resumable_run(sys.argv[2], kill_at_batch=int(sys.argv[3]))
        sys.exit(3)  # not reached: the process kills itself
    elif mode == "resume":
        weights, history, initial_epoch = _resumable_run(sys.argv[2])
        ref_weights, ref_history, _ = _resumable_run(sys.argv[3])
        np.savez(
            sys.argv[4],
            initial_epoch=initial_epoch,
            loss=np.array(history["loss"]),
            ref_loss=np.array(ref_history["loss"]),
            **{f"w{i}": w for i, w in enumerate(weights)},
            **{f"ref_w{i}": w for i, w in enumerate(ref_weights)},
        )
    elif mode == "distribute":
        _distribute(sys.argv[2])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
