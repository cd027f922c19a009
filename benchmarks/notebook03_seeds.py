"""Notebook 03's quick run over several training seeds: every spread over seeds that the notebook's comments cite.

The notebook's quick run (8,000 digits of MNIST's test split for training, the other 2,000 held out) trains each
recipe once, its initial weights and its shuffle drawn from seed 0; its comments say what other seeds gave. This
script trains those seeds as the notebook's cells do and prints each figure beside what the notebook cites:

- sections 3 and 4 (cells 17 and 26), the answer's recipe (Adam at 1e-3, ``BCELoss``, 20 epochs) with initial
  weights and shuffle from seeds 0 to 3: the largest standard deviation of a pixel across the held-out
  reconstructions after epochs 2 and 4 (steps 250 and 500), how many of the ten example digits come out closest to
  their own digit through epoch 8 and after epoch 20; and how far apart the held-out BCEs after 2 epochs lie when
  seed 0's initial weights are shuffled by seeds 0 to 3;
- exercise 1 (cell 62): the held-out BCE of ten untrained models (seeds 1 to 10);
- Going deeper and exercises 2 and 3 (cells 56, 58, 64 and 66), the fast recipe (Adam at 1e-2, ``BCEWithLogitsLoss``,
  10 epochs) in nine runs, seeds 0 to 5 for both the initial weights and the shuffle, and initial weights from seeds
  1 to 3 with seed 0's shuffle: nearest-class-mean accuracy in the codes' plane against PCA's plane of the pixels;
  PCA's held-out MSE at 32 numbers against the code's; nearest-class-mean accuracy on the code's 32 numbers against
  PCA's 32 and the pixels; the output's error against the noisy input's at noise 0.2 and 0.5; and how far decoding
  the codes' plane goes towards the average digit.

5 to 7 minutes on one thread of a busy two-core machine (under 3 minutes of CPU time): 4 runs of the answer's
recipe, 3 more of 2 epochs, 9 of the fast recipe. The figures are this machine's: another CPU's kernels round
differently, and the trained weights differ with them.

    AE_DATA_DIR=... OMP_NUM_THREADS=1 .venv/bin/python benchmarks/notebook03_seeds.py

With ``--record`` the per-run figures go to ``benchmarks/results/notebook03_seeds.json`` (with the default seeds),
which notebook 03 reads to print and check the spreads it cites; re-record after changing what the notebook trains.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn, optim

if __package__ in (None, ""):  # run as a file, python benchmarks/notebook03_seeds.py: import from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ae_utils as ae  # noqa: E402
from benchmarks.notebook04_seeds import nearest_class_mean, network, pca_measures, quick_run_split  # noqa: E402

RECORD = Path(__file__).parent / "results" / "notebook03_seeds.json"
ANSWER_FIRST_LINE = 0.702496349811554  # the answer's first logged loss, answer_table[0] in the notebook

# figure -> (its format, what the notebook's comments cite or assert for it)
CITED = {
    "cell 17: BCE after 2 epochs, shuffles of seed 0's weights, (max - min) / min": (".2%", "0.3%; asserted < 1%"),
    "cell 26: pixel spread after epoch 2 (step 250)": (".3f", "0.06 to 0.07; asserted < 0.1 and < digits' / 4"),
    "cell 26: pixel spread after epoch 4 (step 500)": (".3f", "0.22 to 0.25; asserted > 0.15"),
    "cell 26: own digit, most over epochs 1 to 8": (".0f", "at most 2 (asserted)"),
    "cell 26: own digit after epoch 20": (".0f", "asserted >= 5"),
    "cell 26: RMS distance to the average digit after epoch 2": (".3f", "asserted < 0.05"),
    "cell 26: all ten closest to one digit after epoch 2 (1 = yes)": (".0f", "asserted"),
    "cell 62: held-out BCE of an untrained model, seeds 1 to 10": (".3f", "0.699 to 0.711, around the answer's 0.702"),
    "cell 56: nearest mean in the codes' plane": (".2%", "40.6% to 49.9%"),
    "cell 56: |codes' plane - PCA's plane|": (".2%", "at most 5.5 points; asserted < 8"),
    "cell 58: PCA's MSE / the code's, 32 numbers": (".3f", "0.48 to 0.54; asserted < 0.6"),
    "cell 58: nearest mean on the code's 32 numbers": (".2%", "75.2% to 77.1%"),
    "cell 58: min(PCA's 32, pixels) - the code's 32": (".2%", "asserted > 3 points"),
    "cell 64: output / input MSE at noise 0.5": (".3f", "0.55 to 0.63; asserted < 0.8"),
    "cell 64: output / input MSE at noise 0.2": (".3f", "1.7 to 1.9; asserted > 1"),
    "cell 64: output's MSE at noise 0 / input's at 0.2": (".3f", "asserted > 1"),
    "cell 66: two numbers' BCE, the way to the average digit": (".3f", "0.75 to 0.87; asserted > 0.5"),
    "cell 66: the fast model's held-out BCE": (".4f", "0.1672 in the notebook's run (weights and shuffle 0)"),
}
FIXED_CITED = {  # figures that do not depend on the seed
    "cell 56: nearest mean in the pixels' PCA plane": (".2%", "44.5%"),
    "cell 58: nearest mean on PCA's 32 numbers": (".2%", "82.1%"),
    "cell 58: nearest mean on the 784 pixels": (".2%", "82.7%"),
    "cell 26: largest pixel spread across the held-out digits": (".3f", "0.45 (the notebook's output)"),
}


def examples(test_y: torch.Tensor) -> torch.Tensor:
    """Cell 4's ``show``: the first held-out example of each digit."""
    return torch.tensor([int((test_y == digit).nonzero()[0]) for digit in range(10)])


