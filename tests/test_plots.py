"""Tests of nnlib.plots: each figure renders under Agg with its title, labels and legend; the book
style sets colour-blind-safe colours and fonts that stay >= 10 CSS px in the 676-px column."""

import base64
import io
import json
import subprocess
import sys
import textwrap

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from nnlib import plots


@pytest.fixture(autouse=True)
def _restore_rcparams():
    with matplotlib.rc_context():  # use_book_style changes rcParams: undo after each test
        yield


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _render(fig):
    fig.canvas.draw()  # really rasterize under Agg
    return fig


def test_plot_history_panels_labels_and_legend():
    fig = _render(
        plots.plot_history(
            {
                "loss": [1.0, 0.5],
                "val_loss": [1.2, 0.8],
                "accuracy": [0.5, 0.9],
                "grad_norm/d": [1, 2],
            }
        )
    )
    loss_ax, acc_ax = fig.axes
    assert (
        loss_ax.get_title() == "loss"
        and loss_ax.get_xlabel() == "epoch"
        and acc_ax.get_ylabel() == "accuracy"
    )
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == [
        "training loss",
        "validation loss",
    ]
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2])  # epochs are 1-based
    assert fig._suptitle.get_text() == "Learning curves"
    with pytest.raises(ValueError, match=r"`metrics` must name keys of the history"):
        plots.plot_history({"loss": [1.0]}, metrics=["accuracy"])
    with pytest.raises(TypeError, match=r"`history` must be a keras History or a dict"):
        plots.plot_history([1, 2])


def test_plot_decision_boundary_for_a_known_linear_rule():
    x = np.array([[-1.0, 0.0], [1.0, 0.0], [-2.0, 1.0], [2.0, -1.0]])
    y = np.array([0, 1, 0, 1])
    fig = _render(
        plots.plot_decision_boundary(lambda p: p[:, :1], x, y, resolution=20)
    )  # logit = x1
    ax = fig.axes[0]
    assert (
        ax.get_xlabel() == "$x_1$"
        and ax.get_ylabel() == "$x_2$"
        and ax.get_title() == "Decision boundary"
    )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    with pytest.raises(
        ValueError, match=r"`x` must have 2 features to draw a plane. Received: x.shape=\(4, 3\)"
    ):
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
    paths = {
        "SGD": [[1.5, 1.5], [1.0, 0.5], [0.1, 0.1]],
        "Adam": np.array([[-1.5, 1.0], [0.0, 0.0]]),
    }
    fig = _render(
        plots.plot_loss_surface(
            lambda a, b: a**2 + 3 * b**2, trajectories=paths, resolution=30, log_scale=True
        )
    )
    ax = fig.axes[0]
    assert (
        ax.get_xlabel() == "$w_1$"
        and ax.get_ylabel() == "$w_2$"
        and ax.get_title() == "Loss surface"
    )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam"]
    with pytest.raises(
        ValueError,
        match=r"Each trajectory must have shape \(steps, 2\). Received: trajectories\['bad'\].shape=\(3,\)",
    ):
        plots.plot_loss_surface(lambda a, b: a + b, trajectories={"bad": [1, 2, 3]}, resolution=10)
    with pytest.raises(ValueError, match=r"`loss_fn` must return one value per grid point"):
        plots.plot_loss_surface(lambda a, b: 1.0, resolution=10)


def test_plot_loss_surface_given_levels_and_no_colorbar():
    levels = np.geomspace(1e-2, 10, 7)
    fig = _render(
        plots.plot_loss_surface(
            lambda a, b: a**2 + b**2, resolution=20, levels=levels, colorbar=False
        )
    )
    assert len(fig.axes) == 1  # no colour-bar axes
    contour = next(
        c for c in fig.axes[0].get_children() if isinstance(c, matplotlib.contour.ContourSet)
    )
    np.testing.assert_allclose(contour.levels, levels)
    greys = {tuple(np.round(c, 6)) for c in contour.get_edgecolor()}
    assert len(greys) == 7 and all(r == g == b for r, g, b, _ in greys)  # one grey per level
    with pytest.raises(ValueError, match=r"`levels` must be at least 2 increasing values"):
        plots.plot_loss_surface(lambda a, b: a + b, resolution=10, levels=[1.0, 0.5])
    with pytest.raises(TypeError, match=r"`colorbar` must be a bool"):
        plots.plot_loss_surface(lambda a, b: a + b, resolution=10, colorbar="no")


def test_show_images_captions_and_flat_input():
    images = np.random.default_rng(0).random((5, 64))
    fig = _render(
        plots.show_images(images, labels=[0, 1, 2, 3, 4], predictions=[0, 1, 2, 3, 9], ncols=3)
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:5] == ["0 / 0", "1 / 1", "2 / 2", "3 / 3", "4 / 9"] and len(fig.axes) == 6
    assert (
        fig.axes[4].title.get_color() == plots.OKABE_ITO["vermillion"]
        and fig.axes[0].title.get_color() == "black"
    )
    named = plots.show_images(np.zeros((2, 4, 4, 1)), labels=[1, 0], class_names=["cat", "dog"])
    assert [ax.get_title() for ax in named.axes] == ["dog", "cat"]
    with pytest.raises(ValueError, match=r"Flat `images` must have a square number of pixels"):
        plots.show_images(np.zeros((2, 10)))
    with pytest.raises(
        ValueError, match=r"`images` and `labels` must have the same number of samples"
    ):
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


