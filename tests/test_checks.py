"""checks: the argument checks every module uses, at their edges; and train refusing the
optimizer mistakes they catch."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from ae_utils import checks


@pytest.mark.parametrize("value", [1, 7, np.int64(1), np.int32(5), np.uint8(3)])
def test_whole_numbers_at_or_above_the_minimum_pass_as_int(value):
    result = checks.whole_number("steps", value)
    assert result == int(value) and type(result) is int


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 2.0, 2.7, "3", None, torch.tensor(3)])
def test_anything_but_a_whole_number_is_a_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^epochs must be a whole number, got "):
        checks.whole_number("epochs", value)


@pytest.mark.parametrize("value, minimum", [(0, 1), (-3, 1), (np.int64(0), 1), (1, 2)])
def test_below_the_minimum_is_a_value_error(value, minimum):
    with pytest.raises(ValueError, match=rf"^n must be a whole number of at least {minimum}, got {value}$"):
        checks.whole_number("n", value, minimum)
    assert checks.whole_number("n", minimum, minimum) == minimum  # the edge itself passes


def test_the_reason_for_a_minimum_is_quoted():
    with pytest.raises(ValueError, match=r"at least 2, got 1: a covariance needs two points$"):
        checks.whole_number("n", 1, 2, why="a covariance needs two points")


def test_training_data_rejects_what_cannot_be_trained_on():
    with pytest.raises(TypeError, match=r"data must be a torch.Tensor, got ndarray"):
        checks.training_data(np.zeros((3, 2)))
    with pytest.raises(TypeError, match=r"floating-point tensor, got dtype torch.int64"):
        checks.training_data(torch.zeros(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"shape \(samples, features...\), got \(3,\)"):
        checks.training_data(torch.zeros(3))
    with pytest.raises(ValueError, match=r"got \(0, 2\)"):
        checks.training_data(torch.zeros(0, 2))
    checks.training_data(torch.zeros(1, 2))  # one sample is enough


def model_and_data():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 2)), torch.rand(8, 2)


def test_an_optimizer_of_another_model_is_refused():
    model, data = model_and_data()
    other = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="holds none of the model's parameters"):
        checks.optimizer(torch.optim.SGD(other.parameters(), lr=0.1), model.parameters(), data)
    # one of the model's parameters is enough (a learner may freeze the rest)
    checks.optimizer(torch.optim.SGD([model[0].weight], lr=0.1), model.parameters(), data)
    # all of them and a tensor of its own (a learnable scale, say): the model's parameters are there
    extra = torch.zeros(1, requires_grad=True)
    checks.optimizer(torch.optim.SGD([*model.parameters(), extra], lr=0.1), model.parameters(), data)
    checks.optimizer(torch.optim.SGD(other.parameters(), lr=0.1))  # no model given: nothing to compare


def test_an_optimizer_with_no_tensors_is_refused():
    model, data = model_and_data()
    empty = torch.optim.SGD([{"params": []}], lr=0.1)
    with pytest.raises(ValueError, match="holds no tensors at all"):
        checks.optimizer(empty, model.parameters(), data)


@pytest.mark.parametrize("held", ["whole", "columns"])
def test_an_optimizer_holding_the_data_is_refused_and_the_data_left_alone(held):
    # the learner's mistake: optim.SGD([x[:, 0], x[:, 1]]) hands the optimizer the data
    _, data = model_and_data()
    data.requires_grad_(held == "whole")
    tensors = [data] if held == "whole" else [data[:, 0], data[:, 1]]
    before = data.detach().clone()
    params = {"w": torch.randn(2, 2, requires_grad=True)}
    with pytest.raises(ValueError, match=r"holds the training data \(a tensor of shape \((8, 2|8,)\)\)"):
        checks.optimizer(torch.optim.SGD([params["w"], *tensors], lr=0.1), params.values(), data)
    assert torch.equal(data.detach(), before)
    checks.optimizer(torch.optim.SGD([params["w"]], lr=0.1), params.values(), data.clone())  # a copy is not it


def test_training_data_that_is_a_slice_of_what_the_optimizer_holds_is_refused():
    whole = torch.rand(10, 2)
    params = {"w": torch.randn(2, 2, requires_grad=True)}
    with pytest.raises(ValueError, match=r"holds the training data \(a tensor of shape \(10, 2\)\)"):
        checks.optimizer(torch.optim.SGD([params["w"], whole], lr=0.1), params.values(), whole[3:])


@pytest.mark.parametrize(
    "lr, error, match",
    [
        *[(lr, ValueError, r"the learning rate must be a positive number") for lr in (0.0, -0.1, math.inf, math.nan)],
        *[(lr, TypeError, r"^the learning rate must be a number, got ") for lr in ("0.01", None, [0.01])],
    ],
)
def test_a_learning_rate_that_cannot_train_is_refused(lr, error, match):
    model, data = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.param_groups[0]["lr"] = lr
    with pytest.raises(error, match=match):
        checks.optimizer(opt, model.parameters(), data)


def test_not_an_optimizer_is_a_type_error():
    with pytest.raises(TypeError, match=r"optimizer must be a torch.optim.Optimizer, got list"):
        checks.optimizer([torch.zeros(1, requires_grad=True)])


def test_reconstruction_shape_names_both_shapes():
    checks.reconstruction_shape(torch.zeros(4, 28, 28), torch.zeros(4, 28, 28))
    with pytest.raises(ValueError, match=r"output has shape \(4, 784\) but its input has shape \(4, 28, 28\)"):
        checks.reconstruction_shape(torch.zeros(4, 784), torch.zeros(4, 28, 28))
    with pytest.raises(TypeError, match="the model must return a tensor, got tuple"):
        checks.reconstruction_shape((torch.zeros(4, 2),), torch.zeros(4, 2))


# ---------------------------------------------------------------- the type checks every module uses (issue 11)


@pytest.mark.parametrize(
    "value, hint",
    [
        (np.zeros((3, 2)), r"got ndarray; convert it with torch.from_numpy\(x\).float\(\)$"),
        ([[1.0, 2.0]], r"got list; convert it with torch.tensor\(x, dtype=torch.float32\)$"),
        (None, r"got NoneType$"),
        ("x", r"got str$"),
    ],
)
def test_tensor_names_the_argument_and_how_to_convert(value, hint):
    with pytest.raises(TypeError, match=r"^x must be a tensor of samples, " + hint):
        checks.tensor("x", value, "a tensor of samples")
    t = torch.zeros(2)
    assert checks.tensor("x", t) is t


def test_data_matrix_tells_how_to_convert_a_numpy_array():
    with pytest.raises(
        TypeError, match=r"x must be a torch.Tensor of shape \(samples, features\), got ndarray; .*from_numpy"
    ):
        checks.data_matrix(np.zeros((3, 2)))


@pytest.mark.parametrize("value", [None, "abc", 2.5, [1.0], np.zeros(2)])
def test_function_refuses_what_cannot_be_called(value):
    with pytest.raises(TypeError, match=rf"^loss_fn must be a loss function, got {type(value).__name__}$"):
        checks.function("loss_fn", value, "a loss function")
    assert checks.function("loss_fn", len, "a loss function") is len


@pytest.mark.parametrize("value", [0.5, 2, np.float32(0.5), np.int64(2), torch.tensor(0.5), np.array(0.5)])
def test_number_accepts_real_numbers_and_one_number_tensors(value):
    result = checks.number("floor", value)
    assert type(result) is float and result == float(value)


@pytest.mark.parametrize(
    "value, shown",
    [
        (None, r"None \(NoneType\)"),
        ("0.5", r"'0.5' \(str\)"),
        ([0.5], r"\[0.5\] \(list\)"),
        (True, r"True \(bool\)"),
        (np.zeros((2, 2)), r"ndarray of shape \(2, 2\) \(ndarray\)"),
        (torch.zeros(3), r"Tensor of shape \(3,\) \(Tensor\)"),
    ],
)
def test_number_refuses_anything_else_naming_the_argument(value, shown):
    with pytest.raises(TypeError, match=rf"^floor must be a number, got {shown}$"):
        checks.number("floor", value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_number_refuses_nan_and_infinity_saying_why(value):
    with pytest.raises(
        ValueError, match=rf"^stop_below must be a finite number, got {value}: it could never be reached$"
    ):
        checks.number("stop_below", value, why="it could never be reached")


def test_flag_instance_and_items():
    assert checks.flag("log", np.bool_(True)) is True and checks.flag("log", False) is False
    for value in (None, 1, "yes"):
        with pytest.raises(TypeError, match=r"^log must be True or False, got "):
            checks.flag("log", value)
    assert checks.instance("title", "t", str, "a string") == "t"
    with pytest.raises(TypeError, match=r"^title must be a string, got list$"):
        checks.instance("title", ["t"], (str, type(None)), "a string")
    assert checks.items("labels", ("a", "b"), "a list") == ["a", "b"]
    assert checks.items("labels", (c for c in "ab"), "a list") == ["a", "b"]  # any iterable
    for value in (None, "ab", 2.5, {"a": 1}, torch.tensor(1.0)):
        with pytest.raises(TypeError, match=rf"^labels must be a list of labels, got {type(value).__name__}$"):
            checks.items("labels", value, "a list of labels")


def test_shown_quotes_short_values_and_describes_arrays():
    assert checks.shown("abc") == "'abc'" and checks.shown(None) == "None"
    assert checks.shown(np.zeros((500, 2))) == "ndarray of shape (500, 2)"
    assert checks.shown(list(range(100))).endswith("...") and len(checks.shown(list(range(100)))) == 60
    assert checks.shown("a" * 58) == repr("a" * 58)  # 60 characters with its quotes: shown whole
    assert checks.shown("a" * 59) == repr("a" * 59)[:57] + "..."


# ---------------------------------------------------------------- the first forward: what does not fit, said plainly


def test_first_forward_returns_the_output_and_checks_its_shape():
    model = nn.Linear(2, 2)
    x = torch.rand(4, 2)
    assert torch.equal(checks.first_forward(model, x), model(x))
    with pytest.raises(ValueError, match=r"output has shape \(4, 1\)"):
        checks.first_forward(nn.Linear(2, 1), x)


def test_first_forward_names_both_dtypes_and_the_fixes():
    with pytest.raises(ValueError) as caught:
        checks.first_forward(nn.Linear(2, 2), torch.rand(4, 2, dtype=torch.float64), "data")
    message = str(caught.value)
    assert "data has dtype torch.float64 and shape (4, 2)" in message
    assert "first parameter dtype torch.float32 and shape (2, 2)" in message
    assert "data.float()" in message and "model.double()" in message
    assert isinstance(caught.value.__cause__, RuntimeError)  # torch's own error, kept


def test_first_forward_names_the_feature_count():
    with pytest.raises(
        ValueError, match=r"shape \(4, 3\).*shape \(2, 2\): 3 values per sample.*nn.Linear\(3, \.\.\.\)"
    ):
        checks.first_forward(nn.Linear(2, 2), torch.rand(4, 3))


def test_first_forward_of_raw_tensors_uses_the_optimizers_first_tensor():
    weight = torch.randn(2, 2, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    with pytest.raises(ValueError, match=r"first parameter dtype torch.float32 and shape \(2, 2\): 3 values"):
        checks.first_forward(lambda x: x @ weight, torch.rand(4, 3), "data", optimizer)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):  # no parameter known: torch's error
        checks.first_forward(lambda x: x @ weight, torch.rand(4, 3))


def test_first_forward_names_the_devices():
    with pytest.raises(ValueError, match=r"x is on meta and the model on cpu.*x.to\('cpu'\) or model.to\('meta'\)"):
        checks.first_forward(nn.Linear(2, 2), torch.rand(4, 2, device="meta"))


def test_first_forward_leaves_other_errors_alone():
    def broken(x):
        raise RuntimeError("something else went wrong")

    with pytest.raises(RuntimeError, match="^something else went wrong$"):
        checks.first_forward(
            broken, torch.rand(4, 2), "data", torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1)
        )


def test_every_group_s_learning_rate_is_checked_and_listed_once():
    model, data = model_and_data()
    opt = torch.optim.SGD([{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.0}], lr=0.1)
    with pytest.raises(ValueError, match=r"^the learning rate must be a positive number, got lr=0.0: "):
        checks.optimizer(opt, model.parameters(), data)
    opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": 0.0})
    assert checks.optimizer_problems(opt) == [
        "the learning rate must be a positive number, got lr=0.0: steps of that size never move the parameters "
        "downhill. Use a positive learning rate, for example lr=0.01."
    ]


def test_the_optimizer_s_problems_name_its_data_entries_in_the_singular_and_plural():
    x = torch.rand(10, 2)
    one = torch.optim.SGD([torch.zeros(3, requires_grad=True), x[:, 0]], lr=0.1)
    assert checks.optimizer_problems(one) == [
        "the optimizer's entry 1 (a tensor of shape (10,), a slice of a tensor of shape (10, 2)) does not require "
        "grad: it is data, not a parameter, and stepping it does nothing. Hand the optimizer the weights and biases."
    ]
    assert checks.optimizer_problems(one, skip={id(one.param_groups[0]["params"][1])}) == []
    with pytest.raises(ValueError, match=r"^the optimizer's entry 1 \(a tensor of shape \(10,\), a slice"):
        checks.optimizer(one)


def test_a_loss_of_one_number_in_any_shape_is_read():
    assert checks.loss("compute_loss", torch.tensor([2.5]), tensor_only=True) == 2.5
    assert checks.loss("compute_loss", torch.tensor([[2.5]])) == 2.5
    with pytest.raises(TypeError, match="got a tensor of 2 numbers"):
        checks.loss("compute_loss", torch.tensor([2.5, 1.0]))