def initial_state(seed: int) -> dict[str, torch.Tensor]:
    """The answer's model's initial weights as the notebook draws them: ``ae.seed_everything(seed)``, then the model."""
    ae.seed_everything(seed)
    return ae.mlp_autoencoder().state_dict()


def answer_run(data, weights_seed: int, shuffle_seed: int, epochs: int = 20):
    """Cell 15: the answer's recipe from seed ``weights_seed``'s initial weights, shuffled by ``shuffle_seed``.

    Returns the held-out BCE, the reconstructions of the ten example digits and the largest standard deviation of a
    pixel across the held-out reconstructions, each after every epoch.
    """
    train_x, _, test_x, test_y = data
    show = examples(test_y)
    model = ae.mlp_autoencoder()
    model.load_state_dict(initial_state(weights_seed))
    snapshots, spreads = [], []

    def after_epoch():
        reconstructions = model(test_x)
        snapshots.append(reconstructions[show])
        spreads.append(reconstructions.std(dim=0).max().item())
        return nn.BCELoss()(reconstructions, test_x).item()

    optimizer = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    history = ae.train(model, train_x, optimizer, nn.BCELoss(), epochs=epochs, batch_size=64,
                       generator=torch.Generator().manual_seed(shuffle_seed), after_epoch=after_epoch)  # fmt: skip
    return history.evaluations, snapshots, spreads


def blur_measures(data, snapshots, spreads) -> dict[str, float]:
    """Cell 26: when the answer's reconstructions stop being one blur and become digits."""
    train_x, _, test_x, test_y = data
    originals = test_x[examples(test_y)].flatten(1)
    own_digit = [int((torch.cdist(s.flatten(1), originals).argmin(dim=1) == torch.arange(10)).sum()) for s in snapshots]
    nearest_at_2 = torch.cdist(snapshots[1].flatten(1), originals).argmin(dim=1)
    to_average = (snapshots[1] - train_x.mean(dim=0)).pow(2).mean().sqrt().item()  # RMS distance, per pixel
    return {
        "cell 26: pixel spread after epoch 2 (step 250)": spreads[1],
        "cell 26: pixel spread after epoch 4 (step 500)": spreads[3],
        "cell 26: own digit, most over epochs 1 to 8": max(own_digit[:8]),
        "cell 26: own digit after epoch 20": own_digit[-1],
        "cell 26: RMS distance to the average digit after epoch 2": to_average,
        "cell 26: all ten closest to one digit after epoch 2 (1 = yes)": float((nearest_at_2 == nearest_at_2[0]).all()),
    }


