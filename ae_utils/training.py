"""One optimisation loop for every notebook: steps or epochs, a module or raw tensors.

``train`` runs ``optimizer`` on the reconstruction loss of ``model`` over ``data`` and
returns a ``History``: the loss at every step and, when an ``evaluate`` function is
given, its value after every epoch. A loss that turns NaN or infinite stops the run
with ``TrainingDiverged``; Ctrl-C stops it and keeps what was recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn

from . import checks

# Runs with at least this many optimizer steps show a progress bar unless told otherwise.
# A step count (not a timer) decides, so that a notebook's output is the same on every machine.
AUTO_PROGRESS_STEPS = 5_000


@dataclass
class History:
    """What a training run recorded: the loss at each step, and each evaluation with its step.

    Taught in notebook 01, section 4.
    """

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

    def __repr__(self) -> str:
        parts = [f"{self.steps} steps", f"final loss {self.final_loss:.4g}"]
        if self.evaluations:
            parts.append(f"{len(self.evaluations)} evaluations, last {self.evaluations[-1]:.4g}")
        if self.interrupted:
            parts.append("interrupted")
        return f"History({', '.join(parts)})"


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite. ``history`` holds the steps taken before it did.

    Taught in notebook 01, section 6.
    """

    def __init__(self, message: str, step: int, lr: float, history: History):
        super().__init__(message)
        self.step = step
        self.lr = lr
        self.history = history

    @classmethod
    def at_next_step(cls, value: float, history: History, optimizer, stability_limit: float | None = None):
        """The error for a loss of ``value`` at the step after those ``history`` holds."""
        step = history.steps + 1
        message = divergence_message(value, step, optimizer, stability_limit)
        return cls(message, step=step, lr=learning_rate(optimizer), history=history)

    def __reduce__(self):  # pickle and copy.deepcopy rebuild it with all four arguments
        return (type(self), (str(self), self.step, self.lr, self.history))


def learning_rate(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the optimizer's first parameter group (NaN when it has none)."""
    return float(optimizer.param_groups[0].get("lr", math.nan))


def _tensor_batches(
    data: torch.Tensor, batch_size: int | None, generator: torch.Generator | None
) -> Iterator[torch.Tensor]:
    """One pass over ``data``: the whole tensor, or mini-batches in a shuffled order."""
    if batch_size is None or batch_size >= len(data):
        yield data
        return
    order = torch.randperm(len(data), generator=generator).to(data.device)
    for start in range(0, len(data), batch_size):
        # index_select gathers the rows several times faster than data[indices] does
        yield torch.index_select(data, 0, order[start : start + batch_size])


def _inputs_of(batch) -> torch.Tensor:
    """A batch from a DataLoader may be ``(images, labels)``: the autoencoder needs the images.
    Each batch is checked as tensor data is checked once: floating point and finite."""
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    if not isinstance(batch, torch.Tensor):
        raise TypeError(
            f"each batch must be a tensor or an (inputs, labels) pair, got {type(batch).__name__}: "
            "data must be a tensor of samples or an iterable of batches, such as a DataLoader"
        )
    checks.training_data(batch, "a batch")
    return batch


def _passes(data, batch_size, generator) -> Callable[[], Iterable[torch.Tensor]]:
    if isinstance(data, torch.Tensor):
        checks.training_data(data)
        if batch_size is not None:
            checks.whole_number("batch_size", batch_size)
        return lambda: _tensor_batches(data, batch_size, generator)
    try:
        iter(data)
        iterable = not isinstance(data, (str, bytes, np.ndarray))  # an array would iterate row by row
    except TypeError:
        iterable = False
    if not iterable:  # refused, naming what it got (and how to convert an array)
        checks.tensor("data", data, "a tensor or an iterable of batches (a DataLoader)")
    if batch_size is not None:
        raise ValueError("batch_size applies to tensor data; a DataLoader already has its own batch size")
    return lambda: (_inputs_of(b) for b in data)


def _batches_per_pass(data, batch_size) -> int | None:
    if isinstance(data, torch.Tensor):
        return 1 if batch_size is None else math.ceil(len(data) / batch_size)
    try:
        return len(data)
    except TypeError:
        return None


def _progress_bar(total: int | None, progress: bool | None):
    show = progress if progress is not None else (total is not None and total >= AUTO_PROGRESS_STEPS)
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="step", leave=False)


