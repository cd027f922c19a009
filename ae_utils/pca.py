"""PCA with ``torch.linalg``, and the tools that compare a linear autoencoder with it.

- ``pca``: mean, principal components (orthonormal rows, largest variance first), variances.
- ``pca_reconstruct``: project onto the components and back.
- ``principal_angles``: the angles, in degrees, between two subspaces.
- ``rayleigh_ritz``: the principal components hidden in a decoder's column space. A linear
  autoencoder learns the right subspace but not the components themselves; one small
  eigenproblem inside that subspace recovers them (a Rayleigh-Ritz step).

Everything is computed in float64 and returned in the input's dtype.
"""

from __future__ import annotations

import torch

from . import checks
from .theory import covariance


def pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The top-k principal components of ``x`` (N, D).

    Returns ``(mean (D,), components (k, D), variances (k,))``: the components are orthonormal
    rows ordered by the variance they keep (the covariance's eigenvalues, dividing by N).
    Each component's sign is fixed so that its largest entry in absolute value is positive.

    Taught in notebook 04, section 1.
    """
    data = checks.data_matrix(x)
    k = checks.bottleneck_width(k, data.shape[1])
    values, vectors = torch.linalg.eigh(covariance(data))
    components = vectors[:, -k:].flip(1).T.contiguous()
    signs = torch.sign(components.gather(1, components.abs().argmax(dim=1, keepdim=True)))
    components = components * signs
    return data.mean(dim=0).to(x.dtype), components.to(x.dtype), values[-k:].flip(0).clamp_min(0).to(x.dtype)


def pca_reconstruct(x: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """Project ``x`` onto the span of ``components`` (rows, orthonormal) around ``mean``, and back.

    Taught in notebook 04, section 1 (and the slider over k in section 3).
    """
    for name, value in (("x", x), ("mean", mean), ("components", components)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}; use the outputs of ae.pca")
    if components.ndim != 2 or x.shape[-1] != components.shape[1] or mean.shape != (components.shape[1],):
        raise ValueError(
            f"shapes do not fit: x {tuple(x.shape)}, mean {tuple(mean.shape)}, components {tuple(components.shape)}; "
            "components must be (k, D) and mean (D,) for x of D features"
        )
    gram = components.detach().double() @ components.detach().double().T
    tolerance = 1e-4 if components.dtype in (torch.float16, torch.bfloat16, torch.float32) else 1e-8
    if not torch.allclose(gram, torch.eye(len(gram), dtype=gram.dtype, device=gram.device), atol=tolerance, rtol=0):
        raise ValueError(
            "components must be orthonormal rows (as ae.pca returns them): projecting onto other rows is not "
            "PCA's reconstruction. For any basis of the subspace, orthonormalise it first (torch.linalg.qr) "
            "or use ae.rayleigh_ritz"
        )
    centred = x - mean
    return centred @ components.T @ components + mean


def _orthonormal_columns(a: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(a, torch.Tensor) or a.ndim != 2:
        raise ValueError(f"{name} must be a matrix whose columns span a subspace, shaped (D, k)")
    if not torch.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    q, r = torch.linalg.qr(a.detach().to(torch.float64))
    diagonal = r.diagonal().abs()
    if diagonal.numel() == 0 or bool((diagonal <= 1e-10 * diagonal.max().clamp_min(1e-300)).any()):
        raise ValueError(f"the columns of {name} are linearly dependent: they span fewer than {a.shape[1]} dimensions")
    return q


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The principal angles, in degrees and ascending, between the column spaces of ``a`` (D, k)
    and ``b`` (D, m): 0 where they share a direction, 90 where they are orthogonal.

    Taught in notebook 04, section 1, and its Going deeper part (same subspace, different basis).
    """
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor whose columns span a subspace, got {type(value).__name__}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"the subspaces live in different spaces: {a.shape[0]} and {b.shape[0]} rows")
    qa, qb = _orthonormal_columns(a, "a"), _orthonormal_columns(b, "b")
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosines)).to(a.dtype if a.is_floating_point() else torch.float64)


def rayleigh_ritz(decoder_weight: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The principal components of ``x`` that lie in the column space of ``decoder_weight`` (D, k).

    Takes an orthonormal basis Q of the column space, solves the small eigenproblem
    Q^T C Q = R diag(variances) R^T for the data's covariance C, and returns
    ``(components (k, D), variances (k,))``, largest first, signs fixed as in ``pca``. When the
    column space is the top-k principal subspace (as at a linear autoencoder's minimum),
    these are the top-k principal components.

    Taught in notebook 04, Going deeper (one Rayleigh-Ritz step).
    """
    if not isinstance(decoder_weight, torch.Tensor):
        raise TypeError(
            f"decoder_weight must be a torch.Tensor (D, k), got {type(decoder_weight).__name__}; "
            "for an nn.Linear decoder pass decoder.weight.detach()"
        )
    data = checks.data_matrix(x)
    if decoder_weight.ndim != 2 or decoder_weight.shape[0] != data.shape[1]:
        raise ValueError(
            f"decoder_weight must be (D, k) with D = {data.shape[1]} features, got {tuple(decoder_weight.shape)}; "
            "for nn.Linear(k, D) pass decoder.weight as it is"
        )
    q = _orthonormal_columns(decoder_weight, "decoder_weight")
    values, rotation = torch.linalg.eigh(q.T @ covariance(data) @ q)
    components = (q @ rotation).flip(1).T
    signs = torch.sign(components.gather(1, components.abs().argmax(dim=1, keepdim=True)))
    return (components * signs).to(x.dtype), values.flip(0).clamp_min(0).to(x.dtype)
