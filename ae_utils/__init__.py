"""Helpers for the autoencoder course pack, one job a module (its docstring says which): data, models, training,
pca, theory, diagnose, plots, widgets and reproducibility, then corruption, variational and anomaly for notebooks
05 and 06; ``checks`` holds the argument checks every module uses (importable, not what notebooks call)."""

from . import plots, widgets
from .anomaly import roc_auc
from .corruption import corrupt
from .data import ImageDataset, correlated_data, load_images
from .diagnose import SetupReport, check_setup
from .models import conv_autoencoder, mlp_autoencoder, raw_linear_ae, raw_linear_ae_forward
from .pca import covariance, pca, pca_reconstruct
from .plots import plot_losses
from .reproducibility import pick_device, seed_everything
from .theory import eckart_young_floor, max_stable_lr
from .training import History, TrainingDiverged, evaluate, sgd_linear_ae, train, train_epoch, train_linear_ae
from .variational import VAE, kl_divergence

# By the notebook that first teaches each name (the formatter would put one name on each line).
# fmt: off
__all__ = [
    "plots", "widgets",
    # notebook 01
    "History", "SetupReport", "TrainingDiverged", "check_setup", "covariance", "eckart_young_floor", "max_stable_lr",
    "plot_losses", "raw_linear_ae", "raw_linear_ae_forward", "seed_everything", "sgd_linear_ae", "train",
    "train_linear_ae",
    # notebook 02
    "correlated_data",
    # notebook 03
    "ImageDataset", "evaluate", "load_images", "mlp_autoencoder", "pick_device", "train_epoch",
    # notebook 04
    "pca", "pca_reconstruct",
    # notebooks 05 and 06
    "conv_autoencoder", "corrupt", "VAE", "kl_divergence", "roc_auc",
]
# fmt: on
