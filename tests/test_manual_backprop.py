"""fast.manual_backprop: ManualBackprop and train_manual, the hand-written gradients
against autograd's and ae.train's, the same training run either way, and clear errors for what it cannot do."""

import math

import pytest
import torch
from torch import nn

from ae_utils import TrainingDiverged, mlp_autoencoder, train
from ae_utils.fast.manual_backprop import ManualBackprop, train_manual


def images(n: int = 20, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 28, 28, generator=torch.Generator().manual_seed(seed))


def model_pair(build, dtype=torch.float32):
    """Two identical copies of a freshly initialised model."""
    torch.manual_seed(0)
    a = build().to(dtype)
    b = build().to(dtype)
    b.load_state_dict(a.state_dict())
    return a, b


def autograd_grads(model, loss_fn, x):
    model.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), x)
    loss.backward()
    return float(loss.detach()), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("loss_fn", [nn.BCEWithLogitsLoss(), nn.MSELoss()], ids=["bce-logits", "mse"])
def test_gradients_equal_autograds_on_the_course_model(loss_fn):
    a, b = model_pair(lambda: mlp_autoencoder(logits=True), torch.float64)
    x = images(12).double()
    expected_loss, expected = autograd_grads(a, loss_fn, x)
    manual = ManualBackprop(b, loss_fn)
    out = manual.forward(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, a(x).detach(), rtol=1e-12, atol=1e-12)
    assert manual.loss(x) == pytest.approx(expected_loss, rel=1e-12)
    manual.backward(x)
    for p, g in zip(b.parameters(), expected):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


