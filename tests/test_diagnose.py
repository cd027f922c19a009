"""diagnose.check_setup: the learner's broken set-up must be explained problem by problem,
the fixed one must pass, and the check must leave every tensor and the optimizer as it found them."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from ae_utils import SetupReport, check_setup


def raw_params(features: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    """The learner's four raw tensors: wEncoder (D,1), bEncoder (1,), wDecoder (1,D), bDecoder (1,D)."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {"wEncoder": (features, 1), "bEncoder": (1,), "wDecoder": (1, features), "bDecoder": (1, features)}
    return {name: torch.randn(shape, generator=generator, requires_grad=True) for name, shape in shapes.items()}


def reconstruct(x, p):
    return (x @ p["wEncoder"] + p["bEncoder"]) @ p["wDecoder"] + p["bDecoder"]


@pytest.fixture
def broken(learner_x):
    """The learner's set-up: forward pass once before the loop, optimizer over slices of the data."""
    x = learner_x
    params = raw_params()
    x_reconstructed = reconstruct(x, params)
    optimizer = torch.optim.SGD([x[:, 0], x[:, 1]], lr=0.01)
    return params, optimizer, lambda: nn.MSELoss()(x_reconstructed, x)


@pytest.fixture
def broken_report(broken) -> SetupReport:
    return check_setup(*broken)


def test_broken_setup_is_not_ok(broken_report):
    assert not broken_report.ok


@pytest.mark.parametrize("name", ["wEncoder", "bEncoder", "wDecoder", "bDecoder"])
def test_broken_setup_names_each_parameter_missing_from_optimizer(broken_report, name):
    assert f"{name} is not in the optimizer, so optimizer.step() never changes it." in broken_report.problems


@pytest.mark.parametrize("entry", [0, 1])
def test_broken_setup_names_data_slices_in_optimizer(broken_report, entry):
    expected = (
        f"the optimizer's entry {entry} (a tensor of shape (100,), a slice of a tensor of shape (100, 2)) "
        "does not require grad: it is data"
    )
    assert any(p.startswith(expected) for p in broken_report.problems)


def test_broken_setup_explains_backward_a_second_time(broken_report):
    [problem] = [p for p in broken_report.problems if "second time" in p]
    assert "backward() failed on step 2" in problem
    assert "inside the loop" in problem


def test_broken_setup_reports_loss_that_did_not_move(broken_report):
    [problem] = [p for p in broken_report.problems if p.startswith("the loss stayed at")]
    assert f"{broken_report.losses[0]:.6g}" in problem
    assert "no parameter changed" in problem


def test_broken_setup_lists_exactly_its_problems(broken_report):
    assert len(broken_report.problems) == 4 + 2 + 1 + 1
    text = str(broken_report)
    assert text.startswith("8 problem(s) found:\n1. ")
    assert "\n8. the loss stayed at" in text


def test_broken_setup_does_not_change_the_data(learner_x, broken):
    before = learner_x.clone()
    check_setup(*broken)
    assert torch.equal(learner_x, before)


def test_fixed_setup_is_ok(learner_x):
    params = raw_params()
    optimizer = torch.optim.SGD(params.values(), lr=0.01)
    report = check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert report.ok, str(report)
    assert report.problems == []
    assert len(report.losses) == 3
    assert report.losses[-1] < report.losses[0]
    assert str(report).startswith("No problems found: all 4 parameters receive gradients")


def test_module_setup_is_ok(learner_x):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    report = check_setup(model, optimizer, lambda: nn.MSELoss()(model(learner_x), learner_x), steps=4)
    assert report.ok, str(report)
    assert report.n_parameters == 4
    assert len(report.losses) == 4


def test_module_layer_missing_from_optimizer_is_named(learner_x):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 2))
    optimizer = torch.optim.SGD(model[0].parameters(), lr=0.1)
    report = check_setup(model, optimizer, lambda: nn.MSELoss()(model(learner_x), learner_x))
    assert report.problems == [
        "1.weight is not in the optimizer, so optimizer.step() never changes it.",
        "1.bias is not in the optimizer, so optimizer.step() never changes it.",
    ]


