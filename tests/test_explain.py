"""Explanations: hand-built models whose attributions are known in closed form, a reference
Grad-CAM, completeness of Integrated Gradients on trained text models, the exact tf-idf
contributions, ensembles, the CLI and the report's section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import launchml
from launchml.config import MLPConfig, TrainConfig, VocabConfig
from launchml.data.vocab import WordVocab
from launchml.explain.images import explain_image, last_conv_block, overlay_png
from launchml.explain.result import Answer
from launchml.explain.text import explain_text
from launchml.models.cnn import CNNNet
from launchml.models.mlp import MLP
from tests.conftest import write_csv

LABELS = ["ant", "bee", "cat"]


def answer(target: int, description: str = "x") -> Answer:
    return Answer(target, LABELS[target], LABELS[target], 0.5, description)


def linear_mlp(kind: str, **spec: object) -> MLP:
    """An ``mlp`` without hidden layers: a linear model (logits = W x + b)."""
    model = MLP(MLPConfig(hidden=[]), TrainConfig(), VocabConfig(), LABELS)
    model.spec_ = {
        "type": "mlp",
        "kind": kind,
        "n_classes": 3,
        "options": model.options.model_dump(mode="json"),
        **spec,
    }
    torch.manual_seed(0)
    model.module_ = model.build_module(model.spec_)
    return model


def test_ig_of_a_linear_image_model_is_x_times_w() -> None:
    """For logits = W x + b and a black baseline, IG gives exactly x_i * W[target, i]."""
    model = linear_mlp("image", input_shape=[6, 5, 1])
    image = np.random.default_rng(0).integers(0, 256, size=(6, 5, 1), dtype=np.uint8)
    found = explain_image(model, image, answer(2))
    weights = model.module_.first.weight.detach().double().numpy()[2].reshape(6, 5)
    expected = image[..., 0] / 255.0 * weights
    assert found.method == "integrated_gradients"
    np.testing.assert_allclose(found.heatmap, expected, atol=1e-5)
    check = found.completeness
    assert check is not None and check.converged
    assert check.attribution_sum == pytest.approx(expected.sum(), abs=1e-4)
    assert check.expected == pytest.approx(expected.sum(), abs=1e-4)  # W x + b - (W 0 + b)


def test_ig_of_a_linear_text_model_is_each_tokens_share_of_the_mean() -> None:
    """A text ``mlp`` without hidden layers: logits = mean of the tokens' vectors + bias, so a
    token's attribution to class c is its vector's c-th entry over the number of tokens."""
    vocab = WordVocab(["card", "lost", "refund", "please"])
    model = linear_mlp("text", vocab_size=len(vocab), pad_id=vocab.pad_id, tokenizer="word")
    model.vocab_ = vocab
    text = "Card lost, refund please refund"
    found = explain_text(model, text, answer(1, text))
    ids = vocab.encode(text)
    vectors = model.module_.bag.weight.detach().double().numpy()
    expected = vectors[ids, 1] / len(ids)
    assert [t.token for t in found.tokens] == ["Card", "lost", ",", "refund", "please", "refund"]
    assert [(t.start, t.end) for t in found.tokens][:2] == [(0, 4), (5, 9)]
    np.testing.assert_allclose([t.attribution for t in found.tokens], expected, atol=1e-6)
    assert found.completeness is not None and found.completeness.converged


def reference_grad_cam(net: torch.nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """Grad-CAM written out with plain hooks (Selvaraju et al. 2017), as an independent check."""
    layer = last_conv_block(net)
    saved: dict[str, torch.Tensor] = {}

    def keep(_module: object, _inputs: object, output: torch.Tensor) -> None:
        output.retain_grad()
        saved["maps"] = output

    handle = layer.register_forward_hook(keep)
    net.zero_grad()
    net(x)[0, target].backward()
    handle.remove()
    maps = saved["maps"]
    weights = maps.grad.mean(dim=(2, 3), keepdim=True)  # type: ignore[union-attr]
    cam = torch.relu((weights * maps).sum(1, keepdim=True))
    cam = torch.nn.functional.interpolate(cam, size=x.shape[2:], mode="bilinear")
    return cam[0, 0].detach().double().numpy()


def test_grad_cam_matches_a_hand_written_reference() -> None:
    from launchml.config import CNNConfig

    torch.manual_seed(1)
    net = CNNNet(1, (16, 16), 3, CNNConfig(widths=[4, 6], dense=8, padding="same")).eval()
    model = type("Fitted", (), {"module_": net, "name": "cnn"})()
    image = np.random.default_rng(1).integers(0, 256, size=(16, 16, 1), dtype=np.uint8)
    found = explain_image(model, image, answer(1))
    x = torch.from_numpy(image.transpose(2, 0, 1)[None].copy()).float() / 255.0
    np.testing.assert_allclose(found.heatmap, reference_grad_cam(net, x, 1), atol=1e-6)
    assert found.method == "grad_cam" and found.completeness is None


def band_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """20x20 grayscale: class c is a bright bar in horizontal band c (rows 2+6c .. 5+6c)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.integers(0, 50, size=(n, 20, 20), dtype=np.uint8)
    for i, c in enumerate(y):
        x[i, 2 + 6 * c : 6 + 6 * c, 3:17] = 250
    return x, y.astype(np.uint8)


