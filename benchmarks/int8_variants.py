"""Which int8 quantisation to use: ONNX Runtime's settings side by side on one fp32 bundle.

Takes an fp32 bundle made by ``launchml export --quantize none`` and labelled test data, writes
each variant as a bundle in a temporary directory, and prints the test accuracy, batch-64
throughput and batch-1 p50 of each at one thread, in one process:

- text graphs: ``fp32``; dynamic int8 with one scale per tensor (ONNX Runtime's default);
  per output channel; per channel with ``reduce_range`` (7-bit weights, for CPUs without VNNI);
- image graphs: ``fp32``; dynamic int8 (``ConvInteger``); static QDQ int8 calibrated on 256
  training images (what ``launchml export`` does for images).

    python benchmarks/int8_variants.py /tmp/launchml-export-bench/banking77-frozen-onnx_fp32
    python benchmarks/int8_variants.py /tmp/launchml-export-bench/mnist-onnx_fp32
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import load_average, machine

TEXT_VARIANTS: dict[str, dict[str, Any] | None] = {
    "fp32": None,
    "dynamic_per_tensor": {},
    "dynamic_per_channel": {"per_channel": True},
    "dynamic_per_channel_reduce_range": {"per_channel": True, "reduce_range": True},
}
IMAGE_VARIANTS = ["fp32", "dynamic", "static_qdq"]


def quantized_copy(
    source: Path, target: Path, variant: str, options: Any, calibration: Any
) -> None:
    """``source`` bundle copied to ``target`` with its graph quantised as ``variant`` says."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from launchml.exporter.graphs import quantize_int8_static
    from launchml.manifest import read_manifest, write_manifest

    shutil.copytree(source, target)
    graph = target / "model.onnx"
    if variant == "static_qdq":
        quantize_int8_static(source / "model.onnx", graph, calibration)
    elif variant != "fp32":
        quantize_dynamic(
            str(source / "model.onnx"),
            str(graph),
            weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            **(options or {}),
        )
    manifest = read_manifest(source) or {}
    write_manifest(target, {k: v for k, v in manifest.items() if k != "files"})


def test_data(source_run: Path) -> tuple[Any, list[str], Any]:
    """The source run's test split (all of it) and, for images, 256 training images."""
    import launchml
    from launchml.data.load import load_splits
    from launchml.exporter.guard import calibration_sample

    splits = load_splits(launchml.Run.load(source_run).config.data)
    assert splits.test is not None, "the run has no test split"
    return splits.test.inputs, splits.test.labels, calibration_sample(splits.train.inputs)


def measure(bundle_dir: Path) -> dict[str, Any]:
    from launchml.manifest import read_manifest
    from launchml.runtime import load_bundle

    logging.disable(logging.WARNING)
    base = load_bundle(bundle_dir, threads=1)
    inputs, labels, calibration = test_data(Path((read_manifest(bundle_dir) or {})["source_run"]))
    variants: dict[str, Any] = (
        dict.fromkeys(IMAGE_VARIANTS) if base.kind == "image" else dict(TEXT_VARIANTS)
    )
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for variant, options in variants.items():
            target = Path(scratch) / variant
            quantized_copy(bundle_dir, target, variant, options, calibration)
            bundle = load_bundle(target, threads=1)
            started = time.perf_counter()
            proba = np.concatenate(
                [bundle.proba_prepared(inputs[i : i + 64]) for i in range(0, len(inputs), 64)]
            )
            seconds = time.perf_counter() - started
            predicted = [bundle.labels[i] for i in proba.argmax(axis=1)]
            latencies = []
            for i in range(min(200, len(inputs))):
                begun = time.perf_counter()
                bundle.proba_prepared(inputs[i : i + 1])
                latencies.append((time.perf_counter() - begun) * 1000.0)
            figures[variant] = {
                "test_accuracy": round(float(np.mean(np.array(predicted) == np.array(labels))), 4),
                "batch64_per_s": round(len(inputs) / seconds, 1),
                "batch1_p50_ms": round(float(np.percentile(latencies, 50)), 3),
                "size_mb": round((target / "model.onnx").stat().st_size / 1e6, 2),
            }
            print(f"# {variant}: {figures[variant]}", flush=True)
    return {
        "benchmark": f"int8_variants {bundle_dir.name}",
        "machine": machine(),
        "test_rows": len(labels),
        "figures": figures,
        "load_average_after": load_average(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "bundle", type=Path, help="an fp32 bundle (launchml export --quantize none)"
    )
    print(json.dumps(measure(parser.parse_args().bundle)))


if __name__ == "__main__":
    main()
