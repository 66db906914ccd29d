r"""Figures the chapters reuse: learning curves, decision boundaries, functions and their
derivatives, loss surfaces with optimizer trajectories, image grids, confusion matrices — and the
book's figure style.

Serves parts 2–4 (every training chapter) and part 6. Each function draws with matplotlib,
sets a title, axis labels and (where there is more than one series) a legend, and returns the
``matplotlib.figure.Figure`` so a notebook can show, save or test it. Most accept ``ax=`` to draw
into an existing axes. Nothing here imports TensorFlow.

:func:`use_book_style` (applied by ``nnlib.repro.seed_everything``, so in every chapter) sets the
colour-blind-safe Okabe–Ito colour cycle and sizes figures and fonts so that figure text is at
least 10 CSS px tall on a page column 676 px wide; in a Jupyter kernel it also records each
figure's smallest font size and resolution in the PNG it displays, so that a test can check that
claim on every stored figure (:func:`figure_text_px`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nnlib._validation import (
    _short,
    as_array,
    as_float_array,
    check_bool,
    check_callable,
    check_finite,
    check_int,
    check_labels,
    check_number,
    check_rank,
    check_real_dtype,
    check_same_length,
    check_type,
)

__all__ = [
    "OKABE_ITO",
    "BOOK_STYLE",
    "use_book_style",
    "figure_text_px",
    "plot_history",
    "plot_decision_boundary",
    "plot_function_and_grad",
    "plot_loss_surface",
    "show_images",
    "plot_confusion_matrix",
]

#: The Okabe–Ito palette (Okabe & Ito, *Color Universal Design*, 2008): eight colours that stay
#: distinguishable under the common colour-vision deficiencies. Ordered for lines on white: the
#: darker, most distinct colours first, yellow (low contrast on white) last.
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "black": "#000000",
    "yellow": "#F0E442",
}

#: The book's page column (CSS px) and the smallest figure text it allows there (CSS px).
COLUMN_PX = 676
MIN_TEXT_PX = 10.0
_DPI = 100

#: rcParams of :func:`use_book_style`. At 100 dpi a figure 6.5 in wide is 650 px, shown 1:1 in the
#: 676-px column, so 1 pt of font is 100/72 = 1.39 CSS px and the smallest text (9 pt) is 12.5 px.
BOOK_STYLE: dict[str, Any] = {
    "figure.figsize": (6.5, 4.0),
    "figure.dpi": _DPI,
    "savefig.dpi": "figure",
    "figure.facecolor": "white",  # opaque: figures stay readable on the dark theme's background
    "savefig.facecolor": "white",
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.title_fontsize": 9.0,
    "figure.titlesize": 12.0,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",  # perceptually uniform and colour-blind safe
}

#: The PNG text chunk in which the book style records a figure's smallest font and its dpi.
PNG_KEY = "nnlib:figure"


def _cycle():
    from cycler import cycler

    return cycler(color=list(OKABE_ITO.values()))


def _smallest_font_pt(fig) -> float | None:
    """The smallest font size (pt) of the visible, non-empty texts of ``fig`` (None: no text)."""
    from matplotlib.text import Text

    fig.draw_without_rendering()  # creates the tick labels a draw would show
    sizes = [
        t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes) if sizes else None


def _book_png(fig) -> str | None:
    """IPython's PNG formatter for figures, plus a record of the smallest font and the dpi."""
    from IPython.core.pylabtools import print_figure

    if not fig.axes and not fig.lines:
        return None
    record = {"min_font_pt": _smallest_font_pt(fig), "dpi": float(fig.dpi)}
    return print_figure(fig, "png", base64=True, metadata={PNG_KEY: json.dumps(record)})


