"""Why does my loss not change? ``check_setup`` takes a training set-up through a few steps, says in
plain words what stops it from learning, and puts everything back."""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.autograd.graph import register_multi_grad_hook
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

from . import checks

_FLAT = "the loss stayed at {loss:.6g} for {n} steps: "
# Every message of this module. {names} lists tensors; {is}, {it}, ... agree with their number (checks.worded).
MESSAGES = {
    "empty": "Nothing checked yet: this report is empty (make one with ae.check_setup).",
    "ok": "No problems found: all {n} parameters receive gradients, the optimizer holds exactly them, and the loss "
    "went from {first:.4g} to {last:.4g} in {steps} steps.",
    "count": "{n} problem(s) found:",
    "one_of": "give exactly one of compute_loss= (returns the loss) or training_step= (the loop's whole step)",
    "steps_itself": "compute_loss calls backward() or optimizer.step() itself: pass it as training_step= instead.",
    # before any step
    "not_leaf": "{names} {was} computed from another tensor (as torch.randn(..., requires_grad=True) * 0.1 is), so "
    "backward() leaves {its} .grad empty and no optimizer can hold {them}: create each as a leaf tensor, "
    "(torch.randn(...) * 0.1).requires_grad_().",
    "no_grad": "{names} {does} not require grad: create {them} with requires_grad=True (or as nn.Parameter).",
    "missing": "{names} {is} not in the optimizer, so optimizer.step() never changes {them}.",
    "extra": "the optimizer's {entry} {names} ({what}) {is} not among the parameters checked: if {it} {is} data made "
    "with requires_grad=True, each step changes the data. Hand the optimizer only the parameters.",
    # a step that failed
    "graph_reused": "backward() failed on step {step} with 'Trying to backward through the graph a second time': the "
    "forward pass ran once, outside the loop, and every step reuses its graph. retain_graph=True silences this error "
    "but does not fix it: compute the reconstruction (and the loss) inside the loop.",
    "backward_twice": "backward() failed on step {step} with 'Trying to backward through the graph a second time': "
    "the step calls backward() twice on one loss. Call it once per step.",
    "graph_changed": "loss.backward(retain_graph=True) failed on step {step}: its graph, made once outside the loop, "
    "holds weights that optimizer.step() has changed since. Compute the reconstruction inside the loop.",
    "step_broke_backward": "loss.backward() failed on step {step}: optimizer.step() ran between the forward pass and "
    "backward() and changed, in place, weights that backward() needs. Call optimizer.step() after loss.backward().",
    "no_grad_loss": "the loss does not depend on any tensor that requires grad (was it computed under "
    "torch.no_grad(), or from .detach()ed or .item() values?), so backward() has nothing to do.",
    # seen while stepping
    "never_receive": "{names} never receive{s} a gradient: the loss does not depend on {them}.",
    "no_backward": "no gradient reached any parameter in {n} steps: the loop never calls loss.backward(), or calls it "
    "on a loss that does not depend on them. Call loss.backward() before optimizer.step().",
    "never_stepped": "optimizer.step() is never called on this optimizer in {n} steps, so the parameters never move: "
    "call it after loss.backward() (a loop that steps every few calls needs more steps=).",
    "step_before_backward": "optimizer.step() runs before loss.backward(), so each step finds no gradient of its own "
    "(none yet, or the last step's): call loss.backward() first, then optimizer.step().",
    "cleared": "optimizer.zero_grad() runs between loss.backward() and optimizer.step(), so it clears the gradients "
    "just computed and step() has none to use: call zero_grad() before the forward pass.",
    "accumulates": "the gradients are never cleared between steps (no optimizer.zero_grad()), so each backward() adds "
    "to the gradients of every earlier step: call optimizer.zero_grad() at the start of each step.",
    # the losses
    "not_finite": "the loss is {value} at step {at} of {n}: NaN or infinite values in the data, the parameters or the "
    "loss function (check them with torch.isfinite), or a learning rate far too large, after some steps.",
    "flat_order": _FLAT + "the order of the loop's calls, above, keeps the parameters where they are.",
    "flat_small_lr": _FLAT + "the learning rate is too small: each step should lower the loss by about lr x "
    "|gradient|^2 = {decrease:.3g}, too little to show. Try a learning rate 100 to 1000 times larger.",
    "flat_made_once": _FLAT + "the parameters changed but the loss did not: it is computed from a reconstruction made "
    "once, before the loop. Compute the reconstruction inside the loop.",
    "flat_late": _FLAT + "the parameters changed only in the last of the {n} steps, after its loss. A loop that steps "
    "every few calls needs more steps= to show its loss move.",
    "flat_unmoved": _FLAT + "no parameter changed, so nothing the optimizer does can reach the loss.",
}


