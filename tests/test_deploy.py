"""nnlib.deploy: LiteRT files run through the interpreter agree with the Keras model they came from,
float32 and full-integer int8 alike; bad arguments are named."""

import numpy as np
import pytest

from nnlib.repro import import_tensorflow, native_stderr_filtered

tf = import_tensorflow()
import keras  # noqa: E402

from nnlib import models  # noqa: E402
from nnlib.deploy import litert_interpreter, litert_predict  # noqa: E402

X = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    return models.mlp(4, (8,), num_classes=3, seed=0)


def _export(model, path, **settings):
    with native_stderr_filtered("^fully_quantize:"):  # the int8 calibrator's summary line
        model.export(str(path), format="litert", verbose=False, **settings)
    return path


def test_a_float32_file_agrees_with_keras_by_path_and_by_bytes(model, tmp_path):
    path = _export(model, tmp_path / "m.tflite")
    want = model(X, training=False).numpy()
    for source in (path, str(path), path.read_bytes()):
        got = litert_predict(litert_interpreter(source), X)
        assert got.dtype == np.float32 and got.shape == (32, 3)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_full_integer_file_gets_quantized_inputs_and_dequantized_outputs(model, tmp_path):
    def calibration():
        for row in X:
            yield [row[None, :]]

    path = _export(
        model,
        tmp_path / "int8.tflite",
        optimizations=[tf.lite.Optimize.DEFAULT],
        representative_dataset=calibration,
        target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
        inference_input_type=tf.int8,
        inference_output_type=tf.int8,
    )
    interpreter = litert_interpreter(path)
    run = interpreter.get_signature_runner("serving_default")
    ((name, details),) = run.get_input_details().items()
    assert details["dtype"] == np.int8  # the raw model takes int8 ...
    got = litert_predict(interpreter, X)  # ... litert_predict takes and returns floats
    want = model(X, training=False).numpy()
    assert got.dtype == np.float32
    # 8-bit rounding of inputs, weights and activations: within 5 % of the logits' range
    assert np.abs(got - want).max() < 0.05 * np.ptp(want)
    # and the int8 path is really taken: the raw int8 output times its scale is the same answer
    q = run(
        **{
            name: np.clip(
                np.round(X / details["quantization"][0]) + details["quantization"][1], -128, 127
            ).astype(np.int8)
        }
    )
    ((out,),) = [list(q.values())]
    s, z = next(iter(run.get_output_details().values()))["quantization"]
    np.testing.assert_allclose(got, s * (out.astype(np.float32) - z), rtol=0, atol=1e-6)


def test_bad_arguments_are_named(model, tmp_path):
    with pytest.raises(TypeError, match=r"`model` must be the flat buffer \(bytes\) or a path"):
        litert_interpreter(3)
    with pytest.raises(FileNotFoundError, match=r"`model`: no LiteRT file at"):
        litert_interpreter(tmp_path / "missing.tflite")
    inputs = keras.Input((4,))
    two = keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(1)(inputs)])
    interpreter = litert_interpreter(_export(two, tmp_path / "two.tflite"))
    with pytest.raises(ValueError, match=r"one input and one output.*Received: inputs"):
        litert_predict(interpreter, X)