def use_book_style() -> dict[str, Any]:
    r"""Apply the book's figure style: Okabe–Ito colours, column-sized figures, readable fonts.

    Sets :data:`BOOK_STYLE` and the Okabe–Ito colour cycle in ``matplotlib.rcParams``. Inside an
    IPython kernel it also displays figures through a PNG formatter that works like IPython's
    (``bbox_inches="tight"``) and stores ``{"min_font_pt": ..., "dpi": ...}`` in the PNG's
    ``nnlib:figure`` text chunk, so the rendered size of the smallest text can be checked later:
    :math:`\text{px} = \text{pt} \cdot \text{dpi} / 72 \cdot \min(1, 676 / \text{width})`.
    Serves every chapter with a figure (chapter 2.1 onwards).

    Returns:
        The rcParams it set (a dict), so a test can assert them.

    Example:
        >>> style = use_book_style()
        >>> style["figure.dpi"]
        100
    """
    import matplotlib

    style = dict(BOOK_STYLE, **{"axes.prop_cycle": _cycle()})
    matplotlib.rcParams.update(style)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: rcParams only
        return style
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        plt.close(
            plt.figure()
        )  # loads the inline backend now: loading it later resets the formatters

        shell.display_formatter.formatters["image/png"].for_type(Figure, _book_png)
    return style


def figure_text_px(png: bytes, column_px: float = COLUMN_PX) -> float | None:
    r"""Height in CSS px of the smallest text of a PNG figure drawn under :func:`use_book_style`.

    A figure ``width`` px wide is shown 1:1 when it fits the column and scaled down to the column
    otherwise, so a font of ``pt`` points at ``dpi`` is
    :math:`\text{pt} \cdot \text{dpi} / 72 \cdot \min(1, \text{column} / \text{width})` CSS px.

    Args:
        png: the PNG file's bytes (a notebook stores them base64-encoded: decode first).
        column_px: the width of the page column in CSS px.

    Returns:
        The height in CSS px, or ``None`` for a figure without text.

    Raises:
        ValueError: the PNG has no ``nnlib:figure`` record (it was not drawn under the book style).
    """
    import io

    from PIL import Image

    column_px = check_number("column_px", column_px)
    image = Image.open(io.BytesIO(png))
    if PNG_KEY not in getattr(image, "text", {}):
        raise ValueError(
            f"`png` must carry the `{PNG_KEY}` record that nnlib.plots.use_book_style writes. "
            f"Received: a {image.width}x{image.height} PNG without it (drawn without the book style)"
        )
    record = json.loads(image.text[PNG_KEY])
    if record["min_font_pt"] is None:
        return None
    return record["min_font_pt"] * record["dpi"] / 72 * min(1.0, column_px / image.width)


#: The most classes a figure draws (colours, legend entries and matrix cells stay readable).
MAX_CLASSES = 100


def _labels(name: str, values: Any, num_classes: int = MAX_CLASSES) -> np.ndarray:
    """Integer class labels in ``[0, num_classes)``, flattened to shape ``(n,)``."""
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(
            f"`{name}` must be an array of integer class labels. Received: {name}={_short(values)}"
        )
    return check_labels(name, values, num_classes).ravel()


def _range(name: str, value: Any) -> tuple[float, float]:
    """A window ``(low, high)`` of finite numbers with ``low < high`` and a finite width."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, np.ndarray)):
        raise TypeError(
            f"`{name}` must be a pair (low, high) of numbers. Received: {name}={_short(value)}"
        )
    if len(value) != 2:
        raise ValueError(
            f"`{name}` must be (low, high) with low < high. Received: {name}={_short(value)}"
        )
    low, high = check_number(name, value[0]), check_number(name, value[1])
    if not (low < high and np.isfinite(high - low)):
        raise ValueError(f"`{name}` must be (low, high) with low < high. Received: {name}={value}")
    return low, high


def _values(name: str, values: Any, shape: tuple) -> np.ndarray:
    """What a user function returned: numbers of the expected shape."""
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(f"`{name}` must be an array of numbers. Received: {name}={_short(values)}")
    values = check_real_dtype(name, as_array(name, values)).astype(float)
    if values.shape != shape:
        raise ValueError(
            f"`{name}` must return one value per point, shape {shape} (elementwise). "
            f"Received: {name}.shape={values.shape}"
        )
    return values


def _series(name: str, values: Any) -> np.ndarray:
    """A per-epoch series: a 1-D array of numbers."""
    if values is None or isinstance(values, (str, bytes)) or as_array(name, values).ndim == 0:
        raise TypeError(
            f"`{name}` must be a list of per-epoch numbers. Received: {name}={_short(values)}"
        )
    return check_rank(name, as_float_array(name, values), 1)


def _class_names(class_names: Any) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, (str, bytes)) or not isinstance(
        class_names, (list, tuple, np.ndarray)
    ):
        raise TypeError(
            f"`class_names` must be a list of names. Received: class_names={_short(class_names)}"
        )
    return [str(c) for c in class_names]


def _axes(ax, figsize=None):
    """A new figure and axes (``figsize`` default: rcParams, the column width under the book style)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _width() -> float:
    """The default figure width in inches (the column under :func:`use_book_style`)."""
    import matplotlib

    return float(matplotlib.rcParams["figure.figsize"][0])


