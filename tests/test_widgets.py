"""widgets: the linear-autoencoder slider panel and its drawing function, at every slider's limits."""

from __future__ import annotations

import base64
import math

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from ae_utils import widgets as ae_widgets
from ae_utils.theory import eckart_young_floor, max_stable_lr
from ae_utils.training import train_linear_ae
from ae_utils.widgets import SLIDERS, draw_linear_ae_run, figure_output, linear_ae_panel

DEFAULTS = {name: default for name, (_, _, default) in SLIDERS.items()}
SLIDER_SETTINGS = sorted(
    {
        tuple({**DEFAULTS, name: value}.items())
        for name, (low, high, default) in SLIDERS.items()
        for value in (low, high, default)
    }
)


@pytest.fixture(scope="module")
def floor_and_limit(learner_x_shared):
    return eckart_young_floor(learner_x_shared, 1), max_stable_lr(learner_x_shared, 1)


@pytest.fixture(scope="module")
def panel(learner_x_shared):
    box = linear_ae_panel(learner_x_shared)
    plt.close("all")
    return box


def test_sliders_give_min_max_default_in_order():
    assert set(SLIDERS) == {"lr", "steps", "seed"}
    for name, (low, high, default) in SLIDERS.items():
        assert low < high, name
        assert low <= default <= high, name
    assert SLIDERS["lr"][0] > 0  # a log-scale slider cannot reach 0


@pytest.mark.parametrize("setting", SLIDER_SETTINGS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s))
def test_draw_at_every_slider_limit_returns_figure(learner_x, floor_and_limit, setting):
    values = dict(setting)
    floor, limit = floor_and_limit
    fig = draw_linear_ae_run(learner_x, values["lr"], values["steps"], values["seed"], limit=limit, floor=floor)
    assert isinstance(fig, Figure)
    [ax] = fig.axes
    title = ax.get_title()
    assert title.startswith(f"lr = {values['lr']:.3g} ")
    assert f"{limit:.3g}" in title
    assert ax.get_xlim() == (0, values["steps"])
    if values["lr"] == SLIDERS["lr"][1]:
        assert "diverged at step" in title
    else:
        assert "final loss" in title


