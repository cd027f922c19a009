"""Argument checks shared by every module of ``ae_utils``: each names the argument, says what
was wrong and how to fix it. No notebook teaches this module; learners meet its messages when a
call is wrong (notebook 01, section 3, shows the course's own checker, ``check_setup``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import torch


def shown(value, width: int = 60) -> str:
    """``value`` as an error message quotes it: its ``repr``, cut to ``width`` characters; an
    array or tensor by its type and shape (its repr would fill the message)."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def whole_number(name: str, value, minimum: int = 1, why: str = "") -> int:
    """``value`` as an ``int``, if it is a whole number (a Python or NumPy integer, not a bool)
    of at least ``minimum``; else a ``TypeError`` (not a whole number) or ``ValueError`` (too small)
    that names ``name`` (and says ``why`` the minimum, when given)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number, got {shown(value)} ({type(value).__name__})")
    if value < minimum:
        reason = f": {why}" if why else ""
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value}{reason}")
    return int(value)


def tensor(name: str, value, what: str = "a torch.Tensor") -> torch.Tensor:
    """``value``, if it is a ``torch.Tensor``; else a ``TypeError``: ``{name} must be {what}, got
    <type>``, and for a NumPy array or a list how to convert it (``torch.from_numpy``,
    ``torch.tensor``)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        how = f"; convert it with torch.from_numpy({name}).float()"
    elif isinstance(value, (list, tuple)):
        how = f"; convert it with torch.tensor({name}, dtype=torch.float32)"
    else:
        how = ""
    raise TypeError(f"{name} must be {what}, got {type(value).__name__}{how}")


def function(name: str, value, what: str):
    """``value``, if it can be called; else a ``TypeError``: ``{name} must be {what}, got <type>``."""
    if not callable(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def number(name: str, value, why: str = "") -> float:
    """``value`` as a ``float``, if it is a finite real number (a Python or NumPy number, or a tensor
    or array holding one, not a bool); else a ``TypeError`` (not a number) or ``ValueError`` (NaN
    or infinite, with ``why`` that matters, when given) that names ``name``."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:  # a loss or floor kept as a tensor
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {shown(value)} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        reason = f": {why}" if why else ""
        raise ValueError(f"{name} must be a finite number, got {value}{reason}")
    return value


def flag(name: str, value) -> bool:
    """``value`` as a ``bool``, if it is ``True`` or ``False`` (NumPy's too); else a ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {shown(value)} ({type(value).__name__})")
    return bool(value)


def text(name: str, value) -> str:
    """``value``, if it is a string; else a ``TypeError`` naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value


def items(name: str, value, what: str) -> list:
    """``value`` as a list, if it is a list, tuple or other iterable of items (not a string, a dict or
    a single number); else a ``TypeError``: ``{name} must be {what}, got <type>``."""
    if not isinstance(value, (str, bytes, Mapping)):
        try:
            return list(value)
        except TypeError:  # not iterable (None, a number, a 0-d tensor)
            pass
    raise TypeError(f"{name} must be {what}, got {type(value).__name__}")


def training_data(data: torch.Tensor, name: str = "data") -> None:
    """A floating-point tensor shaped (samples, features...), at least one sample, all finite."""
    tensor(name, data)
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
    tensor(name, x, "a torch.Tensor of shape (samples, features)")
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


def first_forward(model, x: torch.Tensor, name: str = "x", optimizer=None) -> torch.Tensor:
    """``model(x)`` for the first batch, its shape checked (``reconstruction_shape``). When the call
    fails because ``x`` does not fit the model's first parameter (an ``nn.Module``'s, else the
    ``optimizer``'s first tensor) in dtype, device or number of features, a ``ValueError`` says
    which and how to fix it, raised from torch's error. Only the first batch goes through here,
    so later steps pay nothing for it."""
    try:
        output = model(x)
    except RuntimeError as error:
        if isinstance(model, torch.nn.Module):
            parameter = next(model.parameters(), None)
        else:
            held = [p for group in getattr(optimizer, "param_groups", []) for p in group["params"]]
            parameter = held[0] if held else None
        problem = None if parameter is None else _mismatch(x, parameter, name, str(error))
        if problem is None:
            raise
        raise ValueError(problem) from error
    reconstruction_shape(output, x)
    return output


# How a tensor is converted to each floating-point dtype, as a learner would write it.
_CONVERSIONS = {torch.float32: "float()", torch.float64: "double()", torch.float16: "half()"}


def _mismatch(x: torch.Tensor, parameter: torch.Tensor, name: str, error: str) -> str | None:
    """What does not fit between the data ``x`` and the model's first ``parameter``, going by the
    RuntimeError's text ``error``; None when it is none of dtype, device or feature count."""
    what = (
        f"the model cannot take {name}: {name} has dtype {x.dtype} and shape {tuple(x.shape)}, "
        f"the model's first parameter dtype {parameter.dtype} and shape {tuple(parameter.shape)}"
    )
    if x.dtype != parameter.dtype and "type" in error.lower():
        to_model = _CONVERSIONS.get(parameter.dtype, f"to({parameter.dtype})")
        to_data = _CONVERSIONS.get(x.dtype, f"to({x.dtype})")
        return (
            f"{what}. Give both one dtype: convert the data with {name}.{to_model}, "
            f"or the model with model.{to_data} (torch: {error})"
        )
    if x.device != parameter.device and "device" in error.lower():
        return (
            f"{what}, but {name} is on {x.device} and the model on {parameter.device}. Move one to the other: "
            f"{name}.to({str(parameter.device)!r}) or model.to({str(x.device)!r}) (torch: {error})"
        )
    if any(word in error.lower() for word in ("shape", "size", "channels")):
        features = math.prod(x.shape[1:])
        return (
            f"{what}: {features} values per sample that the model was not built for. Build the model for "
            f"{features} features (for example nn.Linear({features}, ...)), or give it data with the number "
            f"of features it was built for (torch: {error})"
        )
    return None
