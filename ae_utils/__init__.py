"""Helpers for the autoencoder course pack.

Each module has one job:

- ``reproducibility``: seed every generator at once; pick the device.
- ``datasets``: MNIST and Fashion-MNIST as tensors, local copies first, checksums checked.
- ``image_dataset``: image tensors served item by item, as torchvision's MNIST serves them.
- ``synthetic``: the small correlated data set of notebooks 01 and 02.
- ``training``: one optimisation loop that returns a loss history.
- ``pca``: PCA with torch.linalg; principal angles; the Rayleigh-Ritz step.
- ``theory``: the Eckart-Young floor and the largest stable learning rate.
- ``diagnose``: why does my loss not change? A set-up checker.
- ``metrics``: held-out reconstruction error, the same measure for every model.
- ``plots``: loss curves, several runs overlaid, with the floor drawn.
- ``models``: the course's autoencoders, from raw tensors or ``torch.nn``.
- ``widgets``: the slider panels of the notebooks.
- ``checks``: the argument checks every module uses.
- ``fast``: speed-only paths (hand-written backprop, CUDA graphs, the sliders' SGD), each
  measured and tested against the plain path; the teaching core never imports them.
"""

from . import checks, fast, widgets
from .datasets import DatasetCorrupt, DatasetNotFound, load_images
from .diagnose import SetupReport, check_setup
from .image_dataset import ImageDataset
from .metrics import reconstruction_loss
from .models import linear_ae_reconstruction, mlp_autoencoder, raw_linear_ae, raw_linear_ae_forward
from .pca import pca, pca_reconstruct, principal_angles, rayleigh_ritz
from .plots import plot_losses
from .reproducibility import pick_device, seed_everything
from .synthetic import correlated_data
from .theory import eckart_young_floor, max_stable_lr
from .training import History, TrainingDiverged, train

__all__ = [
    "checks",
    "fast",
    "widgets",
    "DatasetCorrupt",
    "DatasetNotFound",
    "History",
    "ImageDataset",
    "SetupReport",
    "TrainingDiverged",
    "check_setup",
    "correlated_data",
    "eckart_young_floor",
    "linear_ae_reconstruction",
    "load_images",
    "max_stable_lr",
    "mlp_autoencoder",
    "pick_device",
    "pca",
    "pca_reconstruct",
    "plot_losses",
    "principal_angles",
    "raw_linear_ae",
    "rayleigh_ritz",
    "reconstruction_loss",
    "raw_linear_ae_forward",
    "seed_everything",
    "train",
]