def plot_history(
    history: Any, metrics: Sequence[str] | None = None, title: str = "Learning curves"
):
    r"""Per-epoch training and validation curves, one panel per metric.

    Args:
        history: a ``keras.callbacks.History`` (from ``Trainer.fit`` or ``Model.fit``) or its
            ``history`` dict ``{"loss": [...], "val_loss": [...], ...}``.
        metrics: which base names to plot (e.g. ``["loss", "accuracy"]``); default: every key
            that does not start with ``val_`` or ``grad_norm/``.
        title: the figure title.

    Returns:
        A ``Figure`` with one axes per metric: x = epoch (1-based), solid = training,
        dashed = validation.

    Example:
        >>> fig = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
    """
    import matplotlib.pyplot as plt

    logs = getattr(history, "history", history)
    check_type("history", logs, Mapping, "a keras History or a dict of per-epoch lists")
    if metrics is None:
        metrics = [k for k in logs if not str(k).startswith(("val_", "grad_norm/"))]
    if isinstance(metrics, (str, bytes)) or not isinstance(metrics, (list, tuple)):
        raise TypeError(
            f"`metrics` must be a list of history keys. Received: metrics={_short(metrics)}"
        )
    if not metrics or any(m not in logs for m in metrics):
        raise ValueError(
            f"`metrics` must name keys of the history. Received: metrics={list(metrics)}, "
            f"keys={list(logs)}"
        )
    for name in metrics:
        series = [name] + ([f"val_{name}"] if f"val_{name}" in logs else [])
        lengths = {_series(f"history[{k!r}]", logs[k]).size for k in series}
        if len(lengths) > 1:
            raise ValueError(
                f"`history[{f'val_{name}'!r}]` must have one value per epoch, like history[{name!r}]. "
                f"Received: lengths {len(logs[name])} and {len(logs[f'val_{name}'])}"
            )
    fig, axes = plt.subplots(1, len(metrics), figsize=(_width(), 3.2), squeeze=False)
    for ax, name in zip(axes[0], metrics):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], "-o", ms=3, label=f"training {name}")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], "--o", ms=3, label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_decision_boundary(
    predict: Callable[[np.ndarray], Any],
    x: Any,
    y: Any,
    resolution: int = 200,
    title: str = "Decision boundary",
    ax: Any = None,
):
    r"""Colour the plane by the predicted class and scatter the data on top.

    The class at a grid point :math:`p` is :math:`\arg\max_k f(p)_k`, or :math:`[f(p) > t]` for a
    single output, with :math:`t = 0.5` if all outputs lie in :math:`[0, 1]` (probabilities) and
    :math:`t = 0` otherwise (logits).

    Args:
        predict: ``f(points) -> outputs`` for points of shape ``(m, 2)``, e.g. a Keras model,
            ``trainer.predict`` or a NumPy network's ``forward``; outputs ``(m, k)`` or ``(m,)``.
        x: 2-D features, shape ``(n, 2)``.
        y: integer labels, shape ``(n,)``.
        resolution: grid points per axis, ``>= 10``.
        title: axes title.
        ax: draw here instead of a new figure.

    Returns:
        The ``Figure``; axes labelled :math:`x_1`, :math:`x_2`, legend = classes.
    """
    x = check_finite("x", check_rank("x", as_float_array("x", x), 2))
    if x.shape[1] != 2:
        raise ValueError(f"`x` must have 2 features to draw a plane. Received: x.shape={x.shape}")
    y = _labels("y", y)
    check_same_length("x", x, "y", y)
    resolution = check_int("resolution", resolution, minimum=10)
    if not callable(predict):
        raise TypeError(
            f"`predict` must be callable (points -> outputs). Received: predict={predict!r}"
        )
    pad = 0.5
    (x0, y0), (x1, y1) = x.min(axis=0) - pad, x.max(axis=0) + pad
    g1, g2 = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.c_[g1.ravel(), g2.ravel()].astype(np.float32)  # (resolution^2, 2)
    out = predict(grid)
    if out is None or isinstance(out, (str, bytes)):
        raise TypeError(
            f"`predict` must return an array of outputs. Received: predict(points)={_short(out)}"
        )
    out = check_finite(
        "predict(points)", check_real_dtype("predict(points)", as_array("predict(points)", out))
    )
    if out.ndim not in (1, 2) or len(out) != len(grid):
        raise ValueError(
            f"`predict` must return one output row per point, shape ({len(grid)},) or ({len(grid)}, k). "
            f"Received: predict(points).shape={out.shape}"
        )
    if out.ndim == 2 and out.shape[1] > 1:
        z = out.argmax(axis=1)
    else:
        out = out.ravel()
        z = (out > (0.5 if out.min() >= 0 and out.max() <= 1 else 0.0)).astype(int)
    fig, ax = _axes(ax)
    k_max = int(max(y.max(), z.max()))
    # regions and points in the colours of the active cycle (Okabe–Ito under the book style)
    ax.contourf(
        g1,
        g2,
        z.reshape(g1.shape),
        levels=np.arange(k_max + 2) - 0.5,
        colors=[f"C{k}" for k in range(k_max + 1)],
        alpha=0.25,
    )
    for k in np.unique(y):
        ax.scatter(
            *x[y == k].T, s=14, color=f"C{k}", edgecolor="k", linewidth=0.3, label=f"class {k}"
        )
    ax.set_xlabel(r"$x_1$")
    ax.set_ylabel(r"$x_2$")
    ax.set_title(title)
    ax.legend(loc="best")
    return fig


