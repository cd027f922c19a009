"""Slider panels: a drawing function (slider values in, a figure out) and a ``*_panel`` wiring sliders to it,
retraining (``training.train_linear_ae``) and redrawing when one moves. Also two players of ready pictures."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from functools import partial

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from . import checks
from .plots import plot_losses
from .theory import eckart_young_floor, max_stable_lr
from .training import train_linear_ae

# name: (minimum, maximum, default) of notebook 01's sliders, and of notebook 02's beside hidden_size_limits.
SLIDERS = {"lr": (1e-3, 10.0, 0.01), "steps": (10, 5000, 1000), "seed": (0, 20, 0)}
SIZE_SLIDERS = {"lr": (1e-3, 1.0, 0.01)}
_DESCRIPTIONS = {"lr": "learning rate", "steps": "steps", "seed": "seed", "hidden": "hidden units"}


def draw_linear_ae_run(x: torch.Tensor, lr: float, steps: int, seed: int, k: int = 1, *, limit=None, floor=None):
    """Retrain the linear autoencoder with these slider values and draw its loss curve with the
    Eckart-Young ``floor``; the title gives ``limit``, the learning rate above which no minimum is
    stable. Both are computed from ``x`` when not given. Returns the figure."""
    floor = eckart_young_floor(x, k) if floor is None else checks.number("floor", floor)
    limit = max_stable_lr(x, k) if limit is None else checks.number("limit", limit)
    if limit <= 0 or floor < 0:
        raise ValueError(f"limit must be a positive learning rate and floor at least 0, got {limit} and {floor}")
    ax, verdict = _draw_run(x, lr, steps, seed, k, f"seed {seed}", floor)
    ax.set_title(f"lr = {lr:.3g} (no stable minimum above {limit:.3g}): {verdict}")
    return ax.figure


def _draw_run(x: torch.Tensor, lr: float, steps: int, seed: int, k: int, label: str, floor: float | None):
    """Train a slider run, draw it (and a red line where it diverged); return the Axes and a verdict."""
    history, diverged_at = train_linear_ae(x, lr, steps, seed, k)
    fig, ax = plt.subplots(figsize=(7, 4))
    if history.losses:
        plot_losses(history, [label], floor=floor, log=True, ax=ax)
    ax.set_xlim(0, steps)
    if diverged_at:
        ax.axvline(diverged_at, color="red", linewidth=1)
        return ax, f"diverged at step {diverged_at}"
    return ax, f"final loss {history.final_loss:.4g}"


def figure_output(fig) -> dict:
    """A Matplotlib figure as one Jupyter display output (a PNG), closing the figure. Panels put it
    straight into their ``Output`` widget: the picture travels with the widget's state."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    plt.close(fig)
    width, height = fig.get_size_inches() * fig.dpi
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    text = f"<Figure size {width:.0f}x{height:.0f} with {len(fig.axes)} Axes>"
    return {"output_type": "display_data", "data": {"image/png": png, "text/plain": text}, "metadata": {}}


def _slider(name: str, low, high, default):
    """A slider that acts when released (each move retrains); the learning rate's moves on a log scale."""
    common = {"value": default, "description": _DESCRIPTIONS[name], "continuous_update": False}
    if name == "lr":
        return widgets.FloatLogSlider(
            min=math.log10(low), max=math.log10(high), step=0.1, readout_format=".3g", **common
        )
    return widgets.IntSlider(min=low, max=high, step=10 if name == "steps" else 1, **common)


def _panel(draw, **limits):
    """A row of sliders, name=(minimum, maximum, default), above the figure ``draw(**values)`` returns."""
    return slider_panel(draw, **{name: _slider(name, *limits[name]) for name in limits})


def slider_panel(draw, **controls):
    """A row of ``controls`` (ipywidgets sliders, by keyword) above the figure ``draw(**their values)`` returns,
    drawn again whenever one moves. Taught in notebook 06, section 5."""
    checks.function("draw", draw, "a function of the sliders' values that returns a Matplotlib figure")
    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(
                f"{name} must be an ipywidgets slider (such as widgets.FloatSlider), got {checks.shown(control)}"
            )
    if not controls:
        raise ValueError("slider_panel needs at least one slider, given by keyword: slider_panel(draw, x=slider)")
    picture = widgets.Output()

    def redraw(change=None) -> None:
        fig = draw(**{name: c.value for name, c in controls.items()})
        if not isinstance(fig, Figure):
            raise TypeError(f"draw must return a Matplotlib figure, got {checks.shown(fig)}")
        picture.outputs = (figure_output(fig),)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls.values())), picture])


