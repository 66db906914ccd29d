r"""Loss functions and their gradients, in NumPy, with the semantics of ``keras.losses``.

Serves Chapter 3.2, *Loss functions from maximum likelihood* (log-sum-exp included), Chapters 3.4,
*Gradient descent: batches and the learning rate*, and 3.6, *Learning-rate decay and schedules*
(the loss being minimized), Chapter 1.2, *The Python deep-learning ecosystem*, Chapter 5.4,
*Privacy, deployment and sustainability* (the knowledge-distillation loss), and
:mod:`nnlib.numpy_net`.

Each ``loss(y_true, y_pred)`` returns **per-sample** values, exactly like the ``keras.losses``
function of the same name: the last axis is averaged (MSE, MAE, binary cross-entropy, hinge) or
summed (categorical cross-entropies), so ``(batch, k)`` inputs give a ``(batch,)`` result. Each
``loss_grad(y_true, y_pred)`` is the gradient of the **batch mean** of those values with respect to
``y_pred`` (what Keras's default ``"sum_over_batch_size"`` reduction differentiates), shaped like
``y_pred``.

Keras details reproduced here: probabilities are clipped to :math:`[\epsilon, 1-\epsilon]` with
:math:`\epsilon = 10^{-7}` (so a confident wrong prediction costs at most :math:`-\log 10^{-7}
\approx 16.1`, and the gradient is 0 where clipping is active); ``categorical_crossentropy``
renormalizes ``y_pred`` to sum to 1; ``hinge`` turns {0, 1} labels into {-1, 1}. With
``from_logits=True`` everything goes through log-sum-exp and stays finite for logits of magnitude
:math:`10^4`. The distillation pair (``distillation_loss``, ``distillation_loss_grad``) mirrors
``keras.distillation.LogitsDistillation`` instead and clips nothing (see :func:`distillation_loss`).
"""

from __future__ import annotations

import numpy as np

from nnlib._validation import (
    as_array,
    check_bool,
    check_float_input,
    check_labels,
    check_min_rank,
    check_positive,
    check_same_shape,
)
from nnlib.activations import log_softmax, sigmoid, softmax

__all__ = [
    "EPSILON",
    "mean_squared_error",
    "mean_squared_error_grad",
    "mean_absolute_error",
    "mean_absolute_error_grad",
    "binary_crossentropy",
    "binary_crossentropy_grad",
    "categorical_crossentropy",
    "categorical_crossentropy_grad",
    "sparse_categorical_crossentropy",
    "sparse_categorical_crossentropy_grad",
    "hinge",
    "hinge_grad",
    "distillation_loss",
    "distillation_loss_grad",
]

#: Keras's ``backend.epsilon()``: probabilities are clipped to ``[EPSILON, 1 - EPSILON]``.
EPSILON = 1e-7


# ---------------------------------------------------------------- input checks


def _pair(y_true, y_pred, squeeze: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Float arrays of one shape, computed in ``y_pred``'s dtype (as Keras casts ``y_true``)."""
    y_pred = _check_last_axis(check_min_rank("y_pred", check_float_input("y_pred", y_pred), 1))
    y_true = check_float_input("y_true", y_true)
    if squeeze:  # Keras's squeeze_or_expand_to_same_rank: (n,) vs (n, 1) is allowed for MSE/MAE
        if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
            y_true = y_true[..., None]
    check_same_shape("y_true", y_true, "y_pred", y_pred)
    return y_true.astype(y_pred.dtype, copy=False), y_pred


def _check_last_axis(y_pred: np.ndarray, name: str = "y_pred") -> np.ndarray:
    if y_pred.shape[-1] == 0:
        raise ValueError(
            f"`{name}` must have at least one value (output or class) along its last axis: a mean "
            f"or sum over nothing is undefined. Received: {name}.shape={y_pred.shape}"
        )
    return y_pred


def _from_logits(from_logits) -> bool:
    return check_bool("from_logits", from_logits)


def _check_unit(name: str, x: np.ndarray, what: str) -> None:
    """The documented range [0, 1] of labels and probabilities (Keras does not check it)."""
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"`{name}` must hold {what} in [0, 1]. Received: {name} with min={x.min()}, max={x.max()}"
        )


