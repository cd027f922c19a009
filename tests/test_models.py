"""models: the learner's raw-tensor linear autoencoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ae_utils import linear_ae_reconstruction, raw_linear_ae, raw_linear_ae_forward


def test_shapes_as_in_the_question():
    params = raw_linear_ae(2, 1)
    assert {n: tuple(p.shape) for n, p in params.items()} == {
        "wEncoder": (2, 1), "bEncoder": (1,), "wDecoder": (1, 2), "bDecoder": (1, 2),
    }


def test_parameter_counts_three_in_encoder_four_in_decoder():
    params = raw_linear_ae(2, 1)
    assert params["wEncoder"].numel() + params["bEncoder"].numel() == 3
    assert params["wDecoder"].numel() + params["bDecoder"].numel() == 4


def test_wider_bottleneck_shapes():
    params = raw_linear_ae(5, 3)
    assert {n: tuple(p.shape) for n, p in params.items()} == {
        "wEncoder": (5, 3), "bEncoder": (3,), "wDecoder": (3, 5), "bDecoder": (1, 5),
    }


def test_all_are_float_leaves_that_require_grad():
    for name, p in raw_linear_ae(2, 1).items():
        assert p.requires_grad and p.is_leaf, name
        assert p.dtype == torch.float32, name


def test_drawn_from_standard_normal_with_the_generator():
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(9))
    generator = torch.Generator().manual_seed(9)
    for shape, name in [((2, 1), "wEncoder"), ((1,), "bEncoder"), ((1, 2), "wDecoder"), ((1, 2), "bDecoder")]:
        assert torch.equal(params[name].detach(), torch.randn(shape, generator=generator)), name


def test_same_generator_seed_same_parameters_different_seed_different():
    a = raw_linear_ae(3, 2, generator=torch.Generator().manual_seed(0))
    b = raw_linear_ae(3, 2, generator=torch.Generator().manual_seed(0))
    c = raw_linear_ae(3, 2, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert not torch.equal(a["wEncoder"], c["wEncoder"])


@pytest.mark.parametrize("features, hidden", [(0, 1), (2, 0), (-1, 1), (2.0, 1), (2, True)])
def test_rejects_bad_sizes(features, hidden):
    with pytest.raises(ValueError, match="must be a whole number of at least 1"):
        raw_linear_ae(features, hidden)


def test_forward_equals_the_explicit_formula(learner_x):
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    out = raw_linear_ae_forward(params)(learner_x)
    x = learner_x.double().numpy()
    w_e, b_e, w_d, b_d = (params[n].detach().double().numpy() for n in ("wEncoder", "bEncoder", "wDecoder", "bDecoder"))
    code = np.array([[sum(row[i] * w_e[i, 0] for i in range(2)) + b_e[0]] for row in x])  # (N, 1)
    expected = np.array([[code[n, 0] * w_d[0, j] + b_d[0, j] for j in range(2)] for n in range(len(x))])
    assert out.shape == learner_x.shape
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_linear_ae_reconstruction_positional_matches_forward(learner_x):
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    direct = linear_ae_reconstruction(
        learner_x, params["wEncoder"], params["bEncoder"], params["wDecoder"], params["bDecoder"]
    )
    assert torch.equal(direct, raw_linear_ae_forward(params)(learner_x))


def test_forward_sees_later_changes_to_the_parameters(learner_x):
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    forward = raw_linear_ae_forward(params)
    with torch.no_grad():
        params["bDecoder"] += 1.0
    shifted = forward(learner_x)
    with torch.no_grad():
        params["bDecoder"] -= 1.0
    torch.testing.assert_close(shifted - forward(learner_x), torch.ones_like(learner_x))


def test_gradient_reaches_all_four_tensors(learner_x):
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    ((raw_linear_ae_forward(params)(learner_x) - learner_x) ** 2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params.values())


def test_forward_rejects_missing_parameters():
    params = raw_linear_ae(2, 1)
    del params["bEncoder"], params["wDecoder"]
    with pytest.raises(KeyError, match=r"params lacks \['bEncoder', 'wDecoder'\]"):
        raw_linear_ae_forward(params)


@pytest.mark.parametrize("logits", [False, True])
def test_mlp_autoencoder_is_the_answers_model_layer_for_layer(logits):
    from ae_utils import mlp_autoencoder

    model = mlp_autoencoder(logits=logits)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 256), (256, 64), (64, 32), (32, 64), (64, 256), (256, 784)]
    sigmoids = sum(isinstance(m, nn.Sigmoid) for m in model)
    assert sigmoids == (5 if logits else 6)
    assert isinstance(model[0], nn.Flatten) and isinstance(model[-1], nn.Unflatten)
    out = model(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 1, 28, 28)
    if not logits:
        assert bool(((out > 0) & (out < 1)).all())