def linear_ae_panel(x: torch.Tensor, k: int = 1):
    """Sliders for learning rate (log scale), number of steps and random seed over the
    linear autoencoder of notebook 01. Retrains and redraws when a slider is released."""
    floor, limit = eckart_young_floor(x, k), max_stable_lr(x, k)
    return _panel(partial(draw_linear_ae_run, x, k=k, limit=limit, floor=floor), **SLIDERS)


def hidden_size_limits(features: int) -> tuple[int, int, int]:
    """(minimum, maximum, default) of the hidden-size slider: up to twice the data's ``features``."""
    return 1, 2 * checks.whole_number("features", features), 1


def draw_hidden_size_run(x: torch.Tensor, hidden: int, lr: float, steps: int = 1000, seed: int = 0):
    """Train a linear autoencoder with ``hidden`` units by plain SGD and draw its loss curve
    against the Eckart-Young floor for that size (zero once ``hidden`` reaches the data's
    dimension: no bottleneck is left). Returns the figure."""
    features = x.shape[1]
    floor = eckart_young_floor(x, hidden) if hidden < features else 0.0
    ax, verdict = _draw_run(x, lr, steps, seed, hidden, f"{hidden} hidden", floor or None)
    bottleneck = f"floor {floor:.3g}" if hidden < features else "no bottleneck: floor 0"
    ax.set_title(
        f"{hidden} hidden units for {features} features, lr = {lr:.3g}\n{bottleneck}; {verdict}", fontsize="medium"
    )
    return ax.figure


def hidden_size_panel(x: torch.Tensor):
    """Sliders for the hidden size and the learning rate over notebook 02's linear autoencoder
    (1000 plain SGD steps from seed 0). Retrains and redraws when a slider is released."""
    return _panel(partial(draw_hidden_size_run, x), hidden=hidden_size_limits(x.shape[1]), **SIZE_SLIDERS)


_PICTURES = "Matplotlib figures or outputs of figure_output"


def _chooser(frames: dict, slider, controls):
    """``controls`` above the picture of ``frames`` that ``slider`` chooses; all are checked first."""
    for label, frame in frames.items():
        checks.instance(
            f"frames[{label!r}]", frame, (dict, Figure), "a Matplotlib figure or an output of figure_output"
        )
        if not (frame.axes if isinstance(frame, Figure) else frame.get("data", {}).get("image/png")):
            raise ValueError(
                f"frames[{label!r}] holds no picture (a figure with no axes, or an output without PNG data): draw "
                "into it first, or pass figure_output(fig) of a figure that shows something"
            )
    outputs = {label: frame if isinstance(frame, dict) else figure_output(frame) for label, frame in frames.items()}
    picture = widgets.Output()
    picture.outputs = (outputs[slider.value],)
    slider.observe(lambda change: setattr(picture, "outputs", (outputs[change["new"]],)), names="value")
    return widgets.VBox([controls, picture])


def frame_player(frames: list, description: str = "frame", interval_ms: int = 600):
    """Play a list of pictures (Matplotlib figures, or outputs from ``figure_output``) inline: a play button and a
    slider, linked in the browser, swap the picture shown (an array of images must be drawn into figures first)."""
    if isinstance(frames, (torch.Tensor, np.ndarray)):
        raise TypeError(
            f"frames must be a list of {_PICTURES}, got {type(frames).__name__}; "
            "draw images into figures first (plt.subplots and ax.imshow, or ae.plots.image_grid)"
        )
    frames = checks.items("frames", frames, f"a list of {_PICTURES}")
    description = checks.instance("description", description, str, "a string")
    interval_ms = checks.whole_number("interval_ms", interval_ms)
    if not frames:
        raise ValueError("frame_player needs at least one frame")
    play = widgets.Play(max=len(frames) - 1, interval=interval_ms, description="play")
    slider = widgets.IntSlider(max=len(frames) - 1, description=description)
    widgets.jslink((play, "value"), (slider, "value"))
    return _chooser(dict(enumerate(frames)), slider, widgets.HBox([play, slider]))


def picture_slider(frames: dict, description: str = "choice"):
    """Show one of several pictures (figures, or outputs from ``figure_output``), chosen with a
    slider over their labels, for example the bottleneck size ``k``."""
    if not isinstance(frames, Mapping):
        raise TypeError(
            f"frames must be a dict label -> picture ({_PICTURES}), for example {{k: figure}}, "
            f"got {type(frames).__name__}; for a list of pictures use frame_player"
        )
    description = checks.instance("description", description, str, "a string")
    if not frames:
        raise ValueError("picture_slider needs at least one picture")
    slider = widgets.SelectionSlider(options=list(frames), description=description, continuous_update=False)
    return _chooser(frames, slider, slider)
