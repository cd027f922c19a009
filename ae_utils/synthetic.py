"""The learner's small correlated data set, shared by notebooks 01 and 02."""

from __future__ import annotations

import torch

from . import checks


def correlated_data(n: int = 100, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return ``n`` points in two dimensions whose columns are correlated.

    It is exactly the learner's recipe::

        x = torch.rand(n, 2)
        x[:, 0] = x[:, 0] + x[:, 1]
        x[:, 1] = 0.5 * x[:, 0] + x[:, 1]

    drawing from ``generator`` (or torch's global generator when it is None).

    Taught in notebook 02, section 2, and notebook 04, section 1 (notebook 01, section 1, builds the
    same data line by line, as the learner did).
    """
    n = checks.whole_number("n", n, 2, why="a covariance needs two points")
    x = torch.rand(n, 2, generator=generator)
    x[:, 0] = x[:, 0] + x[:, 1]
    x[:, 1] = 0.5 * x[:, 0] + x[:, 1]
    return x
