"""What theory says a linear autoencoder can reach (``eckart_young_floor``) and how large a step it can take
(``max_stable_lr``), both in float64 on the data divided by a power of two (exactly): any magnitude works."""

from __future__ import annotations

import functools
import math

import torch

from . import checks
from .pca import covariance, pca, unit_scaled

# max_stable_lr refuses larger autoencoders: every eigenvalue of a Hessian of 300 parameters, at each of the
# search's 253 to 631 points (k = 1 to 4), takes 1.5 to 4 s at one thread here (benchmarks/max_stable_lr.py).
SEARCH_LIMIT = 300


def eckart_young_floor(x: torch.Tensor, k: int) -> float:
    """The lowest ``nn.MSELoss()`` (mean over all N*D entries) that a linear autoencoder with a k-unit
    bottleneck and biases can reach on ``x`` (N, D): (1/D) times the covariance's eigenvalues beyond the k largest.
    Taught in notebook 01, section 5 (the floor), and notebook 04, section 1."""
    data, scale = unit_scaled(x)
    dim = data.shape[1]
    k = checks.bottleneck_width(k, dim)
    eigenvalues = torch.linalg.eigvalsh(covariance(data))  # at magnitude 1: 1e200's would overflow
    scaled = float(eigenvalues[: dim - k].clamp_min(0).sum()) / dim
    floor = scaled * scale * scale
    if not math.isfinite(floor):
        raise ValueError(
            f"the floor, {scaled:.3g} x {scale:.3g}**2, lies beyond float64's range; rescale the data first "
            "(for example x / x.abs().max()): the floor scales with the square of the data"
        )
    return floor


def _hessian(variances: torch.Tensor, u: torch.Tensor, params: list[torch.Tensor]):
    """The Hessian of ``nn.MSELoss()`` at ``params`` (encoder weight (D, k), bias, decoder weight (k, D), bias)
    as a function from directions (m, P) to their products with it, O(D k^2) each: 4 to 17x faster than
    autograd's (benchmarks/max_stable_lr.py). The data enter through G = mean of z z^T (z = [x, 1]), which is
    diag(``variances``, 0) + u u^T in the principal axes' coordinates.

    With Ab = [[W_enc, 0], [b_enc, 1]] and B = [W_dec; b_dec], the loss is tr(R^T G R) / D for R = Ab B - [I; 0].
    Along dA (of [W_enc; b_enc]) and dB, R changes by T = dA W_dec + Ab dB, and by dA dW to second order, so
    H v = (2/D) (G T W_dec^T + M dW^T, Ab^T G T + [dA^T M; 0]) with M = G R.
    """
    w_encoder, b_encoder, w_decoder, b_decoder = params
    d, k = w_encoder.shape
    diagonal, u_column = torch.nn.functional.pad(variances, (0, 1))[:, None], u[:, None]
    augmented = torch.nn.functional.pad(torch.cat([w_encoder, b_encoder[None]]), (0, 1))  # Ab, (D+1, k+1)
    augmented[d, k] = 1.0
    decoder = torch.cat([w_decoder, b_decoder[None]])  # B, (k+1, D)
    g_augmented = diagonal * augmented + u_column * (u @ augmented)  # G Ab
    gram, decoder_gram, split = augmented.T @ g_augmented, w_decoder @ w_decoder.T, (d + 1) * k

    def product(directions: torch.Tensor) -> torch.Tensor:
        m = directions.shape[0]  # a direction's first (D+1) k numbers are dA = [encoder weight; bias], then dB
        d_encoder, d_decoder = directions[:, :split].view(m, d + 1, k), directions[:, split:].view(m, k + 1, d)
        d_weight = d_decoder[:, :k].transpose(1, 2)  # dW^T, (m, D, k)
        g_encoder = torch.addcmul(diagonal * d_encoder, u_column, (u @ d_encoder)[:, None])  # G dA
        h_encoder = g_encoder @ decoder_gram + g_augmented @ (d_decoder @ w_decoder.T + decoder @ d_weight)
        h_encoder[:, :d] -= diagonal[:d] * d_weight  # - G [dW^T; 0]
        h_encoder -= u_column * (u[:d] @ d_weight)[:, None]
        h_decoder = g_augmented.T @ d_encoder @ w_decoder + gram @ d_decoder
        h_decoder[:, :k] += (g_encoder.transpose(1, 2) @ augmented) @ decoder - g_encoder[:, :d].transpose(1, 2)
        return torch.cat([h_encoder.view(m, -1), h_decoder.view(m, -1)], dim=1) * (2.0 / d)

    return product


