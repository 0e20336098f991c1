"""Heat maps of where an image model looked: Grad-CAM for ``cnn``, Integrated Gradients for ``mlp``.

- ``cnn``: Captum's ``LayerGradCam`` on the output of the last convolution block (after its
  ReLU): the feature maps weighted by the mean gradient of the class logit over each map,
  summed, rectified (Selvaraju et al., 2017), and upsampled bilinearly to the image's size.
  It shows where the evidence for the class is, not how much each pixel adds, so it has no
  completeness check.
- ``mlp``: Integrated Gradients on the pixels from a black image (all zeros), summed over the
  colour channels: signed (red for the class, blue against), and its attributions add up to
  the logit's change from the black image, which is checked (see
  :mod:`launchml.explain.integrated`).

:func:`overlay_png` draws a heat map over its image as a PNG (upscaled with whole pixels, so
small images such as MNIST digits stay sharp).

Example::

    explanation = explain_image(model, image, answer)       # image: uint8 (H, W, C)
    Path("why.png").write_bytes(overlay_png(explanation.image, explanation.heatmap, signed=False))
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from torch import nn

from launchml.errors import InvalidInputError
from launchml.explain.integrated import INTERNAL_BATCH, converge, convergence_note, target_logit
from launchml.explain.result import Answer, Explanation
from launchml.explain.text import explaining
from launchml.inference.batching import ImageInputs

#: overlays are drawn at least this many pixels high
OVERLAY_HEIGHT = 224


def explain_image(
    model: Any, image: np.ndarray, answer: Answer, steps: int | None = None
) -> Explanation:
    """Grad-CAM (``cnn``) or Integrated Gradients (``mlp``) of one uint8 image ``(H, W, C)``."""
    net: nn.Module = model.module_
    x = ImageInputs(image[None]).batch(torch.arange(1))[0]
    with explaining(net):
        score = target_logit(net, answer.target, x)
        if model.name == "cnn":
            heatmap = _grad_cam(net, x, answer.target)
            return Explanation(
                kind="image",
                method="grad_cam",
                input=answer.description,
                predicted=answer.predicted_label,
                target=answer.target_label,
                probability=answer.probability,
                score=score,
                baseline="none: Grad-CAM weighs the last convolution block's feature maps by "
                "the gradient of the class logit",
                baseline_score=None,
                heatmap=heatmap,
                image=image,
            )
        baseline = torch.zeros_like(x)
        baseline_score = target_logit(net, answer.target, baseline)
        attributions, check = converge(
            lambda n: _pixel_ig(net, x, baseline, answer.target, n), score - baseline_score, steps
        )
    note = convergence_note(check)
    return Explanation(
        kind="image",
        method="integrated_gradients",
        input=answer.description,
        predicted=answer.predicted_label,
        target=answer.target_label,
        probability=answer.probability,
        score=score,
        baseline="a black image (all pixels 0)",
        baseline_score=baseline_score,
        heatmap=attributions[0].double().sum(0).numpy(),  # (C, H, W) -> (H, W)
        image=image,
        completeness=check,
        notes=[note] if note else [],
    )


def last_conv_block(net: nn.Module) -> nn.Module:
    """The module whose output is the last convolution's activations: the last ``ReLU`` after
    the last ``Conv2d`` (or the ``Conv2d`` itself when no activation follows it)."""
    found: nn.Module | None = None
    seen_conv = False
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            found, seen_conv = module, True
        elif seen_conv and isinstance(module, nn.ReLU | nn.BatchNorm2d | nn.GroupNorm):
            found = module
        elif isinstance(module, nn.Linear | nn.Flatten):
            break
    if found is None:
        raise InvalidInputError("Grad-CAM needs a convolutional model; this one has no Conv2d")
    return found


def _grad_cam(net: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    from captum.attr import LayerAttribution, LayerGradCam

    layer = last_conv_block(net)
    cam = LayerGradCam(net, layer).attribute(x, target=target, relu_attributions=True)
    cam = cam.float().mean(1, keepdim=True)  # one map, whatever the layer's shape
    upsampled = LayerAttribution.interpolate(cam, tuple(x.shape[2:]), interpolate_mode="bilinear")
    return upsampled[0, 0].detach().double().numpy()


def _pixel_ig(
    net: nn.Module, x: torch.Tensor, baseline: torch.Tensor, target: int, n_steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    from captum.attr import IntegratedGradients

    return IntegratedGradients(net).attribute(
        x,
        baselines=baseline,
        target=target,
        n_steps=n_steps,
        internal_batch_size=INTERNAL_BATCH,
        return_convergence_delta=True,
    )


def _upscaled(image: np.ndarray) -> Any:
    """``image`` (uint8 ``(H, W, C)``) as an RGB PIL image at least :data:`OVERLAY_HEIGHT`
    pixels high, scaled by a whole factor with whole pixels."""
    from PIL import Image

    height, width = image.shape[:2]
    scale = max(1, -(-OVERLAY_HEIGHT // height))  # ceil
    base = image[..., 0] if image.shape[2] == 1 else image
    picture = Image.fromarray(np.asarray(base, dtype=np.uint8)).convert("RGB")
    return picture.resize((width * scale, height * scale), Image.Resampling.NEAREST)


def _png(picture: Any) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def image_png(image: np.ndarray) -> bytes:
    """The image alone, upscaled as :func:`overlay_png` draws it, as PNG bytes."""
    return _png(_upscaled(image))


def overlay_png(image: np.ndarray, heatmap: np.ndarray, signed: bool, alpha: float = 0.55) -> bytes:
    """The image (uint8 ``(H, W, C)``) with ``heatmap`` ``(H, W)`` drawn over it, as PNG bytes.

    ``signed``: attributions that can be negative, coloured red (for) / blue (against) on a
    scale symmetric around 0; otherwise 0..max in a sequential map. The heat map's opacity
    grows with its magnitude, so unimportant areas show the image itself.
    """
    from matplotlib import colormaps
    from PIL import Image

    picture = _upscaled(image).convert("RGBA")
    heat = np.nan_to_num(np.asarray(heatmap, dtype=np.float64))
    peak = float(np.abs(heat).max()) or 1.0
    if signed:
        strength = np.abs(heat) / peak
        colours = colormaps["RdBu_r"]((heat / peak + 1.0) / 2.0)
    else:
        strength = np.clip(heat / peak, 0.0, 1.0)
        colours = colormaps["inferno"](strength)
    colours[..., 3] = alpha * np.sqrt(strength)  # sqrt: weak evidence stays visible
    layer = Image.fromarray((colours * 255).astype(np.uint8), "RGBA")
    picture.alpha_composite(layer.resize(picture.size, Image.Resampling.BILINEAR))
    return _png(picture.convert("RGB"))


def peak_region(heatmap: np.ndarray, share: float = 0.5) -> tuple[int, int, int, int]:
    """The bounding box ``(top, left, bottom, right)`` (inclusive) of the pixels whose value is
    at least ``share`` of the heat map's maximum: where the model looked, in words."""
    heat = np.asarray(heatmap, dtype=np.float64)
    rows, cols = np.nonzero(heat >= share * heat.max()) if heat.max() > 0 else ([0], [0])
    return int(np.min(rows)), int(np.min(cols)), int(np.max(rows)), int(np.max(cols))


__all__ = ["explain_image", "image_png", "last_conv_block", "overlay_png", "peak_region"]
