"""What every model type provides. The pipeline, the run artifact and the CLI only see this.

Follows the scikit-learn estimator contract: ``__init__`` stores options only, ``fit`` returns
``self``, learned state lives in attributes ending in ``_``. Models never write run directories,
progress or metrics themselves: they get a :class:`FitContext` and return numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from launchml.config import Config
from launchml.data.dataset import Dataset, Kind


@dataclass
class FitContext:
    """What a model gets to know about the run it is trained in.

    ``labels`` are the class names in index order (``y`` values index into it). ``work_dir`` is a
    scratch directory inside the (not yet complete) run directory, for checkpoints. ``history``
    is filled by the model: one dict per epoch (``epoch``, ``train_loss``, ``val_loss``,
    ``val_accuracy``, ...), written to ``history.csv``. ``on_epoch_end``, when set, is called
    with each of those rows as soon as the epoch is done (the tuner's pruner, a tracker); it may
    raise to stop training.
    """

    config: Config
    labels: list[str]
    work_dir: Path
    quiet: bool = False
    resume: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None
    #: facts about the training a model reports for ``meta.json`` (e.g. ``privacy``)
    meta: dict[str, Any] = field(default_factory=dict)


class Model(ABC):
    """A trainable classifier over texts or images."""

    #: registry name, e.g. ``"tfidf_logreg"``
    name: ClassVar[str]
    #: the data kinds it accepts
    kinds: ClassVar[tuple[Kind, ...]]

    @abstractmethod
    def fit(
        self,
        train: Dataset,
        y_train: np.ndarray,
        val: Dataset | None,
        y_val: np.ndarray | None,
        ctx: FitContext,
    ) -> Model:
        """Train on ``train`` (labels as class indices ``y_train``); validate on ``val``."""

    def check_data(self, train: Dataset) -> None:
        """Refuse options that cannot work on these training data, before anything is trained
        (e.g. a ``min_df`` above the number of texts). Raises
        :class:`~launchml.errors.InvalidConfigError` naming the key."""
        return None  # most options fit any data; a model type overrides this when not

    @abstractmethod
    def predict_proba(self, inputs: list[str] | np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)``, rows summing to 1."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the learned state into ``directory`` (safetensors / skops / json; never pickle)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, config: Config, labels: list[str]) -> Model:
        """Rebuild a fitted model from ``save``'s files."""

    @classmethod
    def check_saved(cls, directory: Path, config: Config) -> int | None:
        """Check that the files ``save`` writes are in ``directory`` and readable, cheaply
        (headers, small JSON files), without building the model.

        Returns the number of classes the saved model outputs, or None when only a full load
        can tell (``load`` then checks it). Raises
        :class:`~launchml.errors.DamagedArtifactError` naming the file that is wrong.
        """
        return None

    @classmethod
    @abstractmethod
    def from_config(cls, config: Config, labels: list[str]) -> Model:
        """A new, unfitted model with the options of ``config.model.<name>``."""
