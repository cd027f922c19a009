"""Why does my loss not change? ``check_setup`` looks at a training set-up and says, in plain
words, what stops it from learning.

It reports parameters that never receive a gradient, parameters the optimizer does not
hold, tensors in the optimizer that are data rather than parameters (or that the loss does
not depend on), a loss built once outside the loop, and a loss that does not move over a
few steps. Given the loop's whole step (``training_step``) it also sees the order of the
loop's calls: ``step()`` before ``backward()``, ``zero_grad()`` between them, or no
``zero_grad()`` at all. It takes those few steps itself and then puts every tensor and the
optimizer's state back as they were. Each distinct problem is one line, naming together
every tensor it concerns.
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


def _describe(tensors: list[torch.Tensor]) -> str:
    """What the tensors are, in one phrase ("a tensor of shape (100,), a slice of ...")."""
    phrases = []
    for t in tensors:
        text = f"shape {tuple(t.shape)}"
        if t._base is not None:
            text += f", a slice of a tensor of shape {tuple(t._base.shape)}"
        phrases.append(text)
    if len(set(phrases)) == 1:
        one = phrases[0].replace(", a slice of", ", slices of") if len(tensors) > 1 else phrases[0]
        return ("tensors of " if len(tensors) > 1 else "a tensor of ") + one
    return _listed([f"a tensor of {phrase}" for phrase in phrases])


def _listed(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _entries(indices: list[int]) -> str:
    """'the optimizer's entry 0' or 'the optimizer's entries 0 and 1'."""
    word = "entry" if len(indices) == 1 else "entries"
    return f"the optimizer's {word} {_listed([str(i) for i in indices])}"


def _these(items: list, one: str, many: str) -> str:
    """The singular or plural form of a phrase, for ``items``."""
    return one if len(items) == 1 else many


def check_setup(
    parameters,
    optimizer: torch.optim.Optimizer,
    compute_loss: Callable[[], torch.Tensor] | None = None,
    steps: int = 3,
    *,
    training_step: Callable[[], torch.Tensor] | None = None,
) -> SetupReport:
    """Check a training set-up and report what stops it from learning.

    parameters: what should learn: an ``nn.Module``, a dict ``{"name": tensor}``, or a list.
    optimizer: the optimizer that should update them.
    compute_loss: a function of no arguments that returns the loss, exactly as the
        training loop computes it (the checker calls ``zero_grad``, ``backward`` and ``step``).
    training_step: instead of ``compute_loss``, the loop's whole step as a function of no
        arguments: the loop body with its own ``zero_grad``, ``backward`` and ``step`` in its
        own order, returning the loss. Then the order is checked too.
    steps: how many optimizer steps to take to see whether the loss moves (at least 2).

    Every tensor and the optimizer's state are restored afterwards.

    Taught in notebook 01, section 3 (a checker for "why does my loss not change?"), and its
    exercise 1 (``training_step=``).
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if (compute_loss is None) == (training_step is None):
        raise TypeError(
            "give exactly one of compute_loss= (a function returning the loss) or training_step= "
            "(the loop's whole step: zero_grad, loss, backward, step, in the loop's order, returning the loss)"
        )
    if not callable(compute_loss if training_step is None else training_step):
        what = "compute_loss" if training_step is None else "training_step"
        raise TypeError(f"{what} must be a function of no arguments that returns the loss")
    steps = checks.whole_number("steps", steps, 2, why="it takes two steps to see the loss move")
    named = _named(parameters)
    report = SetupReport(n_parameters=len(named))
    in_optimizer = [p for group in optimizer.param_groups for p in group["params"]]
    optimizer_ids = {id(p) for p in in_optimizer}
    names = {id(p): name for name, p in named}

    not_leaf = [name for name, p in named if p.requires_grad and not p.is_leaf]
    no_grad = [name for name, p in named if not p.requires_grad]
    missing = [name for name, p in named if p.requires_grad and p.is_leaf and id(p) not in optimizer_ids]
    if not_leaf:
        report.problems.append(
            f"{_listed(not_leaf)} {_these(not_leaf, 'was', 'were')} computed from another tensor (for example "
            "torch.randn(..., requires_grad=True) * 0.1), so "
            f"{_these(not_leaf, 'it is not a leaf', 'they are not leaves')}: backward() does not fill their .grad "
            "and no optimizer can hold them. "
            "Create each as a leaf: (torch.randn(...) * 0.1).requires_grad_()."
        )
    if no_grad:
        report.problems.append(
            f"{_listed(no_grad)} {_these(no_grad, 'does', 'do')} not require grad, so no gradient can reach "
            f"{_these(no_grad, 'it', 'them')}: create {_these(no_grad, 'it', 'them')} with requires_grad=True "
            "(or as nn.Parameter)."
        )
    if missing:
        report.problems.append(
            f"{_listed(missing)} {_these(missing, 'is', 'are')} not in the optimizer, so optimizer.step() never "
            f"changes {_these(missing, 'it', 'them')}."
        )
    rates = sorted({float(g["lr"]) for g in optimizer.param_groups if g.get("lr") is not None and not g["lr"] > 0})
    for lr in rates:
        report.problems.append(
            f"the optimizer's learning rate is {lr}: steps of that size never move the parameters "
            "downhill. Use a positive learning rate, for example lr=0.01."
        )
    data = [i for i, p in enumerate(in_optimizer) if id(p) not in names and not p.requires_grad]
    if data:
        report.problems.append(
            f"{_entries(data)} ({_describe([in_optimizer[i] for i in data])}) "
            + _these(
                data,
                "does not require grad: it is data, not a parameter, and stepping it does nothing.",
                "do not require grad: they are data, not parameters, and stepping them does nothing.",
            )
            + " Hand the optimizer the weights and biases."
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
    watcher = _LoopWatcher(everything, optimizer)
    try:
        for t in everything:
            if t.is_leaf:
                t.grad = None
        step = training_step if training_step is not None else _checkers_step(optimizer, compute_loss, report.losses)
        _take_steps(step, steps, report, watcher, returns_loss=training_step is not None)
        moved = any(not torch.equal(t.detach(), v) for t, v in zip(everything, saved_values))
    finally:
        watcher.remove()
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

    if report.losses and watcher.backward_ran:  # who got a gradient is known once a backward ran
        never = [name for name, p in named if p.requires_grad and p.is_leaf and id(p) not in watcher.received]
        if never:
            report.problems.append(
                f"{_listed(never)} never receive{_these(never, 's', '')} a gradient: the loss does not depend on "
                f"{_these(never, 'it', 'them')}."
            )
        ignored = [
            i
            for i, p in enumerate(in_optimizer)
            if id(p) not in names and p.requires_grad and id(p) not in watcher.received
        ]
        if ignored:
            report.problems.append(
                f"{_entries(ignored)} ({_describe([in_optimizer[i] for i in ignored])}) "
                f"get{_these(ignored, 's', '')} no gradient: the loss does not depend on "
                f"{_these(ignored, 'it', 'them')}."
            )
    order = watcher.order_problems()
    report.problems += order
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
        first_step = watcher.predicted_decrease
        if order:
            cause = "the order of the loop's calls, above, keeps the parameters where they are."
        elif first_step and first_step < 1e-7 * max(1.0, abs(losses[0])):  # gradients there, steps too small
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


class _LoopWatcher:
    """Watches the steps through hooks: which tensors receive a gradient, and, at each
    ``optimizer.step()``, whether a gradient arrived since the last step and is still there.
    A gradient that arrives on top of one a step has already used means no ``zero_grad()``
    between steps."""

    def __init__(self, tensors: list[torch.Tensor], optimizer: torch.optim.Optimizer):
        self.received: set[int] = set()  # every tensor a gradient reached
        self.fresh: set[int] = set()  # those it reached since the last step, in this call of the step
        self.fresh_nonzero: set[int] = set()  # those of them whose arriving gradient was not all zero
        self.since_step: set[int] = set()  # reached since the last step, in any call (not cleared by start_step)
        self.steps_taken = 0
        self.used_at: dict[int, int] = {}  # tensor id -> the step that last used its gradient
        self.steps_without_backward = 0
        self.cleared_before_step = self.accumulates = False
        self.step_broke_backward: int | None = None  # the step whose backward() failed after a step()
        self.predicted_decrease: float | None = None  # lr x |gradient|^2 at the first step with gradients
        self.stepped = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
        self.handles = [t.register_hook(self._arrived(t)) for t in tensors if t.requires_grad and t.is_leaf]
        self.handles.append(optimizer.register_step_pre_hook(self._before_step))
        self.handles.append(optimizer.register_step_post_hook(self._after_step))
        self.closure_step = False

    @property
    def backward_ran(self) -> bool:
        return bool(self.received)

    def _arrived(self, t: torch.Tensor):
        def hook(grad):
            first = id(t) not in self.since_step  # later arrivals before a step are accumulation
            self.received.add(id(t))
            self.fresh.add(id(t))
            self.since_step.add(id(t))
            if bool(grad.detach().ne(0).any()):
                self.fresh_nonzero.add(id(t))
            stale = t.grad is not None and bool(t.grad.detach().ne(0).any())
            if first and stale and self.used_at.get(id(t)) == self.steps_taken:  # the last step used it, uncleared
                self.accumulates = True

        return hook

    def _before_step(self, optimizer, args, kwargs):
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)  # args[0] is the optimizer
        self.closure_step = callable(closure)
        if not self.closure_step:
            self._check_step(optimizer)

    def _after_step(self, optimizer, args, kwargs):
        if self.closure_step:  # the closure ran backward() inside step(): look now
            self._check_step(optimizer)

    def _check_step(self, optimizer):
        arrived = [p for p in self.stepped if id(p) in self.fresh]
        arrived_nonzero = [p for p in self.stepped if id(p) in self.fresh_nonzero]
        with_grads = [p for p in self.stepped if p.grad is not None and bool(p.grad.detach().ne(0).any())]
        if arrived_nonzero and not with_grads:
            self.cleared_before_step = True  # backward() ran, yet step() finds no gradient
        if not arrived:
            self.steps_without_backward += 1
        if with_grads and self.predicted_decrease is None:
            self.predicted_decrease = sum(
                float(group.get("lr", 0.0))
                * sum(float((p.grad.double() ** 2).sum()) for p in group["params"] if p.grad is not None)
                for group in optimizer.param_groups
            )
        self.steps_taken += 1
        for p in with_grads:
            self.used_at[id(p)] = self.steps_taken
        self.fresh.clear()
        self.fresh_nonzero.clear()
        self.since_step.clear()

    def order_problems(self) -> list[str]:
        """The problems with the order of the loop's calls, one line each."""
        problems = []
        if self.steps_taken == 0 and self.backward_ran:
            problems.append(
                "optimizer.step() is never called on this optimizer, so the parameters never move: "
                "call it after loss.backward()."
            )
        reached = any(id(p) in self.received for p in self.stepped)  # else the order is not what is wrong
        if self.step_broke_backward:
            problems.append(
                f"loss.backward() failed on step {self.step_broke_backward} because optimizer.step() ran between "
                "the forward pass and backward() and changed, in place, weights that backward() needs: call "
                "optimizer.step() after loss.backward()."
            )
        elif reached and self.steps_without_backward:
            problems.append(
                "optimizer.step() runs before loss.backward(), so each step finds no gradient of its own "
                "(none yet, or the last step's): call loss.backward() first, then optimizer.step()."
            )
        if self.cleared_before_step:
            problems.append(
                "optimizer.zero_grad() runs between loss.backward() and optimizer.step(), so it clears the "
                "gradients just computed and step() has none to use: call zero_grad() before the forward pass."
            )
        if self.accumulates:
            problems.append(
                "the gradients are never cleared between steps (no optimizer.zero_grad()), so each backward() adds "
                "to the gradients of every earlier step: call optimizer.zero_grad() at the start of each step."
            )
        return problems

    def start_step(self) -> None:
        """A new call of the loop's step begins: a gradient of the call before does not count as
        this step's (the loop is a cycle; where each step begins is what says which call is late)."""
        self.fresh.clear()
        self.fresh_nonzero.clear()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _checkers_step(optimizer, compute_loss, losses: list[float]):
    """The step the checker takes around ``compute_loss``: zero_grad, loss, backward, step.
    It records the loss in ``losses`` before ``backward``, which may fail."""

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = _value(compute_loss(), losses)
        if not loss.requires_grad:
            raise _NoGradLoss()
        loss.backward()
        optimizer.step()

    return step