def test_parameter_the_loss_ignores_never_receives_gradient(learner_x):
    params = raw_params()
    unused = torch.zeros(3, requires_grad=True)
    everything = {**params, "unused": unused}
    optimizer = torch.optim.SGD(everything.values(), lr=0.01)
    report = check_setup(everything, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert report.problems == ["unused never receives a gradient: the loss does not depend on it."]


def test_optimizer_entry_the_loss_ignores_is_reported(learner_x):
    params = raw_params()
    stray = torch.zeros(3, requires_grad=True)
    optimizer = torch.optim.SGD([*params.values(), stray], lr=0.01)
    report = check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert report.problems == [
        "the optimizer's entry 4 (a tensor of shape (3,)) gets no gradient: the loss does not depend on it."
    ]


def test_parameter_without_requires_grad_is_reported(learner_x):
    params = raw_params()
    params["bDecoder"] = params["bDecoder"].detach()
    optimizer = torch.optim.SGD([p for p in params.values() if p.requires_grad], lr=0.01)
    report = check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert report.problems == [
        "bDecoder does not require grad, so no gradient can reach it: "
        "create it with requires_grad=True (or as nn.Parameter)."
    ]


def test_loss_computed_under_no_grad_is_reported(learner_x):
    params = raw_params()
    optimizer = torch.optim.SGD(params.values(), lr=0.01)

    def compute_loss():
        with torch.no_grad():
            return nn.MSELoss()(reconstruct(learner_x, params), learner_x)

    report = check_setup(params, optimizer, compute_loss)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("the loss does not depend on any tensor that requires grad")
    assert "torch.no_grad()" in report.problems[0]


def test_list_of_parameters_is_named_by_position(learner_x):
    params = raw_params()
    optimizer = torch.optim.SGD(list(params.values())[:3], lr=0.01)
    compute_loss = lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x)  # noqa: E731
    report = check_setup(list(params.values()), optimizer, compute_loss)
    assert report.problems == ["parameter 3 is not in the optimizer, so optimizer.step() never changes it."]


def test_check_restores_values_grads_and_optimizer_state(learner_x):
    params = raw_params()
    optimizer = torch.optim.SGD(params.values(), lr=0.05, momentum=0.9)

    def compute_loss():
        return nn.MSELoss()(reconstruct(learner_x, params), learner_x)

    compute_loss().backward()  # one real step, so that grads and momentum buffers exist
    optimizer.step()
    values = {n: p.detach().clone() for n, p in params.items()}
    grads = {n: p.grad.clone() for n, p in params.items()}
    buffers = {n: optimizer.state[p]["momentum_buffer"].clone() for n, p in params.items()}

    report = check_setup(params, optimizer, compute_loss, steps=4)

    assert report.ok and report.losses[-1] < report.losses[0]  # the check really did move the parameters
    for name, p in params.items():
        assert torch.equal(p.detach(), values[name]), name
        assert torch.equal(p.grad, grads[name]), name
        assert torch.equal(optimizer.state[p]["momentum_buffer"], buffers[name]), name
    # The optimizer still works on the same tensors after the check.
    optimizer.step()
    assert not torch.equal(params["wEncoder"].detach(), values["wEncoder"])


def test_check_leaves_fresh_optimizer_without_state(learner_x):
    params = raw_params()
    optimizer = torch.optim.SGD(params.values(), lr=0.05, momentum=0.9)
    check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert len(optimizer.state) == 0
    assert all(p.grad is None for p in params.values())


# ---------------------------------------------------------------- bad input


def test_rejects_non_optimizer(learner_x):
    params = raw_params()
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got list"):
        check_setup(params, list(params.values()), lambda: None)


def test_rejects_non_callable_loss():
    params = raw_params()
    with pytest.raises(TypeError, match="compute_loss must be a function"):
        check_setup(params, torch.optim.SGD(params.values(), lr=0.1), 1.0)


