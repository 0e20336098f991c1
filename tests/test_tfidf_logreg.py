"""``tfidf_logreg`` against a plain scikit-learn pipeline, and what its saved file holds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from launchml.config import load_config
from launchml.data.dataset import Dataset
from launchml.models import FitContext
from launchml.models.tfidf_logreg import FILENAME, TfidfLogreg
from tests.test_models_contract import LABELS, tiny_text


def test_pruned_vocabulary_saves_compactly_and_predicts_as_sklearn(tmp_path: Path) -> None:
    # max_features below the vocabulary size: scikit-learn then keeps NumPy int64 indices
    options = {"max_features": 12, "word_ngrams": [1, 1], "char_ngrams": [2, 3], "C": 3.0}
    config = load_config(
        {
            "data": {"train": "unused.csv"},
            "model": {"type": "tfidf_logreg", "tfidf_logreg": options},
        }
    )
    texts, y = tiny_text(60, seed=0)
    train = Dataset(texts, [LABELS[i] for i in y], "text", "synthetic")
    model = TfidfLogreg.from_config(config, LABELS)
    model.fit(train, y, None, None, FitContext(config, LABELS, tmp_path, quiet=True))

    reference = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 1), max_features=12, sublinear_tf=True),
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 3), max_features=12, sublinear_tf=True
            ),
        ),
        LogisticRegression(C=3.0, max_iter=1000, random_state=0),
    ).fit(texts, y)
    reference_vocab = reference.steps[0][1].transformer_list[1][1].vocabulary_
    assert any(isinstance(i, np.integer) for i in reference_vocab.values())  # pruning happened
    queries, _ = tiny_text(20, seed=1)
    np.testing.assert_allclose(model.predict_proba(queries), reference.predict_proba(queries))

    (tmp_path / "saved").mkdir()
    model.save(tmp_path / "saved")
    with zipfile.ZipFile(tmp_path / "saved" / FILENAME) as archive:
        arrays = [name for name in archive.namelist() if name.endswith(".npy")]
    # the fitted arrays (idf, coefficients, ...), not one file per vocabulary term (24 terms)
    assert len(arrays) < 12
    reloaded = TfidfLogreg.load(tmp_path / "saved", config, LABELS)
    np.testing.assert_array_equal(reloaded.predict_proba(queries), model.predict_proba(queries))
