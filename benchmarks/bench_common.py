"""What every benchmark script reports beside its figures: where the data lives, the machine,
its load, and the process's peak memory."""

from __future__ import annotations

import os
import resource
from pathlib import Path

from launchml.profiling import cpu_name

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: another job on the same cores slows timings."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPU model, core count, torch version and the threads torch uses."""
    import torch

    return (
        f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
