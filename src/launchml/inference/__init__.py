"""Inference: preparing inputs and predicting with a loaded model, without the training code.

:class:`Predictor` is what every consumer of a loaded model relies on (``launchml predict``,
``evaluate``, the HTTP server, the assistant): a training run (:class:`launchml.runs.Run`) and an
exported bundle (:class:`launchml.runtime.Bundle`) both provide it.

The modules (the training code imports them, never the other way round):

- :mod:`~launchml.inference.inputs`: raw inputs to prepared ones (text cleaning, image files);
- :mod:`~launchml.inference.text`: texts to token ids (word vocabulary, WordPiece), torch-free;
- :mod:`~launchml.inference.batching`: tensors, batched and length-sorted torch prediction;
- :mod:`~launchml.inference.encoder`: :class:`~launchml.inference.encoder.SentenceEncoder`, the
  sentence encoder a transformer classifier and a retriever share; ``load_encoder(run)``.

Only the protocol is imported here, so ``import launchml.inference`` stays torch-free.
"""

from launchml.inference.predictor import Predictor

__all__ = ["Predictor"]