@pytest.fixture(scope="module")
def band_cnn(tmp_path_factory: pytest.TempPathFactory) -> launchml.Run:
    # one convolution block, no pooling: Grad-CAM's map has the image's own resolution
    home = tmp_path_factory.mktemp("bands")
    x_train, y_train = band_images(48, 0)
    x_test, y_test = band_images(12, 1)
    np.savez(home / "bands.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    config = {
        "data": {"train": str(home / "bands.npz"), "test": str(home / "bands.npz")},
        "model": {"type": "cnn", "cnn": {"widths": [8], "padding": "same", "dense": 16}},
        "train": {"epochs": 5, "batch_size": 8, "lr": 3e-3, "threads": 1},
    }
    return launchml.train(config, out=home / "run")


def region_cnn() -> CNNNet:
    """A hand-built ``cnn`` whose class depends on one region: a 1x1 convolution with a
    'bright' channel (ReLU(x - 0.5)) and a 'dark' one (ReLU(0.5 - x)); the dense unit adds up the
    bright channel over rows and columns 2-7 only; class 1 is that sum, class 0 is 1 minus it."""
    from launchml.config import CNNConfig

    options = CNNConfig(widths=[2], kernel_size=1, padding="same", dense=1)
    net = CNNNet(1, (20, 20), 2, options).eval()
    conv, dense, out = net.features[0], net.head[2], net.head[5]
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
        conv.bias.copy_(torch.tensor([-0.5, 0.5]))
        region = torch.zeros(2, 20, 20)
        region[0, 2:8, 2:8] = 1.0
        dense.weight.copy_(region.reshape(1, -1))
        dense.bias.zero_()
        out.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        out.bias.copy_(torch.tensor([1.0, 0.0]))
    return net


def test_grad_cam_of_a_cnn_whose_class_depends_on_one_region_peaks_there() -> None:
    net = region_cnn()
    model = type("Fitted", (), {"module_": net, "name": "cnn"})()
    image = np.random.default_rng(2).integers(0, 100, size=(20, 20, 1), dtype=np.uint8)
    image[3:7, 3:7] = 250  # bright in the region that decides
    why = explain_image(model, image, answer(1))
    heat = why.heatmap
    assert np.unravel_index(heat.argmax(), heat.shape) in {
        (r, c) for r in range(3, 7) for c in range(3, 7)
    }
    outside = heat.copy()
    outside[3:7, 3:7] = 0.0
    # the dark channel is active all over the background but the class does not use it
    assert np.abs(outside).max() < 1e-6 < heat[3:7, 3:7].min()
    # class 0 falls as the region brightens: Grad-CAM (rectified) shows no evidence for it
    assert np.abs(explain_image(model, image, answer(0)).heatmap).max() < 1e-6


def test_overlays_are_pngs_of_the_upscaled_image(band_cnn: launchml.Run) -> None:
    import io

    from PIL import Image

    images, _ = band_images(1, 3)
    why = band_cnn.explain(images[0][..., None])
    png = overlay_png(why.image, why.heatmap, signed=False)
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG" and picture.size == (240, 240)  # 20 px x 12, >= 224


# --------------------------------------------------------------------------------------------
# Trained text models: completeness, the tf-idf contributions, ensembles.

TRAIN_TEXTS = {
    "order_status": ["where is my order", "track my parcel", "has my package shipped",
                     "order status please", "when will my parcel arrive", "where is my package"],
    "refund": ["i want a refund", "money back please", "refund my purchase", "refund the charge",
               "give me a refund", "i want my money back"],
    "change_address": ["change my address", "update the delivery address", "new address please",
                       "wrong address on the order", "edit my address", "ship to a new address"],
}  # fmt: skip