def plot_function_and_grad(
    f: Callable[[np.ndarray], np.ndarray],
    grad_f: Callable[[np.ndarray], np.ndarray] | None = None,
    x_range: tuple[float, float] = (-5.0, 5.0),
    num: int = 401,
    name: str = "f",
    title: str | None = None,
    ax: Any = None,
):
    r"""Plot :math:`f(z)` and its derivative :math:`f'(z)` on one axes (activations, losses).

    Without ``grad_f`` the derivative is the central difference
    :math:`f'(z) \approx \frac{f(z+h) - f(z-h)}{2h}`, :math:`h = 10^{-5}`.

    Args:
        f: elementwise function of a float64 array.
        grad_f: its derivative, or ``None`` for the numerical one.
        x_range: ``(low, high)`` interval of :math:`z`, ``low < high``.
        num: number of sample points, ``>= 2``.
        name: the function's name in labels and legend (e.g. ``"sigmoid"``).
        title: axes title (default ``"<name> and its derivative"``).
        ax: draw here instead of a new figure.

    Returns:
        The ``Figure``; x label :math:`z`, legend :math:`f(z)` and :math:`f'(z)`.
    """
    check_callable("f", f, "an elementwise function of an array")
    if grad_f is not None:
        check_callable("grad_f", grad_f, "an elementwise function of an array, or None")
    num = check_int("num", num, minimum=2)
    low, high = _range("x_range", x_range)
    z = np.linspace(low, high, num)
    a = _values("f(z)", f(z), z.shape)
    if grad_f is None:
        h = 1e-5
        da = (_values("f(z)", f(z + h), z.shape) - _values("f(z)", f(z - h), z.shape)) / (2 * h)
    else:
        da = _values("grad_f(z)", grad_f(z), z.shape)
    fig, ax = _axes(ax)
    ax.plot(z, a, label=f"{name}(z)")
    ax.plot(z, da, "--", label=f"{name}'(z)")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_xlabel("z")
    ax.set_ylabel("value")
    ax.set_title(title or f"{name} and its derivative")
    ax.legend()
    return fig


