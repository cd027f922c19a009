"""graphed_training.train_graphed: the same steps as ae.train on the CPU; graph replay on CUDA."""

import math
import warnings

import pytest
import torch
from torch import nn

from ae_utils import TrainingDiverged, mlp_autoencoder, train
from ae_utils.fast.graphed_training import train_graphed


def small_images(n: int = 70) -> torch.Tensor:
    return torch.rand(n, 28, 28, generator=torch.Generator().manual_seed(0))


def fresh(device="cpu", **adam):
    torch.manual_seed(0)
    model = mlp_autoencoder(logits=True).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, **adam)


def both_ways(x, batch_size, device="cpu", **adam):
    """The same two epochs from the same start by ae.train and by train_graphed: (models, histories)."""
    (a, opt_a), (b, opt_b) = fresh(device, **adam), fresh(device, **adam)
    kwargs = dict(epochs=2, batch_size=batch_size)  # each run with its own, equally seeded generator
    eager = train(
        a, x, opt_a, nn.BCEWithLogitsLoss(), progress=False, generator=torch.Generator().manual_seed(1), **kwargs
    )
    graphed = train_graphed(b, x, opt_b, nn.BCEWithLogitsLoss(), generator=torch.Generator().manual_seed(1), **kwargs)
    return (a, b), (eager, graphed)


def test_cpu_path_takes_exactly_the_steps_of_train():
    (a, b), (eager, graphed) = both_ways(small_images(), 16)
    assert graphed.losses == eager.losses  # 70 = 4 x 16 + 6: the partial batch included
    assert len(graphed.losses) == 2 * 5
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_evaluates_after_each_epoch():
    x = small_images(32)
    model, optimizer = fresh()
    history = train_graphed(model, x, optimizer, nn.BCEWithLogitsLoss(), epochs=3, batch_size=16, evaluate=lambda: 0.5)
    assert history.evaluations == [0.5] * 3 and history.evaluated_at == [2, 4, 6]


def test_divergence_names_the_step():
    x = small_images(32)
    model, optimizer = fresh()
    with torch.no_grad():
        model[0][1].weight.fill_(math.nan)
    with pytest.raises(TrainingDiverged, match="step 1: the loss became NaN"):
        train_graphed(model, x, optimizer, nn.BCEWithLogitsLoss(), epochs=1, batch_size=16)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0, "batch_size": 8}, "epochs must be a whole number of at least 1, got 0"),
        ({"epochs": 1, "batch_size": 0}, "batch_size must be a whole number of at least 1, got 0"),
    ],
)
def test_bad_counts(kwargs, message):
    model, optimizer = fresh()
    with pytest.raises(ValueError, match=message):
        train_graphed(model, small_images(8), optimizer, nn.BCEWithLogitsLoss(), **kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU to put the data on another device")
def test_model_on_another_device_than_the_data():
    model, optimizer = fresh()
    with pytest.raises(ValueError, match="model.to"):
        train_graphed(model, small_images(8).cuda(), optimizer, nn.BCEWithLogitsLoss(), epochs=1, batch_size=4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: checks graph replay against eager steps")
def test_cuda_graph_replay_matches_eager_training():
    _, (eager, graphed) = both_ways(small_images(200).cuda(), 32, "cuda", capturable=True)
    assert graphed.losses == pytest.approx(eager.losses, rel=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: checks the capture warns of nothing")
def test_cuda_capture_and_the_partial_batch_warn_of_nothing():
    # 200 = 6 x 32 + 8: after the capture, each epoch's last 8 images take an eager step on the current
    # stream. A captured loss kept with its graph kept the parameters' AccumulateGrad nodes on the capture
    # stream alive, and that step warned "The AccumulateGrad node's stream does not match ...".
    model, optimizer = fresh("cuda", capturable=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = train_graphed(
            model, small_images(200).cuda(), optimizer, nn.BCEWithLogitsLoss(), epochs=2, batch_size=32
        )
    assert history.steps == 14 and all(math.isfinite(v) for v in history.losses)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_needs_a_capturable_optimizer():
    model, optimizer = fresh("cuda")
    with pytest.raises(ValueError, match="capturable=True"):
        train_graphed(model, small_images(8).cuda(), optimizer, nn.BCEWithLogitsLoss(), epochs=1, batch_size=4)


def test_ctrl_c_keeps_the_steps_taken():
    model, optimizer = fresh()
    calls = []

    def loss_fn(out, x):
        calls.append(1)
        if len(calls) == 8:  # in the second epoch, after its first two steps
            raise KeyboardInterrupt
        return nn.functional.binary_cross_entropy_with_logits(out, x)

    history = train_graphed(model, small_images(), optimizer, loss_fn, epochs=3, batch_size=16)
    assert history.interrupted and history.steps == 7  # five in the first epoch, two in the second
    assert all(math.isfinite(v) for v in history.losses)


def test_an_evaluate_that_raises_leaves_the_model_training():
    model, optimizer = fresh()

    def evaluate():
        raise RuntimeError("no held-out data")

    with pytest.raises(RuntimeError, match="no held-out data"):
        train_graphed(
            model, small_images(), optimizer, nn.BCEWithLogitsLoss(), epochs=1, batch_size=16, evaluate=evaluate
        )
    assert model.training


def test_shapes_that_would_broadcast_and_summed_losses_are_refused():
    model, optimizer = fresh()
    with pytest.raises(ValueError, match=r"output has shape \(16, 28, 28\) but its input has shape \(16, 1, 28, 28\)"):
        train_graphed(model, small_images().unsqueeze(1), optimizer, nn.BCEWithLogitsLoss(), epochs=1, batch_size=16)
    with pytest.raises(ValueError, match="reduction='sum'"):
        train_graphed(model, small_images(), optimizer, nn.BCEWithLogitsLoss(reduction="sum"), epochs=1, batch_size=16)
