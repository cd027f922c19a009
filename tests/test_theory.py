"""theory: the Eckart-Young floor and the largest stable learning rate, checked against NumPy
eigen-decompositions, autograd's Hessians, brute-force scans and actual gradient-descent runs."""

from __future__ import annotations

import math
import signal
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from helpers import linear_ae_minimum, mse

from ae_utils.pca import covariance
from ae_utils.theory import eckart_young_floor, max_stable_lr


def unflatten(flat: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    return [piece.reshape(p.shape) for piece, p in zip(torch.split(flat, [p.numel() for p in like]), like)]


def autograd_hessian(x: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    """The dense Hessian of the MSE over all parameters flattened, by autograd (float64)."""
    x = x.double()
    flat = torch.cat([p.reshape(-1) for p in params]).double()
    return torch.autograd.functional.hessian(lambda f: mse(x, *unflatten(f, params)), flat)


def hessian_top_eigenvalue(x: torch.Tensor, params: list[torch.Tensor]) -> float:
    return float(np.linalg.eigvalsh(autograd_hessian(x, params).numpy())[-1])


class AutogradProduct:
    """A ``hessian_product`` for ``max_stable_lr`` from autograd's dense Hessian (one per point, cached),
    which records every point it is asked about."""

    def __init__(self, x: torch.Tensor):
        self.x, self.points, self._cache = x.double(), [], (None, None)

    def __call__(self, params: list[torch.Tensor], directions: torch.Tensor) -> torch.Tensor:
        if self._cache[0] is not params:
            self.points.append(params)
            self._cache = (params, autograd_hessian(self.x, params))
        return directions @ self._cache[1]


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


@contextmanager
def time_limit(seconds: int):
    """Fail a call that runs longer than ``seconds`` (SIGALRM; the process's main thread)."""

    def expired(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


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


@pytest.fixture(scope="module")
def learner_search(learner_x_shared) -> tuple[float, AutogradProduct]:
    """The search on the learner's data run on autograd's Hessians, each point it visited recorded."""
    product = AutogradProduct(learner_x_shared)
    return max_stable_lr(learner_x_shared, 1, hessian_product=product), product


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
    """Adam, written out (torch.optim's first import takes seconds), on a linear autoencoder from torch's
    default start: its losses approach the floor and never go below it."""
    generator = torch.Generator().manual_seed(2)
    x = (torch.randn(30, 3, generator=generator) * torch.tensor([2.0, 1.0, 0.3]) + 1.0).double()
    floor = eckart_young_floor(x, 1)
    torch.manual_seed(0)
    encoder, decoder = torch.nn.Linear(3, 1).double(), torch.nn.Linear(1, 3).double()
    params = [encoder.weight.T, encoder.bias, decoder.weight.T, decoder.bias]
    params = [p.detach().clone().requires_grad_() for p in params]
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    losses = []
    for step in range(1, 301):
        loss = mse(x, *params)
        losses.append(loss.item())
        with torch.no_grad():
            for p, g, (m, v) in zip(params, torch.autograd.grad(loss, params), moments):
                m.lerp_(g, 0.1), v.lerp_(g * g, 0.001)
                p -= 0.05 * (m / (1 - 0.9**step)) / ((v / (1 - 0.999**step)).sqrt() + 1e-8)
    assert losses[0] > 2 * floor
    assert min(losses) >= floor * (1 - 1e-9)
    assert losses[-1] == pytest.approx(floor, rel=1e-5)


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


def test_floor_of_huge_data_is_computed_or_refused_never_nan():
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    small = eckart_young_floor(x, 1)
    assert not torch.isfinite(covariance(x * 1e154)).all()  # the covariance overflows, the floor does not
    assert eckart_young_floor(x * 1e154, 1) == pytest.approx(small * 1e308, rel=1e-9)
    assert eckart_young_floor(x * 1e-100, 1) == pytest.approx(small * 1e-200, rel=1e-9)
    assert eckart_young_floor(x * 1e-200, 1) == 0.0  # 1e-400 rounds to 0 in float64
    with pytest.raises(ValueError, match="beyond float64's range; rescale the data"):
        eckart_young_floor(x * 1e200, 1)


# ---------------------------------------------------------------- max_stable_lr: against autograd and scans


@pytest.mark.parametrize("k, message", [(0, "at least 1"), (3, "larger than the data's dimension D=2")])
def test_max_stable_lr_rejects_bad_k(learner_x, k, message):
    with pytest.raises(ValueError, match=message):
        max_stable_lr(learner_x, k)


def test_max_stable_lr_is_two_over_hessian_top_eigenvalue_at_balanced_minimum():
    """For isotropic centred data the balanced minimum is the flattest of its family."""
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(50, 4, generator=generator, dtype=torch.float64)
    x = x - x.mean(dim=0)
    expected = 2.0 / hessian_top_eigenvalue(x, linear_ae_minimum(x, 1, scale=1.0))
    assert max_stable_lr(x, 1) == pytest.approx(expected, rel=1e-6)


def test_the_written_out_hessian_gives_autograds_bound(learner_search, learner_limit):
    """The same search on autograd's Hessians: the written-out Hessian agrees at every point it visits
    (to the search's precision: where two top eigenvalues cross, rounding can tip a comparison)."""
    on_autograd, product = learner_search
    assert on_autograd == pytest.approx(learner_limit, rel=1e-8)
    assert len(product.points) == 1 + 3 * 2 * 42  # a start, then 3 rounds of two golden searches


def test_every_point_the_search_visits_is_a_global_minimum(learner_x_shared, learner_search):
    """Scaling and shifting the code keeps the reconstructions: the loss is the floor at every point, in
    x's own coordinates (the encoder's bias and the decoder's move together with the shift)."""
    floor = eckart_young_floor(learner_x_shared, 1)
    _, product = learner_search
    losses = torch.tensor([float(mse(product.x, *params)) for params in product.points])
    scales = torch.tensor([float(params[0].norm()) for params in product.points])
    assert scales.max() / scales.min() > 10  # the search did range over the family
    assert torch.allclose(losses, torch.full_like(losses, floor), rtol=1e-9, atol=0)


def test_max_stable_lr_finds_a_minimum_at_least_as_flat_as_a_fine_grid(learner_x, learner_limit):
    """For k = 1 the minima are the code scaled by a and offset by c: search that plane by brute force."""
    xd = learner_x.double()
    grid = [
        hessian_top_eigenvalue(xd, linear_ae_minimum(xd, 1, scale=math.exp(t), code_shift=c))
        for t in np.linspace(0.4, 1.0, 13)
        for c in np.linspace(-0.3, 0.0, 13)
    ]
    assert 2.0 / learner_limit <= min(grid) * (1 + 1e-6)
    assert 2.0 / learner_limit >= min(grid) * (1 - 2e-2)  # and the grid comes close (the minimum is a kink)


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


def test_the_search_stops_when_a_round_no_longer_flattens(learner_x, learner_search):
    """Each round flattens, until one no longer does (after 6 here); then the search stops whatever
    ``rounds`` allows. A round is two golden-section searches of 42 points."""
    bounds, points = {3: learner_search[0]}, {3: learner_search[1].points}
    for rounds in (1, 40):
        product = AutogradProduct(learner_x)
        bounds[rounds], points[rounds] = max_stable_lr(learner_x, 1, rounds, hessian_product=product), product.points
    assert bounds[1] < bounds[3] * (1 - 1e-3) and bounds[3] < bounds[40]
    assert len(points[1]) == 1 + 84 and len(points[3]) == 1 + 3 * 84
    assert 1 + 6 * 84 <= len(points[40]) <= 1 + 9 * 84  # rounds 4 to 6 still flatten by 1.7e-6 and 1.5e-8


# ---------------------------------------------------------------- max_stable_lr: gradient descent


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


def test_max_stable_lr_needs_at_least_one_round_of_search():
    x = torch.rand(30, 2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="rounds must be a whole number of at least 1, got 0"):
        max_stable_lr(x, 1, rounds=0)
    with pytest.raises(TypeError, match=r"hessian_product must be a function \(params, directions\).*, got ndarray"):
        max_stable_lr(x, 1, hessian_product=np.eye(7))


# ---------------------------------------------------------------- max_stable_lr: size and scale


def test_max_stable_lr_answers_up_to_the_search_limit():
    """300 parameters at most: D = 99 features with k = 1 (298) are answered; the bound lies below D
    (the decoder's bias alone has curvature 2 / D)."""
    x = torch.rand(200, 99, generator=torch.Generator().manual_seed(0))
    with time_limit(30):
        bound = max_stable_lr(x, 1, rounds=1)
    assert 0 < bound < 99


@pytest.mark.parametrize(
    "shape, k, size, advice",
    [
        ((1000, 784), 1, "2,353", "at most 99 features for k=1"),
        ((200, 100), 1, "301", "at most 99 features for k=1"),
        ((20, 50), 3, "353", "k <= 2, or at most 42 features for k=3"),
    ],
)
def test_max_stable_lr_refuses_what_it_cannot_answer_in_seconds(shape, k, size, advice):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    with time_limit(5), pytest.raises(ValueError, match=f"= {size} parameters, more than the 300 .*; use {advice} "):
        max_stable_lr(x, k)


@pytest.mark.parametrize("scale", [2.0**-60, 1e-12, 1e-100, 1e-200, 1e-300])
def test_max_stable_lr_of_tiny_data_tends_to_the_bias_limit(learner_x, scale):
    """The decoder's bias has curvature 2 / D whatever the data; as the data shrink, so does every other
    curvature of the flattest minimum, and the bound rises to D (from below)."""
    assert max_stable_lr(learner_x.double() * scale, 1) == pytest.approx(2.0, rel=1e-11)
    assert max_stable_lr(learner_x.double() * scale, 1) <= 2.0


@pytest.mark.parametrize("scale", [0.1, 0.01])
def test_max_stable_lr_of_small_data_is_at_least_as_flat_as_a_wide_grid(learner_x, scale):
    """Small data have their flattest minimum at a large code scale a (about 1 / the code's spread):
    e^5 at scale 0.01, beyond the a <= e^4 once searched (1.99933 instead of 1.99992 there)."""
    xd = learner_x.double() * scale
    grid = [
        hessian_top_eigenvalue(xd, linear_ae_minimum(xd, 1, scale=math.exp(t), code_shift=c))
        for t in np.linspace(2.0, 6.0, 21)
        for c in (-1e-3, -1e-4, 0.0, 1e-4)
    ]
    assert 2.0 / max_stable_lr(xd, 1) <= min(grid) * (1 + 1e-9)


def test_max_stable_lr_of_large_data_scales_with_one_over_its_square(learner_x):
    """Large data: the bias's curvature no longer counts, and the bound falls as 1 / scale^2 (exactly
    for powers of two, which the computation divides out); beyond float64's range it is refused."""
    xd = learner_x.double()
    reference = max_stable_lr(xd * 2.0**40, 1) * 2.0**80
    for scale in (1e20, 1e100, 1e150):
        assert max_stable_lr(xd * scale, 1) * scale**2 == pytest.approx(reference, rel=1e-9)
    for scale in (1e160, 1e200):
        with pytest.raises(ValueError, match=r"the bound, about 1e-\d+, lies beyond float64's range; rescale"):
            max_stable_lr(xd * scale, 1)


def test_a_refusal_offers_the_largest_code_that_fits():
    # D = 60: k = 1 has 181 parameters (fits under 300), k = 2 has 302 (does not)
    x = torch.rand(4, 60, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ValueError, match=r"use k <= 1, or at most 59 features for k=2"):
        max_stable_lr(x, k=2)
