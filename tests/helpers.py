"""Reference computations shared by several test files, written with NumPy and plain torch
only (never with ae_utils), so that they check ae_utils independently."""

from __future__ import annotations

import numpy as np
import torch


def numpy_pca(x: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top-k principal directions (D, k) of ``x``, with NumPy only."""
    data = x.detach().double().numpy()
    mean = data.mean(axis=0)
    _, vectors = np.linalg.eigh((data - mean).T @ (data - mean) / len(data))
    return mean, vectors[:, ::-1][:, :k].copy()


def linear_ae_minimum(x: torch.Tensor, k: int, scale: float = 1.0, code_shift: float = 0.0) -> list[torch.Tensor]:
    """A global minimum of the k-unit linear autoencoder with biases, in float64.

    Encoder = top-k principal basis * scale, decoder = its transpose / scale (scale 1 is the
    balanced minimum). The encoder bias centres the code, plus ``code_shift``; the decoder
    bias compensates, so every choice reconstructs equally well.
    Returns [wEncoder (D, k), bEncoder (k,), wDecoder (k, D), bDecoder (1, D)].
    """
    mean, basis = (torch.from_numpy(a) for a in numpy_pca(x, k))
    w_encoder, w_decoder = basis * scale, basis.T / scale
    b_encoder = -(mean @ w_encoder) + code_shift
    b_decoder = mean - mean @ w_encoder @ w_decoder - b_encoder @ w_decoder
    return [w_encoder, b_encoder, w_decoder, b_decoder.reshape(1, -1)]


def mse(x, w_encoder, b_encoder, w_decoder, b_decoder) -> torch.Tensor:
    """nn.MSELoss() of the linear autoencoder, written out."""
    return (((x @ w_encoder + b_encoder) @ w_decoder + b_decoder - x) ** 2).mean()
