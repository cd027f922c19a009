"""What theory says a linear autoencoder can reach, and how large a step it can take.

- ``eckart_young_floor``: the lowest ``nn.MSELoss()`` any k-unit linear autoencoder with
  biases can reach on given data (Eckart-Young; Baldi & Hornik 1989).
- ``max_stable_lr``: the largest learning rate at which plain gradient descent can stay in
  a minimum instead of being thrown out of it (lr < 2 / largest Hessian eigenvalue).

Both build on ``pca`` and work in float64 whatever the data's dtype, so their answers are exact to
print precision, for data of any magnitude that float64 holds (divided by a power of two first, exactly).
"""

from __future__ import annotations

import functools
import math
import sys

import torch

from . import checks
from .pca import covariance, pca

# Up to EIGVALSH_LIMIT parameters every eigenvalue of the Hessian is computed; above, the top one by Lanczos.
# Above SEARCH_LIMIT max_stable_lr refuses: 3,922 (k = 2 on 784 pixels) take about 6 s at one thread here.
EIGVALSH_LIMIT, SEARCH_LIMIT = 300, 4_000


def _power_of_two(data: torch.Tensor) -> float:
    """The power of two just above the largest magnitude in ``data`` (1 for zeros): dividing by it is exact."""
    return math.ldexp(1.0, min(math.frexp(float(data.abs().max()))[1], 1023))


def eckart_young_floor(x: torch.Tensor, k: int) -> float:
    """The lowest ``nn.MSELoss()`` (mean over all N*D entries) that a linear autoencoder
    with a k-unit bottleneck and biases can reach on ``x`` of shape (N, D).

    It equals (1/D) times the sum of the covariance's eigenvalues beyond the k largest.

    Taught in notebook 01, section 5 (the floor), and notebook 04, section 1.
    """
    data = checks.data_matrix(x)
    dim = data.shape[1]
    k = checks.bottleneck_width(k, dim)
    scale = _power_of_two(data)
    eigenvalues = torch.linalg.eigvalsh(covariance(data / scale))  # at magnitude 1: 1e200's would overflow
    scaled = float(eigenvalues[: dim - k].clamp_min(0).sum()) / dim
    floor = scaled * scale * scale if scaled else 0.0
    if not math.isfinite(floor):
        raise ValueError(
            f"the floor, {scaled:.3g} x {scale:.3g}**2, lies beyond float64's range; rescale the data first "
            "(for example x / x.abs().max()): the floor scales with the square of the data"
        )
    return floor


def _optimum(mean: torch.Tensor, k: int, scale: float, shift: torch.Tensor) -> list[torch.Tensor]:
    """A global minimum in the principal axes' coordinates (the data's mean ``mean``): encoder = the top-k
    axes * scale, decoder = their transpose / scale, and the code offset by ``shift`` (the encoder's bias
    moves, the decoder's compensates). Every ``scale`` and ``shift`` gives the same reconstructions and
    loss; the curvature differs. (Unit i is axis k-1-i, as an ascending eigen-decomposition orders them.)
    """
    basis = torch.eye(len(mean), k, dtype=torch.float64).flip(1)
    w_encoder, w_decoder = basis * scale, basis.T / scale
    return [w_encoder, shift - mean @ w_encoder, w_decoder, mean - shift @ w_decoder]


