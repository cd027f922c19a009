"""The probe list of issue 11, kept for re-testing: one row per bad or unusual call of the public
API that once gave a silent wrong result or an error that said nothing, with the error it must
raise now and a fragment of its message. ``make test`` re-runs it with the rest of the suite.

A row may repeat a test of its module's own file: this file is the list itself, read top to
bottom, so that a class of mistake that comes back is seen here at once. Each row is
``(id, call, error, fragment)``: ``call()`` must raise ``error`` with ``fragment`` in its
message; a row whose ``error`` is None must return, ``fragment`` in ``str`` of what it returns.
Tensors are tiny: the whole list runs in a few seconds. ``check_setup`` is left out (its own
tests cover it)."""

from __future__ import annotations

import copy
import math
import pickle

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

import ae_utils as ae
from ae_utils.plots import image_grid
from ae_utils.training import train_linear_ae
from ae_utils.widgets import frame_player, picture_slider

# The wrong Python types of the probe, by name.
WRONG = {"None": None, "ndarray": np.ones((2, 2), dtype=np.float32), "str": "abc", "list": [1.0, 2.0], "float": 2.5}
ALL = list(WRONG)


def x2() -> torch.Tensor:
    return torch.rand(4, 2, generator=torch.Generator().manual_seed(0))


def linear() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(2, 2)


def sgd(params, lr: float = 0.1) -> torch.optim.SGD:
    return torch.optim.SGD(params, lr=lr)


def train_call() -> dict:
    model = linear()
    return {"model": model, "data": x2(), "optimizer": sgd(model.parameters()), "epochs": 2}


def evaluated_train_call() -> dict:
    return {**train_call(), "epochs": 1, "after_epoch": lambda: 1.0}


def figure():
    return plt.subplots()[0]


def pca_call() -> dict:
    mean, components, _ = ae.pca(x2(), 1)
    return {"x": x2(), "mean": mean, "components": components}


def wrong(function, call, argument: str, kinds: list[str], error: type, fragment: str) -> list[tuple]:
    """One row per kind of wrong value of ``argument`` in ``function(**call())``."""
    return [
        (
            f"{function.__name__}({argument}={kind})",
            lambda value=WRONG[kind]: function(**{**call(), argument: value}),
            error,
            fragment,
        )
        for kind in kinds
    ]


def training_diverged_round_trip() -> str:
    error = ae.TrainingDiverged("Training diverged at step 3", step=3, lr=0.5, history=ae.History(losses=[1.0, 2.0]))
    clones = [pickle.loads(pickle.dumps(error)), copy.deepcopy(error)]
    assert all((str(c), c.step, c.lr, c.history.losses) == (str(error), 3, 0.5, [1.0, 2.0]) for c in clones)
    return "round trip kept message, step, lr and history"


def optimizer_holding_the_data():
    data = x2()
    weight = torch.randn(2, 2, requires_grad=True)
    return ae.train(lambda x: x @ weight, data, sgd([data[:, 0], data[:, 1], weight]), epochs=1)


def a_learning_rate_given_as_text():
    model = linear()
    optimizer = sgd(model.parameters())
    optimizer.param_groups[0]["lr"] = "0.1"  # torch checks the rate only when the optimizer is built
    return ae.train(model, x2(), optimizer, epochs=1)


def train_without_gradients():
    with torch.no_grad():
        return ae.train(**train_call())


def shape_changing_model():
    """A model whose output loses a row after its first call: the loss would broadcast."""
    calls = []

    def model(x):
        calls.append(1)
        return layer(x) if len(calls) <= 2 else layer(x)[:1]  # the trial forward, then the first step

    layer = linear()
    return ae.train(model, x2(), sgd(layer.parameters()), epochs=2, batch_size=2)


def a_non_orthonormal_basis():
    call = pca_call()
    return ae.pca_reconstruct(call["x"], call["mean"], call["components"] * 2)


def raw_model_float64_data():
    params = ae.raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    return ae.train(ae.raw_linear_ae_forward(params), x2().double(), sgd(params.values()), epochs=1)


