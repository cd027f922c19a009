"""ae_utils.training: History and TrainingDiverged, train_epoch, evaluate (the held-out error), train (its
batches, modes, hook, divergence, Ctrl-C, progress bar and the checks at the door), and the sliders' SGD
(sgd_linear_ae, train_linear_ae) against torch.optim.SGD with autograd.

Results are checked against independent computations: hand-written loops, whole-batch losses, the shuffle
drawn again from the same generator."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from helpers import linear_ae_minimum
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ae_utils import checks, training
from ae_utils.models import mlp_autoencoder, raw_linear_ae, raw_linear_ae_forward
from ae_utils.training import (
    History,
    TrainingDiverged,
    divergence_message,
    evaluate,
    sgd_linear_ae,
    train,
    train_epoch,
    train_linear_ae,
)


@pytest.fixture
def data() -> torch.Tensor:
    """Ten samples of three features (not a multiple of the batch sizes used: the last batch is smaller)."""
    return torch.randn(10, 3, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 3))


def sgd(module_or_params, lr=0.1) -> torch.optim.SGD:
    params = module_or_params.parameters() if isinstance(module_or_params, nn.Module) else module_or_params
    return torch.optim.SGD(params, lr=lr)


class Spy(nn.Module):
    """A linear autoencoder that records each training step's batch and mode (calls with gradients on),
    and the mode of each call without gradients (the check at the door, evaluations)."""

    def __init__(self, features: int = 3):
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(features, features)
        self.batches: list[torch.Tensor] = []
        self.modes: list[bool] = []
        self.quiet_modes: list[bool] = []

    def forward(self, x):
        if torch.is_grad_enabled():
            self.batches.append(x.detach().clone())
            self.modes.append(self.training)
        else:
            self.quiet_modes.append(self.training)
        return self.layer(x)


def rows(batches) -> list[tuple]:
    """The samples of ``batches``, sorted, as tuples: a multiset to compare with the data's."""
    return sorted(map(tuple, torch.cat(list(batches)).tolist()))


def shuffled_batches(data, batch_size, seed, epochs):
    """The batches of each epoch, drawn independently: a permutation per epoch from one generator."""
    generator = torch.Generator().manual_seed(seed)
    orders = [torch.randperm(len(data), generator=generator) for _ in range(epochs)]
    return [data[order[i : i + batch_size]] for order in orders for i in range(0, len(data), batch_size)]


def fails_at_step(n: int, lr: float = 0.25, value: float = math.nan):
    """A forward function over one weight whose reconstruction becomes ``value`` at training step ``n``
    (1-based; calls without gradients, such as the check at the door, are not steps)."""
    weight = torch.ones(1, requires_grad=True)
    steps = []

    def forward(x):
        if torch.is_grad_enabled():
            steps.append(None)
            if len(steps) == n:
                return x * weight * value
        return x * weight

    return forward, weight, torch.optim.SGD([weight], lr=lr)


# ---------------------------------------------------------------- History and TrainingDiverged


def test_history_steps_and_final_loss():
    history = History(losses=[3.0, 2.0, 1.5])
    assert history.steps == 3
    assert history.final_loss == 1.5


def test_empty_history_final_loss_is_nan():
    assert History().steps == 0
    assert math.isnan(History().final_loss)


def test_history_repr_mentions_steps_evaluations_and_interruption():
    text = repr(History(losses=[2.0, 1.25], evaluations=[0.75, 0.5], interrupted=True))
    assert text == "History(2 steps, final loss 1.25, 2 evaluations, last 0.5, interrupted)"
    assert repr(History(losses=[2.0, 1.25])) == "History(2 steps, final loss 1.25)"


def test_record_appends_a_finite_loss():
    history, optimizer = History(losses=[2.0]), sgd([torch.ones(1, requires_grad=True)])
    history.record(torch.tensor(1.5), optimizer)
    assert history.losses == [2.0, 1.5]


def test_record_keeps_the_largest_finite_loss():
    history, optimizer = History(), sgd([torch.ones(1, requires_grad=True)])
    largest = torch.tensor(torch.finfo(torch.float32).max)  # one step short of overflowing
    history.record(largest, optimizer)
    assert history.losses == [largest.item()]


@pytest.mark.parametrize("value, word", [(math.nan, "NaN"), (math.inf, "infinite"), (-math.inf, "infinite")])
def test_record_refuses_a_non_finite_loss_naming_the_next_step(value, word):
    history, optimizer = History(losses=[2.0, 1.5]), sgd([torch.ones(1, requires_grad=True)], lr=0.5)
    with pytest.raises(TrainingDiverged, match=f"step 3: the loss became {word} with learning rate 0.5") as caught:
        history.record(torch.tensor(value), optimizer)
    assert (caught.value.step, caught.value.lr) == (3, 0.5)
    assert caught.value.history is history and history.losses == [2.0, 1.5]  # nothing recorded


def test_training_diverged_survives_pickle_and_deepcopy():
    error = TrainingDiverged("Training diverged at step 3", step=3, lr=0.5, history=History(losses=[1.0, 2.0]))
    assert isinstance(error, FloatingPointError)
    for clone in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(clone) is TrainingDiverged and str(clone) == str(error)
        assert (clone.step, clone.lr, clone.history.losses) == (3, 0.5, [1.0, 2.0])


# ---------------------------------------------------------------- divergence_message


def test_divergence_after_a_step_suggests_a_tenth_of_the_learning_rate():
    optimizer = sgd([torch.ones(1, requires_grad=True)])
    assert divergence_message(math.nan, 2, 0.25, optimizer) == (
        "Training diverged at step 2: the loss became NaN with learning rate 0.25. "
        "Try a smaller learning rate, for example 0.025."
    )
    assert divergence_message(math.inf, 40, 3.0, optimizer).endswith(
        "became infinite with learning rate 3. Try a smaller learning rate, for example 0.3."
    )


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_at_step_one_non_finite_parameters_are_blamed_not_the_learning_rate(bad):
    shapes = [(2, 3), (4,), (1, 5), (6, 7)]
    params = [torch.zeros(shape, requires_grad=True) for shape in shapes] + [torch.zeros(8, requires_grad=True)]
    with torch.no_grad():
        for p in params[:4]:
            p.view(-1)[-1] = bad
    message = divergence_message(math.nan, 1, 0.25, sgd(params))
    assert message == (
        "The loss was NaN before any step: the parameters hold NaN or infinite values (tensors of shape "
        "(2, 3), (4,), (1, 5)). Re-create them; a smaller learning rate will not help."
    )


