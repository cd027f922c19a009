"""MNIST and Fashion-MNIST as tensors: found on disk or downloaded, always checksummed.

``load_images(name, split)`` returns ``(images, labels)``: images float32 of shape (N, 28, 28)
in [0, 1], labels int64 of shape (N,). Only the two files of the split asked for are read.

Where it looks, first hit wins (a folder holds a split when both of its files are there):

1. the ``root`` argument;
2. the folder named by the environment variable ``AE_DATA_DIR``;
3. the project's data folder, ``data/`` beside ``ae_utils/`` (git-ignored);
4. ``/usr/share/datasets/<name>/``, where Debian's ``dataset-fashion-mnist`` puts Fashion-MNIST.

In each folder, torchvision's layout ``<folder>/MNIST/raw/<file>`` (``FashionMNIST/raw``) is
tried first, then the files directly in ``<folder>/<file>``.

Checksums: every file's MD5 is checked before it is decoded, against the MD5s torchvision
lists (``torchvision.datasets.MNIST.resources``, ``FashionMNIST.resources``; copied into ``SPECS``). Debian's
Fashion-MNIST files are the same data gzipped again, so their MD5s differ; such a copy is
accepted when its decompressed bytes match the original's MD5. The rule: a file that fails
is ``DatasetCorrupt`` naming it (path, expected and actual MD5, what to do). It is never used,
and ``load_images`` neither moves on to another folder nor downloads over it.

Download: when no folder holds the split and ``download=True``, its two files are fetched with
torchvision's ``download_url`` from torchvision's mirrors into ``<folder>/MNIST/raw/`` of the
first writable folder among ``root``, ``AE_DATA_DIR`` and the project's data folder. Each file
is written to a temporary file beside its final place, checked, and only then renamed into
place, so an interrupted or failed download leaves nothing behind. Offline, or with
``download=False``, ``DatasetNotFound`` lists every place it looked and the ways to fix it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import uuid
import zlib
from dataclasses import dataclass, field
from math import prod
from pathlib import Path

import numpy as np
import torch

from . import checks

ENV_VARIABLE = "AE_DATA_DIR"
PROJECT_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # IDX: unsigned bytes, 3 dimensions / 1 dimension


class DatasetNotFound(RuntimeError):
    """No folder holds the split, and it could not be (or was not allowed to be) downloaded.

    Raised by ``load_images`` (notebook 03, section 1)."""


class DatasetCorrupt(RuntimeError):
    """A data file failed its MD5 check or is not a valid IDX file; it was not used.

    Raised by ``load_images`` (notebook 03, section 1)."""


@dataclass(frozen=True)
class _Spec:
    """What loading one data set needs; tests swap these for specs of synthetic files."""

    folder: str  # torchvision's folder name: <root>/<folder>/raw/<file>
    mirrors: tuple[str, ...]
    md5: dict[str, str]  # file name -> MD5 of the .gz file
    content_md5: dict[str, str] = field(default_factory=dict)  # file name -> MD5 once decompressed
    apt_package: str | None = None


# MD5s of the original Fashion-MNIST files once decompressed. Debian's dataset-fashion-mnist
# gzips the same bytes again: its .gz files differ from torchvision's but decompress to these.
_FASHION_CONTENT_MD5 = {
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
}
# Folders, mirrors and MD5s as torchvision's MNIST and FashionMNIST classes list them (written out so that
# importing ae_utils does not import torchvision, which takes seconds; tests/test_datasets.py compares).
SPECS = {
    "mnist": _Spec(
        "MNIST",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": _Spec(
        "FashionMNIST",
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        content_md5=_FASHION_CONTENT_MD5,
        apt_package="dataset-fashion-mnist",
    ),
}


def load_images(
    name: str, split: str, root: str | os.PathLike | None = None, download: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load ``"mnist"`` or ``"fashion-mnist"``, split ``"train"`` or ``"test"``, as tensors.

    Returns images (float32, shape (N, 28, 28), values in [0, 1]) and labels (int64, shape (N,)).
    Looks in ``root``, ``$AE_DATA_DIR``, the project's ``data/`` and ``/usr/share/datasets/<name>/``
    in that order; downloads the split when it is nowhere and ``download`` is true.
    Raises ``DatasetNotFound`` when it cannot get the files, ``DatasetCorrupt`` for a bad file,
    and ``ValueError`` or ``TypeError`` naming the argument for any other ``name``, ``split``,
    ``root`` (a path or None) or ``download`` (True or False).

    Taught in notebook 03, section 1.
    """
    where, spec, files = _find_split(name, split, root, download)
    return _read_split(where, files, spec)