def plot_loss_surface(
    loss_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x_range: tuple[float, float] = (-2.0, 2.0),
    y_range: tuple[float, float] = (-2.0, 2.0),
    trajectories: Mapping[str, Any] | None = None,
    resolution: int = 200,
    levels: int | Sequence[float] = 30,
    log_scale: bool = False,
    title: str = "Loss surface",
    ax: Any = None,
    colorbar: bool = True,
):
    r"""Contour lines of a loss :math:`L(w_1, w_2)` with optimizer paths drawn on top.

    Args:
        loss_fn: ``L(W1, W2)`` evaluated elementwise on two meshgrid arrays.
        x_range, y_range: the window in :math:`w_1` and :math:`w_2`.
        trajectories: ``{"SGD": path, "Adam": path, ...}``, each path of shape ``(steps, 2)``
            (the parameters after each step); start marked ``o``, end marked ``*``.
        resolution: grid points per axis, ``>= 10``.
        levels: number of contour levels, or the increasing loss values to draw them at (e.g.
            ``np.geomspace(1e-3, 60, 14)`` for a valley spanning many orders of magnitude).
        log_scale: contour :math:`\log_{10}(L - \min L + 10^{-12})` to see narrow valleys.
        title: axes title.
        ax: draw here instead of a new figure.
        colorbar: add a colour bar of the contour levels (leave it out in a grid of small panels).

    Returns:
        The ``Figure``; grey contour lines (darker = higher loss) so that the trajectories, in the
        colours of the cycle, stand out; axes labelled :math:`w_1`, :math:`w_2`, one legend entry
        per trajectory.
    """
    resolution = check_int("resolution", resolution, minimum=10)
    levels = _levels(levels)
    log_scale = check_bool("log_scale", log_scale)
    colorbar = check_bool("colorbar", colorbar)
    paths = _paths(trajectories)
    w1, w2, surface = _loss_grid(
        loss_fn, _range("x_range", x_range), _range("y_range", y_range), resolution
    )
    if log_scale:
        surface = np.log10(surface - surface.min() + 1e-12)
    import matplotlib

    fig, ax = _axes(ax)
    greys = matplotlib.colors.ListedColormap(
        matplotlib.colormaps["Greys"](np.linspace(0.3, 0.75, 256))
    )
    if np.isscalar(levels):
        contour = ax.contour(w1, w2, surface, levels=levels, cmap=greys, linewidths=0.7)
    else:  # given levels (often log-spaced): shade by rank, so each line gets its own grey
        shades = [greys(v) for v in np.linspace(0, 1, len(levels))]
        contour = ax.contour(w1, w2, surface, levels=levels, colors=shades, linewidths=0.7)
    if colorbar:
        fig.colorbar(contour, ax=ax, label="log10 loss" if log_scale else "loss")
    for i, (name, path) in enumerate(paths.items()):
        ax.plot(path[:, 0], path[:, 1], "-", color=f"C{i}", lw=1.5, label=name)
        ax.plot(*path[0], "o", color=f"C{i}", ms=5)
        ax.plot(*path[-1], "*", color=f"C{i}", ms=10)
    ax.set_xlabel(r"$w_1$")
    ax.set_ylabel(r"$w_2$")
    ax.set_title(title)
    if paths:
        ax.legend()
    return fig


def _levels(levels: Any) -> int | np.ndarray:
    """A number of contour levels (``>= 1``) or at least two increasing level values."""
    if isinstance(levels, (list, tuple, np.ndarray)):
        levels = check_finite("levels", check_rank("levels", as_float_array("levels", levels), 1))
        if len(levels) < 2 or np.any(np.diff(levels) <= 0):
            raise ValueError(
                f"`levels` must be at least 2 increasing values. Received: levels={_short(levels)}"
            )
        return levels
    return check_int("levels", levels, minimum=1)