@pytest.fixture(scope="module")
def text_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("texts")
    rows = [(t, label) for label, texts in TRAIN_TEXTS.items() for t in texts]
    write_csv(home / "train.csv", rows * 2)
    # mislabelled on purpose: a model that learnt the training texts gets these wrong
    wrong = [("i want a refund", "order_status"), ("track my parcel", "refund")]
    write_csv(home / "test.csv", [*wrong, ("edit my address", "change_address")])
    return home


def text_run(home: Path, model: dict, name: str, **train: object) -> launchml.Run:
    out = home / name
    if out.is_dir():
        return launchml.Run.load(out)
    config = {
        "data": {"train": str(home / "train.csv"), "test": str(home / "test.csv"),
                 "clean": {"dedupe": False}, "split": {"val": 0.0}},
        "model": model,
        "train": {"epochs": 8, "batch_size": 8, "lr": 5e-3, "threads": 1, **train},
    }  # fmt: skip
    return launchml.train(config, out=out)


@pytest.mark.parametrize(
    "model",
    [
        {"type": "lstm", "lstm": {"tokenizer": "word", "embedding_dim": 16, "hidden_size": 16}},
        {"type": "textcnn", "textcnn": {"tokenizer": "word", "embedding_dim": 16, "filters": 8}},
    ],
    ids=["lstm", "textcnn"],
)
def test_integrated_gradients_add_up_to_the_logit_change(text_home: Path, model: dict) -> None:
    run = text_run(text_home, model, model["type"])
    text = "Hi, where is my parcel? I want a refund"
    why = run.explain(text, target="refund")
    assert why.target == "refund" and why.method == "integrated_gradients"
    assert [t.token for t in why.tokens][:3] == ["Hi", ",", "where"]
    # the reference: the model's own logits for the text and for all-padding, not Captum's delta
    net, tokenizer = run.model.module_, run.model.text_tokenizer()
    ids = torch.tensor(tokenizer.encode([text]))
    lengths, c = torch.tensor([ids.shape[1]]), run.labels.index("refund")
    with torch.no_grad():
        change = net(ids, lengths)[0, c] - net(torch.zeros_like(ids), lengths)[0, c]
    check = why.completeness
    assert check is not None and check.converged
    total = sum(t.attribution for t in why.tokens)
    assert abs(total - float(change)) <= check.tolerance
    assert check.tolerance == pytest.approx(max(0.01, 0.05 * abs(float(change))), rel=1e-4)
    assert why.score - why.baseline_score == pytest.approx(float(change), abs=1e-5)


