"""Why does my loss not change? ``check_setup`` looks at a training set-up and says, in plain
words, what stops it from learning.

It reports parameters that never receive a gradient, parameters the optimizer does not
hold, tensors in the optimizer that are data rather than parameters (or that the loss does
not depend on), a loss built once outside the loop, and a loss that does not move over a
few steps. It takes those few steps itself and then puts every tensor and the optimizer's
state back as they were.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import torch
from torch import nn

from . import checks


@dataclass
class SetupReport:
    """The checker's findings: ``problems`` in plain words, and the losses it saw.

    Taught in notebook 01, section 3.
    """

    problems: list[str] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    n_parameters: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems

    def __str__(self) -> str:
        if self.ok and not self.losses:
            return "Nothing checked yet: this report is empty (make one with ae.check_setup)."
        if self.ok:
            return (
                f"No problems found: all {self.n_parameters} parameters receive gradients, the optimizer "
                f"holds exactly them, and the loss went from {self.losses[0]:.4g} to {self.losses[-1]:.4g} "
                f"in {len(self.losses) - 1} steps."
            )
        lines = [f"{len(self.problems)} problem(s) found:"]
        lines += [f"{i}. {p}" for i, p in enumerate(self.problems, 1)]
        return "\n".join(lines)

    __repr__ = __str__


def _named(parameters) -> list[tuple[str, torch.Tensor]]:
    if isinstance(parameters, nn.Module):
        return list(parameters.named_parameters())
    if isinstance(parameters, Mapping):
        items = list(parameters.items())
    elif isinstance(parameters, Iterable) and not isinstance(parameters, torch.Tensor):
        items = [(f"parameter {i}", p) for i, p in enumerate(parameters)]
    else:
        raise TypeError(
            "parameters must be an nn.Module, a dict of name -> tensor, or a list of tensors, "
            f"got {type(parameters).__name__}"
        )
    for name, p in items:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{name} is a {type(p).__name__}, not a tensor")
    if not items:
        raise ValueError("no parameters were given to check")
    return items


def _describe(t: torch.Tensor) -> str:
    text = f"a tensor of shape {tuple(t.shape)}"
    if t._base is not None:
        text += f", a slice of a tensor of shape {tuple(t._base.shape)}"
    return text


def check_setup(
    parameters,
    optimizer: torch.optim.Optimizer,
    compute_loss: Callable[[], torch.Tensor],
    steps: int = 3,
) -> SetupReport:
    """Check a training set-up and report what stops it from learning.

    parameters: what should learn: an ``nn.Module``, a dict ``{"name": tensor}``, or a list.
    optimizer: the optimizer that should update them.
    compute_loss: a function of no arguments that returns the loss, exactly as the
        training loop computes it (the checker calls ``backward`` and ``step`` itself).
    steps: how many optimizer steps to take to see whether the loss moves (at least 2).

    Every tensor and the optimizer's state are restored afterwards.

    Taught in notebook 01, section 3 (a checker for "why does my loss not change?").
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(compute_loss):
        raise TypeError("compute_loss must be a function of no arguments that returns the loss")
    steps = checks.whole_number("steps", steps, 2, why="it takes two steps to see the loss move")
    named = _named(parameters)
    report = SetupReport(n_parameters=len(named))
    in_optimizer = [p for group in optimizer.param_groups for p in group["params"]]
    optimizer_ids = {id(p) for p in in_optimizer}
    names = {id(p): name for name, p in named}

    for name, p in named:
        if p.requires_grad and not p.is_leaf:
            report.problems.append(
                f"{name} was computed from another tensor (for example torch.randn(..., requires_grad=True) * 0.1), "
                "so it is not a leaf: backward() does not fill its .grad and no optimizer can hold it. "
                "Create it as a leaf: (torch.randn(...) * 0.1).requires_grad_()."
            )
        elif not p.requires_grad:
            report.problems.append(
                f"{name} does not require grad, so no gradient can reach it: "
                "create it with requires_grad=True (or as nn.Parameter)."
            )
        elif id(p) not in optimizer_ids:
            report.problems.append(f"{name} is not in the optimizer, so optimizer.step() never changes it.")
    for group in optimizer.param_groups:
        lr = group.get("lr")
        if lr is not None and not float(lr) > 0:
            report.problems.append(
                f"the optimizer's learning rate is {float(lr)}: steps of that size never move the parameters "
                "downhill. Use a positive learning rate, for example lr=0.01."
            )
    for i, p in enumerate(in_optimizer):
        if id(p) not in names and not p.requires_grad:
            report.problems.append(
                f"the optimizer's entry {i} ({_describe(p)}) does not require grad: it is data, "
                "not a parameter, and stepping it does nothing. Hand the optimizer the weights and biases."
            )

    everything = list({id(t): t for t in [p for _, p in named] + in_optimizer}.values())
    saved_values = [t.detach().clone() for t in everything]
    saved_grads = [None if not t.is_leaf or t.grad is None else t.grad.clone() for t in everything]
    saved_state = copy.deepcopy(optimizer.state_dict())
    # no trace: a module's buffers (BatchNorm's running statistics) and the random generators too
    buffers = [b for b in parameters.buffers()] if isinstance(parameters, nn.Module) else []
    saved_buffers = [b.detach().clone() for b in buffers]
    saved_rng = torch.random.get_rng_state()
    saved_cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        first_step = _take_steps(named, in_optimizer, names, optimizer, compute_loss, steps, report)
        moved = any(not torch.equal(t.detach(), v) for t, v in zip(everything, saved_values))
    finally:
        with torch.no_grad():
            for t, value, grad in zip(everything, saved_values, saved_grads):
                t.copy_(value)
                if t.is_leaf:
                    t.grad = grad
            for b, value in zip(buffers, saved_buffers):
                b.copy_(value)
        optimizer.load_state_dict(saved_state)
        torch.random.set_rng_state(saved_rng)
        if saved_cuda_rng is not None:
            torch.cuda.set_rng_state_all(saved_cuda_rng)

    losses = report.losses
    if any(not math.isfinite(v) for v in losses):
        at = next(i for i, v in enumerate(losses, 1) if not math.isfinite(v))
        report.problems.append(
            f"the loss is {losses[at - 1]} at step {at} of {len(losses)}: NaN or infinite values in the data, the "
            "parameters or the loss function make every gradient useless. Check them with torch.isfinite "
            "(a learning rate that is too large also ends here, after some steps)."
        )
        return report
    if len(losses) >= 2 and max(losses) - min(losses) <= 1e-7 * max(1.0, abs(losses[0])):
        if first_step and first_step < 1e-7 * max(1.0, abs(losses[0])):  # gradients there, steps too small
            cause = (
                f"the learning rate is too small: each step should lower the loss by about lr x |gradient|^2 = "
                f"{first_step:.3g}, too little to show. Try a learning rate 100 to 1000 times larger."
            )
        elif moved:
            cause = (
                "the parameters changed but the loss did not: it is computed from a reconstruction "
                "made once, before the loop. Compute the reconstruction inside the loop."
            )
        else:
            cause = "no parameter changed, so nothing the optimizer does can reach the loss."
        report.problems.append(f"the loss stayed at {losses[0]:.6g} for {len(losses)} steps: {cause}")
    return report


