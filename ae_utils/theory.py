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


def _hessian_products(x: torch.Tensor, params: list[torch.Tensor], directions: torch.Tensor) -> torch.Tensor:
    """H @ v for each row v of ``directions`` (shape (m, P)), H the Hessian of ``nn.MSELoss()``
    of the linear autoencoder ``params`` (encoder weight and bias, decoder weight and bias,
    flattened in that order into P numbers) on ``x``.

    Written out instead of differentiated twice: the residual R = (x A + b) B + c - x is
    bilinear in the encoder (A, b) and the decoder (B, c), so for a direction v with Jv the
    change of R to first order and q(v) = (x dA + db) dB its second-order change, the loss
    (1/ND)|R|^2 has H v = (2/ND) (J^T J v + the gradient of <R, q(v)> in v).
    """
    w_encoder, b_encoder, w_decoder, b_decoder = params
    n, d = x.shape
    sizes = [p.numel() for p in params]
    if directions.ndim != 2 or directions.shape[1] != sum(sizes):
        raise ValueError(
            f"directions must have shape (m, {sum(sizes)}), one row per direction, got {tuple(directions.shape)}"
        )
    m = directions.shape[0]
    pieces = torch.split(directions, sizes, dim=1)
    d_we, d_be, d_wd, d_bd = (piece.reshape(m, *p.shape) for piece, p in zip(pieces, params))
    code = x @ w_encoder + b_encoder  # (N, k)
    residual = code @ w_decoder + b_decoder - x  # (N, D)
    d_code = x @ d_we + d_be[:, None, :]  # (m, N, k)
    jv = d_code @ w_decoder + code @ d_wd + d_bd[:, None, :]  # (m, N, D): R's first-order change
    to_code = jv @ w_decoder.T  # J^T J v, through the code for the encoder's parameters
    h_we = x.T @ to_code + (x.T @ residual) @ d_wd.transpose(1, 2)  # ... plus <R, q>'s gradient
    h_be = to_code.sum(1) + residual.sum(0) @ d_wd.transpose(1, 2)
    h_wd = code.T @ jv + d_code.transpose(1, 2) @ residual
    h_bd = jv.sum(1)
    products = torch.cat([h.reshape(m, -1) for h in (h_we, h_be, h_wd, h_bd)], dim=1)
    return products * (2.0 / (n * d))


# Up to this many parameters every eigenvalue of the dense Hessian is computed; above, the top one by Lanczos.
EIGVALSH_LIMIT = 300
# Above this many parameters the Hessian is not built as a matrix (3,000 take 72 MB in float64).
DENSE_LIMIT = 3_000


def _dense_hessian(x: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    """The same Hessian as a (P, P) matrix, from its blocks. With the biases taken into the
    weights (X = [x, 1], A = [encoder weight; bias], Z = [X A, 1], B = [decoder weight; bias]),
    J^T J has blocks X^T X (x) W W^T, X^T Z (x) W and Z^T Z (x) I (W the decoder's weight,
    (x) the Kronecker product, parameters flattened row by row), and <R, q> adds M = X^T R,
    coupling each code unit's encoder column with the same unit's decoder row."""
    w_encoder, b_encoder, w_decoder, b_decoder = params
    n, d = x.shape
    k = w_encoder.shape[1]
    ones = torch.ones(n, 1, dtype=x.dtype)
    x_aug = torch.cat([x, ones], dim=1)  # (N, D+1)
    code = torch.cat([x @ w_encoder + b_encoder, ones], dim=1)  # (N, k+1)
    residual = code @ torch.cat([w_decoder, b_decoder[None]]) - x  # (N, D)
    unit = torch.eye(k, k + 1, dtype=x.dtype)  # encoder unit a meets decoder row a (not the bias row)
    coupling = torch.einsum("ij,ab->iabj", x_aug.T @ residual, unit).reshape((d + 1) * k, (k + 1) * d)
    e = (d + 1) * k  # the encoder's parameters come first
    hessian = torch.empty(e + (k + 1) * d, e + (k + 1) * d, dtype=x.dtype)
    hessian[:e, :e] = torch.kron(x_aug.T @ x_aug, w_decoder @ w_decoder.T)
    hessian[:e, e:] = torch.kron(x_aug.T @ code, w_decoder) + coupling
    hessian[e:, :e] = hessian[:e, e:].T
    hessian[e:, e:] = torch.kron(code.T @ code, torch.eye(d, dtype=x.dtype))
    return hessian * (2.0 / (n * d))


def _sharpness(x: torch.Tensor, params: list[torch.Tensor], start: list | None = None) -> float:
    """The largest eigenvalue of the Hessian of ``nn.MSELoss()`` at ``params``.

    Small problems (``EIGVALSH_LIMIT``) take every eigenvalue of the dense Hessian; larger ones the top one by
    Lanczos iteration, with the dense Hessian's products up to ``DENSE_LIMIT`` parameters and
    Hessian-vector products written out above. Lanczos starts from ``start[0]`` when given
    (the top eigenvector of a nearby point, which a search over nearby minima passes on) and
    updates it.
    """
    size = sum(p.numel() for p in params)
    if size <= EIGVALSH_LIMIT:
        return float(torch.linalg.eigvalsh(_dense_hessian(x, params))[-1])
    if size <= DENSE_LIMIT:
        hessian = _dense_hessian(x, params)
        product = hessian.__matmul__
    else:

        def product(v: torch.Tensor) -> torch.Tensor:
            return _hessian_products(x, params, v[None])[0]

    warm = start[0] if start is not None else None
    if warm is None or warm.shape != (size,):
        warm = torch.randn(size, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    value, vector = _lanczos_top(product, warm)
    if start is not None:
        start[0] = vector
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
    alphas = torch.zeros(len(basis) - 1, dtype=start.dtype)
    betas = torch.zeros(len(basis) - 1, dtype=start.dtype)
    scale = 0.0
    for j in range(len(basis) - 1):
        w = product(basis[j])
        alphas[j] = w @ basis[j]
        scale = max(scale, float(w.norm()))
        for _ in range(2):  # twice is enough to keep the basis orthonormal to rounding
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        betas[j] = w.norm()
        last = j == len(basis) - 2
        if float(betas[j]) <= 1e-12 * scale and not last:  # an invariant subspace: go on outside it
            w = random_vector()
            for _ in range(2):
                w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
            betas[j] = 0.0  # the tridiagonal matrix splits into blocks, one per subspace
            basis[j + 1] = w / w.norm()
            continue
        if j % 4 == 3 or last:  # look at the Ritz values every 4 steps
            tridiagonal = torch.diag(alphas[: j + 1]) + torch.diag(betas[:j], 1) + torch.diag(betas[:j], -1)
            thetas, ritz = torch.linalg.eigh(tridiagonal)
            theta = float(thetas[-1])
            if float(betas[j]) * abs(float(ritz[-1, -1])) <= rtol * abs(theta) or last:
                break
        basis[j + 1] = w / betas[j]
    vector = basis[: j + 1].T @ ritz[:, -1]
    return theta, vector / vector.norm()


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

    Taught in notebook 01, sections 6 and 7 (where training diverges; mean against sum), and its
    Going deeper part (how the search runs over the family of minima).
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
        before = best
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
        if before - best <= 1e-12 * best:  # a round that no longer flattens: the search has converged
            break
    return 2.0 / best
