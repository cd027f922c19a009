"""theory: the Eckart-Young floor and the largest stable learning rate, checked against
NumPy eigen-decompositions, dense Hessians and actual gradient-descent runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import linear_ae_minimum, mse
from torch import nn

from ae_utils import eckart_young_floor, max_stable_lr, theory, train
from ae_utils.theory import covariance


def hessian_top_eigenvalue(x: torch.Tensor, params: list[torch.Tensor]) -> float:
    """Largest eigenvalue of the dense Hessian of the MSE over all parameters flattened (float64)."""
    x = x.double()
    shapes, sizes = [p.shape for p in params], [p.numel() for p in params]

    def loss_of(flat):
        return mse(x, *(piece.reshape(shape) for piece, shape in zip(torch.split(flat, sizes), shapes)))

    flat = torch.cat([p.reshape(-1) for p in params]).double()
    hessian = torch.autograd.functional.hessian(loss_of, flat, vectorize=True)
    return float(np.linalg.eigvalsh(hessian.numpy())[-1])


def flattest_scale(x: torch.Tensor, k: int) -> tuple[float, float]:
    """(scale, sharpness) of the flattest minimum over the encoder-scale family: a coarse
    grid over log(scale), then golden-section search inside the best grid cells."""

    def sharpness(log_scale: float) -> float:
        return hessian_top_eigenvalue(x, linear_ae_minimum(x, k, math.exp(log_scale)))

    grid = np.linspace(-3.0, 3.0, 25)
    best = int(np.argmin([sharpness(t) for t in grid]))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    golden = (math.sqrt(5) - 1) / 2
    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    fa, fb = sharpness(a), sharpness(b)
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - golden * (hi - lo)
            fa = sharpness(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + golden * (hi - lo)
            fb = sharpness(b)
    log_scale = a if fa < fb else b
    return math.exp(log_scale), min(fa, fb)


def gradient_descent(x: torch.Tensor, params: list[torch.Tensor], lr: float, steps: int, seed: int = 0) -> list[float]:
    """Plain full-batch gradient descent in float64 from ``params`` nudged by 1e-6 noise.

    Returns the loss at each step, stopping at the first non-finite one."""
    x = x.double()
    generator = torch.Generator().manual_seed(seed)
    params = [(p + 1e-6 * torch.randn(p.shape, generator=generator, dtype=p.dtype)).requires_grad_() for p in params]
    losses = []
    for _ in range(steps):
        loss = mse(x, *params)
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            break
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    return losses


@pytest.fixture
def x5() -> torch.Tensor:
    """40 points in 5 dimensions with distinct variances and a non-zero mean."""
    generator = torch.Generator().manual_seed(1)
    return torch.randn(40, 5, generator=generator) * torch.tensor([3.0, 2.0, 1.0, 0.5, 0.2]) + 1.5


@pytest.fixture(scope="module")
def centred_x(learner_x_shared) -> torch.Tensor:
    """The learner's data, centred: gradient descent at 1.1 x the limit blows up to infinity."""
    return learner_x_shared - learner_x_shared.mean(dim=0)


@pytest.fixture(scope="module")
def centred_limit(centred_x) -> float:
    return max_stable_lr(centred_x, 1)


@pytest.fixture(scope="module")
def centred_flattest_minimum(centred_x) -> list[torch.Tensor]:
    scale, _ = flattest_scale(centred_x, 1)
    return linear_ae_minimum(centred_x, 1, scale)


@pytest.fixture(scope="module")
def learner_limit(learner_x_shared) -> float:
    return max_stable_lr(learner_x_shared, 1)


# ---------------------------------------------------------------- covariance


def test_covariance_matches_numpy_population_covariance(x5):
    expected = np.cov(x5.double().numpy().T, bias=True)
    result = covariance(x5)
    assert result.dtype == torch.float64
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- eckart_young_floor


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_floor_is_discarded_eigenvalues_over_dimension(x5, k):
    data = x5.double().numpy()
    centred = data - data.mean(axis=0)
    eigenvalues = np.sort(np.linalg.eigvalsh(centred.T @ centred / len(data)))[::-1]
    expected = eigenvalues[k:].sum() / data.shape[1]
    assert eckart_young_floor(x5, k) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_floor_is_mse_of_rank_k_svd_reconstruction(x5, k):
    data = x5.double().numpy()
    mean = data.mean(axis=0)
    _, _, vt = np.linalg.svd(data - mean, full_matrices=False)
    projection = vt[:k].T @ vt[:k]
    reconstruction = (data - mean) @ projection + mean
    assert eckart_young_floor(x5, k) == pytest.approx(np.mean((reconstruction - data) ** 2), rel=1e-10)


def test_floor_is_zero_when_bottleneck_is_as_wide_as_data(x5):
    assert eckart_young_floor(x5, 5) == pytest.approx(0.0, abs=1e-12)


