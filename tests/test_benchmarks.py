"""benchmarks/mnist_training.py: the floor does the model's matrix products; the epoch is cut into whole batches."""

import json
from collections import Counter

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ae_utils import mlp_autoencoder
from benchmarks.mnist_training import epoch_parts, ratio, speed, step_floor, time_to_target
from benchmarks.notebook03_seeds import RECORD as RECORD_03
from benchmarks.notebook03_seeds import RECORD_NAMES
from benchmarks.notebook04_seeds import RECORD

PRODUCTS = {"mm", "matmul", "__matmul__", "addmm", "bmm", "linear"}


class Products(TorchFunctionMode):
    """Records (rows, inner, columns) of every matrix product torch is asked for, however written."""

    def __init__(self):
        super().__init__()
        self.shapes = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in PRODUCTS:
            a, b = args[-2], args[-1]
            b_shape = b.shape[::-1] if name == "linear" else b.shape  # linear(x, weight) computes x @ weight.T
            self.shapes[(a.shape[0], a.shape[1], b_shape[1])] += 1
        return func(*args, **(kwargs or {}))


def nested_model() -> nn.Module:
    """Like the answer's model, a Sequential of two Sequentials: its top level holds no Linear."""
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 2))
    decoder = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 6), nn.Unflatten(1, (2, 3)))
    return nn.Sequential(encoder, decoder)


def test_the_floor_does_the_matrix_products_of_every_linear_layer_at_any_depth():
    # Layers 6->4, 4->2, 2->4, 4->6 at batch 3, as (rows, inner, columns): forward x W^T (3, in, out);
    # weight gradient dz^T x (out, 3, in); input gradient dz W (3, out, in), none for the first layer.
    forward = [(3, 6, 4), (3, 4, 2), (3, 2, 4), (3, 4, 6)]
    weight_grads = [(4, 3, 6), (2, 3, 4), (4, 3, 2), (6, 3, 4)]
    input_grads = [(3, 2, 4), (3, 4, 2), (3, 6, 4)]
    run = step_floor(nested_model(), batch_size=3)
    with Products() as products:
        run(2)
    assert products.shapes == Counter((forward + weight_grads + input_grads) * 2)


def test_the_floor_on_the_answers_model_multiplies_its_six_layers():
    run = step_floor(mlp_autoencoder(logits=True), batch_size=64)
    with Products() as products:
        run(1)
    sizes = [784, 256, 64, 32, 64, 256, 784]
    flops = sum(2 * 64 * a * b * (3 if i else 2) for i, (a, b) in enumerate(zip(sizes, sizes[1:])))
    assert sum(products.shapes.values()) == 6 + 6 + 5
    assert sum(2 * m * k * n * count for (m, k, n), count in products.shapes.items()) == flops


def test_the_floor_steps_adam_over_every_parameter_at_every_step():
    model = nested_model()
    run = step_floor(model, batch_size=3)
    for k in (1, 2):
        before = [p.clone() for p in model.parameters()]
        seconds, samples = run(k)
        assert samples == k * 3 and seconds > 0
        assert all(not torch.equal(p, q) for p, q in zip(model.parameters(), before))  # the biases too


@pytest.mark.parametrize(
    "n, batch_size, parts, sizes",
    [
        (1000, 64, 4, [256, 256, 256, 232]),  # 16 steps: 4 + 4 + 4 + 4, the last batch of 40
        (1000, 64, 3, [384, 384, 232]),  # 16 steps: 6 + 6 + 4, as torch.chunk cuts the rounds
        (100, 64, 4, [64, 36]),  # two steps: no more parts than steps
        (10, 64, 4, [10]),
    ],
)
def test_an_epoch_is_cut_into_parts_of_whole_batches(n, batch_size, parts, sizes):
    cut = epoch_parts(n, batch_size, parts, torch.Generator().manual_seed(0))
    assert [len(part) for part in cut] == sizes
    assert torch.equal(torch.cat(cut).sort().values, torch.arange(n))  # every sample once
    again = epoch_parts(n, batch_size, parts, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(cut, again))
    assert not torch.equal(torch.cat(cut), torch.arange(n))  # shuffled (for n > 1)


def test_speeds_and_their_ratio_over_the_rounds():
    measured = {"slow": [(2.0, 100), (1.0, 100)], "fast": [(1.0, 100), (1.0, 300)]}  # (seconds, samples)
    assert speed(measured["slow"]) == pytest.approx(200 / 3) and speed(measured["fast"]) == 200
    assert ratio(measured, "slow", "fast") == "3.00 (rounds 2.00 to 3.00)"
    assert ratio(measured, "fast", "slow") == "0.33 (rounds 0.33 to 0.50)"


def test_time_to_target_stops_at_the_first_check_at_or_below_it():
    images = torch.rand(512, 28, 28, generator=torch.Generator().manual_seed(0))
    recipe = {"lr": 1e-2, "batch_size": 128, "weight_decay": 0.0}
    seconds, bce, steps = time_to_target(images, images[:64], recipe, target=10.0, seed=0, max_epochs=3)
    assert steps == 1 and bce <= 10.0 and seconds > 0  # 512 = 4 x 128: one step per part, checked after it
    seconds, bce, steps = time_to_target(images, images[:64], recipe, target=0.0, seed=0, max_epochs=2)
    assert steps == 2 * 4 and bce > 0.0  # never reached: every step of both epochs taken


