"""diagnose.check_setup: the learner's broken set-up must be explained problem by problem,
the fixed one must pass, and the check must leave every tensor and the optimizer as it found them."""

from __future__ import annotations

import copy
import math
import random
import re

import numpy as np
import pytest
import torch
from torch import nn

from ae_utils.diagnose import SetupReport, check_setup


def raw_params(features: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    """The learner's four raw tensors: wEncoder (D,1), bEncoder (1,), wDecoder (1,D), bDecoder (1,D)."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {"wEncoder": (features, 1), "bEncoder": (1,), "wDecoder": (1, features), "bDecoder": (1, features)}
    return {name: torch.randn(shape, generator=generator, requires_grad=True) for name, shape in shapes.items()}


def reconstruct(x, p):
    return (x @ p["wEncoder"] + p["bEncoder"]) @ p["wDecoder"] + p["bDecoder"]


@pytest.fixture
def broken(learner_x):
    return learners_setup(learner_x)


def learners_setup(x):
    """The learner's set-up: forward pass once before the loop, optimizer over slices of the data."""
    params = raw_params()
    x_reconstructed = reconstruct(x, params)
    optimizer = torch.optim.SGD([x[:, 0], x[:, 1]], lr=0.01)
    return params, optimizer, lambda: nn.MSELoss()(x_reconstructed, x)


@pytest.fixture
def broken_report(broken) -> SetupReport:
    return check_setup(*broken)


def test_broken_setup_is_not_ok(broken_report):
    assert not broken_report.ok


def test_broken_setup_names_every_parameter_missing_from_optimizer_on_one_line(broken_report):
    expected = (
        "wEncoder, bEncoder, wDecoder and bDecoder are not in the optimizer, so optimizer.step() never changes them."
    )
    assert expected in broken_report.problems


def test_broken_setup_names_both_data_slices_in_optimizer_on_one_line(broken_report):
    expected = (
        "the optimizer's entries 0 and 1 (tensors of shape (100,), slices of a tensor of shape (100, 2)) "
        "do not require grad: they are data, not parameters"
    )
    assert sum(p.startswith(expected) for p in broken_report.problems) == 1


def test_broken_setup_explains_backward_a_second_time(broken_report):
    [problem] = [p for p in broken_report.problems if "second time" in p]
    assert "backward() failed on step 2" in problem
    assert "inside the loop" in problem


def test_broken_setup_reports_loss_that_did_not_move(broken_report):
    [problem] = [p for p in broken_report.problems if p.startswith("the loss stayed at")]
    assert f"{broken_report.losses[0]:.6g}" in problem
    assert "no parameter changed" in problem


def test_broken_setup_lists_exactly_its_problems(broken_report):
    assert len(broken_report.problems) == 4  # one line per distinct problem
    text = str(broken_report)
    assert text.startswith("4 problem(s) found:\n1. ")
    assert "\n4. the loss stayed at" in text


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
    by_hand, copies = [], {name: p.detach().clone().requires_grad_() for name, p in params.items()}
    for _ in range(3):  # the same three SGD steps, written out
        loss = nn.MSELoss()(reconstruct(learner_x, copies), learner_x)
        by_hand.append(loss.item())
        with torch.no_grad():
            for p, g in zip(copies.values(), torch.autograd.grad(loss, list(copies.values()))):
                p -= 0.01 * g
    assert report.losses == pytest.approx(by_hand, rel=1e-6) and by_hand[-1] < by_hand[0]
    assert str(report) == (
        "No problems found: all 4 parameters receive gradients, the optimizer holds exactly them, and the loss "
        f"went from {by_hand[0]:.4g} to {by_hand[-1]:.4g} in 2 steps."
    )


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
    assert report.problems == ["1.weight and 1.bias are not in the optimizer, so optimizer.step() never changes them."]


def test_parameter_the_loss_ignores_never_receives_gradient(learner_x):
    params = raw_params()
    unused = torch.zeros(3, requires_grad=True)
    everything = {**params, "unused": unused}
    optimizer = torch.optim.SGD(everything.values(), lr=0.01)
    report = check_setup(everything, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert report.problems == ["unused never receives a gradient: the loss does not depend on it."]


def test_an_optimizer_entry_that_is_not_a_parameter_is_reported(learner_x):
    params = raw_params()
    stray = torch.zeros(3, requires_grad=True)
    optimizer = torch.optim.SGD([*params.values(), stray], lr=0.01)
    report = check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert report.problems == [
        "the optimizer's entry 4 (a tensor of shape (3,)) is not among the parameters checked: if it is data made "
        "with requires_grad=True, each step changes the data. Hand the optimizer only the parameters."
    ]


def test_parameter_without_requires_grad_is_reported(learner_x):
    params = raw_params()
    params["bDecoder"] = params["bDecoder"].detach()
    optimizer = torch.optim.SGD([p for p in params.values() if p.requires_grad], lr=0.01)
    report = check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))
    assert report.problems == [
        "bDecoder does not require grad: create it with requires_grad=True (or as nn.Parameter)."
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
        ({"w": 1.0}, TypeError, "w must be a torch.Tensor, got float"),
        ([torch.zeros(1), "b"], TypeError, "parameter 1 must be a torch.Tensor, got str"),
        (torch.zeros(2, requires_grad=True), TypeError, "parameters must be an nn.Module, a dict.*got one tensor"),
        (3, TypeError, "parameters must be an nn.Module, a dict of name -> tensor, or a list of tensors, got int"),
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
    assert len(problems) == 1 and "leaf tensor" in problems[0] and "requires_grad_()" in problems[0]
    assert "backward() leaves its .grad empty and no optimizer can hold it:" in problems[0]


def test_computed_weights_are_named_together_in_the_plural():
    params = raw_params()
    for name in ("wEncoder", "wDecoder"):
        params[name] = params[name] * 1.0
    x = torch.rand(20, 2)
    report = check_setup(
        params,
        torch.optim.SGD([params["bEncoder"], params["bDecoder"]], lr=0.01),
        lambda: (forward(params, x) - x).pow(2).mean(),
    )
    assert report.problems[0] == (
        "wEncoder and wDecoder were computed from another tensor (as torch.randn(..., requires_grad=True) * 0.1 is), "
        "so backward() leaves their .grad empty and no optimizer can hold them: create each as a leaf tensor, "
        "(torch.randn(...) * 0.1).requires_grad_()."
    )


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


def one_parameter_missing(learner_x):
    """A single tensor's problems read in the singular."""
    params = raw_params()
    optimizer = torch.optim.SGD([p for name, p in params.items() if name != "bDecoder"], lr=0.01)
    return check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x))