def test_at_step_one_finite_parameters_blame_the_size_of_the_data():
    message = divergence_message(math.inf, 1, 0.25, sgd([torch.zeros(3, requires_grad=True)]))
    assert message.startswith("The loss was infinite before any step, with finite parameters: the data's values")
    assert "Rescale the data, for example x / x.abs().max()" in message
    assert "a smaller learning rate will not help" in message and "Try a smaller" not in message


# ---------------------------------------------------------------- train_epoch: the four steps


def test_train_epoch_is_the_four_steps_over_each_batch(data, model):
    reference = copy.deepcopy(model)
    batches = [data[:4], data[4:8], data[8:]]
    history = History(losses=[9.0])
    assert train_epoch(model, batches, sgd(model), nn.MSELoss(), history) is history

    optimizer, expected = sgd(reference), [9.0]
    for x in batches:
        loss = ((reference(x) - x) ** 2).mean()
        expected.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert history.losses == pytest.approx(expected, rel=1e-6)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q)


def test_train_epoch_stops_before_the_step_of_a_nan_loss(data):
    forward, weight, optimizer = fails_at_step(2)
    with pytest.raises(TrainingDiverged) as caught:
        train_epoch(forward, [data, data, data], optimizer, nn.MSELoss(), History())
    assert caught.value.step == 2 and len(caught.value.history.losses) == 1
    assert weight.item() == 1.0  # step 1's gradient is zero (x * 1 is x), and step 2's NaN one was not applied


# ---------------------------------------------------------------- train: what it computes


def test_full_batch_losses_and_parameters_match_a_hand_written_sgd_loop(data, model):
    reference = copy.deepcopy(model)
    optimizer, expected = sgd(reference), []
    for _ in range(5):
        optimizer.zero_grad()
        loss = ((reference(data) - data) ** 2).mean()
        expected.append(loss.item())
        loss.backward()
        optimizer.step()

    history = train(model, data, sgd(model), epochs=5)
    assert history.steps == 5 and not history.interrupted
    assert history.losses == pytest.approx(expected, rel=1e-6)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q)


def test_minibatch_adam_matches_a_hand_written_loop_over_the_same_shuffle(data):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 3))
    reference = copy.deepcopy(model)
    history = train(
        model,
        data,
        torch.optim.Adam(model.parameters(), lr=0.01),
        epochs=3,
        batch_size=4,
        generator=torch.Generator().manual_seed(5),
    )

    optimizer, expected = torch.optim.Adam(reference.parameters(), lr=0.01), []
    for x in shuffled_batches(data, 4, seed=5, epochs=3):
        loss = ((reference(x) - x) ** 2).mean()
        expected.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert history.steps == 9  # 3 epochs of ceil(10 / 4) batches
    assert history.losses == pytest.approx(expected, rel=1e-6)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q)


def test_plain_forward_function_over_raw_tensors_trains(data):
    params = raw_linear_ae(3, 2, generator=torch.Generator().manual_seed(0))
    history = train(raw_linear_ae_forward(params), data, sgd(params.values(), lr=0.01), epochs=50)
    assert history.steps == 50
    assert history.final_loss < 0.8 * history.losses[0]


@pytest.mark.parametrize(
    "loss_fn, expected",
    [
        (nn.L1Loss(), lambda out, x: (out - x).abs().mean()),
        (nn.MSELoss(reduction="sum"), lambda out, x: ((out - x) ** 2).sum()),  # train takes any reduction
    ],
)
def test_the_loss_function_given_is_used(data, model, loss_fn, expected):
    with torch.no_grad():
        first = float(expected(model(data), data))
    history = train(model, data, sgd(model, lr=0.01), loss_fn, epochs=1)
    assert history.losses == [pytest.approx(first, rel=1e-6)]


# ---------------------------------------------------------------- train: the batches of each epoch


@pytest.mark.parametrize("batch_size, sizes", [(1, [1] * 10), (3, [3, 3, 3, 1]), (4, [4, 4, 2]), (9, [9, 1])])
def test_each_epoch_sees_every_sample_exactly_once_in_batches_of_batch_size(data, batch_size, sizes):
    spy = Spy()
    history = train(spy, data, sgd(spy), epochs=2, batch_size=batch_size, generator=torch.Generator().manual_seed(2))
    assert history.steps == 2 * len(sizes)
    assert [len(b) for b in spy.batches] == sizes * 2
    first, second = spy.batches[: len(sizes)], spy.batches[len(sizes) :]
    for epoch in (first, second):
        assert rows(epoch) == rows([data])
    assert not torch.equal(torch.cat(first), torch.cat(second))  # a new order each epoch
    expected = shuffled_batches(data, batch_size, seed=2, epochs=2)
    assert all(torch.equal(seen, wanted) for seen, wanted in zip(spy.batches, expected, strict=True))


@pytest.mark.parametrize("batch_size", [None, 10, 11, 1000])
def test_no_batch_size_or_one_at_least_the_data_size_is_one_full_batch_step_per_epoch(data, batch_size):
    spy = Spy()
    state = torch.random.get_rng_state()
    history = train(spy, data, sgd(spy), epochs=3, batch_size=batch_size)
    assert history.steps == 3
    assert len(spy.batches) == 3 and all(torch.equal(b, data) for b in spy.batches)  # whole, in order
    assert torch.equal(torch.random.get_rng_state(), state)  # nothing drawn


def test_one_epoch_is_one_pass(data):
    spy = Spy()
    history = train(spy, data, sgd(spy), epochs=1, batch_size=4)
    assert history.steps == 3 and rows(spy.batches) == rows([data])


