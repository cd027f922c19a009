"""Reproducibility and device choice: one call seeds everything, one call picks the device."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from . import checks

DEVICE_VARIABLE = "AE_DEVICE"


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU) with ``seed``.

    Taught in the set-up cell of every notebook.
    """
    seed = checks.whole_number("seed", seed, 0, why="NumPy cannot use negative seeds")
    if seed >= 2**32:
        raise ValueError(f"seed must lie in [0, 2**32), got {seed}; NumPy cannot use larger seeds")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(verbose: bool = True) -> torch.device:
    """Choose where tensors live: CUDA if present, then Apple's MPS, then the CPU.

    The environment variable ``AE_DEVICE`` (for example ``cpu``) overrides the choice.
    With ``verbose`` the choice is printed once, with the reason.

    Taught in the set-up cell of notebook 03.
    """
    wanted = os.environ.get(DEVICE_VARIABLE, "").strip()
    if wanted:
        try:
            device = torch.device(wanted)
        except RuntimeError as err:
            raise ValueError(
                f"{DEVICE_VARIABLE}={wanted!r} is not a device torch knows; use cpu, cuda, cuda:0 or mps"
            ) from err
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": _mps_available(),
        }.get(device.type, False)
        if (
            available
            and device.type == "cuda"
            and device.index is not None
            and device.index >= torch.cuda.device_count()
        ):
            available = False
        if not available:
            raise ValueError(
                f"{DEVICE_VARIABLE}={wanted!r} asks for a device this machine does not have; "
                f"unset {DEVICE_VARIABLE} to choose automatically"
            )
        reason = f"set by {DEVICE_VARIABLE}"
    elif torch.cuda.is_available():
        device, reason = torch.device("cuda"), f"CUDA GPU: {torch.cuda.get_device_name(0)}"
    elif _mps_available():
        device, reason = torch.device("mps"), "Apple GPU through MPS"
    else:
        device, reason = torch.device("cpu"), "no GPU found"
    if verbose:
        print(f"Using device: {device} ({reason})")
    return device
