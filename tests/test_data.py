"""ae_utils.data: the learner's correlated data; load_images (IDX decoding, the search order and
layouts, checksums, another data set's files, the download through a fake torchvision download_url:
these tests never touch the network, and its errors) and, when the files are on this machine, the
real MNIST and Fashion-MNIST; ImageDataset, the items torchvision's MNIST would serve."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import urllib.error
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torchvision.transforms import ToTensor

from ae_utils import ImageDataset, correlated_data, data
from ae_utils.data import DatasetCorrupt, DatasetNotFound, load_images

TEST_FILES = data.SPLITS["test"]
TRAIN_FILES = data.SPLITS["train"]
# CI points AE_DATA_DIR at the course's shared data; a checkout beside shared/ finds it there too.
SHARED_DATA = Path(os.environ.get("AE_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


# ---------------------------------------------------------------- synthetic IDX files


def idx_images(n: int = 5, seed: int = 0, rows: int = 28, cols: int = 28) -> bytes:
    pixels = np.arange(n * rows * cols, dtype=np.int64) * 7 + seed
    pixels[::97] = 255  # make sure the full range shows up
    header = np.array([2051, n, rows, cols], dtype=">u4").tobytes()  # IDX: unsigned bytes, 3 dimensions
    return header + (pixels % 256).astype(np.uint8).tobytes()


def idx_labels(n: int = 5, seed: int = 0) -> bytes:
    return np.array([2049, n], dtype=">u4").tobytes() + ((np.arange(n) + seed) % 10).astype(np.uint8).tobytes()


def gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)  # the same bytes on every run, so the same MD5


def md5(blob: bytes) -> str:
    return hashlib.md5(blob).hexdigest()


def trust(monkeypatch, name: str, files: dict[str, bytes]) -> None:
    """Make ``data.SPECS[name]`` list the MD5s of these synthetic .gz files."""
    spec = data.SPECS[name]
    monkeypatch.setitem(data.SPECS, name, replace(spec, md5={**spec.md5, **{f: md5(d) for f, d in files.items()}}))


def write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for file, blob in files.items():
        (folder / file).write_bytes(blob)
    return folder


def split_files(split: str = "test", n: int = 5, seed: int = 0) -> dict[str, bytes]:
    images, labels = data.SPLITS[split]
    return {images: gz(idx_images(n, seed)), labels: gz(idx_labels(n, seed))}


def leftovers(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


class FakeDownload:
    """Stands in for torchvision's download_url: serves ``served`` by file name, records calls."""

    def __init__(self, served: dict[str, bytes] | None = None, fail: dict[str, BaseException] | None = None):
        self.served, self.fail, self.urls = served or {}, fail or {}, []

    def __call__(self, url, root, filename=None, md5=None, max_redirect_hops=3):
        self.urls.append(url)
        file = url.rsplit("/", 1)[1]
        error = self.fail.get(url) or self.fail.get(file)
        if error is not None:
            blob = self.served.get(file, b"partial")
            (Path(root) / filename).write_bytes(blob[: len(blob) // 2])  # half a file, then the failure
            raise error
        if file not in self.served:
            raise urllib.error.URLError("[Errno -2] Name or service not known")
        (Path(root) / filename).write_bytes(self.served[file])


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real folders, no AE_DATA_DIR, and a network that is always down unless a test says so."""
    monkeypatch.setattr(data, "PROJECT_DATA_DIR", tmp_path / "project" / "data")
    monkeypatch.setattr(data, "SYSTEM_DATA_DIR", tmp_path / "usr-share-datasets")
    monkeypatch.delenv(data.ENV_VARIABLE, raising=False)
    monkeypatch.setattr(torchvision.datasets.utils, "download_url", FakeDownload())


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "name, split, match",
    [
        ("cifar10", "test", r"unknown data set 'cifar10'; choose one of: 'mnist', 'fashion-mnist'"),
        ("MNIST", "test", r"unknown data set 'MNIST'"),
        (None, "test", r"unknown data set None"),
        ("mnist", "validation", r"unknown split 'validation'; choose one of: 'train', 'test'"),
        ("mnist", ["test"], r"unknown split \['test'\]"),
    ],
)
def test_bad_name_or_split(name, split, match):
    with pytest.raises(ValueError, match=match):
        load_images(name, split)


def test_checksums_are_torchvisions():
    for name, dataset in [("mnist", torchvision.datasets.MNIST), ("fashion-mnist", torchvision.datasets.FashionMNIST)]:
        spec = data.SPECS[name]
        assert spec.md5 == dict(dataset.resources)
        assert spec.mirrors == tuple(dataset.mirrors)
        assert spec.folder == dataset.__name__
    assert issubclass(DatasetNotFound, RuntimeError) and issubclass(DatasetCorrupt, RuntimeError)


# ---------------------------------------------------------------- decoding


def test_loads_exact_values(tmp_path, monkeypatch):
    files = split_files("test", n=5)
    trust(monkeypatch, "mnist", files)
    images, labels = load_images("mnist", "test", root=write(tmp_path / "root", files))
    assert images.shape == (5, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (5,) and labels.dtype == torch.int64
    assert images.min() == 0.0 and images.max() == 1.0
    pixels = np.frombuffer(idx_images(5), np.uint8, offset=16).reshape(5, 28, 28)
    assert torch.equal(images, torch.from_numpy(pixels.astype(np.float32)) / 255)
    assert labels.tolist() == [0, 1, 2, 3, 4]


def test_reads_only_the_split_asked_for(tmp_path, monkeypatch):
    files = split_files("train", n=6)
    trust(monkeypatch, "fashion-mnist", files)
    root = write(tmp_path / "root", files)
    (root / TEST_FILES[0]).write_bytes(b"garbage that is never read")  # the test split is incomplete
    images, labels = load_images("fashion-mnist", "train", root=root, download=False)
    assert images.shape == (6, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("layout", ["MNIST/raw", "."])
def test_both_layouts(tmp_path, monkeypatch, layout):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    write(tmp_path / "root" / layout, files)
    assert load_images("mnist", "test", root=tmp_path / "root")[0].shape == (5, 28, 28)


def test_torchvision_layout_is_tried_before_flat(tmp_path, monkeypatch):
    tv_files, flat_files = split_files(seed=1), split_files(seed=2)
    trust(monkeypatch, "fashion-mnist", tv_files)
    write(tmp_path / "root" / "FashionMNIST" / "raw", tv_files)
    write(tmp_path / "root", flat_files)  # wrong MD5, but never reached
    assert load_images("fashion-mnist", "test", root=tmp_path / "root")[1][0] == 1


# ---------------------------------------------------------------- where it looks


@pytest.mark.parametrize(
    "present, winner",
    [
        ({"root", "env", "project", "system"}, "root"),
        ({"env", "project", "system"}, "env"),
        ({"project", "system"}, "project"),
        ({"system"}, "system"),
        ({"root", "system"}, "root"),
    ],
)
def test_search_order(tmp_path, monkeypatch, present, winner):
    seeds = {"root": 1, "env": 2, "project": 3, "system": 4}  # labels start at the seed: tells which was read
    folders = {
        "root": tmp_path / "root",
        "env": tmp_path / "env",
        "project": data.PROJECT_DATA_DIR,
        "system": data.SYSTEM_DATA_DIR / "mnist",
    }
    monkeypatch.setenv(data.ENV_VARIABLE, str(folders["env"]))
    trust(monkeypatch, "mnist", split_files(seed=seeds[winner]))
    for place in present:
        write(folders[place], split_files(seed=seeds[place]))
    _, labels = load_images("mnist", "test", root=folders["root"], download=False)
    assert labels[0] == seeds[winner]


def test_a_folder_with_only_one_of_the_two_files_is_passed_over(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    write(tmp_path / "root", {TEST_FILES[0]: files[TEST_FILES[0]]})
    write(data.PROJECT_DATA_DIR / "MNIST" / "raw", files)
    assert load_images("mnist", "test", root=tmp_path / "root")[0].shape == (5, 28, 28)


# ---------------------------------------------------------------- bad files


def test_wrong_checksum_is_an_error_naming_the_file(tmp_path, monkeypatch):
    trust(monkeypatch, "mnist", split_files(seed=0))
    write(tmp_path / "root", split_files(seed=3))
    good = write(data.PROJECT_DATA_DIR, split_files(seed=0))  # never used: no fallback past a bad file
    bad = tmp_path / "root" / TEST_FILES[0]
    expected, actual = data.SPECS["mnist"].md5[TEST_FILES[0]], md5(bad.read_bytes())
    message = rf"{re.escape(str(bad))} is corrupt or truncated: its MD5 is {actual}, expected {expected} .*Delete it"
    with pytest.raises(DatasetCorrupt, match=message):
        load_images("mnist", "test", root=tmp_path / "root")
    assert torchvision.datasets.utils.download_url.urls == []  # and no download over it
    assert len(leftovers(good)) == 2


def test_truncated_file(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    files[TEST_FILES[1]] = files[TEST_FILES[1]][:-10]
    write(tmp_path / "root" / "MNIST" / "raw", files)
    message = rf"{TEST_FILES[1]} is corrupt or truncated: its MD5 is {md5(files[TEST_FILES[1]])}"
    with pytest.raises(DatasetCorrupt, match=message):
        load_images("mnist", "test", root=tmp_path / "root")


def test_not_gzip_with_matching_checksum(tmp_path, monkeypatch):
    files = {TEST_FILES[0]: idx_images(), TEST_FILES[1]: gz(idx_labels())}  # images not gzipped
    trust(monkeypatch, "mnist", files)
    write(tmp_path / "root", files)
    with pytest.raises(DatasetCorrupt, match=r"is not a valid gzip file"):
        load_images("mnist", "test", root=tmp_path / "root")


def trust_contents(monkeypatch, raw: dict[str, bytes]) -> dict[str, bytes]:
    """Make Fashion-MNIST's spec know ``raw``'s files by the MD5 of their contents, as Debian's copies are known."""
    spec = replace(data.SPECS["fashion-mnist"], content_md5={f: md5(d) for f, d in raw.items()})
    monkeypatch.setitem(data.SPECS, "fashion-mnist", spec)
    return raw


def test_a_recompressed_copy_is_accepted_by_its_contents_md5(tmp_path, monkeypatch):
    """Like Debian's Fashion-MNIST: the same bytes gzipped again, so another .gz MD5."""
    raw = trust_contents(monkeypatch, {TEST_FILES[0]: idx_images(), TEST_FILES[1]: idx_labels()})
    write(tmp_path / "root", {f: gzip.compress(d, compresslevel=1, mtime=12345) for f, d in raw.items()})
    assert load_images("fashion-mnist", "test", root=tmp_path / "root")[1].tolist() == [0, 1, 2, 3, 4]
    # ...but not when the contents differ, nor when the file does not even decompress
    write(tmp_path / "root", {TEST_FILES[1]: gz(idx_labels(seed=1))})
    with pytest.raises(DatasetCorrupt, match=rf"{TEST_FILES[1]} is corrupt or truncated"):
        load_images("fashion-mnist", "test", root=tmp_path / "root")
    write(tmp_path / "root", {TEST_FILES[1]: gz(idx_labels())[:-8]})
    with pytest.raises(DatasetCorrupt, match=rf"{TEST_FILES[1]} is corrupt or truncated"):
        load_images("fashion-mnist", "test", root=tmp_path / "root")


def test_uncompressed_contents_under_the_gz_name_are_not_gzip_not_misnamed(tmp_path, monkeypatch):
    """Debian's Fashion-MNIST contents not gzipped: say so, rather than call it another file to rename."""
    raw = trust_contents(monkeypatch, {TEST_FILES[0]: idx_images(), TEST_FILES[1]: idx_labels()})
    write(tmp_path / "root", raw)
    with pytest.raises(DatasetCorrupt, match=rf"{TEST_FILES[0]} is not a valid gzip file") as caught:
        load_images("fashion-mnist", "test", root=tmp_path / "root", download=False)
    assert "rename" not in str(caught.value)


# ---------------------------------------------------------------- download


def fake_network(monkeypatch, **kwargs) -> FakeDownload:
    fake = FakeDownload(**kwargs)
    monkeypatch.setattr(torchvision.datasets.utils, "download_url", fake)
    return fake


@pytest.mark.parametrize("target", ["root", "env", "project"])
def test_download_goes_to_the_first_candidate_in_torchvision_layout(tmp_path, monkeypatch, target):
    files = split_files("train", n=3)
    trust(monkeypatch, "mnist", files)
    fake = fake_network(monkeypatch, served=files)
    folders = {"root": tmp_path / "root", "env": tmp_path / "env", "project": data.PROJECT_DATA_DIR}
    if target in ("root", "env"):
        monkeypatch.setenv(data.ENV_VARIABLE, str(folders["env"]))
    images, labels = load_images("mnist", "train", root=folders["root"] if target == "root" else None)
    assert images.shape == (3, 28, 28) and labels.tolist() == [0, 1, 2]
    raw = folders[target] / "MNIST" / "raw"
    assert leftovers(tmp_path) == [raw / TRAIN_FILES[0], raw / TRAIN_FILES[1]]  # no .part files, nothing else
    assert fake.urls == [data.SPECS["mnist"].mirrors[0] + f for f in TRAIN_FILES]
    fake.served.clear()  # the next call finds the files and downloads nothing
    assert load_images("mnist", "train", root=folders["root"] if target == "root" else None)[1].tolist() == [0, 1, 2]
    assert len(fake.urls) == 2


def test_download_skips_a_folder_it_cannot_create(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "fashion-mnist", files)
    fake_network(monkeypatch, served=files)
    (tmp_path / "a-file").write_text("not a folder")
    load_images("fashion-mnist", "test", root=tmp_path / "a-file" / "data")
    assert (data.PROJECT_DATA_DIR / "FashionMNIST" / "raw" / TEST_FILES[0]).is_file()


def test_download_tries_the_next_mirror(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    first, second = data.SPECS["mnist"].mirrors[:2]
    forbidden = urllib.error.HTTPError(first + TEST_FILES[0], 403, "Forbidden", {}, None)
    fake = fake_network(monkeypatch, served=files, fail={first + TEST_FILES[0]: forbidden})
    assert load_images("mnist", "test", root=tmp_path / "root")[0].shape == (5, 28, 28)
    assert fake.urls == [first + TEST_FILES[0], second + TEST_FILES[0], first + TEST_FILES[1]]
    assert len(leftovers(tmp_path / "root")) == 2


def test_download_with_wrong_checksum_is_not_kept(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    fake_network(monkeypatch, served={**files, TEST_FILES[0]: b"<html>Access denied</html>"})
    with pytest.raises(DatasetNotFound, match=rf"sent a file with MD5 {md5(b'<html>Access denied</html>')}, expected"):
        load_images("mnist", "test", root=tmp_path / "root")
    assert leftovers(tmp_path / "root") == []


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    fake_network(monkeypatch, served=files, fail={TEST_FILES[0]: ConnectionResetError("connection reset by peer")})
    with pytest.raises(DatasetNotFound, match=r"ConnectionResetError: connection reset by peer"):
        load_images("mnist", "test", root=tmp_path / "root")
    assert leftovers(tmp_path / "root") == []
    assert not (tmp_path / "root").exists()  # nor the folders it made for the download
    fake_network(monkeypatch, served=files, fail={TEST_FILES[1]: KeyboardInterrupt()})  # Ctrl-C halfway
    with pytest.raises(KeyboardInterrupt):
        load_images("mnist", "test", root=tmp_path / "root")
    assert leftovers(tmp_path / "root") == [tmp_path / "root" / "MNIST" / "raw" / TEST_FILES[0]]  # whole and checked
    fake = fake_network(monkeypatch, served=files)
    assert load_images("mnist", "test", root=tmp_path / "root")[1].tolist() == [0, 1, 2, 3, 4]
    assert fake.urls == [data.SPECS["mnist"].mirrors[0] + TEST_FILES[1]]


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_offline_error_lists_every_place_and_the_fixes(tmp_path, monkeypatch, name, folder):
    monkeypatch.setenv(data.ENV_VARIABLE, str(tmp_path / "env"))
    write(tmp_path / "root", {TRAIN_FILES[1]: b"labels only"})
    with pytest.raises(DatasetNotFound) as caught:
        load_images(name, "train", root=tmp_path / "root")
    message = str(caught.value)
    lines = message.splitlines()
    looked = [f"  {place}" for place in (tmp_path / "env", data.PROJECT_DATA_DIR, data.SYSTEM_DATA_DIR / name)]
    root = tmp_path / "root"
    assert lines[1:9] == [
        f"  {root / folder / 'raw'}",
        f"  {root}  (has {TRAIN_FILES[1]} only)",
        *(line for place in looked for line in (f"{place}/{folder}/raw", place)),
    ]
    assert f"Could not find the {name} train split ({TRAIN_FILES[0]} and {TRAIN_FILES[1]})" in message
    errors = [line for line in message.splitlines() if line.startswith("Download: failed")]
    assert len(errors) == 1 and "URLError" in errors[0] and "Name or service not known" in errors[0]
    assert "set the environment variable AE_DATA_DIR" in message
    assert f"project's data folder: {data.PROJECT_DATA_DIR / folder / 'raw'}" in message
    assert "connect to the internet and run again" in message
    assert ("sudo apt-get install dataset-fashion-mnist" in message) == (name == "fashion-mnist")
    assert leftovers(tmp_path / "root") == [tmp_path / "root" / TRAIN_FILES[1]]
    assert not (tmp_path / "root" / folder).exists()  # the folder made for the failed download is gone again


def test_a_failed_download_removes_only_the_folders_it_made(tmp_path):
    (tmp_path / "root").mkdir()
    with pytest.raises(DatasetNotFound, match="Name or service not known"):
        load_images("mnist", "test", root=tmp_path / "root")
    assert (tmp_path / "root").is_dir() and not (tmp_path / "root" / "MNIST").exists()


def test_download_false_does_not_download(tmp_path):
    with pytest.raises(DatasetNotFound, match=r"(?s)Looked in:.*Download: not tried \(download=False\)"):
        load_images("mnist", "test", root=tmp_path / "root", download=False)
    assert torchvision.datasets.utils.download_url.urls == []
    assert not data.PROJECT_DATA_DIR.exists()


# ---------------------------------------------------------------- the real data, when this machine has it


@pytest.fixture
def real_folders(monkeypatch):
    monkeypatch.setattr(data, "SYSTEM_DATA_DIR", Path("/usr/share/datasets"))


@pytest.mark.skipif(
    not (SHARED_DATA / "MNIST" / "raw" / TEST_FILES[0]).is_file(),
    reason=f"the course's shared MNIST test split is not at {SHARED_DATA / 'MNIST' / 'raw'}",
)
def test_real_mnist_test_split(real_folders):
    images, labels = load_images("mnist", "test", root=SHARED_DATA, download=False)
    assert images.shape == (10000, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (10000,) and labels.dtype == torch.int64
    assert set(labels.tolist()) == set(range(10))
    assert images.min() == 0 and images.max() == 1
    assert images.mean().item() == pytest.approx(0.1325, abs=1e-4)


@pytest.mark.skipif(
    not (DEBIAN_FASHION / TRAIN_FILES[0]).is_file(),
    reason=f"Fashion-MNIST is not in {DEBIAN_FASHION} (Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_train_split(real_folders):
    images, labels = load_images("fashion-mnist", "train", download=False)
    assert images.shape == (60000, 28, 28) and labels.shape == (60000,)
    assert torch.equal(torch.bincount(labels), torch.full((10,), 6000))
    assert 0.28 < images.mean().item() < 0.29


# ---------------------------------------------------------------- wrong types name the argument (issue 11)

WRONG = {"None": None, "ndarray": np.ones((2, 2), dtype=np.float32), "list": [1.0, 2.0], "float": 2.5}


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_types_name_the_argument(kind):
    value = WRONG[kind]
    got = type(value).__name__
    with pytest.raises(
        ValueError, match=rf"unknown data set .*; choose one of: .* \(name must be a string, got {got}\)"
    ):
        load_images(value, "test")
    with pytest.raises(ValueError, match=rf"unknown split .*; choose one of: .* \(split must be a string, got {got}\)"):
        load_images("mnist", value)
    with pytest.raises(TypeError, match=rf"^download must be True or False, got .*\({got}\)$"):
        load_images("mnist", "test", download=value)
    if value is not None:
        with pytest.raises(
            TypeError, match=rf"^root must be a folder path \(a str or pathlib.Path\) or None, got {got}$"
        ):
            load_images("mnist", "test", root=value)


def test_an_array_is_quoted_by_its_shape_not_its_values():
    with pytest.raises(ValueError, match=r"^unknown data set ndarray of shape \(100, 100\); choose"):
        load_images(np.zeros((100, 100)), "test")


def test_a_path_object_is_a_root(tmp_path, monkeypatch):
    trust(monkeypatch, "mnist", split_files())
    write(tmp_path / "mine", split_files())
    images, _ = load_images("mnist", "test", root=tmp_path / "mine", download=False)
    assert images.shape == (5, 28, 28)


def test_a_tilde_in_the_environment_variable_or_root_is_the_home_folder(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    write(tmp_path / "home" / "mine", files)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(data.ENV_VARIABLE, "~/mine")
    assert load_images("mnist", "test", download=False)[1].tolist() == [0, 1, 2, 3, 4]
    monkeypatch.delenv(data.ENV_VARIABLE)
    assert load_images("mnist", "test", root="~/mine", download=False)[1].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_environment_variable_is_no_folder(tmp_path, monkeypatch, value):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    fake_network(monkeypatch, served=files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(data.ENV_VARIABLE, value)
    load_images("mnist", "test")
    assert leftovers(tmp_path) == [data.PROJECT_DATA_DIR / "MNIST" / "raw" / f for f in TEST_FILES]


def test_download_skips_a_folder_it_cannot_write(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    fake_network(monkeypatch, served=files)
    read_only = tmp_path / "root" / "MNIST" / "raw"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != read_only and real_access(path, mode))
    load_images("mnist", "test", root=tmp_path / "root")
    assert leftovers(tmp_path) == [data.PROJECT_DATA_DIR / "MNIST" / "raw" / f for f in TEST_FILES]
    assert not (tmp_path / "root").exists()  # the folders made for it are gone again
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(DatasetNotFound, match=rf"Download: failed: {re.escape(str(read_only))} is not writable; "):
        load_images("mnist", "train", root=tmp_path / "root")


def test_ctrl_c_during_the_first_file_leaves_no_folders(tmp_path, monkeypatch):
    files = split_files()
    trust(monkeypatch, "mnist", files)
    fake_network(monkeypatch, served=files, fail={TEST_FILES[0]: KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt):
        load_images("mnist", "test", root=tmp_path / "root")
    assert not (tmp_path / "root").exists()


# ---------------------------------------------------------------- MNIST and Fashion-MNIST share file names (issue 17)


def test_another_sets_files_in_a_flat_folder_are_not_found_not_corrupt(tmp_path, monkeypatch):
    """AE_DATA_DIR holding MNIST's files directly: Fashion-MNIST is not there, and MNIST's files are good."""
    files = split_files()
    trust(monkeypatch, "mnist", files)
    env = write(tmp_path / "env", files)
    monkeypatch.setenv(data.ENV_VARIABLE, str(env))
    with pytest.raises(DatasetNotFound) as caught:
        load_images("fashion-mnist", "test", download=False)
    message = str(caught.value)
    assert f"\n  {env}  (holds mnist's {TEST_FILES[0]}, not fashion-mnist's)\n" in message
    assert "corrupt" not in message and "Delete" not in message
    assert load_images("mnist", "test", download=False)[1].tolist() == [0, 1, 2, 3, 4]  # still MNIST's
    fake = fake_network(monkeypatch, served=split_files(seed=2))  # a learner online gets Fashion-MNIST beside them
    trust(monkeypatch, "fashion-mnist", split_files(seed=2))
    assert load_images("fashion-mnist", "test")[1].tolist() == [2, 3, 4, 5, 6]
    assert fake.urls == [data.SPECS["fashion-mnist"].mirrors[0] + f for f in TEST_FILES]
    assert leftovers(env) == sorted(
        [env / f for f in TEST_FILES] + [env / "FashionMNIST" / "raw" / f for f in TEST_FILES]
    )
    assert load_images("mnist", "test", download=False)[1].tolist() == [0, 1, 2, 3, 4]


def test_another_sets_labels_file_is_named_too(tmp_path, monkeypatch):
    fashion, mnist = split_files(seed=1), split_files(seed=2)
    trust(monkeypatch, "fashion-mnist", fashion)
    trust(monkeypatch, "mnist", mnist)
    write(tmp_path / "root", {TEST_FILES[0]: fashion[TEST_FILES[0]], TEST_FILES[1]: mnist[TEST_FILES[1]]})
    with pytest.raises(DatasetNotFound, match=rf"\(holds mnist's {TEST_FILES[1]}, not fashion-mnist's\)"):
        load_images("fashion-mnist", "test", root=tmp_path / "root", download=False)


def test_a_recompressed_copy_of_another_set_is_known_by_its_contents(tmp_path, monkeypatch):
    """Debian's Fashion-MNIST files (gzipped again) in a flat folder, asked for as MNIST."""
    raw = trust_contents(monkeypatch, {TEST_FILES[0]: idx_images(), TEST_FILES[1]: idx_labels()})
    write(tmp_path / "root", {f: gzip.compress(d, compresslevel=1, mtime=12345) for f, d in raw.items()})
    with pytest.raises(DatasetNotFound, match=rf"\(holds fashion-mnist's {TEST_FILES[0]}, not mnist's\)"):
        load_images("mnist", "test", root=tmp_path / "root", download=False)


def test_a_misnamed_file_of_the_same_set_is_not_called_corrupt_to_delete(tmp_path, monkeypatch):
    files = split_files("train")
    trust(monkeypatch, "mnist", {**files, TEST_FILES[1]: gz(idx_labels(seed=7))})
    write(tmp_path / "root", {TEST_FILES[0]: files[TRAIN_FILES[0]], TEST_FILES[1]: gz(idx_labels(seed=7))})
    with pytest.raises(DatasetCorrupt) as caught:
        load_images("mnist", "test", root=tmp_path / "root", download=False)
    message = str(caught.value)
    assert f"It is mnist's {TRAIN_FILES[0]} under another name: rename it" in message and "Delete" not in message


@pytest.mark.skipif(
    not (SHARED_DATA / "MNIST" / "raw" / TEST_FILES[0]).is_file() or not (DEBIAN_FASHION / TEST_FILES[0]).is_file(),
    reason="needs the course's shared MNIST test split and Debian's Fashion-MNIST",
)
def test_the_real_sets_in_one_flat_folder_each_are_told_apart(tmp_path, monkeypatch):
    mnist, fashion = tmp_path / "mnist", tmp_path / "fashion"
    for folder, source in [(mnist, SHARED_DATA / "MNIST" / "raw"), (fashion, DEBIAN_FASHION)]:
        folder.mkdir()
        for file in TEST_FILES:
            shutil.copy(source / file, folder / file)
    monkeypatch.setenv(data.ENV_VARIABLE, str(mnist))
    with pytest.raises(DatasetNotFound, match=rf"  {re.escape(str(mnist))}  \(holds mnist's {TEST_FILES[0]}, not"):
        load_images("fashion-mnist", "test", download=False)
    monkeypatch.setenv(data.ENV_VARIABLE, str(fashion))
    with pytest.raises(DatasetNotFound, match=rf"  {re.escape(str(fashion))}  \(holds fashion-mnist's {TEST_FILES[0]}"):
        load_images("mnist", "test", download=False)
    assert load_images("fashion-mnist", "test", download=False)[0].shape == (10000, 28, 28)


# ---------------------------------------------------------------- correlated_data


def test_equals_the_learners_recipe_with_the_same_generator(learner_x):
    assert torch.equal(correlated_data(100, torch.Generator().manual_seed(0)), learner_x)


def test_uses_the_global_generator_by_default():
    torch.manual_seed(5)
    x = correlated_data(10)
    torch.manual_seed(5)
    expected = torch.rand(10, 2)
    expected[:, 0] = expected[:, 0] + expected[:, 1]
    expected[:, 1] = 0.5 * expected[:, 0] + expected[:, 1]
    assert torch.equal(x, expected)


def test_shape_dtype_and_strong_correlation():
    x = correlated_data(500, torch.Generator().manual_seed(1))
    assert x.shape == (500, 2) and x.dtype == torch.float32
    assert torch.corrcoef(x.T)[0, 1] > 0.9


def test_default_size_is_100_and_two_points_are_enough():
    assert correlated_data(generator=torch.Generator().manual_seed(0)).shape == (100, 2)
    assert correlated_data(2).shape == (2, 2)


@pytest.mark.parametrize(
    "n, error",
    [(1, ValueError), (0, ValueError), (-5, ValueError), (2.0, TypeError), (True, TypeError), ("100", TypeError)],
)
def test_rejects_fewer_than_two_points_or_non_integer(n, error):
    with pytest.raises(error, match="n must be a whole number"):
        correlated_data(n)


# ---------------------------------------------------------------- ImageDataset


def pixels(n=5, seed=0):
    return torch.randint(0, 256, (n, 28, 28), generator=torch.Generator().manual_seed(seed)).float() / 255


def test_to_tensor_gives_back_the_same_floats_and_labels():
    images, labels = pixels(), torch.tensor([3, 1, 4, 1, 5])
    images[0, 0, 0], images[0, 0, 1] = 0.0, 1.0  # both ends of the range
    served = ImageDataset(images, labels, transform=ToTensor())
    assert len(served) == 5
    for i in range(5):
        x, y = served[i]
        assert x.shape == (1, 28, 28) and x.dtype == torch.float32
        assert torch.equal(x[0], images[i]) and y == int(labels[i]) and type(y) is int


def test_without_transform_an_8_bit_greyscale_image():
    served = ImageDataset(pixels(2), torch.tensor([0, 9]))
    image, label = served[1]
    assert image.mode == "L" and image.size == (28, 28) and label == 9
    assert torch.equal(torch.from_numpy(np.array(image)), (pixels(2)[1] * 255).round().to(torch.uint8))


def test_a_dataloader_batch_is_what_the_answers_loop_squeezes():
    images, labels = pixels(8), torch.arange(8)
    loader = torch.utils.data.DataLoader(ImageDataset(images, labels, ToTensor()), batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 1, 28, 28) and torch.equal(x.squeeze(), images[:4]) and torch.equal(y, labels[:4])


def test_whole_labels_of_any_number_type_are_served_as_ints():
    for labels in [torch.tensor([7.0, -1.0]), torch.tensor([7, 0], dtype=torch.uint8), torch.tensor([7.0, 2.0]).half()]:
        served = ImageDataset(pixels(2), labels)
        assert served[0][1] == 7 and type(served[0][1]) is int and served.labels.dtype == torch.int64


@pytest.mark.parametrize("bad", [7.7, 0.5, -0.25, float("nan"), float("inf")])
def test_labels_that_are_not_whole_numbers_are_refused(bad):
    """Issue 17: label 7.7 was served as 7."""
    with pytest.raises(ValueError, match=rf"labels must be class indices \(whole numbers\), got {bad} at index 1"):
        ImageDataset(pixels(3), torch.tensor([3.0, bad, 2.5]))


def test_labels_that_are_booleans_are_refused():
    with pytest.raises(TypeError, match=r"labels must be class indices \(integers\), got dtype torch.bool"):
        ImageDataset(pixels(2), torch.tensor([True, False]))


def test_a_transform_that_cannot_be_called_is_refused():
    with pytest.raises(TypeError, match=r"^transform must be a function of a PIL image .* or None, got str$"):
        ImageDataset(pixels(2), torch.tensor([0, 1]), transform="ToTensor")


@pytest.mark.parametrize(
    "images, labels, error, message",
    [
        (pixels(3).numpy(), torch.zeros(3), TypeError, r"float tensor of shape \(N, height, width\), got ndarray; "),
        (pixels(3).flatten(1), torch.zeros(3), ValueError, "got a 2-dimensional torch.float32 tensor"),
        ((pixels(3) * 255).to(torch.uint8), torch.zeros(3), ValueError, "got a 3-dimensional torch.uint8 tensor"),
        (pixels(3), torch.zeros(4), ValueError, r"labels must be a tensor of shape \(3,\), one per image, got \(4,\)"),
        (pixels(3), torch.zeros(3, 1), ValueError, r"one per image, got \(3, 1\)"),
        (pixels(3), [0, 1, 2], TypeError, r"labels must be a tensor of shape \(3,\), one per image, got list"),
        (pixels(3) + 0.5 / 255, torch.zeros(3), ValueError, "whole multiples of 1/255"),
        (pixels(3) + 0.01 / 255, torch.zeros(3), ValueError, "whole multiples of 1/255"),
        (pixels(3) * 2, torch.zeros(3), ValueError, "whole multiples of 1/255"),
        (pixels(3) - 1, torch.zeros(3), ValueError, "whole multiples of 1/255"),
        (torch.full((1, 2, 2), 256 / 255), torch.zeros(1), ValueError, "whole multiples of 1/255"),
        (torch.full((1, 2, 2), -1 / 255), torch.zeros(1), ValueError, "whole multiples of 1/255"),
        (torch.full((1, 2, 2), float("nan")), torch.zeros(1), ValueError, "whole multiples of 1/255"),
    ],
    ids=[
        "numpy", "flat", "bytes", "labels-count", "labels-2d", "labels-list", "between-levels", "near-a-level",
        "above-1", "negative", "one-level-above", "one-level-below", "nan",
    ],
)  # fmt: skip
def test_bad_input_says_what_is_wrong(images, labels, error, message):
    with pytest.raises(error, match=message):
        ImageDataset(images, labels)


def test_a_pixel_off_the_8_bit_grid_by_a_two_hundredth_of_a_level_is_refused():
    with pytest.raises(ValueError, match="8-bit pixel values"):
        ImageDataset(torch.full((1, 1, 1), 1.005 / 255), torch.tensor([0]))  # tolerated: 1e-3 of a level
    assert ImageDataset(torch.full((1, 1, 1), 1.0005 / 255), torch.tensor([0])).images.item() == 1