def test_draw_computes_floor_and_limit_when_not_given(learner_x, floor_and_limit):
    floor, limit = floor_and_limit
    fig = draw_linear_ae_run(learner_x, DEFAULTS["lr"], DEFAULTS["steps"], DEFAULTS["seed"])
    [ax] = fig.axes
    assert f"{limit:.3g}" in ax.get_title()
    assert [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"] == [floor]
    assert ax.get_yscale() == "log"


def test_draw_final_loss_in_title_matches_training(learner_x, floor_and_limit):
    floor, limit = floor_and_limit
    history, _ = train_linear_ae(learner_x, 0.05, 200, 3)
    fig = draw_linear_ae_run(learner_x, 0.05, 200, 3, limit=limit, floor=floor)
    assert fig.axes[0].get_title().endswith(f"final loss {history.final_loss:.4g}")


def test_draw_marks_divergence_with_vertical_line(learner_x, floor_and_limit):
    floor, limit = floor_and_limit
    _, diverged_at = train_linear_ae(learner_x, 10.0, 100, 0)
    fig = draw_linear_ae_run(learner_x, 10.0, 100, 0, limit=limit, floor=floor)
    [ax] = fig.axes
    assert ax.get_title().endswith(f"diverged at step {diverged_at}")
    assert any(set(line.get_xdata()) == {diverged_at} for line in ax.get_lines())


def test_draw_survives_divergence_at_the_first_step(learner_x, floor_and_limit):
    """Data so large that the very first loss overflows: nothing to plot, but still a figure."""
    floor, limit = floor_and_limit
    fig = draw_linear_ae_run(learner_x * 1e20, 0.01, 10, 0, limit=limit, floor=floor)
    [ax] = fig.axes
    assert ax.get_title().endswith("diverged at step 1")
    assert len(ax.get_lines()) == 1  # only the divergence marker


@pytest.mark.parametrize("limit, floor", [(math.nan, 0.1), (-1.0, 0.1), (0.0, 0.1), (1.0, math.nan), (1.0, -0.1)])
def test_draw_refuses_a_limit_or_floor_that_means_nothing(learner_x, limit, floor):
    with pytest.raises(ValueError, match="must be a (finite number|positive learning rate)"):
        draw_linear_ae_run(learner_x, 0.01, 10, 0, limit=limit, floor=floor)
    plt.close("all")


def test_draw_accepts_a_zero_floor(learner_x, floor_and_limit):
    fig = draw_linear_ae_run(learner_x, 0.01, 10, 0, limit=floor_and_limit[1], floor=0.0)
    assert fig.axes[0].get_title().startswith("lr = 0.01")
    plt.close(fig)


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


def test_panel_is_a_box_holding_the_three_sliders_with_their_limits(panel):
    assert isinstance(panel, ipywidgets.Box)
    sliders = {w.description: w for w in panel.children[0].children}
    lr, steps, seed = sliders["learning rate"], sliders["steps"], sliders["seed"]
    assert isinstance(lr, ipywidgets.FloatLogSlider)
    assert lr.base == 10
    assert (lr.min, lr.max) == pytest.approx((math.log10(SLIDERS["lr"][0]), math.log10(SLIDERS["lr"][1])))
    assert lr.value == pytest.approx(SLIDERS["lr"][2])
    assert isinstance(steps, ipywidgets.IntSlider)
    assert (steps.min, steps.max, steps.value, steps.step) == (*SLIDERS["steps"], 10)
    assert isinstance(seed, ipywidgets.IntSlider)
    assert (seed.min, seed.max, seed.value, seed.step) == (*SLIDERS["seed"], 1)
    assert not any(slider.continuous_update for slider in (lr, steps, seed))  # each move retrains: act on release


def test_panel_shows_a_picture_and_leaves_no_figure_open(learner_x):
    box = linear_ae_panel(learner_x)
    [picture_output] = box.children[1].outputs
    assert base64.b64decode(picture_output["data"]["image/png"]).startswith(b"\x89PNG")
    assert plt.get_fignums() == []


def test_moving_a_slider_redraws_the_picture(panel):
    picture = panel.children[1]
    before = picture.outputs[0]["data"]["image/png"]
    lr = next(w for w in panel.children[0].children if w.description == "learning rate")
    lr.value = SLIDERS["lr"][1]
    assert picture.outputs[0]["data"]["image/png"] != before
    assert plt.get_fignums() == []


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


def _values(limits):
    low, high, default = limits
    return [low, high, default]


@pytest.mark.parametrize("which", ["hidden", "lr"])
def test_hidden_size_drawing_at_every_slider_limit(which):
    import matplotlib.figure

    from ae_utils.widgets import SIZE_SLIDERS, draw_hidden_size_run, hidden_size_limits

    x = torch.rand(100, 4, generator=torch.Generator().manual_seed(0))
    limits = {"hidden": hidden_size_limits(4), "lr": SIZE_SLIDERS["lr"]}
    defaults = {name: lim[2] for name, lim in limits.items()}
    for value in _values(limits[which]):
        fig = draw_hidden_size_run(x, **{**defaults, which: value})
        assert isinstance(fig, matplotlib.figure.Figure)
        title = fig.axes[0].get_title()
        hidden = value if which == "hidden" else defaults["hidden"]
        assert ("no bottleneck" in title) == (hidden >= 4)


def test_hidden_size_panel_redraws_when_a_slider_moves():
    from ae_utils.widgets import hidden_size_panel

    x = torch.rand(50, 3, generator=torch.Generator().manual_seed(0))
    panel = hidden_size_panel(x)
    controls, picture = panel.children
    hidden, lr = controls.children
    assert (hidden.min, hidden.max, hidden.value, hidden.description) == (1, 6, 1, "hidden units")
    assert lr.description == "learning rate" and lr.value == pytest.approx(0.01)
    before = picture.outputs[0]["data"]["image/png"]
    hidden.value = 5
    assert picture.outputs[0]["data"]["image/png"] != before


@pytest.mark.parametrize("hidden", [2, 3, 4])
def test_hidden_size_drawing_shows_the_run_and_the_floor_for_that_size(hidden):
    from ae_utils.widgets import draw_hidden_size_run

    x = torch.rand(100, 4, generator=torch.Generator().manual_seed(0))
    history, _ = train_linear_ae(x, 0.05, 200, 1, hidden)
    [ax] = draw_hidden_size_run(x, hidden, 0.05, steps=200, seed=1).axes
    assert ax.get_title().endswith(f"final loss {history.final_loss:.4g}")
    assert ("no bottleneck: floor 0" in ax.get_title()) == (hidden == 4)  # 4 features: 4 units need no bottleneck
    assert list(curves_of(ax)[0].get_ydata()) == pytest.approx(history.losses)
    floors = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert floors == ([pytest.approx(eckart_young_floor(x, hidden))] if hidden < 4 else [])  # no bottleneck: no floor
    plt.close("all")


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


def test_hidden_size_limits_need_at_least_one_feature():
    from ae_utils.widgets import hidden_size_limits

    assert hidden_size_limits(2) == (1, 4, 1) and hidden_size_limits(1) == (1, 2, 1)
    with pytest.raises(ValueError, match="features must be a whole number of at least 1, got 0"):
        hidden_size_limits(0)


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


def test_the_panel_titles_its_run_with_the_stability_limit_not_the_floor(learner_x, monkeypatch):
    from ae_utils import widgets

    titles, real = [], widgets.figure_output

    def spy(fig):
        titles.append(fig.axes[0].get_title())
        return real(fig)

    monkeypatch.setattr(widgets, "figure_output", spy)
    widgets.linear_ae_panel(learner_x)
    assert f"no stable minimum above {max_stable_lr(learner_x, 1):.3g})" in titles[0]


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