def test_transformer_attributions_cover_the_words_not_the_special_tokens(
    text_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.test_transformer import tiny_bert_dir

    bert = tiny_bert_dir(tmp_path_factory.mktemp("bert"))
    options = {"pretrained": str(bert), "cache_dir": str(text_home / "cache"), "body": "finetune"}
    run = text_run(text_home, {"type": "transformer", "transformer": options}, "bert", epochs=2)
    text = "refund my parcel"
    why = run.explain(text)
    assert [t.token for t in why.tokens] == ["ref", "##und", "my", "parcel"]
    assert [text[t.start : t.end] for t in why.tokens] == ["ref", "und", "my", "parcel"]
    check = why.completeness
    assert check is not None and check.converged
    assert abs(sum(t.attribution for t in why.tokens) - check.expected) <= check.tolerance


def test_tfidf_contributions_sum_to_the_decision_function(text_home: Path) -> None:
    run = text_run(text_home, {"type": "tfidf_logreg"}, "tfidf")
    text = "where is my refund? new address"
    pipeline = run.model.pipeline_
    decision = pipeline.decision_function([text])[0]
    intercepts = pipeline.named_steps["classifier"].intercept_
    for label in run.labels:
        why = run.explain(text, target=label)
        c = run.labels.index(label)
        assert why.score == pytest.approx(decision[c], abs=1e-12)
        total = sum(t.attribution for t in why.tokens)
        assert total + intercepts[c] == pytest.approx(decision[c], abs=1e-9)
        assert why.completeness is not None and why.completeness.converged
        # each listed feature's contribution is its coefficient times its tf-idf weight
        x = pipeline.named_steps["features"].transform([text]).toarray()[0]
        coef = pipeline.named_steps["classifier"].coef_[c]
        for feature in why.features:
            assert feature["contribution"] == pytest.approx(
                feature["coefficient"] * feature["tfidf"]
            )
        assert sum(abs(f["contribution"]) for f in why.features) <= np.abs(coef * x).sum() + 1e-9
    assert [t.token for t in why.tokens] == ["where", "is", "my", "refund?", "new", "address"]


def test_tfidf_binary_explains_both_classes(tmp_path: Path) -> None:
    rows = [("great fun film", "pos"), ("loved it", "pos"), ("awful boring film", "neg"),
            ("hated it", "neg")] * 3  # fmt: skip
    write_csv(tmp_path / "train.csv", rows)
    config = {"data": {"train": str(tmp_path / "train.csv"), "clean": {"dedupe": False}},
              "model": {"type": "tfidf_logreg"}}  # fmt: skip
    run = launchml.train(config, out=tmp_path / "run")
    decision = run.model.pipeline_.decision_function(["boring but fun"])[0]  # class 1 = pos
    pos, neg = (
        run.explain("boring but fun", target="pos"),
        run.explain("boring but fun", target="neg"),
    )
    assert pos.score == pytest.approx(decision) and neg.score == pytest.approx(-decision)
    for why in (pos, neg):
        assert sum(t.attribution for t in why.tokens) + why.baseline_score == pytest.approx(
            why.score
        )


def test_ensemble_explanation_is_the_mean_of_its_members(text_home: Path) -> None:
    model = {"type": "ensemble", "ensemble": {"member": "tfidf_logreg", "size": 2},
             "tfidf_logreg": {"C": 1.0}}  # fmt: skip
    run = text_run(text_home, model, "ensemble", seed=3)
    text = "refund to my new address"
    why = run.explain(text, target="refund")
    members = [
        explain_one_member(member, text, run.labels.index("refund"))
        for member in run.model.members_
    ]
    np.testing.assert_allclose(
        [t.attribution for t in why.tokens],
        np.mean([[t.attribution for t in m.tokens] for m in members], axis=0),
    )
    assert why.probability == pytest.approx(run.predict_proba(text)[run.labels.index("refund")])
    assert why.completeness is not None and why.completeness.converged
    assert "mean of 2 members" in why.notes[0]


def explain_one_member(member: object, text: str, target: int):  # type: ignore[no-untyped-def]
    from launchml.explain.linear import explain_linear

    return explain_linear(member, text, Answer(target, "", "", 0.0, text))


# --------------------------------------------------------------------------------------------
# The CLI and the report.


def test_explain_cli_text_json_and_html(text_home: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = text_run(text_home, {"type": "tfidf_logreg"}, "tfidf")
    result = cli("explain", run.path, "where is my parcel", "refund please", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [d["predicted"] for d in data] == ["order_status", "refund"]
    assert data[0]["tokens"][3] == {
        **data[0]["tokens"][3],
        "token": "parcel",
        "start": 12,
        "end": 18,
    }
    page = tmp_path / "why.html"
    result = cli("explain", run.path, "where is my parcel", "--html", page)
    assert result.code == 0 and "completeness: attributions sum to" in result.out
    html = page.read_text(encoding="utf-8")
    assert html.count('class="why"') == 1 and 'title="parcel ' in html


def test_explain_cli_bad_input(text_home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    run = text_run(text_home, {"type": "tfidf_logreg"}, "tfidf")
    result = cli("explain", run.path, "hello", "--target", "refnud")
    assert result.code == 2
    assert result.err.startswith(
        "error: target 'refnud' is not a label of this model; did you mean 'refund'?"
    )
    assert cli("explain", run.path).code == 2
    assert "--html" in cli("explain", run.path, "x", "--html", "/no/such/dir/a.html").err


def test_image_explain_cli_names_the_region(band_cnn: launchml.Run, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    images, _ = band_images(3, 4)
    Image.fromarray(images[2]).save(tmp_path / "two.png")
    result = cli("explain", band_cnn.path, tmp_path / "two.png")
    assert result.code == 0, result.err
    assert "predicted 2; explaining 2" in result.out and "strongest region: rows" in result.out


def test_report_explains_the_hardest_mistakes(text_home: Path) -> None:
    from launchml.report import build_report

    run = text_run(text_home, {"type": "tfidf_logreg"}, "tfidf")
    html = build_report(run.path, out=text_home / "report.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="explanations">') :]
    section = section[: section.index("</section>")]
    assert section.count('class="why"') == 2  # the two mislabelled test rows
    assert 'predicted <b class="bad">refund</b>, true <b>order_status</b>' in section
    assert "exact linear contributions" in section
