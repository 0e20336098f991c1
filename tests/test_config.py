"""The config tree: YAML loading, defaults, path resolution, ``--set`` overrides, error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from launchml.config import Config, apply_override, load_config, validate_config
from launchml.errors import LaunchMLError
from launchml.models import model_type_names


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    return write(tmp_path / "config.yaml", "data:\n  train: train.csv\n")


def test_yaml_values_are_loaded(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        "data:\n  train: t.csv\n  text_column: utterance\n  clean: {lowercase: true}\n"
        "train:\n  epochs: 7\n  lr: 0.05\n  early_stopping: {patience: 2}\n",
    )
    config = load_config(path)
    assert config.data.text_column == "utterance"
    assert config.data.clean.lowercase is True
    assert config.train.epochs == 7
    assert config.train.lr == pytest.approx(0.05)
    assert config.train.early_stopping.patience == 2


def test_defaults_fill_everything_not_given(minimal: Path) -> None:
    config = load_config(minimal)
    assert config.data.val is None and config.data.test is None
    assert config.data.format == "auto"
    assert config.data.split.val == pytest.approx(0.1)
    assert config.data.clean.unicode == "NFKC"
    assert config.data.clean.dedupe is True
    assert config.model.type == "tfidf_logreg"
    assert config.train.epochs >= 1


def test_relative_data_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "project"
    sub.mkdir()
    absolute = tmp_path / "elsewhere" / "test.csv"
    write(
        sub / "config.yaml",
        f"data:\n  train: train.csv\n  val: data/val.csv\n  test: {absolute}\n",
    )
    other = tmp_path / "cwd"
    other.mkdir()
    monkeypatch.chdir(other)  # the working directory must not matter
    config = load_config(Path("..") / "project" / "config.yaml")
    assert Path(config.data.train) == sub.resolve() / "train.csv"
    assert Path(config.data.val) == sub.resolve() / "data" / "val.csv"
    assert Path(config.data.test) == absolute


def test_dict_source_resolves_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config({"data": {"train": "x.csv"}})
    assert Path(config.data.train) == Path.cwd() / "x.csv"


def test_overrides_set_nested_values_parsed_as_yaml(minimal: Path) -> None:
    config = load_config(minimal, ["train.epochs=3", "data.clean.lowercase=true"])
    assert config.train.epochs == 3
    assert config.data.clean.lowercase is True
    # the file itself is untouched, a plain load gives the defaults back
    assert load_config(minimal).data.clean.lowercase is False


def test_override_creates_missing_sections(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "data:\n  train: t.csv\n")
    config = load_config(path, ["train.early_stopping.patience=5", "model.mlp.hidden=[8, 4]"])
    assert config.train.early_stopping.patience == 5
    assert config.model.mlp.hidden == [8, 4]


def test_override_replaces_a_value_given_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "data:\n  train: t.csv\ntrain:\n  epochs: 9\n")
    assert load_config(path, ["train.epochs=2"]).train.epochs == 2
    assert load_config(path, ["train.threads=null"]).train.threads is None


def test_apply_override_in_place() -> None:
    raw: dict = {"a": {"b": 1}}
    apply_override(raw, "a.c.d=hello")
    apply_override(raw, "a.b= 2 ")
    apply_override(raw, "e=")
    assert raw == {"a": {"b": 2, "c": {"d": "hello"}}, "e": None}


@pytest.mark.parametrize("item", ["train.epochs", "=3", " =3"])
def test_bad_override_syntax(minimal: Path, item: str) -> None:
    with pytest.raises(LaunchMLError, match="expected KEY=VALUE"):
        load_config(minimal, [item])


def test_override_through_a_value_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "data:\n  train: t.csv\ntrain:\n  epochs: 4\n")
    with pytest.raises(LaunchMLError, match="'epochs' is a value, not a section"):
        load_config(path, ["train.epochs.max=3"])


def test_unknown_nested_key_names_its_path_and_suggests(minimal: Path) -> None:
    with pytest.raises(LaunchMLError) as info:
        load_config(minimal, ["train.epocs=3"])
    message = str(info.value)
    assert "unknown key 'train.epocs'" in message
    assert "did you mean 'epochs'" in message
    assert str(minimal) in message


def test_unknown_deeply_nested_key(minimal: Path) -> None:
    with pytest.raises(LaunchMLError) as info:
        load_config(minimal, ["data.clean.lowercse=true"])
    assert "unknown key 'data.clean.lowercse'" in str(info.value)
    assert "did you mean 'lowercase'" in str(info.value)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "data:\n  train: t.csv\ntrian:\n  epochs: 3\n")
    with pytest.raises(LaunchMLError) as info:
        load_config(path)
    assert "unknown key 'trian'" in str(info.value)
    assert "did you mean 'train'" in str(info.value)


def test_unknown_key_far_from_everything_has_no_suggestion(minimal: Path) -> None:
    with pytest.raises(LaunchMLError) as info:
        load_config(minimal, ["train.zzzzzz=1"])
    assert "unknown key 'train.zzzzzz'" in str(info.value)
    assert "did you mean" not in str(info.value)


def test_wrong_type_names_the_key_and_the_value(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "data:\n  train: t.csv\ntrain:\n  epochs: ten\n")
    with pytest.raises(LaunchMLError) as info:
        load_config(path)
    message = str(info.value)
    assert "train.epochs" in message
    assert "'ten'" in message


@pytest.mark.parametrize(
    ("item", "key"),
    [("data.split.val=1.5", r"data\.split\.val"), ("train.ema_decay=1.0", r"train\.ema_decay")],
)
def test_out_of_range_value_names_the_key(minimal: Path, item: str, key: str) -> None:
    with pytest.raises(LaunchMLError, match=key):
        load_config(minimal, [item])


def test_missing_train_path(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "data:\n  test: t.csv\n")
    with pytest.raises(LaunchMLError, match=r"missing required key 'data\.train'"):
        load_config(path)


def test_unknown_model_type_lists_known_types(minimal: Path) -> None:
    with pytest.raises(LaunchMLError) as info:
        load_config(minimal, ["model.type=tfidf_logreq"])
    message = str(info.value)
    assert "model.type" in message
    assert "unknown model type 'tfidf_logreq'" in message
    assert "did you mean 'tfidf_logreg'" in message
    for name in model_type_names():
        assert name in message


def test_several_problems_are_counted(minimal: Path) -> None:
    with pytest.raises(LaunchMLError, match=r"and 1 more problem\)"):
        load_config(minimal, ["train.epochs=ten", "train.batch_size=big"])


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.yaml", "# just a comment\n")
    with pytest.raises(LaunchMLError, match=r"empty\.yaml: config file is empty"):
        load_config(path)


@pytest.mark.parametrize("text", ["- data\n- train\n", "just a string\n", "42\n"])
def test_non_mapping_yaml(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "list.yaml", text)
    with pytest.raises(LaunchMLError, match=r"list\.yaml: expected a mapping"):
        load_config(path)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "data:\n  train: [unclosed\n")
    with pytest.raises(LaunchMLError, match=r"broken\.yaml: not valid YAML"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LaunchMLError, match="nope.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffdata:\n  train: t.csv\n".encode())
    assert Path(load_config(path).data.train).name == "t.csv"


def test_to_yaml_round_trips(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        "data:\n  train: t.csv\n  image: {size: [28, 32]}\n"
        "model:\n  type: cnn\n  tfidf_logreg: {char_ngrams: null}\ntrain:\n  epochs: 4\n",
    )
    config = load_config(path)
    text = config.to_yaml()
    raw = yaml.safe_load(text)
    assert raw["train"]["epochs"] == 4
    assert raw["data"]["image"]["size"] == [28, 32]
    again = validate_config(raw)
    assert isinstance(again, Config)
    assert again == config
    assert again.data.image.size == (28, 32)
    assert again.model.tfidf_logreg.char_ngrams is None
    assert again.to_yaml() == text


def test_assignment_is_validated(minimal: Path) -> None:
    config = load_config(minimal)
    with pytest.raises(ValueError):
        config.train.epochs = "many"  # type: ignore[assignment]
