"""Argument checks shared by every module of ``ae_utils``, each rule written once: each names the argument, says
what was wrong and how to fix it. No notebook teaches this module; learners meet its messages when a call is wrong."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import torch

EXAMPLE = "for example torch.optim.SGD(model.parameters(), lr=0.01)"

# Number agreement in message templates: {them} reads "it" said of one item (_ONE), "them" of several (_SEVERAL).
_WORDS = ("is", "was", "does", "s", "it", "them", "its", "entry", "a_parameter")
_ONE = ("is", "was", "does", "s", "it", "it", "its", "entry", "a parameter")
_SEVERAL = ("are", "were", "do", "", "they", "them", "their", "entries", "parameters")


def listed(items: list) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(item) for item in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def worded(template: str, items: list, **fields) -> str:
    """``template`` said of ``items``: ``{names}`` lists them and ``{is}``, ``{it}``, ... agree in number."""
    words = dict(zip(_WORDS, _SEVERAL if len(items) > 1 else _ONE))
    return template.format(names=listed(items), **words, **fields)


def described(tensors: list[torch.Tensor]) -> str:
    """What tensors are, in one phrase: 'tensors of shape (100,), slices of a tensor of shape (100, 2)'."""
    shapes = []
    for t in tensors:
        whole = "" if t._base is None else f", a slice of a tensor of shape {tuple(t._base.shape)}"
        shapes.append(f"shape {tuple(t.shape)}{whole}")
    if len(tensors) > 1 and len(set(shapes)) == 1:
        return "tensors of " + shapes[0].replace(", a slice of", ", slices of")
    return listed([f"a tensor of {shape}" for shape in shapes])


def shown(value, width: int = 60) -> str:
    """``value`` as a message quotes it: its repr cut to ``width`` characters; an array by its shape."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def whole_number(name: str, value, minimum: int = 1, why: str = "") -> int:
    """``value`` as an int, if it is a whole number (not a bool) of at least ``minimum`` (``why``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number, got {shown(value)} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value}{f': {why}' if why else ''}")
    return int(value)


def tensor(name: str, value, what: str = "a torch.Tensor") -> torch.Tensor:
    """``value``, if it is a tensor; else a TypeError that says how to convert an array or a list."""
    if isinstance(value, torch.Tensor):
        return value
    how = ""
    if isinstance(value, np.ndarray):
        how = f"; convert it with torch.from_numpy({name}).float()"
    elif isinstance(value, (list, tuple)):
        how = f"; convert it with torch.tensor({name}, dtype=torch.float32)"
    raise TypeError(f"{name} must be {what}, got {type(value).__name__}{how}")


def function(name: str, value, what: str):
    """``value``, if it can be called; else a TypeError: ``{name} must be {what}, got <type>``."""
    if not callable(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def number(name: str, value, why: str = "", finite: bool = True) -> float:
    """``value`` as a float, if it is a real number (not a bool; a 0-d tensor or array too), finite if ``finite``."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {shown(value)} ({type(value).__name__})")
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {float(value)}{f': {why}' if why else ''}")
    return float(value)


def flag(name: str, value) -> bool:
    """``value`` as a bool, if it is True or False (NumPy's too); else a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {shown(value)} ({type(value).__name__})")
    return bool(value)


def instance(name: str, value, kind, what: str):
    """``value``, if it is an instance of ``kind`` (a type or a tuple); else a TypeError: ``{name} must be {what}``."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def items(name: str, value, what: str) -> list:
    """``value`` as a list, if it is an iterable of items (not a string, a dict or one number)."""
    if not isinstance(value, (str, bytes, Mapping)):
        try:
            return list(value)
        except TypeError:  # not iterable (None, a number, a 0-d tensor)
            pass
    raise TypeError(f"{name} must be {what}, got {type(value).__name__}")


def loss(name: str, value, tensor_only: bool = False) -> float:
    """The loss ``name`` returned, as a float (NaN kept): a one-number tensor, or a number unless ``tensor_only``."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    if not tensor_only and isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    got = f"a tensor of {value.numel()} numbers" if isinstance(value, torch.Tensor) else type(value).__name__
    if tensor_only:
        raise TypeError(f"{name} must return the loss as a single-number tensor, got {got}: return it, not loss.item()")
    raise TypeError(f"{name} must return the loss as a single-number tensor (or a float), got {got}")


def training_data(data: torch.Tensor, name: str = "data", what: str = "a torch.Tensor") -> None:
    """A floating-point tensor shaped (samples, features...), at least one sample, all finite."""
    tensor(name, data, what)
    if not data.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {data.dtype}; convert it with {name}.float()"
        )
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(
            f"{name} must have shape (samples, features...), got {tuple(data.shape)}; "
            "a single sample x needs x.unsqueeze(0)"
        )
    # One cheap sum clears finite data; only a non-finite sum (bad values, or an overflow) needs the count.
    if not torch.isfinite(data.sum()):
        bad = int((~torch.isfinite(data)).sum())
        if bad:
            raise ValueError(f"{name} holds {bad} NaN or infinite values; clean or drop them first")


def learning_rate_problem(lr) -> str | None:
    """What is wrong with a learning rate (not positive, or not finite), or None; a TypeError if no number."""
    lr = number("the learning rate", lr, finite=False)
    if math.isfinite(lr) and lr > 0:
        return None
    return (
        f"the learning rate must be a positive number, got lr={lr}: steps of that size never move the "
        "parameters downhill. Use a positive learning rate, for example lr=0.01."
    )


def held(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The tensors an optimizer holds, group after group."""
    return [p for group in opt.param_groups for p in group["params"]]


