"""Shared fixtures for the ae_utils unit tests."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no windows, no display needed

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Every test starts and ends with no open Matplotlib figure."""
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def learner_x_shared() -> torch.Tensor:
    """The learner's correlated 2-D data (100 points), written out as in the question.

    Shared by module-scoped fixtures: never modify it; tests take ``learner_x``, a copy.
    """
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(100, 2, generator=generator)
    x[:, 0] = x[:, 0] + x[:, 1]
    x[:, 1] = 0.5 * x[:, 0] + x[:, 1]
    return x


@pytest.fixture
def learner_x(learner_x_shared) -> torch.Tensor:
    """A fresh copy of the learner's correlated 2-D data (100 points, float32)."""
    return learner_x_shared.clone()