def test_one_tensor_is_named_in_the_singular(learner_x):
    assert one_parameter_missing(learner_x).problems == [
        "bDecoder is not in the optimizer, so optimizer.step() never changes it."
    ]


def test_data_entries_of_different_shapes_are_each_described():
    params = raw_params()
    x = torch.rand(10, 2)
    optimizer = torch.optim.SGD([x[:, 0], torch.zeros(3), *params.values()], lr=0.01)
    report = check_setup(params, optimizer, lambda: nn.MSELoss()(reconstruct(x, params), x))
    assert report.problems == [
        "the optimizer's entries 0 and 1 (a tensor of shape (10,), a slice of a tensor of shape (10, 2) and a tensor "
        "of shape (3,)) do not require grad: they are data, not parameters, and stepping them does nothing. "
        "Hand the optimizer the weights and biases."
    ]


# The loop's whole step, in the loop's own order (training_step=): the order itself is checked.


def loop_steps(learner_x):
    """The learner's four tensors, an SGD optimizer over them, and a loss function."""
    params = raw_params()
    optimizer = torch.optim.SGD(params.values(), lr=0.01)
    return params, optimizer, lambda: nn.MSELoss()(reconstruct(learner_x, params), learner_x)


STEP_BEFORE_BACKWARD = "optimizer.step() runs before loss.backward()"
CLEARED = "optimizer.zero_grad() runs between loss.backward() and optimizer.step()"
NEVER_CLEARED = "the gradients are never cleared between steps (no optimizer.zero_grad())"
NEVER_STEPPED = "optimizer.step() is never called on this optimizer"


