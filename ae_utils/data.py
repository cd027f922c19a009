"""The course's data: MNIST and Fashion-MNIST from MD5-checked files (``load_images``; a bad file is never used
nor downloaded over; the other set's files, of the same names, are "not found"), images served item by item
(``ImageDataset``) and the learner's correlated data (``correlated_data``)."""

from __future__ import annotations

import gzip
import hashlib
import os
import uuid
import zlib
from contextlib import suppress
from dataclasses import dataclass, field
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


class DatasetNotFound(RuntimeError):
    """No folder holds the split, and it could not (or might not) be downloaded (notebook 03, section 1)."""


class DatasetCorrupt(RuntimeError):
    """A data file failed its MD5 check or is not gzip; it was not used (notebook 03, section 1)."""


@dataclass(frozen=True)
class _Spec:
    folder: str  # torchvision's folder name: <root>/<folder>/raw/<file>
    mirrors: tuple[str, ...]
    md5: dict[str, str]  # file name -> MD5 of the .gz file
    content_md5: dict[str, str] = field(default_factory=dict)  # file name -> MD5 once decompressed
    apt_package: str | None = None


# As torchvision's MNIST and FashionMNIST list them (written out: importing torchvision takes seconds;
# tests/test_data.py compares). Debian's dataset-fashion-mnist gzips the original bytes again.
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
        content_md5={
            "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
        },
        apt_package="dataset-fashion-mnist",
    ),
}


