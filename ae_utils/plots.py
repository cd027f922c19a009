"""Loss curves (one run or several overlaid, on a log scale if asked, the floor drawn) and grids of
images. Each returns its ``Axes`` or figure: JupyterLab shows it; a script calls ``plt.show()``."""

from __future__ import annotations

import numbers
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from . import checks
from .training import History

_RUNS = "a History, a list of losses, a list of those, or a dict label -> run"


def _labels(name: str, labels, count: int, of: str, hint: str = "") -> list | None:
    """``labels`` as a list of one label per ``of`` (None stays None)."""
    if labels is None:
        return None
    labels = checks.items(name, labels, f"a list of labels, one per {of}{hint}")
    if len(labels) != count:
        raise ValueError(f"got {len(labels)} {name.replace('_', ' ')} for {count} {of}s")
    return labels


def _losses(run) -> list[float]:
    if isinstance(run, History):
        return run.losses
    try:
        return [float(v) for v in (run.tolist() if hasattr(run, "tolist") else run)]
    except (TypeError, ValueError):
        raise TypeError(
            f"a run must be a History or a sequence of numbers, got {type(run).__name__} (runs must be {_RUNS})"
        ) from None


def _as_runs(runs, labels) -> list[tuple[str | None, list[float]]]:
    """``runs`` as plot_losses takes them, as (label, losses) pairs."""
    if getattr(runs, "ndim", 0) > 2:
        raise ValueError(f"runs as an array must have shape (steps,) or (runs, steps), got {checks.shown(runs)}")
    if isinstance(runs, Mapping):
        if labels is not None:
            raise ValueError("give labels either as the dict's keys or as labels=, not both")
        return [(str(label), _losses(run)) for label, run in runs.items()]
    first = runs[0] if isinstance(runs, Sequence) and runs else None
    numbers_in_a_list = isinstance(first, numbers.Real) or getattr(first, "ndim", None) == 0  # 0-d tensors too
    if numbers_in_a_list or isinstance(runs, History) or getattr(runs, "ndim", 0) == 1:
        runs = [runs]
    runs = checks.items("runs", runs, _RUNS)
    labels = _labels("labels", labels, len(runs), "run", " (for one run: [label])") or [None] * len(runs)
    return [(label, _losses(run)) for label, run in zip(labels, runs)]


def plot_losses(runs, labels=None, *, floor=None, log=False, ax=None, title=None, ylabel="MSE loss"):
    """Plot loss against step for one run or several, and return the Axes. runs: a ``History`` or a list of losses;
    a list of those; a dict label -> run; or a 2-D array or tensor, one run per row. floor: drawn as a dashed line
    (the Eckart-Young floor, say); log: log scale. Taught in notebook 01, section 5."""
    pairs = _as_runs(runs, labels)
    if all(len(losses) == 0 for _, losses in pairs):
        raise ValueError("there is nothing to plot: every run is empty")
    floor = None if floor is None else checks.number("floor", floor)
    checks.flag("log", log)
    checks.instance("ylabel", ylabel, str, "a string")
    checks.instance("title", title, (str, type(None)), "a string")
    checks.instance("ax", ax, (Axes, type(None)), "a Matplotlib Axes (for example from plt.subplots())")
    ax = plt.subplots(figsize=(7, 4))[1] if ax is None else ax
    for label, losses in pairs:
        ax.plot(range(1, len(losses) + 1), losses, label=label, linewidth=1.5)
    if floor is not None:
        ax.axhline(floor, color="black", linestyle="--", linewidth=1, label=f"floor {floor:.4g}")
    ax.set(xlabel="step", ylabel=ylabel, title=title or ax.get_title())
    if log:
        ax.set_yscale("log")
    if floor is not None or any(label for label, _ in pairs):
        ax.legend(loc="upper right", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    return ax


def _image_row(i: int, row) -> np.ndarray:
    """Row ``i`` of ``image_grid`` as (n, H, W) grey levels from 0 (black) to 1 (white)."""
    if not isinstance(row, np.ndarray):
        row = checks.tensor(f"rows[{i}]", row, "a tensor of images shaped (n, H, W) or (n, 1, H, W)").detach().cpu()
        row = (row.float() if row.dtype == torch.bfloat16 else row).numpy()  # NumPy has no bfloat16
    if not (row.ndim == 3 or (row.ndim == 4 and row.shape[1] == 1)):
        raise ValueError(
            f"rows[{i}] must hold images shaped (n, H, W) or (n, 1, H, W), got shape {tuple(row.shape)}; "
            "flattened images need a reshape first, for example row.reshape(-1, 28, 28)"
        )
    if row.dtype == np.uint8:
        row = row / 255
    elif not (np.issubdtype(row.dtype, np.floating) or row.dtype == np.bool_):
        raise TypeError(
            f"rows[{i}] has dtype {row.dtype}; image_grid draws floats in [0, 1] and uint8 pixels 0..255: "
            f"for other whole-number pixels 0..255 pass rows[{i}] / 255"
        )
    return row.reshape(len(row), *row.shape[-2:])


def image_grid(rows, row_labels=None, *, title=None, scale=0.9):
    """Draw rows of images as a grid and return the figure. rows: a list of rows, each a tensor or NumPy array
    (n, H, W) or (n, 1, H, W) of values in [0, 1] (or uint8 pixels 0..255). row_labels: one per row, at its left;
    scale: inches per image. Taught in notebook 03, sections 1 and 4."""
    if isinstance(rows, (torch.Tensor, np.ndarray)) and rows.ndim == 3:
        raise TypeError(
            f"rows must be a list of image tensors, one per row, got one {type(rows).__name__} of shape "
            f"{tuple(rows.shape)}; for a single row of images pass [images]"
        )
    rows = checks.items("rows", rows, "a list of image tensors, one per row")
    rows = [_image_row(i, row) for i, row in enumerate(rows)]
    counts = {len(row) for row in rows}
    if len(counts) != 1 or 0 in counts:
        raise ValueError("image_grid needs one or more rows with the same number of images")
    row_labels = _labels("row_labels", row_labels, len(rows), "row")
    checks.instance("title", title, (str, type(None)), "a string")
    if checks.number("scale", scale) <= 0:
        raise ValueError(f"scale must be a positive number of inches per image, got {scale}")
    n_rows, n_cols = len(rows), len(rows[0])
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * scale, n_rows * scale), squeeze=False)
    for ax, image in zip(axes.flat, [image for row in rows for image in row]):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.set(xticks=[], yticks=[])
    for ax, label in zip(axes[:, 0], row_labels or []):
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
