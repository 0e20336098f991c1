"""Short real-data checks of the from-scratch models (a subset, one or two epochs).

Thresholds are set well below what these runs reach, so they catch a broken model or engine
rather than a slightly unlucky seed. Full-size figures are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from launchml.config import load_config
from launchml.data.dataset import Dataset
from launchml.models import FitContext, Model, get_model_class

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not SHARED_DATA.is_dir(), reason=f"real datasets not found at {SHARED_DATA}"
    ),
]


def train_model(
    name: str, train: Dataset, y: np.ndarray, work: Path, options: dict, **train_options: object
) -> Model:
    labels = sorted(set(train.labels), key=int)
    config = load_config(
        {
            "data": {"train": "unused"},
            "model": {"type": name, name: options},
            "train": train_options,
        }
    )
    ctx = FitContext(config, labels, work, quiet=True)
    return get_model_class(name).from_config(config, labels).fit(train, y, None, None, ctx)


def test_cnn_on_5k_mnist_images_one_epoch(tmp_path: Path) -> None:
    with np.load(SHARED_DATA / "mnist" / "mnist.npz") as data:
        x, y = data["x_train"][:5000, :, :, None], data["y_train"][:5000].astype(np.int64)
        x_test, y_test = data["x_test"][:2000, :, :, None], data["y_test"][:2000]
    train = Dataset(x, [str(v) for v in y], "image", "mnist")
    model = train_model(
        "cnn", train, y, tmp_path, {"batch_norm": True}, epochs=1, batch_size=32, lr=2e-3, threads=1
    )
    accuracy = (model.predict_proba(x_test).argmax(1) == y_test).mean()
    print(f"cnn: test accuracy {accuracy:.3f}")
    assert accuracy >= 0.9, f"test accuracy {accuracy:.3f}"


def read_sst2(split: str) -> tuple[list[str], np.ndarray]:
    path = SHARED_DATA / "sst2" / f"{split}.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], np.array([int(r["label"]) for r in rows])


@pytest.mark.parametrize("name", ["lstm", "textcnn"])
def test_text_models_on_a_5k_sst2_subset(name: str, tmp_path: Path) -> None:
    texts, y = read_sst2("train")
    idx = np.random.default_rng(0).permutation(len(texts))[:5000]
    train = Dataset([texts[i] for i in idx], [str(y[i]) for i in idx], "text", "sst2")
    dev_texts, y_dev = read_sst2("dev")
    model = train_model(
        name, train, y[idx], tmp_path, {}, epochs=2, batch_size=32, lr=2e-3, threads=1
    )
    accuracy = (model.predict_proba(dev_texts).argmax(1) == y_dev).mean()
    print(f"{name}: dev accuracy {accuracy:.3f}")
    assert accuracy >= THRESHOLDS[name], f"dev accuracy {accuracy:.3f}"


THRESHOLDS = {"lstm": 0.62, "textcnn": 0.62}  # chance is 0.51; these runs reach ~0.67
