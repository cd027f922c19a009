"""Training and held-out error: the answer's four steps (``train_epoch``), ``evaluate``, ``train`` (checks once,
then ``train_epoch`` epoch after epoch), and the sliders' SGD with the gradient written out (``sgd_linear_ae``)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import checks
from .models import raw_linear_ae

PROGRESS_STEPS = 5_000


@dataclass
class History:
    """What a training run recorded: each loss, each evaluation and its step. Taught in notebook 01, section 4."""

    losses: list[float] = field(default_factory=list)
    evaluations: list[float] = field(default_factory=list)
    evaluated_at: list[int] = field(default_factory=list)  # the step after which each evaluation ran
    interrupted: bool = False

    @property
    def steps(self) -> int:
        """Number of optimizer steps taken."""
        return len(self.losses)

    @property
    def final_loss(self) -> float:
        """The loss at the last step taken (NaN when no step was taken)."""
        return self.losses[-1] if self.losses else math.nan

    def record(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Record a step's loss; a NaN or infinite one raises ``TrainingDiverged`` instead."""
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged.at_next_step(value, self, optimizer)
        self.losses.append(value)

    def __repr__(self) -> str:
        parts = [f"{self.steps} steps", f"final loss {self.final_loss:.4g}"]
        if self.evaluations:
            parts.append(f"{len(self.evaluations)} evaluations, last {self.evaluations[-1]:.4g}")
        if self.interrupted:
            parts.append("interrupted")
        return f"History({', '.join(parts)})"


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; ``history`` holds the steps taken before. Taught in notebook 01, section 6."""

    def __init__(self, message: str, step: int, lr: float, history: History):
        super().__init__(message)
        self.step, self.lr, self.history = step, lr, history

    @classmethod
    def at_next_step(cls, value: float, history: History, optimizer: torch.optim.Optimizer):
        """The error for a loss of ``value`` at the step after those ``history`` holds."""
        step, lr = history.steps + 1, float(optimizer.param_groups[0].get("lr", math.nan))
        return cls(divergence_message(value, step, lr, optimizer), step=step, lr=lr, history=history)

    def __reduce__(self):  # pickle and copy.deepcopy rebuild it with all four arguments
        return (type(self), (str(self), self.step, self.lr, self.history))


def divergence_message(value: float, step: int, lr: float, optimizer: torch.optim.Optimizer) -> str:
    """What to tell a learner whose loss became ``value`` (NaN or infinite) at ``step``."""
    what = "NaN" if math.isnan(value) else "infinite"
    if step > 1:
        return (
            f"Training diverged at step {step}: the loss became {what} with learning rate {lr:.3g}. "
            f"Try a smaller learning rate, for example {lr / 10:.3g}."
        )
    # At step 1 no step has been taken yet: the learning rate cannot be the cause.
    broken = [tuple(p.shape) for p in checks.held(optimizer) if not torch.isfinite(p).all()]
    if broken:
        cause = f"the parameters hold NaN or infinite values (tensors of shape {', '.join(map(str, broken[:3]))})"
        return f"The loss was {what} before any step: {cause}. Re-create them; a smaller learning rate will not help."
    return (
        f"The loss was {what} before any step, with finite parameters: the data's values are too large for the "
        "model's floating-point type (the squares overflow). Rescale the data, for example x / x.abs().max(); "
        "a smaller learning rate will not help."
    )


def train_epoch(model, batches, optimizer, loss_fn, history: History) -> History:
    """One pass over ``batches``, the answer's four steps on each, each loss into ``history``. Taught in notebook 03,
    section 3 (notebook 04, section 2, writes ``train``'s loop around it)."""
    for x in batches:
        x_pred = model(x)  # forward pass
        loss = loss_fn(x_pred, x)
        history.record(loss, optimizer)  # a NaN or infinite loss stops training here, before the step
        optimizer.zero_grad()  # clear the last step's gradients,
        loss.backward()  # backward pass: this step's gradients,
        optimizer.step()  # and move the parameters
    return history


def evaluate(model, x: torch.Tensor, loss_fn=None, batch_size: int = 2000) -> float:
    """The mean of ``loss_fn(model(x), x)`` (``nn.MSELoss()`` when None; it must average) over all of ``x``, in
    chunks of ``batch_size``, in eval mode without gradients, the model handed back in its mode.
    Taught in notebook 03, section 3."""
    loss_fn = _checked_loss(loss_fn, need_mean=True)
    checks.function("model", model, "an nn.Module or a function x -> reconstruction")
    checks.training_data(x, "x", "a tensor of samples, shaped (samples, ...)")
    batch_size = checks.whole_number("batch_size", batch_size)
    _trial_forward(model, x[:batch_size], name="x")  # a misfit of data and model, said plainly
    total = 0.0  # summed on the host in double precision (Apple's MPS has no float64)
    with _evaluating(model):
        for chunk in x.split(batch_size):
            total += float(loss_fn(model(chunk), chunk)) * len(chunk)
    return total / len(x)


def train(model, data, optimizer, loss_fn=None, *, epochs: int, batch_size=None, generator=None, after_epoch=None):
    """Train ``model`` to reconstruct ``data`` for ``epochs`` passes of ``train_epoch``; return the ``History``.

    data: a tensor, taken whole (a step per epoch) or in batches of ``batch_size`` shuffled by ``generator``;
        or an iterable of batches such as a DataLoader. loss_fn: ``nn.MSELoss()`` when not given.
    after_epoch: called after each epoch in eval mode without gradients; a number it returns is recorded.
    Another error than ``TrainingDiverged`` carries the ``History`` so far as ``.history``. Taught in notebook 01,
    section 4, and notebook 03, section 3."""
    batches, loss_fn = _at_the_door(model, data, optimizer, loss_fn, epochs, batch_size, generator, after_epoch)
    history = History()
    from tqdm.auto import tqdm  # a progress bar counted in steps, not time: every machine prints the same

    try:
        for _ in tqdm(range(epochs), unit="epoch", leave=False, disable=epochs * len(batches) < PROGRESS_STEPS):
            if isinstance(model, nn.Module):
                model.train()
            train_epoch(model, batches, optimizer, loss_fn, history)
            if after_epoch is not None:
                with _evaluating(model):
                    value = after_epoch()
                if value is not None:
                    value = checks.number("after_epoch's result", value, why="the model's output is NaN or infinite")
                    history.evaluations.append(value)
                    history.evaluated_at.append(history.steps)
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"Interrupted after {history.steps} steps; returning the history recorded so far.")
    except Exception as error:  # any other failure keeps what was recorded
        if not hasattr(error, "history"):
            error.history = history
        raise
    return history


