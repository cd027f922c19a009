"""PCA with ``torch.linalg``, and the tools that compare a linear autoencoder with it: in float64 on the data
divided by a power of two (exactly), so any magnitude works, returned in the input's dtype."""

from __future__ import annotations

import math

import torch

from . import checks


def covariance(x: torch.Tensor) -> torch.Tensor:
    """The data's covariance C = (1/N) sum (x - mean)(x - mean)^T, in float64, for ``x`` (N, D). Used in
    notebook 01, Going deeper (the principal directions), and behind ``pca`` (notebook 04, section 1)."""
    x = checks.data_matrix(x)
    centred = x - x.mean(dim=0)
    return centred.T @ centred / x.shape[0]


def unit_scaled(x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``x`` checked, in float64, divided by the power of two just above its largest magnitude; and that power."""
    data = checks.data_matrix(x)
    scale = math.ldexp(1.0, min(math.frexp(float(data.abs().max()))[1], 1023))
    return data / scale, scale


def _largest_first(values: torch.Tensor, vectors: torch.Tensor, scale: float, dtype) -> tuple[torch.Tensor, ...]:
    """Ascending eigenpairs as ``(components, variances * scale**2)`` in ``dtype``, largest first, signs fixed."""
    components = vectors.flip(1).T
    signs = torch.sign(components.gather(1, components.abs().argmax(dim=1, keepdim=True)))
    variances = values.flip(0).clamp_min(0) * scale * scale
    if not torch.isfinite(variances.to(dtype)).all():
        exponent, name = math.log10(float(values[-1])) + 2 * math.log10(scale), str(dtype).removeprefix("torch.")
        raise ValueError(
            f"the largest variance, about 1e{exponent:.0f}, lies beyond {name}'s range; rescale the data first "
            "(for example x / x.abs().max()): the variances scale with the square of the data, the components not"
        )
    return (components * signs).contiguous().to(dtype), variances.to(dtype)


def pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The top-k principal components of ``x`` (N, D): ``(mean (D,), components (k, D), variances (k,))``,
    orthonormal rows ordered by the variance they keep (dividing by N), each with its largest entry positive.
    Taught in notebook 04, section 1."""
    data, scale = unit_scaled(x)
    k = checks.bottleneck_width(k, data.shape[1])
    values, vectors = torch.linalg.eigh(covariance(data))
    components, variances = _largest_first(values[-k:], vectors[:, -k:], scale, x.dtype)
    return (data.mean(dim=0) * scale).to(x.dtype), components, variances


def pca_reconstruct(x: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """Project ``x`` onto the span of ``components`` (rows, orthonormal to half the digits of their dtype,
    as ``pca``'s are) around ``mean``, and back. Taught in notebook 04, sections 1 and 3 (its slider over k)."""
    for name, value in (("x", x), ("mean", mean), ("components", components)):
        checks.tensor(name, value)
    if components.ndim != 2 or x.shape[-1] != components.shape[1] or mean.shape != (components.shape[1],):
        raise ValueError(
            f"shapes do not fit: x {tuple(x.shape)}, mean {tuple(mean.shape)}, components {tuple(components.shape)}; "
            "components must be (k, D) and mean (D,) for x of D features"
        )
    gram = components.detach().double() @ components.detach().double().T
    tolerance = torch.finfo(components.dtype).eps ** 0.5 if components.is_floating_point() else 0.0
    if not torch.allclose(gram, torch.eye(len(gram), dtype=gram.dtype, device=gram.device), atol=tolerance, rtol=0):
        raise ValueError(
            "components must be orthonormal rows (as ae.pca returns them): projecting onto other rows is not "
            "PCA's reconstruction. For any basis of the subspace, orthonormalise it first (torch.linalg.qr) "
            "or use ae.rayleigh_ritz"
        )
    return (x - mean) @ components.T @ components + mean


def _orthonormal_columns(a: torch.Tensor, name: str) -> torch.Tensor:
    checks.tensor(name, a, "a torch.Tensor whose columns span a subspace")
    if a.ndim != 2:
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
    and ``b`` (D, m): 0 where they share a direction, 90 where they are orthogonal. Taught in notebook 04,
    section 1, and its Going deeper part (same subspace, different basis)."""
    qa, qb = _orthonormal_columns(a, "a"), _orthonormal_columns(b, "b")
    if len(qa) != len(qb):
        raise ValueError(f"the subspaces live in different spaces: {len(qa)} and {len(qb)} rows")
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosines)).to(a.dtype if a.is_floating_point() else torch.float64)


def rayleigh_ritz(decoder_weight: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The principal components of ``x`` within the column space of ``decoder_weight`` (D, k), ordered and signed
    as ``pca``'s, and their variances: Q R for the eigenvectors R of Q^T C Q (Q an orthonormal basis of it).
    Taught in notebook 04, Going deeper (one Rayleigh-Ritz step)."""
    checks.tensor("decoder_weight", decoder_weight, "a torch.Tensor (D, k)")
    data, scale = unit_scaled(x)
    if decoder_weight.ndim != 2 or decoder_weight.shape[0] != data.shape[1]:
        raise ValueError(
            f"decoder_weight must be (D, k) with D = {data.shape[1]} features, got {tuple(decoder_weight.shape)}; "
            "for nn.Linear(k, D) pass decoder.weight as it is"
        )
    q = _orthonormal_columns(decoder_weight, "decoder_weight")
    values, rotation = torch.linalg.eigh(q.T @ covariance(data) @ q)
    return _largest_first(values, q @ rotation, scale, x.dtype)
