"""Backpropagation written out for the course's Linear-Sigmoid stacks.

``loss.backward()`` records every operation of the forward pass and then walks that record
backwards. For a plain stack of ``nn.Linear`` layers with sigmoids between them the walk is
short enough to write by hand, layer by layer (``z`` a layer's output before its sigmoid,
``h = sigmoid(z)`` its activation, ``g`` the loss's gradient with respect to ``z``)::

    dL/dW = g.T @ h_prev        dL/db = g.sum(0)        g_prev = (g @ W) * h_prev * (1 - h_prev)

(where no sigmoid follows a layer, as after the answer's code layer ``Linear(64, 32)``, its
``h`` is its ``z`` and ``g_prev = g @ W``).

``ManualBackprop`` does exactly that into buffers allocated once per batch size, and writes
the gradients into each parameter's ``.grad``, where a ``torch.optim`` optimizer's
``step()`` finds them. It skips the recording, the graph and a fresh allocation for each
layer's intermediate tensors; how much that saves depends on the machine:
``benchmarks/mnist_training.py`` measured 1.04x ``ae.train``'s autograd step at one thread
on an AMD EPYC (1.8x on an Intel machine before). ``train_manual`` runs ``ae.train``'s
shuffled epochs with it; the tests check both against autograd and ``ae.train`` (equal to
rounding: float32 runs drift apart by about 1e-5 relative). Notebook 03, Going deeper
(backpropagation by hand), writes the same walk out and checks it against autograd.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from .. import checks
from ..training import History, TrainingDiverged

SUPPORTED = (
    "an nn.Sequential (nested ones are read in order) of nn.Linear layers, each but the last "
    "followed by an nn.Sigmoid or by the next nn.Linear, "
    "optionally starting with nn.Flatten() and ending with nn.Unflatten(1, shape), "
    "trained with nn.BCEWithLogitsLoss() or nn.MSELoss() (reduction 'mean')"
)


class ManualBackprop:
    """Forward pass, loss and gradients of a Linear-Sigmoid stack, without autograd.

    model: as ``ae.mlp_autoencoder(logits=True)``: ``[Flatten,] Linear[, Sigmoid], ...,
        Linear[, Unflatten]``; nested ``nn.Sequential`` modules are read in order.
    loss_fn: ``nn.BCEWithLogitsLoss()`` or ``nn.MSELoss()``, mean over every element.

    Call ``forward(x)``, then ``loss(x)``, then ``backward(x)``, for the same batch ``x``;
    ``backward`` leaves dL/dparameter in the ``.grad`` of each parameter that requires grad.
    The tensor ``forward`` returns is a buffer: the next ``forward`` of the same batch size
    overwrites it (clone it to keep it).
    """

    # Buffers are kept for this many batch sizes (a full batch and an epoch's last, partial one)
    KEPT_BATCH_SIZES = 2

    def __init__(self, model: nn.Module, loss_fn) -> None:
        self.linears, self.activated, self.flatten, self.unflatten_shape = _layers(model)
        self.loss_kind = _loss_kind(loss_fn)
        self._buffers: dict[tuple, tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]] = {}
        self._grads: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        self._x: torch.Tensor | None = None
        self._x2d: torch.Tensor | None = None

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            return x
        if not self.flatten:
            raise ValueError(
                f"the model has no nn.Flatten() but the batch has shape {tuple(x.shape)}; "
                "give batches of shape (samples, features) or start the model with nn.Flatten()"
            )
        return x.reshape(len(x), -1)

    def _layer_buffers(self, batch: int):
        """Pre-activations z, activations h and the output's gradient for one batch size (and the
        weights' dtype and device), allocated on first use."""
        weight = self.linears[0].weight
        key = (batch, weight.dtype, weight.device)
        if key not in self._buffers:
            while len(self._buffers) >= self.KEPT_BATCH_SIZES:
                del self._buffers[next(iter(self._buffers))]
            z = [weight.new_empty(batch, layer.out_features) for layer in self.linears]
            # a layer without a sigmoid passes its z on as it is: its h is its z
            h = [
                weight.new_empty(batch, layer.out_features) if sigmoid else z[i]
                for i, (layer, sigmoid) in enumerate(zip(self.linears, self.activated))
            ]
            self._buffers[key] = (z, h, weight.new_empty(batch, self.linears[-1].out_features))
        return self._buffers[key]

    def _gradient_buffers(self) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """One gradient tensor per parameter, remade if the model moved to another dtype or device."""
        weight = self.linears[0].weight
        if not self._grads or self._grads[0][0].dtype != weight.dtype or self._grads[0][0].device != weight.device:
            self._grads = [
                (torch.zeros_like(layer.weight), None if layer.bias is None else torch.zeros_like(layer.bias))
                for layer in self.linears
            ]
        return self._grads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output for ``x`` (shaped as the model shapes it); remembers ``x`` for ``backward``."""
        x2d = self._flat(x)
        first = self.linears[0].in_features
        if x2d.shape[1] != first:
            raise ValueError(f"the batch has {x2d.shape[1]} features per sample but the first nn.Linear takes {first}")
        z, h, _ = self._layer_buffers(len(x2d))
        with torch.no_grad():
            inputs = x2d
            for i, layer in enumerate(self.linears):
                if layer.bias is None:
                    torch.mm(inputs, layer.weight.t(), out=z[i])
                else:
                    torch.addmm(layer.bias, inputs, layer.weight.t(), out=z[i])
                if i < len(h):
                    if self.activated[i]:
                        torch.sigmoid(z[i], out=h[i])
                    inputs = h[i]
        self._x, self._x2d = x, x2d
        out = z[-1]
        if self.unflatten_shape is not None:
            return out.view(len(out), *self.unflatten_shape)
        return out

    def loss(self, x: torch.Tensor) -> float:
        """The loss of the last ``forward`` against ``x``, as a float."""
        x2d = self._last(x)
        out = self._layer_buffers(len(x2d))[0][-1]
        with torch.no_grad():
            if self.loss_kind == "bce":
                value = F.binary_cross_entropy_with_logits(out, x2d)
            else:
                value = F.mse_loss(out, x2d)
        return float(value)

    def backward(self, x: torch.Tensor) -> None:
        """Gradients of the loss of the last ``forward`` into each parameter's ``.grad``."""
        x2d = self._last(x)
        z, h, g = self._layer_buffers(len(x2d))
        grads = self._gradient_buffers()
        out = z[-1]
        with torch.no_grad():
            # dL/dz of the last layer, the mean over every element of the batch
            if self.loss_kind == "bce":
                torch.sigmoid(out, out=g).sub_(x2d).mul_(1.0 / out.numel())
            else:
                torch.sub(out, x2d, out=g).mul_(2.0 / out.numel())
            for i in range(len(self.linears) - 1, -1, -1):
                layer, (weight_grad, bias_grad) = self.linears[i], grads[i]
                if layer.weight.requires_grad:
                    torch.mm(g.t(), h[i - 1] if i > 0 else x2d, out=weight_grad)
                if bias_grad is not None and layer.bias.requires_grad:
                    torch.sum(g, 0, out=bias_grad)
                if i > 0:
                    # dL/dh_prev = g @ W, times the sigmoid's slope h (1 - h) where a sigmoid
                    # follows the previous layer; z[i - 1] is no longer needed
                    torch.mm(g, layer.weight, out=z[i - 1])
                    g = z[i - 1]
                    if self.activated[i - 1]:
                        g = torch.ops.aten.sigmoid_backward.grad_input(g, h[i - 1], grad_input=g)
        for layer, (weight_grad, bias_grad) in zip(self.linears, grads):
            if layer.weight.requires_grad:
                layer.weight.grad = weight_grad
            if bias_grad is not None and layer.bias.requires_grad:
                layer.bias.grad = bias_grad

    def _last(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened batch of the last ``forward``, which must have been given this very ``x``."""
        if self._x is None or x is not self._x:
            raise RuntimeError("call forward(x) first, with the same batch x")
        return self._x2d


def _unsupported(what: str) -> ValueError:
    return ValueError(f"manual backprop needs {SUPPORTED}; {what}. Train it with ae.train (autograd) instead")


def _has_hooks(module: nn.Module) -> bool:
    return any(
        getattr(module, name, None)
        for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    )


def _leaves(model: nn.Module) -> list[nn.Module]:
    """The modules a (possibly nested) ``nn.Sequential`` applies, in order, checking each for
    hooks and parametrizations, which the hand-written pass would silently skip."""
    if _has_hooks(model):
        raise _unsupported(f"the {type(model).__name__} has hooks, which it would skip")
    if parametrize.is_parametrized(model):
        raise _unsupported(f"the {type(model).__name__} is parametrized, which it would skip")
    if type(model) is not nn.Sequential:
        return [model]
    return [leaf for module in model for leaf in _leaves(module)]


def _layers(model: nn.Module) -> tuple[list[nn.Linear], list[bool], bool, tuple[int, ...] | None]:
    """The Linear layers of a supported stack, which of them a Sigmoid follows, whether it
    flattens, and the shape it unflattens to.

    Only the exact classes are accepted (a subclass may compute something else), with no hooks,
    no parametrizations and no parameter shared between layers: the hand-written pass would
    silently ignore each of those."""
    if type(model) is not nn.Sequential:
        raise _unsupported(f"got a {type(model).__name__}")
    layers = _leaves(model)
    flatten = bool(layers) and type(layers[0]) is nn.Flatten
    if flatten:
        if layers[0].start_dim != 1 or layers[0].end_dim != -1:
            raise _unsupported("its nn.Flatten must keep the defaults start_dim=1, end_dim=-1")
        layers = layers[1:]
    unflatten_shape = None
    if layers and type(layers[-1]) is nn.Unflatten:
        if layers[-1].dim != 1:
            raise _unsupported("its nn.Unflatten must be nn.Unflatten(1, shape): the sample dimension stays first")
        unflatten_shape = tuple(layers[-1].unflattened_size)
        layers = layers[:-1]
    linears: list[nn.Linear] = []
    activated: list[bool] = []
    for layer in layers:
        if type(layer) is nn.Linear:
            linears.append(layer)
            activated.append(False)
        elif type(layer) is nn.Sigmoid and linears and not activated[-1]:
            activated[-1] = True
        else:
            linears = []  # not a supported stack
            break
    if not linears or activated[-1]:
        names = ", ".join(type(layer).__name__ for layer in _leaves(model)) or "an empty nn.Sequential"
        ends_in_sigmoid = bool(linears) and activated[-1]
        hint = (
            (
                " (it ends in a Sigmoid: for BCE, drop it, as mlp_autoencoder(logits=True) does, "
                "and train with nn.BCEWithLogitsLoss())"
            )
            if ends_in_sigmoid
            else ""
        )
        raise _unsupported(f"got {names}{hint}")
    parameters = [p for layer in linears for p in layer.parameters()]
    if len({id(p) for p in parameters}) != len(parameters):
        raise _unsupported("two layers share a parameter (tied weights), whose gradients it would not add up")
    for before, after in zip(linears, linears[1:]):
        if before.out_features != after.in_features:
            raise _unsupported(
                f"got a Linear with {before.out_features} outputs feeding one with {after.in_features} inputs"
            )
    if unflatten_shape is not None and math.prod(unflatten_shape) != linears[-1].out_features:
        raise _unsupported(
            f"its nn.Unflatten(1, {unflatten_shape}) needs {math.prod(unflatten_shape)} features, "
            f"the last Linear gives {linears[-1].out_features}"
        )
    return linears, activated[:-1], flatten, unflatten_shape


def _loss_kind(loss_fn) -> str:
    if type(loss_fn) is nn.BCEWithLogitsLoss:
        if loss_fn.weight is not None or loss_fn.pos_weight is not None or loss_fn.reduction != "mean":
            raise _unsupported("got nn.BCEWithLogitsLoss with weight, pos_weight or a reduction other than 'mean'")
        return "bce"
    if type(loss_fn) is nn.MSELoss:
        if loss_fn.reduction != "mean":
            raise _unsupported("got nn.MSELoss with a reduction other than 'mean'")
        return "mse"
    hint = (
        (
            " (for a Sigmoid-ended model trained with BCELoss, use the logit form: "
            "mlp_autoencoder(logits=True) with nn.BCEWithLogitsLoss())"
        )
        if type(loss_fn) is nn.BCELoss
        else ""
    )
    raise _unsupported(f"got the loss {loss_fn!r}{hint}")


def train_manual(
    model: nn.Module,
    data: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    loss_fn,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
) -> History:
    """``ae.train``'s steps over tensor ``data`` (the whole tensor, or batches of ``batch_size``
    in a shuffled order drawn from ``generator`` each pass, as ``ae.train`` draws them), with
    the gradients of ``ManualBackprop`` instead of ``loss.backward()``; returns the ``History``.
    Give exactly one of ``steps`` and ``epochs``. A NaN or infinite loss raises
    ``TrainingDiverged`` before its step is taken."""
    manual = ManualBackprop(model, loss_fn)
    checks.training_data(data)
    checks.optimizer(optimizer, model.parameters(), data)
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps= (optimizer steps) or epochs= (passes over the data)")
    size = len(data) if batch_size is None else min(checks.whole_number("batch_size", batch_size), len(data))
    per_pass = math.ceil(len(data) / size)
    total = (
        checks.whole_number("steps", steps) if steps is not None else checks.whole_number("epochs", epochs) * per_pass
    )
    history = History()
    model.train()
    while history.steps < total:
        order = None if size == len(data) else torch.randperm(len(data), generator=generator).to(data.device)
        for start in range(0, len(data), size):
            if history.steps >= total:
                break
            x = data if order is None else torch.index_select(data, 0, order[start : start + size])
            out = manual.forward(x)
            if history.steps == 0:
                checks.reconstruction_shape(out, x)
            value = manual.loss(x)
            if not math.isfinite(value):
                raise TrainingDiverged.at_next_step(value, history, optimizer)
            optimizer.zero_grad()
            manual.backward(x)
            optimizer.step()
            history.losses.append(value)
    return history
