"""What this machine has and does, for the benchmarks: its busy CPU time, its memory in use, its load."""

from __future__ import annotations

import os
from pathlib import Path

CORES = os.cpu_count() or 1


def busy_core_seconds() -> float:
    """CPU time this machine has spent busy since boot, every core and process (containers' and hosts' too), in
    seconds: /proc/stat's first line, less idle and iowait."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def cores_busy(core_s: float, wall_s: float) -> float:
    """How busy the machine's cores were, 0 to 1, for core_s of busy CPU time over wall_s."""
    return core_s / (CORES * wall_s) if wall_s else 0.0


def host_usage() -> dict[str, float]:
    """What this host has in use: memory (MiB) and the load average."""
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    kib = {key: float(value.split()[0]) for key, value in info.items() if value.strip().endswith("kB")}
    load = os.getloadavg()
    return {"memory_used_mib": round((kib["MemTotal"] - kib["MemAvailable"]) / 1024), "load_1m": round(load[0], 2)}
