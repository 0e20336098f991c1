"""Inference: preparing inputs and predicting with a loaded model, without the training code.

:class:`Predictor` is what every consumer of a loaded model relies on (``launchml predict``,
``evaluate``, the HTTP server, the assistant): a training run (:class:`launchml.runs.Run`) and an
exported bundle both provide it.
"""

from launchml.inference.predictor import Predictor

__all__ = ["Predictor"]