def _hessian(variances: torch.Tensor, u: torch.Tensor, params: list[torch.Tensor]):
    """The Hessian of ``nn.MSELoss()`` of the linear autoencoder ``params`` (encoder weight (D, k) and bias,
    decoder weight (k, D) and bias, flattened in that order), as the function from directions (m, P) to their
    products with it. The data enter through G = the mean of z z^T over the samples z = [x, 1], which in the
    principal axes' coordinates is diag(``variances``, 0) + u u^T (u = [mean, 1]): a product costs O(D k^2).

    Written out: with A = [encoder weight; bias], Ab = [A, e] (e: the bias row's unit vector), B = [decoder
    weight; bias] and W its weight, the residual R = [x, 1] (Ab B - [I; 0]) changes along (dA, dB) by
    [x, 1] T to first order (T = dA W + Ab dB) and [x, 1] dA dW to second; the loss is tr(R^T R) / (N D), so
    H v = (2/D) (G T W^T + M dW^T, Ab^T G T + [dA^T M; 0]) with M = G (Ab B - [I; 0]).
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


def _sharpness(hessian, params: list[torch.Tensor], warm: list) -> float:
    """The largest eigenvalue of the Hessian whose products with directions ``hessian(params)`` gives: from
    every eigenvalue up to ``EIGVALSH_LIMIT`` parameters, else by Lanczos iteration started from ``warm[0]``
    (the top eigenvector of the last, nearby point), which it then updates."""
    size, product = sum(p.numel() for p in params), hessian(params)
    if size <= EIGVALSH_LIMIT:
        return float(torch.linalg.eigvalsh(product(torch.eye(size, dtype=torch.float64)))[-1])
    if warm[0] is None:
        warm[0] = torch.randn(size, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    value, warm[0] = _lanczos_top(lambda v: product(v[None])[0], warm[0])
    return value


def _lanczos_top(product, start: torch.Tensor, steps: int = 300, rtol: float = 1e-11) -> tuple[float, torch.Tensor]:
    """The largest eigenvalue of the symmetric operator ``product`` and its eigenvector, by
    Lanczos iteration from ``start`` with full reorthogonalisation. It stops when the Ritz
    residual |H y - theta y| falls below ``rtol * theta``, which bounds the eigenvalue's error
    by as much; nearly equal top eigenvalues (a k-unit code has them) slow it little.

    A start inside an invariant subspace (a warm start at a symmetric point can be one) would
    only ever see that subspace's eigenvalues, so a small random part is added to it, and when
    the Krylov space runs out the iteration goes on from a random vector orthogonal to it."""
    size = start.numel()
    noise = torch.Generator().manual_seed(0)

    def random_vector() -> torch.Tensor:
        r = torch.randn(size, dtype=start.dtype, generator=noise)
        return r / r.norm()

    basis = torch.empty(min(steps, size) + 1, size, dtype=start.dtype)
    first = start / start.norm() + 1e-3 * random_vector()
    basis[0] = first / first.norm()
    alphas, betas, scale = [], [], 0.0
    for j in range(len(basis) - 1):
        w = product(basis[j])
        alphas.append(float(w @ basis[j]))
        scale = max(scale, float(w.norm()))
        for _ in range(2):  # twice is enough to keep the basis orthonormal to rounding
            w = w - (basis[: j + 1] @ w) @ basis[: j + 1]
        betas.append(float(w.norm()))
        last = j == len(basis) - 2
        if betas[j] <= 1e-12 * scale and not last:  # an invariant subspace: go on outside it
            w = random_vector()
            for _ in range(2):
                w = w - (basis[: j + 1] @ w) @ basis[: j + 1]
            betas[j] = 0.0  # the tridiagonal matrix splits into blocks, one per subspace
            basis[j + 1] = w / w.norm()
            continue
        if j % 4 == 3 or last:  # look at the Ritz values every 4 steps
            off = torch.tensor(betas[:j], dtype=start.dtype)
            thetas, ritz = torch.linalg.eigh(
                torch.diag(torch.tensor(alphas, dtype=start.dtype)) + off.diag(1) + off.diag(-1)
            )
            theta = float(thetas[-1])
            if betas[j] * abs(float(ritz[-1, -1])) <= rtol * abs(theta) or last:
                break
        basis[j + 1] = w / betas[j]
    vector = ritz[:, -1] @ basis[: j + 1]
    return theta, vector / vector.norm()


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


def _principal_frame(data: torch.Tensor, hessian_product) -> tuple:
    """What the search needs, in the principal axes' coordinates (where the second moments G are diagonal
    plus rank one): the data's mean there; ``_hessian`` bound to G, or ``hessian_product`` given the
    parameters in x's own coordinates; the scale that G is divided by (data above 1 enter as data / scale,
    exactly, and the bound is scaled back); the log of the smallest code scale ``a`` to search; and the
    data's spread (the norms of its standard deviation and mean)."""
    unit = _power_of_two(data)  # PCA is scale-equivariant: done at magnitude 1, whatever the data's
    mean, axes, variances = pca(data / unit, data.shape[1])
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
    spread = (float((data / scale).std(dim=0).norm()) + float(mean.norm())) * scale
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

            def along(value: float, i: int = i) -> float:
                trial = shift.clone()
                trial[i] = value
                return sharpness_at(log_scale, trial)

            shift[i], best = _golden_minimum(along, -width, width)
        if before - best <= 1e-12 * best:  # a round that no longer flattens: the search has converged
            break
    return best


def max_stable_lr(x: torch.Tensor, k: int = 1, rounds: int = 3, *, hessian_product=None) -> float:
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
    from the minimum are sharper. Autoencoders of more than ``SEARCH_LIMIT`` parameters are refused.
    ``hessian_product(params, directions)``, for tests and benchmarks, replaces the written-out Hessian:
    given [encoder weight (D, k), its bias, decoder weight (k, D), its bias] and directions (m, P), it
    returns their products (m, P) with the Hessian for ``x`` (see ``benchmarks/max_stable_lr.py``).

    Taught in notebook 01, sections 6 and 7 (where training diverges; mean against sum), and its
    Going deeper part (how the search runs over the family of minima).
    """
    data = checks.data_matrix(x)
    k = checks.bottleneck_width(k, data.shape[1])
    rounds = checks.whole_number("rounds", rounds, why="without a search the bound is that of one arbitrary minimum")
    if hessian_product is not None:
        checks.function("hessian_product", hessian_product, "a function (params, directions) -> products")
    dim = data.shape[1]
    size, most_k = k * (2 * dim + 1) + dim, (SEARCH_LIMIT - dim) // (2 * dim + 1)
    if size > SEARCH_LIMIT:
        raise ValueError(
            f"a linear autoencoder with a k={k} code on D={dim} features has (D+1)k + (k+1)D = {size:,} parameters, "
            f"more than the {SEARCH_LIMIT:,} whose Hessian max_stable_lr searches in seconds; use "
            + (f"k <= {most_k}, or " if most_k else "")
            + f"at most {(SEARCH_LIMIT - k) // (2 * k + 1)} features for k={k} (for example a subset of the pixels)"
        )
    mean, hessian, scale, low, spread = _principal_frame(data, hessian_product)
    warm = [None]  # the last top eigenvector: the next point is near, so Lanczos starts there

    def sharpness_at(log_a: float, c: torch.Tensor) -> float:
        return _sharpness(hessian, _optimum(mean, k, math.exp(log_a), c), warm)

    bound = 2.0 / _flattest(sharpness_at, k, low, spread, rounds)
    if bound / scale / scale < sys.float_info.min:  # from data of about 1e154 on
        raise ValueError(
            f"the bound, about 1e{math.log10(bound) - 2 * math.log10(scale):.0f}, lies beyond float64's range; "
            "rescale the data first (for example x / x.abs().max()): the bound scales with 1 / the data's square"
        )
    return bound / scale / scale