def optimizer_problems(opt, skip=()) -> list[str]:
    """An optimizer's problems, one a line: learning rates that cannot train, entries that do not require
    grad (data, not parameters; ids in ``skip`` left out). A TypeError if ``opt`` is no optimizer."""
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(opt).__name__}; {EXAMPLE}")
    rates = [learning_rate_problem(group["lr"]) for group in opt.param_groups if "lr" in group]
    problems = list(dict.fromkeys(problem for problem in rates if problem))
    data = [i for i, p in enumerate(held(opt)) if not p.requires_grad and id(p) not in skip]
    if data:
        template = (
            "the optimizer's {entry} {names} ({what}) {does} not require grad: {it} {is} data, not {a_parameter}, "
            "and stepping {them} does nothing. Hand the optimizer the weights and biases."
        )
        problems.append(worded(template, data, what=described([held(opt)[i] for i in data])))
    return problems


def optimizer(opt, parameters=None, data: torch.Tensor | None = None) -> None:
    """An optimizer that can train: no ``optimizer_problems``, some tensors, none of them the training
    ``data`` (or a view of it), and some of the model's ``parameters`` when given."""
    problems, tensors = optimizer_problems(opt), held(opt)
    if not tensors:
        raise ValueError(f"the optimizer holds no tensors at all, so a step changes nothing; create it with {EXAMPLE}")
    memory = None if data is None else (data.untyped_storage().data_ptr(), data.device)
    for p in tensors:
        if (p.untyped_storage().data_ptr(), p.device) == memory:  # the data, or a view of it
            raise ValueError(
                f"the optimizer holds the training data (a tensor of shape {tuple(p.shape)}): each step would "
                "change the data, not the model. Pass the model's parameters, for example model.parameters()"
            )
    if problems:
        raise ValueError(problems[0])
    ids = {id(p) for p in parameters or ()}
    if ids and not any(id(p) in ids for p in tensors):
        raise ValueError(f"the optimizer holds none of the model's parameters, so it cannot train the model; {EXAMPLE}")


def data_matrix(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """``x`` as float64 on the CPU, if it is ``training_data`` shaped (samples, features) with two samples or more."""
    tensor(name, x, "a torch.Tensor of shape (samples, features)")
    if x.ndim != 2:
        raise ValueError(
            f"{name} must have shape (samples, features), got {tuple(x.shape)}; flatten images first, for example "
            "x.flatten(1)"
        )
    if x.shape[0] < 2:
        raise ValueError(f"{name} has {x.shape[0]} sample(s); a covariance needs at least two samples")
    training_data(x, name)
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
    """A model's output for the batch ``x`` must be a tensor of ``x``'s shape (else the loss broadcasts)."""
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"the model must return a tensor, got {type(output).__name__}")
    if output.shape != x.shape:
        raise ValueError(
            f"the model's output has shape {tuple(output.shape)} but its input has shape "
            f"{tuple(x.shape)}: an autoencoder's decoder must map back to the input's shape"
        )


def first_forward(model, x: torch.Tensor, name: str = "x", optimizer=None) -> torch.Tensor:
    """``model(x)`` for the first batch, its shape checked; when ``x`` does not fit the model's first parameter
    (else the ``optimizer``'s first tensor), a ValueError says how, raised from torch's error."""
    try:
        output = model(x)
    except RuntimeError as error:
        if isinstance(model, torch.nn.Module):
            tensors = list(model.parameters())
        else:  # the callers have checked the optimizer, if any
            tensors = [] if optimizer is None else held(optimizer)
        problem = _mismatch(x, tensors[0], name, str(error)) if tensors else None
        if problem is None:
            raise
        raise ValueError(problem) from error
    reconstruction_shape(output, x)
    return output


def _mismatch(x: torch.Tensor, parameter: torch.Tensor, name: str, error: str) -> str | None:
    """What does not fit between ``x`` and ``parameter`` (dtype, device, features) by torch's ``error``, or None."""
    what = (
        f"the model cannot take {name}: {name} has dtype {x.dtype} and shape {tuple(x.shape)}, "
        f"the model's first parameter dtype {parameter.dtype} and shape {tuple(parameter.shape)}"
    )
    if x.dtype != parameter.dtype and "type" in error.lower():
        conversions = {torch.float32: "float()", torch.float64: "double()", torch.float16: "half()"}
        to_model = conversions.get(parameter.dtype, f"to({parameter.dtype})")
        to_data = conversions.get(x.dtype, f"to({x.dtype})")
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