@dataclass
class SetupReport:
    """The checker's findings: ``problems`` in plain words, and the losses it saw. Taught in notebook 01, section 3."""

    problems: list[str] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    n_parameters: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems

    def __str__(self) -> str:
        if self.problems:
            numbered = [f"{i}. {problem}" for i, problem in enumerate(self.problems, 1)]
            return "\n".join([MESSAGES["count"].format(n=len(self.problems)), *numbered])
        if not self.losses:
            return MESSAGES["empty"]
        first, last, steps = self.losses[0], self.losses[-1], len(self.losses) - 1
        return MESSAGES["ok"].format(n=self.n_parameters, first=first, last=last, steps=steps)

    __repr__ = __str__


def check_setup(parameters, optimizer, compute_loss=None, steps=3, *, training_step=None) -> SetupReport:
    """Check a training set-up and report what stops it from learning.

    parameters: what should learn: an ``nn.Module``, a dict ``{"name": tensor}``, or a list.
    optimizer: the optimizer that should update them.
    compute_loss: a function of no arguments returning the loss (the checker calls ``zero_grad``,
        ``backward`` and ``step`` around it); or training_step: the loop's whole step, returning the
        loss (or ``loss.item()``), whose order of calls is checked too.
    steps: how many steps to take to see whether the loss moves (at least 2).

    Afterwards the tensors, the module's buffers and modes, every optimizer stepped and its schedulers,
    and the random generators are as they were (not what the step keeps elsewhere, such as a data iterator).
    Taught in notebook 01, section 3, and exercise 1."""
    named = _named(parameters)
    checks.optimizer_problems(optimizer)  # refuses what is no optimizer, or a learning rate that is no number
    if (compute_loss is None) == (training_step is None):
        raise TypeError(MESSAGES["one_of"])
    name, function = ("compute_loss", compute_loss) if training_step is None else ("training_step", training_step)
    checks.function(name, function, "a function of no arguments that returns the loss")
    steps = checks.whole_number("steps", steps, 2, why="it takes two steps to see the loss move")
    report = SetupReport(n_parameters=len(named))
    tensors = list({id(t): t for t in [p for _, p in named] + checks.held(optimizer)}.values())
    with (
        _snapshot(parameters, tensors, optimizer, loop=training_step is not None) as (optimizers, moved),
        _watching(tensors, optimizer) as events,
    ):
        failure = _take_steps(optimizer, compute_loss, training_step, steps, events, moved, report.losses)
    others = {id(p) for other in optimizers[1:] for p in checks.held(other)}
    report.problems = _static_problems(named, optimizer, others)
    report.problems += _observed_problems(named, optimizer, events, report.losses, failure)
    return report


def _named(parameters) -> list[tuple[str, torch.Tensor]]:
    """The tensors to check, each with its name: a module's, the dict's keys, or 'parameter i'."""
    if isinstance(parameters, nn.Module):
        named = list(parameters.named_parameters())
    elif isinstance(parameters, Mapping):
        named = list(parameters.items())
    else:
        what = "an nn.Module, a dict of name -> tensor, or a list of tensors"
        if isinstance(parameters, torch.Tensor):
            raise TypeError(f"parameters must be {what}, got one tensor; put it in a list: [tensor]")
        named = [(f"parameter {i}", p) for i, p in enumerate(checks.items("parameters", parameters, what))]
    for name, p in named:
        checks.tensor(name, p)
    if not named:
        raise ValueError("no parameters were given to check")
    return named


def _static_problems(named, optimizer, held_by_others: set[int]) -> list[str]:
    """Tensors that cannot learn or that no optimizer stepped holds, and what the optimizer holds wrongly."""
    held = checks.held(optimizer)
    stepped, names = {id(p) for p in held} | held_by_others, {id(p) for _, p in named}
    kinds = {
        "not_leaf": [n for n, p in named if p.requires_grad and not p.is_leaf],
        "no_grad": [n for n, p in named if not p.requires_grad],
        "missing": [n for n, p in named if p.requires_grad and p.is_leaf and id(p) not in stepped],
    }
    problems = [checks.worded(MESSAGES[kind], found) for kind, found in kinds.items() if found]
    problems += checks.optimizer_problems(optimizer, skip=names)
    extra = [i for i, p in enumerate(held) if p.requires_grad and id(p) not in names]
    if extra:
        problems.append(checks.worded(MESSAGES["extra"], extra, what=checks.described([held[i] for i in extra])))
    return problems