_PROBABILITIES = "probabilities (pass from_logits=True if it holds logits)"


def _n_samples(y_pred: np.ndarray) -> int:
    """Number of per-sample values (every axis but the last), the divisor of the batch mean."""
    return max(1, y_pred.size // max(1, y_pred.shape[-1]))


def _clip(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's clip to [eps, 1 - eps] and the mask where it is inactive (where gradients flow)."""
    lo, hi = np.asarray(EPSILON, p.dtype), np.asarray(1.0 - EPSILON, p.dtype)
    return np.clip(p, lo, hi), (p >= lo) & (p <= hi)


# ---------------------------------------------------------------- regression


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    r"""Mean squared error per sample: :math:`\ell = \frac{1}{k}\sum_{j=1}^{k} (y_j - \hat y_j)^2`.

    Args:
        y_true: targets, shape ``(batch, k)`` (``(batch,)`` against ``(batch, 1)`` is accepted, as
            in Keras).
        y_pred: predictions, shape ``(batch, k)``.

    Returns:
        Shape ``(batch,)``, dtype of ``y_pred``.

    Example:
        >>> mean_squared_error(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))
        array([0.5])
    """
    y_true, y_pred = _pair(y_true, y_pred, squeeze=True)
    return np.mean(np.square(y_true - y_pred), axis=-1)


def mean_squared_error_grad(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    r"""Gradient of the batch-mean MSE: :math:`\partial L/\partial \hat y = 2(\hat y - y)/(n k)`."""
    y_true, y_pred = _pair(y_true, y_pred, squeeze=True)
    return 2 * (y_pred - y_true) / y_pred.size


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    r"""Mean absolute error per sample: :math:`\ell = \frac{1}{k}\sum_{j} |y_j - \hat y_j|`.

    Example:
        >>> mean_absolute_error(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))
        array([0.5])
    """
    y_true, y_pred = _pair(y_true, y_pred, squeeze=True)
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def mean_absolute_error_grad(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    r"""Gradient of the batch-mean MAE: :math:`\mathrm{sign}(\hat y - y)/(n k)` (0 where equal)."""
    y_true, y_pred = _pair(y_true, y_pred, squeeze=True)
    return np.sign(y_pred - y_true) / y_pred.size


# ---------------------------------------------------------------- binary classification


def binary_crossentropy(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False
) -> np.ndarray:
    r"""Binary cross-entropy (log loss), averaged over the last axis:

    .. math:: \ell = -\frac{1}{k}\sum_j \big[y_j \log p_j + (1 - y_j)\log(1 - p_j)\big]

    With ``from_logits=True`` (``y_pred`` = logits :math:`z`, :math:`p = \sigma(z)`) it is computed
    as :math:`\max(z, 0) - z y + \log(1 + e^{-|z|})`, finite for any :math:`z`. Otherwise
    :math:`p` is clipped to :math:`[10^{-7}, 1 - 10^{-7}]` first, as Keras does.

    Args:
        y_true: labels in [0, 1], shape ``(batch, k)`` (same shape as ``y_pred``).
        y_pred: probabilities (or logits), shape ``(batch, k)``.
        from_logits: whether ``y_pred`` holds logits.

    Returns:
        Shape ``(batch,)``.

    Example:
        >>> binary_crossentropy(np.array([[1.0]]), np.array([[0.5]]))  # -log(1/2)
        array([0.69314718])
    """
    y_true, y_pred = _binary_pair(y_true, y_pred, from_logits)
    if from_logits:
        z = y_pred
        return np.mean(np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z))), axis=-1)
    p, _ = _clip(y_pred)
    return np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)), axis=-1)


def binary_crossentropy_grad(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False
) -> np.ndarray:
    r"""Gradient of the batch-mean binary cross-entropy w.r.t. ``y_pred``.

    Logits: :math:`(\sigma(z) - y)/(nk)`. Probabilities: :math:`\dfrac{p - y}{p(1-p)}\,\dfrac{1}{nk}`
    where :math:`p` is not clipped, 0 where it is.
    """
    y_true, y_pred = _binary_pair(y_true, y_pred, from_logits)
    if from_logits:
        return (sigmoid(y_pred) - y_true) / y_pred.size
    p, inside = _clip(y_pred)
    return np.where(inside, (p - y_true) / (p * (1 - p)), 0).astype(p.dtype) / y_pred.size


