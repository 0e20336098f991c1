"""``launchml train CONFIG --nproc N``: N training processes on this machine, through torchrun.

This runs torchrun's own launcher (``torch.distributed.run``: the elastic agent starts and
watches the processes) in this process, with the command ``python -m launchml train CONFIG ...``
— exactly what a user or a cluster scheduler runs by hand on several machines::

    torchrun --nnodes 2 --nproc-per-node 4 --node-rank 0 \\
        --rdzv-backend c10d --rdzv-endpoint HOST:29400 -m launchml train CONFIG

Locally the rendezvous is a TCP store on 127.0.0.1 only, on a port the system picks (torch's
own stores listen on every interface), and gloo talks over the loopback interface, so nothing
is reachable from the network. That rendezvous is also a torchrun plugin::

    torchrun --rdzv-backend launchml-loopback --rdzv-endpoint 127.0.0.1:0 \
        --nproc-per-node N -m launchml train CONFIG

The CPU cores are shared out: ``OMP_NUM_THREADS`` is the cores divided by N unless it is set.

Example::

    status = run_local(2, ["train", "config.yaml", "--out", "runs/ddp"])
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import Any

from launchml.errors import InvalidInputError

BACKEND = "launchml-loopback"
LOOPBACK = "127.0.0.1"


def run_local(nproc: int, args: list[str]) -> int:
    """Run ``python -m launchml ARGS`` in ``nproc`` processes; return the exit status (0, 2
    when the processes stopped on a user error they already printed, else 1 with one line on
    stderr saying which process failed and how)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    if nproc < 1:
        raise InvalidInputError(f"--nproc {nproc}: expected the number of processes, 1 or more")
    if "WORLD_SIZE" in os.environ:
        raise InvalidInputError(
            "--nproc inside torchrun: torchrun already started the processes; drop --nproc"
        )
    _register_loopback_rendezvous()
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    interface = _loopback_interface()
    if interface is not None:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", interface)
        os.environ.setdefault("NCCL_SOCKET_IFNAME", interface)
    # our own one-line summary replaces the agent's multi-line failure report
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    torchrun = [
        "--nnodes=1",
        f"--nproc-per-node={nproc}",
        f"--rdzv-backend={BACKEND}",
        f"--rdzv-endpoint={LOOPBACK}:0",
        "--max-restarts=0",
        "-m",
        "launchml",
        *args,
    ]
    try:
        run(parse_args(torchrun))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        if failure.exitcode == 2:  # a user error, already printed by rank 0
            return 2
        how = (
            f"was killed by {failure.signal_name()}"
            if failure.exitcode < 0
            else f"failed with exit status {failure.exitcode} (its messages are above)"
        )
        print(
            f"error: training process {rank} of {nproc} {how}; an interrupted run continues "
            "with the same command and --resume RUN",
            file=sys.stderr,
        )
        return 1
    return 0


def _loopback_interface() -> str | None:
    """The loopback interface's name (``lo`` on Linux, ``lo0`` on macOS), if there is one."""
    names = [name for _, name in socket.if_nameindex()]
    return next((name for name in ("lo", "lo0") if name in names), None)


def loopback_rendezvous() -> Any:
    """torchrun's plugin hook (entry point ``torchrun.handlers``): the handler creator of the
    ``launchml-loopback`` rendezvous backend."""
    return _create_handler


def _register_loopback_rendezvous() -> None:
    # the entry point does this in an installed launchml; done here too for a source checkout
    from torch.distributed.elastic.rendezvous import rendezvous_handler_registry

    rendezvous_handler_registry.register(BACKEND, _create_handler)


def _create_handler(params: Any) -> Any:
    """A one-machine rendezvous: torch's static one, with its store bound to 127.0.0.1."""
    from torch.distributed import TCPStore
    from torch.distributed.elastic.rendezvous.static_tcp_rendezvous import StaticTCPRendezvous

    class LoopbackRendezvous(StaticTCPRendezvous):
        def get_backend(self) -> str:
            return BACKEND

        def next_rendezvous(self) -> Any:
            if self._store is None:
                # torch's TCPStore binds to every interface; handed a socket it listens on
                # that one (bound to loopback, port chosen by the system: no race for it)
                self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self._listener.bind((LOOPBACK, 0))
                self._listener.listen(128)
                self.master_port = self._listener.getsockname()[1]
                self._store = TCPStore(
                    LOOPBACK,
                    self.master_port,
                    self.world_size,
                    True,
                    self.timeout,
                    multi_tenant=True,
                    master_listen_fd=self._listener.fileno(),
                )
            return super().next_rendezvous()

    if params.max_nodes != 1:
        raise InvalidInputError("--nproc runs on one machine; for several, run torchrun")
    timeout = int(params.config.get("timeout", 600))
    return LoopbackRendezvous(LOOPBACK, 0, 0, 1, params.run_id, timeout)


__all__ = ["loopback_rendezvous", "run_local"]
