"""How well a score tells outsiders from normal data (notebook 06): the area under the ROC curve."""

from __future__ import annotations

import torch

from . import checks


def roc_auc(normal: torch.Tensor, outsiders: torch.Tensor) -> float:
    """The area under the ROC curve of a score that should be higher for ``outsiders`` than for ``normal`` data
    (1-D tensors): the chance that a random outsider scores above a random normal one, ties counting half. 0.5 is
    guessing, 1 a perfect split, below 0.5 the score points the wrong way. Taught in notebook 06, section 7."""
    for name, scores in (("normal", normal), ("outsiders", outsiders)):
        checks.tensor(name, scores)
        if scores.dim() != 1 or len(scores) == 0 or not torch.isfinite(scores).all():
            raise ValueError(f"{name} must be a non-empty 1-D tensor of finite scores, got shape {tuple(scores.shape)}")
    _, where, counts = torch.unique(torch.cat([normal, outsiders]).double(), return_inverse=True, return_counts=True)
    ranks = (counts.cumsum(0) - (counts - 1) / 2).double()[where]  # from 1, tied scores sharing their mean rank
    n, m = len(normal), len(outsiders)
    return ((ranks[n:].sum() - m * (m + 1) / 2) / (n * m)).item()
