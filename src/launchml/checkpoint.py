"""Resumable training checkpoints as ONE safetensors file: tensors in the body, the rest as JSON.

Everything a resumed run needs — model weights, the best weights so far, the optimiser's state,
the random-number-generator states and the loop's counters — is written into a single file, so a
checkpoint can be replaced atomically (temp file + ``os.replace``): a run killed at any moment
leaves either the previous complete checkpoint or the new one, never half of each. No pickle is
involved, so loading a checkpoint cannot run code.

Example::

    write_checkpoint(path, {"model": module.state_dict()}, {"epoch": 3})
    tensors, state = read_checkpoint(path)
    module.load_state_dict(tensors["model"])
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import safe_open, save_file

_STATE_KEY = "launchml_state"


def write_checkpoint(path: Path, groups: dict[str, dict[str, torch.Tensor]], state: dict) -> None:
    """Write tensor ``groups`` (``{"model": state_dict, ...}``) and JSON ``state`` atomically."""
    flat: dict[str, torch.Tensor] = {}
    for group, tensors in groups.items():
        for name, tensor in tensors.items():
            # safetensors refuses tensors that share memory or are not contiguous: copy them
            # (to the CPU: a checkpoint of a GPU run is read anywhere)
            flat[f"{group}/{name}"] = tensor.detach().to("cpu", copy=True).contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(flat, str(tmp), metadata={_STATE_KEY: json.dumps(state)})
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """The tensor groups and the JSON state written by :func:`write_checkpoint`."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    with safe_open(str(path), framework="pt") as handle:
        state = json.loads((handle.metadata() or {})[_STATE_KEY])
        for key in handle.keys():  # noqa: SIM118 (safe_open is not a mapping)
            group, _, name = key.partition("/")
            groups.setdefault(group, {})[name] = handle.get_tensor(key)
    return groups, state


# --------------------------------------------------------------------------------------------
# Optimiser state: torch keeps tensors (moments, step counts) and plain values side by side.


def split_optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """``optimizer.state_dict()`` as (tensors for safetensors, everything else for JSON)."""
    full = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for index, entry in full["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": full["param_groups"], "plain": plain}


def join_optimizer_state(tensors: dict[str, torch.Tensor], rest: dict) -> dict[str, Any]:
    """Inverse of :func:`split_optimizer_state`: a dict for ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, _, name = key.partition(".")
        state.setdefault(int(index), {})[name] = value
    for index, entry in rest["plain"].items():
        state.setdefault(int(index), {}).update(entry)
    return {"state": state, "param_groups": rest["param_groups"]}


# --------------------------------------------------------------------------------------------
# Random number generators of python, numpy and torch.


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    legacy = np.random.get_state(legacy=True)
    assert isinstance(legacy, tuple)  # the global generator is MT19937: the legacy tuple form
    kind, keys, pos, has_gauss, cached = legacy
    version, internal, gauss_next = random.getstate()
    tensors = {"torch": torch.get_rng_state(), "numpy": torch.from_numpy(keys.astype(np.int64))}
    plain = {
        "numpy": [kind, int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss_next],
    }
    return tensors, plain


def set_rng_state(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    kind, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((kind, tensors["numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss_next = plain["python"]
    random.setstate((version, tuple(internal), gauss_next))
