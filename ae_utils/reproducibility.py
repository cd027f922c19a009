"""Reproducibility and device choice: one call seeds everything, one call picks the device."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from . import checks

DEVICE_VARIABLE = "AE_DEVICE"


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU). Taught in the set-up cell of every notebook."""
    seed = checks.whole_number("seed", seed, 0, why="NumPy cannot use negative seeds")
    np.random.seed(seed)  # first: it refuses seeds of 2**32 and more before anything is seeded
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _device_from_environment(wanted: str) -> torch.device:
    """The device ``AE_DEVICE`` names (in any case), if the course can use it and this machine has it."""
    cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    count = {"cpu": 1, "cuda": cuda, "mps": int(torch.backends.mps.is_available())}  # devices of each kind here
    setting = f"{DEVICE_VARIABLE}={wanted!r}"
    try:
        device = torch.device(wanted.lower())
    except RuntimeError:  # not a device name at all
        device = None
    if device is None or device.type not in count:
        raise ValueError(f"{setting} is not a device the course can use; use cpu, cuda, cuda:0 or mps")
    if (device.index or 0) >= count[device.type]:
        raise ValueError(f"{setting} asks for a device this machine does not have: unset it to choose automatically")
    return device


def pick_device(verbose: bool = True) -> torch.device:
    """Choose where tensors live: CUDA if present, then Apple's MPS, then the CPU; the environment variable
    ``AE_DEVICE`` (for example ``cpu``) overrides the choice. With ``verbose`` the choice is printed, with the reason.
    Taught in the set-up cell of notebook 03."""
    checks.flag("verbose", verbose)
    wanted = os.environ.get(DEVICE_VARIABLE, "").strip()
    if wanted:
        device, reason = _device_from_environment(wanted), f"set by {DEVICE_VARIABLE}"
    elif torch.cuda.is_available():
        device, reason = torch.device("cuda"), f"CUDA GPU: {torch.cuda.get_device_name(0)}"
    elif torch.backends.mps.is_available():
        device, reason = torch.device("mps"), "Apple GPU through MPS"
    else:
        device, reason = torch.device("cpu"), "no GPU found"
    if verbose:
        print(f"Using device: {device} ({reason})")
    return device
