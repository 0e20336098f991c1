"""The search space of ``tune.space``: from the YAML declaration to Optuna suggestions to a
trial's config.

Each key is a dotted config key (checked when the config is loaded, with "did you mean").
A range ``{low, high[, log][, step]}`` is sampled as an int or a float after the key's own
type (``train.epochs`` is an int, ``train.lr`` a float); ``choices`` may be any values of the
key's type, lists included (``model.mlp.hidden: {choices: [[128], [256, 128]]}``), or a
mapping ``choice -> sub-space`` searched only when that choice is drawn (per-type sub-spaces
under ``model.type``). :func:`check_space` validates every bound and choice against the
config's own rules before the first trial, so that no trial fails on a typo'd range.

Example::

    overrides = suggest(trial, config.tune.space)  # {"train.lr": 0.003, "model.type": "mlp"}
    trial_config = apply_params(config, overrides)
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Protocol

from pydantic import BaseModel

from launchml.config import Config, ParamSpace, validate_config
from launchml.errors import InvalidConfigError, LaunchMLError


class Suggester(Protocol):
    """The part of ``optuna.Trial`` used here (so that this module does not import optuna)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


def suggest(trial: Suggester, space: dict[str, ParamSpace]) -> dict[str, Any]:
    """Draw a value for every key of ``space`` (and of the sub-spaces of the choices drawn)."""
    drawn: dict[str, Any] = {}
    for key, spec in space.items():
        if spec.choices is not None:
            options = list(spec.choices)
            encoded = [_encode(option) for option in options]
            picked = options[encoded.index(trial.suggest_categorical(key, encoded))]
            drawn[key] = picked
            if isinstance(spec.choices, dict):
                drawn.update(suggest(trial, spec.choices[picked] or {}))
            continue
        assert spec.low is not None and spec.high is not None
        if key_type(key) is int:
            step = int(spec.step) if spec.step else 1
            drawn[key] = trial.suggest_int(
                key, int(spec.low), int(spec.high), step=step, log=spec.log
            )
        else:
            drawn[key] = trial.suggest_float(key, spec.low, spec.high, step=spec.step, log=spec.log)
    return drawn


def apply_params(config: Config, params: dict[str, Any]) -> Config:
    """The config of one trial: ``config`` with ``params`` set and without its ``tune:``."""
    raw = config.model_dump(mode="json")
    raw["tune"] = None
    for key, value in params.items():
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return validate_config(raw, "tune trial")


def check_space(config: Config) -> None:
    """Raise :class:`InvalidConfigError` naming the key when a bound or choice is not a valid
    value of its config key (e.g. ``dropout`` up to 1.5), or a range is on a non-numeric key."""
    assert config.tune is not None
    _check(config, config.tune.space, "tune.space")


def _check(config: Config, space: dict[str, ParamSpace], where: str) -> None:
    for key, spec in space.items():
        name = f"{where}.{key}"
        if spec.choices is not None:
            values = list(spec.choices)
        else:
            kind = key_type(key)
            if kind not in (int, float):
                raise InvalidConfigError(
                    f"{name}: a range (low/high) needs a numeric key, and {key} is not; "
                    "list its values under choices instead"
                )
            if kind is int and any(
                v is not None and float(v) != int(v) for v in (spec.low, spec.high, spec.step)
            ):
                raise InvalidConfigError(f"{name}: {key} is an integer key; use whole numbers")
            values = [spec.low, spec.high]
        for value in values:
            try:
                apply_params(config, {key: int(value) if key_type(key) is int else value})
            except (LaunchMLError, TypeError, ValueError) as exc:
                reason = str(exc).removeprefix("tune trial: ")
                raise InvalidConfigError(f"{name}: {value!r} is not allowed ({reason})") from None
        if isinstance(spec.choices, dict):
            for choice, sub in spec.choices.items():
                _check(config, sub or {}, f"{name}.choices.{choice}")


def key_type(key: str) -> type | None:
    """``int`` or ``float`` when the config key ``key`` holds a number (None allowed), else
    None (strings, booleans, lists, literals: those take choices)."""
    model: type[BaseModel] = Config
    *parents, leaf = key.split(".")
    for part in parents:
        annotation = model.model_fields[part].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation
    annotation = model.model_fields[leaf].annotation
    args = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    numbers = [a for a in args if a is not type(None)]
    if numbers == [int]:
        return int
    if numbers == [float]:
        return float
    return None


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _encode(value: Any) -> Any:
    # Optuna's categorical values are None, bool, int, float or str: lists travel as JSON
    return json.dumps(value) if isinstance(value, list | dict) else value


def describe_params(params: dict[str, Any]) -> str:
    """``key=value`` pairs, short, for one line of output."""

    def short(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return json.dumps(value) if isinstance(value, list | dict) else str(value)

    return ", ".join(f"{key.split('.')[-1]}={short(value)}" for key, value in params.items())