def test_nested_stack_with_linear_layers_back_to_back():
    # as the answer's code layer: Linear(64, 32) feeds Linear(32, 64) with no sigmoid between
    build = lambda: nn.Sequential(  # noqa: E731
        nn.Sequential(nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 2)),
        nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 6)),
    )
    a, b = model_pair(build, torch.float64)
    x = torch.rand(5, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    _, expected = autograd_grads(a, nn.BCEWithLogitsLoss(), x)
    manual = ManualBackprop(b, nn.BCEWithLogitsLoss())
    assert manual.activated == [True, False, False]
    torch.testing.assert_close(manual.forward(x), a(x).detach(), rtol=1e-12, atol=1e-12)
    manual.backward(x)
    for p, g in zip(b.parameters(), expected):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


def test_plain_stack_without_flatten_or_bias():
    build = lambda: nn.Sequential(nn.Linear(5, 3, bias=False), nn.Sigmoid(), nn.Linear(3, 5))  # noqa: E731
    a, b = model_pair(build, torch.float64)
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, expected = autograd_grads(a, nn.MSELoss(), x)
    manual = ManualBackprop(b, nn.MSELoss())
    manual.forward(x)
    manual.backward(x)
    assert b[0].bias is None
    for p, g in zip(b.parameters(), expected):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


def test_single_linear_layer():
    a, b = model_pair(lambda: nn.Sequential(nn.Linear(4, 4)), torch.float64)
    x = torch.rand(6, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    _, expected = autograd_grads(a, nn.BCEWithLogitsLoss(), x)
    manual = ManualBackprop(b, nn.BCEWithLogitsLoss())
    manual.forward(x)
    manual.backward(x)
    for p, g in zip(b.parameters(), expected):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


def run(backprop, dtype=torch.float32, optimizer=torch.optim.Adam):
    torch.manual_seed(0)
    model = mlp_autoencoder(logits=True).to(dtype)
    x = images(70).to(dtype)  # 70 = 4 x 16 + 6: a partial batch at the end of each epoch
    opt = optimizer(model.parameters(), lr=1e-3)
    how = train_manual if backprop == "manual" else train
    history = how(
        model, x, opt, nn.BCEWithLogitsLoss(), epochs=2, batch_size=16, generator=torch.Generator().manual_seed(3)
    )
    return model, history


@pytest.mark.parametrize("optimizer", [torch.optim.Adam, torch.optim.SGD])
def test_train_takes_the_same_steps_either_way(optimizer):
    a, eager = run("autograd", torch.float64, optimizer)
    b, manual = run("manual", torch.float64, optimizer)
    assert len(manual.losses) == len(eager.losses) == 2 * 5
    assert manual.losses == pytest.approx(eager.losses, rel=1e-12)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def test_float32_run_stays_within_rounding_of_autograd():
    a, eager = run("autograd")
    b, manual = run("manual")
    assert manual.losses == pytest.approx(eager.losses, rel=1e-5)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)


def test_the_model_learns():
    torch.manual_seed(0)
    model = mlp_autoencoder(logits=True)
    stripes = (torch.arange(28) % 2).float().expand(28, 28).repeat(8, 1, 1)  # 8 copies of one picture
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = train_manual(model, stripes, opt, nn.BCEWithLogitsLoss(), steps=30)
    assert history.losses[0] > 0.69 and history.losses[-1] < 0.1


def test_divergence_is_reported_at_step_one():
    torch.manual_seed(0)
    model = mlp_autoencoder(logits=True)
    with torch.no_grad():
        model[0][1].weight.fill_(math.nan)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with pytest.raises(TrainingDiverged, match="step 1: the loss became NaN"):
        train_manual(model, images(16), opt, nn.BCEWithLogitsLoss(), epochs=1, batch_size=8)


@pytest.mark.parametrize(
    "model, loss_fn, message",
    [
        (lambda: mlp_autoencoder(logits=False), nn.BCEWithLogitsLoss(), "ends in a Sigmoid: for BCE, drop it"),
        (lambda: mlp_autoencoder(logits=True), nn.BCELoss(), r"got the loss BCELoss\(\) \(for a Sigmoid-ended model"),
        (lambda: mlp_autoencoder(logits=True), nn.BCEWithLogitsLoss(reduction="sum"), "reduction 'mean'"),
        (
            lambda: mlp_autoencoder(logits=True),
            nn.BCEWithLogitsLoss(pos_weight=torch.ones(1)),
            "with weight, pos_weight",
        ),
        (lambda: nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 4)), nn.MSELoss(), "got Linear, ReLU, Linear"),
        (lambda: nn.Linear(4, 4), nn.MSELoss(), "got a Linear"),
        (lambda: nn.Sequential(nn.Flatten(2), nn.Linear(4, 4)), nn.MSELoss(), "start_dim=1"),
        (lambda: nn.Sequential(nn.Linear(4, 6), nn.Unflatten(1, (2, 2))), nn.MSELoss(), r"needs 4 features"),
        (
            lambda: nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(2, 4)),
            nn.MSELoss(),
            "3 outputs feeding one with 2",
        ),
        (lambda: nn.Sequential(), nn.MSELoss(), "got ."),
        (
            lambda: nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Sigmoid(), nn.Linear(3, 4)),
            nn.MSELoss(),
            "got Linear, Sigmoid, Sigmoid, Linear",
        ),
        (
            lambda: nn.Sequential(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), nn.Linear(3, 4)),
            nn.MSELoss(),
            "got Linear, Tanh, Linear",
        ),
    ],
    ids=[
        "sigmoid-end",
        "bce",
        "sum",
        "pos-weight",
        "relu",
        "not-sequential",
        "flatten-dim",
        "unflatten",
        "widths",
        "empty",
        "two-sigmoids",
        "nested-tanh",
    ],
)
def test_unsupported_models_and_losses_say_what_is_needed(model, loss_fn, message):
    module = model()
    opt = torch.optim.SGD(module.parameters(), lr=0.1) if list(module.parameters()) else None
    with pytest.raises(ValueError, match=message) as caught:
        if opt is None:
            ManualBackprop(module, loss_fn)
        else:
            train_manual(module, torch.rand(4, 4), opt, loss_fn, steps=1)
    assert str(caught.value).startswith("manual backprop")


def test_train_has_no_backprop_switch():
    model = nn.Sequential(nn.Linear(3, 3))
    with pytest.raises(TypeError, match="backprop"):
        train(model, torch.rand(4, 3), torch.optim.SGD(model.parameters(), lr=0.1), steps=1, backprop="manual")


def test_steps_or_epochs_exactly_one():
    model = nn.Sequential(nn.Linear(3, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for kwargs in ({}, {"steps": 1, "epochs": 1}):
        with pytest.raises(ValueError, match="exactly one of steps"):
            train_manual(model, torch.rand(4, 3), opt, nn.MSELoss(), **kwargs)
    assert train_manual(model, torch.rand(5, 3), opt, nn.MSELoss(), epochs=2, batch_size=2).steps == 6  # 3 per pass


def test_batch_shape_errors():
    model = nn.Sequential(nn.Linear(4, 4))
    manual = ManualBackprop(model, nn.MSELoss())
    with pytest.raises(ValueError, match="no nn.Flatten"):
        manual.forward(torch.rand(2, 2, 2))
    with pytest.raises(ValueError, match="3 features per sample but the first nn.Linear takes 4"):
        manual.forward(torch.rand(2, 3))


def test_loss_and_backward_need_forward_of_the_same_batch():
    model = nn.Sequential(nn.Linear(4, 4))
    manual = ManualBackprop(model, nn.MSELoss())
    with pytest.raises(RuntimeError, match="call forward"):
        manual.backward(torch.rand(2, 4))
    manual.forward(torch.rand(2, 4))
    with pytest.raises(RuntimeError, match="same batch"):
        manual.loss(torch.rand(2, 4))


def test_output_shape_mismatch_is_caught_on_the_first_step():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 784))  # no Unflatten: output (N, 784), input (N, 28, 28)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"output has shape \(4, 784\) but its input has shape \(4, 28, 28\)"):
        train_manual(model, images(4), opt, nn.MSELoss(), steps=1)