def train(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    data,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
    evaluate: Callable[[], float] | None = None,
    evaluate_every: int | None = None,
    stop_below: float | None = None,
    progress: bool | None = None,
    stability_limit: float | None = None,
) -> History:
    """Train an autoencoder to reconstruct ``data`` and return the ``History`` of the run.

    Every notebook trains with it; notebook 03, section 3, sets it beside the answer's own
    loop. Its steps are the answer's: forward and loss, ``zero_grad``, ``backward``, ``step``.

    model: an ``nn.Module``, or any function ``x -> reconstruction`` over raw tensors.
    data: a tensor of samples (full batch, or mini-batches of ``batch_size``), or an
        iterable of batches such as a ``DataLoader`` (``(images, labels)`` pairs are fine).
        A NumPy array is refused with the conversion to use (``torch.from_numpy(data).float()``).
        Data that does not fit the model (another dtype, device or number of features than its
        first parameter's) is a ``ValueError`` at the first step saying which and how to fix it.
    loss_fn: ``loss_fn(reconstruction, x)``; ``nn.MSELoss()`` when not given.
    steps / epochs: give exactly one. ``steps`` counts optimizer steps; ``epochs`` counts
        passes over the data.
    evaluate: called with no arguments after every epoch (under ``torch.no_grad``, the
        module in eval mode); its float result is recorded in ``history.evaluations``.
    evaluate_every: evaluate every this many steps instead (``history.evaluated_at``
        records the step of each evaluation).
    stop_below: stop as soon as an evaluation is at or below this value (a finite number).
    progress: show a progress bar (True), never (False), or when the run has at least
        ``AUTO_PROGRESS_STEPS`` steps (None).
    stability_limit: the largest stable learning rate when known (see
        ``theory.max_stable_lr``); quoted in the error if training diverges.

    An error other than ``TrainingDiverged`` or Ctrl-C (which returns what was recorded) is
    raised with the ``History`` so far attached as its ``history`` attribute.
    """
    stop_below = _check_settings(
        model,
        data,
        optimizer,
        steps,
        epochs,
        evaluate,
        evaluate_every,
        stop_below,
        stability_limit,
        progress,
        generator,
    )  # each wrong setting named, with its fix
    loss_fn = nn.MSELoss() if loss_fn is None else loss_fn
    checks.function("loss_fn", loss_fn, "a function (reconstruction, x) -> loss, such as nn.MSELoss()")
    one_pass = _passes(data, batch_size, generator)
    per_pass = _batches_per_pass(data, batch_size)
    total = steps if steps is not None else (None if per_pass is None else per_pass * epochs)

    history = History()
    bar = _progress_bar(total, progress)
    is_module = isinstance(model, nn.Module)

    def run_evaluation() -> bool:
        """Evaluate, record, and say whether the target is reached."""
        if is_module:
            model.eval()
        try:
            with torch.no_grad():
                value = float(evaluate())
        finally:  # back in training mode even when evaluate raises
            if is_module:
                model.train()
        if not math.isfinite(value):
            raise ValueError(
                f"evaluate returned {value} after step {history.steps}: the model's output or the evaluation data "
                "holds NaN or infinite values (the training loss was still finite)"
            )
        history.evaluations.append(value)
        history.evaluated_at.append(history.steps)
        return stop_below is not None and value <= stop_below

    try:
        epoch, done = 0, False
        while not done and (steps is None or history.steps < steps):
            if epochs is not None and epoch >= epochs:
                break
            if is_module:
                model.train()
            taken = 0
            for x in one_pass():
                taken += 1
                # the answer's four steps: forward and loss (the first forward checked: checks.first_forward),
                reconstruction = model(x) if history.steps else checks.first_forward(model, x, "data", optimizer)
                loss = loss_fn(reconstruction, x)
                value = _checked(loss, history, optimizer, stability_limit)
                optimizer.zero_grad()  # clear the last step's gradients,
                loss.backward()  # compute this step's,
                optimizer.step()  # and move the parameters
                history.losses.append(value)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{history.final_loss:.4g}", refresh=False)
                if evaluate_every is not None and history.steps % evaluate_every == 0 and run_evaluation():
                    done = True
                    break
                if steps is not None and history.steps >= steps:
                    break
            if taken == 0:
                raise ValueError("the data gave no batch at all; is the data set or DataLoader empty?")
            epoch += 1
            if not done and epochs is not None and evaluate is not None and evaluate_every is None:
                done = run_evaluation()
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"Interrupted after {history.steps} steps; returning the history recorded so far.")
    except Exception as error:  # any other failure keeps what was recorded
        if not hasattr(error, "history"):
            error.history = history
        raise
    finally:
        if bar is not None:
            bar.close()
    return history


