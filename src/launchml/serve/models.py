"""Loading the models a server answers for: exported bundles and training runs.

A directory with a ``bundle.json`` is an exported bundle, loaded by the torch-free
:mod:`launchml.runtime`; a directory with a ``meta.json`` is a training run, loaded by
:class:`launchml.runs.Run` (which brings torch). Both are :class:`launchml.inference.Predictor`.
Both imports happen here, lazily, so that serving only bundles never imports torch.

Example::

    predictor = load_predictor("runs/shop")
    named = name_models(["runs/shop", "bundles/shop-int8"], names=[])  # {"shop": ..., ...}
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from launchml.errors import ConflictError, InvalidConfigError, InvalidInputError, NotFoundError
from launchml.inference import Predictor

BUNDLE_FILE = "bundle.json"
RUN_FILE = "meta.json"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

ModelSource = str | Path | Predictor


def artifact_format(path: Path) -> Literal["bundle", "run"]:
    """``"bundle"`` or ``"run"`` for a directory launchml can serve; a clear error otherwise."""
    if not path.exists():
        raise NotFoundError(f"{path}: no such run or bundle directory")
    if not path.is_dir():
        raise InvalidInputError(f"{path}: not a directory; give a run or bundle directory")
    if (path / BUNDLE_FILE).is_file():
        return "bundle"
    if (path / RUN_FILE).is_file():
        return "run"
    hint = (
        " (an interrupted run: finish it with launchml train --resume)"
        if (path.name.endswith(".partial"))
        else ""
    )
    raise InvalidInputError(
        f"{path}: neither a launchml run (no {RUN_FILE}) nor an exported bundle "
        f"(no {BUNDLE_FILE}){hint}"
    )


def load_predictor(
    path: str | Path, threads: int | None = None, device: str | None = None
) -> Predictor:
    """Load a run or bundle directory as a :class:`~launchml.inference.Predictor`.

    Parameters
    ----------
    path : a training run (``meta.json``) or an exported bundle (``bundle.json``).
    threads : intra-op threads for the model's math; None leaves the library's default.
    device : where a run predicts (auto, cpu, cuda, cuda:N); None: the run's own setting.
        Bundles ignore it (ONNX Runtime on the CPU).
    """
    path = Path(path)
    if artifact_format(path) == "bundle":
        return _load_bundle(path, threads)
    from launchml.runs import Run  # torch comes with it: imported only for run directories

    return Run.load(path, device=device)


def _load_bundle(path: Path, threads: int | None) -> Predictor:
    try:
        runtime = importlib.import_module("launchml.runtime")
    except ModuleNotFoundError as exc:
        if exc.name not in ("launchml.runtime", "onnxruntime"):
            raise
        raise InvalidConfigError(
            f"{path}: an exported bundle, but the bundle runtime is not installed "
            f"({exc.name} is missing); serve the training run instead"
        ) from None
    predictor: Predictor = runtime.load_bundle(path, threads=threads)  # ONNX Runtime's threads
    return predictor


def set_model_threads(threads: int | None) -> None:
    """Give torch ``threads`` intra-op threads in the calling thread (the thread that predicts:
    torch keeps this setting per thread). Bundles take theirs when loaded."""
    torch = sys.modules.get("torch")  # loaded only if a run is served
    if threads is not None and torch is not None:
        torch.set_num_threads(threads)


def name_models(
    models: Sequence[ModelSource] | Mapping[str, ModelSource], names: Sequence[str] = ()
) -> dict[str, ModelSource]:
    """``{name: source}``: names from a mapping, ``names``, a Predictor's ``name`` or the
    directory's name; each must be unique and URL-safe."""
    if isinstance(models, Mapping):
        named = list(models.items())
    else:
        if names and len(names) != len(models):
            raise InvalidConfigError(f"{len(names)} names for {len(models)} models")
        named = [
            (names[i] if names else _default_name(source), source)
            for i, source in enumerate(models)
        ]
    result: dict[str, ModelSource] = {}
    for name, source in named:
        if not NAME_PATTERN.match(name):
            raise InvalidConfigError(
                f"model name {name!r}: use letters, digits, '.', '_' or '-' (at most 64, "
                "starting with a letter or digit); pick one with --name"
            )
        if name in result:
            raise ConflictError(
                f"two models are named {name!r}; give each its own with --name (in order)"
            )
        result[name] = source
    if not result:
        raise InvalidConfigError("no models to serve; give at least one run or bundle directory")
    return result


def _default_name(source: ModelSource) -> str:
    if isinstance(source, str | Path):
        return Path(source).resolve().name
    return source.name


__all__ = ["ModelSource", "artifact_format", "load_predictor", "name_models", "set_model_threads"]
