"""The autoencoders of the course, built from raw tensors or from ``torch.nn``."""

from __future__ import annotations

import torch
from torch import nn


def linear_ae_reconstruction(x, w_encoder, b_encoder, w_decoder, b_decoder) -> torch.Tensor:
    """The learner's forward pass: ``(x @ w_encoder + b_encoder) @ w_decoder + b_decoder``."""
    return (x @ w_encoder + b_encoder) @ w_decoder + b_decoder


def raw_linear_ae(features: int, hidden: int = 1, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The learner's linear autoencoder as four raw tensors, drawn from a standard normal.

    Shapes as in the question: ``wEncoder (D, k)``, ``bEncoder (k,)``, ``wDecoder (k, D)``,
    ``bDecoder (1, D)``; all require grad. ``raw_linear_ae_forward(params)`` turns them into
    the forward function ``x -> reconstruction``.
    """
    for name, value in (("features", features), ("hidden", hidden)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    shapes = {"wEncoder": (features, hidden), "bEncoder": (hidden,), "wDecoder": (hidden, features), "bDecoder": (1, features)}
    return {name: torch.randn(shape, generator=generator).requires_grad_() for name, shape in shapes.items()}


def raw_linear_ae_forward(params: dict[str, torch.Tensor]):
    """The forward function ``x -> reconstruction`` of a ``raw_linear_ae``."""
    missing = {"wEncoder", "bEncoder", "wDecoder", "bDecoder"} - set(params)
    if missing:
        raise KeyError(f"params lacks {sorted(missing)}; make them with raw_linear_ae()")
    return lambda x: linear_ae_reconstruction(
        x, params["wEncoder"], params["bEncoder"], params["wDecoder"], params["bDecoder"]
    )


def mlp_autoencoder(logits: bool = False, code: int = 32) -> nn.Sequential:
    """The answer's MNIST autoencoder, layer for layer, as one ``nn.Sequential``.

    ``Flatten``; encoder 784-256-64-32 with a sigmoid after each layer; the mirrored decoder
    32-64-256-784; ``Unflatten`` back to (1, 28, 28). With ``logits=False`` (the answer's
    form) the decoder ends in a sigmoid, for ``nn.BCELoss``. With ``logits=True`` that last
    sigmoid is left out, for ``nn.BCEWithLogitsLoss``: the same model, computed faster and
    without the sigmoid's rounding at 0 and 1. ``code`` sets the bottleneck's width (the
    answer's is 32).
    """
    if isinstance(code, bool) or not isinstance(code, int) or code < 1:
        raise ValueError(f"code must be a whole number of at least 1, got {code!r}")
    sizes = [784, 256, 64, code, 64, 256, 784]
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or not logits:
            layers.append(nn.Sigmoid())
    layers.append(nn.Unflatten(1, (1, 28, 28)))
    return nn.Sequential(*layers)