def _golden_minimum(f, lo: float, hi: float, iterations: int = 40) -> tuple[float, float]:
    """(argmin, min) of a unimodal function on [lo, hi] by golden-section search."""
    ratio = (5**0.5 - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(iterations):
        if fa < fb:  # the minimum lies in [lo, b]: the old b is the upper end, the old a its inner point
            hi, b, fb, a = b, a, fa, b - ratio * (b - lo)
            fa = f(a)
        else:  # in [a, hi]: the old a is the lower end, the old b its inner point
            lo, a, fa, b = a, b, fb, a + ratio * (hi - a)
            fb = f(b)
    return (a, fa) if fa < fb else (b, fb)


def _principal_frame(scaled: torch.Tensor, unit: float, hessian_product) -> tuple:
    """The search's inputs in the principal axes' coordinates, from the data ``scaled`` = x / ``unit``: the mean,
    the Hessian (``_hessian``, or ``hessian_product`` in x's coordinates), the scale dividing the data (the bound
    is scaled back), the log of the smallest code scale ``a`` to search, and the data's spread."""
    mean, axes, variances = pca(scaled, scaled.shape[1])
    # The encoder's curvature, about g / a^2 (g = |u|^2 + the largest variance), meets the decoder's, about
    # a^2 variance, at a^4 = g / variance; small data are flat up to a^2 = 1 / variance. The variance counts
    # as at least (1e-6 |mean|)^2: beyond, the encoder's bias cancels the mean's code with rounding errors.
    log_mean = math.log(max(float(mean.norm()), 1e-300)) + math.log(unit)
    log_variance = max(math.log(max(float(variances[0]), 1e-300)) + 2 * math.log(unit), 2 * (log_mean - math.log(1e6)))
    scale = max(1.0, unit)
    mean, variances = axes @ mean * (unit / scale), variances * (unit / scale) * (unit / scale)
    u = torch.cat([mean, mean.new_full((1,), 1 / scale)])  # G = diag(variances, 0) + u u^T
    log_g = math.log(float(variances[0] + u @ u)) + 2 * math.log(scale)
    low = min(max(-4.0, (max(log_g, -log_variance) - log_variance) / 4 - 6.0), 600.0)  # searched from 6 below
    spread = (float((scaled * (unit / scale)).std(dim=0).norm()) + float(mean.norm())) * scale
    if hessian_product is None:
        return mean * scale, functools.partial(_hessian, variances, u), scale, low, spread
    rotate = lambda p: [axes.T @ p[0], p[1], p[2] @ axes, p[3] @ axes]  # noqa: E731
    return mean * scale, lambda p: functools.partial(hessian_product, rotate(p)), 1.0, low, spread


def _flattest(sharpness_at, k: int, low: float, spread: float, rounds: int) -> float:
    """The smallest ``sharpness_at(log_a, c)`` found by alternating golden-section searches over log_a in
    [low, low + 8] and over each entry of c in +-4 (``spread`` a + min(a, e^4)), until a round no longer
    flattens or after ``rounds`` rounds."""
    log_scale, shift = 0.0, torch.zeros(k, dtype=torch.float64)
    best = sharpness_at(log_scale, shift)
    for _ in range(rounds):
        before = best
        log_scale, best = _golden_minimum(lambda t: sharpness_at(t, shift), low, low + 8.0)
        width = 4.0 * (spread + min(1.0, math.exp(4.0 - log_scale))) * math.exp(log_scale)
        for i in range(k):
            entry_i = torch.arange(k) == i
            shift[i], best = _golden_minimum(
                lambda v: sharpness_at(log_scale, torch.where(entry_i, v, shift)), -width, width
            )
        if before - best <= 1e-12 * best:  # a round that no longer flattens: the search has converged
            break
    return best


def max_stable_lr(x: torch.Tensor, k: int = 1, rounds: int = 3, *, hessian_product=None) -> float:
    """The largest learning rate at which full-batch gradient descent can settle in a minimum of a k-unit
    linear autoencoder with biases, trained on ``x`` with ``nn.MSELoss()``.

    Gradient descent is thrown out of a minimum whose Hessian has an eigenvalue above 2 / lr. The minima form
    a family (the code scaled by ``a`` and offset by ``c``: same reconstructions, other curvatures); this
    returns 2 / the smallest top eigenvalue over it, searching ``a`` and each entry of ``c`` ``rounds`` times at
    most (for k > 1 not the code's mixings: an estimate). Below it a run can still blow up from a far start.
    ``hessian_product(params, directions)`` (tests, benchmarks) replaces the written-out Hessian: the products
    (m, P) of directions (m, P) with the Hessian at [encoder weight (D, k), its bias, decoder weight (k, D), its
    bias] in x's coordinates.

    Taught in notebook 01, sections 6 and 7 (where training diverges; mean against sum), and its
    Going deeper part (how the search runs over the family of minima)."""
    scaled, unit = unit_scaled(x)
    dim = scaled.shape[1]
    k = checks.bottleneck_width(k, dim)
    rounds = checks.whole_number("rounds", rounds, why="without a search the bound is that of one arbitrary minimum")
    if hessian_product is not None:
        checks.function("hessian_product", hessian_product, "a function (params, directions) -> products")
    size, most_k = k * (2 * dim + 1) + dim, (SEARCH_LIMIT - dim) // (2 * dim + 1)
    if size > SEARCH_LIMIT:
        raise ValueError(
            f"a linear autoencoder with a k={k} code on D={dim} features has (D+1)k + (k+1)D = {size:,} parameters, "
            f"more than the {SEARCH_LIMIT:,} whose Hessian max_stable_lr searches in seconds; use "
            + (f"k <= {most_k}, or " if most_k >= 1 else "")
            + f"at most {(SEARCH_LIMIT - k) // (2 * k + 1)} features for k={k} (for example a subset of the pixels)"
        )
    mean, hessian, scale, low, spread = _principal_frame(scaled, unit, hessian_product)
    basis, identity = torch.eye(dim, k, dtype=torch.float64).flip(1), torch.eye(size, dtype=torch.float64)

    def sharpness_at(log_a: float, c: torch.Tensor) -> float:
        """The top eigenvalue of the Hessian at the global minimum whose code, on the top-k principal axes, is
        scaled by e^log_a and offset by c (the biases compensate)."""
        w_encoder, w_decoder = basis * math.exp(log_a), basis.T / math.exp(log_a)
        minimum = [w_encoder, c - mean @ w_encoder, w_decoder, mean - c @ w_decoder]
        return float(torch.linalg.eigvalsh(hessian(minimum)(identity))[-1])

    bound = 2.0 / _flattest(sharpness_at, k, low, spread, rounds)
    if bound / scale / scale < torch.finfo(torch.float64).tiny:  # from data of about 1e154 on
        raise ValueError(
            f"the bound, about 1e{math.log10(bound) - 2 * math.log10(scale):.0f}, lies beyond float64's range; "
            "rescale the data first (for example x / x.abs().max()): the bound scales with 1 / the data's square"
        )
    return bound / scale / scale
