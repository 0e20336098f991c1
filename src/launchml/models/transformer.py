"""``transformer``: fine-tune (or freeze) a pretrained Hugging Face encoder, offline.

Three ways to train (``model.transformer.body``):

- ``frozen``: encode the texts once (features cached on disk, keyed by model, settings and
  token ids), then train the head alone on the cached features with the generic engine.
- ``finetune``: train body and head together; the body at ``train.lr`` (lower layers at less with
  ``layer_lr_decay``), the head at ``head_lr``, the embeddings and the lowest ``freeze_layers``
  layers optionally frozen; length-bucketed batches and optional bf16 autocast for speed.
- ``two_stage``: ``frozen`` first (``warm_start_epochs`` at ``warm_start_lr``), then
  ``finetune`` from that warm start.

The run directory holds ``model.json`` and, for ``cls`` pooling, ``hf_model/``: a plain
Hugging Face directory (config with the user's labels, safetensors, tokenizer) that
``AutoModelForSequenceClassification.from_pretrained`` + ``AutoTokenizer`` load and that gives the
same logits as launchml. ``mean`` pooling saves ``encoder/`` (an ``AutoModel`` directory) and
``head.safetensors``.

Example::

    run = launchml.train({"data": {...}, "model": {"type": "transformer",
                          "transformer": {"body": "finetune"}}, "train": {"lr": 5e-5}})
"""

from __future__ import annotations

import contextlib
import json
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from launchml import distributed
from launchml import trainer as engine
from launchml.artifacts import check_hf_dir, damaged, read_json, safetensors_shapes
from launchml.config import Config, InferenceConfig, TrainConfig, TransformerConfig
from launchml.data.dataset import Dataset, Kind
from launchml.data.vocab import load_wordpiece
from launchml.devices import inference_device
from launchml.errors import DamagedArtifactError, InvalidConfigError
from launchml.inference.batching import (
    PaddedBatches,
    TokenBatches,
    length_sorted,
    probabilities,
    sorted_outputs,
    use_threads,
)
from launchml.inference.encoder import SentenceEncoder, quiet_transformers, resolve_pretrained
from launchml.inference.text import WordPieceTokenizer
from launchml.models.base import FitContext, Model
from launchml.models.frozen_prefix import (
    BucketedHiddenBatches,
    HiddenBatches,
    encode_prefix,
    layer_slice,
)
from launchml.models.hf_encoder import (
    BucketedBatches,
    TransformerNet,
    cache_key,
    cached_features,
    default_cache_dir,
    model_identity,
)
from launchml.models.torch_base import private_training

#: prediction batches of a transformer hold at most this many texts (attention is quadratic)
MAX_PREDICT_BATCH = 256

SPEC = "model.json"
HF_DIR = "hf_model"
ENCODER_DIR = "encoder"
HEAD = "head.safetensors"


