"""Loss curves: one run or several overlaid, optionally on a log scale, with the floor drawn.

The functions draw on a Matplotlib ``Axes`` and return it. In JupyterLab the figure shows
itself; in a script, call ``ax.figure.savefig(...)`` or ``plt.show()``.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt

from .training import History


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
        raise TypeError(f"a run must be a History or a sequence of numbers, got {type(run).__name__}") from None


def _as_runs(runs, labels) -> list[tuple[str | None, list[float]]]:
    if isinstance(runs, Mapping):
        if labels is not None:
            raise ValueError("give labels either as the dict's keys or as labels=, not both")
        return [(str(label), _as_losses(run)) for label, run in runs.items()]
    if _is_single_run(runs):
        runs = [runs]
    runs = list(runs)
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

    Taught in notebook 01, sections 4 and 5.
    """
    pairs = _as_runs(runs, labels)
    if not pairs or all(len(losses) == 0 for _, losses in pairs):
        raise ValueError("there is nothing to plot: every run is empty")
    if floor is not None and not math.isfinite(floor):
        raise ValueError(f"floor must be a finite number, got {floor}")
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


def image_grid(
    rows: Sequence, row_labels: Sequence[str] | None = None, *, title: str | None = None, scale: float = 0.9
):
    """Draw rows of images (each row a tensor of shape (n, 28, 28) or (n, 1, 28, 28), values
    in [0, 1]) as a grid, one row per entry, and return the figure."""
    rows = [r.detach().cpu().reshape(len(r), *r.shape[-2:]).numpy() for r in rows]
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError("image_grid needs one or more rows with the same number of images")
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"got {len(row_labels)} row labels for {len(rows)} rows")
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