# Loop bodies as their calls in order ("zero_grad_keep" is zero_grad(set_to_none=False)), and the start of
# each problem that the checker must report for them.
ORDERS = {
    "right": ("zero_grad forward backward step", []),
    "right_zero_grad_last": ("forward backward step zero_grad", []),
    "right_zeroed_not_none": ("zero_grad_keep forward backward step", []),
    "step_zero_grad_forward_backward": ("step zero_grad forward backward", []),  # the usual order turned around
    "step_first": ("zero_grad step forward backward", [STEP_BEFORE_BACKWARD]),
    "step_between_loss_and_backward": ("forward step backward zero_grad", [STEP_BEFORE_BACKWARD]),
    "zero_grad_between": ("forward backward zero_grad step", [CLEARED]),
    "zeroed_not_none_between": ("forward backward zero_grad_keep step", [CLEARED]),
    "no_zero_grad": ("forward backward step", [NEVER_CLEARED]),
    "no_step": ("zero_grad forward backward", [NEVER_STEPPED]),
}
FLAT_ORDERS = {
    "step_first",
    "step_between_loss_and_backward",
    "zero_grad_between",
    "zeroed_not_none_between",
    "no_step",
}


def loop_body(optimizer, loss_fn, calls: str = ORDERS["right"][0]):
    """A loop body that makes ``calls`` in that order and returns the loss."""

    def body():
        loss = None
        for call in calls.split():
            if call == "forward":
                loss = loss_fn()
            elif call == "backward":
                loss.backward()
            elif call == "step":
                optimizer.step()
            else:
                optimizer.zero_grad(set_to_none=call == "zero_grad")
        return loss

    return body


@pytest.mark.parametrize("which", list(ORDERS))
def test_the_order_of_the_loops_calls_is_checked(learner_x, which):
    params, optimizer, loss_fn = loop_steps(learner_x)
    calls, expected = ORDERS[which]
    report = check_setup(params, optimizer, training_step=loop_body(optimizer, loss_fn, calls))
    order_problems = [p for p in report.problems if not p.startswith("the loss stayed at")]
    assert [p[: len(e)] for p, e in zip(order_problems, expected)] == expected and len(order_problems) == len(
        expected
    ), str(report)
    assert report.ok == (not expected)
    flat = report.losses[-1] == report.losses[0]
    assert flat == (which in FLAT_ORDERS)
    if flat:  # the flat loss is blamed on the order, not on a forward pass outside the loop
        assert report.problems[-1].endswith(
            "the order of the loop's calls, above, keeps the parameters where they are."
        )


def test_a_step_between_forward_and_backward_that_changes_the_weights_is_named(learner_x):
    params, optimizer, loss_fn = loop_steps(learner_x)

    def late():  # step 2 moves the weights with step 1's gradient, under step 2's graph
        loss = loss_fn()
        optimizer.step()
        loss.backward()
        return loss

    report = check_setup(params, optimizer, training_step=late)
    assert report.problems == [
        "loss.backward() failed on step 2: optimizer.step() ran between the forward pass and backward() "
        "and changed, in place, weights that backward() needs. Call optimizer.step() after loss.backward().",
        NEVER_CLEARED + ", so each backward() adds to the gradients of every earlier step: call "
        "optimizer.zero_grad() at the start of each step.",
    ]


def test_a_training_step_is_undone_like_the_checkers_own(learner_x):
    params, optimizer, loss_fn = loop_steps(learner_x)
    before = {name: p.detach().clone() for name, p in params.items()}
    body = loop_body(optimizer, loss_fn)
    report = check_setup(params, optimizer, training_step=body, steps=4)
    assert report.ok and len(report.losses) == 4 and report.losses[-1] < report.losses[0]
    assert all(torch.equal(p, before[name]) and p.grad is None for name, p in params.items())
    assert optimizer.state_dict()["state"] == {}
    assert all(not p._backward_hooks for p in params.values())  # its hooks are gone
    assert not optimizer._optimizer_step_pre_hooks


