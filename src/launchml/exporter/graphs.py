"""Torch models to ONNX graphs, ONNX Runtime's transformer optimisations, int8 quantisation.

Exporter: ``torch.onnx.export(..., dynamo=False)``, the TorchScript-based one. In torch 2.13 the
default ``dynamo=True`` exporter (which also needs onnxscript) fails on the LSTM's packed
sequences (``torch.export`` cannot trace ``pack_padded_sequence``), while the TorchScript one
exports every launchml model, packed LSTMs included (to ONNX's ``LSTM`` with
``sequence_lens``), about five times faster on all-MiniLM-L6-v2 (15 s against 78 s, same
agreement). The batch axis, and the token axis of text models, are dynamic.

Each model type is exported through a small wrapper with fixed positional inputs (names in
:mod:`launchml.runtime.members`); wrappers only re-express what the model computes in a form
that traces with dynamic shapes (see :class:`_TextCNNGraph`, :class:`_BagGraph`).

Example::

    spec = export_member(model, Path("tmp/model.onnx"))   # the member's bundle.json entry
    quantize_int8(Path("tmp/model.onnx"), Path("tmp/model.int8.onnx"))
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from launchml.errors import InvalidInputError

OPSET = 17


def export_member(model: Any, path: Path) -> dict[str, Any]:
    """Write ``model``'s graph to ``path``; return how the runtime reads it (without the
    tokenizer, which :mod:`launchml.exporter` writes beside it)."""
    name = type(model).name
    if name == "transformer":
        return _export_transformer(model, path)
    if name in ("lstm", "textcnn", "mlp", "cnn"):
        if model.spec_["kind"] == "image":
            return _export_images(model, path)
        return _export_tokens(model, path)
    raise InvalidInputError(f"model type '{name}' cannot be exported to ONNX")


def _export_transformer(model: Any, path: Path) -> dict[str, Any]:
    net = model.module_
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 2023, 2003, 1037, 102]])
    ids = ids.clamp(max=int(net.body.config.vocab_size) - 1)
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    with _fp32(net), _eager_attention(net):
        _export(net, (ids, mask), path, ["input_ids", "attention_mask"], {0: "batch", 1: "tokens"})
    return {"type": "transformer", "runtime": "onnx", "inputs": "ids_mask", "output": "logits"}


def _export_tokens(model: Any, path: Path) -> dict[str, Any]:
    module = model.module_
    name = type(model).name
    if name == "textcnn":
        module = _TextCNNGraph(module)
    elif name == "mlp":
        module = _BagGraph(module, int(model.spec_["pad_id"]))
    pad = int(model.spec_["pad_id"])
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11], [5, 6, pad, pad, pad, pad, pad]])
    ids = ids.clamp(max=int(model.spec_["vocab_size"]) - 1)
    lengths = torch.tensor([7, 2])
    _export(module, (ids, lengths), path, ["ids", "lengths"], {0: "batch", 1: "tokens"})
    return {"type": name, "runtime": "onnx", "inputs": "ids_lengths", "output": "logits"}


def _export_images(model: Any, path: Path) -> dict[str, Any]:
    height, width, channels = model.spec_["input_shape"]
    images = torch.rand(2, channels, height, width)
    _export(model.module_, (images,), path, ["images"], {0: "batch"})
    return {"type": type(model).name, "runtime": "onnx", "inputs": "images", "output": "logits"}


def _export(
    module: nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    names: list[str],
    first_axes: dict[int, str],
) -> None:
    axes: dict[str, dict[int, str]] = {
        name: first_axes if args[i].dim() > 1 and name != "images" else {0: "batch"}
        for i, name in enumerate(names)
    }
    axes["logits"] = {0: "batch"}
    module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        # the TorchScript exporter reports every traced shape lookup and its own deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
        )


@contextlib.contextmanager
def _fp32(net: Any) -> Iterator[None]:
    """Trace in float32 (a bf16 run autocasts at prediction; the graph computes in fp32)."""
    was = net.bf16
    net.bf16 = False
    try:
        yield
    finally:
        net.bf16 = was


@contextlib.contextmanager
def _eager_attention(net: Any) -> Iterator[None]:
    """Trace attention as plain MatMul/Softmax (``attn_implementation="eager"``) rather than
    torch's fused scaled-dot-product kernel: only that pattern is recognised by ONNX Runtime's
    transformer optimiser, which then fuses each layer into one ``Attention`` op (on
    all-MiniLM-L6-v2: 6 Attention + EmbedLayerNormalization fused, against none with sdpa)."""
    hf = net.hf
    was = getattr(hf.config, "_attn_implementation", None)
    setter = getattr(hf, "set_attn_implementation", None)
    if was is None or setter is None:
        yield
        return
    setter("eager")
    try:
        yield
    finally:
        setter(was)


class _TextCNNGraph(nn.Module):
    """``TextCNNNet.forward`` with the padding done the same for every input length.

    The network pads short batches up to its widest kernel (``if T < widest``), a branch that
    tracing would fix at the example's length. Here every batch gets ``widest - 1`` zero columns
    on the right: those are exactly the zeros a pad token embeds to (its embedding row is zero),
    and the extra windows start after the last real token, so the mask removes them. The
    result is the same for every input.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        net: Any = self.net
        x = net.embedding(ids).transpose(1, 2)
        x = F.pad(x, (0, max(net.kernel_sizes) - 1))
        pooled = []
        for k, conv in zip(net.kernel_sizes, net.convs, strict=True):
            maps = F.relu(conv(x))
            n_windows = (lengths - k + 1).clamp(min=1)
            valid = torch.arange(maps.shape[2])[None, :] < n_windows[:, None]
            pooled.append(maps.masked_fill(~valid[:, None, :], float("-inf")).amax(2))
        return net.out(net.dropout(torch.cat(pooled, dim=1)))


