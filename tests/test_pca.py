"""pca: the covariance, PCA and its reconstruction, checked against NumPy, at any magnitude and in every dtype."""

import math

import numpy as np
import pytest
import torch

from ae_utils.pca import covariance, pca, pca_reconstruct, unit_scaled
from ae_utils.theory import eckart_young_floor


@pytest.fixture
def x() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    scales = torch.tensor([3.0, 2.0, 1.0, 0.5, 0.1], dtype=torch.float64)
    mixing = torch.linalg.qr(torch.randn(5, 5, generator=generator, dtype=torch.float64))[0]
    return (torch.randn(200, 5, generator=generator, dtype=torch.float64) * scales) @ mixing.T + 2.0


def numpy_components(x: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    data = x.numpy()
    centred = data - data.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[:k], singular[:k] ** 2 / len(data)


def test_pca_matches_numpys_svd_up_to_sign(x):
    mean, components, variances = pca(x, 3)
    expected, expected_variances = numpy_components(x, 3)
    np.testing.assert_allclose(mean.numpy(), x.numpy().mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.abs(components.numpy() @ expected.T), np.eye(3), atol=1e-9)
    np.testing.assert_allclose(variances.numpy(), expected_variances, rtol=1e-9)


def test_covariance_matches_numpy_population_covariance(x):
    result = covariance(x.float())
    assert result.dtype == torch.float64
    np.testing.assert_allclose(result.numpy(), np.cov(x.float().double().numpy().T, bias=True), rtol=1e-12, atol=1e-12)


def test_components_are_orthonormal_ordered_and_sign_fixed(x):
    _, components, variances = pca(x, 5)
    np.testing.assert_allclose((components @ components.T).numpy(), np.eye(5), atol=1e-12)
    assert bool((variances[:-1] >= variances[1:]).all())
    largest = components.gather(1, components.abs().argmax(dim=1, keepdim=True))
    assert bool((largest > 0).all())


def test_reconstruction_error_is_the_eckart_young_floor(x):
    for k in range(1, 5):
        mean, components, _ = pca(x, k)
        error = torch.mean((pca_reconstruct(x, mean, components) - x) ** 2).item()
        assert error == pytest.approx(eckart_young_floor(x, k), rel=1e-9)


def test_variances_of_directions_without_spread_are_zero_not_negative(x):
    """3 points span a plane: the covariance's other eigenvalues are 0, which eigh returns as +-1e-16."""
    _, _, variances = pca(x[:3], 5)
    assert bool((variances >= 0).all()) and float(variances[2:].max()) < 1e-12 * float(variances[0])
    assert eckart_young_floor(x[:3], 2) >= 0


def test_float32_in_float32_out(x):
    mean, components, variances = pca(x.float(), 2)
    assert mean.dtype == components.dtype == variances.dtype == torch.float32


@pytest.mark.parametrize("k, message", [(0, "at least 1"), (6, "larger than the data's dimension D=5")])
def test_pca_rejects_bad_k(x, k, message):
    with pytest.raises(ValueError, match=message):
        pca(x, k)


def test_pca_rejects_a_single_sample():
    with pytest.raises(ValueError, match="1 sample"):
        pca(torch.ones(1, 3), 1)


def test_reconstruct_rejects_mismatched_shapes(x):
    mean, components, _ = pca(x, 2)
    for args in ((x[:, :4], mean, components), (x, mean[:4], components), (x, x, components), (x, mean, mean)):
        with pytest.raises(ValueError, match="shapes do not fit"):
            pca_reconstruct(*args)


def test_pca_reconstruct_refuses_components_that_are_not_orthonormal():
    x = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    mean, components, _ = pca(x, 2)
    pca_reconstruct(x, mean, components)  # ae.pca's own components pass
    for bad in (components * 2, components + 0.01, torch.stack([components[0], components[0]])):
        with pytest.raises(ValueError, match="components must be orthonormal rows"):
            pca_reconstruct(x, mean, bad)
    with pytest.raises(TypeError, match="components must be a torch.Tensor, got list"):
        pca_reconstruct(x, mean, components.tolist())


# ---------------------------------------------------------------- data of any magnitude, and every dtype


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-160, 2.0**-70, 1e20, 1e150])
def test_pca_is_scale_equivariant_at_any_magnitude(x, scale):
    """The components of x * scale are x's (NumPy's, up to sign); the mean scales by scale and the variances
    by scale^2, rounded as float64 rounds them (1e-400 to 0). The covariance itself underflows or overflows."""
    mean, components, variances = pca(x * scale, 3)
    expected, expected_variances = numpy_components(x, 3)
    np.testing.assert_allclose(np.abs(components.numpy() @ expected.T), np.eye(3), atol=1e-9)
    np.testing.assert_allclose(mean.numpy(), x.numpy().mean(axis=0) * scale, rtol=1e-12)
    np.testing.assert_allclose(variances.numpy(), expected_variances * scale * scale, rtol=1e-9, atol=1e-323)


