r"""Data for the chapters: offline data sets and splits, ``tf.data`` pipelines, verified downloads.

Serves Part 2 (Chapter 2.2, *Data, features and labels*; Chapter 2.3, *Training, validation and
evaluation*) and every chapter that trains a model. Three modules, one concern each; this package
re-exports every public name, so chapters write ``from nnlib.data import load_digits``:

=============================  ==========================================================
module                         what
=============================  ==========================================================
:mod:`nnlib.data.datasets`     :class:`Splits`, :func:`train_val_test_split`,
                               :func:`load_digits`, :func:`load_breast_cancer`,
                               :func:`load_diabetes`, :func:`make_moons`,
                               :func:`make_spirals` (NumPy and scikit-learn, offline)
:mod:`nnlib.data.pipelines`    :func:`to_dataset` (``tf.data``, for the Trainer)
:mod:`nnlib.data.downloads`    :func:`load_mnist`, :func:`load_fashion_mnist`,
                               :class:`DatasetDownloadError` (network once, then cached)
=============================  ==========================================================
"""

from nnlib.data.datasets import (
    Splits,
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_moons,
    make_spirals,
    train_val_test_split,
)
from nnlib.data.downloads import (  # the constants are read (and patched) by tests/test_data.py
    _FASHION_FILES,  # noqa: F401
    _KERAS_DATASETS,  # noqa: F401
    _MNIST_FILES,  # noqa: F401
    DatasetDownloadError,
    load_fashion_mnist,
    load_mnist,
)
from nnlib.data.pipelines import to_dataset

__all__ = [
    "Splits",
    "train_val_test_split",
    "load_digits",
    "load_breast_cancer",
    "load_diabetes",
    "make_moons",
    "make_spirals",
    "to_dataset",
    "load_mnist",
    "load_fashion_mnist",
    "DatasetDownloadError",
]