class _BagGraph(nn.Module):
    """The text MLP's ``EmbeddingBag(mode="mean", padding_idx=pad)`` as the mean of the
    non-padding rows of its weight (the same sum, in the same float32)."""

    def __init__(self, net: nn.Module, pad_id: int) -> None:
        super().__init__()
        self.net = net
        self.pad_id = pad_id

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        net: Any = self.net
        vectors = F.embedding(ids, net.bag.weight)
        keep = (ids != self.pad_id).unsqueeze(2).to(vectors.dtype)
        mean = (vectors * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return net.rest(mean + net.bag_bias)


def optimize_transformer(source: Path, target: Path, net: Any) -> dict[str, int]:
    """ONNX Runtime's transformer optimisations (``model_type="bert"``: attention, layer-norm
    and GELU fusion); returns the fused operators' counts."""
    from onnxruntime.transformers import optimizer

    config = net.body.config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimized = optimizer.optimize_model(
            str(source),
            model_type="bert",
            num_heads=int(config.num_attention_heads),
            hidden_size=int(config.hidden_size),
        )
    optimized.save_model_to_file(str(target))
    stats = optimized.get_fused_operator_statistics()
    return {k: int(v) for k, v in stats.items() if v}


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation (weights int8 ahead of time, per output channel; activations
    per batch at run time): MatMul/Gemm, attention, LSTM and embeddings."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the quantiser logs advice on the root logger ("consider pre-processing"): not for users
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(
                str(source),
                str(target),
                weight_type=QuantType.QInt8,
                # a scale per output channel: on the Banking77 MiniLM it lost 0.16 accuracy
                # points against 1.26 with one scale per tensor (docs/BENCHMARKS.md)
                per_channel=True,
                # shape inference can miss the type of a fused op's output: it is float
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
    finally:
        logging.disable(logging.NOTSET)


def quantize_int8_static(source: Path, target: Path, images: np.ndarray) -> None:
    """Static int8 quantisation (QDQ, per-channel weights): activation ranges measured once on
    ``images`` (uint8 NHWC, prepared as the runtime feeds them), so convolutions run as int8
    kernels instead of quantising activations on every call."""
    import logging

    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    batches = [
        np.ascontiguousarray(images[i : i + 1].transpose(0, 3, 1, 2)).astype(np.float32)
        / np.float32(255)
        for i in range(len(images))
    ]

    class Images(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter([{"images": x} for x in batches])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.feeds, None)

    prepared = target.with_name(target.stem + ".pre.onnx")
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quant_pre_process(str(source), str(prepared))
            quantize_static(
                str(prepared),
                str(target),
                Images(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
    finally:
        logging.disable(logging.NOTSET)
        prepared.unlink(missing_ok=True)


__all__ = [
    "OPSET",
    "export_member",
    "optimize_transformer",
    "quantize_int8",
    "quantize_int8_static",
]
