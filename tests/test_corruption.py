"""corruption: the denoising autoencoder's inputs, checked against the distributions they claim."""

from __future__ import annotations

import pytest
import torch

from ae_utils import corrupt


def images(n=2000, value=0.5, dtype=torch.float32):
    return torch.full((n, 28, 28), value, dtype=dtype)


def test_gaussian_noise_has_the_asked_standard_deviation_before_the_clip():
    x = images()  # 0.5 everywhere: sigma 0.1 almost never reaches the clip at 0 or 1 (5 sigma)
    noisy = corrupt(x, "gaussian", 0.1, torch.Generator().manual_seed(0))
    deviation = noisy - x
    # 1.57 million draws: the sample mean and std are within 1e-3 of 0 and 0.1 far beyond 5 standard errors
    assert abs(deviation.mean().item()) < 1e-3 and deviation.std().item() == pytest.approx(0.1, abs=1e-3)


def test_gaussian_noise_is_clipped_to_the_pixel_range():
    noisy = corrupt(images(value=1.0), "gaussian", 2.0, torch.Generator().manual_seed(0))
    assert noisy.min().item() == 0.0 and noisy.max().item() == 1.0
    share_at_one = (noisy == 1.0).double().mean().item()  # P(noise >= 0) = 1/2, exactly the ones clipped at 1
    assert share_at_one == pytest.approx(0.5, abs=0.002)


def test_a_level_of_zero_changes_nothing_and_the_input_is_left_alone():
    x = torch.rand(50, 28, 28, generator=torch.Generator().manual_seed(1))
    before = x.clone()
    for kind in ("gaussian", "mask"):
        assert torch.equal(corrupt(x, kind, 0.0), x)
    corrupt(x, "gaussian", 0.7)
    assert torch.equal(x, before)


@pytest.mark.parametrize("level", [0.25, 0.75])
def test_masking_zeroes_the_asked_share_of_pixels_and_keeps_the_others(level):
    x = images(value=0.8)
    masked = corrupt(x, "mask", level, torch.Generator().manual_seed(2))
    assert bool(((masked == 0) | (masked == x)).all())  # each pixel is kept whole or set to 0
    assert (masked == 0).double().mean().item() == pytest.approx(level, abs=0.002)  # 1.57 million pixels


def test_masking_everything_leaves_a_black_image():
    assert corrupt(images(n=3), "mask", 1.0).abs().sum().item() == 0


def test_the_same_generator_seed_gives_the_same_corruption_and_another_seed_another():
    x = torch.rand(10, 28, 28, generator=torch.Generator().manual_seed(3))
    first, again, other = (corrupt(x, "gaussian", 0.3, torch.Generator().manual_seed(s)) for s in (4, 4, 5))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_float64_images_stay_float64():
    assert corrupt(images(n=2, dtype=torch.float64), "gaussian", 0.2).dtype == torch.float64


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "blur"}, ValueError, r"unknown corruption 'blur'; choose one of: 'gaussian', 'mask'"),
        ({"kind": "mask", "level": 1.5}, ValueError, r"level for 'mask' must be a probability from 0 to 1, got 1.5"),
        ({"kind": "mask", "level": -0.1}, ValueError, r"probability from 0 to 1, got -0.1"),
        ({"level": -0.5}, ValueError, r"level for 'gaussian' must be a standard deviation of 0 or more, got -0.5"),
        ({"level": float("nan")}, ValueError, r"level must be a finite number"),
        ({"level": "0.5"}, TypeError, r"level must be a number"),
    ],
)
def test_bad_settings_are_refused_saying_what_is_allowed(kwargs, error, match):
    with pytest.raises(error, match=match):
        corrupt(images(n=2), **kwargs)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (torch.full((2, 28, 28), 255.0), ValueError, r"values in \[0, 1\]"),
        (torch.full((2, 28, 28), -0.01), ValueError, r"values in \[0, 1\]"),
        (torch.zeros(2, 28, 28, dtype=torch.uint8), TypeError, r"floating-point"),
        (torch.full((2, 28, 28), float("nan")), ValueError, r"NaN"),
        ([[0.5]], TypeError, r"images must be"),
    ],
)
def test_images_that_are_not_pixels_in_the_unit_range_are_refused(bad, error, match):
    with pytest.raises(error, match=match):
        corrupt(bad, "gaussian", 0.1)
