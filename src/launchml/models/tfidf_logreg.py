"""``tfidf_logreg``: TF-IDF over word and character n-grams + logistic regression.

A strong, fast text baseline that every neural model should be compared with. Saved with skops
(never pickle); loading only accepts scikit-learn, NumPy and SciPy types.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.pipeline import FeatureUnion, Pipeline

from launchml.artifacts import check_zip, damaged
from launchml.config import Config, TfidfLogregConfig
from launchml.data.dataset import Dataset, Kind
from launchml.errors import DamagedArtifactError, InvalidConfigError
from launchml.models.base import FitContext, Model

FILENAME = "model.skops"
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


class TfidfLogreg(Model):
    name: ClassVar[str] = "tfidf_logreg"
    kinds: ClassVar[tuple[Kind, ...]] = ("text",)

    def __init__(self, options: TfidfLogregConfig, n_classes: int) -> None:
        self.options = options
        self.n_classes = n_classes

    @classmethod
    def from_config(cls, config: Config, labels: list[str]) -> TfidfLogreg:
        return cls(config.model.tfidf_logreg, len(labels))

    def _build(self, seed: int) -> Pipeline:
        o = self.options
        features = [
            (
                "word",
                TfidfVectorizer(
                    ngram_range=o.word_ngrams,
                    min_df=o.min_df,
                    max_features=o.max_features,
                    sublinear_tf=o.sublinear_tf,
                    lowercase=True,
                ),
            )
        ]
        if o.char_ngrams is not None:
            char = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=o.char_ngrams,
                min_df=o.min_df,
                max_features=o.max_features,
                sublinear_tf=o.sublinear_tf,
                lowercase=True,
            )
            features.append(("char", char))
        classifier = LogisticRegression(
            C=o.C, max_iter=o.max_iter, class_weight=o.class_weight, random_state=seed
        )
        return Pipeline([("features", FeatureUnion(features)), ("classifier", classifier)])

    def check_data(self, train: Dataset) -> None:
        n_texts = len(train)
        if self.options.min_df > n_texts:
            raise InvalidConfigError(
                f"model.tfidf_logreg.min_df: {self.options.min_df} is more than the {n_texts} "
                f"training texts (a term is kept when it appears in min_df texts); use 1 to "
                f"{n_texts}"
            )

    def fit(
        self,
        train: Dataset,
        y_train: np.ndarray,
        val: Dataset | None,
        y_val: np.ndarray | None,
        ctx: FitContext,
    ) -> TfidfLogreg:
        self.pipeline_ = self._build(ctx.config.train.seed)
        try:
            self.pipeline_.fit(train.inputs, y_train)
        except ValueError as exc:
            if "no terms remain" in str(exc) or "empty vocabulary" in str(exc):
                raise InvalidConfigError(
                    f"model.tfidf_logreg: no n-gram is left to learn from ({exc}); lower "
                    f"model.tfidf_logreg.min_df (it is {self.options.min_df})"
                ) from None
            raise
        _plain_int_vocabularies(self.pipeline_)
        every = np.arange(self.n_classes)
        row: dict[str, float | int] = {
            "epoch": 1,
            "train_loss": log_loss(y_train, self.predict_proba(train.inputs), labels=every),
        }
        if val is not None and y_val is not None:
            proba = self.predict_proba(val.inputs)
            row["val_loss"] = log_loss(y_val, proba, labels=every)
            row["val_accuracy"] = accuracy_score(y_val, proba.argmax(axis=1))
            # over the classes present in y_val or the predictions, as the engine's macro_f1
            row["val_macro_f1"] = f1_score(y_val, proba.argmax(axis=1), average="macro")
        ctx.history.append(row)
        if ctx.on_epoch_end is not None:  # one fit, reported as its single "epoch"
            ctx.on_epoch_end(row)
        return self

    def predict_proba(self, inputs: list[str] | np.ndarray) -> np.ndarray:
        proba = self.pipeline_.predict_proba(list(inputs))
        # Every class index appears in training, so classes_ == 0..n-1; keep the check honest.
        assert list(self.pipeline_.classes_) == list(range(self.n_classes))
        return np.asarray(proba, dtype=np.float64)

    def save(self, directory: Path) -> None:
        sio.dump(self.pipeline_, directory / FILENAME)

    @classmethod
    def check_saved(cls, directory: Path, config: Config) -> int | None:
        check_zip(directory / FILENAME, "skops file")
        return None  # the number of classes is inside the archive: load checks it

    @classmethod
    def load(cls, directory: Path, config: Config, labels: list[str]) -> TfidfLogreg:
        path = directory / FILENAME
        untrusted = sio.get_untrusted_types(file=path)
        foreign = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if foreign:
            raise DamagedArtifactError(f"{path}: refusing to load unexpected types {foreign}")
        model = cls.from_config(config, labels)
        model.pipeline_ = sio.load(path, trusted=untrusted)
        classes = getattr(model.pipeline_, "classes_", None)
        if classes is None or list(classes) != list(range(len(labels))):
            outputs = "an unknown number of" if classes is None else str(len(classes))
            raise damaged(
                path,
                f"the model has {outputs} classes but labels.json names {len(labels)}",
            )
        return model


def _plain_int_vocabularies(pipeline: Pipeline) -> None:
    """Make each vectorizer's ``vocabulary_`` map terms to Python ints.

    When ``max_features`` prunes the vocabulary, scikit-learn stores the indices as NumPy int64
    scalars, and skops writes every NumPy scalar as its own file in the archive, checking the
    archive's whole file list each time: quadratic in the vocabulary size (saving 20 Newsgroups'
    400,000 terms took over an hour). Python ints are saved as plain JSON; transform is unchanged.
    """
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        vectorizer.vocabulary_ = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
