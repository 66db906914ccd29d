"""Running exported models: the LiteRT (TensorFlow Lite) interpreter, quantized models included.

Serves Chapter 4.8, *Saving, loading and exporting models* (a float32 LiteRT file checked against
Keras), and Chapter 5.4, *Privacy, deployment and sustainability* (float16 and int8 files made by
post-training quantization, run on the same images).

``model.export(path, format="litert")`` writes the flat buffer; :func:`litert_interpreter` loads it
and :func:`litert_predict` runs it on float inputs, converting to and from int8 where the model
takes or returns int8.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from nnlib._validation import check_type
from nnlib.repro import import_tensorflow

__all__ = ["litert_interpreter", "litert_predict"]


def litert_interpreter(model: bytes | str | os.PathLike):
    """A ``tf.lite.Interpreter`` for a LiteRT flat buffer (its bytes or a ``.tflite`` path).

    Two details of TensorFlow 2.21 are handled here. The interpreter's deprecation notice, which
    points to the separate ``ai_edge_litert`` package, is silenced, and only that warning. The
    interpreter uses the plain built-in kernels (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``), so it
    does not load its default CPU delegate (XNNPACK), which logs a line to stderr and may round
    differently.

    Args:
        model: the flat buffer as ``bytes``, or the path of a ``.tflite`` file.

    Returns:
        The interpreter; call ``get_signature_runner("serving_default")`` on it, or use
        :func:`litert_predict`.

    Raises:
        TypeError: ``model`` is neither bytes nor a path.
        FileNotFoundError: the path does not exist.
    """
    check_type("model", model, (bytes, str, os.PathLike), "the flat buffer (bytes) or a path")
    if not isinstance(model, bytes) and not os.path.isfile(model):
        raise FileNotFoundError(f"`model`: no LiteRT file at {os.fspath(model)!r}")
    tf = import_tensorflow()
    source = (
        {"model_content": model} if isinstance(model, bytes) else {"model_path": os.fspath(model)}
    )
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated", category=UserWarning
        )
        return tf.lite.Interpreter(
            **source,
            experimental_op_resolver_type=(
                tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            ),
        )


def litert_predict(interpreter, x) -> np.ndarray:
    r"""Run a one-input, one-output LiteRT model on float inputs; return float32 outputs.

    A model quantized to full integers takes and returns int8. Its input tensor then carries a
    scale :math:`s` and a zero point :math:`z`, and the input is quantized as
    :math:`q = \mathrm{clip}(\mathrm{round}(x / s) + z, -128, 127)`. The output is turned back
    into real numbers with the output tensor's own :math:`s` and :math:`z`:
    :math:`y = s\,(q - z)`. Float models run unchanged.

    Args:
        interpreter: from :func:`litert_interpreter`.
        x: a batch of inputs, shaped as the model's input.

    Returns:
        The model's outputs as a float32 array.

    Raises:
        ValueError: the model has more than one input or output.
    """
    run = interpreter.get_signature_runner("serving_default")
    inputs, outputs = run.get_input_details(), run.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            "`interpreter` must hold a model with one input and one output. "
            f"Received: inputs {list(inputs)}, outputs {list(outputs)}"
        )
    ((input_name, input_details),) = inputs.items()
    ((output_name, output_details),) = outputs.items()
    x = np.asarray(x, dtype=np.float32)
    if input_details["dtype"] == np.int8:
        s, z = input_details["quantization"]
        x = np.clip(np.round(x / s) + z, -128, 127).astype(np.int8)
    y = run(**{input_name: x})[output_name]
    if output_details["dtype"] == np.int8:
        s, z = output_details["quantization"]
        y = s * (y.astype(np.float32) - z)
    return np.asarray(y, dtype=np.float32)
