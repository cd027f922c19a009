"""The slider panels that notebooks 01 and 02 write out, run from the notebooks' own cells: the sliders' ranges,
each slider at its minimum, maximum and default drawing the run that ``ae.train_linear_ae`` gives (its losses, the
floor, a red line where it diverged, the title), and every slider redrawing the picture when it moves."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import ipywidgets
import matplotlib.pyplot as plt
import pytest
import torch

import ae_utils as ae
from ae_utils.widgets import figure_output

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PANEL_CELLS = {"01": "8c59b299", "02": "2d248a37"}  # the id of each notebook's panel cell
# Each slider: the drawing function's argument, its description, and (minimum, maximum, default) as values.
SLIDERS = {
    "01": {
        "lr": ("learning rate", (1e-3, 10.0, 0.01)),
        "steps": ("steps", (10, 5000, 1000)),
        "seed": ("seed", (0, 20, 0)),
    },
    "02": {"hidden": ("hidden units", (1, 8, 1)), "lr": ("learning rate", (1e-3, 1.0, 0.01))},
}


def run_panel_cell(number: str, namespace: dict):
    """Run the panel cell of notebook ``number`` in ``namespace`` (the variables it uses); return the panel."""
    [path] = NOTEBOOKS.glob(f"{number}_*.ipynb")
    cells = json.loads(path.read_text())["cells"]
    [source] = ["".join(c["source"]) for c in cells if c.get("id") == PANEL_CELLS[number]]
    tree = ast.parse(source)
    last = tree.body.pop()  # the cell's last line is the panel, shown as the cell's output
    exec(compile(tree, path.name, "exec"), namespace)
    panel = eval(compile(ast.Expression(last.value), path.name, "eval"), namespace)
    plt.close("all")
    return panel


def notebook_01_namespace(x: torch.Tensor) -> dict:
    return {"ae": ae, "x": x, "floor": ae.eckart_young_floor(x, 1), "limit": ae.max_stable_lr(x, 1)}


def notebook_02_namespace() -> dict:
    return {"ae": ae, "data": torch.rand(100, 4, generator=torch.Generator().manual_seed(0))}


@pytest.fixture
def panels(learner_x_shared) -> dict:
    """Each notebook's panel, made afresh, and the namespace its cell ran in."""
    namespaces = {"01": notebook_01_namespace(learner_x_shared), "02": notebook_02_namespace()}
    return {number: (run_panel_cell(number, namespace), namespace) for number, namespace in namespaces.items()}


def value_of(slider, position: float):
    """The value a slider shows at ``position`` on its track (a log slider's track holds exponents)."""
    return slider.base**position if isinstance(slider, ipywidgets.FloatLogSlider) else position


def settings(number: str) -> list[dict]:
    """Each slider at its minimum, maximum and default, the others at their defaults, as the drawing's arguments."""
    defaults = {name: limits[2] for name, (_, limits) in SLIDERS[number].items()}
    return [{**defaults, name: value} for name, (_, limits) in SLIDERS[number].items() for value in limits]


def check_run(ax, run, steps: int, floor) -> str:
    """The drawing shows ``run`` (history, diverged_at) over ``steps`` steps against ``floor``; returns its verdict."""
    history, diverged_at = run
    curves = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert list(curves[0].get_ydata()) == pytest.approx(history.losses)
    dashed = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert dashed == ([] if floor is None else [pytest.approx(floor)])
    assert ax.get_xlim() == (0, steps) and ax.get_yscale() == "log"
    marks = [(line.get_xdata()[0], line.get_color()) for line in curves[1:]]
    assert marks == ([(diverged_at, "red")] if diverged_at else [])
    return f"diverged at step {diverged_at}" if diverged_at else f"final loss {history.final_loss:.4g}"


@pytest.mark.parametrize("number", ["01", "02"])
def test_the_sliders_span_their_ranges_and_act_when_released(panels, number):
    panel, _ = panels[number]
    sliders = panel.children[0].children
    assert [s.description for s in sliders] == [description for description, _ in SLIDERS[number].values()]
    for slider, (_, (low, high, default)) in zip(sliders, SLIDERS[number].values()):
        got = (value_of(slider, slider.min), value_of(slider, slider.max), slider.value)
        assert got == pytest.approx((low, high, default)), slider.description
        assert not slider.continuous_update  # each move retrains: act on release
    assert isinstance(sliders[[*SLIDERS[number]].index("lr")], ipywidgets.FloatLogSlider)


def test_notebook_01_draws_every_slider_limit(panels):
    _, namespace = panels["01"]
    x, floor, limit, draw = namespace["x"], namespace["floor"], namespace["limit"], namespace["draw_run"]
    verdicts = []
    for setting in settings("01"):
        [ax] = draw(**setting).axes
        run = ae.train_linear_ae(x, setting["lr"], setting["steps"], setting["seed"])
        verdicts.append(check_run(ax, run, setting["steps"], floor))
        assert ax.get_title() == f"lr = {setting['lr']:.3g} (no stable minimum above {limit:.3g}): {verdicts[-1]}"
        plt.close("all")
    assert verdicts[1].startswith("diverged")  # the learning rate's maximum is past the bound
    assert sum(v.startswith("final loss") for v in verdicts) == len(verdicts) - 1


def test_notebook_02_draws_every_hidden_size_and_learning_rate_limit(panels):
    _, namespace = panels["02"]
    data, draw = namespace["data"], namespace["draw_hidden_size"]
    every_size = [{"hidden": hidden, "lr": 0.01} for hidden in range(1, 9)]
    for setting in every_size + settings("02"):
        hidden, lr = setting["hidden"], setting["lr"]
        [ax] = draw(**setting).axes
        floor = ae.eckart_young_floor(data, hidden) if hidden < 4 else None  # 4 features: from 4 units, no floor
        verdict = check_run(ax, ae.train_linear_ae(data, lr, 1000, 0, hidden), 1000, floor)
        bottleneck = "no bottleneck: floor 0" if floor is None else f"floor {floor:.3g}"
        assert ax.get_title() == f"{hidden} hidden units for 4 features, lr = {lr:.3g}\n{bottleneck}; {verdict}"
        plt.close("all")


@pytest.mark.parametrize("number", ["01", "02"])
def test_every_slider_redraws_the_picture_of_its_new_value(panels, number):
    panel, namespace = panels[number]
    controls, picture = panel.children
    draw = namespace["draw_run" if number == "01" else "draw_hidden_size"]
    names = list(SLIDERS[number])
    for slider in controls.children:
        before = picture.outputs[0]["data"]["image/png"]
        slider.value = value_of(slider, slider.max)
        now = picture.outputs[0]["data"]["image/png"]
        expected = figure_output(draw(**{name: s.value for name, s in zip(names, controls.children)}))
        assert now != before and now == expected["data"]["image/png"], slider.description
    assert plt.get_fignums() == []