def test_notebook_04s_record_holds_one_value_per_seed_for_each_figure_the_notebook_reads():
    """benchmarks/results/notebook04_seeds.json, written by notebook04_seeds.py --record, read by notebook 04."""
    record = json.loads(RECORD.read_text())
    seeds = record["seeds"]
    assert seeds[0] == 0 and len(set(seeds)) == len(seeds) >= 5  # seed 0 is the notebook's own run
    assert set(record["linear steps"]) == {"k=2", "k=8", "k=32"}
    assert set(record["network"]) == set(record["PCA"]) == {"MSE k=2", "MSE k=32", "accuracy k=32"}
    for per_seed in [*record["linear steps"].values(), *record["network"].values()]:
        assert len(per_seed) == len(seeds)
    assert all(count % 32 == 0 for counts in record["linear steps"].values() for count in counts)  # whole passes
    assert all(0 < value < 1 for value in [*record["PCA"].values(), record["pixels"]["accuracy"]])
    notebook = (RECORD.parents[2] / "notebooks" / "04_linear_autoencoder_versus_pca.ipynb").read_text()
    assert "../benchmarks/results/notebook04_seeds.json" in notebook


def test_notebook_03s_record_holds_one_value_per_run_for_each_figure_the_notebook_reads():
    """benchmarks/results/notebook03_seeds.json, written by notebook03_seeds.py --record, read by notebook 03."""
    record = json.loads(RECORD_03.read_text())
    answer, fast = record["answer recipe"], record["fast recipe"]
    assert answer["seeds"][0] == 0 and fast["runs"][0] == [0, 0]  # the first run of each is the notebook's own
    assert record["shuffles of seed 0's weights"]["shuffles"][0] == 0
    assert len(record["shuffles of seed 0's weights"]["BCE after 2 epochs"]) == 4
    figures = {*answer, *fast, *record["no seed"]} - {"seeds", "runs"}
    assert figures == set(RECORD_NAMES.values())
    assert all(len(values) == len(answer["seeds"]) for values in answer.values())
    assert all(len(values) == len(fast["runs"]) for values in fast.values())
    notebook = (RECORD_03.parents[2] / "notebooks" / "03_sequential_autoencoder_on_mnist.ipynb").read_text()
    assert "../benchmarks/results/notebook03_seeds.json" in notebook


RECORD_05 = RECORD.parent / "notebook05_seeds.json"


def test_notebook_05s_record_holds_one_value_per_seed_for_each_figure_the_notebook_reads():
    """benchmarks/results/notebook05_seeds.json, written by notebook05_seeds.py --record, read by notebook 05."""
    from benchmarks.notebook05_seeds import SIGMAS

    record = json.loads(RECORD_05.read_text())
    seeds = record["seeds"]
    assert seeds[0] == 0 and len(seeds) == len(set(seeds)) >= 3  # seed 0 is the notebook's own run
    figures = ["conv MSE", "mlp MSE", "conv MSE moved", "mlp MSE moved", "masked MSE", "denoiser MSE on masked"]
    figures += [f"{name} MSE at {sigma}" for sigma in SIGMAS for name in ("noisy", "denoiser", "PCA", "blur")]
    for name in figures:
        assert len(record[name]) == len(seeds) and all(0 < value < 1 for value in record[name]), name
    for name in ("noisy", "PCA", "blur", "masked"):  # no training: the same in every run
        keys = [key for key in figures if key.startswith(name) and "denoiser" not in key]
        assert all(len(set(record[key])) == 1 for key in keys), name


def test_notebook_06s_record_holds_one_value_per_seed_for_each_figure_the_notebook_reads():
    """benchmarks/results/notebook06_seeds.json, written by notebook06_seeds.py --record, read by notebook 06."""
    from benchmarks.notebook06_seeds import BETAS, OUTSIDERS

    record = json.loads((RECORD.parent / "notebook06_seeds.json").read_text())
    seeds = record["seeds"]
    assert seeds[0] == 0 and len(seeds) == len(set(seeds)) >= 3  # seed 0 is the notebook's own run
    confidences = ["held-out", "AE random", "AE fitted", "VAE prior", "pixels halfway", "AE halfway", "VAE halfway"]
    shares = confidences + ["plane within 3"] + [f"AUC {m} {d}" for m in ("AE", "PCA") for d in OUTSIDERS]
    for name in shares:
        assert len(record[name]) == len(seeds) and all(0 <= value <= 1 for value in record[name]), name
    positive = ["VAE reconstruction", "AE reconstruction", "collapsed KL", "plane centre", "plane spread"]
    for name in positive + ["codes centre", "codes spread min", "codes spread max", "nearest ratio"]:
        assert len(record[name]) == len(seeds) and all(value >= 0 for value in record[name]), name
    assert all(len(set(record[f"AUC PCA {d}"])) == 1 for d in OUTSIDERS)  # no training: the same in every run
    for beta in BETAS:  # exercise 3
        assert all(value > 0 for value in record[f"beta {beta} reconstruction"] + record[f"beta {beta} KL"]), beta
        assert all(isinstance(n, int) and 0 <= n <= 20 for n in record[f"beta {beta} in use"]), beta
        assert len(record[f"beta {beta} KL"]) == len(seeds), beta
    assert record["beta 1 reconstruction"] == record["VAE reconstruction"]  # one model, measured twice alike