def _at_the_door(model, data, optimizer, loss_fn, epochs, batch_size, generator, after_epoch):
    """``train``'s arguments checked before any step: the batches to iterate and the loss to use."""
    if not torch.is_grad_enabled():
        raise RuntimeError("gradients are switched off here (torch.no_grad()): call ae.train outside that block")
    checks.function("model", model, "an nn.Module or a function x -> reconstruction")
    checks.whole_number("epochs", epochs)
    if after_epoch is not None:
        checks.function("after_epoch", after_epoch, "a function of no arguments (returning a number or None)")
    batches = _Batches(data, batch_size, generator)
    checks.optimizer(optimizer, model.parameters() if isinstance(model, nn.Module) else None, batches.tensor)
    _trial_forward(model, batches.first(), optimizer)
    return batches, _checked_loss(loss_fn)


def _trial_forward(model, x: torch.Tensor, optimizer=None, name: str = "data") -> None:
    """One sample in eval mode, then all of ``x`` if it fails: a misfit is said with the data's own shape."""
    with _evaluating(model):
        try:
            checks.first_forward(model, x[:1], name, optimizer)
        except (ValueError, RuntimeError):  # raises again with x's shape, unless all of x fits
            checks.first_forward(model, x, name, optimizer)


def _checked_loss(loss_fn, need_mean: bool = False):
    """``loss_fn`` (``nn.MSELoss()`` when None), refusing at each call a reconstruction that would broadcast."""
    loss_fn = nn.MSELoss() if loss_fn is None else loss_fn
    checks.function("loss_fn", loss_fn, "a function (reconstruction, x) -> loss, such as nn.MSELoss()")
    if need_mean and getattr(loss_fn, "reduction", "mean") != "mean":
        raise ValueError(
            f"loss_fn has reduction={loss_fn.reduction!r}; the held-out error averages chunk means, so it needs "
            "the mean over every element (the default reduction)"
        )

    def shape_checked(reconstruction, x):
        checks.reconstruction_shape(reconstruction, x)
        return loss_fn(reconstruction, x)

    return shape_checked


class _Batches:
    """``train``'s data, checked once; each iteration gives one epoch's batches."""

    def __init__(self, data, batch_size, generator):
        labels = data[1] if isinstance(data, (tuple, list)) and len(data) == 2 else None
        if isinstance(labels, torch.Tensor) and (labels.ndim == 1 or not labels.is_floating_point()):
            raise TypeError(
                f"data is a {type(data).__name__} of {len(data)} tensors, such as the (images, labels) pair that "
                "ae.load_images returns: an autoencoder trains on the images alone, so pass them: "
                "ae.train(model, images, ...)"
            )
        checks.instance("generator", generator, (torch.Generator, type(None)), "a torch.Generator or None")
        if isinstance(data, torch.Tensor):
            checks.training_data(data)
        elif isinstance(data, (str, bytes, np.ndarray)) or not hasattr(data, "__iter__"):  # arrays iterate by rows
            checks.tensor("data", data, "a tensor or an iterable of batches (a DataLoader)")  # names the fix
        elif isinstance(data, Iterator):
            raise TypeError(
                f"data is a one-pass iterator ({type(data).__name__}): it would be used up by the first epoch. "
                "Pass a DataLoader or a list of batches"
            )
        elif batch_size is not None or generator is not None:
            raise ValueError("batch_size and generator apply to tensor data; a DataLoader has its own")
        self.tensor = data if isinstance(data, torch.Tensor) else None
        self.data, self.generator = data, generator
        self.batch_size = None if batch_size is None else checks.whole_number("batch_size", batch_size)

    def __iter__(self):
        if self.tensor is None:
            return map(_inputs_of, self.data)  # a DataLoader's batches, each checked
        if self.batch_size is None or self.batch_size >= len(self.tensor):
            return iter([self.tensor])
        order = torch.randperm(len(self.tensor), generator=self.generator).to(self.tensor.device)
        # index_select gathers the rows several times faster than data[indices] does
        return (torch.index_select(self.tensor, 0, part) for part in order.split(self.batch_size))

    def __len__(self) -> int:
        if self.tensor is None:
            return len(self.data) if hasattr(self.data, "__len__") else 0
        return math.ceil(len(self.tensor) / (self.batch_size or len(self.tensor)))

    def first(self) -> torch.Tensor:
        """The first batch: all of a tensor, or a DataLoader's first, every generator then put back."""
        if self.tensor is not None:
            return self.tensor
        own = getattr(self.data, "generator", None)  # a DataLoader's own generator, if it has one
        states = torch.random.get_rng_state(), None if own is None else own.get_state()
        try:
            return next(iter(self))
        except StopIteration:
            raise ValueError("the data gave no batch at all; is the data set or DataLoader empty?") from None
        finally:
            torch.random.set_rng_state(states[0])
            if own is not None:
                own.set_state(states[1])


