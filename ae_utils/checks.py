"""Argument checks shared by every module of ``ae_utils``: each names the argument, says what
was wrong and how to fix it. No notebook teaches this module; learners meet its messages when a
call is wrong (notebook 01, section 3, shows the course's own checker, ``check_setup``)."""

from __future__ import annotations

import math

import numpy as np
import torch


def whole_number(name: str, value, minimum: int = 1, why: str = "") -> int:
    """``value`` as an ``int``, if it is a whole number (a Python or NumPy integer, not a bool)
    of at least ``minimum``; else a ``TypeError`` (not a whole number) or ``ValueError`` (too small)
    that names ``name`` (and says ``why`` the minimum, when given)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})")
    if value < minimum:
        reason = f": {why}" if why else ""
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value}{reason}")
    return int(value)


def training_data(data: torch.Tensor, name: str = "data") -> None:
    """A floating-point tensor shaped (samples, features...), at least one sample, all finite."""
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(data).__name__}; convert it with torch.as_tensor(...).float()"
        )
    if not data.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {data.dtype}; convert it with {name}.float()"
        )
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(
            f"{name} must have shape (samples, features...), got {tuple(data.shape)}; "
            "a single sample x needs x.unsqueeze(0)"
        )
    # A NaN or infinity makes the sum non-finite, so one cheap pass clears finite data; only a
    # non-finite sum (bad values, or finite ones so large that they overflow) needs the exact count.
    if not torch.isfinite(data.sum()):
        bad = int((~torch.isfinite(data)).sum())
        if bad:
            raise ValueError(f"{name} holds {bad} NaN or infinite values; clean or drop them before training")


def optimizer(opt, parameters=None, data: torch.Tensor | None = None) -> None:
    """A ``torch.optim.Optimizer`` with positive learning rates, holding only tensors that require
    grad, none of them ``data``; and, when ``parameters`` (the model's) are given, holding some of
    them."""
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(opt).__name__}; "
            "for example torch.optim.SGD(model.parameters(), lr=0.01)"
        )
    held = [p for group in opt.param_groups for p in group["params"]]
    if not held:
        raise ValueError(
            "the optimizer holds no tensors at all, so a step changes nothing; "
            "create it with the model's parameters, for example torch.optim.SGD(model.parameters(), lr=0.01)"
        )
    for group in opt.param_groups:
        lr = group.get("lr")
        if lr is not None:
            lr = float(lr)
            if not math.isfinite(lr) or lr <= 0:
                raise ValueError(
                    f"the learning rate must be a positive number, got lr={lr}; "
                    "with lr <= 0 the optimizer never moves the parameters (or moves them uphill)"
                )
    data_memory = None if data is None else (data.untyped_storage().data_ptr(), data.device)
    for p in held:
        if data_memory is not None and (p.untyped_storage().data_ptr(), p.device) == data_memory:  # data or a view
            raise ValueError(
                f"the optimizer holds the training data (a tensor of shape {tuple(p.shape)}): each step would "
                "change the data, not the model. Pass the model's parameters, for example model.parameters()"
            )
        if not p.requires_grad:
            raise ValueError(
                f"the optimizer holds a tensor of shape {tuple(p.shape)} that does not require grad: "
                "it is data, not a parameter, and the optimizer can never change it. "
                "Create parameters with requires_grad=True (or use nn.Parameter) and pass those, "
                "for example model.parameters()"
            )
    if parameters is not None:
        ids = {id(p) for p in parameters}
        if ids and not any(id(p) in ids for p in held):
            raise ValueError(
                "the optimizer holds none of the model's parameters, so its steps cannot change the model; "
                "create it with them, for example torch.optim.SGD(model.parameters(), lr=0.01)"
            )


def data_matrix(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """``x`` as float64 on the CPU, if it is a finite floating-point tensor of shape (samples, features)
    with at least two samples (a covariance needs two)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (samples, features), got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(
            f"{name} must have shape (samples, features), got {tuple(x.shape)}; "
            "flatten images first, for example x.flatten(1)"
        )
    if x.shape[0] < 2:
        raise ValueError(f"{name} has {x.shape[0]} sample(s); a covariance needs at least two samples")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}; use {name}.float()")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite values; clean or drop them first")
    return x.detach().to(device="cpu", dtype=torch.float64)


def bottleneck_width(k, dim: int) -> int:
    """``k`` as an int, if it is a whole number from 1 to the data's dimension ``dim``."""
    k = whole_number("k (the number of bottleneck units)", k, why="a bottleneck needs at least one unit")
    if k > dim:
        raise ValueError(
            f"k={k} is larger than the data's dimension D={dim}: there are only {dim} directions to keep. "
            "(With k >= D a linear autoencoder can learn the identity, so its floor is 0.)"
        )
    return k


def reconstruction_shape(output, x: torch.Tensor) -> None:
    """A model's output for the batch ``x`` must be a tensor of ``x``'s shape: another shape would
    broadcast silently in the loss."""
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"the model must return a tensor, got {type(output).__name__}")
    if output.shape != x.shape:
        raise ValueError(
            f"the model's output has shape {tuple(output.shape)} but its input has shape "
            f"{tuple(x.shape)}: an autoencoder's decoder must map back to the input's shape"
        )