def test_the_shuffle_is_drawn_from_the_generator_only(data):
    def batches(seed):
        spy = Spy()
        torch.manual_seed(123)  # the global generator, the same for every run
        state = torch.random.get_rng_state()
        train(spy, data, sgd(spy), epochs=1, batch_size=3, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(torch.random.get_rng_state(), state)  # the global generator untouched
        return torch.cat(spy.batches)

    assert torch.equal(batches(7), batches(7))
    assert not torch.equal(batches(7), batches(8))


def test_without_a_generator_the_shuffle_comes_from_torch_manual_seed(data):
    def batches(seed):
        spy = Spy()
        torch.manual_seed(seed)
        train(spy, data, sgd(spy), epochs=2, batch_size=4)
        return spy.batches

    torch.manual_seed(11)
    expected = [data[order[i : i + 4]] for order in (torch.randperm(10), torch.randperm(10)) for i in (0, 4, 8)]
    assert all(torch.equal(seen, wanted) for seen, wanted in zip(batches(11), expected, strict=True))
    assert not torch.equal(torch.cat(batches(11)), torch.cat(batches(12)))


def test_a_dataloader_of_images_and_labels_feeds_the_images(data):
    loader = DataLoader(TensorDataset(data, torch.arange(len(data))), batch_size=4, shuffle=False)
    spy = Spy()
    history = train(spy, loader, sgd(spy), epochs=2)
    assert history.steps == 6
    expected = [data[:4], data[4:8], data[8:]] * 2
    assert all(torch.equal(seen, wanted) for seen, wanted in zip(spy.batches, expected, strict=True))


class GlobalShuffle:
    """An iterable of batches of 4 that shuffles with torch's global generator each time it is iterated."""

    def __init__(self, data):
        self.data = data

    def __iter__(self):
        order = torch.randperm(len(self.data))
        for start in range(0, len(self.data), 4):
            yield self.data[order[start : start + 4]]


def test_the_check_at_the_door_draws_nothing_from_torchs_generator(data):
    """The door looks at the first batch of an iterable that shuffles, then puts the global generator back:
    the epochs see the batches a hand loop would."""
    spy = Spy()
    torch.manual_seed(5)
    train(spy, GlobalShuffle(data), sgd(spy), epochs=2)
    torch.manual_seed(5)
    expected = [x for _ in range(2) for x in GlobalShuffle(data)]
    assert all(torch.equal(seen, wanted) for seen, wanted in zip(spy.batches, expected, strict=True))


@pytest.mark.parametrize("own_generator", [False, True])
def test_a_shuffling_dataloader_draws_the_order_a_hand_loop_would(data, own_generator):
    """The check at the door looks at the DataLoader's first batch and leaves every generator as it was."""

    def loader():
        generator = torch.Generator().manual_seed(3) if own_generator else None
        return DataLoader(TensorDataset(data), batch_size=4, shuffle=True, generator=generator)

    spy = Spy()
    torch.manual_seed(5)
    train(spy, loader(), sgd(spy), epochs=2)
    torch.manual_seed(5)
    hand = loader()
    expected = [x for _ in range(2) for (x,) in hand]
    assert rows(spy.batches[:3]) == rows([data])
    assert all(torch.equal(seen, wanted) for seen, wanted in zip(spy.batches, expected, strict=True))


def test_a_list_of_batches_trains_as_the_one_pass_message_advises(data):
    spy = Spy()
    with pytest.raises(TypeError, match="Pass a DataLoader or a list of batches"):
        train(spy, iter([data[:5], data[5:]]), sgd(spy), epochs=1)
    history = train(spy, [data[:5], data[5:]], sgd(spy), epochs=2)
    assert history.steps == 4


def test_a_numpy_integer_batch_size_works_like_an_int(data, model):
    history = train(model, data, sgd(model), epochs=2, batch_size=np.int64(4))
    assert history.steps == 6


# ---------------------------------------------------------------- train: modes and the per-epoch hook


def test_a_model_left_in_eval_mode_trains_in_train_mode_every_epoch_and_is_evaluated_in_eval_mode(data):
    spy = Spy()
    spy.eval()
    seen = []

    def after_epoch():
        seen.append((spy.training, torch.is_grad_enabled()))
        spy(data[:2])
        spy.eval()  # a learner's evaluation that leaves the model in eval mode

    history = train(spy, data, sgd(spy), epochs=3, batch_size=4, after_epoch=after_epoch)
    assert spy.modes == [True] * 9  # every step of every epoch in train mode
    assert seen == [(False, False)] * 3  # the hook in eval mode, without gradients
    assert spy.quiet_modes == [False] * 4  # the check at the door and the hook's calls, in eval mode
    assert spy.training  # handed back ready to train
    assert history.evaluations == [] and history.evaluated_at == []  # None is not recorded


@pytest.mark.parametrize("mode", [True, False])
def test_the_check_at_the_door_hands_the_model_back_in_its_mode(mode):
    spy = Spy(features=4)
    spy.train(mode)
    with pytest.raises(ValueError, match="3 values per sample"):
        train(spy, torch.rand(10, 3), sgd(spy), epochs=1)
    assert spy.training is mode and set(spy.quiet_modes) == {False} and spy.batches == []  # checked in eval mode


def test_evaluations_are_recorded_with_the_step_after_which_they_ran(data, model):
    values = iter([0.5, np.float64(0.0), torch.tensor(0.125)])  # a number in any form; 0 is a number too
    history = train(model, data, sgd(model), epochs=3, batch_size=4, after_epoch=lambda: next(values))
    assert history.evaluations == [0.5, 0.0, 0.125]
    assert history.evaluated_at == [3, 6, 9]
    assert all(type(v) is float for v in history.evaluations)


def test_the_hook_sees_the_model_after_each_epochs_steps(data, model):
    losses = []
    history = train(model, data, sgd(model), epochs=4, after_epoch=lambda: losses.append(evaluate(model, data)))
    assert history.steps == 4 and history.evaluations == []
    assert losses == pytest.approx([*history.losses[1:], evaluate(model, data)], rel=1e-6)


def test_a_nan_evaluation_is_an_error_not_a_record(data, model):
    values = iter([0.5, math.nan])
    with pytest.raises(ValueError, match="after_epoch's result must be a finite number, got nan") as caught:
        train(model, data, sgd(model), epochs=3, batch_size=5, after_epoch=lambda: next(values))
    assert caught.value.history.evaluations == [0.5] and caught.value.history.steps == 4


def test_a_bool_evaluation_is_refused(data, model):
    with pytest.raises(TypeError, match=r"after_epoch's result must be a number, got True \(bool\)"):
        train(model, data, sgd(model), epochs=2, after_epoch=lambda: True)


def test_a_hook_that_raises_leaves_the_model_training_and_the_history_attached(data, model):
    def after_epoch():
        raise RuntimeError("the held-out file is gone")

    with pytest.raises(RuntimeError, match="held-out file is gone") as caught:
        train(model, data, sgd(model), epochs=2, batch_size=5, after_epoch=after_epoch)
    assert model.training
    assert caught.value.history.steps == 2


# ---------------------------------------------------------------- train: divergence


@pytest.mark.parametrize("step, batch_size", [(2, None), (3, None), (5, 4)])  # (5, 4): epoch 2's second batch
def test_divergence_names_its_step_and_a_tenth_of_the_learning_rate(data, step, batch_size):
    forward, weight, optimizer = fails_at_step(step, lr=0.25)
    with pytest.raises(TrainingDiverged) as caught:
        train(forward, data, optimizer, epochs=10, batch_size=batch_size)
    error = caught.value
    assert str(error) == (
        f"Training diverged at step {step}: the loss became NaN with learning rate 0.25. "
        "Try a smaller learning rate, for example 0.025."
    )
    assert (error.step, error.lr, error.history.steps) == (step, 0.25, step - 1)
    assert all(math.isfinite(v) for v in error.history.losses)
    assert weight.item() == 1.0  # x * weight reconstructs x: every gradient was zero, no step moved it


def test_an_infinite_loss_is_reported_as_infinite(data):
    forward, _, optimizer = fails_at_step(2, value=math.inf)
    with pytest.raises(TrainingDiverged, match="step 2: the loss became infinite") as caught:
        train(forward, data, optimizer, epochs=3)
    assert caught.value.history.losses == [0.0]


def test_nan_parameters_at_step_one_are_blamed_not_the_learning_rate(data, model):
    with torch.no_grad():
        model[0].weight[0, 0] = math.nan
    with pytest.raises(TrainingDiverged, match=r"before any step: the parameters hold NaN") as caught:
        train(model, data, sgd(model), epochs=3)
    assert "(2, 3)" in str(caught.value) and "smaller learning rate will not help" in str(caught.value)
    assert (caught.value.step, caught.value.history.steps) == (1, 0)


def test_data_too_large_for_float32_at_step_one_blames_the_data_not_the_learning_rate(data, model):
    with pytest.raises(TrainingDiverged, match="loss was infinite before any step, with finite parameters") as caught:
        train(model, data * 1e20, sgd(model), epochs=3)
    assert "Rescale the data" in str(caught.value) and "Try a smaller" not in str(caught.value)
    assert (caught.value.step, caught.value.history.steps) == (1, 0)


def test_real_divergence_at_a_large_learning_rate_keeps_the_finite_history(data, model):
    with pytest.raises(TrainingDiverged, match=r"Try a smaller learning rate, for example 100\.") as caught:
        train(model, data * 100, sgd(model, lr=1000.0), epochs=50)
    error = caught.value
    assert error.lr == 1000.0 and 1 < error.step <= 50
    assert len(error.history.losses) == error.step - 1
    assert all(math.isfinite(v) for v in error.history.losses)


# ---------------------------------------------------------------- train: Ctrl-C and other errors


def test_ctrl_c_returns_the_history_so_far(data, capsys):
    class Interrupted(Spy):
        def forward(self, x):
            if torch.is_grad_enabled() and len(self.batches) == 4:
                raise KeyboardInterrupt  # at step 5: epoch 2's second batch
            return super().forward(x)

    spy = Interrupted()
    history = train(spy, data, sgd(spy), epochs=3, batch_size=4, after_epoch=lambda: 1.5)
    assert history.interrupted
    assert history.steps == 4 and history.evaluations == [1.5] and history.evaluated_at == [3]
    assert capsys.readouterr().out == "Interrupted after 4 steps; returning the history recorded so far.\n"


def test_a_finished_run_is_not_marked_interrupted(data, model):
    assert not train(model, data, sgd(model), epochs=2).interrupted


def test_any_other_error_keeps_the_history(data, model):
    calls = []

    def loss_fn(reconstruction, x):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("out of memory")
        return nn.functional.mse_loss(reconstruction, x)

    with pytest.raises(RuntimeError, match="out of memory") as caught:
        train(model, data, sgd(model), loss_fn, epochs=10)
    assert caught.value.history.steps == 3 and len(caught.value.history.losses) == 3


def test_an_error_that_already_carries_a_history_keeps_its_own(data, model):
    own = History(losses=[7.0])

    def after_epoch():
        error = RuntimeError("a nested run failed")
        error.history = own
        raise error

    with pytest.raises(RuntimeError, match="nested run") as caught:
        train(model, data, sgd(model), epochs=2, after_epoch=after_epoch)
    assert caught.value.history is own


def test_only_the_first_forward_is_checked_a_later_error_comes_as_it_came(data):
    calls = []

    class FailsLater(nn.Linear):
        def forward(self, x):
            if torch.is_grad_enabled():
                calls.append(1)
                if len(calls) == 3:
                    raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (a later failure)")
            return super().forward(x)

    model = FailsLater(3, 3)
    with pytest.raises(RuntimeError, match="a later failure") as caught:  # torch's error, as it came
        train(model, data, sgd(model), epochs=5)
    assert type(caught.value) is RuntimeError and caught.value.history.steps == 2


def test_an_output_shape_that_changes_after_the_first_batch_is_refused(data):
    calls = []

    def forward(x):
        calls.append(1)
        out = x * weight
        return out[:, :1] if len(calls) == 3 else out  # the door's check, step 1, then step 2 misfits

    weight = torch.ones(1, requires_grad=True)
    with pytest.raises(ValueError, match=r"output has shape \(10, 1\) but its input has shape \(10, 3\)") as caught:
        train(forward, data, sgd([weight]), epochs=3)
    assert caught.value.history.steps == 1


# ---------------------------------------------------------------- train: the progress bar


def test_short_runs_print_nothing(data, model, capfd):
    assert training.PROGRESS_STEPS > 1000
    train(model, data, sgd(model, lr=0.01), epochs=200)
    assert capfd.readouterr() == ("", "")


def test_the_progress_bar_appears_from_its_step_count_counting_every_batch(data, model, capfd, monkeypatch):
    monkeypatch.setattr(training, "PROGRESS_STEPS", 6)
    train(model, data, sgd(model), epochs=5)  # 5 steps
    assert capfd.readouterr().err == ""
    train(model, data, sgd(model), epochs=6)  # 6 steps: exactly the threshold
    assert "0/6" in capfd.readouterr().err
    train(model, data, sgd(model), epochs=2, batch_size=4)  # 2 epochs of 3 batches
    assert "0/2" in capfd.readouterr().err


# ---------------------------------------------------------------- train: refused at the door


def test_gradients_switched_off_are_named_before_anything_runs(data):
    spy = Spy()
    before = copy.deepcopy(spy.state_dict())
    for block in (torch.no_grad, torch.inference_mode):
        with block(), pytest.raises(RuntimeError, match=r"gradients are switched off here \(torch.no_grad\(\)\)"):
            train(spy, data, sgd(spy), epochs=1)
    assert spy.quiet_modes == [] and all(torch.equal(before[k], v) for k, v in spy.state_dict().items())


@pytest.mark.parametrize("kind", [tuple, list])
@pytest.mark.parametrize(
    "labels",
    [lambda n: torch.arange(n), lambda n: torch.arange(n).float(), lambda n: torch.eye(n, dtype=torch.int64)],
    ids=["int64", "float (one per sample)", "one-hot int64"],
)
def test_the_images_and_labels_pair_is_refused_naming_the_images(data, model, kind, labels):
    pair = kind([data, labels(len(data))])
    with pytest.raises(TypeError, match=rf"data is a {kind.__name__} of 2 tensors.*ae.train\(model, images, ...\)"):
        train(model, pair, sgd(model), epochs=1)


def test_a_list_of_two_image_batches_is_two_batches_not_a_pair(data, model):
    history = train(model, [data[:6], data[6:]], sgd(model), epochs=2)
    assert history.steps == 4


@pytest.mark.parametrize("make", [lambda d: iter(DataLoader(TensorDataset(d), batch_size=4)), lambda d: (x for x in d)])
def test_a_one_pass_iterator_is_refused(data, model, make):
    with pytest.raises(TypeError, match="one-pass iterator .* used up by the first epoch"):
        train(model, make(data), sgd(model), epochs=2)


def test_float64_data_into_a_float32_model_says_how_to_fix_it_before_any_step(data, model):
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError) as caught:
        train(model, data.double(), sgd(model), epochs=3)
    message = str(caught.value)
    assert "data has dtype torch.float64 and shape (10, 3)" in message  # the data's shape, not the trial's
    assert "first parameter dtype torch.float32 and shape (2, 3)" in message
    assert "data.float()" in message and "model.double()" in message
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_model_that_fits_every_batch_but_not_a_single_sample_trains():
    layer = nn.Linear(3, 3)

    def forward(x):  # x.squeeze() drops the sample axis too when there is one sample
        return layer(x.squeeze()).unsqueeze(1)

    history = train(forward, torch.rand(10, 1, 3), sgd(layer), epochs=2)  # full batch: ten samples a step
    assert history.steps == 2


