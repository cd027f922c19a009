"""The autoencoders of the course, built from raw tensors or from ``torch.nn``."""

from __future__ import annotations

import torch
from torch import nn

from . import checks


def raw_linear_ae(features: int, hidden: int = 1, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The learner's linear autoencoder as four raw tensors drawn from a standard normal in the question's order
    and shapes, ``wEncoder (D, k)``, ``wDecoder (k, D)``, ``bEncoder (k,)``, ``bDecoder (1, D)``, all requiring
    grad; ``raw_linear_ae_forward`` gives its forward function. Taught in notebook 01, section 4."""
    features, hidden = checks.whole_number("features", features), checks.whole_number("hidden", hidden)
    shapes = {
        "wEncoder": (features, hidden),
        "wDecoder": (hidden, features),
        "bEncoder": (hidden,),
        "bDecoder": (1, features),
    }
    return {name: torch.randn(shape, generator=generator).requires_grad_() for name, shape in shapes.items()}


def raw_linear_ae_forward(params: dict[str, torch.Tensor]):
    """The forward function ``x -> reconstruction`` of a ``raw_linear_ae``. Taught in notebook 01, section 4."""
    checks.instance("params", params, dict, "the dict that raw_linear_ae() returns")
    missing = {"wEncoder", "bEncoder", "wDecoder", "bDecoder"} - set(params)
    if missing:
        raise KeyError(f"params lacks {sorted(missing)}; make them with raw_linear_ae()")
    # the learner's forward pass, read from the dict at each call (so later changes to the tensors count)
    return lambda x: (x @ params["wEncoder"] + params["bEncoder"]) @ params["wDecoder"] + params["bDecoder"]


def mlp_autoencoder(logits: bool = False, code: int = 32) -> nn.Sequential:
    """The answer's MNIST autoencoder, module for module: ``nn.Sequential(encoder, decoder)``. The encoder is
    ``Flatten`` and 784-256-64-``code``, a sigmoid after the first two layers only (the code is linear); the decoder
    mirrors it, then a sigmoid (left out with ``logits=True``, for ``nn.BCEWithLogitsLoss``) and ``Unflatten`` to
    (N, 28, 28). Taught in notebook 03, section 2."""
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


def conv_autoencoder(logits: bool = False, code: int = 32) -> nn.Sequential:
    """A convolutional autoencoder for 28 x 28 images, called like ``mlp_autoencoder`` ((N, 28, 28) in and out):
    two 3 x 3 convolutions of stride 2 (16, then 32 channels; ReLU after each) and a linear layer to the
    ``code``; the decoder mirrors it with transposed convolutions, then a sigmoid (left out with ``logits=True``).
    Taught in notebook 05, section 2."""
    logits, code = checks.flag("logits", logits), checks.whole_number("code", code)
    encoder = nn.Sequential(
        nn.Unflatten(1, (1, 28)),  # (N, 28, 28) => (N, 1, 28, 28): one channel
        nn.Conv2d(1, 16, 3, stride=2, padding=1),  # => (N, 16, 14, 14)
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),  # => (N, 32, 7, 7)
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, code),
    )
    decoder = nn.Sequential(
        nn.Linear(code, 32 * 7 * 7),
        nn.ReLU(),
        nn.Unflatten(1, (32, 7, 7)),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),  # => (N, 16, 14, 14)
        nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),  # => (N, 1, 28, 28)
        *([] if logits else [nn.Sigmoid()]),
        nn.Flatten(1, 2),  # => (N, 28, 28)
    )
    return nn.Sequential(encoder, decoder)
