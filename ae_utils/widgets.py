"""Slider panels: move a slider, the model retrains and the picture redraws.

Each panel is two pieces: a plain drawing function that takes the slider values and
returns a Matplotlib figure (tested at every slider's limits), and ``*_panel`` which wires
ipywidgets sliders to it. ``SLIDERS`` lists each slider's minimum, maximum and default.
This module only draws: the runs come from ``training.train_linear_ae``.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

if TYPE_CHECKING:  # imported where a panel is built: ipywidgets is only needed there
    import ipywidgets as widgets

from . import checks
from .plots import plot_losses
from .theory import eckart_young_floor, max_stable_lr
from .training import train_linear_ae

# name: (minimum, maximum, default); the learning rate slider moves on a log scale.
SLIDERS = {
    "lr": (1e-3, 10.0, 0.01),
    "steps": (10, 5000, 1000),
    "seed": (0, 20, 0),
}


def draw_linear_ae_run(
    x: torch.Tensor,
    lr: float,
    steps: int,
    seed: int,
    k: int = 1,
    *,
    limit: float | None = None,
    floor: float | None = None,
):
    """Retrain the linear autoencoder with these slider values and draw its loss curve
    with the Eckart-Young floor; the title gives the learning rate above which no minimum
    is stable. Returns the figure.
    """
    floor = eckart_young_floor(x, k) if floor is None else checks.number("floor", floor)
    limit = max_stable_lr(x, k) if limit is None else checks.number("limit", limit)
    if limit <= 0 or floor < 0:
        raise ValueError(f"limit must be a positive learning rate and floor at least 0, got {limit} and {floor}")
    history, diverged_at = train_linear_ae(x, lr, steps, seed, k)
    fig, ax = _run_figure(history, diverged_at, steps, f"seed {seed}", floor)
    ax.set_title(f"lr = {lr:.3g} (no stable minimum above {limit:.3g}): {_verdict(history, diverged_at, '.4g')}")
    return fig


def _run_figure(history, diverged_at: int | None, steps: int, label: str, floor: float | None):
    """A slider run's loss curve on a log scale over ``steps``, with the floor, and a red line
    at the step where it diverged; the caller adds the title."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if history.losses:
        plot_losses(history, [label], floor=floor, log=True, ax=ax)
    ax.set_xlim(0, steps)
    if diverged_at:
        ax.axvline(diverged_at, color="red", linewidth=1)
    return fig, ax


def _verdict(history, diverged_at: int | None, number_format: str) -> str:
    return f"diverged at step {diverged_at}" if diverged_at else f"final loss {history.final_loss:{number_format}}"


