"""How long one slider move takes in notebook 01's panel: retrain 1000 steps, redraw.

Side by side in one process, on the notebook's data:
- baseline: the lesson's path, ``torch.optim.SGD`` with autograd through ``ae.train`` (full
  batch, one step per epoch), then the same drawing;
- panel: what a slider move runs in the notebook's ``draw_run``, ``ae.train_linear_ae`` (SGD with the
  gradient written out), then the drawing, turned into the PNG that JupyterLab shows;
- and the training alone: ``ae.train`` with ``torch.optim.SGD`` against ``train_linear_ae``.
Prints the median of several repeats of each, and their ratios.

    .venv/bin/python benchmarks/slider_redraw.py
"""

from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

import ae_utils as ae  # noqa: E402
from ae_utils.training import train_linear_ae  # noqa: E402
from ae_utils.widgets import figure_output  # noqa: E402

REPEATS = 7


def notebook_data() -> torch.Tensor:
    ae.seed_everything(0)
    return ae.correlated_data(100)


def baseline_training(x, lr, steps, seed):
    params = ae.raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(seed))
    return ae.train(ae.raw_linear_ae_forward(params), x, torch.optim.SGD(params.values(), lr=lr), epochs=steps)


def panel_training(x, lr, steps, seed):
    return train_linear_ae(x, lr, steps, seed)


def draw(history, lr, floor, limit) -> None:
    """The drawing of a slider move, as the notebook's ``draw_run`` makes it, turned into a PNG."""
    ax = ae.plot_losses(history, ["seed 0"], floor=floor, log=True)
    ax.set_title(f"lr = {lr:.3g} (no stable minimum above {limit:.3g}): final loss {history.final_loss:.4g}")
    figure_output(ax.figure)


def baseline_move(x, lr, steps, seed, floor, limit) -> None:
    draw(baseline_training(x, lr, steps, seed), lr, floor, limit)


def panel_move(x, lr, steps, seed, floor, limit) -> None:
    draw(panel_training(x, lr, steps, seed)[0], lr, floor, limit)


def median_seconds(move, *args) -> float:
    move(*args)  # warm-up: first calls pay for lazy imports
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        move(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    x = notebook_data()
    floor, limit = ae.eckart_young_floor(x, 1), ae.max_stable_lr(x, 1)
    args = (x, 0.01, 1000, 0, floor, limit)
    baseline = median_seconds(baseline_move, *args)
    panel = median_seconds(panel_move, *args)
    baseline_alone = median_seconds(baseline_training, *args[:4])
    panel_alone = median_seconds(panel_training, *args[:4])
    print(f"torch threads: {torch.get_num_threads()}, repeats: {REPEATS}, 1000 steps at lr 0.01")
    print(f"baseline (torch.optim.SGD + autograd, then draw): {baseline * 1000:7.1f} ms per slider move")
    print(f"panel    (train_linear_ae, then draw):            {panel * 1000:7.1f} ms per slider move")
    print(f"speed-up: {baseline / panel:.2f}x a slider move")
    print(f"training alone: ae.train with torch.optim.SGD {baseline_alone * 1000:7.1f} ms, ", end="")
    print(f"train_linear_ae {panel_alone * 1000:7.1f} ms: {baseline_alone / panel_alone:.2f}x")


if __name__ == "__main__":
    main()
