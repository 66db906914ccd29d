"""Reproducibility: one call seeds everything; one call reports the environment.

Serves every chapter (each notebook's first code cell calls :func:`seed_everything`) and
chapter 1.1, where :func:`environment_report` is the environment check.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import re
import sys
import tempfile
from collections.abc import Iterator

import numpy as np

from nnlib._validation import check_bool, check_int, check_type

__all__ = [
    "import_tensorflow",
    "native_stderr_filtered",
    "seed_everything",
    "environment_report",
    "EnvironmentReport",
]

# TensorFlow's C++ start-up lines: absl's pre-initialization notice, glog-style lines
# ("I0000 00:00:... port.cc:153] oneDNN custom operations are on ..."), and the CPU-feature notice.
_TF_LOG_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\]"
    r"|To enable the following instructions: .*rebuild TensorFlow"
    r"|This TensorFlow binary is optimized to use available CPU instructions)"
)


@contextlib.contextmanager
def native_stderr_filtered(drop: str | re.Pattern) -> Iterator[None]:
    r"""Inside the block, drop the lines that C/C++ code writes to stderr and that match ``drop``.

    TensorFlow's C++ core and LiteRT's converter write some notices straight to file descriptor 2,
    below Python's ``sys.stderr``, so neither ``warnings`` filters nor log levels reach them, and
    Jupyter shows them as a red stderr block. The block runs with descriptor 2 pointed at a
    temporary file; afterwards, even if the block raised, every captured line that does not match
    ``drop`` (``re.search``) is written back to stderr, so a real error still shows. Used by
    :func:`import_tensorflow`, chapter 4.11 (oneDNN's float16 notice) and chapter 5.4 (the int8
    calibrator's summary line).

    Args:
        drop: a regular expression (string or compiled) for the lines to discard.

    Example:
        >>> with native_stderr_filtered(r"^fully_quantize:"):
        ...     os.write(2, b"fully_quantize: 0, inference_type: 6\n")  # dropped
        37
    """
    check_type("drop", drop, (str, re.Pattern), "a regular expression (str or re.Pattern)")
    pattern = re.compile(drop) if isinstance(drop, str) else drop
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines()
                if line.strip() and not pattern.search(line)
            ]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def import_tensorflow():
    """Import TensorFlow (once) without letting its C++ start-up log lines reach stderr.

    TensorFlow 2.21 writes lines such as "oneDNN custom operations are on" straight to file
    descriptor 2 while it loads, before ``TF_CPP_MIN_LOG_LEVEL`` is read, so no environment
    variable silences them, and Jupyter shows them as a red stderr block. The import runs inside
    :func:`native_stderr_filtered`, which drops such log lines and writes back every other line
    (so a real error or warning still shows).

    Returns:
        The ``tensorflow`` module.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later INFO/WARNING lines too
    with native_stderr_filtered(_TF_LOG_LINE):
        import tensorflow as tf
    return tf


def seed_everything(seed: int = 0, *, figures: bool = True, tf32: bool = False) -> int:
    """Seed Python, NumPy and TensorFlow, turn on op determinism, keep float32 products at full precision.

    After this call, re-running the same cells gives bit-identical results on the same machine:
    ``random``, ``np.random`` (the legacy global generator), ``tf.random`` and Keras initializers and
    dropout are all seeded, and TF picks deterministic kernels. Figures, too, come out the same in
    every chapter: the call applies :func:`nnlib.plots.use_book_style` (colour-blind-safe colours,
    text readable at the book's column width).

    On other machines the results differ only by float32 rounding: the call also turns off
    TensorFloat-32 (TF32), which TensorFlow otherwise uses by default for float32 matrix products
    and convolutions on NVIDIA GPUs from the Ampere generation on. TF32 rounds their inputs to 10
    fraction bits (about 3 decimal digits, against float32's 7), so a GPU would print other digits
    than the book's CPU run after a few training steps. The same switch makes TPUs run these float32
    operations at full precision instead of bfloat16's. On a CPU, and on older GPUs, it has no effect.

    Args:
        seed: an integer in ``[0, 2**32 - 1]`` (NumPy's seed range).
        figures: apply the book's figure style (``False`` leaves matplotlib's settings alone).
        tf32: allow TF32 (``tf.config.experimental.enable_tensor_float_32_execution``): faster
            float32 matrix products on such GPUs, at TF32's precision.

    Returns:
        The seed, so a cell can print it.

    Example:
        >>> seed_everything(0)
        0
    """
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    figures = check_bool("figures", figures)
    tf32 = check_bool("tf32", tf32)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses; this process's hash seed is fixed
    random.seed(seed)
    np.random.seed(seed)
    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(seed)  # Python, NumPy and TF seeds, plus Keras's own generator
    tf.config.experimental.enable_op_determinism()
    tf.config.experimental.enable_tensor_float_32_execution(tf32)
    if figures:
        from nnlib.plots import use_book_style

        use_book_style()
    return seed


class EnvironmentReport(dict):
    """A ``dict`` of environment facts that prints as an aligned two-column table."""

    def __str__(self) -> str:
        width = max((len(str(k)) for k in self), default=0)
        return "\n".join(f"{str(k):<{width}}  {v}" for k, v in self.items())

    def _repr_pretty_(self, p, cycle) -> None:  # IPython display
        p.text(str(self))


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_report() -> EnvironmentReport:
    """Versions and devices this book runs on: Python, NumPy, TensorFlow, Keras, CPU, GPUs.

    Returns:
        An :class:`EnvironmentReport` (a ``dict`` of strings) with keys ``python``, ``platform``,
        ``cpu``, ``cpu_count``, ``numpy``, ``tensorflow``, ``keras``, ``keras_backend``,
        ``devices``, ``op_determinism`` and ``tensor_float_32`` (TF32 allowed for float32 products on
        NVIDIA GPUs; :func:`seed_everything` turns it off).
    """
    tf = import_tensorflow()
    import keras

    devices = [
        d.device_type + ":" + d.name.rsplit(":", 1)[-1] for d in tf.config.list_physical_devices()
    ]
    # TF exposes the getter only in its framework module (not under tf.config).
    from tensorflow.python.framework import config as tf_framework_config

    determinism = tf_framework_config.is_op_determinism_enabled()
    return EnvironmentReport(
        python=sys.version.split()[0],
        platform=f"{platform.system()} {platform.machine()}",
        cpu=_cpu_name(),
        cpu_count=str(os.cpu_count()),
        numpy=np.__version__,
        tensorflow=tf.__version__,
        keras=keras.__version__,
        keras_backend=keras.backend.backend(),
        devices=", ".join(devices),
        op_determinism=str(determinism),
        tensor_float_32=str(tf.config.experimental.tensor_float_32_execution_enabled()),
    )
