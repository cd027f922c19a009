"""metrics.reconstruction_loss: chunked held-out error equals the one-shot computation."""

import numpy as np
import pytest
import torch
from torch import nn

from ae_utils import mlp_autoencoder, reconstruction_loss


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(45, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("batch_size", [1, 7, 45, 1000])
def test_chunked_bce_equals_the_whole_batch_bce(images, batch_size):
    torch.manual_seed(0)
    model = mlp_autoencoder()
    with torch.no_grad():
        expected = nn.functional.binary_cross_entropy(model(images), images).item()
    assert reconstruction_loss(model, images, nn.BCELoss(), batch_size) == pytest.approx(expected, rel=1e-6)


def test_logit_form_gives_the_same_bce(images):
    torch.manual_seed(0)
    with_sigmoid = mlp_autoencoder(logits=False)
    logits = mlp_autoencoder(logits=True)
    logits.load_state_dict(with_sigmoid.state_dict())
    a = reconstruction_loss(with_sigmoid, images, nn.BCELoss())
    b = reconstruction_loss(logits, images, nn.BCEWithLogitsLoss())
    assert a == pytest.approx(b, rel=1e-5)


def test_default_is_mse_and_mode_is_restored(images):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 784), nn.Dropout(0.5), nn.Unflatten(1, (28, 28)))
    model.train()
    first = reconstruction_loss(model, images)
    assert first == reconstruction_loss(model, images)  # dropout off: deterministic
    assert model.training
    with torch.no_grad():
        model.eval()
        assert first == pytest.approx(nn.functional.mse_loss(model(images), images).item(), rel=1e-6)


@pytest.mark.parametrize(
    "x, batch_size, message",
    [
        (torch.rand(5), 2, "non-empty tensor"),
        (torch.rand(0, 3), 2, "non-empty tensor"),
        (torch.rand(4, 3), 0, "at least 1"),
    ],
)
def test_bad_input(x, batch_size, message):
    with pytest.raises(ValueError, match=message):
        reconstruction_loss(nn.Identity(), x, batch_size=batch_size)


def test_shapes_that_would_broadcast_are_refused_not_scored(images):
    # (N, 1, 28, 28) images scored against a model returning (N, 28, 28): a perfect model would score 0.166
    identity = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (28, 28)))
    with pytest.raises(ValueError, match=r"output has shape \(45, 28, 28\) but its input has shape \(45, 1, 28, 28\)"):
        reconstruction_loss(identity, images.unsqueeze(1))
    assert reconstruction_loss(identity, images) == 0.0  # like with like: a perfect model scores 0


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_a_loss_that_is_not_a_mean_is_refused(images, reduction):
    with pytest.raises(ValueError, match=f"reduction='{reduction}'"):
        reconstruction_loss(lambda z: z, images, nn.MSELoss(reduction=reduction))


# ---------------------------------------------------------------- wrong types and misfits name what is wrong (issue 11)

WRONG = {"None": None, "ndarray": np.ones((2, 2), dtype=np.float32), "str": "abc", "list": [1.0, 2.0], "float": 2.5}


@pytest.mark.parametrize(
    "argument, kinds, message",
    [
        ("model", WRONG, "model must be an nn.Module or a function x -> reconstruction, got "),
        ("x", WRONG, r"x must be a tensor of samples, shaped \(samples, \.\.\.\), got "),
        ("loss_fn", ["ndarray", "str", "list", "float"], r"loss_fn must be a function \(reconstruction, x\) -> loss"),
        ("batch_size", WRONG, "batch_size must be a whole number, got "),
    ],
)
def test_wrong_types_name_the_argument(argument, kinds, message):
    for kind in kinds:
        call = {"model": nn.Linear(2, 2), "x": torch.rand(4, 2), argument: WRONG[kind]}
        with pytest.raises(TypeError, match=f"{message}.*{type(WRONG[kind]).__name__}"):
            reconstruction_loss(**call)


def test_a_numpy_array_or_integer_images_are_refused_with_the_conversion_to_use():
    with pytest.raises(TypeError, match=r"got ndarray; convert it with torch.from_numpy\(x\).float\(\)"):
        reconstruction_loss(nn.Identity(), np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(TypeError, match=r"floating-point tensor, got dtype torch.uint8; convert it with x.float\(\)"):
        reconstruction_loss(nn.Identity(), torch.zeros(4, 3, dtype=torch.uint8))


def test_float64_data_into_a_float32_model_says_how_to_fix_it(images):
    torch.manual_seed(0)
    with pytest.raises(ValueError, match=r"x has dtype torch.float64 .* dtype torch.float32 and shape \(256, 784\)"):
        reconstruction_loss(mlp_autoencoder(), images.double(), nn.BCELoss(), batch_size=10)


def test_images_of_another_size_name_the_feature_count():
    torch.manual_seed(0)
    with pytest.raises(ValueError, match=r"shape \(3, 32, 32\).*1024 values per sample") as caught:
        reconstruction_loss(mlp_autoencoder(), torch.rand(3, 32, 32))
    assert isinstance(caught.value.__cause__, RuntimeError)