def _binary_pair(y_true, y_pred, from_logits) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _pair(y_true, y_pred)
    _check_unit("y_true", y_true, "binary labels (0/1 or probabilities)")
    if not _from_logits(from_logits):
        _check_unit("y_pred", y_pred, _PROBABILITIES)
    return y_true, y_pred


def hinge(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    r"""Hinge loss per sample: :math:`\ell = \frac{1}{k}\sum_j \max(0, 1 - y_j \hat y_j)`.

    Labels are :math:`\pm 1`; if every label is 0 or 1 they are first mapped to :math:`2y - 1`, as
    Keras does.

    Example:
        >>> hinge(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]))  # labels become (1, -1)
        array([1.])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _to_plus_minus_one(y_true)
    return np.mean(np.maximum(1 - y_true * y_pred, 0), axis=-1)


def hinge_grad(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    r"""Gradient of the batch-mean hinge loss: :math:`-y_j / (nk)` where the margin
    :math:`1 - y_j\hat y_j \ge 0`, else 0 (at exactly 0, TensorFlow's ``maximum`` passes the
    gradient to its first argument, and so do we)."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _to_plus_minus_one(y_true)
    active = (1 - y_true * y_pred) >= 0
    return np.where(active, -y_true, 0).astype(y_pred.dtype) / y_pred.size


def _to_plus_minus_one(y_true: np.ndarray) -> np.ndarray:
    if np.all((y_true == 0) | (y_true == 1)):
        return 2 * y_true - 1
    return y_true


# ---------------------------------------------------------------- multi-class classification


def categorical_crossentropy(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False
) -> np.ndarray:
    r"""Categorical cross-entropy per sample: :math:`\ell = -\sum_j y_j \log p_j`.

    ``y_true`` is one-hot (or a probability vector). With ``from_logits=True``,
    :math:`\log p = \mathrm{log\_softmax}(z)` (log-sum-exp). Otherwise Keras's steps:
    :math:`p \leftarrow p / \sum_j p_j`, then clip to :math:`[10^{-7}, 1 - 10^{-7}]`.

    Args:
        y_true: one-hot labels, shape ``(batch, classes)``.
        y_pred: probabilities (or logits), shape ``(batch, classes)``.
        from_logits: whether ``y_pred`` holds logits.

    Returns:
        Shape ``(batch,)``.

    Example:
        >>> categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))
        array([0.69314718])
    """
    y_true, y_pred = _categorical_pair(y_true, y_pred, from_logits)
    if from_logits:
        return -np.sum(y_true * log_softmax(y_pred), axis=-1)
    q = y_pred / y_pred.sum(axis=-1, keepdims=True)
    q, _ = _clip(q)
    return -np.sum(y_true * np.log(q), axis=-1)


def categorical_crossentropy_grad(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False
) -> np.ndarray:
    r"""Gradient of the batch-mean categorical cross-entropy w.r.t. ``y_pred``.

    Logits: :math:`\big(\mathrm{softmax}(z)\sum_j y_j - y\big)/n`, i.e. the famous
    :math:`(p - y)/n` for one-hot labels. Probabilities: back through the clip (0 where clipped) and
    the renormalization :math:`q = p/S`, :math:`\partial q_i/\partial p_j = \delta_{ij}/S - p_i/S^2`.
    """
    y_true, y_pred = _categorical_pair(y_true, y_pred, from_logits)
    n = _n_samples(y_pred)
    if from_logits:
        return (softmax(y_pred) * y_true.sum(axis=-1, keepdims=True) - y_true) / n
    S = y_pred.sum(axis=-1, keepdims=True)
    q, inside = _clip(y_pred / S)
    g_q = np.where(inside, -y_true / q, 0).astype(q.dtype)  # dl/dq
    g_p = g_q / S - np.sum(g_q * y_pred, axis=-1, keepdims=True) / (S * S)
    return g_p / n


def _categorical_pair(y_true, y_pred, from_logits) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _pair(y_true, y_pred)
    _check_unit("y_true", y_true, "one-hot labels (or probability rows)")
    if not _from_logits(from_logits):
        _check_unit("y_pred", y_pred, _PROBABILITIES)
        empty = np.argwhere(y_pred.sum(axis=-1) == 0)
        if empty.size:
            row = tuple(int(i) for i in empty[0])
            raise ValueError(
                "`y_pred` rows must not sum to 0 (the loss renormalizes p / sum(p)). "
                f"Received: y_pred row {row[0] if len(row) == 1 else row} sums to 0"
            )
    return y_true, y_pred


def _sparse_pair(y_true, y_pred, from_logits) -> tuple[np.ndarray, np.ndarray]:
    y_pred = _check_last_axis(check_min_rank("y_pred", check_float_input("y_pred", y_pred), 1))
    if not _from_logits(from_logits):
        _check_unit("y_pred", y_pred, _PROBABILITIES)
    y_true = as_array("y_true", y_true)
    if y_true.ndim == y_pred.ndim and y_true.ndim > 0 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]  # (batch, 1) labels are accepted, as in Keras
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "`y_true` must hold one integer label per row of `y_pred`, i.e. have shape "
            f"{y_pred.shape[:-1]}. Received: y_true.shape={np.shape(y_true)}, "
            f"y_pred.shape={y_pred.shape}"
        )
    labels = check_labels("y_true", y_true, y_pred.shape[-1])
    return labels, y_pred


