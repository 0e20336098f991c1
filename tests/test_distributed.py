"""Data-parallel training: two gloo processes on loopback train as one process with the same
global batch (the engine, every torch model family, bucketed batches), and the CLI's
``--nproc`` / plain ``torchrun`` runs match a one-process run, resume after a SIGKILL and write
one run directory.

Tolerance: the two processes add the same numbers in another order, so losses agree to a
relative 1e-4 and weights to 1e-4 (relative) + 1e-5 (absolute) after every step of the
tiny problems; the two replicas agree with each other exactly.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from launchml.launch import _loopback_interface
from tests.ddp_cases import CASES, tiny_bert, train_case

REPO = Path(__file__).resolve().parents[1]
RTOL, ATOL = 1e-4, 1e-5


def worker_env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    interface = _loopback_interface()
    if interface is None:
        pytest.skip("no loopback network interface (lo) to run gloo on")
    env["GLOO_SOCKET_IFNAME"] = interface
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.slow
def test_two_processes_follow_the_one_process_trajectory(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    tiny_bert(scratch / "bert")  # made once, before the processes read it
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port, fd = listener.getsockname()[1], listener.fileno()
    command = [sys.executable, "-m", "tests.ddp_cases"]
    workers = [
        subprocess.Popen(
            [*command, str(rank), "2", str(port), str(tmp_path), *([str(fd)] if rank == 0 else [])],
            env=worker_env(),
            cwd=REPO,
            pass_fds=(fd,) if rank == 0 else (),
        )
        for rank in range(2)
    ]
    listener.close()
    assert [w.wait(timeout=600) for w in workers] == [0, 0]

    for name in CASES:
        one_history, one_weights = train_case(name, scratch)
        two_history = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        rank0 = load_file(str(tmp_path / f"{name}-rank0.safetensors"))
        rank1 = load_file(str(tmp_path / f"{name}-rank1.safetensors"))
        assert len(two_history) == len(one_history) == 2, name
        for key in ("train_loss", "val_loss", "val_accuracy"):
            got = [row[key] for row in two_history]
            want = [row[key] for row in one_history]
            np.testing.assert_allclose(got, want, rtol=RTOL, err_msg=f"{name} {key}")
        assert rank0.keys() == rank1.keys() == one_weights.keys(), name
        for key, weight in one_weights.items():
            assert torch.equal(rank0[key], rank1[key]), f"{name}: replicas differ in {key}"
            torch.testing.assert_close(rank0[key], weight, rtol=RTOL, atol=ATOL, msg=key)
