"""train.device / inference.device / train.precision: what each setting resolves to, with and
without a (pretended) GPU, and the errors for settings this machine cannot honour."""

from __future__ import annotations

import pytest
import torch

from launchml.config import load_config
from launchml.devices import autocast_dtype, inference_device, resolve_device
from launchml.errors import InvalidConfigError, LaunchMLError


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch believes there are two CUDA GPUs (only device objects are made, nothing runs)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)


def test_cpu_and_auto_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(InvalidConfigError, match=r"train.device: cuda:1 but torch sees no CUDA"):
        resolve_device("cuda:1")
    # a run trained on a GPU predicts on this laptop; an explicit inference.device does not
    assert inference_device("cuda:0", None) == torch.device("cpu")
    with pytest.raises(InvalidConfigError, match=r"^inference.device: cuda but"):
        inference_device("auto", "cuda")
    assert autocast_dtype(torch.device("cpu"), "auto") is None
    assert autocast_dtype(torch.device("cpu"), "bf16") == torch.bfloat16
    with pytest.raises(InvalidConfigError, match="fp16 needs a CUDA GPU"):
        autocast_dtype(torch.device("cpu"), "fp16")


def test_gpus_by_index_and_by_local_rank(two_gpus: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    monkeypatch.setenv("LOCAL_RANK", "1")  # torchrun's second process on this machine
    assert resolve_device("auto") == resolve_device("cuda") == torch.device("cuda", 1)
    with pytest.raises(InvalidConfigError, match=r"GPU 2 wanted, but there are only 2"):
        resolve_device("cuda:2")
    assert inference_device("cpu", "cuda:1") == torch.device("cuda", 1)
    assert autocast_dtype(torch.device("cuda", 0), "auto") == torch.float16  # no bf16 here


def test_config_rejects_an_unknown_device(tmp_path) -> None:
    data = {"train": str(tmp_path / "x.csv")}
    with pytest.raises(LaunchMLError, match=r"train.device: .*pattern"):
        load_config({"data": data, "train": {"device": "gpu"}})
    assert load_config({"data": data, "inference": {"device": "cuda:0"}}).inference.device
