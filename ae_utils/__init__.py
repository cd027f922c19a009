"""Helpers for the autoencoder course pack, one job a module (its docstring says which): data, models, training,
pca, theory, diagnose, plots, widgets and reproducibility, then corruption, variational and anomaly for notebooks
05 and 06; ``checks`` holds the argument checks every module uses (importable, not what notebooks call)."""

from . import plots, widgets
from .anomaly import roc_auc
from .corruption import corrupt
from .data import ImageDataset, correlated_data, load_images
from .diagnose import SetupReport, check_setup
from .models import conv_autoencoder, mlp_autoencoder, raw_linear_ae, raw_linear_ae_forward
from .pca import covariance, pca, pca_reconstruct, principal_angles, rayleigh_ritz
from .plots import plot_losses
from .reproducibility import pick_device, seed_everything
from .theory import eckart_young_floor, max_stable_lr
from .training import History, TrainingDiverged, evaluate, sgd_linear_ae, train, train_epoch, train_linear_ae
from .variational import VAE, kl_divergence

__all__ = [
    "plots",
    "widgets",
    "History",
    "VAE",
    "ImageDataset",
    "SetupReport",
    "TrainingDiverged",
    "check_setup",
    "conv_autoencoder",
    "correlated_data",
    "corrupt",
    "covariance",
    "eckart_young_floor",
    "evaluate",
    "kl_divergence",
    "load_images",
    "max_stable_lr",
    "mlp_autoencoder",
    "pca",
    "pca_reconstruct",
    "pick_device",
    "plot_losses",
    "principal_angles",
    "raw_linear_ae",
    "raw_linear_ae_forward",
    "rayleigh_ritz",
    "roc_auc",
    "seed_everything",
    "sgd_linear_ae",
    "train",
    "train_epoch",
    "train_linear_ae",
]
