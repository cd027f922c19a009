"""The slider panels that notebooks 01 and 02 write out, run from the notebooks' own cells: at every slider's
minimum, maximum and default each draws the run that ``ae.train_linear_ae`` gives (its losses, the floor, the
step where it diverged), and moving a slider redraws the picture."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import ipywidgets
import matplotlib.pyplot as plt
import pytest
import torch

import ae_utils as ae

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PANEL_CELLS = {  # notebook -> the id of its panel's cell, and the drawing function's argument for each slider
    "01": ("8c59b299", {"learning rate": "lr", "steps": "steps", "seed": "seed"}),
    "02": ("2d248a37", {"hidden units": "hidden", "learning rate": "lr"}),
}


def run_panel_cell(number: str, namespace: dict):
    """Run the panel cell of notebook ``number`` in ``namespace`` (the variables it uses); return the panel."""
    [path] = NOTEBOOKS.glob(f"{number}_*.ipynb")
    cells = json.loads(path.read_text())["cells"]
    [source] = ["".join(c["source"]) for c in cells if c.get("id") == PANEL_CELLS[number][0]]
    tree = ast.parse(source)
    last = tree.body.pop()  # the cell's last line is the panel, shown as the cell's output
    exec(compile(tree, path.name, "exec"), namespace)
    return eval(compile(ast.Expression(last.value), path.name, "eval"), namespace)


@pytest.fixture(scope="module")
def notebook_01(learner_x_shared):
    x = learner_x_shared
    namespace = {"ae": ae, "x": x, "floor": ae.eckart_young_floor(x, 1), "limit": ae.max_stable_lr(x, 1)}
    panel = run_panel_cell("01", namespace)
    plt.close("all")
    return panel, namespace


@pytest.fixture(scope="module")
def notebook_02():
    namespace = {"ae": ae, "data": torch.rand(100, 4, generator=torch.Generator().manual_seed(0))}
    panel = run_panel_cell("02", namespace)
    plt.close("all")
    return panel, namespace


def settings(panel, arguments: dict) -> list[dict]:
    """Each slider at its minimum, maximum and default, the others at their defaults, as the drawing's arguments."""
    sliders = {arguments[s.description]: s for s in panel.children[0].children}
    assert set(sliders) == set(arguments.values())
    value = {name: s.value for name, s in sliders.items()}
    found = []
    for name, s in sliders.items():
        scale = (lambda v: s.base**v) if isinstance(s, ipywidgets.FloatLogSlider) else (lambda v: v)
        found += [{**value, name: limit} for limit in (scale(s.min), scale(s.max), s.value)]
    return found


def check_run(ax, run, steps: int, floor) -> str:
    """The drawing shows ``run`` (history, diverged_at) over ``steps`` steps against ``floor``; returns its verdict."""
    history, diverged_at = run
    curves = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert list(curves[0].get_ydata()) == pytest.approx(history.losses)
    dashed = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert dashed == ([] if floor is None else [pytest.approx(floor)])
    assert ax.get_xlim() == (0, steps)
    marks = [line for line in curves[1:] if len(set(line.get_xdata())) == 1]
    assert [line.get_xdata()[0] for line in marks] == ([diverged_at] if diverged_at else [])  # the red line
    return f"diverged at step {diverged_at}" if diverged_at else f"final loss {history.final_loss:.4g}"


def test_notebook_01_panel_at_every_slider_limit(notebook_01):
    panel, namespace = notebook_01
    x, floor, limit, draw = namespace["x"], namespace["floor"], namespace["limit"], namespace["draw_run"]
    assert not any(s.continuous_update for s in panel.children[0].children)  # each move retrains: act on release
    verdicts = []
    for setting in settings(panel, PANEL_CELLS["01"][1]):
        [ax] = draw(**setting).axes
        run = ae.train_linear_ae(x, setting["lr"], setting["steps"], setting["seed"])
        verdicts.append(check_run(ax, run, setting["steps"], floor))
        assert ax.get_title() == f"lr = {setting['lr']:.3g} (no stable minimum above {limit:.3g}): {verdicts[-1]}"
        plt.close("all")
    assert verdicts[1].startswith("diverged")  # the learning rate's maximum is past the bound
    assert sum(v.startswith("final loss") for v in verdicts) == len(verdicts) - 1


def test_notebook_02_panel_at_every_slider_limit(notebook_02):
    panel, namespace = notebook_02
    data, draw = namespace["data"], namespace["draw_hidden_size"]
    hidden_slider = panel.children[0].children[0]
    assert (hidden_slider.min, hidden_slider.max) == (1, 2 * data.shape[1])  # past the 4 features: no bottleneck
    for setting in settings(panel, PANEL_CELLS["02"][1]):
        hidden, lr = setting["hidden"], setting["lr"]
        [ax] = draw(**setting).axes
        floor = ae.eckart_young_floor(data, hidden) if hidden < 4 else None
        verdict = check_run(ax, ae.train_linear_ae(data, lr, 1000, 0, hidden), 1000, floor)
        bottleneck = "no bottleneck: floor 0" if floor is None else f"floor {floor:.3g}"
        assert ax.get_title() == f"{hidden} hidden units for 4 features, lr = {lr:.3g}\n{bottleneck}; {verdict}"
        plt.close("all")


@pytest.mark.parametrize("which", ["notebook_01", "notebook_02"])
def test_moving_a_slider_redraws_and_leaves_no_figure_open(which, request):
    panel, _ = request.getfixturevalue(which)
    controls, picture = panel.children
    before = picture.outputs[0]["data"]["image/png"]
    slider = controls.children[0]
    slider.value = slider.base**slider.max if isinstance(slider, ipywidgets.FloatLogSlider) else slider.max
    assert picture.outputs[0]["data"]["image/png"] != before
    assert plt.get_fignums() == []