def test_data_with_more_features_than_the_model_was_built_for(model):
    with pytest.raises(ValueError, match=r"shape \(2, 3\): 4 values per sample.*nn.Linear\(4, \.\.\.\)"):
        train(model, torch.rand(10, 4), sgd(model), epochs=1)


def test_a_misfit_of_raw_tensors_names_the_first_tensor_of_the_optimizer():
    params = raw_linear_ae(2, 1, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(params.values(), lr=0.1)
    with pytest.raises(ValueError, match=r"first parameter dtype torch.float32 and shape \(2, 1\): 3 values"):
        train(raw_linear_ae_forward(params), torch.rand(10, 3), optimizer, epochs=1)
    with pytest.raises(ValueError, match=r"data has dtype torch.float64.*data.float\(\)"):
        train(raw_linear_ae_forward(params), torch.rand(10, 2, dtype=torch.float64), optimizer, epochs=1)


def test_rejects_output_shape_different_from_input(data):
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"output has shape \(10, 2\) but its input has shape \(10, 3\)"):
        train(model, data, sgd(model), epochs=1)


def test_rejects_model_returning_non_tensor(data):
    weight = torch.ones(1, requires_grad=True)
    with pytest.raises(TypeError, match="must return a tensor, got tuple"):
        train(lambda x: (x * weight,), data, sgd([weight]), epochs=1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_rejects_non_finite_data(data, model, bad):
    data[2, 1] = bad
    with pytest.raises(ValueError, match="data holds 1 NaN or infinite values"):
        train(model, data, sgd(model), epochs=1)


def test_finite_data_whose_sum_overflows_is_accepted_by_the_data_check():
    huge = torch.full((10, 3), 3e38)  # every value finite, their sum infinite in float32
    assert not torch.isfinite(huge.sum())
    checks.training_data(huge)  # no error
    huge[0, 0] = math.nan
    with pytest.raises(ValueError, match="1 NaN or infinite values"):
        checks.training_data(huge)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (torch.ones(4, 3, dtype=torch.int64), TypeError, "floating-point tensor, got dtype torch.int64.*float"),
        (torch.ones(3), ValueError, r"shape \(samples, features...\), got \(3,\).*unsqueeze"),
        (torch.ones(0, 3), ValueError, r"got \(0, 3\)"),
        (5, TypeError, "data must be a tensor or an iterable of batches.*got int"),
        (["abc"], TypeError, "each batch must be a tensor or an \\(inputs, labels\\) pair, got str"),
    ],
)
def test_rejects_data_that_is_not_samples(model, bad, error, message):
    with pytest.raises(error, match=message):
        train(model, bad, sgd(model), epochs=1)


