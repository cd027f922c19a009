"""variational: the VAE's shapes, its reparameterised sample and the closed-form KL divergence."""

from __future__ import annotations

import math

import pytest
import torch

from ae_utils import VAE, kl_divergence


def test_the_vae_gives_logits_a_mean_and_a_log_variance_of_the_asked_sizes():
    torch.manual_seed(0)
    model = VAE(code=3)
    logits, mu, logvar = model(torch.rand(5, 28, 28))
    assert logits.shape == (5, 28, 28) and mu.shape == logvar.shape == (5, 3)
    assert model.decoder(torch.zeros(2, 3)).shape == (2, 28, 28)
    assert [m.out_features for m in model.encoder if isinstance(m, torch.nn.Linear)] == [400, 6]


def test_the_mean_is_the_first_half_of_the_encoders_output_and_the_log_variance_the_second():
    torch.manual_seed(0)
    model, x = VAE(code=4), torch.rand(3, 28, 28)
    mu, logvar = model.encode(x)
    assert torch.equal(torch.cat([mu, logvar], dim=1), model.encoder(x))


def test_the_sample_is_mu_plus_eps_times_sigma_and_its_gradient_reaches_both():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, math.log(4.0)]], requires_grad=True)
    torch.manual_seed(3)
    z = VAE.reparameterize(mu, logvar)
    torch.manual_seed(3)
    eps = torch.randn(1, 2)
    assert torch.allclose(z, mu.detach() + eps * torch.tensor([1.0, 2.0]))
    z.sum().backward()
    assert torch.equal(mu.grad, torch.ones(1, 2))
    assert torch.allclose(logvar.grad, 0.5 * eps * torch.tensor([1.0, 2.0]))


def test_a_zero_variance_sample_is_the_mean():
    mu = torch.tensor([[0.5, 7.0]])
    assert torch.equal(VAE.reparameterize(mu, torch.full((1, 2), -200.0)), mu)


def test_the_kl_divergence_is_zero_at_the_prior_and_matches_the_formula_per_row():
    assert torch.equal(kl_divergence(torch.zeros(2, 5), torch.zeros(2, 5)), torch.zeros(2))
    mu, logvar = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [math.log(2.0), 0.0]])
    # one unit of mean costs mu^2 / 2; a variance of 2 costs (2 - 1 - ln 2) / 2
    expected = torch.tensor([0.5, (2 - 1 - math.log(2.0)) / 2])
    assert torch.allclose(kl_divergence(mu, logvar), expected)


def test_the_kl_divergence_agrees_with_torch_distributions():
    torch.manual_seed(1)
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    posterior = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    assert torch.allclose(kl_divergence(mu, logvar), torch.distributions.kl_divergence(posterior, prior).sum(1))


@pytest.mark.parametrize(
    "mu, logvar, match",
    [
        (torch.zeros(2, 3), torch.zeros(2, 4), "one shape"),
        (torch.zeros(3), torch.zeros(3), r"\(N, code\)"),
        ([0.0], torch.zeros(1, 1), "mu must be a torch.Tensor"),
    ],
)
def test_kl_divergence_refuses_what_is_not_a_mean_and_log_variance_pair(mu, logvar, match):
    with pytest.raises((TypeError, ValueError), match=match):
        kl_divergence(mu, logvar)


@pytest.mark.parametrize("code", [0, 2.5, "20"])
def test_the_code_size_must_be_a_whole_number_of_at_least_one(code):
    with pytest.raises((TypeError, ValueError), match="code"):
        VAE(code=code)
