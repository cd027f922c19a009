"""models: the learner's raw-tensor linear autoencoder and the answer's MNIST autoencoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ae_utils.models import mlp_autoencoder, raw_linear_ae, raw_linear_ae_forward


def test_shapes_as_in_the_question():
    params = raw_linear_ae(2, 1)
    assert {n: tuple(p.shape) for n, p in params.items()} == {
        "wEncoder": (2, 1),
        "bEncoder": (1,),
        "wDecoder": (1, 2),
        "bDecoder": (1, 2),
    }


def test_parameter_counts_three_in_encoder_four_in_decoder():
    params = raw_linear_ae(2, 1)
    assert params["wEncoder"].numel() + params["bEncoder"].numel() == 3
    assert params["wDecoder"].numel() + params["bDecoder"].numel() == 4


def test_wider_bottleneck_shapes():
    params = raw_linear_ae(5, 3)
    assert {n: tuple(p.shape) for n, p in params.items()} == {
        "wEncoder": (5, 3),
        "bEncoder": (3,),
        "wDecoder": (3, 5),
        "bDecoder": (1, 5),
    }


def test_all_are_float_leaves_that_require_grad():
    for name, p in raw_linear_ae(2, 1).items():
        assert p.requires_grad and p.is_leaf, name
        assert p.dtype == torch.float32, name


def test_drawn_from_standard_normal_with_the_generator_in_the_questions_order():
    # The question writes wEncoder, wDecoder, bEncoder, bDecoder: the same seed gives its tensors
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(9))
    assert list(params) == ["wEncoder", "wDecoder", "bEncoder", "bDecoder"]
    generator = torch.Generator().manual_seed(9)
    for shape, name in [((2, 1), "wEncoder"), ((1, 2), "wDecoder"), ((1,), "bEncoder"), ((1, 2), "bDecoder")]:
        assert torch.equal(params[name].detach(), torch.randn(shape, generator=generator)), name


def test_same_generator_seed_same_parameters_different_seed_different():
    a = raw_linear_ae(3, 2, generator=torch.Generator().manual_seed(0))
    b = raw_linear_ae(3, 2, generator=torch.Generator().manual_seed(0))
    c = raw_linear_ae(3, 2, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert not torch.equal(a["wEncoder"], c["wEncoder"])


@pytest.mark.parametrize(
    "features, hidden, error",
    [(0, 1, ValueError), (2, 0, ValueError), (-1, 1, ValueError), (2.0, 1, TypeError), (2, True, TypeError)],
)
def test_rejects_bad_sizes(features, hidden, error):
    with pytest.raises(error, match="must be a whole number"):
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


def test_forward_sees_later_changes_to_the_parameters(learner_x):
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    forward = raw_linear_ae_forward(params)
    with torch.no_grad():
        params["bDecoder"] += 1.0
    shifted = forward(learner_x)
    with torch.no_grad():
        params["bDecoder"] -= 1.0
    assert torch.allclose(shifted - forward(learner_x), torch.ones_like(learner_x), atol=1e-6)


def test_gradient_reaches_all_four_tensors(learner_x):
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    ((raw_linear_ae_forward(params)(learner_x) - learner_x) ** 2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params.values())


def test_forward_rejects_missing_parameters():
    params = raw_linear_ae(2, 1)
    del params["bEncoder"], params["wDecoder"]
    with pytest.raises(KeyError, match=r"params lacks \['bEncoder', 'wDecoder'\]"):
        raw_linear_ae_forward(params)


ANSWER_REPR = Path(__file__).with_name("data") / "answer_model_repr.txt"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_b540154e7220222a.txt"


def printed_lines(text: str) -> list[str]:
    """A printed module structure line by line, without the answer's comment marks and indentation."""
    return [line.lstrip("#").strip() for line in text.splitlines() if line.lstrip("#").strip()]


def test_answer_repr_fixture_is_the_answers_printed_text():
    if not SEED.exists():
        pytest.skip("the course's source text is not next to this checkout")
    assert ANSWER_REPR.read_text() in SEED.read_text()


def test_mlp_autoencoder_prints_as_the_answers_model():
    assert printed_lines(str(mlp_autoencoder())) == printed_lines(ANSWER_REPR.read_text())