@pytest.mark.parametrize(
    "batches, error, message",
    [
        ([torch.ones(4, 3, dtype=torch.int64)], TypeError, "a batch must be a floating-point tensor"),
        ([torch.ones(4, 3), torch.full((4, 3), math.nan)], ValueError, "a batch holds 12 NaN or infinite values"),
        ([], ValueError, "no batch at all.*empty"),
    ],
)
def test_bad_batches_from_a_dataloader_are_named(model, batches, error, message):
    loader = DataLoader(TensorDataset(torch.cat(batches) if batches else torch.ones(0, 3)), batch_size=4)
    with pytest.raises(error, match=message):
        train(model, loader, sgd(model), epochs=1)


@pytest.mark.parametrize("setting", [{"batch_size": 4}, {"generator": torch.Generator()}])
def test_rejects_tensor_settings_with_a_dataloader(data, model, setting):
    loader = DataLoader(TensorDataset(data), batch_size=4)
    with pytest.raises(ValueError, match="batch_size and generator apply to tensor data"):
        train(model, loader, sgd(model), epochs=1, **setting)


@pytest.mark.parametrize("setting, value", [("epochs", 0), ("epochs", -3), ("batch_size", 0)])
def test_rejects_zero_or_negative_counts(data, model, setting, value):
    call = {"epochs": 1, setting: value}
    with pytest.raises(ValueError, match=f"{setting} must be a whole number of at least 1, got {value}"):
        train(model, data, sgd(model), **call)


@pytest.mark.parametrize("setting, value", [("epochs", 2.0), ("epochs", True), ("batch_size", 2.0)])
def test_rejects_non_integer_counts(data, model, setting, value):
    call = {"epochs": 1, setting: value}
    with pytest.raises(TypeError, match=f"{setting} must be a whole number"):
        train(model, data, sgd(model), **call)