def test_floor_decreases_as_bottleneck_widens(x5):
    floors = [eckart_young_floor(x5, k) for k in range(1, 6)]
    assert all(a > b for a, b in zip(floors, floors[1:]))


def test_floor_same_for_float32_and_float64_data(x5):
    assert eckart_young_floor(x5.float(), 2) == pytest.approx(eckart_young_floor(x5.double(), 2), rel=1e-6)


def test_trained_linear_autoencoder_reaches_floor_from_above():
    generator = torch.Generator().manual_seed(2)
    x = (torch.randn(30, 3, generator=generator) * torch.tensor([2.0, 1.0, 0.3]) + 1.0).double()
    floor = eckart_young_floor(x, 1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 1), nn.Linear(1, 3)).double()
    history = train(model, x, torch.optim.Adam(model.parameters(), lr=0.05), steps=300, progress=False)
    assert history.losses[0] > 2 * floor
    assert min(history.losses) >= floor * (1 - 1e-9)
    assert history.final_loss == pytest.approx(floor, rel=1e-5)


@pytest.mark.parametrize(
    "k, message", [(0, "at least 1"), (-1, "at least 1"), (6, "larger than the data's dimension D=5")]
)
def test_floor_rejects_bad_k(x5, k, message):
    with pytest.raises(ValueError, match=message):
        eckart_young_floor(x5, k)


@pytest.mark.parametrize("k", [1.0, True, "1"])
def test_floor_rejects_non_integer_k(x5, k):
    with pytest.raises(TypeError, match="whole number"):
        eckart_young_floor(x5, k)


@pytest.mark.parametrize("function", [eckart_young_floor, max_stable_lr])
@pytest.mark.parametrize(
    "data, error, message",
    [
        (torch.ones(1, 3), ValueError, "1 sample"),
        (torch.ones(6), ValueError, r"shape \(samples, features\), got \(6,\)"),
        (torch.ones(4, 2, 2), ValueError, r"got \(4, 2, 2\).*flatten"),
        (torch.ones(4, 3, dtype=torch.int64), TypeError, "floating-point.*int64"),
        (torch.tensor([[1.0, 2.0], [float("nan"), 0.0]]), ValueError, "NaN or infinite"),
        (torch.tensor([[1.0, 2.0], [float("inf"), 0.0]]), ValueError, "NaN or infinite"),
        (np.ones((4, 2)), TypeError, "must be a torch.Tensor"),
    ],
)
def test_theory_rejects_bad_data(function, data, error, message):
    with pytest.raises(error, match=message):
        function(data, 1)


@pytest.mark.parametrize("k, message", [(0, "at least 1"), (3, "larger than the data's dimension D=2")])
def test_max_stable_lr_rejects_bad_k(learner_x, k, message):
    with pytest.raises(ValueError, match=message):
        max_stable_lr(learner_x, k)


# ---------------------------------------------------------------- max_stable_lr


def test_max_stable_lr_is_two_over_hessian_top_eigenvalue_at_balanced_minimum():
    """For isotropic centred data the balanced minimum is the flattest of its family."""
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(50, 4, generator=generator, dtype=torch.float64)
    x = x - x.mean(dim=0)
    expected = 2.0 / hessian_top_eigenvalue(x, linear_ae_minimum(x, 1, scale=1.0))
    assert max_stable_lr(x, 1) == pytest.approx(expected, rel=1e-6)


def test_max_stable_lr_finds_a_minimum_at_least_as_flat_as_a_fine_grid(learner_x, learner_limit):
    """For k = 1 the minima are the code scaled by a and offset by c: search that plane by brute force."""
    xd = learner_x.double()
    grid = [
        hessian_top_eigenvalue(xd, linear_ae_minimum(xd, 1, scale=math.exp(t), code_shift=c))
        for t in np.linspace(-1.0, 2.0, 31)
        for c in np.linspace(-2.0, 2.0, 41)
    ]
    assert 2.0 / learner_limit <= min(grid) * (1 + 1e-6)


def test_max_stable_lr_beats_the_flattest_unshifted_minimum_on_uncentred_data(learner_x, learner_limit):
    _, sharpness = flattest_scale(learner_x, 1)
    assert learner_limit > 1.05 * 2.0 / sharpness  # shifting the code flattens further


def test_max_stable_lr_with_two_unit_bottleneck(x5):
    x3 = x5[:, :3]
    _, sharpness = flattest_scale(x3, 2)
    assert 2.0 / max_stable_lr(x3, 2) <= sharpness * (1 + 1e-6)  # at least as flat as scaling alone finds


def test_max_stable_lr_is_above_balanced_minimums_limit_on_learner_data(learner_x, learner_limit):
    balanced = 2.0 / hessian_top_eigenvalue(learner_x, linear_ae_minimum(learner_x, 1))
    assert learner_limit > 1.5 * balanced  # the balanced minimum is far from the flattest here