def test_a_training_step_on_the_learners_broken_setup_finds_the_same(learner_x):
    params, optimizer, compute_loss = learners_setup(learner_x)

    def body():
        loss = compute_loss()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    report = check_setup(params, optimizer, training_step=body)
    # the same problems as the checker's own steps find on a fresh set-up (whose graph is unused), but for the
    # flat loss: the step failed in backward() before it could return its loss, so only one loss is known
    own = check_setup(*learners_setup(learner_x)).problems
    assert own[-1].startswith("the loss stayed at") and report.problems == own[:-1]


@pytest.mark.parametrize("given", ["both", "neither"])
def test_exactly_one_of_compute_loss_and_training_step(learner_x, given):
    params, optimizer, loss_fn = loop_steps(learner_x)
    kwargs = {"compute_loss": loss_fn, "training_step": loss_fn} if given == "both" else {}
    with pytest.raises(TypeError, match="give exactly one of compute_loss= .* or training_step="):
        check_setup(params, optimizer, **kwargs)


@pytest.mark.parametrize("returned, what", [(None, "NoneType"), ("0.5", "str"), (torch.zeros(2), "a tensor of 2")])
def test_a_training_step_must_return_the_loss(learner_x, returned, what):
    params, optimizer, loss_fn = loop_steps(learner_x)

    def body():
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return returned

    with pytest.raises(TypeError, match=f"single-number tensor \\(or a float\\), got {what}"):
        check_setup(params, optimizer, training_step=body)


def test_gradient_accumulation_over_micro_batches_is_not_a_missing_zero_grad():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.rand(64, 4)

    def accumulate():  # two micro-batches, one step: the second backward() adds to the first, on purpose
        optimizer.zero_grad()
        for half in x.chunk(2):
            (nn.MSELoss()(model(half), half) / 2).backward()
        optimizer.step()
        return nn.MSELoss()(model(x), x).item()

    report = check_setup(model, optimizer, training_step=accumulate)
    assert report.ok, str(report)


def test_gradients_that_are_all_zero_are_not_blamed_on_the_order():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 4), nn.ReLU())
    with torch.no_grad():
        model[1].bias.fill_(-10.0)  # the ReLU is dead for every input: every gradient is exactly zero
    x = torch.rand(64, 4)
    report = check_setup(model, torch.optim.SGD(model.parameters(), lr=0.1), lambda: nn.MSELoss()(model(x), x))
    assert not any("zero_grad" in p or "order" in p for p in report.problems), str(report)
    assert report.problems[-1].startswith("the loss stayed at") and "no parameter changed" in report.problems[-1]


def test_a_step_with_a_closure_runs_backward_inside_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 4))
    optimizer = torch.optim.LBFGS(model.parameters(), max_iter=2)
    x = torch.rand(64, 4)

    def closure():
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(x), x)
        loss.backward()
        return loss

    report = check_setup(model, optimizer, training_step=lambda: optimizer.step(closure))
    assert report.ok, str(report)


# ---------------------------------------------------------------- issue 17: real loops, and no trace left


def small_model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 4))


def usual_step(model, optimizer, x, then=lambda loss: None):
    """The usual loop body over ``model``, calling ``then(loss)`` after optimizer.step()."""

    def body():
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), x)
        loss.backward()
        optimizer.step()
        then(loss)
        return loss

    return body


SCHEDULERS = {
    "StepLR": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
    "OneCycleLR": lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5),
    "ReduceLROnPlateau": lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0),
    "CosineAnnealingLR": lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4),
}