@pytest.mark.parametrize("lr", [0.0, -0.1, math.nan, math.inf])
def test_rejects_a_learning_rate_that_cannot_train(data, model, lr):
    optimizer = sgd(model)
    optimizer.param_groups[0]["lr"] = lr
    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        train(model, data, optimizer, epochs=1)


@pytest.mark.parametrize(
    "held, message",
    [
        (lambda m, d: [*m.parameters(), torch.zeros(3, 4)], r"shape \(3, 4\)\)? (that )?does not require grad"),
        (lambda m, d: [nn.Parameter(torch.zeros(2))], "holds none of the model's parameters"),
        (lambda m, d: [*m.parameters(), d], r"holds the training data \(a tensor of shape \(10, 3\)\)"),
    ],
)
def test_rejects_an_optimizer_that_cannot_train_the_model(data, model, held, message):
    data.requires_grad_()
    with pytest.raises(ValueError, match=message):
        train(model, data, sgd(held(model, data)), epochs=1)


WRONG = {"None": None, "ndarray": np.ones((2, 2), dtype=np.float32), "str": "abc", "list": [1.0, 2.0], "float": 2.5}


@pytest.mark.parametrize(
    "argument, kinds, message",
    [
        ("model", WRONG, "model must be an nn.Module or a function x -> reconstruction, got "),
        ("data", ["None", "ndarray", "str", "float"], "data must be a tensor or an iterable of batches"),
        ("optimizer", WRONG, "optimizer must be a torch.optim.Optimizer, got "),
        ("loss_fn", ["ndarray", "str", "list", "float"], r"loss_fn must be a function \(reconstruction, x\) -> loss"),
        ("epochs", WRONG, "epochs must be a whole number, got "),
        ("batch_size", ["ndarray", "str", "list", "float"], "batch_size must be a whole number, got "),
        ("generator", ["ndarray", "str", "list", "float"], "generator must be a torch.Generator or None, got "),
        ("after_epoch", ["ndarray", "str", "list", "float"], "after_epoch must be a function of no arguments"),
    ],
)
def test_wrong_types_name_the_argument(data, model, argument, kinds, message):
    for kind in kinds:
        call = {"model": model, "data": data, "optimizer": sgd(model), "epochs": 2, argument: WRONG[kind]}
        with pytest.raises(TypeError, match=f"{message}.*{type(WRONG[kind]).__name__}"):
            train(**call)


def test_a_numpy_array_is_refused_with_the_conversion_to_use(model):
    with pytest.raises(TypeError, match=r"data must be .* got ndarray; convert it with torch.from_numpy\(data\)"):
        train(model, np.zeros((4, 3), dtype=np.float32), sgd(model), epochs=1)


def test_a_list_of_numbers_is_refused_as_batches(model):
    with pytest.raises(TypeError, match=r"each batch must be a tensor or an \(inputs, labels\) pair, got float"):
        train(model, [1.0, 2.0], sgd(model), epochs=1)


# ---------------------------------------------------------------- evaluate: the held-out error


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(45, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def digits_model() -> nn.Module:
    torch.manual_seed(0)
    return mlp_autoencoder()


@pytest.mark.parametrize("batch_size", [1, 7, 44, 45, 46, 2000])  # 7 and 44 leave a smaller last chunk
def test_chunked_bce_equals_the_whole_batch_bce(images, digits_model, batch_size):
    with torch.no_grad():
        expected = nn.functional.binary_cross_entropy(digits_model(images), images).item()
    assert evaluate(digits_model, images, nn.BCELoss(), batch_size) == pytest.approx(expected, rel=1e-6)


def test_chunk_means_are_weighted_by_their_sizes():
    """Two chunks of 2 and 1 samples whose losses are 1 and 4: the mean over samples is 2, not 2.5."""
    x = torch.tensor([[1.0], [1.0], [2.0]])
    assert evaluate(lambda z: 0 * z, x, batch_size=2) == 2.0


def test_logit_form_gives_the_same_bce(images):
    torch.manual_seed(0)
    with_sigmoid = mlp_autoencoder(logits=False)
    logits = mlp_autoencoder(logits=True)
    logits.load_state_dict(with_sigmoid.state_dict())
    a = evaluate(with_sigmoid, images, nn.BCELoss())
    b = evaluate(logits, images, nn.BCEWithLogitsLoss())
    assert a == pytest.approx(b, rel=1e-5)


@pytest.mark.parametrize("mode", [True, False])
def test_evaluate_runs_in_eval_mode_and_hands_the_module_back_in_its_mode(images, mode):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 784), nn.Dropout(0.5), nn.Unflatten(1, (28, 28)))
    model.train(mode)
    first = evaluate(model, images, batch_size=20)
    assert first == evaluate(model, images, batch_size=20)  # dropout off: deterministic
    assert model.training is mode and all(m.training is mode for m in model.modules())
    model.eval()
    with torch.no_grad():
        assert first == pytest.approx(nn.functional.mse_loss(model(images), images).item(), rel=1e-6)


@pytest.mark.parametrize("mode", [True, False])
def test_evaluate_hands_the_module_back_in_its_mode_when_the_model_does_not_fit(mode):
    spy = Spy(features=4)
    spy.train(mode)
    with pytest.raises(ValueError, match="3 values per sample"):
        evaluate(spy, torch.rand(5, 3))
    assert spy.training is mode


def test_evaluate_computes_no_gradients(data):
    spy = Spy()
    result = evaluate(spy, data, batch_size=3)
    assert type(result) is float
    assert spy.batches == [] and spy.quiet_modes == [False] * 5  # the first-sample check, then 4 chunks
    assert all(p.grad is None for p in spy.parameters())
    with torch.no_grad():
        assert result == pytest.approx(nn.functional.mse_loss(spy(data), data).item(), rel=1e-6)


def test_evaluate_takes_a_plain_function(data):
    assert evaluate(lambda z: 2 * z, data) == pytest.approx(float((data**2).mean()), rel=1e-6)


def test_shapes_that_would_broadcast_are_refused_not_scored(images):
    # (N, 1, 28, 28) images scored against a model returning (N, 28, 28): a perfect model would score 0.166
    identity = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (28, 28)))
    with pytest.raises(ValueError, match=r"output has shape \(45, 28, 28\) but its input has shape \(45, 1, 28, 28\)"):
        evaluate(identity, images.unsqueeze(1))
    assert evaluate(identity, images) == 0.0  # like with like: a perfect model scores 0


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_a_loss_that_is_not_a_mean_is_refused(images, reduction):
    with pytest.raises(ValueError, match=f"reduction='{reduction}'"):
        evaluate(lambda z: z, images, nn.MSELoss(reduction=reduction))