def _check_settings(
    model, data, optimizer, steps, epochs, evaluate, evaluate_every, stop_below, stability_limit, progress, generator
):
    """``train``'s arguments checked before any step, each wrong one named with what it needs;
    returns ``stop_below`` as a float (or None)."""
    checks.function("model", model, "an nn.Module or a function x -> reconstruction")
    checks.optimizer(
        optimizer,
        model.parameters() if isinstance(model, nn.Module) else None,
        data if isinstance(data, torch.Tensor) else None,
    )
    if evaluate is not None:
        checks.function("evaluate", evaluate, "a function of no arguments that returns a number")
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps= (optimizer steps) or epochs= (passes over the data)")
    if steps is not None:
        checks.whole_number("steps", steps)
        if evaluate is not None and evaluate_every is None:
            raise ValueError("evaluate is called after each epoch; train with epochs=, or give evaluate_every=")
    else:
        checks.whole_number("epochs", epochs)
    if evaluate_every is not None:
        checks.whole_number("evaluate_every", evaluate_every)
    if (evaluate_every is not None or stop_below is not None) and evaluate is None:
        raise ValueError("evaluate_every and stop_below need an evaluate= function")
    if stop_below is not None:
        stop_below = checks.number("stop_below", stop_below, why="no evaluation could ever reach it")
    if stability_limit is not None and checks.number("stability_limit", stability_limit) <= 0:
        raise ValueError(
            f"stability_limit must be a positive learning rate (see ae.max_stable_lr), got {stability_limit}"
        )
    if progress is not None:
        checks.flag("progress", progress)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return stop_below


def _checked(loss: torch.Tensor, history: History, optimizer, stability_limit) -> float:
    """The loss as a float, checked before the step: the first batch's loss must depend on a
    parameter; a NaN or infinite loss ends training (``TrainingDiverged``)."""
    if history.steps == 0:
        if not loss.requires_grad:
            raise ValueError(
                "the loss does not depend on any tensor that requires grad, so no parameter can learn; "
                "compute the reconstruction from the parameters inside the forward function"
            )
    value = loss.item()
    if not math.isfinite(value):
        raise TrainingDiverged.at_next_step(value, history, optimizer, stability_limit)
    return value


def divergence_message(value: float, step: int, optimizer, stability_limit: float | None) -> str:
    """What to tell a learner whose loss became ``value`` (NaN or infinite) at ``step``."""
    lr = learning_rate(optimizer)
    what = "NaN" if math.isnan(value) else "infinite"
    broken = step == 1 and [  # looked for only before the first step: then the learning rate cannot be the cause
        tuple(p.shape) for group in optimizer.param_groups for p in group["params"] if not torch.isfinite(p).all()
    ]
    if broken:
        return (
            f"Training stopped at step 1: the loss became {what} because the parameters hold NaN or infinite "
            f"values before any step was taken (tensors of shape {', '.join(map(str, broken[:3]))}). "
            "Re-create or re-initialise them; a smaller learning rate will not help."
        )
    if stability_limit is not None:
        advice = (
            f"No minimum is stable above the estimated limit of {stability_limit:.3g}, and a random start "
            f"can blow up well below it: try {min(lr, stability_limit) / 10:.3g}."
        )
    else:
        advice = f"Try a smaller learning rate, for example {lr / 10:.3g}."
    return f"Training diverged at step {step}: the loss became {what} with learning rate {lr:.3g}. {advice}"