def correlated_data(n: int = 100, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` two-dimensional points with correlated columns, drawn from ``generator`` (torch's global one
    when None) by the learner's recipe, the three lines below. Taught in notebook 02, section 2, and
    notebook 04, section 1 (notebook 01, section 1, builds it line by line)."""
    n = checks.whole_number("n", n, 2, why="a covariance needs two points")
    x = torch.rand(n, 2, generator=generator)
    x[:, 0] = x[:, 0] + x[:, 1]
    x[:, 1] = 0.5 * x[:, 0] + x[:, 1]
    return x


def load_images(name: str, split: str, root=None, download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load ``"mnist"`` or ``"fashion-mnist"``, split ``"train"`` or ``"test"``: images (float32, (N, 28, 28),
    in [0, 1]) and labels (int64, (N,)). Looks in ``root``, ``$AE_DATA_DIR``, the project's ``data/`` and
    ``/usr/share/datasets/<name>/``, each in torchvision's layout (``MNIST/raw/``) or flat; downloads the
    split into the first writable of the first three when it is nowhere and ``download`` is true.
    Raises ``DatasetNotFound`` (saying where it looked and how to fix it) or ``DatasetCorrupt``.
    Taught in notebook 03, section 1."""
    images, labels = map(_decode_idx, _find_split(name, split, root, download))
    return torch.from_numpy(images.astype(np.float32)).div_(255), torch.from_numpy(labels.astype(np.int64))


def _find_split(name, split, root, download) -> list[bytes]:
    """The checked, decompressed contents of the split's two files."""
    _one_of("name", name, "data set", SPECS)
    _one_of("split", split, "split", SPLITS)
    checks.instance("root", root, (str, os.PathLike, type(None)), "a folder path (a str or pathlib.Path) or None")
    checks.flag("download", download)
    env = os.environ.get(ENV_VARIABLE, "").strip() or None
    writable = [*(Path(folder).expanduser() for folder in (root, env) if folder is not None), PROJECT_DATA_DIR]
    spec, files, looked = SPECS[name], SPLITS[split], []
    for folder in dict.fromkeys([*writable, SYSTEM_DATA_DIR / name]):
        for where in (folder / spec.folder / "raw", folder):
            contents = _split_in(where, files, name, looked)
            if contents is not None:
                return contents
    problem = "not tried (download=False)"
    if download:
        where, problem = _download(spec, files, writable)
        contents = None if where is None else _split_in(where, files, name, looked)
        if contents is not None:
            return contents
    raise DatasetNotFound(_not_found_message(name, split, looked, problem))


def _one_of(argument: str, value, kind: str, choices) -> None:
    if isinstance(value, str) and value in choices:
        return
    wrong_type = "" if isinstance(value, str) else f" ({argument} must be a string, got {type(value).__name__})"
    options = ", ".join(map(repr, choices))
    raise ValueError(f"unknown {kind} {checks.shown(value)}; choose one of: {options}{wrong_type}")


class _AnotherSets(Exception):
    """A file with the split's name holds another data set's file."""


def _split_in(where: Path, files: tuple[str, str], name: str, looked: list[str]) -> list[bytes] | None:
    """The checked contents of the split's files in ``where``; None (noted in ``looked``) when it lacks them."""
    present = [file for file in files if (where / file).is_file()]
    if len(present) < len(files):
        looked.append(f"  {where}" + (f"  (has {present[0]} only)" if present else ""))
        return None
    try:
        return [_checked_bytes(where / file, name) for file in files]
    except _AnotherSets as other:
        looked.append(f"  {where}  (holds {other}, not {name}'s)")
        return None


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _checked_bytes(path: Path, name: str) -> bytes:
    """The decompressed contents of ``path``, if its MD5 (or its contents', for Debian's) is ``name``'s file's."""
    data, content = path.read_bytes(), None
    md5s = {_md5(data)}
    try:
        content = gzip.decompress(data)
        md5s.add(_md5(content))
    except (OSError, EOFError, zlib.error) as err:
        not_gzip = err
    known = {
        md5: (set_name, file)
        for set_name, spec in SPECS.items()
        for file, md5 in [*spec.md5.items(), *spec.content_md5.items()]
    }
    owner = next((known[md5] for md5 in md5s if md5 in known), None)
    if owner == (name, path.name):
        if content is None:
            raise DatasetCorrupt(f"{path} is not a valid gzip file ({not_gzip}); replace it with a good copy")
        return content
    if owner is not None and owner[0] != name:
        raise _AnotherSets(f"{owner[0]}'s {owner[1]}")
    fix = "Delete it and run again to download a fresh copy, or put a good copy of the file there."
    if owner:
        fix = f"It is {name}'s {owner[1]} under another name: rename it, or put the right file there."
    raise DatasetCorrupt(
        f"{path} is corrupt or truncated: its MD5 is {_md5(data)}, expected {SPECS[name].md5[path.name]} (the MD5 "
        f"torchvision lists for {path.name}). It was not used. {fix}"
    )


def _decode_idx(raw: bytes) -> np.ndarray:
    """An IDX file of unsigned bytes (magic number, big-endian dimensions, data), well formed: its MD5 was checked."""
    header = 4 + 4 * raw[3]  # the magic number's last byte is the number of dimensions
    return np.frombuffer(raw, np.uint8, offset=header).reshape(np.frombuffer(raw[4:header], ">u4"))


def _download(spec: _Spec, files: tuple[str, str], folders: list[Path]) -> tuple[Path | None, str]:
    """Fetch the missing files into the first writable folder: (its raw folder, "") or (None, why not)."""
    errors = []
    for folder in folders:
        target = folder / spec.folder / "raw"
        made = [path for path in (target, *target.parents) if not path.exists()]
        try:
            target.mkdir(parents=True, exist_ok=True)
            if not os.access(target, os.W_OK):
                errors.append(f"{target} is not writable")
                continue
            for file in files:
                problem = "" if (target / file).is_file() else _download_file(spec, file, target)
                if problem:
                    return None, f"failed: {problem}"
            return target, ""
        except OSError as err:  # from mkdir: _download_file reports its own errors
            errors.append(f"cannot create {target}: {err}")
        finally:  # Ctrl-C included: remove the folders made here, deepest first, as long as they are empty
            with suppress(OSError):
                for new_folder in made:
                    new_folder.rmdir()
    return None, "failed: " + "; ".join(errors)


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


def _not_found_message(name: str, split: str, looked: list[str], problem: str) -> str:
    spec = SPECS[name]
    lines = [
        f"Could not find the {name} {split} split ({' and '.join(SPLITS[split])}). Looked in:",
        *looked,
        f"Download: {problem}",
        "To fix it, do one of these:",
        f"  - set the environment variable {ENV_VARIABLE} to a folder holding the two files "
        f"(directly, or in {spec.folder}/raw/ inside it)",
        f"  - put the two files in the project's data folder: {PROJECT_DATA_DIR / spec.folder / 'raw'}",
        "  - connect to the internet and run again (with download=True)",
    ]
    if spec.apt_package:
        lines.append(
            f"  - on Debian or Ubuntu: sudo apt-get install {spec.apt_package} "
            f"(it puts the files in {SYSTEM_DATA_DIR / name})"
        )
    return "\n".join(lines)


class ImageDataset(torch.utils.data.Dataset):
    """Images served item by item as torchvision's MNIST serves them (it needs all four files), for the answer's
    ``DataLoader`` loop: ``images`` (N, H, W) as ``load_images`` returns them, ``labels`` (N,) class indices. Item
    ``i`` is ``(transform(image), label)``, the image an 8-bit greyscale PIL image that ``ToTensor`` turns back into
    the same floats. Taught in notebook 03, section 3."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform=None) -> None:
        self.images = _as_bytes(images)
        self.labels = _class_indices(labels, len(self.images))
        what = "a function of a PIL image (for example torchvision.transforms.ToTensor()) or None"
        self.transform = transform if transform is None else checks.function("transform", transform, what)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        from PIL import Image  # Pillow comes with torchvision

        image = Image.fromarray(self.images[index].numpy(), mode="L")
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])


def _as_bytes(images) -> torch.Tensor:
    """``images`` (N, H, W) holding 8-bit values divided by 255, as uint8 on the CPU."""
    what = "a float tensor of shape (N, height, width)"
    checks.tensor("images", images, what)
    if images.ndim != 3 or not images.is_floating_point():
        raise ValueError(
            f"images must be {what}, got a {images.ndim}-dimensional {images.dtype} tensor; "
            "use the images of ae.load_images"
        )
    pixels = images.detach().cpu() * 255
    as_bytes = pixels.round().clamp(0, 255)
    if not torch.allclose(as_bytes, pixels, rtol=0, atol=1e-3):  # NaN included
        raise ValueError(
            "images must hold 8-bit pixel values divided by 255 (whole multiples of 1/255 in [0, 1]), "
            "as ae.load_images returns them; these do not, so they cannot be served as 8-bit images"
        )
    return as_bytes.to(torch.uint8)


def _class_indices(labels, n: int) -> torch.Tensor:
    """``labels`` as int64 on the CPU, if they are ``n`` whole numbers (integers, or floats holding them)."""
    what = f"a tensor of shape ({n},), one per image"
    checks.tensor("labels", labels, what)
    if labels.shape != (n,):
        raise ValueError(f"labels must be {what}, got {tuple(labels.shape)}")
    if labels.dtype == torch.bool or labels.is_complex():
        raise TypeError(f"labels must be class indices (integers), got dtype {labels.dtype}; use labels.long()")
    labels = labels.detach().cpu()
    not_whole = (labels != labels.round()) | ~labels.isfinite()
    if not_whole.any():
        i = int(not_whole.nonzero()[0])
        raise ValueError(
            f"labels must be class indices (whole numbers), got {labels[i].item():g} at index {i}: it would be "
            "served cut to a whole number. Use the labels of ae.load_images"
        )
    return labels.long()
