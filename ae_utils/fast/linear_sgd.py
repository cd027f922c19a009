"""Plain full-batch SGD for the learner's linear autoencoder, with its gradient written out.

It makes the same updates as ``torch.optim.SGD`` with autograd on ``nn.MSELoss()`` (the
tests check that the loss curves agree), but without autograd's and the optimizer's per-step
bookkeeping: a slider move (1000 steps and the redraw) runs 2.9x faster than with
``torch.optim.SGD`` and autograd (``benchmarks/slider_redraw.py``, AMD EPYC, one thread).
The sliders use it to redraw at once; the lessons use ``train`` and autograd.
"""

from __future__ import annotations

import math

import torch

from .. import checks
from ..training import History


@torch.no_grad()
def sgd_linear_ae(
    x: torch.Tensor, params: dict[str, torch.Tensor], lr: float, steps: int
) -> tuple[History, int | None]:
    """Take ``steps`` full-batch SGD steps of size ``lr`` on a ``raw_linear_ae``'s ``params``
    (updated in place) to reduce ``nn.MSELoss()`` of reconstructing ``x``.

    Returns ``(history, diverged_at)``: the loss before each step, up to the first step
    whose loss is NaN or infinite, and that step's number (None when all stayed finite).
    """
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive finite number, got {lr}")
    steps = checks.whole_number("steps", steps)
    w_enc, b_enc, w_dec, b_dec = (params[n] for n in ("wEncoder", "bEncoder", "wDecoder", "bDecoder"))
    mismatched = {name: p.dtype for name, p in params.items() if p.dtype != x.dtype}
    if mismatched:
        raise TypeError(
            f"the parameters' dtypes {mismatched} differ from the data's {x.dtype}; convert one to the other"
        )
    scale = 2.0 / x.numel()
    x_t = x.T
    losses = torch.empty(steps, dtype=x.dtype)
    for step in range(steps):
        code = torch.addmm(b_enc, x, w_enc)  # (N, k)
        residual = torch.addmm(b_dec, code, w_dec).sub_(x)  # (N, D)
        losses[step] = residual.pow(2).mean()
        residual.mul_(scale)  # d loss / d reconstruction
        grad_code = residual @ w_dec.T
        w_dec.sub_(code.T @ residual, alpha=lr)
        b_dec.sub_(residual.sum(0, keepdim=True), alpha=lr)
        w_enc.sub_(x_t @ grad_code, alpha=lr)
        b_enc.sub_(grad_code.sum(0), alpha=lr)
        if step % 64 == 63 and not bool(torch.isfinite(losses[step])):
            losses = losses[: step + 1]  # diverged: no point in stepping on
            break
    finite = torch.isfinite(losses)
    if bool(finite.all()):
        return History(losses=losses.tolist()), None
    first_bad = int((~finite).nonzero()[0])
    return History(losses=losses[:first_bad].tolist()), first_bad + 1
