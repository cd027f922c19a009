"""synthetic.correlated_data: exactly the learner's recipe."""

from __future__ import annotations

import pytest
import torch

from ae_utils import correlated_data


def test_equals_the_learners_recipe_with_the_same_generator(learner_x):
    assert torch.equal(correlated_data(100, torch.Generator().manual_seed(0)), learner_x)


def test_uses_the_global_generator_by_default():
    torch.manual_seed(5)
    x = correlated_data(10)
    torch.manual_seed(5)
    expected = torch.rand(10, 2)
    expected[:, 0] = expected[:, 0] + expected[:, 1]
    expected[:, 1] = 0.5 * expected[:, 0] + expected[:, 1]
    assert torch.equal(x, expected)


def test_shape_dtype_and_strong_correlation():
    x = correlated_data(500, torch.Generator().manual_seed(1))
    assert x.shape == (500, 2)
    assert x.dtype == torch.float32
    assert torch.corrcoef(x.T)[0, 1] > 0.9


def test_default_size_is_100():
    assert correlated_data(generator=torch.Generator().manual_seed(0)).shape == (100, 2)


@pytest.mark.parametrize(
    "n, error",
    [(1, ValueError), (0, ValueError), (-5, ValueError), (2.0, TypeError), (True, TypeError), ("100", TypeError)],
)
def test_rejects_fewer_than_two_points_or_non_integer(n, error):
    with pytest.raises(error, match="n must be a whole number"):
        correlated_data(n)
