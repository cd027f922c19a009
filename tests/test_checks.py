"""checks: the argument checks every module uses, at their edges; and train refusing the
optimizer mistakes they catch."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from ae_utils import checks, train


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
        train(model, data, torch.optim.SGD(other.parameters(), lr=0.1), steps=1)
    # one of the model's parameters is enough (a learner may freeze the rest)
    train(model, data, torch.optim.SGD([model[0].weight], lr=0.1), steps=1)


def test_an_optimizer_with_no_tensors_is_refused():
    model, data = model_and_data()
    empty = torch.optim.SGD([{"params": []}], lr=0.1)
    with pytest.raises(ValueError, match="holds no tensors at all"):
        train(model, data, empty, steps=1)


@pytest.mark.parametrize("held", ["whole", "columns"])
def test_an_optimizer_holding_the_data_is_refused_and_the_data_left_alone(held):
    # the learner's mistake: optim.SGD([x[:, 0], x[:, 1]]) hands the optimizer the data
    _, data = model_and_data()
    data.requires_grad_(held == "whole")
    tensors = [data] if held == "whole" else [data[:, 0], data[:, 1]]
    before = data.detach().clone()
    params = {"w": torch.randn(2, 2, requires_grad=True)}
    with pytest.raises(ValueError, match="holds the training data"):
        train(lambda x: x @ params["w"], data, torch.optim.SGD(tensors, lr=0.1), steps=3)
    assert torch.equal(data.detach(), before)


@pytest.mark.parametrize("lr", [0.0, -0.1, math.inf, math.nan])
def test_a_learning_rate_that_cannot_train_is_refused(lr):
    model, data = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.param_groups[0]["lr"] = lr
    with pytest.raises(ValueError, match=r"the learning rate must be a positive number"):
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
