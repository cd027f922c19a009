"""What theory says a linear autoencoder can reach, and how large a step it can take.

- ``eckart_young_floor``: the lowest ``nn.MSELoss()`` any k-unit linear autoencoder with
  biases can reach on given data (Eckart-Young; Baldi & Hornik 1989).
- ``max_stable_lr``: the largest learning rate at which plain gradient descent can stay in
  a minimum instead of being thrown out of it (lr < 2 / largest Hessian eigenvalue).

Both work in float64 whatever the data's dtype, so their answers are exact to print precision.
"""

from __future__ import annotations

import math

import torch

from . import checks
from .models import linear_ae_reconstruction


def covariance(x: torch.Tensor) -> torch.Tensor:
    """The data's covariance C = (1/N) sum (x - mean)(x - mean)^T, in float64."""
    x = checks.data_matrix(x)
    centred = x - x.mean(dim=0)
    return centred.T @ centred / x.shape[0]


def eckart_young_floor(x: torch.Tensor, k: int) -> float:
    """The lowest ``nn.MSELoss()`` (mean over all N*D entries) that a linear autoencoder
    with a k-unit bottleneck and biases can reach on ``x`` of shape (N, D).

    It equals (1/D) times the sum of the covariance's eigenvalues beyond the k largest.

    Taught in notebook 01, section 5 (the floor), and notebook 04, section 1.
    """
    cov = covariance(x)
    scale = 1.0
    if not torch.isfinite(cov).all():  # huge values overflow the covariance: work with the data scaled down
        data = checks.data_matrix(x)
        scale = (data - data.mean(dim=0)).abs().max().item()
        cov = covariance(data / scale)
    eigenvalues = torch.linalg.eigvalsh(cov)  # ascending
    dim = eigenvalues.numel()
    k = checks.bottleneck_width(k, dim)
    scaled = float(eigenvalues[: dim - k].clamp_min(0).sum() / dim)
    floor = scaled * scale * scale if scaled else 0.0
    if not math.isfinite(floor):
        raise ValueError(
            f"the floor, {scaled:.3g} x {scale:.3g}**2, lies beyond float64's range; rescale the data first "
            "(for example x / x.abs().max()): the floor scales with the square of the data"
        )
    return floor


def _optimum(
    x: torch.Tensor, k: int, scale: float = 1.0, shift: torch.Tensor | None = None, basis: torch.Tensor | None = None
) -> list[torch.Tensor]:
    """A global minimum: encoder = top-k principal basis * scale, decoder = its transpose / scale,
    and the code offset by ``shift`` (the encoder's bias moves, the decoder's compensates).

    Every ``scale`` and ``shift`` gives the same reconstructions and loss; the curvature differs.
    """
    mean = x.mean(dim=0)
    if basis is None:
        basis = torch.linalg.eigh(covariance(x))[1][:, -k:]  # (D, k), orthonormal
    w_encoder, w_decoder = basis * scale, basis.T / scale
    shift = torch.zeros(k, dtype=x.dtype) if shift is None else shift
    b_encoder = shift - mean @ w_encoder
    return [w_encoder, b_encoder, w_decoder, mean - shift @ w_decoder]


def _golden_minimum(f, lo: float, hi: float, iterations: int = 40) -> tuple[float, float]:
    """(argmin, min) of a unimodal function on [lo, hi] by golden-section search."""
    ratio = (5**0.5 - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(iterations):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = f(b)
    return (a, fa) if fa < fb else (b, fb)


def _sharpness(x: torch.Tensor, params: list[torch.Tensor], iterations: int = 500, start: list | None = None) -> float:
    """The largest eigenvalue of the Hessian of ``nn.MSELoss()`` at ``params``.

    Small problems use the dense Hessian; large ones power iteration with Hessian-vector
    products (the Hessian at a minimum has no negative eigenvalues), started from
    ``start[0]`` when given (the top eigenvector of a nearby point), which it then updates.
    """
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        parts = [piece.reshape(shape) for piece, shape in zip(torch.split(flat, sizes), shapes)]
        return torch.mean((linear_ae_reconstruction(x, *parts) - x) ** 2)

    flat = torch.cat([p.reshape(-1) for p in params])
    if flat.numel() <= 300:
        hessian = torch.autograd.functional.hessian(loss_of, flat, vectorize=True)
        return float(torch.linalg.eigvalsh(hessian)[-1])
    flat.requires_grad_()
    (grad,) = torch.autograd.grad(loss_of(flat), flat, create_graph=True)
    vector = torch.randn(flat.shape, generator=torch.Generator().manual_seed(0), dtype=flat.dtype)
    if start is not None and start[0] is not None:
        vector = start[0].clone()
    top = 0.0
    for _ in range(iterations):
        vector = vector / vector.norm()
        (product,) = torch.autograd.grad(grad, flat, grad_outputs=vector, retain_graph=True)
        estimate = float(product @ vector)
        vector = product.detach()
        if abs(estimate - top) <= 1e-9 * abs(estimate):
            break
        top = estimate
    if start is not None:
        start[0] = vector / vector.norm()
    return estimate


def max_stable_lr(x: torch.Tensor, k: int = 1, rounds: int = 3) -> float:
    """The largest learning rate at which full-batch SGD can settle in a minimum of a k-unit
    linear autoencoder with biases, trained on ``x`` with ``nn.MSELoss()``.

    Gradient descent cannot stay in a minimum whose Hessian has an eigenvalue above 2/lr
    (it is thrown out along that direction). The minima of a linear autoencoder form a
    family: scale the code by ``a`` and offset it by ``c`` (encoder weights times ``a``, its
    bias moved; decoder weights divided by ``a``, its bias compensating), and the
    reconstructions stay the same while the curvature changes. This returns 2 / (the
    smallest largest-eigenvalue over that family), found by alternating golden-section
    searches over ``a`` and each entry of ``c``; so above it no minimum is stable. For k = 1
    that is the whole family; for k > 1 only uniform scalings are searched (mixing the code's
    units can flatten further), so there the bound is an estimate.

    Below it, a run from a random start can still blow up on the way: starting points far
    from the minimum are sharper.

    Taught in notebook 01, section 6 (where training diverges).
    """
    x = checks.data_matrix(x)
    k = checks.bottleneck_width(k, x.shape[1])
    rounds = checks.whole_number("rounds", rounds, why="without a search the bound is that of one arbitrary minimum")
    log_scale, shift = 0.0, torch.zeros(k, dtype=x.dtype)
    spread = float(x.std(dim=0).norm()) + float(x.mean(dim=0).norm()) + 1.0
    basis = torch.linalg.eigh(covariance(x))[1][:, -k:]  # once: every minimum of the family shares it
    warm = [None]  # the last top eigenvector: the next point is near, so power iteration starts there

    def sharpness_at(log_a: float, c: torch.Tensor) -> float:
        return _sharpness(x, _optimum(x, k, math.exp(log_a), c, basis), start=warm)

    best = sharpness_at(log_scale, shift)
    for _ in range(rounds):
        log_scale, best = _golden_minimum(lambda t: sharpness_at(t, shift), -4.0, 4.0)
        for i in range(k):

            def along(value: float, i: int = i) -> float:
                trial = shift.clone()
                trial[i] = value
                return sharpness_at(log_scale, trial)

            value, best = _golden_minimum(
                along, -4.0 * spread * math.exp(log_scale), 4.0 * spread * math.exp(log_scale)
            )
            shift[i] = value
    return 2.0 / best
