"""plots.plot_losses: one run or several, labels, the floor line, log scale, and errors."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from ae_utils.plots import image_grid, plot_losses
from ae_utils.training import History


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
    for kind in kinds:
        with pytest.raises(error, match=message):
            image_grid(**{"rows": [torch.rand(2, 28, 28)], argument: WRONG[kind]})


def test_image_grid_takes_numpy_rows_as_they_are():
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
    with pytest.raises(error, match=message):
        image_grid(rows)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        image_grid([torch.rand(1, 28, 28)], scale=0)


# ---------------------------------------------------------------- issue 17: arrays of runs, integer images


@pytest.mark.parametrize("make", [np.array, torch.tensor])
def test_a_2d_array_or_tensor_is_one_run_per_row(make):
    ax = plot_losses(make([[3.0, 2.0, 1.0], [5.0, 4.0, 0.5]]), ["a", "b"])
    assert [list(line.get_ydata()) for line in ax.lines] == [[3.0, 2.0, 1.0], [5.0, 4.0, 0.5]]
    assert [list(line.get_xdata()) for line in ax.lines] == [[1, 2, 3], [1, 2, 3]]
    assert legend_texts(ax) == ["a", "b"]


@pytest.mark.parametrize("runs", [np.zeros((2, 3, 4)), torch.zeros(1, 1, 1)])
def test_an_array_of_more_than_two_dimensions_is_refused(runs):
    with pytest.raises(
        ValueError, match=r"runs as an array must have shape \(steps,\) or \(runs, steps\), got \w+ of shape \("
    ):
        plot_losses(runs)


@pytest.mark.parametrize("number", [torch.tensor, np.float64, np.array])
def test_a_list_of_single_numbers_as_tensors_or_numpy_scalars_is_one_run(number):
    ax = plot_losses([number(3.0), number(2.0), number(0.5)])  # losses.append(loss.detach()), say
    assert [list(line.get_ydata()) for line in ax.lines] == [[3.0, 2.0, 0.5]]


def test_a_run_of_losses_that_require_grad_is_drawn():
    ax = plot_losses(torch.tensor([2.0, 1.0], requires_grad=True) * 1)
    assert list(ax.lines[0].get_ydata()) == [2.0, 1.0]


def normalised(fig) -> list[np.ndarray]:
    """What each axes of ``fig`` shows, as grey levels from 0 (black) to 1 (white)."""
    return [np.asarray(ax.images[0].norm(ax.images[0].get_array()), dtype=float) for ax in fig.axes]


def test_image_grid_draws_floats_from_0_black_to_1_white():
    images = torch.tensor([[[0.0, 0.25], [0.5, 1.0]]])
    [shown] = normalised(image_grid([images]))
    np.testing.assert_allclose(shown, images[0].numpy())


@pytest.mark.parametrize("make", [lambda x: x, lambda x: x.numpy()])
def test_image_grid_draws_uint8_pixels_0_to_255_as_the_same_picture_in_0_to_1(make):
    pixels = torch.tensor([[[0, 51], [128, 255]], [[255, 0], [3, 254]]], dtype=torch.uint8)
    shown = normalised(image_grid([make(pixels), pixels.float() / 255]))
    np.testing.assert_allclose(shown[0], pixels[0].numpy() / 255, atol=1e-7)
    np.testing.assert_allclose(shown[1], pixels[1].numpy() / 255, atol=1e-7)
    np.testing.assert_allclose(shown[:2], shown[2:], atol=1e-7)


@pytest.mark.parametrize(
    "row", [torch.full((2, 3, 3), 200), np.full((2, 3, 3), 7, dtype=np.int32), torch.zeros(2, 3, 3, dtype=torch.int16)]
)
def test_image_grid_refuses_other_integer_images_saying_how_to_convert(row):
    with pytest.raises(
        TypeError,
        match=r"rows\[1\] has dtype int\d+; .* uint8 pixels 0\.\.255: for other whole-number .* pass rows\[1\] / 255$",
    ):
        image_grid([torch.rand(2, 3, 3), row])


def test_image_grid_draws_bool_and_half_precision_images():
    mask = torch.tensor([[[True, False], [False, True]]])
    shown = normalised(image_grid([mask, mask.half(), mask.to(torch.bfloat16)]))
    for picture in shown:
        np.testing.assert_array_equal(picture, [[1.0, 0.0], [0.0, 1.0]])


def test_image_grid_layout_rows_columns_size_labels_and_title():
    fig = image_grid([torch.rand(3, 4, 5), torch.rand(3, 1, 4, 5)], ["top", "bottom"], title="T", scale=2.0)
    assert list(fig.get_size_inches()) == [6.0, 4.0]  # 3 columns x 2 rows of 2-inch images
    assert [ax.get_ylabel() for ax in fig.axes] == ["top", "", "", "bottom", "", ""]
    assert all(ax.get_xticks().size == 0 and ax.get_yticks().size == 0 for ax in fig.axes)
    assert fig.get_suptitle() == "T"
    assert fig.axes[3].images[0].get_array().shape == (4, 5)


def test_image_grid_shows_each_image_in_its_place():
    rows = [torch.rand(2, 3, 3, generator=torch.Generator().manual_seed(s)) for s in range(3)]
    shown = normalised(image_grid(rows))
    expected = [image.numpy() for row in rows for image in row]
    for picture, image in zip(shown, expected):
        np.testing.assert_allclose(picture, image, rtol=1e-6)
    assert normalised(image_grid(rows[:1]))[0].shape == (3, 3)


def test_floor_label_has_four_significant_digits_and_a_given_axes_keeps_its_title():
    fig, ax = plt.subplots()
    ax.set_title("lr 0.5")
    plot_losses([1.0, 0.5], floor=0.0123456, ax=ax)
    assert legend_texts(ax) == ["floor 0.01235"] and ax.get_title() == "lr 0.5"
