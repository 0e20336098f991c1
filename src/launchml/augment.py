"""Image augmentation of training batches with torch ops only (no torchvision).

One random affine transform per image — shift, rotation, zoom, optional horizontal flip — built
as a batch of 2x3 matrices and applied with ``affine_grid`` + ``grid_sample``. All randomness
comes from the generator the engine passes in, which is seeded from ``(seed, epoch)``: augmented
runs stay reproducible and resumable.

Example::

    augment = Augment(AugmentConfig(enabled=True, rotate=10))
    (x_aug,) = augment((x,), torch.Generator().manual_seed(0))  # x: (B, C, H, W) floats
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from launchml.config import AugmentConfig


class Augment:
    """Callable ``(batch, generator) -> batch`` that augments the first tensor (the images)."""

    def __init__(self, options: AugmentConfig) -> None:
        self.options = options

    def __call__(
        self, batch: tuple[torch.Tensor, ...], generator: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        images, *rest = batch
        return (random_affine(images, self.options, generator), *rest)


def random_affine(
    images: torch.Tensor, options: AugmentConfig, generator: torch.Generator
) -> torch.Tensor:
    """Each image of ``images`` ``(B, C, H, W)`` under its own random affine transform.

    The matrix maps output coordinates to input coordinates (in [-1, 1] units, as
    ``affine_grid`` expects); pixels coming from outside the image are zero (background).
    """
    n = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle = uniform(-options.rotate, options.rotate) * (math.pi / 180.0)
    scale = uniform(1.0 - options.scale, 1.0 + options.scale)
    # a shift of `shift` of the image size is 2 * shift in [-1, 1] units
    shift_x = uniform(-options.shift, options.shift) * 2.0
    shift_y = uniform(-options.shift, options.shift) * 2.0
    flip = torch.ones(n)
    if options.hflip:
        flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, shift_x], dim=1),
            torch.stack([sin * flip, cos, shift_y], dim=1),
        ],
        dim=1,
    ).to(images.device, images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
