"""Backpropagation written out for the course's Linear-Sigmoid stacks.

``loss.backward()`` records every operation of the forward pass and then walks that record
backwards. For a plain stack of ``nn.Linear`` layers with sigmoids between them the walk is
short enough to write by hand, layer by layer (``z`` a layer's output before its sigmoid,
``h = sigmoid(z)`` its activation, ``g`` the loss's gradient with respect to ``z``)::

    dL/dW = g.T @ h_prev        dL/db = g.sum(0)        g_prev = (g @ W) * h_prev * (1 - h_prev)

``ManualBackprop`` does exactly that into buffers allocated once, and writes the gradients
into each parameter's ``.grad``, where any ``torch.optim`` optimizer finds them. It skips the
recording, the graph and a fresh allocation for every intermediate tensor, a real share
of a small model's step on a CPU (``benchmarks/mnist_training.py`` measures it).
``ae.train(..., backprop="manual")`` uses it; the tests check it against autograd.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED = (
    "an nn.Sequential of nn.Linear layers with an nn.Sigmoid after each but the last, "
    "optionally starting with nn.Flatten() and ending with nn.Unflatten(1, shape), "
    "trained with nn.BCEWithLogitsLoss() or nn.MSELoss() (reduction 'mean')"
)


class ManualBackprop:
    """Forward pass, loss and gradients of a Linear-Sigmoid stack, without autograd.

    model: as ``ae.mlp_autoencoder(logits=True)``: ``[Flatten,] Linear, Sigmoid, ...,
        Linear[, Unflatten]``.
    loss_fn: ``nn.BCEWithLogitsLoss()`` or ``nn.MSELoss()``, mean over every element.

    Call ``forward(x)``, then ``loss(x)``, then ``backward(x)``, for the same batch ``x``;
    ``backward`` leaves dL/dparameter in each parameter's ``.grad``.
    """

    def __init__(self, model: nn.Module, loss_fn) -> None:
        self.linears, self.flatten, self.unflatten_shape = _layers(model)
        self.loss_kind = _loss_kind(loss_fn)
        self._buffers: dict[int, tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
        self._grads = [
            (torch.zeros_like(layer.weight), None if layer.bias is None else torch.zeros_like(layer.bias))
            for layer in self.linears
        ]
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
        """Pre-activations z and activations h for one batch size, allocated on first use."""
        if batch not in self._buffers:
            weight = self.linears[0].weight
            z = [weight.new_empty(batch, layer.out_features) for layer in self.linears]
            h = [weight.new_empty(batch, layer.out_features) for layer in self.linears[:-1]]
            self._buffers[batch] = (z, h)
        return self._buffers[batch]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output for ``x`` (shaped as the model shapes it), kept for ``backward``."""
        x2d = self._flat(x)
        first = self.linears[0].in_features
        if x2d.shape[1] != first:
            raise ValueError(
                f"the batch has {x2d.shape[1]} features per sample but the first nn.Linear takes {first}"
            )
        z, h = self._layer_buffers(len(x2d))
        with torch.no_grad():
            inputs = x2d
            for i, layer in enumerate(self.linears):
                if layer.bias is None:
                    torch.mm(inputs, layer.weight.t(), out=z[i])
                else:
                    torch.addmm(layer.bias, inputs, layer.weight.t(), out=z[i])
                if i < len(h):
                    torch.sigmoid(z[i], out=h[i])
                    inputs = h[i]
        self._x2d = x2d
        out = z[-1]
        if self.unflatten_shape is not None:
            return out.view(len(out), *self.unflatten_shape)
        return out

    def loss(self, x: torch.Tensor) -> float:
        """The loss of the last ``forward`` against ``x``, as a float."""
        out, x2d = self._last(x)
        with torch.no_grad():
            if self.loss_kind == "bce":
                value = F.binary_cross_entropy_with_logits(out, x2d)
            else:
                value = F.mse_loss(out, x2d)
        return float(value)

    def backward(self, x: torch.Tensor) -> None:
        """Gradients of the loss of the last ``forward`` into each parameter's ``.grad``."""
        out, x2d = self._last(x)
        z, h = self._layer_buffers(len(x2d))
        with torch.no_grad():
            # dL/dz of the last layer, the mean over every element of the batch
            g = z[-1]
            if self.loss_kind == "bce":
                g = torch.sigmoid(out, out=g).sub_(x2d).mul_(1.0 / out.numel())
            else:
                g = g.sub_(x2d).mul_(2.0 / out.numel())
            for i in range(len(self.linears) - 1, -1, -1):
                layer, (weight_grad, bias_grad) = self.linears[i], self._grads[i]
                torch.mm(g.t(), h[i - 1] if i > 0 else x2d, out=weight_grad)
                if bias_grad is not None:
                    torch.sum(g, 0, out=bias_grad)
                if i > 0:
                    # dL/dh_prev = g @ W, times the sigmoid's slope h (1 - h); z[i - 1] is free now
                    torch.mm(g, layer.weight, out=z[i - 1])
                    g = torch.ops.aten.sigmoid_backward.grad_input(z[i - 1], h[i - 1], grad_input=z[i - 1])
        self._x2d = None  # z[-1] now holds the gradient, not the output
        for layer, (weight_grad, bias_grad) in zip(self.linears, self._grads):
            layer.weight.grad = weight_grad
            if bias_grad is not None:
                layer.bias.grad = bias_grad

    def _last(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._x2d is None or self._flat(x).data_ptr() != self._x2d.data_ptr():
            raise RuntimeError("call forward(x) first, with the same batch x")
        z, _ = self._layer_buffers(len(self._x2d))
        return z[-1], self._x2d


def _layers(model: nn.Module) -> tuple[list[nn.Linear], bool, tuple[int, ...] | None]:
    """The Linear layers of a supported stack, whether it flattens, and the shape it unflattens to."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"manual backprop needs {SUPPORTED}; got a {type(model).__name__}. Use backprop='autograd'")
    layers = list(model)
    flatten = bool(layers) and isinstance(layers[0], nn.Flatten)
    if flatten:
        if layers[0].start_dim != 1 or layers[0].end_dim != -1:
            raise ValueError("manual backprop needs nn.Flatten() with its default start_dim=1, end_dim=-1")
        layers = layers[1:]
    unflatten_shape = None
    if layers and isinstance(layers[-1], nn.Unflatten):
        if layers[-1].dim != 1:
            raise ValueError("manual backprop needs nn.Unflatten(1, shape): the sample dimension stays first")
        unflatten_shape = tuple(layers[-1].unflattened_size)
        layers = layers[:-1]
    linears = layers[0::2]
    activations = layers[1::2]
    if (
        not linears
        or len(activations) != len(linears) - 1
        or not all(isinstance(layer, nn.Linear) for layer in linears)
        or not all(isinstance(layer, nn.Sigmoid) for layer in activations)
    ):
        names = ", ".join(type(layer).__name__ for layer in model)
        ends_in_sigmoid = bool(layers) and isinstance(layers[-1], nn.Sigmoid)
        hint = " (it ends in a Sigmoid: build it with logits=True)" if ends_in_sigmoid else ""
        raise ValueError(f"manual backprop needs {SUPPORTED}; got {names}{hint}. Use backprop='autograd'")
    for before, after in zip(linears, linears[1:]):
        if before.out_features != after.in_features:
            raise ValueError(
                f"manual backprop: a Linear with {before.out_features} outputs feeds one with {after.in_features} inputs"
            )
    if unflatten_shape is not None and math.prod(unflatten_shape) != linears[-1].out_features:
        raise ValueError(
            f"manual backprop: nn.Unflatten(1, {unflatten_shape}) needs {math.prod(unflatten_shape)} features, "
            f"the last Linear gives {linears[-1].out_features}"
        )
    return linears, flatten, unflatten_shape


def _loss_kind(loss_fn) -> str:
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):
        if loss_fn.weight is not None or loss_fn.pos_weight is not None or loss_fn.reduction != "mean":
            raise ValueError("manual backprop needs nn.BCEWithLogitsLoss() without weight or pos_weight, reduction 'mean'")
        return "bce"
    if isinstance(loss_fn, nn.MSELoss):
        if loss_fn.reduction != "mean":
            raise ValueError("manual backprop needs nn.MSELoss() with reduction 'mean'")
        return "mse"
    raise ValueError(f"manual backprop needs {SUPPORTED}; got the loss {loss_fn!r}. Use backprop='autograd'")
