"""nnlib.repro: TensorFlow's start-up log lines never reach a notebook run through Jupyter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Runs in a clean subprocess: nbclient executes a two-cell notebook in a fresh kernel and prints
# every stderr output the kernel sent. PYTEST_CURRENT_TEST must not reach the kernel (with it,
# ipykernel skips capturing file descriptor 2, which is why nbval never sees these lines).
RUNNER = textwrap.dedent("""
    import json, sys
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(sys.argv[1]),
                nbformat.v4.new_code_cell("print(float(tf.reduce_sum(tf.ones(3))))")]
    NotebookClient(nb, kernel_name="python3", timeout=300).execute()
    streams = [(o["name"], o["text"]) for c in nb.cells for o in c.outputs if o["output_type"] == "stream"]
    print(json.dumps(streams))
""")


def _streams(first_cell: str) -> list[tuple[str, str]]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTEST_CURRENT_TEST", "TF_CPP_MIN_LOG_LEVEL")
    }
    env["TF_ENABLE_ONEDNN_OPTS"] = (
        "1"  # TensorFlow then announces oneDNN at import on every x86 CPU
    )
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, first_cell],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return [tuple(s) for s in json.loads(out.stdout.strip().splitlines()[-1])]


@pytest.mark.slow
def test_a_notebook_run_through_jupyter_shows_no_tensorflow_log_lines():
    control = _streams("import tensorflow as tf")
    if not any(name == "stderr" and "oneDNN" in text for name, text in control):
        pytest.skip("TensorFlow prints no start-up log line on this machine: nothing to silence")
    streams = _streams(
        "from nnlib.repro import seed_everything\nseed_everything(0)\nimport tensorflow as tf"
    )
    assert [name for name, _ in streams] == ["stdout"], streams  # only the print, no stderr block
    assert streams[0][1] == "3.0\n"


def test_the_filter_drops_only_tensorflow_log_lines_and_imports_once():
    # Lines that are not TF log lines (a real warning or error) are written back to stderr.
    from nnlib import repro

    assert repro._TF_LOG_LINE.match(
        "I0000 00:00:1795854544.308179    5542 port.cc:153] oneDNN custom operations are on."
    )
    assert repro._TF_LOG_LINE.match(
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
    )
    assert repro._TF_LOG_LINE.match(
        "E0000 00:00:1795854544.308179  12 cuda_dnn.cc:8579] Unable to register"
    )
    assert not repro._TF_LOG_LINE.match("UserWarning: something a reader must see")
    tf = repro.import_tensorflow()
    assert tf is sys.modules["tensorflow"] and repro.import_tensorflow() is tf  # once


def test_native_stderr_filtered_drops_matching_lines_and_writes_back_the_rest(capfd):
    from nnlib.repro import native_stderr_filtered

    with native_stderr_filtered(r"^fully_quantize:"):
        os.write(2, b"fully_quantize: 0, inference_type: 6\nreal error: keep me\n\n")
        os.write(1, b"stdout is untouched\n")
    out, err = capfd.readouterr()
    assert out == "stdout is untouched\n"
    assert err == "real error: keep me\n"  # the match and the blank line dropped


def test_native_stderr_filtered_restores_the_descriptor_when_the_block_raises(capfd):
    import re

    from nnlib.repro import native_stderr_filtered

    with pytest.raises(RuntimeError, match="boom"):
        with native_stderr_filtered(re.compile("DT_HALF")):
            os.write(2, b"oneDNN supports DT_HALF only on ...\nshown\n")
            raise RuntimeError("boom")
    os.write(2, b"after the block\n")
    assert capfd.readouterr().err == "shown\nafter the block\n"


def test_native_stderr_filtered_names_a_bad_pattern():
    from nnlib.repro import native_stderr_filtered

    with pytest.raises(TypeError, match=r"`drop` must be a regular expression.*Received: drop=3"):
        with native_stderr_filtered(3):
            pass


def test_native_stderr_filtered_docstring_example():
    import doctest

    from nnlib import repro

    failures, tried = doctest.testmod(repro, extraglobs={"os": os})
    assert tried >= 1 and failures == 0


@pytest.fixture
def tf32_restored():
    from nnlib.repro import import_tensorflow

    tf = import_tensorflow()
    before = tf.config.experimental.tensor_float_32_execution_enabled()
    yield tf
    tf.config.experimental.enable_tensor_float_32_execution(before)


def test_seed_everything_turns_tf32_off_unless_asked(tf32_restored):
    from nnlib.repro import environment_report, seed_everything

    tf = tf32_restored
    tf.config.experimental.enable_tensor_float_32_execution(True)  # TensorFlow's default
    seed_everything(0, figures=False)
    assert not tf.config.experimental.tensor_float_32_execution_enabled()
    assert environment_report()["tensor_float_32"] == "False"
    seed_everything(0, figures=False, tf32=True)
    assert tf.config.experimental.tensor_float_32_execution_enabled()
    assert environment_report()["tensor_float_32"] == "True"
    with pytest.raises(TypeError, match=r"`tf32` must be a bool\. Received: tf32='yes'"):
        seed_everything(0, figures=False, tf32="yes")


def test_tf32_rounds_float32_products_only_on_an_ampere_or_newer_gpu(tf32_restored):
    # TensorFlow's docstring example: 1024 products 1.0001 * 1, summed. float32 keeps the 0.0001
    # (~1024.10; summed one after another in float32 it is 1024.112, hence the 0.05 margin); TF32's
    # 10 fraction bits round 1.0001 to 1 before multiplying (exactly 1024). On a CPU, a GPU older
    # than Ampere, or with NVIDIA_TF32_OVERRIDE=0, the flag changes nothing: the case that
    # seed_everything's docstring states.
    tf = tf32_restored
    x, y = tf.fill((1024, 1024), 1.0001), tf.ones((1024, 1024))
    first = {}
    for allowed in (True, False):
        tf.config.experimental.enable_tensor_float_32_execution(allowed)
        first[allowed] = float(tf.linalg.matmul(x, y)[0, 0])  # on GPU:0 if there is one
    assert abs(first[False] - 1024 * 1.0001) < 0.05, first
    gpus = tf.config.list_physical_devices("GPU")
    details = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
    ampere = details.get("compute_capability", (0, 0))[0] >= 8
    if ampere and os.environ.get("NVIDIA_TF32_OVERRIDE") != "0":
        assert first[True] == 1024.0, first
    else:
        assert first[True] == first[False], first