@pytest.mark.parametrize(
    "x, batch_size, error, message",
    [
        (torch.rand(5), 2, ValueError, r"x must have shape \(samples, features...\), got \(5,\)"),
        (torch.rand(0, 3), 2, ValueError, r"got \(0, 3\)"),
        (torch.rand(4, 3), 0, ValueError, "batch_size must be a whole number of at least 1, got 0"),
        (torch.tensor([[1.0, math.nan]]), 2, ValueError, "x holds 1 NaN or infinite values"),
        (torch.zeros(4, 3, dtype=torch.uint8), 2, TypeError, r"got dtype torch.uint8; convert it with x.float\(\)"),
        (np.zeros((4, 3), dtype=np.float32), 2, TypeError, r"got ndarray; convert it with torch.from_numpy\(x\)"),
    ],
)
def test_evaluate_refuses_bad_input(x, batch_size, error, message):
    with pytest.raises(error, match=message):
        evaluate(nn.Identity(), x, batch_size=batch_size)


@pytest.mark.parametrize(
    "argument, kinds, message",
    [
        ("model", WRONG, "model must be an nn.Module or a function x -> reconstruction, got "),
        ("x", WRONG, r"x must be a tensor of samples, shaped \(samples, \.\.\.\), got "),
        ("loss_fn", ["ndarray", "str", "list", "float"], r"loss_fn must be a function \(reconstruction, x\) -> loss"),
        ("batch_size", WRONG, "batch_size must be a whole number, got "),
    ],
)
def test_evaluate_wrong_types_name_the_argument(argument, kinds, message):
    for kind in kinds:
        call = {"model": nn.Linear(2, 2), "x": torch.rand(4, 2), argument: WRONG[kind]}
        with pytest.raises(TypeError, match=f"{message}.*{type(WRONG[kind]).__name__}"):
            evaluate(**call)


def test_evaluate_float64_images_into_a_float32_model_says_how_to_fix_it(images, digits_model):
    with pytest.raises(ValueError, match=r"x has dtype torch.float64 .* dtype torch.float32 and shape \(256, 784\)"):
        evaluate(digits_model, images.double(), nn.BCELoss(), batch_size=10)


def test_evaluate_images_of_another_size_name_the_feature_count(digits_model):
    with pytest.raises(ValueError, match=r"1024 values per sample") as caught:
        evaluate(digits_model, torch.rand(3, 32, 32))
    assert isinstance(caught.value.__cause__, RuntimeError)


# ---------------------------------------------------------------- the sliders' SGD against torch.optim.SGD


def twin_params(features: int, hidden: int, seed: int, dtype=torch.float64):
    """Two independent copies of the same raw linear autoencoder initialisation."""
    params = raw_linear_ae(features, hidden, generator=torch.Generator().manual_seed(seed))
    return [{n: p.detach().to(dtype).clone().requires_grad_() for n, p in params.items()} for _ in range(2)]


def train_with_autograd(x, params, lr, steps):
    return train(raw_linear_ae_forward(params), x, torch.optim.SGD(params.values(), lr=lr), epochs=steps)


@pytest.mark.parametrize("hidden", [1, 2])
def test_loss_curve_matches_torch_sgd_with_autograd(learner_x, hidden):
    x = learner_x.double()
    fast, reference = twin_params(2, hidden, seed=3)
    history, diverged_at = sgd_linear_ae(x, fast, lr=0.05, steps=300)
    expected = train_with_autograd(x, reference, lr=0.05, steps=300)
    assert diverged_at is None
    assert history.steps == 300
    assert history.losses == pytest.approx(expected.losses, rel=1e-10)
    assert history.final_loss < 0.5 * history.losses[0]
    for name in fast:
        torch.testing.assert_close(fast[name], reference[name].detach(), rtol=1e-10, atol=1e-12)


def test_loss_curve_matches_in_float32(learner_x):
    fast, reference = twin_params(2, 1, seed=0, dtype=torch.float32)
    history, _ = sgd_linear_ae(learner_x, fast, lr=0.05, steps=200)
    expected = train_with_autograd(learner_x, reference, lr=0.05, steps=200)
    assert history.losses == pytest.approx(expected.losses, rel=1e-4)


def test_params_are_updated_in_place(learner_x):
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float32)
    objects = dict(params)
    before = {n: p.detach().clone() for n, p in params.items()}
    sgd_linear_ae(learner_x, params, lr=0.05, steps=3)
    for name, p in params.items():
        assert p is objects[name]
        assert not torch.equal(p.detach(), before[name])


def test_divergence_step_matches_train(learner_x):
    """At lr 5 the loss multiplies by 1e4, 1e14, 1e43, 1e127 from step to step and overflows at step 6: no
    rounding can move that step, so both paths must name it (unlike the late divergence below)."""
    x = learner_x.double()
    fast, reference = twin_params(2, 1, seed=0)
    history, diverged_at = sgd_linear_ae(x, fast, lr=5.0, steps=1000)
    with pytest.raises(TrainingDiverged) as info:
        train_with_autograd(x, reference, lr=5.0, steps=1000)
    assert diverged_at == info.value.step == 6
    assert history.steps == diverged_at - 1
    assert all(math.isfinite(v) for v in history.losses)
    assert history.losses == pytest.approx(info.value.history.losses, rel=1e-6)