def _take_steps(named, in_optimizer, names, optimizer, compute_loss, steps, report: SetupReport) -> float | None:
    """Take the steps, recording each loss; return lr x |gradient|^2 of the first step, the
    decrease plain gradient descent predicts for it (None when no step was taken)."""
    predicted = None
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        for _, p in named:
            if p.is_leaf:
                p.grad = None
        loss = compute_loss()
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise TypeError("compute_loss must return the loss as a single-number tensor")
        report.losses.append(float(loss.detach()))
        if not loss.requires_grad:
            report.problems.append(
                "the loss does not depend on any tensor that requires grad (was it computed under "
                "torch.no_grad(), or from .detach()ed or .item() values?), so backward() has nothing to do."
            )
            return predicted
        try:
            loss.backward()
        except RuntimeError as err:
            if "second time" not in str(err):
                raise
            report.problems.append(
                f"backward() failed on step {step + 1} with 'Trying to backward through the graph a second time': "
                "the forward pass ran once, outside the loop, and every step reuses its graph. "
                "retain_graph=True silences this error but does not fix it: compute the reconstruction "
                "(and the loss) inside the loop."
            )
            return predicted
        if step == 0:
            predicted = sum(
                float(group.get("lr", 0.0))
                * sum(float((p.grad.double() ** 2).sum()) for p in group["params"] if p.grad is not None)
                for group in optimizer.param_groups
            )
            for name, p in named:
                if p.requires_grad and p.is_leaf and p.grad is None:
                    report.problems.append(f"{name} never receives a gradient: the loss does not depend on it.")
            for i, p in enumerate(in_optimizer):
                if id(p) not in names and p.requires_grad and p.grad is None:
                    report.problems.append(
                        f"the optimizer's entry {i} ({_describe(p)}) gets no gradient: the loss does not depend on it."
                    )
        optimizer.step()
    return predicted
