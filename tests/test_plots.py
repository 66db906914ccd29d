"""Tests of nnlib.plots: each figure renders under Agg with its title, labels and legend."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnlib import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _render(fig):
    fig.canvas.draw()  # really rasterize under Agg
    return fig


def test_plot_history_panels_labels_and_legend():
    fig = _render(plots.plot_history({"loss": [1.0, 0.5], "val_loss": [1.2, 0.8], "accuracy": [0.5, 0.9], "grad_norm/d": [1, 2]}))
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and loss_ax.get_xlabel() == "epoch" and acc_ax.get_ylabel() == "accuracy"
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["training loss", "validation loss"]
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2])  # epochs are 1-based
    assert fig._suptitle.get_text() == "Learning curves"
    with pytest.raises(ValueError, match=r"`metrics` must name keys of the history"):
        plots.plot_history({"loss": [1.0]}, metrics=["accuracy"])
    with pytest.raises(TypeError, match=r"`history` must be a keras History or a dict"):
        plots.plot_history([1, 2])


def test_plot_decision_boundary_for_a_known_linear_rule():
    x = np.array([[-1.0, 0.0], [1.0, 0.0], [-2.0, 1.0], [2.0, -1.0]])
    y = np.array([0, 1, 0, 1])
    fig = _render(plots.plot_decision_boundary(lambda p: p[:, :1], x, y, resolution=20))  # logit = x1
    ax = fig.axes[0]
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$" and ax.get_title() == "Decision boundary"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    with pytest.raises(ValueError, match=r"`x` must have 2 features to draw a plane. Received: x.shape=\(4, 3\)"):
        plots.plot_decision_boundary(lambda p: p, np.zeros((4, 3)), y)
    with pytest.raises(TypeError, match=r"`predict` must be callable"):
        plots.plot_decision_boundary("model", x, y)


def test_plot_function_and_grad_numerical_derivative():
    fig = _render(plots.plot_function_and_grad(np.square, x_range=(-1, 1), num=5, name="square"))
    ax = fig.axes[0]
    f_line, grad_line = ax.lines[:2]
    np.testing.assert_allclose(grad_line.get_ydata(), [-2.0, -1.0, 0.0, 1.0, 2.0], atol=1e-6)  # 2z
    assert ax.get_title() == "square and its derivative" and ax.get_xlabel() == "z"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["square(z)", "square'(z)"]
    with pytest.raises(ValueError, match=r"`x_range` must be \(low, high\) with low < high"):
        plots.plot_function_and_grad(np.tanh, x_range=(1, 1))


def test_plot_loss_surface_with_trajectories():
    paths = {"SGD": [[1.5, 1.5], [1.0, 0.5], [0.1, 0.1]], "Adam": np.array([[-1.5, 1.0], [0.0, 0.0]])}
    fig = _render(plots.plot_loss_surface(lambda a, b: a**2 + 3 * b**2, trajectories=paths, resolution=30, log_scale=True))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "$w_1$" and ax.get_ylabel() == "$w_2$" and ax.get_title() == "Loss surface"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam"]
    with pytest.raises(ValueError, match=r"Each trajectory must have shape \(steps, 2\). Received: trajectories\['bad'\].shape=\(3,\)"):
        plots.plot_loss_surface(lambda a, b: a + b, trajectories={"bad": [1, 2, 3]}, resolution=10)
    with pytest.raises(ValueError, match=r"`loss_fn` must return one value per grid point"):
        plots.plot_loss_surface(lambda a, b: 1.0, resolution=10)


def test_show_images_captions_and_flat_input():
    images = np.random.default_rng(0).random((5, 64))
    fig = _render(plots.show_images(images, labels=[0, 1, 2, 3, 4], predictions=[0, 1, 2, 3, 9], ncols=3))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:5] == ["0 / 0", "1 / 1", "2 / 2", "3 / 3", "4 / 9"] and len(fig.axes) == 6
    assert fig.axes[4].title.get_color() == "red" and fig.axes[0].title.get_color() == "black"
    named = plots.show_images(np.zeros((2, 4, 4, 1)), labels=[1, 0], class_names=["cat", "dog"])
    assert [ax.get_title() for ax in named.axes] == ["dog", "cat"]
    with pytest.raises(ValueError, match=r"Flat `images` must have a square number of pixels"):
        plots.show_images(np.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"`images` and `labels` must have the same number of samples"):
        plots.show_images(np.zeros((2, 4, 4)), labels=[1])


def test_confusion_matrix_counts_by_hand():
    fig = _render(plots.plot_confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0]))
    np.testing.assert_array_equal(fig.confusion_matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"
    assert ax.get_title() == "Confusion matrix"
    norm = plots.plot_confusion_matrix([0, 0, 1], [0, 1, 1], class_names=["a", "b"], normalize=True)
    np.testing.assert_allclose(norm.confusion_matrix, [[0.5, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 2\)"):
        plots.plot_confusion_matrix([0, 2], [0, 1], class_names=["a", "b"])
