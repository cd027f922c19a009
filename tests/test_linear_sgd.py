"""linear_sgd.sgd_linear_ae: the hand-written gradient must make exactly the updates of
torch.optim.SGD with autograd, as run by ``train``."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import linear_ae_minimum

from ae_utils import TrainingDiverged, raw_linear_ae, raw_linear_ae_forward, train
from ae_utils.fast.linear_sgd import sgd_linear_ae


def twin_params(features: int, hidden: int, seed: int, dtype=torch.float64):
    """Two independent copies of the same raw linear autoencoder initialisation."""
    params = raw_linear_ae(features, hidden, generator=torch.Generator().manual_seed(seed))
    copy = lambda: {n: p.detach().to(dtype).clone().requires_grad_() for n, p in params.items()}  # noqa: E731
    return copy(), copy()


def train_with_autograd(x, params, lr, steps):
    return train(raw_linear_ae_forward(params), x, torch.optim.SGD(params.values(), lr=lr), steps=steps, progress=False)


@pytest.mark.parametrize("hidden", [1, 2])
def test_loss_curve_matches_torch_sgd_with_autograd(learner_x, hidden):
    x = learner_x.double()
    fast, reference = twin_params(2, hidden, seed=3)
    history, diverged_at = sgd_linear_ae(x, fast, lr=0.05, steps=300)
    expected = train_with_autograd(x, reference, lr=0.05, steps=300)
    assert diverged_at is None
    assert history.steps == 300
    assert history.losses == pytest.approx(expected.losses, rel=1e-10)
    assert history.final_loss < 0.5 * history.losses[0]
    for name in fast:
        torch.testing.assert_close(fast[name], reference[name].detach(), rtol=1e-10, atol=1e-12)


def test_loss_curve_matches_in_float32(learner_x):
    fast, reference = twin_params(2, 1, seed=0, dtype=torch.float32)
    history, _ = sgd_linear_ae(learner_x, fast, lr=0.05, steps=200)
    expected = train_with_autograd(learner_x, reference, lr=0.05, steps=200)
    assert history.losses == pytest.approx(expected.losses, rel=1e-4)


def test_params_are_updated_in_place(learner_x):
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float32)
    objects = {n: p for n, p in params.items()}
    before = {n: p.detach().clone() for n, p in params.items()}
    sgd_linear_ae(learner_x, params, lr=0.05, steps=3)
    for name, p in params.items():
        assert p is objects[name]
        assert not torch.equal(p.detach(), before[name])


def test_divergence_step_matches_train(learner_x):
    """At lr 5 the loss multiplies by 1e4, 1e14, 1e43, 1e127 from step to step and overflows at step 6: no
    rounding can move that step, so both paths must name it (unlike the late divergence below)."""
    x = learner_x.double()
    fast, reference = twin_params(2, 1, seed=0)
    history, diverged_at = sgd_linear_ae(x, fast, lr=5.0, steps=1000)
    with pytest.raises(TrainingDiverged) as info:
        train_with_autograd(x, reference, lr=5.0, steps=1000)
    assert diverged_at is not None and 1 < diverged_at < 1000
    assert diverged_at == info.value.step
    assert history.steps == diverged_at - 1
    assert all(math.isfinite(v) for v in history.losses)
    assert history.losses == pytest.approx(info.value.history.losses, rel=1e-6)


def test_late_divergence_is_caught_at_its_own_first_infinite_step(learner_x):
    """Started at a flat minimum, nudged, with lr just too large: the loss leaves the minimum, comes back
    and blows up only after many steps (the loop checks for divergence every few dozen).

    What the mathematics fixes: the nudge (1e-6) grows about a millionfold over the first excursion (steps
    1 to 100), so rounding (1e-16) stays near 1e-10 of it there and both float paths agree to 1e-6. The
    second excursion amplifies that 1e-10 past 1e-4, so the step at which each path overflows is decided by
    rounding (196 on one CPU, 223 on another): it is not compared, only checked against each path's own losses.
    """
    x = learner_x.double() - learner_x.double().mean(dim=0)
    start = linear_ae_minimum(x, 1, scale=1.73)  # close to the flattest minimum of this data
    nudge = torch.randn(2, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1e-6
    start[0] = start[0] + nudge

    def params():
        return {n: p.clone().requires_grad_() for n, p in zip(("wEncoder", "bEncoder", "wDecoder", "bDecoder"), start)}

    history, diverged_at = sgd_linear_ae(x, params(), lr=1.65, steps=5000)
    with pytest.raises(TrainingDiverged) as info:
        train_with_autograd(x, params(), lr=1.65, steps=5000)
    for step, losses in [(diverged_at, history.losses), (info.value.step, info.value.history.losses)]:
        assert step is not None and 128 < step < 5000  # after the first divergence checks
        assert len(losses) == step - 1 and all(math.isfinite(v) for v in losses)
    assert history.losses[:100] == pytest.approx(info.value.history.losses[:100], rel=1e-6)
    assert max(history.losses[:100]) > 2 * history.losses[0]  # the first excursion is inside the compared steps
    assert history.losses[99] < 1.01 * history.losses[0]  # and over by step 100


@pytest.mark.parametrize("lr", [0.0, -0.1, math.nan, math.inf])
def test_rejects_non_positive_learning_rate(learner_x, lr):
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float32)
    with pytest.raises(ValueError, match="learning rate must be a positive finite number"):
        sgd_linear_ae(learner_x, params, lr=lr, steps=10)


@pytest.mark.parametrize("steps, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_rejects_bad_step_count(learner_x, steps, error):
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float32)
    with pytest.raises(error, match="steps must be a whole number"):
        sgd_linear_ae(learner_x, params, lr=0.01, steps=steps)
