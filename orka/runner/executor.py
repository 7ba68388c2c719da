"""Runs a task file on an inventory: every host of a step at once, steps in order.

Each host gets one SSH session per step carrying the whole step (remote.py
plus the job), bounded by a timeout; a host that fails or does not answer is
reported with its own words, and the others go on. A later step starts only
when every host of the earlier one succeeded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from orka.runner.inventory import Host, Inventory
from orka.runner.ssh import CONNECTIONS, Connections, run_over_ssh
from orka.runner.taskfile import Step, TaskFile

PAYLOAD = (Path(__file__).parent / "remote.py").read_text()
TIMED_OUT = 124  # coreutils timeout's exit, as the SSH layer's own for a host past its deadline
# The job's Python as root, stopped on the host itself (timeout signals its whole process group: a command
# of the job that hangs too) this much before the runner's own deadline, so nothing runs on once it gave up.
REMOTE_MARGIN_S = 2
# A step of pings only needs no Python on the host: logging in and becoming
# root is the whole check (as pyinfra's `exec -- true`), and a node's Python
# start-up was most of a cold ping (0.2-0.4 s per node on a busy 2-core host).
PING_COMMAND = "sudo -n uname -n"


@dataclass(frozen=True)
class TaskResult:
    task: str
    action: str
    changed: bool
    failed: bool
    msg: str
    start: float
    end: float
    target: str = ""  # what the task manages: its path, or its name


@dataclass(frozen=True)
class HostRun:
    """One host's part of one step."""

    host: str
    step: str
    results: tuple[TaskResult, ...] = ()
    error: str = ""  # the host could not be driven at all (SSH, sudo, python, timeout)
    facts: dict[str, Any] = field(default_factory=dict)
    start: float = 0.0
    end: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error and not any(r.failed for r in self.results)

    @property
    def changed(self) -> list[str]:
        return [r.task for r in self.results if r.changed]

    @property
    def failed(self) -> list[TaskResult]:
        return [r for r in self.results if r.failed]


@dataclass(frozen=True)
class RunReport:
    steps: tuple[tuple[str, tuple[HostRun, ...]], ...]
    duration_s: float

    @property
    def ok(self) -> bool:
        return all(run.ok for _, runs in self.steps for run in runs)

    def runs(self) -> list[HostRun]:
        return [run for _, runs in self.steps for run in runs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "duration_s": round(self.duration_s, 3),
            "steps": [
                {
                    "name": name,
                    "hosts": [
                        {
                            "host": r.host,
                            "ok": r.ok,
                            "error": r.error,
                            "changed": r.changed,
                            "facts": r.facts,
                            "results": [asdict(t) for t in r.results],
                        }
                        for r in runs
                    ],
                }
                for name, runs in self.steps
            ],
        }


def payload(job: dict[str, Any]) -> bytes:
    """remote.py with the job appended: the whole program one host runs."""
    encoded = base64.b64encode(json.dumps(job).encode()).decode()
    return (PAYLOAD + f"\nmain(json.loads(__import__('base64').b64decode('{encoded}')))\n").encode()


def job_for(host: Host, inventory: Inventory, step: Step, family: dict[str, Any], check: bool) -> dict[str, Any]:
    return {
        "check": check,
        "vars": {**inventory.vars, **host.vars, "host": host.name},
        "family": family,
        "tasks": [task.to_job() for task in step.tasks],
    }


def pings_only(job: dict[str, Any]) -> bool:
    return bool(job["tasks"]) and all(task["action"] == "ping" for task in job["tasks"])


async def ping_host(host: Host, job: dict[str, Any], step: str, timeout: float) -> HostRun:
    """Every ping task of the step at once: the host answers, as root, with its name."""
    start = time.time()
    code, out, err = await run_over_ssh(host, PING_COMMAND, b"", timeout)
    end = time.time()
    if code != 0:
        why = err.strip().splitlines()[-1] if err.strip() else f"exit {code}"
        kind = "connection error" if code in (124, 255) else "runner error"
        return HostRun(host.name, step, error=f"{kind}: {why}", start=start, end=end)
    results = tuple(TaskResult(t["name"], "ping", False, False, "pong", start, end) for t in job["tasks"])
    return HostRun(host.name, step, results, facts={"hostname": out.strip()}, start=start, end=end)


def remote_command(timeout: float) -> str:
    """The job's command on a host given `timeout` seconds (connecting included): its own bound comes first."""
    return f"sudo -n timeout -k 1 {remote_limit(timeout)} python3 -"


def remote_limit(timeout: float) -> int:
    return max(1, int(timeout) - REMOTE_MARGIN_S)


async def run_host(host: Host, job: dict[str, Any], step: str, timeout: float) -> HostRun:
    if pings_only(job):
        return await ping_host(host, job, step, timeout)
    start = time.time()
    code, out, err = await run_over_ssh(host, remote_command(timeout), payload(job), timeout)
    end = time.time()
    last = out.strip().splitlines()[-1] if out.strip() else ""
    try:
        data = json.loads(last)
    except json.JSONDecodeError:
        why = err.strip().splitlines()[-1] if err.strip() else f"exit {code} with no result"
        kind = "connection error" if code in (TIMED_OUT, 255) else "runner error"
        if code == TIMED_OUT and not err.strip():  # stopped on the host by its own bound, not a silent host
            kind, why = "timed out", f"the step did not finish within {remote_limit(timeout)} s and was stopped there"
        return HostRun(host.name, step, error=f"{kind}: {why}", start=start, end=end)
    results = tuple(TaskResult(**r) for r in data["results"])
    return HostRun(host.name, step, results, facts=data.get("facts", {}), start=start, end=end)


def run_taskfile(
    inventory: Inventory,
    taskfile: TaskFile,
    *,
    check: bool = False,
    timeout: float = 300,
    limit: tuple[str, ...] = ("all",),
) -> RunReport:
    """Run every step in order; a step after a failed one is reported as not run."""
    start = time.monotonic()
    allowed = {h.name for h in inventory.select(limit)}
    plan = [(step, [h for h in inventory.select(step.hosts) if h.name in allowed]) for step in taskfile.steps]

    async def run_all() -> list[tuple[str, tuple[HostRun, ...]]]:
        # One connection per host for the whole run, shared by its steps.
        connections = Connections()
        CONNECTIONS.set(connections)
        steps: list[tuple[str, tuple[HostRun, ...]]] = []
        failed_before = ""
        try:
            for step, hosts in plan:
                if failed_before:
                    not_run = tuple(HostRun(h.name, step.name, error=f"not run: {failed_before}") for h in hosts)
                    steps.append((step.name, not_run))
                    continue
                jobs = [
                    run_host(h, job_for(h, inventory, step, taskfile.family, check), step.name, timeout) for h in hosts
                ]
                runs = tuple(await asyncio.gather(*jobs))
                steps.append((step.name, runs))
                if not all(r.ok for r in runs):
                    failed_before = f"step {step.name!r} failed"
        finally:
            await connections.close()
        return steps

    steps = asyncio.run(run_all())
    return RunReport(tuple(steps), time.monotonic() - start)
