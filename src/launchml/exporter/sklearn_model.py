"""``tfidf_logreg`` in a bundle: skl2onnx when the pipeline converts (and, checked by the guard,
agrees), else the skops file as it is.

launchml's default TF-IDF pipeline (word + ``char_wb`` n-grams in a ``FeatureUnion``, then
``LogisticRegression``) does not convert: skl2onnx 1.20 supports only ``analyzer="word"``
("only tokenizer='word' is fully supported"). A word-only pipeline (``char_ngrams: null``)
converts, but its graph lower-cases with ONNX Runtime's ``StringNormalizer``, which needs the
``en_US.UTF-8`` locale installed on the machine that runs it, and its tokenisation is not
scikit-learn's regular expression; where it fails to load or to agree, that model too is served
from skops. A skops member needs scikit-learn and skops at run time, for this model type only.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from launchml.exporter.guard import ATOL, RTOL

SKOPS_FILE = "model.skops"


def export_tfidf(
    model: Any, source_dir: Path, directory: Path, stem: str, sample: list[str]
) -> tuple[dict[str, Any], str]:
    """The member's ``bundle.json`` entry and a note saying how it is served; ``source_dir``
    holds the run's ``model.skops`` (copied as it is when skl2onnx cannot be used)."""
    reason = _try_onnx(model, directory / f"{stem}.onnx", sample)
    if reason is None:
        entry = {"type": "tfidf_logreg", "runtime": "onnx", "inputs": "texts"}
        return {**entry, "file": f"{stem}.onnx", "output": "probabilities"}, "converted by skl2onnx"
    (directory / f"{stem}.onnx").unlink(missing_ok=True)
    target = f"{stem}.skops"
    from launchml.models.tfidf_logreg import FILENAME

    shutil.copyfile(source_dir / FILENAME, directory / target)
    entry = {"type": "tfidf_logreg", "runtime": "skops", "file": target, "output": "probabilities"}
    note = f"served from skops ({reason}); the runtime needs scikit-learn and skops for this model"
    return entry, note


def _try_onnx(model: Any, path: Path, sample: list[str]) -> str | None:
    """Convert with skl2onnx and check it on ``sample``; ``None`` when it works, else why not."""
    if model.options.char_ngrams is not None:  # known not to convert: do not spend 10 s on it
        return "skl2onnx 1.20 converts only analyzer='word', and this pipeline has char_wb n-grams"
    try:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import StringTensorType
    except ImportError:
        return "skl2onnx is not installed"
    pipeline = model.pipeline_
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = to_onnx(
                pipeline,
                initial_types=[("texts", StringTensorType([None, 1]))],
                options={id(pipeline.named_steps["classifier"]): {"zipmap": False}},
                target_opset=17,
            )
        path.write_bytes(graph.SerializeToString())
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        texts = np.array(sample or ["a"], dtype=object).reshape(-1, 1)
        onnx_proba = np.asarray(session.run(None, {"texts": texts})[1], dtype=np.float64)
    except Exception as exc:  # skl2onnx and onnxruntime raise many kinds; all mean "no"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"skl2onnx cannot convert or run it: {first[:160]}"
    reference = pipeline.predict_proba(list(sample or ["a"]))
    if not np.allclose(onnx_proba, reference, atol=ATOL, rtol=RTOL):
        return "its skl2onnx graph does not give scikit-learn's probabilities"
    return None


__all__ = ["SKOPS_FILE", "export_tfidf"]