def tied():
    first, second = nn.Linear(4, 4), nn.Linear(4, 4)
    second.weight = first.weight
    return nn.Sequential(first, nn.Sigmoid(), second)


class MaskedLinear(nn.Linear):
    def forward(self, x):
        return nn.functional.linear(x, self.weight.tril(), self.bias)


def hooked():
    model = nn.Sequential(nn.Linear(4, 4))
    model[0].register_forward_hook(lambda module, inputs, output: output * 2)
    return model


def parametrized():
    return nn.Sequential(nn.utils.parametrizations.weight_norm(nn.Linear(4, 4)))


def reused():
    layer = nn.Linear(4, 4)
    return nn.Sequential(layer, nn.Sigmoid(), layer)


@pytest.mark.parametrize(
    "build, message",
    [
        (tied, "share a parameter"),
        (reused, "share a parameter"),
        (lambda: nn.Sequential(MaskedLinear(4, 4)), "got MaskedLinear"),
        (hooked, "the Linear has hooks"),
        (parametrized, "the ParametrizedLinear is parametrized"),
    ],
    ids=["tied", "reused", "subclass", "hook", "parametrized"],
)
def test_models_it_would_get_silently_wrong_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        ManualBackprop(build(), nn.MSELoss())


def test_non_contiguous_batches_train_like_autograd():
    x = images(8).transpose(1, 2)  # not contiguous: flattening copies it
    assert not x.is_contiguous()
    results = []
    for how in (train, train_manual):
        torch.manual_seed(0)
        model = mlp_autoencoder(logits=True).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        results.append(how(model, x.double(), opt, nn.BCEWithLogitsLoss(), steps=3).losses)
    assert results[1] == pytest.approx(results[0], rel=1e-12)


def test_no_stale_gradient_for_a_parameter_outside_the_stack():
    model = nn.Sequential(nn.Linear(3, 3))
    extra = nn.Parameter(torch.zeros(1))
    extra.grad = torch.ones(1)  # left over from somewhere else
    opt = torch.optim.SGD([*model.parameters(), extra], lr=0.1)
    train_manual(model, torch.rand(5, 3), opt, nn.MSELoss(), steps=5)
    assert extra.item() == 0.0


def test_forward_output_survives_backward():
    torch.manual_seed(0)
    model = mlp_autoencoder(logits=True)
    x = images(4)
    manual = ManualBackprop(model, nn.BCEWithLogitsLoss())
    out = manual.forward(x)
    kept = out.clone()
    manual.backward(x)
    assert torch.equal(out, kept)
    assert manual.loss(x) == pytest.approx(float(nn.BCEWithLogitsLoss()(kept, x)))


def test_frozen_parameters_get_no_gradient():
    model = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 4))
    model[0].weight.requires_grad_(False)
    manual = ManualBackprop(model, nn.MSELoss())
    x = torch.rand(5, 4)
    manual.forward(x)
    manual.backward(x)
    assert model[0].weight.grad is None
    assert all(p.grad is not None for p in (model[0].bias, model[2].weight, model[2].bias))


def test_model_moved_to_another_dtype_after_construction():
    a, b = model_pair(lambda: nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 4)))
    manual = ManualBackprop(b, nn.MSELoss())
    x = torch.rand(5, 4)
    manual.forward(x)
    manual.backward(x)
    a.double(), b.double()
    x = x.double()
    _, expected = autograd_grads(a, nn.MSELoss(), x)
    manual.forward(x)
    manual.backward(x)
    for p, g in zip(b.parameters(), expected):
        assert p.grad.dtype == torch.float64
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


def test_buffers_are_kept_for_two_batch_sizes_only():
    manual = ManualBackprop(nn.Sequential(nn.Linear(4, 4)), nn.MSELoss())
    for batch in (8, 3, 5, 7, 8):
        x = torch.rand(batch, 4)
        manual.forward(x)
        manual.backward(x)
    assert len(manual._buffers) == ManualBackprop.KEPT_BATCH_SIZES