def _paths(trajectories: Any) -> dict[str, np.ndarray]:
    """``{name: path}`` with every path of shape ``(steps, 2)``, checked before anything is drawn."""
    if trajectories is None:
        return {}
    check_type("trajectories", trajectories, Mapping, 'a dict {"name": path of shape (steps, 2)}')
    paths = {}
    for name, path in trajectories.items():
        path = as_float_array(f"trajectories[{name!r}]", path)
        if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
            raise ValueError(
                f"Each trajectory must have shape (steps, 2). Received: trajectories[{name!r}].shape={path.shape}"
            )
        paths[name] = path
    return paths


def _loss_grid(
    loss_fn: Any, x_range: tuple[float, float], y_range: tuple[float, float], resolution: int
):
    """``(W1, W2, L(W1, W2))`` on a ``resolution`` x ``resolution`` grid, ``L`` checked to be finite."""
    check_callable("loss_fn", loss_fn, "a function L(W1, W2) of two arrays")
    try:
        inspect.signature(loss_fn).bind(0.0, 0.0)
    except TypeError:
        raise TypeError(
            f"`loss_fn` must take two arrays, L(W1, W2). Received: loss_fn with signature {inspect.signature(loss_fn)}"
        ) from None
    except ValueError:  # no signature available (some built-ins): trust it
        pass
    w1, w2 = np.meshgrid(np.linspace(*x_range, resolution), np.linspace(*y_range, resolution))
    surface = loss_fn(w1, w2)
    if surface is None or isinstance(surface, (str, bytes)):
        raise TypeError(
            f"`loss_fn` must return an array of numbers. Received: loss_fn(W1, W2)={_short(surface)}"
        )
    surface = check_real_dtype("loss_fn(W1, W2)", as_array("loss_fn(W1, W2)", surface)).astype(
        float
    )
    if surface.shape != w1.shape:
        raise ValueError(
            "`loss_fn` must return one value per grid point (elementwise on meshgrid arrays). "
            f"Received: output shape={surface.shape}, expected {w1.shape}"
        )
    return w1, w2, check_finite("loss_fn(W1, W2)", surface)


def _image_stack(images: Any) -> np.ndarray:
    """``images`` as ``(n, h, w)`` (grey) or ``(n, h, w, 3|4)``; flat square images are reshaped."""
    images = check_finite("images", as_float_array("images", images))
    if images.ndim >= 1 and len(images) == 0:
        raise ValueError(
            f"`images` must hold at least one image. Received: images.shape={images.shape}"
        )
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(
                f"Flat `images` must have a square number of pixels. Received: images.shape={images.shape}"
            )
        images = images.reshape(-1, side, side)
    check_rank("images", images, (3, 4))
    if images.ndim == 4 and images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            "`images` must have 1 (grey), 3 (RGB) or 4 (RGBA) channels in the last axis. "
            f"Received: images.shape={images.shape}"
        )
    return images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images


def _check_captions(name: str, seq: Any, images: np.ndarray, class_names: list[str] | None) -> None:
    """``labels``/``predictions``: one per image, each an index into ``class_names`` when given."""
    if seq is None:
        return
    if isinstance(seq, (str, bytes)) or np.ndim(seq) != 1:
        raise TypeError(
            f"`{name}` must be a sequence with one label per image. Received: {name}={_short(seq)}"
        )
    check_same_length("images", images, name, seq)
    if class_names is not None and len(seq) and _labels(name, seq).max() >= len(class_names):
        raise ValueError(
            f"`{name}` must index `class_names` ({len(class_names)} names). "
            f"Received: {name} with max={_labels(name, seq).max()}"
        )


