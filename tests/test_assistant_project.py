"""The assistant project file, `launchml assistant init`, and bad input on the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from launchml.assistant.example import init_project
from launchml.assistant.project import load_project, validate_project
from launchml.assistant.train import load_data
from launchml.errors import ConflictError, InvalidConfigError, InvalidInputError
from tests.conftest import write_tiny_project

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"


def test_defaults_are_the_frozen_encoder_recipe_and_named_policy_values() -> None:
    project = validate_project({"data": {"intents": "x.csv"}})
    assert project.languages == ["en"] and project.lang == "en" and project.encoder == "minilm"
    model, train = project.classifier.model, project.classifier.train
    assert (model.type, model.transformer.body, model.transformer.pooling) == (
        "transformer", "frozen", "mean",
    )  # fmt: skip
    assert (train.epochs, train.lr) == (40, 1e-2)
    policy = project.policy
    assert (policy.in_scope_handoff, policy.clarify_margin, policy.max_failed_turns) == (
        0.05, 0.2, 2,
    )  # fmt: skip
    assert project.message("clarify", "de") == "Meinten Sie {options}?"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"data": {"intents": "x"}, "polcy": {}}, "unknown key 'polcy'; did you mean 'policy'?"),
        (
            {"data": {"intents": "x"}, "policy": {"clarify_margn": 0.1}},
            "unknown key 'policy.clarify_margn'; did you mean 'clarify_margin'?",
        ),
        (
            {"data": {"intents": "x"}, "classifier": {"train": {"epocs": 3}}},
            "unknown key 'classifier.train.epocs'; did you mean 'epochs'?",
        ),
        ({"data": {"intents": "x"}, "languages": ["english"]}, "unknown language 'english'"),
        (
            {"data": {"intents": "x"}, "languages": ["en"], "default_language": "de"},
            "default_language 'de' is not one of languages ['en']",
        ),
        (
            {"data": {"intents": "x"}, "responses": {"refund": {"fr": "..."}}},
            "responses.refund.fr: 'fr' is not one of languages ['en']",
        ),
        ({"data": {"intents": "x"}, "messages": {"bye": {"en": "."}}}, "messages.bye: unknown"),
        ({"data": {"intents": "x"}, "policy": {"in_scope_handoff": 2}}, "policy.in_scope_handoff"),
        ({"languages": ["en"]}, "missing required key 'data'"),
    ],
)
def test_project_mistakes_are_one_clear_line(raw: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        validate_project(raw, "assistant.yaml")
    assert str(caught.value).startswith("assistant.yaml: ")
    assert message in str(caught.value)


def test_paths_are_relative_to_the_project_file(tmp_path: Path) -> None:
    project = load_project(write_tiny_project(tmp_path / "p"), ["policy.clarify_margin=0.1"])
    assert project.data.intents == str(tmp_path / "p" / "intents.csv")
    assert project.policy.clarify_margin == 0.1
    assert load_project(tmp_path / "p").name == "tiny"  # the directory works too


def test_data_mistakes_name_the_file_and_row(tmp_path: Path) -> None:
    path = write_tiny_project(tmp_path / "p")
    intents = tmp_path / "p" / "intents.csv"
    with intents.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(["hola", "refund", "es"])
    with pytest.raises(InvalidInputError, match=r"intents.csv: line 41: lang 'es' is not one of"):
        load_data(load_project(path))
    refund = "  refund: {en: Refunds take 5 days., de: Erstattungen dauern 5 Tage.}\n"
    path.write_text(path.read_text().replace(refund, ""))
    rows = (
        "where is it,order_status\nmy money,refund\nnew home,change_address\nhuman,contact_human\n"
    )
    intents.write_text("text,intent\n" + rows * 3)
    with pytest.raises(InvalidConfigError, match=r"responses: no en reply for intent refund"):
        load_data(load_project(path))


def test_init_writes_a_project_of_the_shop_intents_in_two_languages(tmp_path: Path) -> None:
    path = init_project(tmp_path / "shop")
    project = load_project(path)
    data = load_data(project)
    shop = pd.read_csv(SHOP / "train.csv", dtype=str)
    written = pd.read_csv(tmp_path / "shop" / "intents.csv", dtype=str)
    english = written[written["lang"] == "en"]
    assert list(english["text"]) == list(shop["text"])  # the demo's messages, unchanged
    assert set(written["lang"]) == {"en", "de"}
    assert set(data["labels"]) == set(shop["intent"])
    assert {e.lang for e in data["faq"]} == {"en", "de"}
    assert all(set(project.responses[i]) == {"en", "de"} for i in project.responses)
    with pytest.raises(ConflictError, match="not an empty directory"):
        init_project(tmp_path / "shop")


def test_cli_init_and_bad_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("assistant", "init", tmp_path / "new")
    assert result.code == 0 and result.out.strip() == str(tmp_path / "new" / "assistant.yaml")
    result = cli("assistant", "train", tmp_path / "new", "--out", tmp_path / "run",
                 "--set", "policy.clarify_margn=0.1")  # fmt: skip
    assert result.code == 2
    assert result.err.strip() == (
        f"error: {tmp_path / 'new' / 'assistant.yaml'}: unknown key 'policy.clarify_margn'; "
        "did you mean 'clarify_margin'?"
    )
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()
    result = cli("assistant", "chat", tmp_path / "nothing")
    assert result.code == 2 and "not an assistant run" in result.err
    result = cli("assistant", "serve", tmp_path / "new", "--host", "0.0.0.0")
    assert result.code == 2 and "an API key is required" in result.err
