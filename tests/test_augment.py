"""Tests of nnlib.augment: the pipeline equals its Keras layers exactly, is seeded and is the identity
at inference; whole-pixel shifts by hand; the per-class subsets; every error names its argument."""

import keras
import numpy as np
import pytest

from nnlib.augment import image_augmentation, layer_seed, per_class_subset
from nnlib.repro import seed_everything

IMAGES = np.random.default_rng(0).integers(0, 17, size=(16, 8, 8, 1)).astype("float32") / 16.0


def test_pipeline_equals_the_keras_layers_built_with_the_same_seeds():
    """Value for value (tolerance 0): the builder adds nothing to Keras's layers."""
    ours = image_augmentation(
        translation=0.125, rotation=0.05, zoom=0.2, interpolation="bilinear", seed=3
    )
    common = {"fill_mode": "constant", "fill_value": 0.0, "interpolation": "bilinear"}
    twin = keras.Sequential(
        [
            keras.layers.RandomTranslation(0.125, 0.125, seed=layer_seed(3, 0), **common),
            keras.layers.RandomRotation(0.05, seed=layer_seed(3, 1), **common),
            keras.layers.RandomZoom(0.2, seed=layer_seed(3, 2), **common),
        ]
    )
    for _ in range(2):  # the second call checks that both generators advance alike
        np.testing.assert_array_equal(
            ours(IMAGES, training=True).numpy(), twin(IMAGES, training=True).numpy()
        )


def test_same_seed_same_images_other_seed_other_images_inference_is_identity():
    a = image_augmentation(seed=1)(IMAGES, training=True).numpy()
    seed_everything(123)  # the global generators do not matter: each layer has its own seed
    b = image_augmentation(seed=1)(IMAGES, training=True).numpy()
    c = image_augmentation(seed=2)(IMAGES, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(
        image_augmentation(seed=1)(IMAGES, training=False).numpy(), IMAGES
    )


def test_layers_seeds_and_factors():
    pipeline = image_augmentation(translation=0.25, rotation=0.0, zoom=0.1, seed=5)
    assert [type(l).__name__ for l in pipeline.layers] == ["RandomTranslation", "RandomZoom"]
    assert [l.seed for l in pipeline.layers] == [layer_seed(5, 0), layer_seed(5, 2)]
    assert pipeline.layers[0].height_factor == pipeline.layers[0].width_factor == 0.25
    assert image_augmentation(0.0, 0.0, 0.0).layers == []
    assert len({layer_seed(s, i) for s in range(4) for i in range(3)}) == 12  # no seed shared


def shifted(image, dy, dx):
    """``image`` (8, 8) moved down by dy and right by dx pixels, blank (0) where it came from outside."""
    out = np.zeros_like(image)
    out[max(dy, 0) : 8 + min(dy, 0), max(dx, 0) : 8 + min(dx, 0)] = image[
        max(-dy, 0) : 8 - max(dy, 0), max(-dx, 0) : 8 - max(dx, 0)
    ]
    return out


def test_nearest_translation_of_one_eighth_is_a_whole_pixel_shift():
    """By hand: with nearest interpolation an 8x8 image moves by -1, 0 or +1 pixel each way, and 200
    draws produce exactly the 9 shifted copies (grey levels unchanged)."""
    digit = IMAGES[0, :, :, 0]
    layer = image_augmentation(translation=0.125, rotation=0.0, zoom=0.0, seed=0)
    batch = np.repeat(IMAGES[:1], 200, axis=0)
    outputs = layer(batch, training=True).numpy()[:, :, :, 0]
    copies = {(dy, dx): shifted(digit, dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    matched = {next(k for k, v in copies.items() if np.array_equal(out, v)) for out in outputs}
    assert matched == set(copies)


def test_per_class_subset_counts_membership_and_seed():
    y = np.repeat(np.arange(5), [7, 3, 5, 9, 4])
    idx = per_class_subset(y, per_class=3, seed=0)
    assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(np.bincount(y[idx]), [3, 3, 3, 3, 3])
    np.testing.assert_array_equal(idx, per_class_subset(y, 3, seed=0))
    assert not np.array_equal(idx, per_class_subset(y, 3, seed=1))
    some = per_class_subset(y, per_class=2, classes=[3, 0], seed=4)
    assert sorted(set(y[some].tolist())) == [0, 3] and len(some) == 4
    np.testing.assert_array_equal(
        per_class_subset(y, per_class=3, classes=[1]), [7, 8, 9]
    )  # all of class 1


@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        ({"translation": 1.5}, ValueError, "translation"),
        ({"translation": "0.1"}, TypeError, "translation"),
        ({"rotation": -0.1}, ValueError, "rotation"),
        ({"zoom": 1.0}, ValueError, "zoom"),
        ({"interpolation": "cubic"}, ValueError, "interpolation"),
        ({"fill_mode": "mirror"}, ValueError, "fill_mode"),
        ({"fill_value": float("nan")}, ValueError, "fill_value"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"name": 3}, TypeError, "name"),
    ],
)
def test_image_augmentation_bad_input_names_the_argument(kwargs, exc, name):
    with pytest.raises(exc, match=rf"`{name}`.*Received: "):
        image_augmentation(**kwargs)


@pytest.mark.parametrize(
    "args, exc, name",
    [
        ((np.zeros((3, 2), int), 1), ValueError, "y"),
        ((np.array([0.0, 1.0]), 1), TypeError, "y"),
        ((np.array([0, 1]), 0), ValueError, "per_class"),
        ((np.array([0, 1, 1]), 2), ValueError, "per_class"),
        ((np.array([0, 1]), 1, [0, 0]), ValueError, "classes"),
        ((np.array([0, 1]), 1, [0.5]), ValueError, "classes"),
        ((np.array([0, 1]), 1, None, -3), ValueError, "seed"),
    ],
)
def test_per_class_subset_bad_input_names_the_argument(args, exc, name):
    with pytest.raises(exc, match=rf"`{name}`.*Received: "):
        per_class_subset(*args)


def test_layer_seed_bad_input():
    with pytest.raises(ValueError, match=r"`position`.*Received: "):
        layer_seed(0, -1)


def test_zoom_below_one_seventh_moves_no_pixel_of_an_8x8_image_with_nearest():
    """The docstring's geometry: a corner pixel sits 3.5 pixels from the centre, so a zoom by s moves
    it by 3.5 s pixels, less than half a pixel for s < 1/7; nearest interpolation then copies every pixel."""
    batch = np.repeat(IMAGES, 20, axis=0)
    small = image_augmentation(translation=0.0, rotation=0.0, zoom=0.14, seed=0)(
        batch, training=True
    ).numpy()
    large = image_augmentation(translation=0.0, rotation=0.0, zoom=0.2, seed=0)(
        batch, training=True
    ).numpy()
    np.testing.assert_array_equal(small, batch)
    assert not np.array_equal(large, batch)