@pytest.mark.parametrize("x_scaled, dtype", [(lambda x: x * 1e160, "float64"), (lambda x: x.float() * 1e20, "float32")])
def test_variances_beyond_the_dtypes_range_are_refused(x, x_scaled, dtype):
    with pytest.raises(ValueError, match=rf"the largest variance, about 1e\d+, lies beyond {dtype}'s range; rescale"):
        pca(x_scaled(x), 2)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_pca_reconstruct_takes_pcas_own_output_in_every_dtype(x, dtype):
    """Rounded to float16, orthonormal rows are off by up to float16's eps (1e-3; 7e-4 here, where a
    tolerance of 1e-4 refused them), and the reconstruction is as close to float64's as float16 allows."""
    low = x.to(dtype)
    mean, components, _ = pca(low, 3)
    assert components.dtype == dtype
    reconstruction = pca_reconstruct(low, mean, components).double()
    _, exact_components, _ = pca(low.double(), 3)
    exact = pca_reconstruct(low.double(), mean.double(), exact_components)
    assert float((reconstruction - exact).abs().max()) < 64 * torch.finfo(dtype).eps


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1.5e-8), (torch.float32, 3.5e-4), (torch.float16, 0.031)])
def test_pca_reconstruct_tolerates_half_the_digits_of_the_components_dtype(dtype, tolerance):
    """Rows stretched so that the Gram matrix is off the identity by 0.8 of the tolerance pass; by 1.25
    of it they are refused."""
    rows = torch.linalg.qr(torch.randn(6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64))[0].T
    x, mean = torch.zeros(2, 6, dtype=dtype), torch.zeros(6, dtype=dtype)
    for factor, passes in ((0.8, True), (1.25, False)):
        stretched = (rows * (1 + factor * tolerance) ** 0.5).to(dtype)
        gram_error = float((stretched.double() @ stretched.double().T - torch.eye(3, dtype=torch.float64)).abs().max())
        assert (gram_error < tolerance) == passes  # the rounding to dtype keeps the stretch on its side
        if passes:
            pca_reconstruct(x, mean, stretched)
        else:
            with pytest.raises(ValueError, match="components must be orthonormal rows"):
                pca_reconstruct(x, mean, stretched)


@pytest.mark.parametrize("magnitude", [1e-310, 3e-5, 1.0, 1.5, 1e200, 1.7e308])
def test_unit_scaled_divides_by_the_power_of_two_above_the_largest_magnitude(magnitude):
    """Exactly (a power of two), to at most 1 in magnitude; near float64's maximum, 2**1023 (its largest power)."""
    x = torch.tensor([[0.25, -1.0], [0.5, 0.0]], dtype=torch.float64) * magnitude
    scaled, scale = unit_scaled(x)
    assert math.frexp(scale)[0] == 0.5 and torch.equal(scaled * scale, x)
    if magnitude < 1e308:
        assert 0.5 <= float(scaled.abs().max()) < 1.0
    else:
        assert scale == 2.0**1023 and bool(torch.isfinite(scaled).all())


def test_unit_scaled_of_zeros_is_zeros_and_checks_the_data():
    scaled, scale = unit_scaled(torch.zeros(3, 2))
    assert scale == 1.0 and scaled.dtype == torch.float64 and not scaled.any()
    with pytest.raises(ValueError, match="NaN or infinite"):
        unit_scaled(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
