r"""Data augmentation for small image data sets, and the small labelled subsets it is tested on.

Serves Chapter 4.9, *Data augmentation and reusing learned features*. Two helpers:

* :func:`image_augmentation` builds the Keras preprocessing pipeline
  ``RandomTranslation -> RandomRotation -> RandomZoom``, each layer with its own seed, so that the
  stream of random transformations is fixed by one integer and by nothing else that ran before;
* :func:`per_class_subset` draws a few labelled examples of each class (the "few hundred images" and
  "ten labels per class" regimes of the chapter), seeded and NumPy only.

Each random layer transforms an image by an affine map of its pixel grid. A translation by
:math:`(t_y, t_x)` pixels, a rotation by :math:`\theta` and a zoom by :math:`s` about the centre
:math:`c` send an output pixel :math:`p` to the input location

.. math::

    q = c + \tfrac{1}{s} R_{-\theta}\,(p - c) - t ,

where the layer reads the input by ``interpolation`` (``"nearest"``: the closest pixel;
``"bilinear"``: a weighted mean of the four around :math:`q`) and by ``fill_mode`` outside the
image. Keras draws :math:`t, \theta, s` per image, uniformly within the factors, from a stateless
generator (Philox) seeded by the layer's ``seed`` and a counter that advances at every call; the
layers are the identity when called with ``training=False`` (inside ``evaluate`` and
``predict``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlib._validation import (
    as_array,
    check_in_range,
    check_int,
    check_one_of,
    check_rank,
    check_type,
)

__all__ = ["image_augmentation", "per_class_subset", "layer_seed"]

_FILL_MODES = ("constant", "nearest", "reflect", "wrap")
_INTERPOLATIONS = ("nearest", "bilinear")


def layer_seed(seed: int, position: int) -> int:
    """The seed of the ``position``-th random layer of a pipeline built with ``seed``.

    Derived as in :mod:`nnlib.models` (``np.random.SeedSequence([seed, position])``), so that
    pipelines with neighbouring seeds share no layer seed.

    Example:
        >>> layer_seed(0, 1) == layer_seed(0, 1) != layer_seed(1, 0)
        True
    """
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    position = check_int("position", position, minimum=0)
    return int(np.random.SeedSequence([seed, position]).generate_state(1)[0])


def image_augmentation(
    translation: float = 0.125,
    rotation: float = 0.03,
    zoom: float = 0.2,
    interpolation: str = "nearest",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    seed: int = 0,
    name: str = "augmentation",
) -> Any:
    r"""A seeded ``keras.Sequential`` of ``RandomTranslation``, ``RandomRotation``, ``RandomZoom``.

    Each factor has Keras's meaning: ``translation`` is a fraction of the height and of the width
    (``0.125`` shifts an 8×8 digit by up to one pixel each way), ``rotation`` a fraction of a full
    turn (``0.03`` is up to :math:`\pm 10.8^\circ`), ``zoom`` a fraction of the size (``0.2`` zooms
    in or out by up to 20 %). A factor of 0 leaves its layer out. With nearest interpolation a factor
    must move some pixel by half a pixel to change anything: on an 8×8 image a zoom below
    :math:`1/7` (the corner pixels sit 3.5 pixels from the centre) is the identity. The :math:`i`-th layer gets the
    seed :func:`layer_seed` ``(seed, i)``, with :math:`i` counted over all three (0, 1, 2), so the
    pipeline equals the Keras layers built with those seeds, value for value.

    Args:
        translation: in ``[0, 1]``; ``height_factor = width_factor`` of ``RandomTranslation``.
        rotation: in ``[0, 0.5]``; ``factor`` of ``RandomRotation`` (fraction of :math:`2\pi`).
        zoom: in ``[0, 1)``; ``height_factor`` of ``RandomZoom`` (the width follows, keeping the
            aspect ratio).
        interpolation: ``"nearest"`` (keeps the image's grey levels; the right choice for 8×8
            images) or ``"bilinear"`` (smooths them).
        fill_mode: how points outside the image are filled: ``"constant"`` (``fill_value``, the
            digits' blank background), ``"nearest"``, ``"reflect"`` or ``"wrap"``.
        fill_value: the value for ``fill_mode="constant"``.
        seed: integer in ``[0, 2**32 - 1]`` that fixes every random transformation.
        name: the model's name.

    Returns:
        An unbuilt ``keras.Sequential`` mapping images ``(batch, height, width, channels)`` to
        images of the same shape; random in training mode, the identity otherwise.

    Example:
        >>> augment = image_augmentation(seed=0)
        >>> [layer.__class__.__name__ for layer in augment.layers]
        ['RandomTranslation', 'RandomRotation', 'RandomZoom']
    """
    translation = check_in_range("translation", translation, 0.0, 1.0)
    rotation = check_in_range("rotation", rotation, 0.0, 0.5)
    zoom = check_in_range("zoom", zoom, 0.0, 1.0, high_inclusive=False)
    check_one_of("interpolation", interpolation, _INTERPOLATIONS)
    check_one_of("fill_mode", fill_mode, _FILL_MODES)
    fill_value = check_in_range("fill_value", fill_value, -np.inf, np.inf)
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    check_type("name", name, str, "a string")
    import keras

    common = {"fill_mode": fill_mode, "fill_value": fill_value, "interpolation": interpolation}
    layers = []
    if translation > 0:
        layers.append(
            keras.layers.RandomTranslation(
                translation, translation, seed=layer_seed(seed, 0), **common
            )
        )
    if rotation > 0:
        layers.append(keras.layers.RandomRotation(rotation, seed=layer_seed(seed, 1), **common))
    if zoom > 0:
        layers.append(keras.layers.RandomZoom(zoom, seed=layer_seed(seed, 2), **common))
    return keras.Sequential(layers, name=name)


def per_class_subset(y: Any, per_class: int, classes: Any = None, seed: int = 0) -> np.ndarray:
    r"""Indices of ``per_class`` examples of each class in ``classes``, drawn without replacement.

    For each class :math:`c` the function draws ``per_class`` of the positions
    :math:`\{i : y_i = c\}` uniformly at random (a generator seeded by ``seed``); it returns
    their union, sorted.

    Args:
        y: integer labels, shape ``(n,)``.
        per_class: examples per class, ``>= 1`` and at most the size of the smallest class asked for.
        classes: the classes to draw from (default: every label in ``y``), distinct integers.
        seed: seed of the draw; the same seed gives the same subset.

    Returns:
        Sorted ``int64`` indices into ``y``, ``per_class * len(classes)`` of them.

    Example:
        >>> per_class_subset(np.array([0, 1, 0, 1, 2]), per_class=1, classes=[0, 1], seed=0).size
        2
    """
    y = check_rank("y", as_array("y", y), 1, "(one integer label per sample)")
    if y.dtype.kind not in "iu":
        raise TypeError(f"`y` must hold integer labels. Received: y with dtype={y.dtype}")
    per_class = check_int("per_class", per_class, minimum=1)
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    classes = (
        np.unique(y) if classes is None else check_rank("classes", as_array("classes", classes), 1)
    )
    if (
        classes.dtype.kind not in "iu"
        or len(np.unique(classes)) != len(classes)
        or len(classes) == 0
    ):
        raise ValueError(
            f"`classes` must be distinct integer labels. Received: classes={classes.tolist()}"
        )
    positions = [np.flatnonzero(y == c) for c in classes]
    smallest = min(len(p) for p in positions)
    if per_class > smallest:
        raise ValueError(
            f"`per_class` must be at most the size of the smallest class asked for ({smallest}). "
            f"Received: per_class={per_class}"
        )
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(p, size=per_class, replace=False) for p in positions]
    return np.sort(np.concatenate(chosen)).astype(np.int64)
