"""``cnn``: a small convolutional network for images.

Default (the classic Keras/TensorFlow MNIST network): Conv(32, 3x3) - MaxPool - Conv(64, 3x3) -
MaxPool - Conv(64, 3x3) - Flatten - Dense(64) - Dense(classes), ReLU everywhere. Input channels
and size come from the training images. Options: widths, kernel size, 'same' padding, batch
norm after each convolution, dropout before each dense layer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from launchml.config import CNNConfig
from launchml.data.dataset import Kind
from launchml.errors import InvalidConfigError
from launchml.models.torch_base import TorchModel


class CNNNet(nn.Module):
    """Convolution blocks (max-pooled between blocks), then Dense + ReLU, then the classes."""

    def __init__(
        self, in_channels: int, size: tuple[int, int], n_classes: int, options: CNNConfig
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels, (height, width) = in_channels, size
        k = options.kernel_size
        for i, out in enumerate(options.widths):
            layers.append(
                nn.Conv2d(channels, out, k, padding=options.padding, bias=not options.batch_norm)
            )
            if options.batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU())
            if options.padding == "valid":
                height, width = height - k + 1, width - k + 1
            if i < len(options.widths) - 1:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            if height < 1 or width < 1:
                raise InvalidConfigError(
                    f"model.cnn: images of {size[0]}x{size[1]} pixels are too small for "
                    f"{len(options.widths)} convolutions of {k}x{k} with '{options.padding}' "
                    "padding; set model.cnn.padding=same, fewer model.cnn.widths, or a larger "
                    "data.image.size"
                )
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(options.dropout),
            nn.Linear(channels * height * width, options.dense),
            nn.ReLU(),
            nn.Dropout(options.dropout),
            nn.Linear(options.dense, n_classes),
        )
        # channels-last (NHWC) convolutions and pooling are ~1.4x faster on CPU (oneDNN);
        # torch's stubs omit the ``memory_format`` keyword that ``Module.to`` accepts
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = images.contiguous(memory_format=torch.channels_last)
        return self.head(self.features(images))


class CNN(TorchModel):
    name: ClassVar[str] = "cnn"
    kinds: ClassVar[tuple[Kind, ...]] = ("image",)
    options_class = CNNConfig

    def build_module(self, spec: dict[str, Any]) -> nn.Module:
        height, width, channels = spec["input_shape"]
        options = CNNConfig.model_validate(spec["options"])
        return CNNNet(channels, (height, width), spec["n_classes"], options)
