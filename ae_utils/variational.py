"""The variational autoencoder of notebook 06: an encoder that gives each image a Gaussian over codes (a mean and a
log-variance), one code drawn from it by the reparameterisation trick, and the KL divergence to the prior N(0, I)."""

from __future__ import annotations

import torch
from torch import nn

from . import checks


class VAE(nn.Module):
    """The PyTorch examples' VAE for (N, 28, 28) images: the encoder 784-400-(2 x ``code``) with a ReLU gives each
    image a mean and a log-variance per code number; the decoder ``code``-400-784 with a ReLU gives the logits of
    the reconstruction (use ``torch.sigmoid`` for pixels). Taught in notebook 06, section 3."""

    def __init__(self, code: int = 20):
        super().__init__()
        code = checks.whole_number("code", code)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 400), nn.ReLU(), nn.Linear(400, 2 * code))
        self.decoder = nn.Sequential(
            nn.Linear(code, 400), nn.ReLU(), nn.Linear(400, 28 * 28), nn.Unflatten(1, (28, 28))
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each image's Gaussian over codes: its mean and its log-variance, (N, code) each."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """One code from each Gaussian, mu + eps * sigma with eps ~ N(0, I) drawn apart: the gradient flows to mu and
        logvar, which ``torch.distributions.Normal(mu, sigma).sample()`` would cut (its ``rsample()`` is this trick)."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(the reconstruction's logits decoded from one sampled code, mu, logvar)."""
        mu, logvar = self.encode(x)
        return self.decoder(self.reparameterize(mu, logvar)), mu, logvar


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) of each row of ``mu`` and ``logvar`` (N, code), in nats, in closed form:
    -0.5 * sum(1 + logvar - mu^2 - exp(logvar)). Taught in notebook 06, section 3."""
    checks.tensor("mu", mu)
    checks.tensor("logvar", logvar)
    if mu.shape != logvar.shape or mu.dim() != 2:
        raise ValueError(
            f"mu and logvar must be (N, code) tensors of one shape, as VAE.encode returns them; "
            f"got {tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
