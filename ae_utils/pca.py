"""PCA with ``torch.linalg`` and the reconstruction from its components: in float64 on the data divided by a
power of two (exactly), so any magnitude works, returned in the input's dtype."""

from __future__ import annotations

import math

import torch

from . import checks


def covariance(x: torch.Tensor) -> torch.Tensor:
    """The data's covariance C = (1/N) sum (x - mean)(x - mean)^T, in float64, for ``x`` (N, D). Used in
    notebook 01, Going deeper (the principal directions), behind ``pca`` and in notebook 04's Rayleigh-Ritz step."""
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
            "PCA's reconstruction. For any basis of the subspace, orthonormalise it first (torch.linalg.qr)"
        )
    return (x - mean) @ components.T @ components + mean
