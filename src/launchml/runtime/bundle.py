"""Loading an exported bundle and predicting with it, without torch or the training code.

A bundle (``launchml export RUN``) is a directory recognised by its ``bundle.json``::

    BUNDLE/
      bundle.json     what this runtime reads: format version, model type, kind, labels,
                      the training text column (for batch scoring of tables),
                      preprocessing (cleaning, image shape), and one entry per member
                      (graph file, how it reads its inputs, its tokenizer)
      model.onnx      the graph (an ensemble: member0.onnx, member1.onnx, ...)
      tokenizer.json  or vocab.json: the tokenizer of a text model
      labels.json     class index -> label, as in the run directory
      manifest.json   sha256 of every file, and the export's figures (accuracy, agreement,
                      size and latency before and after)

:func:`load_bundle` checks every file against the manifest first (an edited or truncated file is
a :class:`launchml.errors.DamagedArtifactError` that names it), then opens the graphs.
:class:`Bundle` provides :class:`launchml.inference.Predictor`, like a run: texts are cleaned as
in training, images read and resized, class probabilities come back in ``labels`` order (an
ensemble: the mean of its members' probabilities, as the run averages them).

Example::

    bundle = load_bundle("runs/shop/bundles/onnx-int8")
    bundle.predict("where is my parcel?")      # 'order_status'
    bundle.predict_proba(["refund please"])    # (1, n_classes)
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np

from launchml.errors import DamagedArtifactError, NotFoundError
from launchml.inference.inputs import prepare, softmax
from launchml.inference.predictor import Predictions
from launchml.manifest import MANIFEST, read_manifest, sha256_file, verify_manifest
from launchml.pii import PIIConfig, Redactor
from launchml.runtime.members import OnnxMember, SkopsMember, read_json

BUNDLE_FILE = "bundle.json"
FORMAT = "launchml-bundle"
FORMAT_VERSION = 1


def is_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a bundle directory (it holds ``bundle.json``)."""
    return (Path(path) / BUNDLE_FILE).is_file()


def load_bundle(path: str | Path, threads: int | None = None) -> Bundle:
    """Load the bundle in ``path``, verifying every file against its ``manifest.json``.

    ``threads``: ONNX Runtime's intra-op threads (None: the bundle's ``threads`` setting, else
    one per core).
    """
    directory = Path(path)
    if not directory.is_dir():
        raise NotFoundError(f"{directory}: bundle directory not found")
    if not is_bundle(directory):
        raise NotFoundError(f"{directory}: not a launchml bundle (no {BUNDLE_FILE})")
    manifest = read_manifest(directory)
    if manifest is None:
        raise DamagedArtifactError(
            f"{directory}: no readable {MANIFEST}; the export did not finish or the file was "
            "removed: export the run again"
        )
    problems = verify_manifest(directory, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DamagedArtifactError(
            f"{directory}: {problems[0]}{more}: the file differs from the bundle's {MANIFEST}; "
            "export the run again"
        )
    spec = read_json(directory / BUNDLE_FILE)
    if spec.get("format") != FORMAT or not isinstance(spec.get("format_version"), int):
        raise DamagedArtifactError(f"{directory / BUNDLE_FILE}: not a launchml bundle description")
    if spec["format_version"] > FORMAT_VERSION:
        raise DamagedArtifactError(
            f"{directory / BUNDLE_FILE}: bundle format {spec['format_version']} is newer than "
            f"this launchml reads ({FORMAT_VERSION}); upgrade launchml"
        )
    return Bundle(directory, spec, manifest, threads)


class Bundle(Predictions):
    """A loaded bundle: the :class:`launchml.inference.Predictor` of an exported model."""

    def __init__(
        self,
        path: Path,
        spec: dict[str, Any],
        manifest: dict[str, Any],
        threads: int | None = None,
    ) -> None:
        self.path = path
        self.spec = spec
        self.manifest = manifest
        self.labels: list[str] = list(spec["labels"])
        self.clean = SimpleNamespace(**spec.get("clean", {}))
        pii = spec.get("pii")  # set when the run was trained with data.pii: redact
        self.redactor = None if pii is None else Redactor(PIIConfig(**pii))
        batch_size = int(spec.get("batch_size", 512))
        threads = threads if threads is not None else spec.get("threads")
        self.members: list[OnnxMember | SkopsMember] = [
            SkopsMember(path, member)
            if member.get("runtime") == "skops"
            else OnnxMember(path, member, batch_size, threads)
            for member in spec["members"]
        ]

    @property
    def name(self) -> str:
        """The name of the run the bundle was exported from."""
        return str(self.spec.get("name") or self.path.name)

    @property
    def kind(self) -> Literal["text", "image"]:
        return "image" if self.spec.get("kind") == "image" else "text"

    @property
    def input_shape(self) -> tuple[int, int, int] | None:
        shape = self.spec.get("input_shape")
        return (int(shape[0]), int(shape[1]), int(shape[2])) if shape else None

    def describe(self) -> dict[str, Any]:
        """JSON-able facts (see :class:`launchml.inference.Predictor`); ``sha256`` is that of
        ``manifest.json``, which covers every file."""
        return {
            "name": self.name,
            "type": self.spec.get("model_type"),
            "kind": self.kind,
            "labels": list(self.labels),
            "format": "bundle",
            "metrics": self.spec.get("metrics", {}),
            "quantize": self.spec.get("quantize"),
            "sha256": sha256_file(self.path / MANIFEST),
        }

    # -- prediction, as Run: one input in -> one answer out; a list/batch in -> a list out ------

    def _proba(self, inputs: Any) -> tuple[np.ndarray, bool]:
        if self.redactor is not None and self.kind == "text":
            redact = self.redactor.redact
            inputs = redact(inputs) if isinstance(inputs, str) else [redact(str(t)) for t in inputs]
        prepared, single = prepare(inputs, self.kind, self.clean, self.input_shape)
        return self.proba_prepared(prepared), single

    def proba_prepared(self, prepared: list[str] | np.ndarray) -> np.ndarray:
        """Probabilities for inputs already prepared (cleaned texts, a uint8 image batch)."""
        if len(prepared) == 0:
            return np.zeros((0, len(self.labels)))
        probas = [self._member_proba(m, prepared) for m in self.members]
        return probas[0] if len(probas) == 1 else np.mean(probas, axis=0)

    def member_scores(self, prepared: list[str] | np.ndarray) -> list[np.ndarray]:
        """Each member's raw scores (logits, or probabilities for a scikit-learn member)."""
        return [m.scores(prepared) for m in self.members]

    @staticmethod
    def _member_proba(member: OnnxMember | SkopsMember, prepared: Any) -> np.ndarray:
        scores = member.scores(prepared)
        if member.output == "probabilities":
            return np.asarray(scores, dtype=np.float64)
        return softmax(scores)


__all__ = ["BUNDLE_FILE", "FORMAT", "FORMAT_VERSION", "Bundle", "is_bundle", "load_bundle"]
