"""benchmarks/graphed_training.py: ae.train's steps and refusals on the CPU; graph replay on CUDA."""

import math
import warnings

import pytest
import torch
from torch import nn

from ae_utils import TrainingDiverged, mlp_autoencoder, train
from benchmarks.graphed_training import train_graphed

BCE = nn.BCEWithLogitsLoss


def small_images(n: int = 70) -> torch.Tensor:
    return torch.rand(n, 28, 28, generator=torch.Generator().manual_seed(0))


def fresh(device="cpu", **adam):
    torch.manual_seed(0)
    model = mlp_autoencoder(logits=True).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, **adam)


def graphed(x, batch_size=16, epochs=2, loss_fn=None, device="cpu", **kwargs):
    """train_graphed from the seeded start, shuffled by a generator seeded 1: (model, history)."""
    model, optimizer = fresh(device, **({"capturable": True} if device == "cuda" else {}))
    generator = torch.Generator().manual_seed(1)
    loss_fn = BCE() if loss_fn is None else loss_fn
    history = train_graphed(
        model, x, optimizer, loss_fn, epochs=epochs, batch_size=batch_size, generator=generator, **kwargs
    )
    return model, history


def written_out(x, batch_size, epochs=2):
    """The same run as ``graphed`` with the answer's four steps written out here: (model, losses)."""
    model, optimizer = fresh()
    generator, losses = torch.Generator().manual_seed(1), []
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=generator).split(batch_size):
            loss = BCE()(model(x[batch]), x[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return model, losses


@pytest.mark.parametrize("batch_size", [16, 70, 100])  # 70 = 4 x 16 + 6: a smaller last batch; one batch; larger
def test_cpu_path_takes_the_four_steps_written_out(batch_size):
    model, history = graphed(small_images(), batch_size)
    reference, losses = written_out(small_images(), batch_size)
    assert history.losses == losses and history.steps == 2 * math.ceil(70 / batch_size)
    assert history.evaluations == [] and not history.interrupted
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.equal(p, q)


def test_full_batches_go_through_one_fixed_buffer_as_a_cuda_graph_needs():
    model, optimizer = fresh()
    inputs = []  # kept alive, so that distinct tensors stay distinct objects
    model.register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
    train_graphed(model, small_images(), optimizer, BCE(), epochs=2, batch_size=16)
    steps = inputs[1:]  # after the check of one sample at the door
    full = [x for x in steps if len(x) == 16]
    assert len(steps) == 10 and len(full) == 8 and all(x is full[0] for x in full)
    assert all(x is not full[0] for x in steps if len(x) == 6)  # each epoch's last 6 images: eagerly


def test_cpu_path_takes_exactly_the_steps_of_ae_train():
    a, opt_a = fresh()
    eager = train(a, small_images(), opt_a, BCE(), epochs=2, batch_size=16, generator=torch.Generator().manual_seed(1))
    b, history = graphed(small_images(), 16)
    assert history.losses == eager.losses
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_loss_fn_defaults_to_mse_as_in_ae_train():
    model, optimizer = fresh()
    generator = torch.Generator().manual_seed(1)
    history = train_graphed(model, small_images(32), optimizer, epochs=1, batch_size=16, generator=generator)
    assert history.losses == graphed(small_images(32), epochs=1, loss_fn=nn.MSELoss())[1].losses
    assert history.losses != graphed(small_images(32), epochs=1)[1].losses  # BCE gives others


def test_after_epoch_numbers_are_recorded_with_their_step():
    results = iter([0.5, None, 0.0, torch.tensor(0.25)])  # None records nothing; a 0-d tensor is a number
    _, history = graphed(small_images(32), epochs=4, after_epoch=lambda: next(results))
    assert history.evaluations == [0.5, 0.0, 0.25] and history.evaluated_at == [2, 6, 8]


def test_after_epoch_runs_in_eval_mode_without_gradients_and_training_resumes():
    seen, modes = [], []

    def loss_fn(out, x):
        modes.append(model.training)
        return BCE()(out, x)

    model, optimizer = fresh()
    model.eval()  # left in eval mode by the learner: every step still trains in training mode
    after_epoch = lambda: seen.append((model.training, torch.is_grad_enabled()))  # noqa: E731
    train_graphed(model, small_images(32), optimizer, loss_fn, epochs=2, batch_size=16, after_epoch=after_epoch)
    assert seen == [(False, False)] * 2 and modes == [True] * 4 and model.training


@pytest.mark.parametrize(
    "result, error, message",
    [
        (math.nan, ValueError, "after_epoch's result must be a finite number, got nan"),
        (math.inf, ValueError, "after_epoch's result must be a finite number, got inf"),
        (torch.tensor(math.nan), ValueError, "after_epoch's result must be a finite number, got nan"),
        (True, TypeError, r"after_epoch's result must be a number, got True \(bool\)"),
        ("0.5", TypeError, "after_epoch's result must be a number, got '0.5'"),
    ],
)
def test_a_nan_or_bool_evaluation_is_refused_as_ae_train_refuses_it(result, error, message):
    # Before, train_graphed recorded float(evaluate()): NaN as NaN and True as 1.0.
    with pytest.raises(error, match=message):
        graphed(small_images(32), after_epoch=lambda: result)


def test_an_after_epoch_that_raises_leaves_the_model_training():
    def after_epoch():
        raise RuntimeError("no held-out data")

    model, optimizer = fresh()
    with pytest.raises(RuntimeError, match="no held-out data"):
        train_graphed(model, small_images(), optimizer, BCE(), epochs=1, batch_size=16, after_epoch=after_epoch)
    assert model.training


def test_divergence_before_any_step_names_step_1():
    model, optimizer = fresh()
    with torch.no_grad():
        model[0][1].weight.fill_(math.nan)
    with pytest.raises(TrainingDiverged, match="NaN before any step") as caught:
        train_graphed(model, small_images(32), optimizer, BCE(), epochs=1, batch_size=16)
    assert caught.value.step == 1 and caught.value.history.steps == 0


def test_divergence_in_the_second_epoch_keeps_the_steps_before_it():
    calls = []

    def loss_fn(out, x):  # finite for six steps (five in the first epoch), then infinite
        calls.append(1)
        return BCE()(out, x) * (math.inf if len(calls) == 7 else 1.0)

    with pytest.raises(TrainingDiverged, match="diverged at step 7: the loss became infinite") as caught:
        graphed(small_images(), loss_fn=loss_fn)
    assert caught.value.step == 7 and caught.value.history.losses == written_out(small_images(), 16)[1][:6]


def test_ctrl_c_keeps_the_steps_taken():
    calls = []

    def loss_fn(out, x):
        calls.append(1)
        if len(calls) == 8:  # in the second epoch, after its first two steps
            raise KeyboardInterrupt
        return BCE()(out, x)

    _, history = graphed(small_images(), epochs=3, loss_fn=loss_fn)
    assert history.interrupted and history.losses == written_out(small_images(), 16)[1][:7]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 0}, ValueError, "epochs must be a whole number of at least 1, got 0"),
        ({"batch_size": 0}, ValueError, "batch_size must be a whole number of at least 1, got 0"),
        ({"batch_size": 2.0}, TypeError, "batch_size must be a whole number, got 2.0"),
        ({"after_epoch": 0.5}, TypeError, "after_epoch must be a function of no arguments"),
        ({"loss_fn": BCE(reduction="sum")}, ValueError, "reduction='sum'"),
    ],
)
def test_bad_arguments_are_refused_before_any_step(kwargs, error, message):
    model, optimizer = fresh()
    before = [p.clone() for p in model.parameters()]
    arguments = {"loss_fn": BCE(), "epochs": 1, "batch_size": 8, **kwargs}
    with pytest.raises(error, match=message):
        train_graphed(model, small_images(8), optimizer, **arguments)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


