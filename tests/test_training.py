"""training.train and History: step/epoch bookkeeping, data sources, divergence, Ctrl-C,
the progress bar, and clear errors for broken set-ups."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ae_utils import History, TrainingDiverged, checks, raw_linear_ae, raw_linear_ae_forward, train, training


@pytest.fixture
def data() -> torch.Tensor:
    return torch.randn(10, 3, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 3))


def sgd(module_or_params, lr=0.1, **kwargs) -> torch.optim.SGD:
    params = module_or_params.parameters() if isinstance(module_or_params, nn.Module) else module_or_params
    return torch.optim.SGD(params, lr=lr, **kwargs)


class Recorder(nn.Module):
    """A linear autoencoder that keeps every batch it is given."""

    def __init__(self, features: int = 3):
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(features, features)
        self.batches: list[torch.Tensor] = []

    def forward(self, x):
        self.batches.append(x.detach().clone())
        return self.layer(x)


# ---------------------------------------------------------------- History


def test_history_steps_and_final_loss():
    history = History(losses=[3.0, 2.0, 1.5])
    assert history.steps == 3
    assert history.final_loss == 1.5


def test_empty_history_final_loss_is_nan():
    assert History().steps == 0
    assert math.isnan(History().final_loss)


def test_history_repr_mentions_steps_evaluations_and_interruption():
    text = repr(History(losses=[2.0, 1.25], evaluations=[0.5], interrupted=True))
    assert text == "History(2 steps, final loss 1.25, 1 evaluations, last 0.5, interrupted)"


# ---------------------------------------------------------------- what train computes


def test_losses_match_a_hand_written_sgd_loop(data, model):
    reference = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 3))
    reference.load_state_dict(model.state_dict())
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    expected = []
    for _ in range(5):
        reference_optimizer.zero_grad()
        loss = ((reference(data) - data) ** 2).mean()
        expected.append(loss.item())
        loss.backward()
        reference_optimizer.step()

    history = train(model, data, sgd(model), steps=5, progress=False)
    assert history.losses == pytest.approx(expected, rel=1e-6)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q)


def test_loss_decreases_with_module(data, model):
    history = train(model, data, sgd(model), steps=50, progress=False)
    assert history.final_loss < 0.8 * history.losses[0]


def test_plain_forward_function_over_raw_tensors_trains(data):
    params = raw_linear_ae(3, 2, generator=torch.Generator().manual_seed(0))
    history = train(raw_linear_ae_forward(params), data, sgd(params.values(), lr=0.01), steps=50, progress=False)
    assert history.steps == 50
    assert history.final_loss < 0.8 * history.losses[0]


def test_custom_loss_function_is_used(data, model):
    with torch.no_grad():
        expected = float((model(data) - data).abs().mean())
    history = train(model, data, sgd(model), nn.L1Loss(), steps=1, progress=False)
    assert history.losses[0] == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------- steps and epochs


def test_steps_mode_takes_exactly_that_many_steps_across_passes(data):
    recorder = Recorder()
    history = train(recorder, data, sgd(recorder), steps=5, batch_size=4, progress=False)
    assert history.steps == 5
    assert [len(b) for b in recorder.batches] == [4, 4, 2, 4, 4]


def test_epochs_mode_takes_the_batches_of_each_shuffled_order(data):
    recorder = Recorder()
    history = train(
        recorder,
        data,
        sgd(recorder),
        epochs=2,
        batch_size=4,
        generator=torch.Generator().manual_seed(5),
        progress=False,
    )
    assert history.steps == 6  # ceil(10 / 4) batches per epoch
    generator = torch.Generator().manual_seed(5)
    expected = [
        data[order[i : i + 4]]
        for order in (torch.randperm(10, generator=generator) for _ in range(2))
        for i in (0, 4, 8)
    ]
    assert len(recorder.batches) == 6
    for seen, wanted in zip(recorder.batches, expected):
        assert torch.equal(seen, wanted)


def test_epochs_mode_shuffled_visits_every_sample_once_per_epoch_in_new_order(data):
    recorder = Recorder()
    generator = torch.Generator().manual_seed(1)
    train(recorder, data, sgd(recorder), epochs=2, batch_size=4, generator=generator, progress=False)
    first, second = torch.cat(recorder.batches[:3]), torch.cat(recorder.batches[3:])
    for epoch in (first, second):
        assert sorted(map(tuple, epoch.tolist())) == sorted(map(tuple, data.tolist()))
    assert not torch.equal(first, data)
    assert not torch.equal(first, second)


def test_shuffled_order_repeats_with_same_generator_seed(data):
    orders = []
    for _ in range(2):
        recorder = Recorder()
        train(
            recorder,
            data,
            sgd(recorder),
            epochs=1,
            batch_size=3,
            generator=torch.Generator().manual_seed(7),
            progress=False,
        )
        orders.append(torch.cat(recorder.batches))
    assert torch.equal(orders[0], orders[1])


def test_batch_size_at_least_data_size_means_full_batch(data):
    recorder = Recorder()
    history = train(recorder, data, sgd(recorder), epochs=3, batch_size=50, progress=False)
    assert history.steps == 3
    assert all(torch.equal(b, data) for b in recorder.batches)


def test_dataloader_of_pairs_feeds_only_inputs(data):
    labels = torch.arange(len(data))
    loader = DataLoader(TensorDataset(data, labels), batch_size=4, shuffle=False)
    recorder = Recorder()
    history = train(recorder, loader, sgd(recorder), epochs=2, progress=False)
    assert history.steps == 6
    assert torch.equal(torch.cat(recorder.batches[:3]), data)


def test_dataloader_in_steps_mode(data):
    loader = DataLoader(TensorDataset(data), batch_size=4)
    recorder = Recorder()
    history = train(recorder, loader, sgd(recorder), steps=4, progress=False)
    assert history.steps == 4


def test_evaluate_called_once_per_epoch_without_grad_in_eval_mode(data, model):
    calls = []

    def evaluate():
        calls.append((torch.is_grad_enabled(), model.training))
        return float(len(calls))

    history = train(model, data, sgd(model), epochs=3, batch_size=4, evaluate=evaluate, progress=False)
    assert calls == [(False, False)] * 3
    assert history.evaluations == [1.0, 2.0, 3.0]
    assert history.steps == 9


def test_model_back_in_train_mode_for_each_epoch(data):
    modes = []

    class ModeRecorder(Recorder):
        def forward(self, x):
            modes.append(self.training)
            return super().forward(x)

    model = ModeRecorder()
    train(model, data, sgd(model), epochs=2, evaluate=lambda: 0.0, progress=False)
    assert modes == [True, True]


# ---------------------------------------------------------------- divergence


def nan_at_step(n: int, lr: float = 0.1):
    """A forward function whose reconstruction turns NaN at step ``n`` (1-based)."""
    weight = torch.ones(1, requires_grad=True)
    calls = []

    def forward(x):
        calls.append(None)
        out = x * weight
        return out * math.nan if len(calls) == n else out

    return forward, torch.optim.SGD([weight], lr=lr)


def test_divergence_raises_naming_step_and_learning_rate(data):
    forward, optimizer = nan_at_step(3, lr=0.25)
    message = r"diverged at step 3: the loss became NaN with learning rate 0\.25"
    with pytest.raises(TrainingDiverged, match=message) as info:
        train(forward, data, optimizer, steps=10, progress=False)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert (err.step, err.lr) == (3, 0.25)
    assert err.history.steps == 2
    assert all(math.isfinite(v) for v in err.history.losses)
    assert "stab" not in str(err) and "limit" not in str(err)


def test_divergence_message_quotes_stability_limit(data):
    forward, optimizer = nan_at_step(2, lr=0.25)
    with pytest.raises(TrainingDiverged, match=r"step 2.*learning rate 0\.25.*limit of 0\.0123"):
        train(forward, data, optimizer, steps=10, progress=False, stability_limit=0.0123)


def test_infinite_loss_is_reported_as_infinite(data):
    weight = torch.ones(1, requires_grad=True)
    with pytest.raises(TrainingDiverged, match="became infinite") as info:
        train(lambda x: x * weight * math.inf, data, torch.optim.SGD([weight], lr=0.1), steps=3, progress=False)
    assert info.value.step == 1
    assert info.value.history.losses == []


def test_real_divergence_at_large_learning_rate_keeps_finite_history(data, model):
    with pytest.raises(TrainingDiverged) as info:
        train(model, data * 10, sgd(model, lr=5.0), steps=500, progress=False)
    err = info.value
    assert err.lr == 5.0
    assert 1 < err.step <= 500
    assert len(err.history.losses) == err.step - 1
    assert all(math.isfinite(v) for v in err.history.losses)
    assert f"step {err.step}" in str(err)


# ---------------------------------------------------------------- Ctrl-C


def test_keyboard_interrupt_returns_history_so_far(data, capsys):
    weight = torch.ones(1, requires_grad=True)
    calls = []

    def forward(x):
        calls.append(None)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return x * weight

    history = train(forward, data, torch.optim.SGD([weight], lr=0.01), steps=10, progress=False)
    assert history.interrupted
    assert history.steps == 3
    assert "Interrupted after 3 steps" in capsys.readouterr().out


def test_finished_run_is_not_marked_interrupted(data, model):
    assert not train(model, data, sgd(model), steps=2, progress=False).interrupted


# ---------------------------------------------------------------- progress bar


def test_progress_false_prints_nothing(data, model, capfd):
    train(model, data, sgd(model), steps=20, progress=False)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_progress_true_draws_a_tqdm_bar_on_stderr(data, model, capfd):
    train(model, data, sgd(model), steps=20, progress=True)
    err = capfd.readouterr().err
    assert re.search(r"0/20 .*step", err)


def test_progress_bar_appears_automatically_from_threshold(data, model, capfd, monkeypatch):
    monkeypatch.setattr(training, "AUTO_PROGRESS_STEPS", 8)
    train(model, data, sgd(model), steps=7, progress=None)
    assert capfd.readouterr().err == ""
    train(model, data, sgd(model), steps=8, progress=None)
    assert "0/8" in capfd.readouterr().err


def test_auto_progress_counts_epoch_steps(data, model, capfd, monkeypatch):
    monkeypatch.setattr(training, "AUTO_PROGRESS_STEPS", 6)
    train(model, data, sgd(model), epochs=2, batch_size=4, progress=None)  # 2 epochs x 3 batches
    assert "0/6" in capfd.readouterr().err


def test_default_auto_threshold_hides_bar_for_short_runs(data, model, capfd):
    assert training.AUTO_PROGRESS_STEPS > 100
    train(model, data, sgd(model), steps=100)
    assert capfd.readouterr().err == ""


# ---------------------------------------------------------------- bad input


def test_rejects_output_shape_different_from_input(data):
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"output has shape \(10, 2\) but its input has shape \(10, 3\)"):
        train(model, data, sgd(model), steps=1, progress=False)


def test_rejects_model_returning_non_tensor(data):
    weight = torch.ones(1, requires_grad=True)
    with pytest.raises(TypeError, match="must return a tensor, got tuple"):
        train(lambda x: (x * weight,), data, torch.optim.SGD([weight], lr=0.1), steps=1, progress=False)


def test_rejects_non_callable_model(data, model):
    with pytest.raises(TypeError, match="model must be an nn.Module or a function"):
        train("model", data, sgd(model), steps=1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_rejects_non_finite_data(data, model, bad):
    data[2, 1] = bad
    with pytest.raises(ValueError, match="1 NaN or infinite values"):
        train(model, data, sgd(model), steps=1)


def test_finite_data_whose_sum_overflows_is_accepted(model):
    huge = torch.full((10, 3), 3e38)  # every value finite, their sum infinite in float32
    assert not torch.isfinite(huge.sum())
    checks.training_data(huge)  # no error
    huge[0, 0] = math.nan
    with pytest.raises(ValueError, match="1 NaN or infinite values"):
        checks.training_data(huge)


def test_rejects_integer_data(model):
    with pytest.raises(TypeError, match="floating-point tensor, got dtype torch.int64.*float"):
        train(model, torch.ones(4, 3, dtype=torch.int64), sgd(model), steps=1)


def test_rejects_one_dimensional_data(model):
    with pytest.raises(ValueError, match=r"shape \(samples, features...\), got \(3,\).*unsqueeze"):
        train(model, torch.ones(3), sgd(model), steps=1)


def test_rejects_empty_tensor_data(model):
    with pytest.raises(ValueError, match=r"got \(0, 3\)"):
        train(model, torch.ones(0, 3), sgd(model), steps=1)


def test_rejects_data_that_is_not_iterable(model):
    with pytest.raises(TypeError, match="tensor or an iterable of batches.*got int"):
        train(model, 5, sgd(model), steps=1)


def test_rejects_batch_that_is_not_a_tensor(model):
    with pytest.raises(TypeError, match="each batch must be a tensor.*got str"):
        train(model, ["abc"], sgd(model), steps=1, progress=False)


def test_rejects_empty_dataloader(model):
    loader = DataLoader(TensorDataset(torch.ones(0, 3)), batch_size=4)
    with pytest.raises(ValueError, match="no batch at all.*empty"):
        train(model, loader, sgd(model), epochs=1, progress=False)


def test_rejects_batch_size_with_dataloader(data, model):
    loader = DataLoader(TensorDataset(data), batch_size=4)
    with pytest.raises(ValueError, match="batch_size applies to tensor data"):
        train(model, loader, sgd(model), epochs=1, batch_size=4)


def test_rejects_zero_batch_size(data, model):
    with pytest.raises(ValueError, match="batch_size must be a whole number of at least 1, got 0"):
        train(model, data, sgd(model), epochs=1, batch_size=0)


def test_rejects_zero_learning_rate(data, model):
    with pytest.raises(ValueError, match="learning rate must be a positive number, got lr=0.0"):
        train(model, data, sgd(model, lr=0.0), steps=1)


def test_torch_sgd_itself_rejects_negative_learning_rate(model):
    with pytest.raises(ValueError, match="Invalid learning rate"):
        sgd(model, lr=-0.1)


@pytest.mark.parametrize("lr", [-0.1, math.nan, math.inf])
def test_rejects_negative_or_non_finite_learning_rate_set_after_construction(data, model, lr):
    optimizer = sgd(model)
    optimizer.param_groups[0]["lr"] = lr
    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        train(model, data, optimizer, steps=1)


def test_rejects_optimizer_holding_tensor_without_grad(data, model):
    frozen = torch.zeros(3, 4)  # requires_grad=False: data, not a parameter
    optimizer = torch.optim.SGD([*model.parameters(), frozen], lr=0.1)
    with pytest.raises(ValueError, match=r"tensor of shape \(3, 4\) that does not require grad"):
        train(model, data, optimizer, steps=1)


def test_rejects_non_optimizer(data, model):
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got list"):
        train(model, data, list(model.parameters()), steps=1)


@pytest.mark.parametrize("counts", [{"steps": 0}, {"epochs": 0}, {"steps": -3}])
def test_rejects_zero_or_negative_counts(data, model, counts):
    ((name, value),) = counts.items()
    with pytest.raises(ValueError, match=f"{name} must be a whole number of at least 1, got {value}"):
        train(model, data, sgd(model), **counts)


@pytest.mark.parametrize("counts", [{"steps": 2.0}, {"epochs": True}])
def test_rejects_non_integer_counts(data, model, counts):
    with pytest.raises(TypeError, match="must be a whole number"):
        train(model, data, sgd(model), **counts)


@pytest.mark.parametrize("counts", [{}, {"steps": 2, "epochs": 2}])
def test_rejects_steps_and_epochs_both_or_neither(data, model, counts):
    with pytest.raises(ValueError, match="exactly one of steps= .* or epochs="):
        train(model, data, sgd(model), **counts)


def test_rejects_loss_that_needs_no_grad(data):
    weight = torch.ones(1, requires_grad=True)
    with pytest.raises(ValueError, match="loss does not depend on any tensor that requires grad"):
        train(lambda x: x * weight.detach(), data, torch.optim.SGD([weight], lr=0.1), steps=1, progress=False)


def test_rejects_integer_batches_from_dataloader(model):
    loader = DataLoader(TensorDataset(torch.ones(8, 3, dtype=torch.int64)), batch_size=4)
    with pytest.raises(TypeError, match="floating-point"):
        train(model, loader, sgd(model), epochs=1, progress=False)


def test_nan_in_dataloader_batch_is_reported_as_bad_data(data, model):
    data[5, 0] = math.nan
    loader = DataLoader(TensorDataset(data), batch_size=4)
    with pytest.raises(ValueError, match="NaN or infinite"):
        train(model, loader, sgd(model), epochs=1, progress=False)


def test_evaluate_needs_epochs(model, data):
    with pytest.raises(ValueError, match="evaluate is called after each epoch"):
        train(model, data, sgd(model), steps=3, evaluate=lambda: 0.0, progress=False)


def test_module_is_back_in_training_mode_after_an_evaluated_run(model, data):
    modes = []
    train(
        model,
        data,
        sgd(model),
        epochs=2,
        batch_size=5,
        evaluate=lambda: modes.append(model.training) or 0.0,
        progress=False,
    )
    assert modes == [False, False]  # evaluated in eval mode
    assert model.training  # and handed back ready to train


def test_evaluate_every_runs_on_schedule_in_steps_mode(model, data):
    calls = []
    history = train(
        model, data, sgd(model), steps=10, evaluate=lambda: calls.append(1) or 1.0, evaluate_every=4, progress=False
    )
    assert history.evaluated_at == [4, 8] and len(calls) == 2


def test_stop_below_ends_training_at_the_first_good_evaluation(model, data):
    values = iter([0.9, 0.5, 0.1, 0.05])
    history = train(
        model,
        data,
        sgd(model),
        epochs=50,
        batch_size=5,
        evaluate=lambda: next(values),
        evaluate_every=3,
        stop_below=0.2,
        progress=False,
    )
    assert history.evaluations == [0.9, 0.5, 0.1]
    assert history.evaluated_at == [3, 6, 9] and history.steps == 9


def test_stop_below_after_each_epoch(model, data):
    values = iter([0.9, 0.1, 0.05])
    history = train(
        model, data, sgd(model), epochs=5, batch_size=5, evaluate=lambda: next(values), stop_below=0.2, progress=False
    )
    assert history.evaluations == [0.9, 0.1] and history.steps == 4


@pytest.mark.parametrize("kwargs", [{"evaluate_every": 2}, {"stop_below": 0.1}])
def test_schedule_options_need_an_evaluate_function(model, data, kwargs):
    with pytest.raises(ValueError, match="need an evaluate= function"):
        train(model, data, sgd(model), epochs=1, progress=False, **kwargs)


# ---------------------------------------------------------------- faults keep their state and say what is wrong


def test_training_diverged_survives_pickle_and_deepcopy():
    import copy
    import pickle

    error = TrainingDiverged("Training diverged at step 3", step=3, lr=0.5, history=History(losses=[1.0, 2.0]))
    for clone in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(clone) is TrainingDiverged and str(clone) == str(error)
        assert (clone.step, clone.lr, clone.history.losses) == (3, 0.5, [1.0, 2.0])


def test_nan_parameters_at_step_one_are_blamed_not_the_learning_rate(data, model):
    with torch.no_grad():
        model[0].weight[0, 0] = math.nan
    with pytest.raises(
        TrainingDiverged, match=r"step 1: the loss became NaN because the parameters hold NaN"
    ) as caught:
        train(model, data, sgd(model), steps=3)
    assert "(2, 3)" in str(caught.value) and "smaller learning rate will not help" in str(caught.value)


def test_divergence_after_steps_still_advises_a_smaller_learning_rate(data, model):
    with pytest.raises(TrainingDiverged, match=r"Try a smaller learning rate, for example 100") as caught:
        train(model, data * 100, sgd(model, lr=1000.0), steps=50)
    assert caught.value.step > 1 and caught.value.history.steps == caught.value.step - 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"stop_below": math.nan}, "stop_below must be a finite number, got nan"),
        ({"stop_below": -math.inf}, "stop_below must be a finite number, got -inf"),
        ({"stability_limit": -0.5}, "stability_limit must be a positive learning rate"),
        ({"stability_limit": 0.0}, "stability_limit must be a positive learning rate"),
    ],
)
def test_settings_that_cannot_work_are_refused(data, model, kwargs, message):
    evaluate = {"evaluate": lambda: 1.0, "evaluate_every": 1} if "stop_below" in kwargs else {}
    with pytest.raises(ValueError, match=message):
        train(model, data, sgd(model), steps=2, **evaluate, **kwargs)


def test_an_evaluate_that_raises_leaves_the_model_training_and_the_history_attached(data, model):
    def evaluate():
        raise RuntimeError("the held-out file is gone")

    with pytest.raises(RuntimeError, match="held-out file is gone") as caught:
        train(model, data, sgd(model), epochs=1, batch_size=5, evaluate=evaluate)
    assert model.training
    assert caught.value.history.steps == 2


def test_a_nan_evaluation_is_an_error_not_a_record(data, model):
    with pytest.raises(ValueError, match=r"evaluate returned nan after step 2") as caught:
        train(model, data, sgd(model), epochs=3, batch_size=5, evaluate=lambda: math.nan)
    assert caught.value.history.evaluations == [] and caught.value.history.steps == 2


def test_any_other_error_keeps_the_history(data, model):
    calls = []

    def loss_fn(reconstruction, x):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("out of memory")
        return nn.functional.mse_loss(reconstruction, x)

    with pytest.raises(RuntimeError, match="out of memory") as caught:
        train(model, data, sgd(model), loss_fn, steps=10)
    assert caught.value.history.steps == 3 and len(caught.value.history.losses) == 3


# ---------------------------------------------------------------- wrong types name the argument (issue 11)

WRONG = {"None": None, "ndarray": np.ones((2, 2), dtype=np.float32), "str": "abc", "list": [1.0, 2.0], "float": 2.5}


@pytest.mark.parametrize(
    "argument, kinds, message",
    [
        ("model", WRONG, "model must be an nn.Module or a function x -> reconstruction, got "),
        ("data", ["None", "ndarray", "str", "float"], "data must be a tensor or an iterable of batches"),
        ("optimizer", WRONG, "optimizer must be a torch.optim.Optimizer, got "),
        ("loss_fn", ["ndarray", "str", "list", "float"], r"loss_fn must be a function \(reconstruction, x\) -> loss"),
        ("steps", ["ndarray", "str", "list", "float"], "steps must be a whole number, got "),
        ("batch_size", ["ndarray", "str", "list", "float"], "batch_size must be a whole number, got "),
        ("generator", ["ndarray", "str", "list", "float"], "generator must be a torch.Generator or None, got "),
        ("progress", ["ndarray", "str", "list", "float"], "progress must be True or False, got "),
        ("stability_limit", ["ndarray", "str", "list"], "stability_limit must be a number, got "),
    ],
)
def test_wrong_types_name_the_argument(data, model, argument, kinds, message):
    for kind in kinds:
        call = {"model": model, "data": data, "optimizer": sgd(model), "steps": 2, argument: WRONG[kind]}
        with pytest.raises(TypeError, match=f"{message}.*{type(WRONG[kind]).__name__}"):
            train(**call)


@pytest.mark.parametrize(
    "argument, message",
    [
        ("evaluate", "evaluate must be a function of no arguments that returns a number, got str"),
        ("stop_below", "stop_below must be a number, got 'abc'"),
        ("epochs", "epochs must be a whole number, got 'abc'"),
    ],
)
def test_wrong_types_of_the_evaluation_settings_name_the_argument(data, model, argument, message):
    settings = {"epochs": 1, "evaluate": lambda: 1.0, argument: "abc"}
    with pytest.raises(TypeError, match=message):
        train(model, data, sgd(model), **settings)


def test_a_numpy_array_is_refused_with_the_conversion_to_use(model):
    with pytest.raises(TypeError, match=r"got ndarray; convert it with torch.from_numpy\(data\).float\(\)"):
        train(model, np.zeros((4, 3), dtype=np.float32), sgd(model), steps=1)


def test_a_list_of_numbers_is_refused_as_batches_naming_data(model):
    with pytest.raises(TypeError, match="each batch must be a tensor .* got float: data must be a tensor of samples"):
        train(model, [1.0, 2.0], sgd(model), steps=1)


def test_a_limit_or_target_kept_as_a_tensor_is_fine(data, model):
    limit = torch.tensor(10.0)  # what a learner gets from a computation kept in torch
    history = train(model, data, sgd(model), epochs=1, evaluate=lambda: 1.0, stop_below=torch.tensor(0.5))
    assert history.evaluations == [1.0]
    train(model, data, sgd(model), steps=1, stability_limit=limit)


# ---------------------------------------------------------------- data that does not fit the model (issue 11)


def test_float64_data_into_a_float32_model_says_how_to_fix_it(data, model):
    with pytest.raises(ValueError) as caught:
        train(model, data.double(), sgd(model), steps=3)
    message = str(caught.value)
    assert "data has dtype torch.float64 and shape (10, 3)" in message
    assert "first parameter dtype torch.float32 and shape (2, 3)" in message
    assert "data.float()" in message and "model.double()" in message
    assert isinstance(caught.value.__cause__, RuntimeError) and caught.value.history.steps == 0


def test_data_with_more_features_than_the_model_was_built_for(model):
    with pytest.raises(
        ValueError, match=r"shape \(10, 4\).*shape \(2, 3\): 4 values per sample.*nn.Linear\(4, \.\.\.\)"
    ):
        train(model, torch.rand(10, 4), sgd(model), steps=1)


def test_a_misfit_of_raw_tensors_names_the_first_tensor_of_the_optimizer():
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(params.values(), lr=0.1)
    with pytest.raises(ValueError, match=r"first parameter dtype torch.float32 and shape \(2, 1\): 3 values"):
        train(raw_linear_ae_forward(params), torch.rand(10, 3), optimizer, steps=1)
    with pytest.raises(ValueError, match=r"data has dtype torch.float64.*data.float\(\)"):
        train(raw_linear_ae_forward(params), torch.rand(10, 2, dtype=torch.float64), optimizer, steps=1)


def test_only_the_first_forward_is_checked(data):
    calls = []

    class FailsLater(nn.Linear):
        def forward(self, x):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (a later failure)")
            return super().forward(x)

    model = FailsLater(3, 3)
    with pytest.raises(RuntimeError, match="a later failure") as caught:  # torch's error, as it came
        train(model, data, sgd(model), steps=5)
    assert type(caught.value) is RuntimeError and caught.value.history.steps == 2
