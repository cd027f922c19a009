"""plots.plot_losses: one run or several, labels, the floor line, log scale, and errors."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from ae_utils import History, plot_losses


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def curves(ax):
    """The loss curves drawn (everything but the horizontal floor line)."""
    return [line for line in ax.get_lines() if line.get_linestyle() != "--"]


def test_history_is_drawn_against_step_numbers_from_one():
    ax = plot_losses(History(losses=[3.0, 2.0, 1.0]))
    [line] = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(line.get_ydata(), [3.0, 2.0, 1.0])
    assert ax.get_xlabel() == "step"
    assert ax.get_ylabel() == "MSE loss"
    assert ax.get_legend() is None  # nothing to label


def test_plain_list_is_one_run():
    ax = plot_losses([4.0, 2.0])
    [line] = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [4.0, 2.0])


def test_list_of_runs_with_labels():
    ax = plot_losses([[3.0, 2.0], History(losses=[5.0, 4.0, 1.0])], ["a", "b"])
    lines = ax.get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[3.0, 2.0], [5.0, 4.0, 1.0]]
    assert legend_texts(ax) == ["a", "b"]


def test_dict_of_runs_uses_keys_as_labels():
    ax = plot_losses({"lr 0.1": [3.0, 1.0], "lr 0.01": [3.0, 2.5]})
    assert legend_texts(ax) == ["lr 0.1", "lr 0.01"]
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [[3.0, 1.0], [3.0, 2.5]]


def test_floor_is_a_dashed_horizontal_line_in_the_legend():
    ax = plot_losses(History(losses=[3.0, 2.0, 1.0]), ["run"], floor=0.25)
    assert len(ax.get_lines()) == 2
    [floor_line] = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert set(floor_line.get_ydata()) == {0.25}
    assert legend_texts(ax) == ["run", "floor 0.25"]


def test_floor_alone_gets_a_legend():
    ax = plot_losses([3.0, 2.0], floor=0.5)
    assert legend_texts(ax) == ["floor 0.5"]


def test_linear_scale_by_default_log_scale_when_asked():
    assert plot_losses([3.0, 2.0]).get_yscale() == "linear"
    assert plot_losses([3.0, 2.0], log=True).get_yscale() == "log"


def test_draws_on_given_axes_with_title():
    fig, ax = plt.subplots()
    result = plot_losses([3.0, 2.0], ax=ax, title="Two steps", ylabel="loss")
    assert result is ax
    assert ax.get_title() == "Two steps"
    assert ax.get_ylabel() == "loss"
    assert len(plt.get_fignums()) == 1


def test_new_figure_when_no_axes_given():
    plot_losses([3.0, 2.0])
    plot_losses([3.0, 2.0])
    assert len(plt.get_fignums()) == 2


def test_empty_run_next_to_full_run_is_allowed():
    ax = plot_losses([[], [1.0, 0.5]], ["diverged at once", "fine"])
    assert len(curves(ax)) == 2


@pytest.mark.parametrize("runs", [[], History(), [[], []], {}, {"a": []}])
def test_rejects_nothing_to_plot(runs):
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_losses(runs)


def test_rejects_label_count_mismatch():
    with pytest.raises(ValueError, match="got 1 labels for 2 runs"):
        plot_losses([[1.0], [2.0]], ["only one"])


def test_rejects_labels_with_dict():
    with pytest.raises(ValueError, match="dict's keys or as labels=, not both"):
        plot_losses({"a": [1.0]}, ["b"])


@pytest.mark.parametrize("floor", [math.nan, math.inf, -math.inf])
def test_rejects_non_finite_floor(floor):
    with pytest.raises(ValueError, match="floor must be a finite number"):
        plot_losses([1.0, 0.5], floor=floor)


def test_rejects_run_that_is_not_numbers():
    with pytest.raises(TypeError, match="a run must be a History or a sequence of numbers, got int"):
        plot_losses([[1.0, 2.0], 3])


@pytest.mark.parametrize("make", [np.array, torch.tensor])
def test_a_numpy_array_or_tensor_is_one_run(make):
    ax = plot_losses(make([3.0, 2.0, 1.0]))
    assert len(ax.lines) == 1
    assert list(ax.lines[0].get_ydata()) == [3.0, 2.0, 1.0]


def test_image_grid_draws_one_axes_per_image_with_row_labels():
    from ae_utils.plots import image_grid

    rows = [torch.rand(4, 1, 28, 28), torch.rand(4, 28, 28)]
    fig = image_grid(rows, ["original", "epoch 1"], title="t")
    assert len(fig.axes) == 8
    assert fig.axes[0].get_ylabel() == "original" and fig.axes[4].get_ylabel() == "epoch 1"


@pytest.mark.parametrize(
    "rows, labels, message",
    [
        ([], None, "one or more rows"),
        ([torch.rand(3, 28, 28), torch.rand(2, 28, 28)], None, "same number"),
        ([torch.rand(3, 28, 28)], ["a", "b"], "2 row labels for 1 rows"),
    ],
)
def test_image_grid_rejects_bad_rows(rows, labels, message):
    from ae_utils.plots import image_grid

    with pytest.raises(ValueError, match=message):
        image_grid(rows, labels)


# ---------------------------------------------------------------- wrong types name the argument (issue 11)

WRONG = {"None": None, "ndarray": np.ones((2, 2), dtype=np.float32), "str": "abc", "list": [1.0, 2.0], "float": 2.5}


@pytest.mark.parametrize(
    "argument, kinds, error, message",
    [
        ("runs", ["None", "str", "float"], TypeError, "runs must be a History, a list of losses"),
        ("labels", ["str", "float"], TypeError, "labels must be a list of labels, one per run"),
        ("labels", ["ndarray", "list"], ValueError, "got 2 labels for 1 runs"),
        ("floor", ["ndarray", "str", "list"], TypeError, "floor must be a number, got "),
        ("log", WRONG, TypeError, "log must be True or False, got "),
        ("ax", ["ndarray", "str", "list", "float"], TypeError, "ax must be a Matplotlib Axes"),
        ("title", ["ndarray", "list", "float"], TypeError, "title must be a string, got "),
        ("ylabel", ["None", "ndarray", "list", "float"], TypeError, "ylabel must be a string, got "),
    ],
)
def test_plot_losses_wrong_types_name_the_argument(argument, kinds, error, message):
    for kind in kinds:
        with pytest.raises(error, match=message):
            plot_losses(**{"runs": [1.0, 0.5], argument: WRONG[kind]})


def test_a_run_that_is_not_numbers_says_what_runs_may_be():
    with pytest.raises(TypeError, match=r"a run must be .* got list \(runs must be a History, a list of losses"):
        plot_losses([[1.0], ["a", "b"]])


@pytest.mark.parametrize(
    "argument, kinds, error, message",
    [
        ("rows", ["None", "str", "float"], TypeError, "rows must be a list of image tensors, one per row, got "),
        ("rows", ["list"], TypeError, r"rows\[0\] must be a tensor of images shaped \(n, H, W\).* got float"),
        ("rows", ["ndarray"], ValueError, r"rows\[0\] must hold images shaped .* got shape \(2,\)"),
        ("row_labels", ["str", "float"], TypeError, "row_labels must be a list of labels, one per row, got "),
        ("row_labels", ["ndarray", "list"], ValueError, "got 2 row labels for 1 rows"),
        ("title", ["ndarray", "list", "float"], TypeError, "title must be a string, got "),
        ("scale", ["None", "ndarray", "str", "list"], TypeError, "scale must be a number, got "),
    ],
)
def test_image_grid_wrong_types_name_the_argument(argument, kinds, error, message):
    from ae_utils.plots import image_grid

    for kind in kinds:
        with pytest.raises(error, match=message):
            image_grid(**{"rows": [torch.rand(2, 28, 28)], argument: WRONG[kind]})


def test_image_grid_takes_numpy_rows_as_they_are():
    from ae_utils.plots import image_grid

    images = np.random.default_rng(0).random((3, 28, 28))
    fig = image_grid([images, torch.from_numpy(images).unsqueeze(1)])
    assert len(fig.axes) == 6
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[0])


@pytest.mark.parametrize(
    "rows, error, message",
    [
        (torch.rand(3, 28, 28), TypeError, r"got one Tensor of shape \(3, 28, 28\); for a single row .* \[images\]"),
        (
            [torch.rand(3, 784)],
            ValueError,
            r"rows\[0\] must hold images .* got shape \(3, 784\).*reshape\(-1, 28, 28\)",
        ),
        ([torch.rand(3, 3, 28, 28)], ValueError, r"got shape \(3, 3, 28, 28\)"),
        ([torch.rand(0, 28, 28)], ValueError, "one or more rows with the same number of images"),
    ],
)
def test_image_grid_refuses_rows_it_would_draw_wrongly(rows, error, message):
    from ae_utils.plots import image_grid

    with pytest.raises(error, match=message):
        image_grid(rows)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        image_grid([torch.rand(1, 28, 28)], scale=0)