def fast_model(train_x: torch.Tensor, weights_seed: int, shuffle_seed: int) -> nn.Module:
    """Cell 33: the fast recipe from seed ``weights_seed``'s initial weights, shuffled by ``shuffle_seed``."""
    if weights_seed == shuffle_seed:  # the same computation as notebook 04's: one seed for weights and shuffle
        return network(train_x, 32, weights_seed)
    model = ae.mlp_autoencoder(logits=True)
    model.load_state_dict(initial_state(weights_seed))
    optimizer = optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
    ae.train(model, train_x, optimizer, nn.BCEWithLogitsLoss(), epochs=10, batch_size=64,
             generator=torch.Generator().manual_seed(shuffle_seed))  # fmt: skip
    return model


def fixed_measures(data) -> dict[str, float]:
    """The figures of cells 26, 56 and 58 that no training seed changes: PCA's, the pixels' and the digits' own."""
    train_x, train_y, test_x, test_y = data
    train_pixels, test_pixels = train_x.flatten(1), test_x.flatten(1)
    mean, components, _ = ae.pca(train_pixels, 2)
    pca = pca_measures(*data)
    return {
        "cell 56: nearest mean in the pixels' PCA plane": nearest_class_mean(
            (train_pixels - mean) @ components.T, train_y, (test_pixels - mean) @ components.T, test_y
        ),
        "cell 58: nearest mean on PCA's 32 numbers": pca["NCM PCA-32"],
        "cell 58: nearest mean on the 784 pixels": pca["NCM pixels"],
        "cell 26: largest pixel spread across the held-out digits": test_x.std(dim=0).max().item(),
        "PCA MSE k=32": pca["PCA MSE k=32"],
        "average digit's BCE": nn.BCELoss()(train_x.mean(dim=0).expand_as(test_x), test_x).item(),
    }


def code_measures(data, model: nn.Module, fixed: dict[str, float]) -> dict[str, float]:
    """Cells 56 and 58: the code, in its plane and whole, against PCA and the pixels."""
    train_x, train_y, test_x, test_y = data
    with torch.no_grad():
        train_codes, codes = model[0](train_x), model[0](test_x)
        code_mse = nn.functional.mse_loss(torch.sigmoid(model(test_x)), test_x).item()
    centre = train_codes.mean(dim=0)
    _, _, directions = torch.linalg.svd(train_codes - centre, full_matrices=False)
    in_plane = nearest_class_mean(
        (train_codes - centre) @ directions[:2].T, train_y, (codes - centre) @ directions[:2].T, test_y
    )
    code_32 = nearest_class_mean(train_codes, train_y, codes, test_y)
    pca_plane = fixed["cell 56: nearest mean in the pixels' PCA plane"]
    others = min(fixed["cell 58: nearest mean on PCA's 32 numbers"], fixed["cell 58: nearest mean on the 784 pixels"])
    return {
        "cell 56: nearest mean in the codes' plane": in_plane,
        "cell 56: |codes' plane - PCA's plane|": abs(in_plane - pca_plane),
        "cell 58: PCA's MSE / the code's, 32 numbers": fixed["PCA MSE k=32"] / code_mse,
        "cell 58: nearest mean on the code's 32 numbers": code_32,
        "cell 58: min(PCA's 32, pixels) - the code's 32": others - code_32,
    }


def noise_measures(model: nn.Module, test_x: torch.Tensor) -> dict[str, float]:
    """Cell 64 (exercise 2): the output's MSE from the clean digits against the noisy input's."""
    noise = torch.randn(test_x.shape, generator=torch.Generator().manual_seed(0))
    errors = {}  # sigma -> (the noisy input's MSE, the output's MSE), both against the clean digits
    for sigma in (0.0, 0.2, 0.5):
        noisy = (test_x + sigma * noise).clamp(0, 1)
        with torch.no_grad():
            cleaned = torch.sigmoid(model(noisy))
        errors[sigma] = nn.functional.mse_loss(noisy, test_x).item(), nn.functional.mse_loss(cleaned, test_x).item()
    return {
        "cell 64: output / input MSE at noise 0.5": errors[0.5][1] / errors[0.5][0],
        "cell 64: output / input MSE at noise 0.2": errors[0.2][1] / errors[0.2][0],
        "cell 64: output's MSE at noise 0 / input's at 0.2": errors[0.0][1] / errors[0.2][0],
    }