def test_data_the_model_cannot_take_is_said_plainly():
    model, optimizer = fresh()
    with pytest.raises(ValueError, match=r"output has shape \(1, 28, 28\) but its input has shape \(1, 1, 28, 28\)"):
        train_graphed(model, small_images().unsqueeze(1)[:16], optimizer, BCE(), epochs=1, batch_size=16)
    with pytest.raises(ValueError, match="the model cannot take data"):
        train_graphed(model, small_images().double(), optimizer, BCE(), epochs=1, batch_size=16)
    x = small_images()
    x[3, 4, 5] = math.nan
    with pytest.raises(ValueError, match="data holds 1 NaN or infinite values"):
        train_graphed(model, x, optimizer, BCE(), epochs=1, batch_size=16)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        train_graphed(lambda x: x, small_images(), optimizer, BCE(), epochs=1, batch_size=16)
    assert model.training


def test_an_output_whose_shape_changes_after_the_first_batch_is_refused():
    model, optimizer = fresh()
    calls = []

    def forward_hook(module, inputs, output):
        calls.append(1)
        return output[:, :27] if len(calls) == 3 else output  # the trial forward, step 1, then step 2

    model.register_forward_hook(forward_hook)
    with pytest.raises(ValueError, match=r"output has shape \(16, 27, 28\)"):
        train_graphed(model, small_images(), optimizer, BCE(), epochs=1, batch_size=16)


def test_training_with_gradients_switched_off_is_refused():
    model, optimizer = fresh()
    with torch.no_grad(), pytest.raises(RuntimeError, match=r"gradients are switched off here \(torch.no_grad\(\)\)"):
        train_graphed(model, small_images(), optimizer, BCE(), epochs=1, batch_size=16)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU to put the data on another device")
def test_model_on_another_device_than_the_data():
    model, optimizer = fresh()
    with pytest.raises(ValueError, match="model.to"):
        train_graphed(model, small_images(8).cuda(), optimizer, BCE(), epochs=1, batch_size=4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: checks graph replay against eager steps")
def test_cuda_graph_replay_matches_eager_training():
    # 200 = 6 x 32 + 8: three warm-up steps, the capture, then replays; the last 8 images eagerly
    a, opt_a = fresh("cuda", capturable=True)
    x = small_images(200).cuda()
    eager = train(a, x, opt_a, BCE(), epochs=2, batch_size=32, generator=torch.Generator().manual_seed(1))
    b, history = graphed(x, 32, device="cuda", after_epoch=lambda: 0.5)
    assert history.losses == pytest.approx(eager.losses, rel=1e-4) and history.evaluated_at == [7, 14]
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, rtol=1e-3, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: checks the capture warns of nothing")
def test_cuda_capture_and_the_partial_batch_warn_of_nothing():
    # After the capture, each epoch's last 8 images take an eager step on the current stream. A captured
    # loss kept with its graph kept the parameters' AccumulateGrad nodes on the capture stream alive, and
    # that step warned "The AccumulateGrad node's stream does not match ...".
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, history = graphed(small_images(200).cuda(), 32, device="cuda")
    assert history.steps == 14 and all(math.isfinite(v) for v in history.losses)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_needs_a_capturable_optimizer():
    model, optimizer = fresh("cuda")
    with pytest.raises(ValueError, match="capturable=True"):
        train_graphed(model, small_images(8).cuda(), optimizer, BCE(), epochs=1, batch_size=4)