def locate(name: str, split: str, root: str | os.PathLike | None = None, download: bool = True) -> tuple[Path, Path]:
    """The paths of a split's two gzipped IDX files (images, labels), found and checksummed
    exactly as ``load_images`` finds them; for code that wants the files themselves."""
    where, spec, files = _find_split(name, split, root, download)
    for file in files:
        _checked_bytes(where / file, spec)
    return where / files[0], where / files[1]


def _find_split(name, split, root, download) -> tuple[Path, _Spec, tuple[str, str]]:
    """The folder holding the split's two files: found locally, or downloaded into place."""
    for argument, value, kind, choices in (("name", name, "data set", SPECS), ("split", split, "split", SPLITS)):
        if not isinstance(value, str) or value not in choices:
            wrong_type = "" if isinstance(value, str) else f" ({argument} must be a string, got {type(value).__name__})"
            raise ValueError(
                f"unknown {kind} {checks.shown(value)}; choose one of: {', '.join(map(repr, choices))}{wrong_type}"
            )
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder path (a str or pathlib.Path) or None, got {type(root).__name__}")
    checks.flag("download", download)
    spec, files = SPECS[name], SPLITS[split]
    writable = _writable_candidates(root)
    looked = []
    for folder in dict.fromkeys([*writable, SYSTEM_DATA_DIR / name]):
        for where in (folder / spec.folder / "raw", folder):
            present = [file for file in files if (where / file).is_file()]
            if len(present) == len(files):
                return where, spec, files
            note = f"  (has {present[0]} only)" if present else ""
            looked.append(f"  {where}{note}")
    problem = "not tried (download=False)"
    if download:
        target, problem = _download(spec, files, writable)
        if target is not None:
            return target, spec, files
    raise DatasetNotFound(_not_found_message(name, split, spec, looked, problem))


def _writable_candidates(root: str | os.PathLike | None) -> list[Path]:
    """Folders a download may go to, in order: root, $AE_DATA_DIR, the project's data folder."""
    folders = [Path(root).expanduser()] if root is not None else []
    env = os.environ.get(ENV_VARIABLE, "").strip()
    if env:
        folders.append(Path(env).expanduser())
    return [*folders, PROJECT_DATA_DIR]


def _read_split(where: Path, files: tuple[str, str], spec: _Spec) -> tuple[torch.Tensor, torch.Tensor]:
    images_path, labels_path = where / files[0], where / files[1]
    images = _decode_idx(_checked_bytes(images_path, spec), IMAGES_MAGIC, images_path)
    labels = _decode_idx(_checked_bytes(labels_path, spec), LABELS_MAGIC, labels_path)
    if len(images) != len(labels):
        raise DatasetCorrupt(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            "the two files must come from the same split. Replace them with a matching pair."
        )
    return torch.from_numpy(images.astype(np.float32)).div_(255), torch.from_numpy(labels.astype(np.int64))


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _checked_bytes(path: Path, spec: _Spec) -> bytes:
    """The decompressed contents of ``path``, once its MD5 (or its contents' MD5) is right."""
    data = path.read_bytes()
    expected, actual = spec.md5[path.name], _md5(data)
    if actual == expected:
        return _gunzip(data, path)
    content_md5 = spec.content_md5.get(path.name)
    if content_md5 is not None:
        try:
            content = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            content = None
        if content is not None and _md5(content) == content_md5:
            return content  # the original data, gzipped again
    raise DatasetCorrupt(
        f"{path} is corrupt or truncated: its MD5 is {actual}, expected {expected} "
        f"(the MD5 torchvision lists for {path.name}). It was not used. Delete it and run again "
        "to download a fresh copy, or put a good copy of the file there."
    )


