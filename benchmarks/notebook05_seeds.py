"""Notebook 05's quick-run claims, measured over several seeds (the notebook trains seed 0 only), so that the
notebook claims only what holds across them:

- ``compare``: the convolutional autoencoder against the answer's MLP, both with a 32-number code, trained alike
  (Adam at 1e-2, weight decay 1e-5, batches of 64, ``EPOCHS`` epochs, logits with ``nn.BCEWithLogitsLoss``):
  held-out BCE and MSE, and the shift test (held-out digits moved 4 pixels right: MSE moved / MSE centred);
- ``denoise``: the convolutional denoiser trained at sigma = 0.5 against the noisy input, PCA's projection and a
  Gaussian blur (each baseline's k or width chosen on 2,000 of the training digits), held-out MSE at each noise level.

The quick run's data: 8,000 digits of MNIST's test split for training, the other 2,000 held out.

    AE_DATA_DIR=... OMP_NUM_THREADS=1 .venv/bin/python benchmarks/notebook05_seeds.py --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn, optim
from torchvision.transforms.functional import gaussian_blur

import ae_utils as ae

EPOCHS, TRAINED_AT = 4, 0.5
SIGMAS = (0.1, 0.25, 0.5, 0.75, 1.0)
PCA_KS, BLUR_WIDTHS = (8, 16, 32, 64, 128, 256), (0.5, 0.7, 1.0, 1.4, 2.0)
RECORD = Path(__file__).parent / "results" / "notebook05_seeds.json"


def quick_run_split() -> tuple[torch.Tensor, torch.Tensor]:
    """Notebook 05's quick run, as notebook 04's: (training images, held-out images)."""
    images, _ = ae.load_images("mnist", "test")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    return images[order[:8000]], images[order[8000:]]


def trained(model: nn.Module, x: torch.Tensor, seed: int, sigma: float | None = None) -> nn.Module:
    """``model`` trained on ``x`` (``sigma``: on noisy copies, to reconstruct the clean digit)."""
    adam = optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
    shuffle = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        for rows in torch.randperm(len(x), generator=shuffle).split(64):
            clean = x[rows]
            noisy = clean if sigma is None else ae.corrupt(clean, "gaussian", sigma, shuffle)
            loss = F.binary_cross_entropy_with_logits(model(noisy), clean)
            adam.zero_grad()
            loss.backward()
            adam.step()
    return model.eval()


def reconstruct(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.sigmoid(model(x))


def compare(train_x, test_x, seed: int) -> dict[str, float]:
    moved = F.pad(test_x[..., :-4], (4, 0))  # 4 pixels right, the 4 columns moved out dropped
    row = {}
    for name, build in (("conv", ae.conv_autoencoder), ("mlp", ae.mlp_autoencoder)):
        torch.manual_seed(seed)
        start = time.perf_counter()
        model = trained(build(logits=True), train_x, seed)
        row[f"{name} seconds"] = time.perf_counter() - start
        with torch.no_grad():
            row[f"{name} BCE"] = F.binary_cross_entropy_with_logits(model(test_x), test_x).item()
        row[f"{name} MSE"] = F.mse_loss(reconstruct(model, test_x), test_x).item()
        row[f"{name} MSE moved"] = F.mse_loss(reconstruct(model, moved), moved).item()
    return row


def pca_projection(mean, components, x, k):
    return ae.pca_reconstruct(x.flatten(1), mean, components[:k]).clamp(0, 1).view_as(x)


def blurred(x, width):
    return gaussian_blur(x.unsqueeze(1), kernel_size=9, sigma=width).squeeze(1)


def denoise(train_x, test_x, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    model = trained(ae.conv_autoencoder(logits=True), train_x, seed, sigma=TRAINED_AT)
    mean, components, _ = ae.pca(train_x.flatten(1), max(PCA_KS))
    row = {}
    for sigma in SIGMAS:
        tune_x = train_x[:2000]  # the training digits each baseline's setting is chosen on
        noisy_tune = ae.corrupt(tune_x, "gaussian", sigma, torch.Generator().manual_seed(1))
        noisy = ae.corrupt(test_x, "gaussian", sigma, torch.Generator().manual_seed(2))
        k = min(PCA_KS, key=lambda k: F.mse_loss(pca_projection(mean, components, noisy_tune, k), tune_x))
        width = min(BLUR_WIDTHS, key=lambda w: F.mse_loss(blurred(noisy_tune, w), tune_x))
        for name, out in (
            ("noisy", noisy),
            ("denoiser", reconstruct(model, noisy)),
            ("PCA", pca_projection(mean, components, noisy, k)),
            ("blur", blurred(noisy, width)),
        ):
            row[f"{name} MSE at {sigma}"] = F.mse_loss(out, test_x).item()
        row[f"PCA k at {sigma}"], row[f"blur width at {sigma}"] = k, width
    masked = ae.corrupt(test_x, "mask", 0.5, torch.Generator().manual_seed(3))
    row["masked MSE"] = F.mse_loss(masked, test_x).item()
    row["denoiser MSE on masked"] = F.mse_loss(reconstruct(model, masked), test_x).item()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--record", action="store_true", help=f"write the per-seed results to {RECORD}")
    args = parser.parse_args()
    train_x, test_x = quick_run_split()
    rows = {}
    for seed in args.seeds:
        rows[seed] = {**compare(train_x, test_x, seed), **denoise(train_x, test_x, seed)}
        print(f"seed {seed}: " + ", ".join(f"{name} {value:.4g}" for name, value in rows[seed].items()), flush=True)
    for name in rows[args.seeds[0]]:
        values = [row[name] for row in rows.values()]
        print(f"{name}: {min(values):.4g} to {max(values):.4g} over seeds {args.seeds}")
    if args.record:
        record = {
            "made_by": "benchmarks/notebook05_seeds.py --record",
            "data": "notebook 05's quick run: 8,000 digits of MNIST's test split for training, 2,000 held out",
            "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "epochs": EPOCHS,
            "seeds": args.seeds,
            **{name: [row[name] for row in rows.values()] for name in rows[args.seeds[0]] if "seconds" not in name},
        }
        RECORD.parent.mkdir(exist_ok=True)
        RECORD.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