def show_images(
    images: Any,
    labels: Sequence[Any] | None = None,
    predictions: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str = "Images",
    cmap: str = "gray_r",
):
    r"""A grid of images, each captioned with its label (and prediction, red when wrong).

    Args:
        images: shape ``(n, h, w)``, ``(n, h, w, 1)``, ``(n, h, w, 3)`` or flat ``(n, h*w)``
            with a square ``h = w`` (e.g. 64 -> 8x8 digits).
        labels: true labels, length ``n``.
        predictions: predicted labels, length ``n``.
        class_names: names indexed by label.
        ncols: images per row, ``>= 1``.
        title: the figure title.
        cmap: colormap for grey images.

    Returns:
        The ``Figure`` (axes without ticks; captions ``"label"`` or ``"label / pred"``).
    """
    import matplotlib.pyplot as plt

    images = _image_stack(images)
    n = len(images)
    ncols = check_int("ncols", ncols, minimum=1)
    class_names = _class_names(class_names)
    import matplotlib

    named = isinstance(cmap, str) and cmap in matplotlib.colormaps
    if not (cmap is None or named or isinstance(cmap, matplotlib.colors.Colormap)):
        raise ValueError(
            f"`cmap` must be a matplotlib colormap name such as 'gray_r'. Received: cmap={_short(cmap)}"
        )
    for name, seq in (("labels", labels), ("predictions", predictions)):
        _check_captions(name, seq, images, class_names)
    cols = min(ncols, n)
    rows = int(np.ceil(n / cols))
    cell = min(1.3, _width() / cols)  # inches per image: the whole grid fits the column
    fig, axes = plt.subplots(
        rows, cols, figsize=(cell * cols, (cell + 0.3) * rows + 0.4), squeeze=False
    )
    name = (lambda k: class_names[int(k)]) if class_names is not None else str
    for i, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(images[i], cmap=cmap if images.ndim == 3 else None)
        caption = name(labels[i]) if labels is not None else ""
        wrong = False
        if predictions is not None:
            caption = (
                f"{caption} / {name(predictions[i])}"
                if labels is not None
                else name(predictions[i])
            )
            wrong = labels is not None and predictions[i] != labels[i]
        ax.set_title(caption, fontsize=9, color=OKABE_ITO["vermillion"] if wrong else "black")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    title: str = "Confusion matrix",
    ax: Any = None,
):
    r"""The confusion matrix :math:`C_{ij} = |\{n : y_n = i,\ \hat y_n = j\}|` as a heat map.

    Args:
        y_true: true integer labels ``(n,)``.
        y_pred: predicted integer labels ``(n,)`` (take ``argmax`` of scores first).
        class_names: tick labels; default ``0..K-1``.
        normalize: divide each row by its sum (per-class recall on the diagonal).
        title: axes title.
        ax: draw here instead of a new figure.

    Returns:
        The ``Figure``; x label "predicted label", y label "true label", counts in the cells.
        The matrix itself is attached as ``fig.confusion_matrix``.
    """
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    check_same_length("y_true", y_true, "y_pred", y_pred)
    if len(y_true) == 0:
        raise ValueError("`y_true` must hold at least one label. Received: y_true of length 0")
    class_names = _class_names(class_names)
    normalize = check_bool("normalize", normalize)
    k = int(max(y_true.max(), y_pred.max()) + 1) if class_names is None else len(class_names)
    if y_true.min() < 0 or y_pred.min() < 0 or max(y_true.max(), y_pred.max()) >= k:
        raise ValueError(
            f"Labels must lie in [0, {k}) (one per class name in `class_names`). Received: y_true in "
            f"[{y_true.min()}, {y_true.max()}], y_pred in [{y_pred.min()}, {y_pred.max()}]"
        )
    cm = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k).astype(float)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    side = min(0.5 * k + 2.5, _width())
    fig, ax = _axes(ax, figsize=(side, side - 0.5))
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, label="fraction of the true class" if normalize else "count")
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45 if class_names is not None else 0)
    ax.set_yticks(range(k), names)
    for i in range(k):
        for j in range(k):
            text = f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if cm[i, j] > cm.max() / 2 else "black",
            )
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title)
    fig.confusion_matrix = cm
    return fig