def _one_hot(labels: np.ndarray, num_classes: int, dtype) -> np.ndarray:
    return (labels[..., None] == np.arange(num_classes)).astype(dtype)


def sparse_categorical_crossentropy(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False
) -> np.ndarray:
    r"""Categorical cross-entropy with integer labels: :math:`\ell = -\log p_{y}`.

    With ``from_logits=True``: :math:`\ell = \log\sum_j e^{z_j} - z_y` (log-sum-exp). With
    probabilities Keras clips :math:`p` to :math:`[10^{-7}, 1 - 10^{-7}]` and applies a log-softmax
    to :math:`\log p`, which amounts to :math:`\ell = -\log\big(p_y / \sum_j p_j\big)`.

    Args:
        y_true: integer labels in ``[0, classes)``, shape ``(batch,)`` (or ``(batch, 1)``).
        y_pred: probabilities (or logits), shape ``(batch, classes)``.
        from_logits: whether ``y_pred`` holds logits.

    Returns:
        Shape ``(batch,)``.

    Example:
        >>> sparse_categorical_crossentropy(np.array([1]), np.array([[0.5, 0.5]]))
        array([0.69314718])
    """
    labels, y_pred = _sparse_pair(y_true, y_pred, from_logits)
    z = y_pred if from_logits else np.log(_clip(y_pred)[0])
    log_p = log_softmax(z)
    return -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]


def sparse_categorical_crossentropy_grad(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False
) -> np.ndarray:
    r"""Gradient of the batch-mean sparse categorical cross-entropy w.r.t. ``y_pred``.

    Logits: :math:`(\mathrm{softmax}(z) - \mathrm{onehot}(y))/n`. Probabilities (clipped
    :math:`p`, :math:`S = \sum_j p_j`): :math:`(1/S - [j = y]/p_j)/n`, 0 where clipping is active.
    """
    labels, y_pred = _sparse_pair(y_true, y_pred, from_logits)
    n = _n_samples(y_pred)
    y = _one_hot(labels, y_pred.shape[-1], y_pred.dtype)
    if from_logits:
        return (softmax(y_pred) - y) / n
    p, inside = _clip(y_pred)
    g = 1 / p.sum(axis=-1, keepdims=True) - y / p
    return np.where(inside, g, 0).astype(p.dtype) / n


# ---------------------------------------------------------------- knowledge distillation


