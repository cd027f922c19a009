"""widgets: the slider panel, the players of ready pictures, and the sliders' trainer (notebooks 01 and 02
build their panels from these; tests/test_notebook_panels.py runs those cells)."""

from __future__ import annotations

import base64

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from ae_utils import widgets as ae_widgets
from ae_utils.training import train_linear_ae
from ae_utils.widgets import figure_output


def test_train_linear_ae_accepts_float64_data(learner_x):
    history, _ = train_linear_ae(learner_x.double(), 0.05, 50, seed=0)
    expected, _ = train_linear_ae(learner_x, 0.05, 50, seed=0)
    assert history.losses == pytest.approx(expected.losses, rel=1e-5)


def test_figure_output_is_a_png_display_and_closes_the_figure():
    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.plot([1, 2])
    output = figure_output(fig)
    assert output["output_type"] == "display_data"
    assert output["metadata"] == {}
    assert base64.b64decode(output["data"]["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert output["data"]["text/plain"] == "<Figure size 150x100 with 1 Axes>"
    assert not plt.fignum_exists(fig.number)


def test_frame_player_swaps_the_picture_when_its_slider_moves():
    import matplotlib.pyplot as plt

    from ae_utils.widgets import frame_player

    frames = []
    for value in (0.0, 1.0, 0.5):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [value, value])
        frames.append(fig)
    player = frame_player(frames, "epoch", interval_ms=250)
    controls, picture = player.children
    play, slider = controls.children
    assert (play.max, slider.max, play.interval, slider.description) == (2, 2, 250, "epoch")
    first = picture.outputs[0]["data"]["image/png"]
    slider.value = 2
    assert picture.outputs[0]["data"]["image/png"] != first


def test_frame_player_needs_frames():
    from ae_utils.widgets import frame_player

    with pytest.raises(ValueError, match="at least one frame"):
        frame_player([])


def curves_of(ax):
    return [line for line in ax.get_lines() if line.get_linestyle() == "-"]


def test_picture_slider_shows_the_picture_of_the_chosen_label():
    import matplotlib.pyplot as plt

    from ae_utils.widgets import picture_slider

    frames = {}
    for k in (2, 8, 32):
        fig, ax = plt.subplots()
        ax.set_title(f"k = {k}")
        frames[k] = fig
    panel = picture_slider(frames, "k")
    slider, picture = panel.children
    assert list(slider.options) == [2, 8, 32]
    first = picture.outputs[0]["data"]["image/png"]
    slider.value = 32
    assert picture.outputs[0]["data"]["image/png"] != first
    with pytest.raises(ValueError, match="at least one picture"):
        picture_slider({})


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"steps": 2.7}, TypeError),
        ({"steps": True}, TypeError),
        ({"seed": 1.9}, TypeError),
        ({"seed": -1}, ValueError),
        ({"steps": 0}, ValueError),
    ],
)
def test_slider_values_are_whole_numbers_not_silently_rounded(learner_x, kwargs, error):
    values = {"lr": 0.01, "steps": 5, "seed": 0} | kwargs
    with pytest.raises(error, match="must be a whole number"):
        train_linear_ae(learner_x, **values)


# ---------------------------------------------------------------- wrong types name the argument (issue 11)

WRONG = {"None": None, "ndarray": np.ones((2, 2), dtype=np.float32), "str": "abc", "list": [1.0, 2.0], "float": 2.5}


def _figure():
    fig, _ = plt.subplots()
    return fig


@pytest.mark.parametrize(
    "argument, kinds, message",
    [
        ("frames", ["None", "ndarray", "str", "float"], "frames must be a list of Matplotlib figures"),
        ("frames", ["list"], r"frames\[0\] must be a Matplotlib figure or an output of figure_output, got float"),
        ("description", ["None", "ndarray", "list", "float"], "description must be a string, got "),
        ("interval_ms", WRONG, "interval_ms must be a whole number, got "),
    ],
)
def test_frame_player_wrong_types_name_the_argument(argument, kinds, message):
    from ae_utils.widgets import frame_player

    for kind in kinds:
        with pytest.raises(TypeError, match=message):
            frame_player(**{"frames": [_figure()], argument: WRONG[kind]})


@pytest.mark.parametrize(
    "argument, kinds, message",
    [
        ("frames", WRONG, r"frames must be a dict label -> picture .* for a list of pictures use frame_player"),
        ("description", ["None", "ndarray", "list", "float"], "description must be a string, got "),
    ],
)
def test_picture_slider_wrong_types_name_the_argument(argument, kinds, message):
    from ae_utils.widgets import picture_slider

    for kind in kinds:
        with pytest.raises(TypeError, match=message):
            picture_slider(**{"frames": {1: _figure()}, argument: WRONG[kind]})


def test_pictures_with_nothing_in_them_are_refused():
    from ae_utils.widgets import frame_player, picture_slider

    empty = plt.figure()  # no axes: nothing drawn
    with pytest.raises(ValueError, match=r"frames\[1\] holds no picture"):
        frame_player([_figure(), empty])
    with pytest.raises(ValueError, match=r"frames\['b'\] holds no picture"):
        picture_slider({"a": _figure(), "b": {"output_type": "display_data", "data": {}}})
    good = figure_output(_figure())
    assert len(frame_player([good]).children) == 2  # an output of figure_output is a picture
    plt.close("all")


def test_a_bad_picture_is_found_before_any_figure_is_used():
    from ae_utils.widgets import frame_player, picture_slider

    good = _figure()
    with pytest.raises(TypeError, match=r"frames\[1\] must be a Matplotlib figure .* got Tensor"):
        frame_player([good, torch.rand(28, 28)])
    with pytest.raises(TypeError, match=r"frames\['b'\] must be a Matplotlib figure .* got str"):
        picture_slider({"a": good, "b": "picture.png"})
    assert plt.fignum_exists(good.number)  # not turned into a picture (and closed) by the failed calls
    with pytest.raises(TypeError, match=r"got Tensor; draw images into figures first"):
        frame_player(torch.rand(3, 28, 28))


def _point_drawing(calls: list):
    def draw(a, b):
        calls.append((a, b))
        fig, ax = plt.subplots()
        ax.plot([a], [b], "x")
        return fig

    return draw


def test_slider_panel_draws_the_sliders_values_and_redraws_when_either_moves():
    calls = []
    a = ipywidgets.FloatSlider(value=0.0, min=-3, max=3)
    b = ipywidgets.FloatSlider(value=1.0, min=-3, max=3)
    box = ae_widgets.slider_panel(_point_drawing(calls), a=a, b=b)
    assert list(box.children[0].children) == [a, b] and calls == [(0.0, 1.0)]
    first = box.children[1].outputs
    b.value = -3.0
    a.value = 3.0
    assert calls == [(0.0, 1.0), (0.0, -3.0), (3.0, -3.0)]
    assert box.children[1].outputs != first and len(box.children[1].outputs) == 1
    assert plt.get_fignums() == []  # each figure closed once it is a picture


@pytest.mark.parametrize(
    "draw, controls, error, match",
    [
        ("not callable", {"a": ipywidgets.FloatSlider()}, TypeError, "draw must be a function"),
        (lambda a: None, {"a": ipywidgets.FloatSlider()}, TypeError, "draw must return a Matplotlib figure"),
        (lambda a: None, {"a": 0.5}, TypeError, "a must be an ipywidgets slider"),
        (lambda: None, {}, ValueError, "at least one slider"),
    ],
)
def test_slider_panel_refuses_what_it_cannot_draw(draw, controls, error, match):
    with pytest.raises(error, match=match):
        ae_widgets.slider_panel(draw, **controls)
