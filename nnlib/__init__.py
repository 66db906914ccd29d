"""nnlib — the shared library of *Training Neural Networks with Python*.

Two layers (see the book's introduction):

* the **math layer** (NumPy only): ``activations``, ``losses``, ``initializers``, ``regularizers``,
  ``optimizers``, ``schedules``, ``gradcheck``, ``numpy_net``, ``conv``, ``rnn``;
* the **training layer** (TensorFlow/Keras 3): ``repro``, ``data``, ``models``, ``training``,
  ``callbacks``, ``plots``.

Importing the package imports neither layer, so ``import nnlib.activations`` never pulls in
TensorFlow. The package only quiets TensorFlow's C++ start-up log lines before TF is first imported,
so that notebooks print the same text on every run.
"""
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
__all__ = ["__version__"]
