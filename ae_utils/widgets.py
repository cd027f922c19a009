"""Pictures that move: ``slider_panel`` redraws a figure whenever one of its sliders moves (the drawing function,
written in the notebook, may retrain a model); two players show ready pictures."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from . import checks


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


def slider_panel(draw, **controls):
    """A row of ``controls`` (ipywidgets sliders, by keyword) above the figure ``draw(**their values)`` returns,
    drawn again whenever one moves. Taught in notebook 01, section 8 (a panel that retrains; notebook 02 has
    another), and notebook 06, section 5."""
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
