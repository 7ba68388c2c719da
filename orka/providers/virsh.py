"""libvirt's command line on the system connection, for the libvirt provider and its box."""

from __future__ import annotations

import subprocess

URI = "qemu:///system"
POOL = "default"


def virsh(*args: str) -> subprocess.CompletedProcess[str] | None:
    """virsh on the system connection; None where virsh is not installed."""
    try:
        return subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        return None


def listed(*args: str) -> list[str]:
    result = virsh(*args)
    if result is None or result.returncode != 0:
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def parse_vol_list(output: str) -> list[str]:
    """Volume names from `virsh vol-list POOL`: the first column below the rule (no --name for volumes)."""
    lines = output.splitlines()
    rule = next((i for i, line in enumerate(lines) if line.startswith("---")), len(lines))
    return [line.split()[0] for line in lines[rule + 1 :] if line.strip()]


def pool_volumes(pool: str = POOL) -> list[str]:
    """The volumes of a libvirt storage pool; none when libvirt or the pool is not there."""
    result = virsh("vol-list", pool)
    return parse_vol_list(result.stdout) if result is not None and result.returncode == 0 else []
