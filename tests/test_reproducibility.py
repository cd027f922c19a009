"""reproducibility: one call seeds every generator; pick_device chooses and explains the device."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ae_utils.reproducibility import pick_device, seed_everything


def draws():
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def test_seed_everything_repeats_torch_numpy_and_python_draws():
    seed_everything(123)
    first = draws()
    seed_everything(123)
    assert draws() == first


def test_different_seeds_give_different_draws():
    seed_everything(1)
    first = draws()
    seed_everything(2)
    second = draws()
    assert all(a != b for a, b in zip(first, second))


def test_seed_everything_matches_each_library_seeded_alone():
    seed_everything(7)
    together = draws()
    torch.manual_seed(7)
    np.random.seed(7)
    random.seed(7)
    assert draws() == together


@pytest.mark.parametrize("seed", [0, 2**32 - 1, np.int64(5)])
def test_seed_everything_accepts_numpys_seed_range(seed):
    seed_everything(seed)
    first = draws()
    seed_everything(int(seed))
    assert draws() == first


@pytest.mark.parametrize(
    "seed, message",
    [
        (-1, r"seed must be a whole number of at least 0, got -1"),
        (2**32, r"Seed must be between 0 and 2\*\*32 - 1"),  # NumPy's own refusal
    ],
)
def test_seed_everything_rejects_seed_out_of_range(seed, message):
    with pytest.raises(ValueError, match=message):
        seed_everything(seed)


@pytest.mark.parametrize("seed", [1.5, "42", True, None])
def test_seed_everything_rejects_non_integer_seed(seed):
    with pytest.raises(TypeError, match="seed must be a whole number"):
        seed_everything(seed)


@pytest.fixture
def no_gpu(monkeypatch):
    """Pretend the machine has neither CUDA nor MPS, and AE_DEVICE is unset."""
    monkeypatch.delenv("AE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_pick_device_on_this_machine_matches_cuda_availability(monkeypatch):
    monkeypatch.delenv("AE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert pick_device(verbose=False).type == expected


def test_pick_device_without_gpu_is_cpu_and_says_why(no_gpu, capsys):
    assert pick_device() == torch.device("cpu")
    assert capsys.readouterr().out == "Using device: cpu (no GPU found)\n"


def test_pick_device_quiet_prints_nothing(no_gpu, capsys):
    pick_device(verbose=False)
    assert capsys.readouterr().out == ""


def test_pick_device_prefers_cuda_and_names_the_card(no_gpu, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Test GPU")
    assert pick_device() == torch.device("cuda")
    assert capsys.readouterr().out == "Using device: cuda (CUDA GPU: Test GPU)\n"


def test_pick_device_uses_mps_without_cuda(no_gpu, monkeypatch, capsys):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")
    assert "Apple GPU through MPS" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["cpu", " cpu "])
def test_ae_device_cpu_overrides_the_choice(no_gpu, monkeypatch, capsys, value):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("AE_DEVICE", value)
    assert pick_device() == torch.device("cpu")
    assert capsys.readouterr().out == "Using device: cpu (set by AE_DEVICE)\n"


def test_blank_ae_device_means_automatic(no_gpu, monkeypatch):
    monkeypatch.setenv("AE_DEVICE", "  ")
    assert pick_device(verbose=False) == torch.device("cpu")


@pytest.mark.parametrize("value", ["cuda", "cuda:0", "mps"])
def test_ae_device_naming_a_missing_gpu_is_a_clear_error(no_gpu, monkeypatch, value):
    monkeypatch.setenv("AE_DEVICE", value)
    with pytest.raises(ValueError, match=rf"AE_DEVICE='{value}' asks for a device this machine does not have.*unset"):
        pick_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_ae_device_cuda_on_this_gpu_less_machine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("AE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="AE_DEVICE='cuda' asks for a device this machine does not have"):
        pick_device()


@pytest.mark.parametrize("value", ["gpu", "meta", "xla", "cuda:x", "cpu:-1", "hip"])
def test_ae_device_unknown_name_is_a_clear_error(no_gpu, monkeypatch, value):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("AE_DEVICE", value)
    with pytest.raises(ValueError, match=rf"AE_DEVICE='{value}' is not a device the course can use; use cpu, cuda,"):
        pick_device()


@pytest.mark.parametrize("value, device", [("CPU", "cpu"), ("Cuda:0", "cuda:0"), ("cuda:1", "cuda:1"), ("MPS", "mps")])
def test_ae_device_in_any_case_and_the_last_gpu_index_are_taken(no_gpu, monkeypatch, capsys, value, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setenv("AE_DEVICE", value)
    assert pick_device() == torch.device(device)
    assert capsys.readouterr().out == f"Using device: {device} (set by AE_DEVICE)\n"


@pytest.mark.parametrize("value", ["cuda:2", "cpu:1", "mps:1"])
def test_ae_device_index_past_the_last_device_is_refused(no_gpu, monkeypatch, value):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setenv("AE_DEVICE", value)
    with pytest.raises(ValueError, match=rf"AE_DEVICE='{value}' asks for a device this machine does not have"):
        pick_device()


@pytest.mark.parametrize("verbose", [1, "yes", None])
def test_pick_device_verbose_must_be_true_or_false(no_gpu, verbose):
    with pytest.raises(TypeError, match="verbose must be True or False, got "):
        pick_device(verbose)


def test_pick_device_rejects_a_cuda_index_the_machine_lacks(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("AE_DEVICE", "cuda:5")
    with pytest.raises(ValueError, match="does not have"):
        pick_device()


def test_ae_device_cuda_is_refused_when_cuda_is_unusable_though_cards_are_counted(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)  # a driver that sees cards torch cannot use
    monkeypatch.setenv("AE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="AE_DEVICE='cuda' asks for a device this machine does not have"):
        pick_device()


def test_pick_device_prefers_cuda_to_mps(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Test GPU")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device(verbose=False) == torch.device("cuda")