images = torch.rand(3, 28, 28, generator=torch.Generator().manual_seed(0))
unsqueezed = lambda z: z.unsqueeze(1)  # noqa: E731  (N, 28, 28) -> (N, 1, 28, 28): a perfect model, one axis off
channelled = nn.Sequential(nn.Flatten(), nn.Linear(784, 784), nn.Unflatten(1, (1, 28, 28)))
huge = torch.randn(20, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1e200

# fmt: off
PROBES = [
    # ---- the mistakes this course exists to catch (ae.train's optimizer)
    ("train: optimizer of another model", lambda: ae.train(linear(), x2(), sgd(nn.Linear(2, 2).parameters()), epochs=1),
     ValueError, "holds none of the model's parameters"),
    ("train: optimizer with an empty group", lambda: ae.train(linear(), x2(), sgd([{"params": []}]), epochs=1),
     ValueError, "holds no tensors at all"),
    ("train: optimizer holding the data", optimizer_holding_the_data, ValueError, "holds the training data"),
    # ---- silent broadcasting
    ("evaluate: (N,28,28) data, (N,1,28,28) output", lambda: ae.evaluate(unsqueezed, images),
     ValueError, "output has shape (3, 1, 28, 28) but its input has shape (3, 28, 28)"),
    ("train: (N,28,28) data, (N,1,28,28) output",
     lambda: ae.train(channelled, images, sgd(channelled.parameters()), epochs=1),
     ValueError, "output has shape (3, 1, 28, 28) but its input has shape (3, 28, 28)"),
    ("evaluate: reduction='sum'",
     lambda: ae.evaluate(linear(), x2(), nn.MSELoss(reduction="sum")), ValueError, "reduction='sum'"),
    ("evaluate: reduction='none'",
     lambda: ae.evaluate(linear(), x2(), nn.MSELoss(reduction="none")), ValueError, "reduction='none'"),
    # ---- faults that mislead
    ("train: after_epoch returns nan", lambda: ae.train(**{**evaluated_train_call(), "after_epoch": lambda: math.nan}),
     ValueError, "after_epoch's result must be a finite number, got nan"),
    ("train: after_epoch returns True", lambda: ae.train(**{**evaluated_train_call(), "after_epoch": lambda: True}),
     TypeError, "after_epoch's result must be a number, got True"),
    ("train: the (images, labels) pair", lambda: ae.train(**{**train_call(), "data": (x2(), torch.arange(4))}),
     TypeError, "an autoencoder trains on the images alone, so pass them"),
    ("train: under torch.no_grad()", train_without_gradients, RuntimeError, "gradients are switched off here"),
    ("train: a one-pass iterator", lambda: ae.train(**{**train_call(), "data": iter([x2(), x2()])}),
     TypeError, "one-pass iterator"),
    ("train: an output shape that changes after the first batch", shape_changing_model,
     ValueError, "output has shape (1, 2) but its input has shape (2, 2)"),
    ("train: data of magnitude 1e20", lambda: ae.train(**{**train_call(), "data": x2() * 1e20}),
     ae.TrainingDiverged, "the data's values are too large"),
    ("TrainingDiverged: pickle and deepcopy", training_diverged_round_trip, None, "round trip kept"),
    ("train: a learning rate given as text", a_learning_rate_given_as_text,
     TypeError, "the learning rate must be a number"),
    ("mlp_autoencoder(code=0)", lambda: ae.mlp_autoencoder(code=0), ValueError, "code"),
    ("mlp_autoencoder(2): a code size given as logits", lambda: ae.mlp_autoencoder(2),
     TypeError, "logits must be True or False, got 2"),
    ("ImageDataset: label 7.7", lambda: ae.ImageDataset((images * 255).round() / 255, torch.tensor([7.7, 1.0, 2.0])),
     ValueError, "7.7"),
    ("image_grid: int64 pixels 0..255", lambda: image_grid([(images * 255).long()]), TypeError, "/ 255"),
    # ---- meaningless theory calls
    ("max_stable_lr: rounds=0", lambda: ae.max_stable_lr(x2(), 1, rounds=0),
     ValueError, "rounds must be a whole number of at least 1, got 0"),
    ("eckart_young_floor: data of magnitude 1e200", lambda: ae.eckart_young_floor(huge, 1),
     ValueError, "beyond float64's range; rescale the data"),
    ("pca_reconstruct: components not orthonormal", a_non_orthonormal_basis,
     ValueError, "components must be orthonormal rows"),
    # ---- the set-up report
    ("str(SetupReport()) of an empty report", lambda: str(ae.SetupReport()), None, ""),
    # ---- widgets: no silent rounding
    ("train_linear_ae: steps=2.7", lambda: train_linear_ae(x2(), 0.01, 2.7, 0),
     TypeError, "steps must be a whole number, got 2.7"),
    ("train_linear_ae: steps=True", lambda: train_linear_ae(x2(), 0.01, True, 0),
     TypeError, "steps must be a whole number, got True"),
    ("train_linear_ae: seed=1.9", lambda: train_linear_ae(x2(), 0.01, 5, 1.9),
     TypeError, "seed must be a whole number, got 1.9"),
    # ---- data that does not fit the model: not torch's raw error
    ("train: float64 data, float32 model", lambda: ae.train(**{**train_call(), "data": x2().double()}),
     ValueError, "data has dtype torch.float64 and shape (4, 2), the model's first parameter dtype torch.float32"),
    ("train: float64 data, raw float32 tensors", raw_model_float64_data,
     ValueError, "convert the data with data.float()"),
    ("train: 3 features, a model built for 2", lambda: ae.train(**{**train_call(), "data": torch.rand(4, 3)}),
     ValueError, "3 values per sample that the model was not built for"),
    ("evaluate: float64 data, float32 model", lambda: ae.evaluate(linear(), x2().double()),
     ValueError, "or the model with model.double()"),
    ("evaluate: 3 features, a model built for 2", lambda: ae.evaluate(linear(), torch.rand(4, 3)),
     ValueError, "Build the model for 3 features"),
    # ---- wrong Python types name the argument, what they got and what is needed
    *wrong(ae.evaluate, lambda: {"model": linear(), "x": x2()}, "model", ALL, TypeError,
           "model must be an nn.Module or a function x -> reconstruction, got "),
    *wrong(ae.evaluate, lambda: {"model": linear(), "x": x2()}, "x", ALL, TypeError,
           "x must be a tensor of samples, shaped (samples, ...), got "),
    *wrong(ae.evaluate, lambda: {"model": linear(), "x": x2()}, "loss_fn", ALL[1:], TypeError,
           "loss_fn must be a function (reconstruction, x) -> loss"),
    *wrong(ae.evaluate, lambda: {"model": linear(), "x": x2()}, "batch_size", ALL, TypeError,
           "batch_size must be a whole number, got "),
    *wrong(ae.train, train_call, "model", ALL, TypeError,
           "model must be an nn.Module or a function x -> reconstruction, got "),
    *wrong(ae.train, train_call, "data", ["None", "ndarray", "str", "float"], TypeError,
           "data must be a tensor or an iterable of batches (a DataLoader), got "),
    *wrong(ae.train, train_call, "data", ["list"], TypeError, "got float: data must be a tensor of samples"),
    *wrong(ae.train, train_call, "optimizer", ALL, TypeError, "optimizer must be a torch.optim.Optimizer, got "),
    *wrong(ae.train, train_call, "loss_fn", ALL[1:], TypeError,
           "loss_fn must be a function (reconstruction, x) -> loss"),
    *wrong(ae.train, evaluated_train_call, "epochs", ALL[1:], TypeError, "epochs must be a whole number, got "),
    *wrong(ae.train, train_call, "batch_size", ALL[1:], TypeError, "batch_size must be a whole number, got "),
    *wrong(ae.train, train_call, "generator", ALL[1:], TypeError, "generator must be a torch.Generator or None, got "),
    *wrong(ae.train, evaluated_train_call, "after_epoch", ALL[1:], TypeError,
           "after_epoch must be a function of no arguments"),
    *wrong(frame_player, lambda: {"frames": [figure()]}, "frames", ["None", "ndarray", "str", "float"], TypeError,
           "frames must be a list of Matplotlib figures or outputs of figure_output, got "),
    *wrong(frame_player, lambda: {"frames": [figure()]}, "frames", ["list"], TypeError,
           "frames[0] must be a Matplotlib figure or an output of figure_output, got float"),
    *wrong(frame_player, lambda: {"frames": [figure()]}, "description", ["None", "ndarray", "list", "float"], TypeError,
           "description must be a string, got "),
    *wrong(frame_player, lambda: {"frames": [figure()]}, "interval_ms", ALL, TypeError,
           "interval_ms must be a whole number, got "),
    *wrong(picture_slider, lambda: {"frames": {1: figure()}}, "frames", ALL, TypeError,
           "frames must be a dict label -> picture"),
    *wrong(picture_slider, lambda: {"frames": {1: figure()}}, "description", ["None", "ndarray", "list", "float"],
           TypeError, "description must be a string, got "),
    *wrong(ae.plot_losses, lambda: {"runs": [1.0, 0.5]}, "runs", ["None", "str", "float"], TypeError,
           "runs must be a History, a list of losses, a list of those, or a dict label -> run, got "),
    *wrong(ae.plot_losses, lambda: {"runs": [1.0, 0.5]}, "labels", ["str", "float"], TypeError,
           "labels must be a list of labels, one per run"),
    *wrong(ae.plot_losses, lambda: {"runs": [1.0, 0.5]}, "labels", ["ndarray", "list"], ValueError,
           "got 2 labels for 1 runs"),
    *wrong(ae.plot_losses, lambda: {"runs": [1.0, 0.5]}, "floor", ["ndarray", "str", "list"], TypeError,
           "floor must be a number, got "),
    *wrong(ae.plot_losses, lambda: {"runs": [1.0, 0.5]}, "log", ALL, TypeError, "log must be True or False, got "),
    *wrong(ae.plot_losses, lambda: {"runs": [1.0, 0.5]}, "ax", ALL[1:], TypeError, "ax must be a Matplotlib Axes"),
    *wrong(ae.plot_losses, lambda: {"runs": [1.0, 0.5]}, "title", ["ndarray", "list", "float"], TypeError,
           "title must be a string, got "),
    *wrong(ae.plot_losses, lambda: {"runs": [1.0, 0.5]}, "ylabel", ["None", "ndarray", "list", "float"], TypeError,
           "ylabel must be a string, got "),
    *wrong(image_grid, lambda: {"rows": [images]}, "rows", ["None", "str", "float"], TypeError,
           "rows must be a list of image tensors, one per row, got "),
    *wrong(image_grid, lambda: {"rows": [images]}, "rows", ["list"], TypeError,
           "rows[0] must be a tensor of images shaped (n, H, W) or (n, 1, H, W), got float"),
    *wrong(image_grid, lambda: {"rows": [images]}, "rows", ["ndarray"], ValueError,
           "rows[0] must hold images shaped (n, H, W) or (n, 1, H, W), got shape (2,)"),
    *wrong(image_grid, lambda: {"rows": [images]}, "row_labels", ["str", "float"], TypeError,
           "row_labels must be a list of labels, one per row, got "),
    *wrong(image_grid, lambda: {"rows": [images]}, "title", ["ndarray", "list", "float"], TypeError,
           "title must be a string, got "),
    *wrong(image_grid, lambda: {"rows": [images]}, "scale", ["None", "ndarray", "str", "list"], TypeError,
           "scale must be a number, got "),
    *wrong(ae.load_images, lambda: {"name": "mnist", "split": "test"}, "name", ["None", "ndarray", "list", "float"],
           ValueError, "name must be a string, got "),
    *wrong(ae.load_images, lambda: {"name": "mnist", "split": "test"}, "split", ["None", "ndarray", "list", "float"],
           ValueError, "split must be a string, got "),
    *wrong(ae.load_images, lambda: {"name": "mnist", "split": "test"}, "root", ["ndarray", "list", "float"], TypeError,
           "root must be a folder path (a str or pathlib.Path) or None, got "),
    *wrong(ae.load_images, lambda: {"name": "mnist", "split": "test"}, "download", ALL, TypeError,
           "download must be True or False, got "),
    *wrong(ae.pca_reconstruct, pca_call, "x", ALL, TypeError, "x must be a torch.Tensor, got "),
    *wrong(ae.pca_reconstruct, pca_call, "mean", ALL, TypeError, "mean must be a torch.Tensor, got "),
    *wrong(ae.pca_reconstruct, pca_call, "components", ALL, TypeError, "components must be a torch.Tensor, got "),
    *wrong(ae.raw_linear_ae_forward, lambda: {"params": ae.raw_linear_ae(2)}, "params", ALL, TypeError,
           "params must be the dict that raw_linear_ae() returns, got "),
]
# fmt: on


@pytest.mark.parametrize("probe, call, error, fragment", PROBES, ids=[row[0] for row in PROBES])
def test_the_bad_call_is_refused_saying_what_is_wrong(probe, call, error, fragment):
    if error is None:
        assert fragment in str(call())
        return
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error and fragment in str(caught.value)


def test_every_probe_has_its_own_id():
    ids = [row[0] for row in PROBES]
    assert len(ids) == len(set(ids)) and len(ids) > 180  # 185: principal_angles and rayleigh_ritz left for notebook 04
