"""Image tensors served as a ``torch.utils.data.Dataset``, item by item, as torchvision's MNIST serves them.

Taught in notebook 03, section 3. The answer's loop reads MNIST through
``torchvision.datasets.MNIST(..., transform=ToTensor())`` and a ``DataLoader``. That class
insists on all four MNIST files; the quick run has only the test split. ``ImageDataset`` gives
the loop the same items from tensors that ``ae.load_images`` returned: item ``i`` is
``(transform(PIL image), label)``, the image an 8-bit greyscale ``PIL.Image`` built exactly as
torchvision builds it, so ``ToTensor`` turns it back into the same floats.
"""

from __future__ import annotations

import torch


class ImageDataset(torch.utils.data.Dataset):
    """``images`` (N, H, W) floats in [0, 1] that are whole multiples of 1/255 (as ``ae.load_images``
    returns them), ``labels`` (N,); item ``i`` is ``(transform(PIL image), int label)``, or the
    PIL image itself without a ``transform``. Taught in notebook 03, section 3."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform=None) -> None:
        if not isinstance(images, torch.Tensor) or images.ndim != 3 or not images.is_floating_point():
            described = (
                f"a {images.ndim}-dimensional {images.dtype} tensor"
                if isinstance(images, torch.Tensor)
                else f"a {type(images).__name__}"
            )
            raise ValueError(
                f"images must be a float tensor of shape (N, height, width), got {described}; "
                "use the images of ae.load_images"
            )
        if not isinstance(labels, torch.Tensor) or labels.shape != images.shape[:1]:
            shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(f"labels must be a tensor of shape ({len(images)},), one per image, got {shape}")
        pixels = images.detach().cpu() * 255
        as_bytes = pixels.round()
        if not bool(((as_bytes - pixels).abs() <= 1e-3).all()) or not bool(((as_bytes >= 0) & (as_bytes <= 255)).all()):
            raise ValueError(
                "images must hold 8-bit pixel values divided by 255 (whole multiples of 1/255 in [0, 1]), "
                "as ae.load_images returns them; these do not, so they cannot be served as 8-bit images"
            )
        self.images = as_bytes.to(torch.uint8)
        self.labels = labels.detach().cpu()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        from PIL import Image  # Pillow comes with torchvision

        image = Image.fromarray(self.images[index].numpy(), mode="L")
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])
