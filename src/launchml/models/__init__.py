"""The registry of model types (``model.type`` in the config)."""

from __future__ import annotations

import importlib

from launchml.models.base import FitContext, Model

# name -> "module:Class"; imported lazily so that `launchml --help` does not import torch.
_REGISTRY: dict[str, str] = {
    "tfidf_logreg": "launchml.models.tfidf_logreg:TfidfLogreg",
    "mlp": "launchml.models.mlp:MLP",
    "cnn": "launchml.models.cnn:CNN",
    "lstm": "launchml.models.lstm:LSTM",
    "textcnn": "launchml.models.textcnn:TextCNN",
    "transformer": "launchml.models.transformer:Transformer",
    "ensemble": "launchml.models.ensemble:Ensemble",
}


def model_type_names() -> list[str]:
    return list(_REGISTRY)


def get_model_class(name: str) -> type[Model]:
    module_name, _, class_name = _REGISTRY[name].partition(":")
    cls: type[Model] = getattr(importlib.import_module(module_name), class_name)
    return cls


__all__ = ["FitContext", "Model", "get_model_class", "model_type_names"]