def plane_decoding(data, model: nn.Module, average: float) -> dict[str, float]:
    """Cell 66 (exercise 3): how far decoding the codes' plane goes from the full code's BCE to the average digit's."""
    train_x, _, test_x, _ = data
    with torch.no_grad():
        train_codes, codes = model[0](train_x), model[0](test_x)
        centre = train_codes.mean(dim=0)
        _, _, directions = torch.linalg.svd(train_codes - centre, full_matrices=False)
        plane = (codes - centre) @ directions[:2].T
        from_plane = model[1](centre + plane @ directions[:2])
    full_code = ae.evaluate(model, test_x, nn.BCEWithLogitsLoss())
    two_code = nn.BCEWithLogitsLoss()(from_plane, test_x).item()
    return {
        "cell 66: two numbers' BCE, the way to the average digit": (two_code - full_code) / (average - full_code),
        "cell 66: the fast model's held-out BCE": full_code,
    }


def untrained_losses(test_x: torch.Tensor, seeds: list[int]) -> list[float]:
    """Cell 62 (exercise 1): the held-out BCE of the untrained model drawn from each seed."""
    losses = []
    for seed in seeds:
        ae.seed_everything(seed)
        with torch.no_grad():
            losses.append(nn.BCELoss()(ae.mlp_autoencoder()(test_x), test_x).item())
    return losses


def show_row(label: str, row: dict[str, float]) -> None:
    print(f"{label}: " + "; ".join(f"{name.split(': ')[1]} {value:{CITED[name][0]}}" for name, value in row.items()))


def answer_rows(data, seeds: list[int]) -> list[dict[str, float]]:
    """Cells 15, 17 and 26 for each seed, and cell 17's shuffles of seed 0's weights (seed 0's own run among them)."""
    rows, after_2 = [], {}
    for seed in seeds:
        evaluations, snapshots, spreads = answer_run(data, seed, seed)
        rows.append(blur_measures(data, snapshots, spreads))
        show_row(f"answer's recipe, seed {seed}", rows[-1])
        if seed == 0:
            after_2[0] = evaluations[1]
    for shuffle in range(4):
        if shuffle not in after_2:
            after_2[shuffle] = answer_run(data, 0, shuffle, epochs=2)[0][1]
    print("cell 17: held-out BCE after 2 epochs, seed 0's weights, shuffles 0 to 3: "
          + ", ".join(f"{value:.4f}" for value in after_2.values()))  # fmt: skip
    spread = max(after_2.values()) / min(after_2.values()) - 1
    rows.append({"cell 17: BCE after 2 epochs, shuffles of seed 0's weights, (max - min) / min": spread})
    rows.append({"cell 17: BCE after 2 epochs, shuffles 0 to 3 of seed 0's weights": [after_2[s] for s in range(4)]})
    return rows


def fast_rows(data, runs: list[tuple[int, int]], fixed: dict[str, float]) -> list[dict[str, float]]:
    """Cells 56, 58, 64 and 66 for each (weights seed, shuffle seed) of the fast recipe."""
    rows = []
    for weights_seed, shuffle_seed in runs:
        model = fast_model(data[0], weights_seed, shuffle_seed)
        rows.append(
            code_measures(data, model, fixed)
            | noise_measures(model, data[2])
            | plane_decoding(data, model, fixed["average digit's BCE"])
        )
        show_row(f"fast recipe, weights {weights_seed}, shuffle {shuffle_seed}", rows[-1])
    return rows


def summary(rows: list[dict[str, float]], fixed: dict[str, float]) -> None:
    """Each figure's range over the runs that measured it, beside what the notebook cites."""
    print("\nmeasured, against what notebook 03 cites:")
    for name, (form, cited) in FIXED_CITED.items():
        print(f"{name}: {fixed[name]:{form}} (notebook: {cited})")
    for name, (form, cited) in CITED.items():
        values = [row[name] for row in rows if name in row and not isinstance(row[name], list)]
        if len(values) == 1:
            print(f"{name}: {values[0]:{form}} (notebook: {cited})")
        elif values:
            print(f"{name}: {min(values):{form}} to {max(values):{form}} over {len(values)} (notebook: {cited})")