def _value(loss, losses: list[float]):
    """Record a step's loss (a single-number tensor or a float) in ``losses``; return it."""
    if isinstance(loss, torch.Tensor) and loss.numel() == 1:
        losses.append(float(loss.detach()))
    elif isinstance(loss, (int, float)) and not isinstance(loss, bool):
        losses.append(float(loss))
    else:
        what = f"a tensor of {loss.numel()} numbers" if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TypeError(f"the loss must be returned as a single-number tensor (or a float), got {what}")
    return loss


class _NoGradLoss(Exception):
    """The loss of the checker's own step does not require grad."""


NO_GRAD = (
    "the loss does not depend on any tensor that requires grad (was it computed under "
    "torch.no_grad(), or from .detach()ed or .item() values?), so backward() has nothing to do."
)


def _take_steps(step, steps: int, report: SetupReport, watcher: _LoopWatcher, returns_loss: bool) -> None:
    """Take the steps, recording each loss (``step`` returns it, or records it itself when not
    ``returns_loss``), until they are taken or one fails in a way the report can explain."""
    for taken in range(1, steps + 1):
        watcher.start_step()
        try:
            loss = step()
        except _NoGradLoss:
            report.problems.append(NO_GRAD)
            return
        except RuntimeError as err:
            if "second time" in str(err):
                report.problems.append(
                    f"backward() failed on step {taken} with 'Trying to backward through the graph a second time': "
                    "the forward pass ran once, outside the loop, and every step reuses its graph. "
                    "retain_graph=True silences this error but does not fix it: compute the reconstruction "
                    "(and the loss) inside the loop."
                )
                return
            if "does not require grad" in str(err):
                report.problems.append(NO_GRAD)
                return
            if "modified by an inplace operation" in str(err) and watcher.steps_without_backward:
                watcher.step_broke_backward = taken
                return
            raise
        if returns_loss:
            _value(loss, report.losses)