@pytest.mark.parametrize("kind", list(SCHEDULERS))
def test_a_learning_rate_scheduler_stepped_in_the_loop_is_put_back(kind):
    model, x = small_model(), torch.rand(16, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = SCHEDULERS[kind](optimizer)
    plateau = kind == "ReduceLROnPlateau"
    body = usual_step(model, optimizer, x, lambda loss: scheduler.step(loss.item()) if plateau else scheduler.step())
    before, lr = copy.deepcopy(scheduler.state_dict()), optimizer.param_groups[0]["lr"]
    report = check_setup(model, optimizer, training_step=body)
    assert report.ok, str(report)
    assert scheduler.state_dict() == before and optimizer.param_groups[0]["lr"] == lr
    if kind == "OneCycleLR":  # its whole schedule is still there: five steps, not two
        for _ in range(5):
            body()


def test_a_second_optimizer_stepped_in_the_loop_is_put_back_and_holds_its_parameters():
    model, x = small_model(), torch.rand(16, 4)
    encoder = torch.optim.SGD(model[0].parameters(), lr=0.1)
    decoder = torch.optim.Adam(model[1].parameters(), lr=0.01)
    values = [p.detach().clone() for p in model.parameters()]

    def body():
        encoder.zero_grad()
        decoder.zero_grad()
        loss = nn.functional.mse_loss(model(x), x)
        loss.backward()
        encoder.step()
        decoder.step()
        return loss

    report = check_setup(model, encoder, training_step=body)
    assert report.ok, str(report)  # the decoder's parameters are stepped: by the other optimizer
    assert len(decoder.state) == 0 and all(torch.equal(p, v) for p, v in zip(model.parameters(), values))


@pytest.mark.parametrize("start, inside", [("eval", "train"), ("train", "eval")])
def test_the_models_mode_changed_inside_the_loop_is_put_back(start, inside):
    model, x = small_model(), torch.rand(16, 4)
    model.add_module("dropout", nn.Dropout(0.1))
    getattr(model, start)()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    body = usual_step(model, optimizer, x)
    check_setup(model, optimizer, training_step=lambda: (getattr(model, inside)(), body())[1])
    assert all(m.training == (start == "train") for m in model.modules())


def test_numpy_and_python_generators_are_put_back():
    model, x = small_model(), torch.rand(16, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    body = usual_step(model, optimizer, x, lambda loss: (np.random.rand(), random.random()))
    np.random.seed(3)
    random.seed(3)
    state = np.random.get_state()[1].copy(), random.getstate()
    check_setup(model, optimizer, training_step=body)
    assert np.array_equal(np.random.get_state()[1], state[0]) and random.getstate() == state[1]


def test_a_loop_that_steps_every_few_calls_is_not_blamed_on_a_reconstruction_made_once():
    model, x = small_model(), torch.rand(16, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []

    def accumulate_three():  # one optimizer step every three calls
        calls.append(1)
        loss = nn.functional.mse_loss(model(x), x)
        (loss / 3).backward()
        if len(calls) % 3 == 0:
            optimizer.step()
            optimizer.zero_grad()
        return loss

    report = check_setup(model, optimizer, training_step=accumulate_three)
    assert len(report.problems) == 1 and "made once" not in report.problems[0], str(report)
    assert "only in the last of the 3 steps" in report.problems[0] and "steps=" in report.problems[0]
    assert check_setup(model, optimizer, training_step=accumulate_three, steps=6).ok


@pytest.mark.parametrize("calls", ["the whole step", "step() alone"])
def test_a_whole_training_step_given_as_compute_loss_is_refused_saying_so(learner_x, calls):
    params, optimizer, loss_fn = loop_steps(learner_x)
    before = {name: p.detach().clone() for name, p in params.items()}
    steps = loop_body(optimizer, loss_fn) if calls == "the whole step" else lambda: (optimizer.step(), loss_fn())[1]
    with pytest.raises(TypeError, match=r"compute_loss calls backward\(\) or optimizer.step\(\).*training_step="):
        check_setup(params, optimizer, steps)
    assert all(torch.equal(p, before[name]) and p.grad is None for name, p in params.items())


def test_an_optimizer_holding_data_that_requires_grad_is_named(learner_x):
    params = raw_params()
    x = learner_x.requires_grad_()
    report = check_setup(
        params, torch.optim.SGD([*params.values(), x], lr=0.01), lambda: nn.MSELoss()(reconstruct(x, params), x)
    )
    [problem] = report.problems
    assert problem.startswith("the optimizer's entry 4 (a tensor of shape (100, 2)) is not among the parameters")
    assert "changes the data" in problem


def test_a_loop_that_never_calls_backward_is_told_so(learner_x):
    params, optimizer, loss_fn = loop_steps(learner_x)

    def body():
        optimizer.zero_grad()
        loss = loss_fn()
        optimizer.step()
        return loss

    report = check_setup(params, optimizer, training_step=body)
    assert report.problems[0].startswith("no gradient reached any parameter in 3 steps: the loop never calls")
    assert len(report.problems) == 2 and "no parameter changed" not in str(report)


def test_a_loop_that_calls_backward_twice_is_not_blamed_on_a_forward_pass_outside_the_loop(learner_x):
    params, optimizer, loss_fn = loop_steps(learner_x)

    def body():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        loss.backward()
        optimizer.step()
        return loss

    [problem] = check_setup(params, optimizer, training_step=body).problems
    assert "twice" in problem and "outside" not in problem


def test_a_graph_kept_with_retain_graph_and_changed_by_step_is_explained(learner_x):
    params, optimizer, loss_fn = loop_steps(learner_x)
    x_reconstructed = reconstruct(learner_x, params)  # once, before the loop

    def body():
        loss = nn.MSELoss()(x_reconstructed, learner_x)
        loss.backward(retain_graph=True)
        optimizer.step()
        optimizer.zero_grad()
        return loss

    problems = check_setup(params, optimizer, training_step=body).problems
    assert (
        problems[0].startswith("loss.backward(retain_graph=True) failed on step 2") and "inside the loop" in problems[0]
    )


def test_a_loss_returned_as_a_float_by_compute_loss_is_refused_clearly(learner_x):
    params, optimizer, loss_fn = loop_steps(learner_x)
    with pytest.raises(TypeError, match=r"compute_loss must return the loss as a single-number tensor, got float"):
        check_setup(params, optimizer, lambda: loss_fn().item())


def test_a_stale_grad_before_the_check_changes_nothing(learner_x):
    def report_after(stale: bool):
        params, optimizer, loss_fn = loop_steps(learner_x)
        for p in params.values():
            p.grad = torch.full_like(p, 100.0) if stale else None
        grads = [None if p.grad is None else p.grad.clone() for p in params.values()]

        def step_first():  # the usual loop turned around: it steps with the last call's gradient
            optimizer.step()
            optimizer.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        report = check_setup(params, optimizer, training_step=step_first)
        assert all(g is None if p.grad is None else torch.equal(p.grad, g) for p, g in zip(params.values(), grads))
        return report

    stale, fresh = report_after(True), report_after(False)
    assert fresh.ok and stale.ok and stale.losses == fresh.losses, (str(stale), str(fresh))


def test_an_in_place_error_of_the_loss_itself_is_torchs_to_tell():
    params = raw_params()
    x = torch.rand(20, 2)

    def compute_loss():  # the forward pass changes, in place, a tensor that its own backward needs
        code = (x @ params["wEncoder"] + params["bEncoder"]).sigmoid()
        code.mul_(2)
        return nn.functional.mse_loss(code @ params["wDecoder"] + params["bDecoder"], x)

    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        check_setup(params, torch.optim.SGD(params.values(), lr=0.1), compute_loss)


def test_a_learning_rate_given_as_text_is_refused(learner_x):
    params, optimizer, loss_fn = loop_steps(learner_x)
    optimizer.param_groups[0]["lr"] = "0.01"
    with pytest.raises(TypeError, match=r"^the learning rate must be a number, got '0.01' \(str\)"):
        check_setup(params, optimizer, loss_fn)


def test_a_reconstruction_made_once_is_blamed_once_the_parameters_have_moved(learner_x):
    params, optimizer, _ = loop_steps(learner_x)
    x_reconstructed = reconstruct(learner_x, params)  # once, before the loop: notebook 01's second cell
    report = check_setup(params, optimizer, lambda: nn.MSELoss()(x_reconstructed, learner_x))
    assert len(report.losses) == 2 and report.losses[0] == report.losses[1]
    assert report.problems[0].startswith("backward() failed on step 2 with 'Trying to backward")
    assert report.problems[1] == (
        f"the loss stayed at {report.losses[0]:.6g} for 2 steps: the parameters changed but the loss did not: it is "
        "computed from a reconstruction made once, before the loop. Compute the reconstruction inside the loop."
    )


def test_a_model_that_only_another_optimizer_holds_is_put_back_too():
    model, x = small_model(), torch.rand(16, 4)
    torch.manual_seed(1)
    helper = nn.Linear(4, 4)  # trained in the same loop, by its own optimizer, and not checked
    optimizer, helpers = torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(helper.parameters(), lr=0.1)
    before = [p.detach().clone() for p in helper.parameters()]

    def body():
        optimizer.zero_grad()
        helpers.zero_grad()
        loss = nn.functional.mse_loss(model(x), x) + nn.functional.mse_loss(helper(x), x)
        loss.backward()
        optimizer.step()
        helpers.step()
        return loss

    assert check_setup(model, optimizer, training_step=body).ok
    assert all(torch.equal(p, b) and p.grad is None for p, b in zip(helper.parameters(), before))


@pytest.mark.parametrize("which", ["right", "zero_grad_between", "no_zero_grad"])
def test_gradients_with_some_exact_zeros_still_count(which):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2, bias=False), nn.ReLU(), nn.Linear(2, 3, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[-1.0, -1.0, -1.0], [1.0, 0.5, 0.2]]))  # unit 0 dead, unit 1 alive
    x = torch.rand(32, 3) + 0.1
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls, expected = ORDERS[which]
    report = check_setup(model, optimizer, training_step=loop_body(optimizer, lambda: nn.MSELoss()(model(x), x), calls))
    assert [p[: len(e)] for p, e in zip(report.problems, expected)] == expected, str(report)
    assert model[0].weight.grad is None


