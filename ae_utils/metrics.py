"""Held-out reconstruction error, measured the same way for every model."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from . import checks


@torch.no_grad()
def reconstruction_loss(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    batch_size: int = 2000,
) -> float:
    """The mean of ``loss_fn(model(x), x)`` over all of ``x``, in chunks of ``batch_size``.

    ``loss_fn`` must average over its elements (as ``nn.MSELoss()``, ``nn.BCELoss()`` and
    ``nn.BCEWithLogitsLoss()`` do by default); it is ``nn.MSELoss()`` when not given. An
    ``nn.Module`` is evaluated in eval mode and handed back in the mode it was in.

    ``x`` must be a floating-point tensor: a NumPy array is refused with the conversion to use
    (``torch.from_numpy(x).float()``). Data that does not fit the model (another dtype or number
    of features than its first parameter's) is a ``ValueError`` saying which.

    Taught in notebook 03, section 3.
    """
    checks.function("model", model, "an nn.Module or a function x -> reconstruction")
    checks.tensor("x", x, "a tensor of samples, shaped (samples, ...)")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty tensor of samples, shaped (samples, ...), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}; convert it with x.float()")
    batch_size = checks.whole_number("batch_size", batch_size)
    loss_fn = nn.MSELoss() if loss_fn is None else loss_fn
    checks.function("loss_fn", loss_fn, "a function (reconstruction, x) -> loss, such as nn.MSELoss()")
    if getattr(loss_fn, "reduction", "mean") != "mean":
        raise ValueError(
            f"loss_fn has reduction={loss_fn.reduction!r}; reconstruction_loss averages chunk means, so it needs "
            "the mean over every element (the default reduction)"
        )
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    try:
        total = 0.0  # summed on the host in double precision (Apple's MPS has no float64)
        for start in range(0, len(x), batch_size):
            chunk = x[start : start + batch_size]
            out = model(chunk) if start else checks.first_forward(model, chunk, "x")  # a misfit said plainly
            checks.reconstruction_shape(out, chunk)  # another shape would broadcast silently in the loss
            total += float(loss_fn(out, chunk)) * len(chunk)
        return total / len(x)
    finally:
        if was_training:
            model.train()
