r"""Perturbation mode: a one-ulp nudge that stands in for another vendor's CPU (NumPy only).

Serves the appendix (*Contributing*: the portability matrix, ``scripts/portability.sh``). Two CPUs
that compute the same formula with other kernels differ in the last bit of some results; a long
training run amplifies that into other printed digits. Set the environment variable
``NNLIB_PERTURB=1`` and every floating array that :mod:`nnlib.data` returns, and the initial weights
that :mod:`nnlib.models` and :class:`nnlib.numpy_net.MLP` create, move by one unit in the last place
(ulp), up or down at random (a fixed generator, so the mode is itself deterministic):

.. math::

    \tilde x_i = \operatorname{nextafter}(x_i, \pm\infty),

except for values that every CPU computes exactly: zeros (sparsity and ReLU's kink are not rounding
effects) and numbers with at most 12 significant bits, such as small integers or the digits' 16 grey
levels :math:`k/16`, which come from integers by an exact division. A rounded result fills all 24
(float32) or 53 (float64) bits of its significand. An output that changes
under this mode would change on some reader's machine: print it with margin or as a band check
instead.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["ENV_VAR", "EXACT_BITS", "enabled", "nudge"]

#: The environment variable that turns the mode on (any value but "", "0" or "false").
ENV_VAR = "NNLIB_PERTURB"


#: Values with at most this many significant bits are exact by construction and are not nudged.
EXACT_BITS = 12


def enabled() -> bool:
    """Whether perturbation mode is on (read at every call, so a test can switch it)."""
    return os.environ.get(ENV_VAR, "").strip().lower() not in ("", "0", "false", "no", "off")


def nudge(x, seed: int = 0):
    """``x`` moved by one ulp per inexact element when the mode is on; ``x`` itself otherwise.

    Elements with at most :data:`EXACT_BITS` significant bits (zero included) are exact on every
    machine and stay; every other element moves one ulp up or down.

    Args:
        x: any array-like; only floating arrays are nudged (labels and integers pass through).
        seed: picks the directions, so two arrays of the same shape get different nudges.

    Returns:
        A new array of the same shape and dtype when nudged; the unchanged input otherwise.

    Example:
        >>> import os; os.environ["NNLIB_PERTURB"] = "1"
        >>> x = np.float32([0.1, 0.5, 0.0])
        >>> (nudge(x) != x).tolist()  # 0.1 is rounded on any CPU; 1/2 and 0 are exact
        [True, False, False]
    """
    if (
        not enabled()
        or not isinstance(x, np.ndarray)
        or not np.issubdtype(x.dtype, np.floating)
        or x.size == 0
    ):
        return x
    rng = np.random.default_rng(
        [seed, x.size]
    )  # a private generator: the global streams stay as they are
    direction = np.where(rng.random(x.shape) < 0.5, -np.inf, np.inf).astype(x.dtype)
    significand, _ = np.frexp(x)  # x = significand * 2**e, |significand| in [0.5, 1)
    scaled = significand * 2.0**EXACT_BITS
    exact = scaled == np.round(scaled)  # at most EXACT_BITS significant bits: exact by construction
    return np.where(exact, x, np.nextafter(x, direction)).astype(x.dtype, copy=False)