@contextlib.contextmanager
def _snapshot(parameters, tensors: list[torch.Tensor], optimizer: torch.optim.Optimizer, loop: bool):
    """Puts back what the trial steps change; yields the optimizers stepped and a test: has a tensor moved?"""
    module = parameters if isinstance(parameters, nn.Module) else nn.Module()
    values = [(t, t.detach().clone(), t.grad if t.is_leaf else None) for t in tensors]
    buffers = [(b, b.detach().clone(), None) for b in module.buffers()]
    optimizers, restores = [optimizer], _restores(optimizer, loop)
    restores += [(np.random.set_state, np.random.get_state()), (random.setstate, random.getstate())]
    restores += [(functools.partial(setattr, m, "training"), m.training) for m in module.modules()]

    def before_step(stepping, args, kwargs) -> None:
        if stepping not in optimizers:  # another optimizer: save it, and what only it holds, before it steps
            optimizers.append(stepping)
            restores.extend(_restores(stepping, loop))
            known = {id(t) for t, _, _ in values}
            values.extend((p, p.detach().clone(), None) for p in checks.held(stepping) if id(p) not in known)

    hook = register_optimizer_step_pre_hook(before_step)
    for t in tensors:
        if t.is_leaf:
            t.grad = None  # a stale gradient must take no part in the steps
    try:
        with torch.random.fork_rng(range(torch.cuda.device_count())):  # torch's generator, and CUDA's
            yield optimizers, lambda: any(not torch.equal(t.detach(), value) for t, value, _ in values)
    finally:
        hook.remove()
        with torch.no_grad():
            for t, value, grad in values + buffers:
                t.copy_(value)
                if t.is_leaf:
                    t.grad = grad
        for restore, state in restores:
            restore(state)


def _restores(optimizer: torch.optim.Optimizer, loop: bool) -> list:
    """(load_state_dict, state) pairs for an optimizer and, for a loop's step, the schedulers that refer to it."""
    referrers = gc.get_referrers(optimizer) if loop else []  # a walk of all memory: a tenth of a second or so
    dicts = [d for d in referrers if isinstance(d, dict)]  # a scheduler may refer to it through its __dict__
    owners = referrers + (gc.get_referrers(*dicts) if dicts else [])
    found = {id(o): o for o in owners if isinstance(o, (LRScheduler, ReduceLROnPlateau)) and o.optimizer is optimizer}
    return [(o.load_state_dict, copy.deepcopy(o.state_dict())) for o in [optimizer, *found.values()]]


@contextlib.contextmanager
def _watching(tensors: list[torch.Tensor], optimizer: torch.optim.Optimizer):
    """Records, in order, ("grad", id, nonzero, stale), ("backward",) and ("step", ours, ids, lr x |grad|^2)."""
    events, leaves = [], [t for t in tensors if t.requires_grad and t.is_leaf]

    def nonzero(grad: torch.Tensor | None) -> bool:
        return grad is not None and bool(grad.detach().ne(0).any())

    def arrival(t: torch.Tensor):
        return lambda grad: events.append(("grad", id(t), nonzero(grad), nonzero(t.grad)))

    def stepped(stepping, args, kwargs) -> None:
        groups = [(g.get("lr") or 0.0, [p for p in g["params"] if nonzero(p.grad)]) for g in stepping.param_groups]
        decrease = sum(float(lr) * sum(float(p.grad.double().square().sum()) for p in ps) for lr, ps in groups)
        events.append(("step", stepping is optimizer, {id(p) for _, ps in groups for p in ps}, decrease))

    handles = [t.register_hook(arrival(t)) for t in leaves] + [register_optimizer_step_post_hook(stepped)]
    handles.append(register_multi_grad_hook(leaves, lambda grads: events.append(("backward",))))
    try:
        yield events
    finally:
        for handle in handles:
            handle.remove()


def _take_steps(optimizer, compute_loss, training_step, steps: int, events: list, moved, losses) -> str | None:
    """Take the steps, recording ("call", moved) events and the losses; the message for an error that stopped them."""
    failure = None
    for call in range(1, steps + 1):
        events.append(("call", moved()))
        try:
            if training_step is None:
                _checkers_step(optimizer, compute_loss, losses, events)
            else:
                losses.append(checks.loss("training_step", training_step()))
        except RuntimeError as error:
            failure = _failure(str(error), call, events)
            if failure is None:
                raise
            break
    events.append(("end", moved()))
    return failure