def test_late_divergence_is_caught_at_its_own_first_infinite_step(learner_x):
    """Started at a flat minimum, nudged, with lr just too large: the loss leaves the minimum, comes back
    and blows up only after many steps (the loop checks for divergence every few dozen).

    What the mathematics fixes: the nudge (1e-6) grows about a millionfold over the first excursion (steps
    1 to 100), so rounding (1e-16) stays near 1e-10 of it there and both float paths agree to 1e-6. The
    second excursion amplifies that 1e-10 past 1e-4, so the step at which each path overflows is decided by
    rounding (196 on one CPU, 223 on another): it is not compared, only checked against each path's own losses.
    """
    x = learner_x.double() - learner_x.double().mean(dim=0)
    start = linear_ae_minimum(x, 1, scale=1.73)  # close to the flattest minimum of this data
    nudge = torch.randn(2, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1e-6
    start[0] = start[0] + nudge

    def params():
        return {n: p.clone().requires_grad_() for n, p in zip(("wEncoder", "bEncoder", "wDecoder", "bDecoder"), start)}

    history, diverged_at = sgd_linear_ae(x, params(), lr=1.65, steps=5000)
    with pytest.raises(TrainingDiverged) as info:
        train_with_autograd(x, params(), lr=1.65, steps=5000)
    for step, losses in [(diverged_at, history.losses), (info.value.step, info.value.history.losses)]:
        assert step is not None and 128 < step < 5000  # after the first divergence checks
        assert len(losses) == step - 1 and all(math.isfinite(v) for v in losses)
    assert history.losses[:100] == pytest.approx(info.value.history.losses[:100], rel=1e-6)
    assert max(history.losses[:100]) > 2 * history.losses[0]  # the first excursion is inside the compared steps
    assert history.losses[99] < 1.01 * history.losses[0]  # and over by step 100


def test_divergence_exactly_at_the_first_check_is_caught():
    """Only the decoder bias moves (every weight 0, data of mean 0), and lr 1.5 doubles it exactly at each step:
    the loss 4**step + 1 first overflows float32 at step 64, the step after which the loop first looks."""
    x = torch.tensor([[1.0], [-1.0]])

    def params():
        zero = torch.zeros(1, 1)
        return {"wEncoder": zero.clone(), "bEncoder": torch.zeros(1), "wDecoder": zero.clone(), "bDecoder": zero + 2}

    history, diverged_at = sgd_linear_ae(x, params(), lr=1.5, steps=100)
    assert diverged_at == 64
    assert history.losses == pytest.approx([4.0**step + 1 for step in range(1, 64)], rel=1e-6)
    reference = {n: p.requires_grad_() for n, p in params().items()}
    with pytest.raises(TrainingDiverged) as info:
        train_with_autograd(x, reference, lr=1.5, steps=100)
    assert info.value.step == 64 and info.value.history.losses == history.losses


def test_data_too_large_diverges_at_step_one(learner_x):
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float32)
    history, diverged_at = sgd_linear_ae(learner_x * 1e20, params, lr=0.01, steps=10)
    assert (history.losses, diverged_at) == ([], 1)


@pytest.mark.parametrize(
    "lr, message",
    [
        (0.0, "learning rate must be a positive number, got lr=0.0"),
        (-0.1, "learning rate must be a positive number, got lr=-0.1"),
        (math.nan, "learning rate must be a positive number, got lr=nan"),
        (math.inf, "learning rate must be a positive number, got lr=inf"),
    ],
)
def test_sgd_refuses_a_learning_rate_that_cannot_train(learner_x, lr, message):
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float32)
    with pytest.raises(ValueError, match=message):
        sgd_linear_ae(learner_x, params, lr=lr, steps=10)
    with pytest.raises(ValueError, match=message):
        train_linear_ae(learner_x, lr, 10, seed=0)


def test_sgd_refuses_nan_data_instead_of_calling_it_divergence(learner_x):
    learner_x[3, 0] = math.nan
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float32)
    with pytest.raises(ValueError, match="x holds 1 NaN or infinite values"):
        sgd_linear_ae(learner_x, params, lr=0.01, steps=10)
    with pytest.raises(ValueError, match="x holds 1 NaN or infinite values"):
        train_linear_ae(learner_x, 0.01, 10, seed=0)


def test_sgd_refuses_parameters_of_another_dtype(learner_x):
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float64)
    with pytest.raises(TypeError, match="dtypes differ from the data's torch.float32"):
        sgd_linear_ae(learner_x, params, lr=0.01, steps=10)


@pytest.mark.parametrize("steps, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_rejects_bad_step_count(learner_x, steps, error):
    params, _ = twin_params(2, 1, seed=0, dtype=torch.float32)
    with pytest.raises(error, match="steps must be a whole number"):
        sgd_linear_ae(learner_x, params, lr=0.01, steps=steps)
    with pytest.raises(error, match="steps must be a whole number"):
        train_linear_ae(learner_x, 0.01, steps, seed=0)


@pytest.mark.parametrize("seed, error", [(1.9, TypeError), (-1, ValueError), (True, TypeError)])
def test_train_linear_ae_refuses_a_seed_that_is_not_a_whole_number(learner_x, seed, error):
    with pytest.raises(error, match="seed must be a whole number"):
        train_linear_ae(learner_x, 0.01, 5, seed)


@pytest.mark.parametrize("k", [1, 2])
def test_train_linear_ae_is_sgd_from_the_seeded_raw_autoencoder(learner_x, k):
    history, diverged_at = train_linear_ae(learner_x, 0.05, 100, seed=4, k=k)
    params = raw_linear_ae(2, k, generator=torch.Generator().manual_seed(4))
    expected, expected_at = sgd_linear_ae(learner_x, {n: p.detach() for n, p in params.items()}, 0.05, 100)
    assert history.losses == expected.losses
    assert diverged_at is expected_at is None


def test_train_linear_ae_depends_on_seed_and_k(learner_x):
    first, _ = train_linear_ae(learner_x, 0.05, 20, seed=0)
    again, _ = train_linear_ae(learner_x, 0.05, 20, seed=0)
    other, _ = train_linear_ae(learner_x, 0.05, 20, seed=1)
    wider, _ = train_linear_ae(learner_x, 0.05, 20, seed=0, k=2)
    assert first.losses == again.losses
    assert first.losses != other.losses and first.losses != wider.losses


def test_train_linear_ae_accepts_float64_data(learner_x):
    history, _ = train_linear_ae(learner_x.double(), 0.05, 50, seed=0)
    expected, _ = train_linear_ae(learner_x, 0.05, 50, seed=0)
    assert history.losses == pytest.approx(expected.losses, rel=1e-5)


def test_train_linear_ae_reports_divergence_as_a_result(learner_x):
    history, diverged_at = train_linear_ae(learner_x, 10.0, 100, seed=0)
    _, reference = twin_params(2, 1, seed=0, dtype=torch.float32)
    with pytest.raises(TrainingDiverged) as info:
        train_with_autograd(learner_x, reference, lr=10.0, steps=100)
    assert diverged_at == info.value.step and history.steps == diverged_at - 1


def test_evaluate_takes_a_plain_function_as_its_loss():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    got = evaluate(torch.zeros_like, x, loss_fn=lambda r, t: ((r - t) ** 2).mean())
    assert got == (1 + 4 + 9 + 16) / 4
