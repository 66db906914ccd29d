"""nnlib — the shared library of *Training Neural Networks with Python*.

Two layers (see the book's introduction):

* the **math layer** (NumPy only): ``activations``, ``losses``, ``initializers``, ``regularizers``,
  ``optimizers``, ``schedules``, ``gradcheck``, ``numpy_net``, ``conv``, ``rnn``, ``attention``,
  ``autodiff``;
* the **training layer** (TensorFlow/Keras 3): ``repro``, ``data``, ``models``, ``training``,
  ``callbacks``, ``augment``, ``plots``, ``deploy`` (the LiteRT interpreter), ``flops`` (TensorFlow's
  FLOP count of a traced function), and ``distribute``
  (which itself imports no TensorFlow: it starts worker processes) with the worker programs in
  ``examples``.

Importing the package imports neither layer, so ``import nnlib.activations`` never pulls in
TensorFlow. The package only sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless set) before TF is first
imported; the start-up lines that this variable cannot silence are kept out of stderr by
:func:`nnlib.repro.import_tensorflow`, which every chapter's ``seed_everything`` call goes through.
Setting ``NNLIB_PERTURB=1`` turns on the portability matrix's one-ulp perturbation mode
(:mod:`nnlib.perturb`).
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
__all__ = ["__version__"]
