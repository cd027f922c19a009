"""What theory says a linear autoencoder can reach, and how large a step it can take.

- ``eckart_young_floor``: the lowest ``nn.MSELoss()`` any k-unit linear autoencoder with
  biases can reach on given data (Eckart-Young; Baldi & Hornik 1989).
- ``max_stable_lr``: the largest learning rate at which plain gradient descent stays at
  the optimum instead of being thrown out of it (lr < 2 / largest Hessian eigenvalue).

Both work in float64 whatever the data's dtype, so their answers are exact to print precision.
"""

from __future__ import annotations

import torch

from .models import linear_ae_reconstruction


def _check_data(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (samples, features), got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(
            f"{name} must have shape (samples, features), got {tuple(x.shape)}; "
            "flatten images first, for example x.flatten(1)"
        )
    if x.shape[0] < 2:
        raise ValueError(f"{name} has {x.shape[0]} sample(s); a covariance needs at least two samples")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}; use {name}.float()")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite values; clean or drop them first")
    return x.detach().to(device="cpu", dtype=torch.float64)


def _check_k(k, dim: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"k (the number of bottleneck units) must be a whole number, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}: a bottleneck needs at least one unit")
    if k > dim:
        raise ValueError(
            f"k={k} is larger than the data's dimension D={dim}; with k >= D a linear autoencoder "
            "can learn the identity, so its floor is 0"
        )
    return k


def covariance(x: torch.Tensor) -> torch.Tensor:
    """The data's covariance C = (1/N) sum (x - mean)(x - mean)^T, in float64."""
    x = _check_data(x)
    centred = x - x.mean(dim=0)
    return centred.T @ centred / x.shape[0]


def eckart_young_floor(x: torch.Tensor, k: int) -> float:
    """The lowest ``nn.MSELoss()`` (mean over all N*D entries) that a linear autoencoder
    with a k-unit bottleneck and biases can reach on ``x`` of shape (N, D).

    It equals (1/D) times the sum of the covariance's eigenvalues beyond the k largest.
    """
    eigenvalues = torch.linalg.eigvalsh(covariance(x))  # ascending
    dim = eigenvalues.numel()
    k = _check_k(k, dim)
    return float(eigenvalues[: dim - k].clamp_min(0).sum() / dim)


def _balanced_optimum(x: torch.Tensor, k: int) -> list[torch.Tensor]:
    """A global minimum whose encoder and decoder have equal scale: the top-k PCA basis."""
    mean = x.mean(dim=0)
    _, vectors = torch.linalg.eigh(covariance(x))
    basis = vectors[:, -k:]  # (D, k), orthonormal
    return [basis, -(mean @ basis), basis.T.clone(), mean.clone()]


def max_stable_lr(x: torch.Tensor, k: int = 1, iterations: int = 300) -> float:
    """Estimate the largest stable plain-SGD learning rate for a k-unit linear autoencoder
    with biases, trained full-batch on ``x`` with ``nn.MSELoss()``.

    Gradient descent on a quadratic bowl diverges once lr > 2 / lambda_max(Hessian). This
    computes lambda_max at the balanced global minimum (encoder = decoder^T = top-k principal
    basis) by power iteration with Hessian-vector products. Far from that point, and at
    unbalanced minima, the loss surface is sharper: a run from a random start can diverge
    somewhat below this estimate.
    """
    x = _check_data(x)
    k = _check_k(k, x.shape[1])
    params = [p.requires_grad_() for p in _balanced_optimum(x, k)]
    loss = torch.mean((linear_ae_reconstruction(x, *params) - x) ** 2)
    grads = torch.autograd.grad(loss, params, create_graph=True)

    generator = torch.Generator().manual_seed(0)
    vector = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in params]
    top = 0.0
    for _ in range(iterations):
        norm = torch.sqrt(sum((v * v).sum() for v in vector))
        vector = [v / norm for v in vector]
        product = torch.autograd.grad(grads, params, grad_outputs=vector, retain_graph=True)
        estimate = float(sum((h * v).sum() for h, v in zip(product, vector)))
        vector = [h.detach() for h in product]
        if abs(estimate - top) <= 1e-12 * abs(estimate):
            top = estimate
            break
        top = estimate
    return 2.0 / top