def test_max_stable_lr_same_for_float32_and_float64_data(learner_x, learner_limit):
    assert max_stable_lr(learner_x.double(), 1) == pytest.approx(learner_limit, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_descent_diverges_just_above_max_stable_lr(centred_x, centred_limit, centred_flattest_minimum, seed):
    losses = gradient_descent(centred_x, centred_flattest_minimum, 1.1 * centred_limit, 400, seed)
    assert not math.isfinite(losses[-1])


@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_descent_stays_at_minimum_just_below_max_stable_lr(
    centred_x, centred_limit, centred_flattest_minimum, seed
):
    floor = eckart_young_floor(centred_x, 1)
    losses = gradient_descent(centred_x, centred_flattest_minimum, 0.9 * centred_limit, 400, seed)
    assert len(losses) == 400
    assert max(losses) == pytest.approx(floor, rel=1e-8)
    assert losses[-1] == pytest.approx(floor, rel=1e-10)


def test_minimum_with_shifted_code_is_a_global_minimum(learner_x):
    """The point used below: encoder bias moved off the centred code, decoder bias compensating."""
    shifted = linear_ae_minimum(learner_x, 1, scale=2.0, code_shift=-0.15)
    assert mse(learner_x.double(), *shifted) == pytest.approx(eckart_young_floor(learner_x, 1), rel=1e-10)


def test_no_minimum_is_stable_above_max_stable_lr_on_uncentred_data(learner_x, learner_limit):
    """The docstring's promise: above the limit every minimum throws gradient descent out."""
    shifted = linear_ae_minimum(learner_x, 1, scale=2.0, code_shift=-0.15)
    losses = gradient_descent(learner_x, shifted, 1.1 * learner_limit, 400)
    assert max(losses) > 2 * eckart_young_floor(learner_x, 1)


def test_floor_of_huge_data_is_computed_or_refused_never_nan():
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    small = eckart_young_floor(x, 1)
    assert not torch.isfinite(covariance(x * 1e154)).all()  # the covariance overflows, the floor does not
    assert eckart_young_floor(x * 1e154, 1) == pytest.approx(small * 1e308, rel=1e-9)
    with pytest.raises(ValueError, match="beyond float64's range; rescale the data"):
        eckart_young_floor(x * 1e200, 1)


def test_max_stable_lr_needs_at_least_one_round_of_search():
    x = torch.rand(30, 2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="rounds must be a whole number of at least 1, got 0"):
        max_stable_lr(x, 1, rounds=0)


@pytest.mark.parametrize(
    "limits, way",
    [((0, 3_000), "Lanczos on the dense Hessian"), ((0, 0), "Lanczos on Hessian-vector products")],
)
def test_max_stable_lr_is_the_same_by_each_eigenvalue_method(monkeypatch, x5, limits, way):
    """Every size of problem takes one of three ways to the top eigenvalue; forced onto the two
    for large problems, a small one gives the dense eigen-decomposition's answer."""
    x3 = x5[:, :3]
    exact = {k: max_stable_lr(x3, k) for k in (1, 2)}
    monkeypatch.setattr(theory, "EIGVALSH_LIMIT", limits[0])
    monkeypatch.setattr(theory, "DENSE_LIMIT", limits[1])
    # Each eigenvalue agrees to about 1e-11. Where the two top eigenvalues cross, the sharpness has a kink,
    # and golden-section search (final bracket about 3e-8 of the scale's range) can settle a little apart:
    # the search's own precision, 1e-6 as in the tests above, is the tolerance.
    for k in (1, 2):  # k = 2: the top eigenvalues are nearly equal, which power iteration found hard
        assert max_stable_lr(x3, k) == pytest.approx(exact[k], rel=1e-6), way


def test_max_stable_lr_above_the_dense_limit_matches_autograd():
    """A problem too large for every eigenvalue (301 parameters): the bound still equals 2 over the
    top eigenvalue of autograd's Hessian at the minimum the search settles in (the balanced one of
    isotropic centred data)."""
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(400, 100, generator=generator, dtype=torch.float64)
    x = x - x.mean(dim=0)
    expected = 2.0 / hessian_top_eigenvalue(x, linear_ae_minimum(x, 1, scale=1.0))
    assert max_stable_lr(x, 1) == pytest.approx(expected, rel=1e-6)


def test_max_stable_lr_with_a_warm_start_at_a_symmetric_point(monkeypatch):
    """On centred data with k = 2, the last point's top eigenvector can be orthogonal to the next one's
    (an invariant subspace): Lanczos started there saw only lower eigenvalues, and the bound came out 2%
    low. With 302 parameters the search runs on Lanczos; it must give the dense decomposition's answer."""
    generator = torch.Generator().manual_seed(20)
    x = torch.randn(120, 60, dtype=torch.float64, generator=generator) * torch.logspace(0, -3, 60, dtype=torch.float64)
    x = x - x.mean(dim=0)
    lanczos = max_stable_lr(x, 2)
    monkeypatch.setattr(theory, "EIGVALSH_LIMIT", 10**6)
    assert lanczos == pytest.approx(max_stable_lr(x, 2), rel=1e-6)
