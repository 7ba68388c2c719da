"""The processes still working on a cluster, found by the plan they were started with.

orka starts Vagrant in a session of its own (so that Ctrl-C reaches only
orka), which also means a run that is killed outright leaves its `vagrant up`
running, still creating containers. Every process orka starts for a cluster
carries that cluster's plan in ORKA_SPEC (and its children inherit it), so
teardown can find and stop them first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def _ancestors() -> set[int]:
    """This process and its parents: never stopped, even when a user exported ORKA_SPEC."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the command name is the parent
    return found


def _plans() -> dict[int, Path]:
    """Each running process started with a plan (ORKA_SPEC), but this one and its parents."""
    skip = _ancestors()
    found = {}
    for entry in PROC.glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()  # empty for a zombie; unreadable for another user's
        except OSError:
            continue
        for variable in environ.split(b"\0"):
            if variable.startswith(b"ORKA_SPEC=") and int(entry.name) not in skip:
                found[int(entry.name)] = Path(variable.removeprefix(b"ORKA_SPEC=").decode(errors="replace"))
    return found


def started_for(spec_file: Path) -> list[int]:
    """PIDs of the running processes started for the cluster whose plan is spec_file (none where /proc is missing)."""
    return sorted(pid for pid, plan in _plans().items() if plan == spec_file)


def plans_in_use(under: Path) -> set[Path]:
    """The plans under a folder that running processes were started with."""
    return {plan for plan in _plans().values() if plan.is_relative_to(under)}


def stop(pids: list[int], grace_s: float = 5.0) -> None:
    """SIGTERM, and SIGKILL whatever is still there after grace_s."""
    _signal(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    _signal([pid for pid in pids if _alive(pid)], signal.SIGKILL)


def _signal(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent to reap it."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
