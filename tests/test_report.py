"""``launchml report``: one self-contained HTML page per run, checked by parsing it."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from launchml.models import get_model_class, model_type_names
from launchml.pipeline import train
from launchml.report import build_report
from launchml.runs import Run

TEXT_SECTIONS = {
    "summary", "training", "evaluation", "calibration", "examples", "inference", "data", "config",
    "environment",
}  # fmt: skip
SMALL_OPTIONS: dict[str, Any] = {
    "mlp": {"hidden": [16]},
    "cnn": {"widths": [4, 8], "padding": "same", "dense": 16},
    "lstm": {"embedding_dim": 16, "hidden_size": 16},
    "textcnn": {"embedding_dim": 16, "kernel_sizes": [2, 3], "filters": 8},
}


class Page(HTMLParser):
    """What a test needs from a report: sections, images, metric values, external references."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: dict[str, str] = {}  # alt -> src
        self.plots: list[str] = []  # ids of <figure class="plot">
        self.metrics: dict[str, str] = {}
        self.references: list[str] = []  # every src/href
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a["id"] or "")
        if tag == "img":
            self.images[a.get("alt") or ""] = a.get("src") or ""
        if tag == "figure" and a.get("class") == "plot":
            self.plots.append((a.get("id") or "").removeprefix("plot-"))
        if "data-metric" in a:
            self.metrics.setdefault(a["data-metric"] or "", a.get("data-value") or "")
        self.references += [v or "" for k, v in attrs if k in ("src", "href")]


def parse_report(path: Path) -> Page:
    html = path.read_text(encoding="utf-8")
    page = Page(html)
    # self-contained: nothing fetched from anywhere, only in-page anchors and data: URIs
    assert all(ref.startswith(("#", "data:image/")) for ref in page.references), page.references
    assert "http://" not in html.replace('xmlns="http://www.w3.org', "")
    assert "<link" not in html and "@import" not in html
    for alt, src in page.images.items():  # every plot decodes to a non-trivial image
        assert len(src) > 200, alt
    return page


def assert_figures_match(page: Page, metrics: dict[str, Any]) -> None:
    for key in ("accuracy", "macro_f1", "balanced_accuracy", "weighted_f1", "ece", "n"):
        assert json.loads(page.metrics[key]) == pytest.approx(metrics[key]), key
    for key in ("log_loss", "roc_auc"):
        shown = page.metrics[key]
        assert (json.loads(shown) if shown else None) == pytest.approx(metrics[key]), key


def image_npz(path: Path, n_train: int = 48, n_test: int = 16, size: int = 12) -> Path:
    """Two classes of small grayscale images: a bright top-left or bottom-right square."""
    rng = np.random.default_rng(0)

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 2
        x = rng.integers(0, 60, size=(n, size, size), dtype=np.uint8)
        half = size // 2
        for i, label in enumerate(y):
            rows = slice(0, half) if label == 0 else slice(half, size)
            x[i, rows, rows] += 150
        return x, y

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def image_config(tmp_path: Path, model_type: str = "cnn") -> dict[str, Any]:
    data = str(image_npz(tmp_path / "images.npz"))
    return {
        "data": {"train": data, "test": data, "split": {"val": 0.25, "seed": 0}},
        "model": {"type": model_type, model_type: SMALL_OPTIONS.get(model_type, {})},
        "train": {"epochs": 3, "batch_size": 8, "lr": 0.01},
    }


def text_config_dict(config_path: Path, model_type: str) -> dict[str, Any]:
    import yaml

    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for key in ("train", "test"):
        raw["data"][key] = str(config_path.parent / raw["data"][key])
    raw["model"] = {"type": model_type}
    if model_type in SMALL_OPTIONS:
        raw["model"][model_type] = SMALL_OPTIONS[model_type]
    raw["train"] = {"epochs": 3, "batch_size": 8, "lr": 0.01}
    return raw