def _logit_pair(teacher_logits, student_logits, temperature) -> tuple:
    """Float logits of one shape (in the student's dtype) and a temperature > 0 whose square is finite."""
    student = _check_last_axis(
        check_min_rank("student_logits", check_float_input("student_logits", student_logits), 1),
        "student_logits",
    )
    teacher = check_float_input("teacher_logits", teacher_logits)
    check_same_shape("teacher_logits", teacher, "student_logits", student)
    temperature = check_positive("temperature", temperature)
    limit = float(np.sqrt(np.finfo(student.dtype).max))  # T^2 must be finite in the logits' dtype
    if not temperature < limit:
        raise ValueError(
            "`temperature` must be small enough that its square is finite in the logits' dtype "
            f"(T < {limit:.3g} for {student.dtype}). Received: temperature={temperature}"
        )
    return teacher.astype(student.dtype, copy=False), student, temperature


def distillation_loss(
    teacher_logits: np.ndarray, student_logits: np.ndarray, temperature: float = 3.0
) -> np.ndarray:
    r"""Knowledge-distillation loss per sample: :math:`T^2\,\mathrm{KL}\big(q^{(T)} \,\|\, p^{(T)}\big)`.

    :math:`q^{(T)} = \mathrm{softmax}(t/T)` are the teacher's *soft targets* and
    :math:`p^{(T)} = \mathrm{softmax}(s/T)` the student's probabilities at the same temperature
    :math:`T`; :math:`\mathrm{KL}(q\,\|\,p) = \sum_j q_j (\log q_j - \log p_j)`, computed from
    log-softmax (finite for any logits). (Hinton et al., 2015, name them the other way round: their
    :math:`q` is the student's.) The factor :math:`T^2` keeps the gradient's size roughly independent
    of :math:`T` once :math:`T` is large against the spread of the logits, and with it the balance
    between this loss and a cross-entropy with the labels; see :func:`distillation_loss_grad`.

    The batch mean of these values is what ``keras.distillation.LogitsDistillation(temperature,
    loss=keras.losses.KLDivergence())`` computes, except that Keras clips both probabilities to
    :math:`[10^{-7}, 1]` first, which changes the value only where a probability is below
    :math:`10^{-7}`; no clipping is reproduced here. (In Keras 3.15, the default
    ``loss="kl_divergence"``, a string, resolves to a plain function: then neither the softmax nor
    the :math:`T^2` is applied.) The default temperature is Keras's, 3.

    Rounding: at a high temperature the KL divergence shrinks like :math:`1/T^2` but is computed from
    log-probabilities of size about :math:`\log k`, so its relative error grows like :math:`T^2` times
    the machine epsilon (in float32 about :math:`10^{-4}` to :math:`10^{-3}` at :math:`T = 100`).

    Args:
        teacher_logits: the teacher's logits, shape ``(..., classes)``.
        student_logits: the student's logits, the same shape.
        temperature: :math:`T > 0`; 1 gives the ordinary softmax, larger values softer targets.

    Returns:
        Shape ``(...)`` (the logits' shape without its last axis), in the dtype of
        ``student_logits``; 0 where the two rows differ only by a constant.

    Example:
        >>> distillation_loss(np.array([[2.0, 0.0]]), np.array([[2.0, 0.0]]), temperature=2.0)
        array([0.])
    """
    teacher, student, temperature = _logit_pair(teacher_logits, student_logits, temperature)
    log_q, log_p = log_softmax(teacher / temperature), log_softmax(student / temperature)
    return temperature**2 * np.sum(np.exp(log_q) * (log_q - log_p), axis=-1)


def distillation_loss_grad(
    teacher_logits: np.ndarray, student_logits: np.ndarray, temperature: float = 3.0
) -> np.ndarray:
    r"""Gradient of the batch-mean :func:`distillation_loss` w.r.t. ``student_logits``.

    :math:`T\,\big(p^{(T)} - q^{(T)}\big)/n`: one factor :math:`1/T` from the chain rule through
    :math:`s/T`, times :math:`T^2`. For large :math:`T` and logits with zero mean over the
    :math:`k` classes, :math:`p^{(T)}_j \approx (1 + s_j/T)/k`, so the gradient tends to
    :math:`(s - t)/(n k)`: distillation at a high temperature matches the logits themselves (for
    logits of any mean, up to a constant per example, which the softmax ignores).
    """
    teacher, student, temperature = _logit_pair(teacher_logits, student_logits, temperature)
    q, p = softmax(teacher / temperature), softmax(student / temperature)
    return temperature * (p - q) / _n_samples(student)