# The figures the record keeps, under the names notebook 03 reads them by
RECORD_NAMES = {
    "cell 26: pixel spread after epoch 2 (step 250)": "spread at 250 steps",
    "cell 26: pixel spread after epoch 4 (step 500)": "spread at 500 steps",
    "cell 26: own digit, most over epochs 1 to 8": "own digit, most through 1,000 steps",
    "cell 26: own digit after epoch 20": "own digit at 2,500 steps",
    "cell 56: nearest mean in the codes' plane": "plane accuracy",
    "cell 58: PCA's MSE / the code's, 32 numbers": "PCA's MSE / the code's",
    "cell 58: nearest mean on the code's 32 numbers": "code accuracy",
    "cell 64: output / input MSE at noise 0.5": "output / input MSE at noise 0.5",
    "cell 64: output / input MSE at noise 0.2": "output / input MSE at noise 0.2",
    "cell 64: output's MSE at noise 0 / input's at 0.2": "output's MSE at noise 0 / input's at 0.2",
    "cell 66: two numbers' BCE, the way to the average digit": "plane's way to the average digit",
    "cell 66: the fast model's held-out BCE": "held-out BCE",
    "cell 56: nearest mean in the pixels' PCA plane": "PCA plane accuracy",
    "cell 58: nearest mean on PCA's 32 numbers": "PCA accuracy",
    "cell 58: nearest mean on the 784 pixels": "pixel accuracy",
    "cell 26: largest pixel spread across the held-out digits": "digits' spread",
}


def record(fixed: dict[str, float], answer: list[dict], shuffles: list[float], fast: list[dict], args) -> None:
    """Writes the figures of each run as JSON, under RECORD_NAMES: notebook 03 reads them."""

    def per_run(rows: list[dict]) -> dict[str, list[float]]:
        return {RECORD_NAMES[name]: [row[name] for row in rows] for name in rows[0] if name in RECORD_NAMES}

    results = {
        "made_by": "benchmarks/notebook03_seeds.py --record",
        "data": "notebook 03's quick run: 8,000 digits of MNIST's test split for training, the other 2,000 held out",
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        # the answer's recipe (Adam at 1e-3, 20 epochs), initial weights and shuffle from each seed
        "answer recipe": {"seeds": args.answer_seeds, **per_run(answer)},
        # the same recipe for 2 epochs from seed 0's initial weights, shuffled by seeds 0 to 3
        "shuffles of seed 0's weights": {"shuffles": [0, 1, 2, 3], "BCE after 2 epochs": shuffles},
        # the fast recipe (Adam at 1e-2, logit form, 10 epochs): [initial weights' seed, shuffle's seed] of each run
        "fast recipe": {"runs": [[w, s] for w, s in fast_runs(args)], **per_run(fast)},
        "no seed": {RECORD_NAMES[name]: value for name, value in fixed.items() if name in RECORD_NAMES},
    }
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(results, indent=1) + "\n")
    print(f"recorded in {RECORD}")


def fast_runs(args) -> list[tuple[int, int]]:
    return [(seed, seed) for seed in args.fast_seeds] + [(seed, 0) for seed in args.weights_seeds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answer-seeds", type=int, nargs="*", default=[0, 1, 2, 3], help="weights and shuffle")
    parser.add_argument("--fast-seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4, 5], help="weights and shuffle")
    parser.add_argument("--weights-seeds", type=int, nargs="*", default=[1, 2, 3], help="with shuffle 0")
    parser.add_argument("--record", action="store_true", help=f"write each run's figures to {RECORD}")
    args = parser.parse_args()
    start = time.perf_counter()
    data = quick_run_split()
    fixed = fixed_measures(data)
    rows = [
        {"cell 62: held-out BCE of an untrained model, seeds 1 to 10": v}
        for v in untrained_losses(data[2], range(1, 11))
    ]
    first = ae.mlp_autoencoder()
    first.load_state_dict(initial_state(0))
    with torch.no_grad():
        print(f"cell 62: the notebook's own start (seed 0) {nn.BCELoss()(first(data[2]), data[2]).item():.3f}; "
              f"the answer's first line {ANSWER_FIRST_LINE:.3f}")  # fmt: skip
    answer = answer_rows(data, args.answer_seeds)
    fast = fast_rows(data, fast_runs(args), fixed)
    rows += answer + fast
    summary(rows, fixed)
    if args.record:
        shuffles = answer[-1]["cell 17: BCE after 2 epochs, shuffles 0 to 3 of seed 0's weights"]
        record(fixed, answer[:-2], shuffles, fast, args)
    print(f"{time.perf_counter() - start:.0f} s in all, {torch.get_num_threads()} thread(s)")


if __name__ == "__main__":
    main()