def test_text_report(cli, text_config: Path, tmp_path: Path) -> None:
    assert cli("train", text_config, "--out", tmp_path / "run", "-q").code == 0
    result = cli("report", tmp_path / "run")
    assert result.code == 0, result.err
    path = Path(result.out.strip().splitlines()[-1])
    assert path == tmp_path / "run" / "report.html"
    page = parse_report(path)
    assert set(page.sections) >= TEXT_SECTIONS
    assert "roc" not in page.sections  # three classes: no ROC curve
    assert "filters" not in page.sections  # no convolutions in TF-IDF
    assert {"confusion", "per-class-f1", "reliability", "class-balance"} <= set(page.plots)
    run = Run.load(tmp_path / "run")
    assert_figures_match(page, run.metrics["test"])
    html = path.read_text(encoding="utf-8")
    assert "has it shipped" in html  # a test text among the hardest examples
    assert "A single fit" in html  # tfidf_logreg has one history row: a table, not a curve
    assert "tfidf_logreg" in html and "scikit-learn" in html  # config and environment


def test_image_report_with_cnn(tmp_path: Path) -> None:
    if "cnn" not in model_type_names():
        pytest.skip("the cnn model type is not registered")
    run = train(image_config(tmp_path), out=tmp_path / "run")
    path = build_report(run.path, out=tmp_path / "page.html")
    page = parse_report(path)
    assert TEXT_SECTIONS | {"roc", "filters"} <= set(page.sections)
    assert {"training-curves", "confusion", "per-class-f1", "reliability", "roc", "filters"} <= (
        set(page.plots)
    )
    thumbnails = [alt for alt in page.images if alt.startswith("example-")]
    assert thumbnails and all(
        page.images[a].startswith("data:image/png;base64,") for a in thumbnails
    )
    assert_figures_match(page, run.metrics["test"])


def test_report_survives_missing_data(cli, text_config: Path, tmp_path: Path) -> None:
    cli("train", text_config, "--out", tmp_path / "run", "-q")
    (tmp_path / "train.csv").unlink()
    result = cli("report", tmp_path / "run", "--out", tmp_path / "r.html")
    assert result.code == 0, result.err
    page = parse_report(tmp_path / "r.html")
    assert set(page.sections) >= TEXT_SECTIONS
    assert_figures_match(page, Run.load(tmp_path / "run").metrics["test"])
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "could not be re-loaded" in html and "train.csv" in html


def test_report_errors_are_one_line(cli, tmp_path: Path) -> None:
    result = cli("report", tmp_path / "nope")
    assert result.code == 2 and "run directory not found" in result.err
    for command in ("report", "compare", "evaluate"):
        assert cli(command, "--help").code == 0


def model_cases() -> list[tuple[str, str]]:
    return [(name, kind) for name in model_type_names() for kind in get_model_class(name).kinds]


@pytest.mark.parametrize(("model_type", "kind"), model_cases())
def test_evaluate_report_compare_on_every_model_type(
    model_type: str, kind: str, cli, text_config: Path, tmp_path: Path
) -> None:
    if kind == "image":
        config = image_config(tmp_path, model_type)
        data = config["data"]["test"]
    else:
        config = text_config_dict(text_config, model_type)
        data = str(tmp_path / "test.csv")
    run = train(config, out=tmp_path / "run")
    evaluated = cli("evaluate", run.path, "--data", data, "--json")
    assert evaluated.code == 0, evaluated.err
    metrics = json.loads(evaluated.out)
    assert metrics["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])
    assert metrics["inference"]["single_samples_per_s"] > 0
    page = parse_report(build_report(run.path))
    assert set(page.sections) >= TEXT_SECTIONS
    assert ("filters" in page.sections) == (model_type == "cnn")
    assert_figures_match(page, run.metrics["test"])
    compared = cli("compare", run.path, "--json")
    assert compared.code == 0, compared.err
    assert json.loads(compared.out)[0]["model"] == model_type
