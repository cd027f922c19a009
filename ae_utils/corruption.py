"""Corrupted copies of images, the denoising autoencoder's inputs (notebook 05): Gaussian noise, or masked pixels."""

from __future__ import annotations

import torch

from . import checks

KINDS = ("gaussian", "mask")


def corrupt(images: torch.Tensor, kind: str = "gaussian", level: float = 0.5, generator=None) -> torch.Tensor:
    """A corrupted copy of ``images`` (values in [0, 1]): ``"gaussian"`` adds noise of standard deviation ``level``
    and clips to [0, 1]; ``"mask"`` sets each pixel to 0 with probability ``level``. The draws come from
    ``generator`` (torch's global one when None), the same on every device. Taught in notebook 05, section 4."""
    checks.training_data(images, "images")
    if kind not in KINDS:
        raise ValueError(f"unknown corruption {checks.shown(kind)}; choose one of: {', '.join(map(repr, KINDS))}")
    level = checks.number("level", level)
    highest = 1.0 if kind == "mask" else float("inf")
    if not 0 <= level <= highest:
        what = "a probability from 0 to 1" if kind == "mask" else "a standard deviation of 0 or more"
        raise ValueError(f"level for {kind!r} must be {what}, got {level}")
    if images.min() < 0 or images.max() > 1:
        raise ValueError("images must hold values in [0, 1], as ae.load_images returns them; rescale them first")
    device = images.device if generator is None else generator.device
    draw = torch.randn if kind == "gaussian" else torch.rand
    noise = draw(images.shape, generator=generator, dtype=images.dtype, device=device).to(images.device)
    if kind == "gaussian":
        return (images + level * noise).clamp(0, 1)
    return images * (noise >= level)