@pytest.mark.parametrize("spread, flat", [(1e-7, True), (2e-7, False)])
def test_a_loss_is_flat_when_it_moves_by_at_most_one_part_in_ten_million(spread, flat):
    # losses 0, spread, 0: the bound is 1e-7 x max(1, |first loss|) = 1e-7, and a spread of exactly that is flat
    w = torch.ones(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    losses = iter([0.0, spread, 0.0])

    def step():
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        return next(losses)

    report = check_setup({"w": w}, opt, training_step=step)
    assert any(problem.startswith("the loss stayed at 0 for 3 steps") for problem in report.problems) == flat


@pytest.mark.parametrize(
    "offsets, said", [([math.nan, 0.0, 0.0], "is nan at step 1 of 3"), ([0.0, 0.0, math.inf], "is inf at step 3 of 3")]
)
def test_a_loss_that_is_not_finite_is_quoted_with_its_step(offsets, said):
    w = torch.tensor([1.0], requires_grad=True)
    calls = []

    def compute_loss():
        calls.append(len(calls))
        return (w * w).sum() + offsets[calls[-1]]

    report = check_setup([w], torch.optim.SGD([w], lr=0.1), compute_loss, steps=3)
    assert any(f"the loss {said}" in problem for problem in report.problems), report.problems


def test_a_loss_of_shape_one_is_a_single_number():
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    report = check_setup([w], torch.optim.SGD([w], lr=0.1), lambda: (w * w).sum().reshape(1))
    assert report.ok and report.losses[0] == 5.0 and len(report.losses) == 3


def test_a_set_up_with_no_leaf_tensor_to_watch_is_reported_not_crashed():
    """Every tensor checked computed (not a leaf) and the optimizer holding data: no gradient hook has a tensor."""
    x = torch.rand(20, 2)
    w = torch.randn(2, 2, requires_grad=True) * 0.1
    report = check_setup({"w": w}, torch.optim.SGD([x[:, 0], x[:, 1]], lr=0.01), lambda: (x @ w - x).pow(2).mean())
    assert report.problems[0].startswith("w was computed from another tensor")
    assert any("do not require grad: they are data" in p for p in report.problems)