def figure_output(fig) -> dict:
    """A Matplotlib figure as one Jupyter display output (a PNG), closing the figure.

    Panels put this straight into their ``Output`` widget's ``outputs``, so the picture
    travels with the widget's state: the same in JupyterLab, in a saved notebook, and in a
    headless run (where nbval would otherwise see a captured figure as a cell output).
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    plt.close(fig)
    width, height = fig.get_size_inches() * fig.dpi
    return {
        "output_type": "display_data",
        "data": {
            "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "text/plain": f"<Figure size {width:.0f}x{height:.0f} with {len(fig.axes)} Axes>",
        },
        "metadata": {},
    }


def _panel(controls: dict, draw) -> "widgets.VBox":
    """Sliders in a row above a picture; ``draw(**values)`` returns the figure to show."""
    import ipywidgets as widgets

    picture = widgets.Output()

    def redraw(change=None) -> None:
        picture.outputs = (figure_output(draw(**{name: c.value for name, c in controls.items()})),)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls.values())), picture])


def _lr_slider(lr_min: float, lr_max: float, lr_default: float):
    import ipywidgets as widgets

    return widgets.FloatLogSlider(
        value=lr_default,
        base=10,
        min=math.log10(lr_min),
        max=math.log10(lr_max),
        step=0.1,
        description="learning rate",
        readout_format=".3g",
        continuous_update=False,
    )


def linear_ae_panel(x: torch.Tensor, k: int = 1):
    """Sliders for learning rate (log scale), number of steps and random seed over the
    linear autoencoder of notebook 01. Retrains and redraws when a slider is released."""
    import ipywidgets as widgets

    floor, limit = eckart_young_floor(x, k), max_stable_lr(x, k)
    (s_min, s_max, s_default), (seed_min, seed_max, seed_default) = SLIDERS["steps"], SLIDERS["seed"]
    controls = {
        "lr": _lr_slider(*SLIDERS["lr"]),
        "steps": widgets.IntSlider(
            value=s_default, min=s_min, max=s_max, step=10, description="steps", continuous_update=False
        ),
        "seed": widgets.IntSlider(
            value=seed_default, min=seed_min, max=seed_max, description="seed", continuous_update=False
        ),
    }
    return _panel(controls, lambda lr, steps, seed: draw_linear_ae_run(x, lr, steps, seed, k, limit=limit, floor=floor))


# name: (minimum, maximum, default) for notebook 02's panel; hidden runs to twice the data's dimension.
SIZE_SLIDERS = {"lr": (1e-3, 1.0, 0.01)}


def hidden_size_limits(features: int) -> tuple[int, int, int]:
    """(minimum, maximum, default) of the hidden-size slider for data with ``features`` columns."""
    return 1, 2 * checks.whole_number("features", features), 1


def draw_hidden_size_run(x: torch.Tensor, hidden: int, lr: float, steps: int = 1000, seed: int = 0):
    """Train a linear autoencoder with ``hidden`` units by plain SGD and draw its loss curve
    against the Eckart-Young floor for that size (zero once ``hidden`` reaches the data's
    dimension: no bottleneck is left). Returns the figure."""
    features = x.shape[1]
    floor = eckart_young_floor(x, hidden) if hidden < features else 0.0
    history, diverged_at = train_linear_ae(x, lr, steps, seed, hidden)
    fig, ax = _run_figure(history, diverged_at, steps, f"{hidden} hidden", floor if floor > 0 else None)
    bottleneck = f"floor {floor:.3g}" if hidden < features else "no bottleneck: floor 0"
    ax.set_title(
        f"{hidden} hidden units for {features} features, lr = {lr:.3g}\n"
        f"{bottleneck}; {_verdict(history, diverged_at, '.3g')}",
        fontsize="medium",
    )
    return fig


def hidden_size_panel(x: torch.Tensor):
    """Sliders for the hidden size and the learning rate over notebook 02's linear autoencoder
    (1000 plain SGD steps from seed 0). Retrains and redraws when a slider is released."""
    import ipywidgets as widgets

    low, high, default = hidden_size_limits(x.shape[1])
    controls = {
        "hidden": widgets.IntSlider(
            value=default, min=low, max=high, description="hidden units", continuous_update=False
        ),
        "lr": _lr_slider(*SIZE_SLIDERS["lr"]),
    }
    return _panel(controls, lambda hidden, lr: draw_hidden_size_run(x, hidden, lr))


_PICTURES = "Matplotlib figures or outputs of figure_output"


def _pictures(names: list[str], frames: list) -> list[dict]:
    """Each of ``frames`` (``names[i]`` in messages) as a display output; all are checked
    before any figure is turned into one (and closed)."""
    for name, frame in zip(names, frames):
        if not isinstance(frame, (dict, Figure)):
            raise TypeError(
                f"{name} must be a Matplotlib figure or an output of figure_output, got {type(frame).__name__}"
            )
        if not (frame.axes if isinstance(frame, Figure) else frame.get("data", {}).get("image/png")):
            raise ValueError(
                f"{name} holds no picture (a figure with no axes, or an output without PNG data): draw into it "
                "first, or pass figure_output(fig) of a figure that shows something"
            )
    return [frame if isinstance(frame, dict) else figure_output(frame) for frame in frames]


def frame_player(frames: list, description: str = "frame", interval_ms: int = 600):
    """Play a list of pictures (Matplotlib figures, or outputs from ``figure_output``) inline:
    a play button and a slider, linked in the browser, swap the picture shown. An array of
    images is not a list of pictures: draw them into figures first (or use ``plots.image_grid``)."""
    import ipywidgets as widgets

    if isinstance(frames, (torch.Tensor, np.ndarray)):
        raise TypeError(
            f"frames must be a list of {_PICTURES}, got {type(frames).__name__}; "
            "draw images into figures first (plt.subplots and ax.imshow, or ae.plots.image_grid)"
        )
    frames = checks.items("frames", frames, f"a list of {_PICTURES}")
    description = checks.text("description", description)
    interval_ms = checks.whole_number("interval_ms", interval_ms)
    outputs = _pictures([f"frames[{i}]" for i in range(len(frames))], frames)
    if not outputs:
        raise ValueError("frame_player needs at least one frame")
    play = widgets.Play(value=0, min=0, max=len(outputs) - 1, step=1, interval=interval_ms, description="play")
    slider = widgets.IntSlider(value=0, min=0, max=len(outputs) - 1, description=description)
    widgets.jslink((play, "value"), (slider, "value"))
    picture = widgets.Output()
    picture.outputs = (outputs[0],)

    def show(change) -> None:
        picture.outputs = (outputs[change["new"]],)

    slider.observe(show, names="value")
    return widgets.VBox([widgets.HBox([play, slider]), picture])


def picture_slider(frames: dict, description: str = "choice"):
    """Show one of several pictures (figures, or outputs from ``figure_output``), chosen with a
    slider over their labels, for example the bottleneck size ``k``."""
    import ipywidgets as widgets

    if not isinstance(frames, Mapping):
        raise TypeError(
            f"frames must be a dict label -> picture ({_PICTURES}), for example {{k: figure}}, "
            f"got {type(frames).__name__}; for a list of pictures use frame_player"
        )
    description = checks.text("description", description)
    outputs = dict(zip(frames, _pictures([f"frames[{label!r}]" for label in frames], list(frames.values()))))
    if not outputs:
        raise ValueError("picture_slider needs at least one picture")
    labels = list(outputs)
    slider = widgets.SelectionSlider(options=labels, value=labels[0], description=description, continuous_update=False)
    picture = widgets.Output()
    picture.outputs = (outputs[labels[0]],)
    slider.observe(lambda change: setattr(picture, "outputs", (outputs[change["new"]],)), names="value")
    return widgets.VBox([slider, picture])
