"""The autoencoders of the course, built from raw tensors or from ``torch.nn``."""

from __future__ import annotations

import torch
from torch import nn

from . import checks


def linear_ae_reconstruction(x, w_encoder, b_encoder, w_decoder, b_decoder) -> torch.Tensor:
    """The learner's forward pass: ``(x @ w_encoder + b_encoder) @ w_decoder + b_decoder``.

    Taught in notebook 01, section 2 (written out there as ``reconstruct``).
    """
    return (x @ w_encoder + b_encoder) @ w_decoder + b_decoder


def raw_linear_ae(features: int, hidden: int = 1, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The learner's linear autoencoder as four raw tensors, drawn from a standard normal.

    Drawn in the question's order and shapes: ``wEncoder (D, k)``, ``wDecoder (k, D)``,
    ``bEncoder (k,)``, ``bDecoder (1, D)``; all require grad. ``raw_linear_ae_forward(params)`` turns them into
    the forward function ``x -> reconstruction``.

    Taught in notebook 01, section 4.
    """
    features, hidden = checks.whole_number("features", features), checks.whole_number("hidden", hidden)
    shapes = {
        "wEncoder": (features, hidden),
        "wDecoder": (hidden, features),
        "bEncoder": (hidden,),
        "bDecoder": (1, features),
    }
    return {name: torch.randn(shape, generator=generator).requires_grad_() for name, shape in shapes.items()}


def raw_linear_ae_forward(params: dict[str, torch.Tensor]):
    """The forward function ``x -> reconstruction`` of a ``raw_linear_ae``.

    Taught in notebook 01, section 4.
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be the dict that raw_linear_ae() returns, got {type(params).__name__}")
    missing = {"wEncoder", "bEncoder", "wDecoder", "bDecoder"} - set(params)
    if missing:
        raise KeyError(f"params lacks {sorted(missing)}; make them with raw_linear_ae()")
    return lambda x: linear_ae_reconstruction(
        x, params["wEncoder"], params["bEncoder"], params["wDecoder"], params["bDecoder"]
    )


def mlp_autoencoder(logits: bool = False, code: int = 32) -> nn.Sequential:
    """The answer's MNIST autoencoder, module for module: ``nn.Sequential(encoder, decoder)``.

    Taught in notebook 03, section 2. The encoder is ``Flatten`` and 784-256-64-``code``
    with a sigmoid after the first two layers only: the code is the plain output of
    ``Linear(64, code)``. The decoder mirrors it, ``code``-64-256-784 with a sigmoid after
    each layer, and ``Unflatten(1, (28, 28))`` gives images of shape (N, 28, 28), the shape
    of ``ae.load_images``'s images and of the answer's ``x.squeeze()``. With
    ``logits=False`` (the answer's form) the decoder's last sigmoid is there, for
    ``nn.BCELoss``. With ``logits=True`` only that sigmoid is left out, for
    ``nn.BCEWithLogitsLoss``: the same model and loss, without the sigmoid's rounding at 0
    and 1. ``code`` sets the bottleneck's width (the answer's is 32). ``model[0]`` is the
    encoder, ``model[1]`` the decoder.
    """
    logits, code = checks.flag("logits", logits), checks.whole_number("code", code)
    encoder = nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, 256),
        nn.Sigmoid(),
        nn.Linear(256, 64),
        nn.Sigmoid(),
        nn.Linear(64, code),
    )
    decoder = nn.Sequential(
        nn.Linear(code, 64),
        nn.Sigmoid(),
        nn.Linear(64, 256),
        nn.Sigmoid(),
        nn.Linear(256, 28 * 28),
        *([] if logits else [nn.Sigmoid()]),
        nn.Unflatten(1, (28, 28)),
    )
    return nn.Sequential(encoder, decoder)