# ----------------------------------------------------------------------------- the book style


def test_book_style_is_okabe_ito_and_sized_for_the_column():
    style = plots.use_book_style()
    colours = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert colours == list(plots.OKABE_ITO.values()) and len(set(colours)) == 8
    assert {c.upper() for c in colours} == {
        "#E69F00",
        "#56B4E9",
        "#009E73",
        "#F0E442",
        "#0072B2",
        "#D55E00",
        "#CC79A7",
        "#000000",
    }  # Okabe & Ito (2008), all eight
    width_px = matplotlib.rcParams["figure.figsize"][0] * matplotlib.rcParams["figure.dpi"]
    assert width_px <= plots.COLUMN_PX, "a default figure is shown 1:1 in the column"
    smallest_pt = min(
        style[k]
        for k in style
        if k.endswith(("size", "labelsize", "fontsize")) and k != "figure.figsize"
    )
    assert smallest_pt == 9.0 and smallest_pt * style["figure.dpi"] / 72 >= plots.MIN_TEXT_PX
    assert matplotlib.rcParams["figure.facecolor"] in (
        "white",
        (1.0, 1.0, 1.0, 1.0),
    )  # opaque for dark mode


def _png(fig) -> bytes:
    return base64.b64decode(plots._book_png(fig))


def test_figure_text_px_from_the_png_record():
    plots.use_book_style()
    fig, ax = plt.subplots()  # the default size: shown 1:1
    ax.plot([0, 1])
    ax.legend(["a line"], fontsize=8)
    png = _png(fig)
    record = json.loads(Image.open(io.BytesIO(png)).text[plots.PNG_KEY])
    assert record == {"min_font_pt": 8.0, "dpi": 100.0}
    assert Image.open(io.BytesIO(png)).width <= plots.COLUMN_PX
    assert plots.figure_text_px(png) == pytest.approx(8 * 100 / 72)  # 11.1 px
    wide, ax = plt.subplots(figsize=(13.52, 3))  # twice the column: shown at half size
    ax.plot([0, 1])
    png = _png(wide)
    width = Image.open(io.BytesIO(png)).width
    assert width > plots.COLUMN_PX
    assert plots.figure_text_px(png) == pytest.approx(
        9 * 100 / 72 * plots.COLUMN_PX / width
    )  # about 6.3 px
    assert plots.figure_text_px(png) < plots.MIN_TEXT_PX
    assert plots.figure_text_px(png, column_px=2 * width) == pytest.approx(12.5)


def test_figure_text_px_rejects_a_png_without_the_record():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    with pytest.raises(
        ValueError, match=r"`png` must carry the `nnlib:figure` record .* Received: a \d+x\d+ PNG"
    ):
        plots.figure_text_px(buffer.getvalue())


def test_plot_decision_boundary_uses_the_colour_cycle():
    plots.use_book_style()
    x = np.array([[-1.0, 0.0], [1.0, 0.0], [-2.0, 1.0], [2.0, -1.0]])
    fig = _render(
        plots.plot_decision_boundary(lambda p: p[:, :1], x, np.array([0, 1, 0, 1]), resolution=20)
    )
    points = [
        c for c in fig.axes[0].collections if isinstance(c, matplotlib.collections.PathCollection)
    ]
    assert [matplotlib.colors.to_hex(p.get_facecolor()[0]) for p in points] == [
        plots.OKABE_ITO["blue"].lower(),
        plots.OKABE_ITO["vermillion"].lower(),
    ]


KERNEL = textwrap.dedent("""
    import base64, io, json, sys
    import nbformat
    from nbclient import NotebookClient
    from PIL import Image
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from nnlib.plots import use_book_style\\nuse_book_style();"),
                nbformat.v4.new_code_cell(
                    "import matplotlib.pyplot as plt\\nplt.plot([0, 1]); plt.title('t'); plt.show()"
                ),
                nbformat.v4.new_code_cell("%matplotlib inline\\nplt.plot([0, 1])")]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    pngs = [o["data"]["image/png"] for c in nb.cells for o in c.outputs if "image/png" in o.get("data", {})]
    print(json.dumps([Image.open(io.BytesIO(base64.b64decode(p))).text.get("nnlib:figure") for p in pngs]))
""")


@pytest.mark.slow
def test_a_kernel_displays_figures_with_the_record():
    # The inline backend resets IPython's figure formatters when it loads; the style must survive
    # that, and a later `%matplotlib inline`.
    out = subprocess.run(
        [sys.executable, "-c", KERNEL], capture_output=True, text=True, timeout=300, check=True
    )
    records = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(records) == 2 and all(
        json.loads(r) == {"min_font_pt": 9.0, "dpi": 100.0} for r in records
    ), records


@pytest.mark.slow
def test_seed_everything_applies_the_book_style():
    from nnlib.repro import seed_everything

    matplotlib.rcdefaults()
    seed_everything(0, figures=False)
    assert matplotlib.rcParams["xtick.labelsize"] == "medium"  # matplotlib's default, untouched
    assert [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]][0] != plots.OKABE_ITO[
        "blue"
    ]
    seed_everything(0)
    assert [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]] == list(
        plots.OKABE_ITO.values()
    )
    with pytest.raises(TypeError, match=r"`figures` must be a bool. Received: figures='yes'"):
        seed_everything(0, figures="yes")