@pytest.mark.parametrize("steps, error", [(1, ValueError), (0, ValueError), (2.0, TypeError), (True, TypeError)])
def test_rejects_fewer_than_two_steps(steps, error):
    params = raw_params()
    with pytest.raises(error, match="steps must be a whole number"):
        check_setup(params, torch.optim.SGD(params.values(), lr=0.1), lambda: None, steps=steps)


def test_rejects_loss_that_is_not_a_single_number(learner_x):
    params = raw_params()
    optimizer = torch.optim.SGD(params.values(), lr=0.1)
    with pytest.raises(TypeError, match="single-number tensor"):
        check_setup(params, optimizer, lambda: (reconstruct(learner_x, params) - learner_x) ** 2)


@pytest.mark.parametrize(
    "parameters, error, message",
    [
        ({}, ValueError, "no parameters were given"),
        ([], ValueError, "no parameters were given"),
        ({"w": 1.0}, TypeError, "w is a float, not a tensor"),
        (torch.zeros(2, requires_grad=True), TypeError, "parameters must be an nn.Module, a dict"),
    ],
)
def test_rejects_bad_parameters(parameters, error, message):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(error, match=message):
        check_setup(parameters, optimizer, lambda: torch.zeros(()))


def test_zero_learning_rate_is_named_as_the_problem(learner_x):
    params = raw_params()
    optimizer = torch.optim.SGD(params.values(), lr=0.0)
    report = check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert any("learning rate" in p or "lr=0" in p for p in report.problems)


def test_an_empty_report_says_so_instead_of_failing():
    from ae_utils import SetupReport

    assert str(SetupReport()) == "Nothing checked yet: this report is empty (make one with ae.check_setup)."
    assert str(SetupReport(problems=["x is not in the optimizer"])).startswith("1 problem(s) found:")


def forward(params, x):
    return (x @ params["wEncoder"] + params["bEncoder"]) @ params["wDecoder"] + params["bDecoder"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_loss_is_a_problem_not_a_pass(bad):
    params = raw_params()
    x = torch.rand(20, 2)
    x[3, 1] = bad
    report = check_setup(
        params, torch.optim.SGD(params.values(), lr=0.01), lambda: nn.functional.mse_loss(forward(params, x), x)
    )
    assert not report.ok
    assert any(re.search(r"the loss is (nan|inf) at step 1", p) and "torch.isfinite" in p for p in report.problems)


def test_a_computed_weight_is_named_as_not_a_leaf():
    params = raw_params()
    params["wEncoder"] = torch.randn(2, 1, requires_grad=True) * 0.1  # the usual slip
    x = torch.rand(20, 2)
    others = [p for name, p in params.items() if name != "wEncoder"]
    report = check_setup(
        params, torch.optim.SGD(others, lr=0.01), lambda: nn.functional.mse_loss(forward(params, x), x)
    )
    problems = [p for p in report.problems if p.startswith("wEncoder")]
    assert len(problems) == 1 and "not a leaf" in problems[0] and "requires_grad_()" in problems[0]


def test_a_learning_rate_too_small_to_show_is_blamed_not_the_loop():
    params = raw_params()
    x = torch.rand(20, 2)
    report = check_setup(
        params, torch.optim.SGD(params.values(), lr=1e-10), lambda: nn.functional.mse_loss(forward(params, x), x)
    )
    assert len(report.problems) == 1 and "the learning rate is too small" in report.problems[0]
    assert "before the loop" not in report.problems[0]


def test_it_leaves_no_trace_in_batchnorm_statistics_or_the_random_generator():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 3))
    x = torch.randn(16, 3)
    before = {name: b.clone() for name, b in model.named_buffers()}
    rng = torch.random.get_rng_state()
    report = check_setup(
        model, torch.optim.SGD(model.parameters(), lr=0.1), lambda: nn.functional.mse_loss(model(x), x)
    )
    assert report.ok
    assert all(torch.equal(b, before[name]) for name, b in model.named_buffers())
    assert torch.equal(torch.random.get_rng_state(), rng)
