"""How long ``ae.max_stable_lr`` takes, against the way it computed each Hessian before (autograd).

Side by side in one process, on uniform random data of shape (200, 50):
- baseline: the same search, each Hessian's top eigenvalue from autograd (the dense Hessian of
  ``torch.autograd.functional.hessian`` up to 300 parameters, power iteration with autograd's
  Hessian-vector products above), as ``theory`` did before;
- now: ``ae.max_stable_lr`` as it is (the Hessian written out, Lanczos above 300 parameters).
Prints each time, their ratio, and checks that both give the same bound.

    .venv/bin/python benchmarks/max_stable_lr.py
"""

from __future__ import annotations

import time

import torch

import ae_utils as ae
from ae_utils import theory
from ae_utils.models import linear_ae_reconstruction


def autograd_sharpness(x, params, start=None, iterations=500):
    """The top Hessian eigenvalue by autograd, as theory._sharpness computed it before."""
    shapes, sizes = [p.shape for p in params], [p.numel() for p in params]

    def loss_of(flat):
        parts = [piece.reshape(shape) for piece, shape in zip(torch.split(flat, sizes), shapes)]
        return torch.mean((linear_ae_reconstruction(x, *parts) - x) ** 2)

    flat = torch.cat([p.reshape(-1) for p in params])
    if flat.numel() <= 300:
        hessian = torch.autograd.functional.hessian(loss_of, flat, vectorize=True)
        return float(torch.linalg.eigvalsh(hessian)[-1])
    flat.requires_grad_()
    (grad,) = torch.autograd.grad(loss_of(flat), flat, create_graph=True)
    vector = torch.randn(flat.shape, generator=torch.Generator().manual_seed(0), dtype=flat.dtype)
    if start is not None and start[0] is not None and start[0].shape == flat.shape:
        vector = start[0].clone()
    top = estimate = 0.0
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


def timed(k: int, x: torch.Tensor) -> tuple[float, float]:
    start = time.perf_counter()
    bound = ae.max_stable_lr(x, k)
    return time.perf_counter() - start, bound


def main() -> None:
    x = torch.rand(200, 50, generator=torch.Generator().manual_seed(0))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; data of shape {tuple(x.shape)}")
    written_out = theory._sharpness
    for k in (1, 5):
        now, bound = timed(k, x)
        theory._sharpness = autograd_sharpness
        try:
            before, baseline_bound = timed(k, x)
        finally:
            theory._sharpness = written_out
        agree = abs(bound - baseline_bound) <= 1e-6 * baseline_bound
        print(
            f"k = {k}: baseline {before:6.2f} s, now {now:6.2f} s: {before / now:5.1f}x faster; "
            f"bounds {baseline_bound:.6g} and {bound:.6g} ({'agree' if agree else 'DIFFER'} to 1e-6)"
        )


if __name__ == "__main__":
    main()