def _inputs_of(batch) -> torch.Tensor:
    """The images of a batch that may be an ``(images, labels)`` pair, checked."""
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    if not isinstance(batch, torch.Tensor):
        raise TypeError(
            f"each batch must be a tensor or an (inputs, labels) pair, got {type(batch).__name__}: "
            "data must be a tensor of samples or an iterable of batches, such as a DataLoader"
        )
    checks.training_data(batch, "a batch")
    return batch


@contextmanager
def _evaluating(model):
    """The model in eval mode and without gradients, then back in the mode it was in."""
    module = model if isinstance(model, nn.Module) else nn.Module()  # a plain function has no mode to set
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


@torch.no_grad()
def sgd_linear_ae(x: torch.Tensor, params: dict, lr: float, steps: int) -> tuple[History, int | None]:
    """``steps`` full-batch SGD steps of size ``lr`` on a ``raw_linear_ae``'s ``params`` (in place) against the MSE
    of reconstructing ``x``, the gradient written out: 2 to 2.7x faster a slider move than autograd
    (``benchmarks/slider_redraw.py``). Returns ``(history, diverged_at)``: the losses before the first NaN or
    infinite one, and its step (None if none). Taught in notebook 01, section 5, and its Going deeper part."""
    problem, steps = checks.learning_rate_problem(lr), checks.whole_number("steps", steps)
    if problem:
        raise ValueError(problem)
    lr = float(lr)
    checks.training_data(x, "x")
    w_enc, b_enc, w_dec, b_dec = (params[n] for n in ("wEncoder", "bEncoder", "wDecoder", "bDecoder"))
    if any(p.dtype != x.dtype for p in params.values()):
        raise TypeError(f"the parameters' dtypes differ from the data's {x.dtype}; convert one to the other")
    losses = torch.empty(steps, dtype=x.dtype)
    for step in range(steps):
        code = torch.addmm(b_enc, x, w_enc)  # (N, k)
        residual = torch.addmm(b_dec, code, w_dec).sub_(x)  # (N, D)
        losses[step] = residual.pow(2).mean()
        residual.mul_(2.0 / x.numel())  # d loss / d reconstruction
        grad_code = residual @ w_dec.T
        w_dec.sub_(code.T @ residual, alpha=lr)
        b_dec.sub_(residual.sum(0, keepdim=True), alpha=lr)
        w_enc.sub_(x.T @ grad_code, alpha=lr)
        b_enc.sub_(grad_code.sum(0), alpha=lr)
        if step % 64 == 63 and not bool(torch.isfinite(losses[step])):
            break  # diverged: no point in stepping on (the losses after the first NaN or infinite one go unread)
    finite = torch.isfinite(losses)
    if bool(finite.all()):
        return History(losses=losses.tolist()), None
    first_bad = int((~finite).nonzero()[0])
    return History(losses=losses[:first_bad].tolist()), first_bad + 1


def train_linear_ae(x: torch.Tensor, lr: float, steps: int, seed: int, k: int = 1) -> tuple[History, int | None]:
    """The learner's raw-tensor linear autoencoder with ``k`` code units from ``seed``, trained by ``sgd_linear_ae``;
    divergence is a result here, not an error (the sliders' right ends show it). Taught in notebook 01, section 5."""
    steps, seed = checks.whole_number("steps", steps), checks.whole_number("seed", seed, 0)  # no silent rounding
    checks.training_data(x, "x")  # before its shape and dtype are used
    params = raw_linear_ae(x.shape[1], k, generator=torch.Generator().manual_seed(seed))
    params = {name: p.detach().to(x.dtype) for name, p in params.items()}  # float64 data: float64 weights
    return sgd_linear_ae(x, params, lr, steps)
