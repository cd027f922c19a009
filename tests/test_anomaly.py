"""anomaly: the ROC AUC, checked against counting every pair."""

from __future__ import annotations

import pytest
import torch

from ae_utils import roc_auc


def pairs_counted(normal: torch.Tensor, outsiders: torch.Tensor) -> float:
    """The AUC by definition: over every (outsider, normal) pair, 1 if the outsider scores higher, 1/2 if tied."""
    difference = outsiders[:, None] - normal[None, :]
    return ((difference > 0).double().mean() + 0.5 * (difference == 0).double().mean()).item()


def test_a_perfect_split_is_one_and_the_reverse_zero():
    low, high = torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0.5, 0.9])
    assert roc_auc(low, high) == 1.0 and roc_auc(high, low) == 0.0


def test_one_shared_score_counts_half():
    assert roc_auc(torch.ones(4), torch.ones(3)) == 0.5
    assert roc_auc(torch.tensor([1.0, 2.0]), torch.tensor([2.0])) == pytest.approx(0.75)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_scores_with_ties_agree_with_counting_every_pair(seed):
    generator = torch.Generator().manual_seed(seed)
    normal = torch.randint(0, 20, (300,), generator=generator).float()
    outsiders = torch.randint(5, 25, (41,), generator=generator).float()
    assert roc_auc(normal, outsiders) == pytest.approx(pairs_counted(normal, outsiders), abs=1e-12)


def test_the_order_of_the_scores_does_not_matter_and_a_single_score_each_side_works():
    normal, outsiders = torch.tensor([3.0, 1.0, 2.0]), torch.tensor([2.5, 0.0])
    assert (
        roc_auc(normal, outsiders) == roc_auc(normal.flip(0), outsiders.flip(0)) == pytest.approx(2 / 6)
    )  # 2.5 beats 1 and 2
    assert roc_auc(torch.tensor([1.0]), torch.tensor([2.0])) == 1.0


@pytest.mark.parametrize(
    "normal, outsiders, error, match",
    [
        (torch.tensor([]), torch.tensor([1.0]), ValueError, "normal must be a non-empty 1-D"),
        (torch.tensor([1.0]), torch.ones(2, 2), ValueError, "outsiders must be a non-empty 1-D"),
        (torch.tensor([float("nan")]), torch.tensor([1.0]), ValueError, "finite"),
        (torch.tensor([1.0]), torch.tensor([float("inf")]), ValueError, "finite"),
        ([1.0], torch.tensor([1.0]), TypeError, "normal must be a torch.Tensor"),
    ],
)
def test_scores_that_mean_nothing_are_refused(normal, outsiders, error, match):
    with pytest.raises(error, match=match):
        roc_auc(normal, outsiders)
