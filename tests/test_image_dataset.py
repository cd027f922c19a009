"""image_dataset.ImageDataset: the items torchvision's MNIST would serve, and clear errors."""

import pytest
import torch
from torchvision.transforms import ToTensor

from ae_utils import ImageDataset


def pixels(n=5, seed=0):
    return torch.randint(0, 256, (n, 28, 28), generator=torch.Generator().manual_seed(seed)).float() / 255


def test_to_tensor_gives_back_the_same_floats_and_labels():
    images, labels = pixels(), torch.tensor([3, 1, 4, 1, 5])
    images[0, 0, 0], images[0, 0, 1] = 0.0, 1.0  # both ends of the range
    data = ImageDataset(images, labels, transform=ToTensor())
    assert len(data) == 5
    for i in range(5):
        x, y = data[i]
        assert x.shape == (1, 28, 28) and x.dtype == torch.float32
        assert torch.equal(x[0], images[i]) and y == int(labels[i]) and type(y) is int


def test_without_transform_an_8_bit_greyscale_image():
    data = ImageDataset(pixels(2), torch.tensor([0, 9]))
    image, label = data[1]
    assert image.mode == "L" and image.size == (28, 28) and label == 9


def test_a_dataloader_batch_is_what_the_answers_loop_squeezes():
    images, labels = pixels(8), torch.arange(8)
    loader = torch.utils.data.DataLoader(ImageDataset(images, labels, ToTensor()), batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 1, 28, 28) and torch.equal(x.squeeze(), images[:4]) and torch.equal(y, labels[:4])


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (pixels(3).numpy(), torch.zeros(3), "float tensor of shape \\(N, height, width\\), got a ndarray"),
        (pixels(3).flatten(1), torch.zeros(3), "got a 2-dimensional torch.float32 tensor"),
        ((pixels(3) * 255).to(torch.uint8), torch.zeros(3), "got a 3-dimensional torch.uint8 tensor"),
        (pixels(3), torch.zeros(4), r"one per image, got \(4,\)"),
        (pixels(3), [0, 1, 2], "one per image, got list"),
        (pixels(3) + 0.5 / 255, torch.zeros(3), "whole multiples of 1/255"),
        (pixels(3) * 2, torch.zeros(3), "whole multiples of 1/255"),
        (pixels(3) - 1, torch.zeros(3), "whole multiples of 1/255"),
    ],
    ids=["numpy", "flat", "bytes", "labels-count", "labels-list", "between-levels", "above-1", "negative"],
)
def test_bad_input_says_what_is_wrong(images, labels, message):
    with pytest.raises(ValueError, match=message):
        ImageDataset(images, labels)