def _gunzip(data: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetCorrupt(f"{path} is not a valid gzip file ({err}); replace it with a good copy") from err


def _decode_idx(raw: bytes, magic: int, path: Path) -> np.ndarray:
    """Decode an IDX file of unsigned bytes: magic number, big-endian dimensions, then the data."""
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found != magic:
        raise DatasetCorrupt(
            f"{path} is not an IDX {kind} file: its magic number is {found}, expected {magic}. "
            "Replace it with a good copy."
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetCorrupt(f"{path} is too short ({len(raw)} bytes) for an IDX header. Replace it with a good copy.")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    if len(raw) != header + prod(dims):
        raise DatasetCorrupt(
            f"{path} has an inconsistent size: its header gives the shape {dims}, which needs "
            f"{header + prod(dims)} bytes, but it holds {len(raw)}. Replace it with a good copy."
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _download(spec: _Spec, files: tuple[str, str], folders: list[Path]) -> tuple[Path | None, str]:
    """Fetch the files into the first writable folder: (its raw folder, "") or (None, why not).

    Folders it creates for a download that then fails are removed again (when empty)."""
    errors, target, created = [], None, []
    for folder in folders:
        raw = folder / spec.folder / "raw"
        try:
            created = _make_folders(raw)
        except OSError as err:
            errors.append(f"cannot create {raw}: {err}")
            continue
        if os.access(raw, os.W_OK):
            target = raw
            break
        _remove_empty(created)
        errors.append(f"{raw} is not writable")
    if target is None:
        return None, "failed: " + "; ".join(errors)
    done = False
    try:
        for file in files:
            if not (target / file).is_file():
                problem = _download_file(spec, file, target)
                if problem:
                    return None, f"failed: {problem}"
        done = True
        return target, ""
    finally:
        if not done:
            _remove_empty(created)


def _make_folders(folder: Path) -> list[Path]:
    """``mkdir -p folder``; returns the folders it created, deepest first."""
    missing, part = [], folder
    while not part.exists() and part != part.parent:
        missing.append(part)
        part = part.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove folders (deepest first) as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _download_file(spec: _Spec, file: str, folder: Path) -> str:
    """Fetch one file from the first mirror that serves it intact; "" or why every mirror failed."""
    from torchvision.datasets.utils import download_url  # imported here: only a download needs torchvision

    errors = []
    for mirror in spec.mirrors:
        url, part = mirror + file, folder / f".{file}.{uuid.uuid4().hex}.part"
        try:
            download_url(url, root=str(folder), filename=part.name)
            actual = _md5(part.read_bytes())
            if actual == spec.md5[file]:
                os.replace(part, folder / file)
                return ""
            errors.append(f"{url} sent a file with MD5 {actual}, expected {spec.md5[file]}")
        except Exception as err:  # network failures come as URLError, HTTPError, OSError, RuntimeError...
            errors.append(f"{url}: {type(err).__name__}: {err}")
        finally:
            part.unlink(missing_ok=True)
    return " | ".join(errors).replace("\n", " ")


def _not_found_message(name: str, split: str, spec: _Spec, looked: list[str], problem: str) -> str:
    files = " and ".join(SPLITS[split])
    fixes = [
        f"set the environment variable {ENV_VARIABLE} to a folder holding the two files "
        f"(directly, or in {spec.folder}/raw/ inside it)",
        f"put the two files in the project's data folder: {PROJECT_DATA_DIR / spec.folder / 'raw'}",
        "connect to the internet and run again (with download=True)",
    ]
    if spec.apt_package:
        fixes.append(
            f"on Debian or Ubuntu: sudo apt-get install {spec.apt_package} (it puts the files in "
            f"{SYSTEM_DATA_DIR / name})"
        )
    return "\n".join(
        [
            f"Could not find the {name} {split} split ({files}). Looked in:",
            *looked,
            f"Download: {problem}",
            "To fix it, do one of these:",
            *(f"  - {fix}" for fix in fixes),
        ]
    )