def _checkers_step(optimizer, compute_loss, losses: list[float], events: list) -> None:
    optimizer.zero_grad(set_to_none=True)
    before = len(events)
    loss = compute_loss()
    if len(events) > before:  # it ran backward() or step() itself
        raise TypeError(MESSAGES["steps_itself"])
    losses.append(checks.loss("compute_loss", loss, tensor_only=True))  # before backward(), which may fail
    loss.backward()
    events.append(("backward",))  # also when the loss reaches no tensor checked
    optimizer.step()


def _failure(error: str, step: int, events: list) -> str | None:
    """The message for torch's ``error`` that stopped call ``step``, or None when none explains it."""
    this_call = events[max(i for i, e in enumerate(events) if e[0] == "call") :]
    if "second time" in error:
        key = "backward_twice" if ("backward",) in this_call else "graph_reused"
    elif "does not require grad" in error:
        key = "no_grad_loss"
    elif "modified by an inplace operation" in error and any(e[0] == "step" for e in events):
        key = "step_broke_backward" if any(e[0] == "step" for e in this_call) else "graph_changed"
    else:
        return None
    return MESSAGES[key].format(step=step)


def _observed_problems(named, optimizer, events: list, losses: list[float], failure: str | None) -> list[str]:
    """The failure, the tensors no gradient reached, the loop's order, and the losses."""
    received = {e[1] for e in events if e[0] == "grad"}
    backward_ran = ("backward",) in events
    problems = [failure] if failure else []
    never = [n for n, p in named if p.requires_grad and p.is_leaf and id(p) not in received]
    if backward_ran and never:
        problems.append(checks.worded(MESSAGES["never_receive"], never))
    order = _order_problems(events, {id(p) for p in checks.held(optimizer)}, stopped=failure is not None)
    if not backward_ran and not failure:
        order.insert(0, MESSAGES["no_backward"].format(n=len(losses)))
    loss = _loss_problem(losses, events, bool(order))
    return problems + order + ([loss] if loss else [])


def _order_problems(events: list, held: set[int], stopped: bool) -> list[str]:
    """The loop's order problems: each step of the optimizer checked is judged by the gradients since its last."""
    found, arrived, used, call = set(), [], set(), 0
    for kind, *data in events:
        if kind == "call":
            call += 1
        elif kind == "grad" and data[0] in held:
            tensor, nonzero, stale = data
            if stale and tensor in used:  # a gradient lands on one that a step has used
                found.add("accumulates")
            used.discard(tensor)
            arrived.append(call if nonzero else None)
        elif kind == "step" and data[0]:
            fresh = [c for c in arrived if c is not None]
            if fresh and not data[1]:  # computed since the last step, gone before this one
                found.add("cleared" if call in fresh else "step_before_backward")
            arrived, used = [], data[1]
    if not stopped and any(e[0] == "grad" for e in events) and not any(e[0] == "step" and e[1] for e in events):
        found.add("never_stepped")
    return [text.format(n=call) for key, text in MESSAGES.items() if key in found]  # in the table's order


def _loss_problem(losses: list[float], events: list, order_wrong: bool) -> str | None:
    """A loss that is NaN or infinite, or that did not move, with the likeliest cause."""
    bad = [i for i, value in enumerate(losses, 1) if not math.isfinite(value)]
    if bad:
        return MESSAGES["not_finite"].format(value=losses[bad[0] - 1], at=bad[0], n=len(losses))
    if len(losses) < 2 or max(losses) - min(losses) > 1e-7 * max(1.0, abs(losses[0])):
        return None
    decrease = next((e[3] for e in events if e[0] == "step" and e[1] and e[2]), None)
    moved = [e[1] for e in events if e[0] in ("call", "end")]  # before each call, and at the end
    if order_wrong:
        key = "flat_order"
    elif decrease and decrease < 1e-7 * max(1.0, abs(losses[0])):  # gradients there, steps too small
        key = "flat_small_lr"
    elif moved[len(losses) - 1]:  # the parameters had moved before the last loss was computed
        key = "flat_made_once"
    else:
        key = "flat_late" if moved[-1] else "flat_unmoved"
    return MESSAGES[key].format(loss=losses[0], n=len(losses), decrease=decrease or 0.0)