@pytest.mark.parametrize("logits", [False, True])
def test_mlp_autoencoder_is_the_answers_model_module_for_module(logits):
    model = mlp_autoencoder(logits=logits)
    encoder, decoder = model
    assert len(model) == 2
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (784, 256),
        (256, 64),
        (64, 32),
        (32, 64),
        (64, 256),
        (256, 784),
    ]
    assert [type(m).__name__ for m in encoder] == ["Flatten", "Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert sum(isinstance(m, nn.Sigmoid) for m in decoder) == (2 if logits else 3)
    assert isinstance(decoder[-1], nn.Unflatten) and type(decoder[-2]) is (nn.Linear if logits else nn.Sigmoid)
    x = torch.rand(3, 28, 28)
    code = encoder(x)
    assert code.shape == (3, 32)
    out = model(x)
    assert out.shape == (3, 28, 28)
    if not logits:
        assert bool(((out > 0) & (out < 1)).all())


def test_mlp_autoencoder_code_width_and_logit_form_share_parameter_layout():
    narrow = mlp_autoencoder(code=2)
    assert narrow[0][-1].out_features == 2 and narrow[1][0].in_features == 2
    logit = mlp_autoencoder(logits=True)
    a = mlp_autoencoder()
    logit.load_state_dict(a.state_dict())  # same parameter names: the same Linear layers
    x = torch.rand(4, 28, 28)
    assert torch.allclose(torch.sigmoid(logit(x)), a(x), rtol=1.3e-6, atol=1e-5)  # assert_close's float32 tolerances


def test_notebook_03_checks_its_model_against_the_answers_printed_structure():
    # nbval runs the notebook; this makes sure the cell it runs compares with the answer's own text
    import json

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "03_sequential_autoencoder_on_mnist.ipynb"
    sources = [
        "".join(cell["source"]) for cell in json.loads(notebook.read_text())["cells"] if cell["cell_type"] == "code"
    ]
    checking = [s for s in sources if "assert structure(str(autoencoder)) == structure(answer_printed)" in s]
    assert len(checking) == 1
    assert ANSWER_REPR.read_text().strip() in checking[0]
    assert printed_lines(checking[0].split('"""')[1]) == printed_lines(ANSWER_REPR.read_text())


@pytest.mark.parametrize("params", [None, [torch.zeros(2, 1)], "wEncoder"])
def test_forward_needs_the_dict_of_raw_linear_ae(params):
    with pytest.raises(TypeError, match=r"params must be the dict that raw_linear_ae\(\) returns"):
        raw_linear_ae_forward(params)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (dict(code=0), ValueError, "code must be a whole number of at least 1, got 0"),
        (dict(code=-3), ValueError, "code must be a whole number of at least 1, got -3"),
        (dict(code=2.0), TypeError, "code must be a whole number, got 2.0"),
        (dict(code=True), TypeError, "code must be a whole number, got True"),
        (dict(logits=2), TypeError, r"logits must be True or False, got 2 \(int\)"),  # mlp_autoencoder(2): code=2?
        (dict(logits="yes"), TypeError, "logits must be True or False, got 'yes'"),
    ],
)
def test_mlp_autoencoder_refuses_a_code_of_no_units_and_logits_that_are_not_a_flag(call, error, message):
    with pytest.raises(error, match=message):
        mlp_autoencoder(**call)


def test_mlp_autoencoder_with_a_one_number_code():
    model = mlp_autoencoder(code=1)
    assert model[0](torch.rand(2, 28, 28)).shape == (2, 1) and model[1][0].in_features == 1


@pytest.mark.parametrize("name", ["wEncoder", "bEncoder", "wDecoder", "bDecoder"])
def test_forward_names_each_missing_parameter(name):
    params = raw_linear_ae(2, 1)
    del params[name]
    with pytest.raises(KeyError, match=rf"params lacks \['{name}'\]; make them with raw_linear_ae\(\)"):
        raw_linear_ae_forward(params)


# ---------------------------------------------------------------- conv_autoencoder
@pytest.mark.parametrize("logits", [False, True])
def test_conv_autoencoder_maps_images_to_images_through_its_code(logits):
    from ae_utils import conv_autoencoder

    torch.manual_seed(0)
    model = conv_autoencoder(logits=logits, code=5)
    x = torch.rand(3, 28, 28)
    assert model[0](x).shape == (3, 5) and model(x).shape == (3, 28, 28)
    inside = bool(((model(x) > 0) & (model(x) < 1)).all())
    assert inside != logits or logits  # a sigmoid output lies in (0, 1)
    assert isinstance(model[1][-2], nn.Sigmoid) != logits


def test_conv_autoencoder_parameter_count_is_the_layers_sum():
    from ae_utils import conv_autoencoder

    by_layer = [1 * 16 * 9 + 16, 16 * 32 * 9 + 32, 32 * 7 * 7 * 32 + 32, 32 * 32 * 7 * 7 + 32 * 7 * 7]
    by_layer += [32 * 16 * 9 + 16, 16 * 1 * 9 + 1]
    assert sum(p.numel() for p in conv_autoencoder().parameters()) == sum(by_layer) == 111_521


def test_conv_autoencoder_is_convolutional_each_code_unit_sees_the_whole_image_and_each_pixel_its_neighbours():
    from ae_utils import conv_autoencoder

    model = conv_autoencoder(logits=True)
    x = torch.zeros(1, 28, 28, requires_grad=True)
    model[0](x)[0, 0].backward()
    assert bool((x.grad != 0).any()) and x.grad.shape == (1, 28, 28)
    first = model[0][1]
    assert isinstance(first, nn.Conv2d) and first.kernel_size == (3, 3) and first.stride == (2, 2)


@pytest.mark.parametrize(
    "bad, error", [({"code": 0}, ValueError), ({"code": 2.5}, TypeError), ({"logits": 1}, TypeError)]
)
def test_conv_autoencoder_refuses_what_mlp_autoencoder_refuses(bad, error):
    from ae_utils import conv_autoencoder

    with pytest.raises(error, match="code|logits"):
        conv_autoencoder(**bad)
