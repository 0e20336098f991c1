"""``ensemble``: several models of one type, trained with different seeds, probabilities averaged.

Member ``i`` is exactly the model a run with ``model.type: <member>`` and ``train.seed: seed + i``
would train (same data, same split, same options), so an ensemble of ``size`` members costs
``size`` trainings and predicts by the mean of their class probabilities. Averaging models that
differ only in their random initialisation and batch order is the simplest way to trade training
time for accuracy and calibration (Lakshminarayanan et al., 2017, "deep ensembles").

Each finished member is saved under the run's work directory at once, so ``--resume`` after a
crash keeps the members already trained and continues the interrupted one from its checkpoint.

Example config::

    model:
      type: ensemble
      ensemble: {member: transformer, size: 3}
      transformer: {body: finetune, pooling: mean}
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from launchml import distributed
from launchml.artifacts import damaged, read_json, require_dir
from launchml.config import Config
from launchml.data.dataset import Dataset, Kind
from launchml.errors import InvalidConfigError, InvalidInputError
from launchml.models.base import FitContext, Model

SPEC = "ensemble.json"
HISTORY = "history.json"  # a finished member's epochs, kept for --resume


def member_config(config: Config, index: int) -> Config:
    """The config of member ``index``: the member type, seed ``train.seed + index``."""
    member = config.model_copy(deep=True)
    member.model.type = config.model.ensemble.member
    member.train.seed = config.train.seed + index
    return member


class Ensemble(Model):
    name: ClassVar[str] = "ensemble"
    kinds: ClassVar[tuple[Kind, ...]] = ("text", "image")  # narrowed by the member type in fit

    def __init__(self, config: Config, labels: list[str]) -> None:
        self.config = config
        self.labels = labels

    @classmethod
    def from_config(cls, config: Config, labels: list[str]) -> Ensemble:
        return cls(config, labels)

    def _member_class(self) -> type[Model]:
        from launchml.models import get_model_class  # late import: the registry imports us

        return get_model_class(self.config.model.ensemble.member)

    def check_data(self, train: Dataset) -> None:
        member = member_config(self.config, 0)
        self._member_class().from_config(member, self.labels).check_data(train)

    def fit(
        self,
        train: Dataset,
        y_train: np.ndarray,
        val: Dataset | None,
        y_val: np.ndarray | None,
        ctx: FitContext,
    ) -> Ensemble:
        from launchml.pipeline import seed_everything

        member_cls = self._member_class()
        if train.kind not in member_cls.kinds:
            raise InvalidConfigError(
                f"model.ensemble.member '{member_cls.name}' works on "
                f"{' or '.join(member_cls.kinds)} data, but {train.source} holds {train.kind}s"
            )
        self.members_: list[Model] = []
        for index in range(self.config.model.ensemble.size):
            config = member_config(self.config, index)
            home = ctx.work_dir / f"member{index}"
            done = home / "fitted"
            member_ctx = FitContext(config, self.labels, home / "work", ctx.quiet, ctx.resume)
            member_ctx.on_epoch_end = _tagged(ctx, index)
            # rank 0 decides and writes (under torchrun all processes train each member)
            if distributed.agree(ctx.resume and done.is_dir()):  # trained before the crash
                member = member_cls.load(done, config, self.labels)
                member_ctx.history = json.loads((done / HISTORY).read_text("utf-8"))
                hook = member_ctx.on_epoch_end
                if hook is not None:  # the hook sees every epoch, as after an engine resume
                    for row in member_ctx.history:
                        hook(row)
            else:
                if distributed.session().is_main:
                    member_ctx.work_dir.mkdir(parents=True, exist_ok=True)
                seed_everything(config.train.seed)  # as the pipeline does for a single run
                member = member_cls.from_config(config, self.labels)
                member.fit(train, y_train, val, y_val, member_ctx)
                if distributed.session().is_main:
                    _save_finished(member, member_ctx.history, done)
            ctx.history.extend({"member": index, **row} for row in member_ctx.history)
            self.members_.append(member)
        return self

    def predict_proba(self, inputs: list[str] | np.ndarray) -> np.ndarray:
        probas = [member.predict_proba(inputs) for member in self.members_]
        return np.mean(probas, axis=0)

    def encoder(self, member: int = 0) -> Any:
        """The sentence encoder of member ``member`` (members of type ``transformer`` only)."""
        if not 0 <= member < len(self.members_):
            raise InvalidInputError(
                f"member {member}: the ensemble has members 0 to {len(self.members_) - 1}"
            )
        found = getattr(self.members_[member], "encoder", None)
        if found is None:
            raise InvalidInputError(
                f"an ensemble of '{self.config.model.ensemble.member}' models has no sentence "
                "encoder; only transformer members do"
            )
        return found()

    def save(self, directory: Path) -> None:
        spec = {"member": self.config.model.ensemble.member, "size": len(self.members_)}
        (directory / SPEC).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        for index, member in enumerate(self.members_):
            (directory / f"member{index}").mkdir()
            member.save(directory / f"member{index}")

    @classmethod
    def check_saved(cls, directory: Path, config: Config) -> int | None:
        spec = read_json(Path(directory) / SPEC, dict)
        member, size = spec.get("member"), spec.get("size")
        if member != config.model.ensemble.member or not isinstance(size, int) or size < 1:
            raise damaged(
                Path(directory) / SPEC,
                f"describes {size!r} members of type {member!r}, but config.yaml names "
                f"model.ensemble.member '{config.model.ensemble.member}'",
            )
        member_cls = cls(config, [])._member_class()
        outputs = {
            member_cls.check_saved(
                require_dir(Path(directory) / f"member{i}"), member_config(config, i)
            )
            for i in range(size)
        }
        if len(outputs) > 1:
            raise damaged(
                Path(directory),
                f"the members output different numbers of classes {sorted(outputs, key=str)}",
            )
        return outputs.pop()

    @classmethod
    def load(cls, directory: Path, config: Config, labels: list[str]) -> Ensemble:
        model = cls(config, labels)
        member_cls = model._member_class()
        size = json.loads((directory / SPEC).read_text("utf-8"))["size"]
        model.members_ = [
            member_cls.load(directory / f"member{i}", member_config(config, i), labels)
            for i in range(size)
        ]
        return model


def _save_finished(model: Model, history: list[dict], directory: Path) -> None:
    """Save a trained member and its history so that ``directory`` exists only once complete
    (``--resume`` trusts it)."""
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    model.save(partial)
    (partial / HISTORY).write_text(json.dumps(history), encoding="utf-8")
    partial.rename(directory)


def _tagged(ctx: FitContext, index: int) -> Callable[[dict[str, Any]], None] | None:
    """``ctx.on_epoch_end`` seeing a member's rows as ``ctx.history`` will hold them."""
    hook = ctx.on_epoch_end
    if hook is None:
        return None
    return lambda row: hook({"member": index, **row})
