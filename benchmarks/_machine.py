"""What machine a benchmark ran on (printed at the top of every benchmark, for benchmarks/README.md)."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine() -> str:
    """nproc, CPU model, memory and the current load average, in one line."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    mem = "unknown memory"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024**2:.1f} GB RAM"
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem}, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, "
            f"Python {platform.python_version()}")


def medians(fns: dict[str, Callable[[], Any]], repeat: int = 3) -> tuple[dict[str, float], dict[str, Any]]:
    """Median wall time of each function, the runs interleaved (ours, anchor, ours, anchor, ...).

    Interleaving makes a ratio fair on a shared machine: both sides see the same load.
    """
    times: dict[str, list[float]] = {k: [] for k in fns}
    out: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            out[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}, out