class Transformer(Model):
    name: ClassVar[str] = "transformer"
    kinds: ClassVar[tuple[Kind, ...]] = ("text",)

    def __init__(
        self,
        options: TransformerConfig,
        train_options: TrainConfig,
        labels: list[str],
        inference_options: InferenceConfig | None = None,
    ) -> None:
        self.options = options
        self.train_options = train_options
        self.labels = labels
        self.inference_options = inference_options or InferenceConfig()

    @classmethod
    def from_config(cls, config: Config, labels: list[str]) -> Transformer:
        return cls(config.model.transformer, config.train, labels, config.inference)

    def pooling(self) -> str:
        if self.options.pooling != "auto":
            return self.options.pooling
        return "mean" if self.options.body == "frozen" else "cls"

    # -- training ---------------------------------------------------------------------------

    def check_data(self, train: Dataset) -> None:
        source = resolve_pretrained(self.options.pretrained)
        try:
            positions = json.loads((source / "config.json").read_text("utf-8")).get(
                "max_position_embeddings"
            )
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            return  # the encoder's own loader says what is wrong with it
        if isinstance(positions, int) and self.options.max_length > positions:
            raise InvalidConfigError(
                f"model.transformer.max_length: {self.options.max_length} is more than the "
                f"{positions} positions the encoder in {source} knows; use 2 to {positions}"
            )

    def fit(
        self,
        train: Dataset,
        y_train: np.ndarray,
        val: Dataset | None,
        y_val: np.ndarray | None,
        ctx: FitContext,
    ) -> Transformer:
        if train.kind != "text":
            raise InvalidConfigError(
                f"model type 'transformer' trains on text data, got {train.kind} data from "
                f"{train.source}; pick another model.type"
            )
        options = self.options
        source = self.build()
        y_train = np.asarray(y_train, dtype=np.int64)
        has_val = val is not None and len(val) > 0 and y_val is not None
        ids_train = self.text_tokenizer().encode(list(train.inputs))
        ids_val: list[list[int]] = []
        if has_val:
            assert val is not None
            ids_val = self.text_tokenizer().encode(list(val.inputs))
        y_val = np.asarray(y_val, dtype=np.int64) if has_val else None

        if options.body in ("frozen", "two_stage"):
            stage = self.train_options
            if options.body == "two_stage":
                update = {"epochs": options.warm_start_epochs, "lr": options.warm_start_lr}
                stage = stage.model_copy(update=update)
            rows = self._fit_head(source, ids_train, y_train, ids_val, y_val, stage, ctx)
            ctx.history.extend({"stage": "head", **row} for row in rows)
        if options.body in ("finetune", "two_stage"):
            rows = self._fit_body(ids_train, y_train, ids_val, y_val, ctx)
            ctx.history.extend({"stage": "finetune", **row} for row in rows)
        self.module_.eval()
        return self

    def build(self) -> Path:
        """The untrained network (``module_``: the pretrained body and a new head seeded with
        ``train.seed``), its tokenizer and ``spec_``; returns the pretrained model's directory.
        :meth:`fit` starts here; federated training too."""
        options = self.options
        source = resolve_pretrained(options.pretrained)
        torch.set_num_threads(self.train_options.threads or distributed.default_threads())
        with quiet_transformers():
            self.tokenizer_ = load_wordpiece(source)
        torch.manual_seed(self.train_options.seed)  # the new head's initial weights
        self.module_ = TransformerNet.build(
            source,
            len(self.labels),
            self.pooling(),
            options.dropout,
            self.labels,
            options.normalize,
        )
        self.module_.bf16 = options.precision == "bf16"
        self.spec_ = {
            "type": self.name,
            "pooling": self.pooling(),
            "n_classes": len(self.labels),
            "pretrained": str(source),
            "options": options.model_dump(mode="json"),
        }
        self.cache_stats_: dict[str, int] = {}
        self._text_tokenizer: WordPieceTokenizer | None = None  # made anew for this tokenizer
        return source

    def frozen_features(self, source: Path, ids: list[list[int]]) -> torch.Tensor:
        """What the head reads for token ids ``ids``, from the frozen body (cached on disk)."""
        options = self.options
        cache_dir = Path(options.cache_dir).expanduser() if options.cache_dir else None
        settings = {
            "pooling": self.pooling(),
            "precision": options.precision,
            "normalize": options.normalize,
        }
        key = cache_key(model_identity(source), settings, ids)
        return cached_features(
            self.module_, ids, self._pad_id(), key, cache_dir or default_cache_dir(),
            self.cache_stats_,
        )  # fmt: skip

    def _fit_head(self, source, ids_train, y_train, ids_val, y_val, stage, ctx):
        """Train the head on cached frozen features (the fast path)."""
        with distributed.main_first():  # under torchrun: rank 0 fills the cache, the rest read
            f_train = self.frozen_features(source, ids_train)
            f_val = self.frozen_features(source, ids_val) if ids_val else None
        head = self.module_.head()
        if stage.threads is None:  # one small matrix: a second thread only adds sync overhead
            stage = stage.model_copy(update={"threads": 1})
        private = private_training(stage, len(f_train))
        rows = engine.fit(
            head,
            engine.TensorInputs(f_train),
            y_train,
            engine.TensorInputs(f_val) if f_val is not None else None,
            y_val,
            stage,
            ctx.work_dir / "head",
            quiet=ctx.quiet,
            resume=ctx.resume,
            eval_batch_size=self.inference_options.batch_size,
            on_epoch_end=_staged(ctx, "head"),
            private=private,
        )
        if private is not None:
            ctx.meta["privacy"] = private.spent()
        return rows

    def _fit_body(self, ids_train, y_train, ids_val, y_val, ctx):
        """Fine-tune body and head together."""
        options = self.options
        net = self.module_
        net.freeze(options.freeze_embeddings, options.freeze_layers)
        lr = self.train_options.lr
        net.head_lr_scale = (options.head_lr or lr) / lr
        net.layer_lr_decay = options.layer_lr_decay
        if ids_val:  # validation sorted by length: little padding; targets follow the order
            order = length_sorted(ids_val)
            ids_val, y_val = [ids_val[i] for i in order], y_val[order]
        train_inputs, val_inputs = self._body_inputs(ids_train, ids_val)
        above_prefix = (
            layer_slice(net, options.freeze_layers, embeddings=False)
            if options.cache_frozen
            else contextlib.nullcontext()
        )
        with above_prefix:
            return engine.fit(
                net,
                train_inputs,
                y_train,
                val_inputs,
                y_val,
                self.train_options,
                ctx.work_dir / "body",
                quiet=ctx.quiet,
                resume=ctx.resume,
                eval_batch_size=self.inference_options.batch_size,
                on_epoch_end=_staged(ctx, "finetune"),
            )

    def _body_inputs(
        self, ids_train: list[list[int]], ids_val: list[list[int]]
    ) -> tuple[PaddedBatches, PaddedBatches | None]:
        """Fine-tuning's batches: token ids, or with ``cache_frozen`` the frozen prefix's output
        (computed here once, instead of in every epoch)."""
        options, pad = self.options, self._pad_id()
        if options.cache_frozen:
            encode = partial(encode_prefix, self.module_, pad_id=pad, layers=options.freeze_layers)
            hidden_batches = BucketedHiddenBatches if options.bucket else HiddenBatches
            hidden_val = HiddenBatches(encode(ids_val)) if ids_val else None
            return hidden_batches(encode(ids_train)), hidden_val
        token_batches = BucketedBatches if options.bucket else TokenBatches
        token_val = TokenBatches(ids_val, pad) if ids_val else None
        return token_batches(ids_train, pad), token_val

    # -- prediction -------------------------------------------------------------------------

    def predict_proba(self, inputs: list[str] | np.ndarray) -> np.ndarray:
        return probabilities(self.logits(list(inputs)), len(self.labels))

    def logits(self, texts: list[str]) -> torch.Tensor:
        """Raw class scores, in input order (texts batched by length for speed)."""
        use_threads(self.inference_options.threads)
        ids = self.text_tokenizer().encode(texts)
        batch_size = min(self.inference_options.batch_size, MAX_PREDICT_BATCH)
        return sorted_outputs(self.module_, ids, self._pad_id(), batch_size, len(self.labels))

    def text_tokenizer(self) -> WordPieceTokenizer:
        """Texts to token ids with [CLS]/[SEP], at most ``max_length`` (made once)."""
        cached: WordPieceTokenizer | None = getattr(self, "_text_tokenizer", None)
        if cached is None:
            cached = WordPieceTokenizer.from_hf(self.tokenizer_, self.options.max_length)
            self._text_tokenizer = cached
        return cached

    def encoder(self) -> SentenceEncoder:
        """The sentence encoder inside this classifier (the same module: shared weights), with
        the run's tokenizer: ``encoder().encode(texts)`` gives the vectors the head reads."""
        encoder = self.module_.encoder
        encoder.tokenizer = self.text_tokenizer()
        encoder.batch_size = min(self.inference_options.batch_size, MAX_PREDICT_BATCH)
        return encoder

    def _pad_id(self) -> int:
        pad = self.tokenizer_.pad_token_id
        return 0 if pad is None else int(pad)

    # -- saving and loading -----------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        net = self.module_
        target = directory / (HF_DIR if net.pooling == "cls" else ENCODER_DIR)
        with quiet_transformers():
            if net.pooling == "cls":  # a plain Hugging Face classifier directory
                net.hf.config.problem_type = "single_label_classification"
            net.hf.save_pretrained(str(target), safe_serialization=True)
            self.tokenizer_.save_pretrained(str(target))
        if net.pooling == "mean":
            weights = net.classifier.state_dict()
            head = {k: v.detach().cpu().contiguous() for k, v in weights.items()}
            save_file(head, str(directory / HEAD))
        spec = {**self.spec_, "feature_cache": getattr(self, "cache_stats_", {})}
        (directory / SPEC).write_text(json.dumps(spec, indent=2), encoding="utf-8")

    @classmethod
    def check_saved(cls, directory: Path, config: Config) -> int | None:
        directory = Path(directory)
        spec = read_json(directory / SPEC, dict)
        if spec.get("type") != cls.name:
            raise damaged(
                directory / SPEC, f"describes a '{spec.get('type')}' model, not 'transformer'"
            )
        pooling, n_classes = spec.get("pooling"), spec.get("n_classes")
        if (
            pooling not in ("mean", "cls")
            or not isinstance(n_classes, int)
            or "options" not in spec
        ):
            raise damaged(directory / SPEC, "incomplete (it needs pooling, n_classes and options)")
        hf_config = check_hf_dir(directory / (HF_DIR if pooling == "cls" else ENCODER_DIR))
        if pooling == "mean":
            safetensors_shapes(directory / HEAD)
        elif len(hf_config.get("id2label") or {}) != n_classes:
            raise damaged(
                directory / HF_DIR / "config.json",
                f"names {len(hf_config.get('id2label') or {})} labels, model.json {n_classes}",
            )
        return n_classes

    @classmethod
    def load(cls, directory: Path, config: Config, labels: list[str]) -> Transformer:
        directory = Path(directory)
        spec = json.loads((directory / SPEC).read_text(encoding="utf-8"))
        if spec.get("type") != cls.name:
            raise DamagedArtifactError(
                f"{directory / SPEC}: a '{spec.get('type')}' model, not {cls.name}"
            )
        model = cls.from_config(config, labels)
        model.options = TransformerConfig.model_validate(spec["options"])
        pooling = spec["pooling"]
        source = directory / (HF_DIR if pooling == "cls" else ENCODER_DIR)
        net = TransformerNet.build(
            source,
            spec["n_classes"],
            pooling,
            model.options.dropout,
            labels,
            model.options.normalize,
        )
        if pooling == "mean":
            net.classifier.load_state_dict(load_file(str(directory / HEAD)))
        net.bf16 = model.options.precision == "bf16"
        net.to(inference_device(config.train.device, config.inference.device)).eval()
        model.module_, model.spec_ = net, spec
        with quiet_transformers():
            model.tokenizer_ = load_wordpiece(source)
        return model


def load_hf_classifier(directory: Path) -> tuple[Any, Any]:
    """The exported ``hf_model/`` through plain transformers: ``(model, tokenizer)``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(
            str(directory), local_files_only=True
        )
        tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    return model.eval(), tokenizer


def _staged(ctx: FitContext, stage: str) -> engine.EpochHook | None:
    """``ctx.on_epoch_end`` seeing the rows as ``ctx.history`` will hold them (with ``stage``)."""
    hook = ctx.on_epoch_end
    if hook is None:
        return None
    return lambda row: hook({"stage": stage, **row})
