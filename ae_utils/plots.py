"""Loss curves: one run or several overlaid, optionally on a log scale, with the floor drawn.

The functions draw on a Matplotlib ``Axes`` and return it. In JupyterLab the figure shows
itself; in a script, call ``ax.figure.savefig(...)`` or ``plt.show()``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from . import checks
from .training import History

_RUNS = "a History, a list of losses, a list of those, or a dict label -> run"


def _is_single_run(runs) -> bool:
    if isinstance(runs, History):
        return True
    if hasattr(runs, "ndim"):  # a NumPy array or a tensor of losses
        return runs.ndim == 1
    return (
        isinstance(runs, Sequence)
        and bool(runs)
        and not isinstance(runs[0], (History, Sequence))
        and not hasattr(runs[0], "ndim")
    )


def _as_losses(run) -> list[float]:
    if isinstance(run, History):
        return run.losses
    if hasattr(run, "tolist") and getattr(run, "ndim", 1) == 1:
        return [float(v) for v in run.tolist()]
    try:
        return [float(v) for v in run]
    except (TypeError, ValueError):
        raise TypeError(
            f"a run must be a History or a sequence of numbers, got {type(run).__name__} (runs must be {_RUNS})"
        ) from None


def _as_runs(runs, labels) -> list[tuple[str | None, list[float]]]:
    if labels is not None:
        labels = checks.items("labels", labels, "a list of labels, one per run (for one run: [label])")
    if isinstance(runs, Mapping):
        if labels is not None:
            raise ValueError("give labels either as the dict's keys or as labels=, not both")
        return [(str(label), _as_losses(run)) for label, run in runs.items()]
    if _is_single_run(runs):
        runs = [runs]
    runs = checks.items("runs", runs, _RUNS)
    if labels is None:
        labels = [None] * len(runs)
    elif len(labels) != len(runs):
        raise ValueError(f"got {len(labels)} labels for {len(runs)} runs")
    return [(label, _as_losses(run)) for label, run in zip(labels, runs)]


def plot_losses(
    runs,
    labels: Sequence[str] | None = None,
    *,
    floor: float | None = None,
    log: bool = False,
    ax=None,
    title: str | None = None,
    ylabel: str = "MSE loss",
):
    """Plot loss against step for one run or several, and return the Axes.

    runs: a ``History`` or a list of losses; a list of those; or a dict label -> run.
    floor: draw this value as a dashed horizontal line (the Eckart-Young floor, say).
    log: use a logarithmic loss axis.

    Taught in notebook 01, section 5.
    """
    pairs = _as_runs(runs, labels)
    if not pairs or all(len(losses) == 0 for _, losses in pairs):
        raise ValueError("there is nothing to plot: every run is empty")
    floor = None if floor is None else checks.number("floor", floor)
    checks.flag("log", log)
    checks.text("ylabel", ylabel)
    if title is not None:
        checks.text("title", title)
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a Matplotlib Axes (for example from plt.subplots()), got {type(ax).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for label, losses in pairs:
        ax.plot(range(1, len(losses) + 1), losses, label=label, linewidth=1.5)
    if floor is not None:
        ax.axhline(floor, color="black", linestyle="--", linewidth=1, label=f"floor {floor:.4g}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if floor is not None or any(label for label, _ in pairs):
        ax.legend(loc="upper right", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    return ax


def _image_row(i: int, row) -> np.ndarray:
    """Row ``i`` of ``image_grid`` as an (n, H, W) NumPy array: from a tensor or an array of
    shape (n, H, W) or (n, 1, H, W)."""
    if not isinstance(row, np.ndarray):
        checks.tensor(f"rows[{i}]", row, "a tensor of images shaped (n, H, W) or (n, 1, H, W)")
    if not (row.ndim == 3 or (row.ndim == 4 and row.shape[1] == 1)):
        raise ValueError(
            f"rows[{i}] must hold images shaped (n, H, W) or (n, 1, H, W), got shape {tuple(row.shape)}; "
            "flattened images need a reshape first, for example row.reshape(-1, 28, 28)"
        )
    images = row if isinstance(row, np.ndarray) else row.detach().cpu().numpy()
    return images.reshape(len(images), *images.shape[-2:])


def image_grid(
    rows: Sequence, row_labels: Sequence[str] | None = None, *, title: str | None = None, scale: float = 0.9
):
    """Draw rows of images as a grid, one row per entry, and return the figure.

    rows: a list of rows, each a tensor of shape (n, 28, 28) or (n, 1, 28, 28) (any height and
        width), values in [0, 1]. A NumPy array of those shapes is accepted as a row too: images
        are what Matplotlib draws from NumPy, so there is nothing to convert.
    row_labels: one label per row, written at its left; title: above the grid; scale: inches
        per image.

    Taught in notebook 03, sections 1 and 4.
    """
    if isinstance(rows, (torch.Tensor, np.ndarray)) and rows.ndim == 3:
        raise TypeError(
            f"rows must be a list of image tensors, one per row, got one {type(rows).__name__} of shape "
            f"{tuple(rows.shape)}; for a single row of images pass [images]"
        )
    rows = checks.items("rows", rows, "a list of image tensors, one per row")
    rows = [_image_row(i, row) for i, row in enumerate(rows)]
    if not rows or any(len(r) != len(rows[0]) for r in rows) or len(rows[0]) == 0:
        raise ValueError("image_grid needs one or more rows with the same number of images")
    if row_labels is not None:
        row_labels = checks.items("row_labels", row_labels, "a list of labels, one per row")
        if len(row_labels) != len(rows):
            raise ValueError(f"got {len(row_labels)} row labels for {len(rows)} rows")
    if title is not None:
        checks.text("title", title)
    if checks.number("scale", scale) <= 0:
        raise ValueError(f"scale must be a positive number of inches per image, got {scale}")
    n_rows, n_cols = len(rows), len(rows[0])
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * scale, n_rows * scale), squeeze=False)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            ax = axes[i][j]
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        if row_labels is not None:
            axes[i][0].set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
