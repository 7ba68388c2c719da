"""pyinfra, agentless over SSH from the machine that runs pytest, with a scenario's deploy files:

    pyinfra -y --sudo --json INVENTORY exec -- true
    pyinfra -y --sudo --json INVENTORY deploy.py          (twice: the second must change nothing)
    pyinfra -y --sudo --json --fail-percent 0 INVENTORY orchestrate.py
    pyinfra --dry --sudo --json INVENTORY deploy.py

Each run through orka.methods.pyinfra.events (pyinfra's CLI plus its State callbacks as JSON lines), in the
scenario's pyinfra folder (its config.py and relative paths are pyinfra's as usual). The outcome of each node is
read from pyinfra's `--json` results; the callbacks add when each operation ran and why a host failed.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orka.methods.base import Method, MethodError
from orka.methods.pyinfra import DESCRIPTOR, STEP_TIMEOUT_ENV
from orka.results.record import Change, HostOutcome, PhaseResult
from orka.results.verdict import TIMED_OUT
from orka.runner.inventory import Inventory

EVENTS = "orka.methods.pyinfra.events"
# pyinfra exits 1 when a host failed (its results name it), and for any other error too (then there are none).
HOST_FAILED = 1
DEBUG_LOG = "pyinfra-debug.log"  # where pyinfra writes the traceback of an error in a deploy, in its folder


def inventory_source(inventory: Inventory) -> str:
    """A pyinfra inventory.py of the cluster: groups nodes, primary, secondaries (as for Ansible and the runner),
    each host reached through the cluster's ssh_config, its data the inventory's vars and its own."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for host in inventory.hosts:
        data: dict[str, Any] = {**inventory.vars, **host.vars}
        if host.ssh_config:
            data["ssh_config_file"] = host.ssh_config
        else:
            data.update(ssh_hostname=host.address or host.name, ssh_port=host.port)
            data.update({k: v for k, v in (("ssh_user", host.user), ("ssh_key", host.key)) if v})
        for group in host.groups or ("all",):
            groups.setdefault(group, []).append((host.name, data))
    lines = ["# Written by orka for one pyinfra run: the cluster's nodes."]
    lines += [f"{group} = {hosts!r}" for group, hosts in groups.items()]
    return "\n".join(lines) + "\n"


def load_output(stdout: str) -> dict[str, Any] | None:
    """pyinfra's `--json` document: the whole of stdout, or (when a deploy printed too) the last that parses."""
    decoder = json.JSONDecoder()
    starts = [0] + [i + 1 for i, char in enumerate(stdout) if char == "\n" and stdout[i + 1 : i + 2] == "{"]
    for start in reversed(starts):
        try:
            data, _ = decoder.raw_decode(stdout[start:].lstrip())
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "plan" in data:
            return data
    return None


def load_events(text: str) -> list[dict[str, Any]]:
    """The callbacks' JSON lines (a line cut short by a stopped run is left out)."""
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and "event" in event and "host" in event:
            events.append(event)
    return events


def targets(args: list[str]) -> list[str]:
    """What an operation acts on, from its arguments as pyinfra lists them: its `dest` or `path`, else its first
    argument (server.user's user, systemd.service's service), a positional one as it is."""
    keyed = dict(arg.split("=", 1) for arg in args if "=" in arg)
    for key in ("dest", "path"):
        if key in keyed:
            return [keyed[key]]
    return [args[0].partition("=")[2] if "=" in args[0] else args[0]] if args else [""]


def operation_name(op: dict[str, Any]) -> str:
    """An operation of the `--json` output by its `name=` (else Module/Operation), without its arguments."""
    return ", ".join(op.get("names") or [op["name"]])


@dataclass
class _Node:
    changed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    items: list[Change] = field(default_factory=list)
    ran: bool = False


def host_outcomes(
    data: dict[str, Any] | None,
    events: list[dict[str, Any]],
    nodes: list[str],
    changes_fail: bool = False,
    dry_run: bool = False,
    ping: bool = False,
) -> tuple[HostOutcome, ...]:
    """Each node's outcome of one pyinfra run: from its `--json` results (of a dry run: its plan's changes),
    with the reasons its callbacks gave; a node pyinfra never reported is failed, saying so."""
    found = {node: _Node() for node in nodes}
    for event in events:
        node = found.get(event["host"])
        if node is None:
            continue
        if event["event"] == "connect_error":
            node.failures.append(f"cannot connect: {event.get('error') or 'no reason given'}")
        elif event["event"] == "error":
            said = "; ".join(line.strip() for line in event.get("stderr", []) if line.strip())
            node.failures.append(f"{event.get('name', 'an operation')}: failed" + (f": {said}" if said else ""))
    if data is not None and dry_run:
        # An operation under `_if=` is pyinfra's "conditional change" on every host alike (its condition is known
        # only when the operation before it runs): the change it hangs on is reported by that one.
        for op in data.get("plan") or []:
            named = operation_name(op)
            items = [Change(target, f"{named}: would change") for target in targets(op["args"])]
            for name in op.get("hosts_with_change", ()):
                if name in found:
                    found[name].changed.append(named)
                    found[name].items += items
        for node in found.values():
            node.ran = True
    elif data is not None and data.get("results"):
        results = data["results"]
        for op in results.get("operations", []):
            named = operation_name(op)
            for name in op.get("success", []):
                if name in found:
                    found[name].changed.append(named)
            for name in op.get("error", []):
                if name in found and not any(f.startswith(f"{named}: ") for f in found[name].failures):
                    found[name].failures.append(f"{named}: failed")
            for name in (*op.get("success", []), *op.get("no_change", []), *op.get("error", [])):
                if name in found:
                    found[name].ran = True
        for name in results.get("failed_hosts", []):
            if name in found and not found[name].failures:
                found[name].failures.append("failed (pyinfra lists it among its failed hosts)")
    outcomes = []
    for name, node in found.items():
        if data is None and not node.failures:
            node.failures.append("no result: pyinfra stopped before it reported this host")
        elif ping and not node.ran and not node.failures:
            node.failures.append("no answer: pyinfra did not run the command there")
        changed = [] if ping else node.changed
        verb = "would change" if dry_run else "changed"
        detail = "; ".join(node.failures) or (f"{verb}: {', '.join(changed)}" if changed else "")
        ok = not node.failures and (not changes_fail or not changed)
        outcomes.append(
            HostOutcome(
                name, ok=ok, changed=len(changed), failed=len(node.failures), detail=detail, items=tuple(node.items)
            )
        )
    return tuple(outcomes)


def operation_order(events: list[dict[str, Any]]) -> tuple[tuple[str, float, float], ...]:
    """Each operation as (name, its first host's start, its last host's end), in the order they began."""
    spans: dict[str, list[Any]] = {}
    for event in events:
        op = event.get("op")
        if op is None:
            continue
        if event["event"] == "start":
            span = spans.setdefault(op, [event["name"], event["t"], event["t"]])
            span[1] = min(span[1], event["t"])
        elif op in spans:
            spans[op][2] = max(spans[op][2], event["t"])
    return tuple((name, start, end) for name, start, end in sorted(spans.values(), key=lambda s: s[1]))


def declared_operations(data: dict[str, Any]) -> tuple[str, ...]:
    """The operations of `--debug-operations --json`, in pyinfra's order, named as its results name them."""
    return tuple(", ".join(op["names"]) for op in data.get("op_order", []))


@dataclass(frozen=True)
class Run:
    stdout: str
    stderr: str
    rc: int
    events: list[dict[str, Any]]
    seconds: float


class PyinfraMethod(Method):
    name = "pyinfra"
    tool = "pyinfra"
    host_failure_codes = frozenset({HOST_FAILED})
    tuning = (
        "from this machine over the cluster's ssh_config (paramiko, one connection per host per run); "
        "--sudo; every host at once (pyinfra's default parallelism); -y: no change detection before applying"
    )

    def version(self) -> str:
        return f"pyinfra {importlib.metadata.version('pyinfra')}"

    @property
    def folder(self) -> Path:
        """The scenario's pyinfra folder (pyinfra runs there: its config.py, its relative paths)."""
        if self.scenario is None:
            raise MethodError("no scenario: pyinfra has no deploy file to apply")
        return self.scenario.folder(self.name)

    secret_sources_words = "in the hosts' data (the scenario's vars, group_data/*.py)"

    def secret_sources(self) -> list[Mapping[str, Any]]:
        """Each host's data: the inventory's (the scenario's vars), then the folder's group_data/*.py as pyinfra
        reads them (a module's top-level names)."""
        sources = super().secret_sources()
        for module in sorted((self.folder / "group_data").glob("*.py")):
            try:
                sources.append(runpy.run_path(str(module)))
            except Exception as exc:  # the team's own module: its error, named
                raise MethodError(
                    f"pyinfra: {module} cannot be read for its secrets: {type(exc).__name__}: {exc}"
                ) from None
        return sources

    def inventory(self) -> Inventory:
        inventory = self.cluster.inventory(self.name)
        return inventory.with_vars(self.scenario.vars) if self.scenario else inventory

    def invoke(self, arguments: list[str], apply: bool = True) -> Run:
        """One pyinfra run on the cluster's nodes, bounded by the command timeout (exit TIMED_OUT when stopped)."""
        with tempfile.TemporaryDirectory(prefix="orka-pyinfra-") as work:
            inventory, events = Path(work, "inventory.py"), Path(work, "events.jsonl")
            inventory.write_text(inventory_source(self.inventory()), encoding="utf-8")
            command = [sys.executable, "-P", "-m", EVENTS, str(events), *(["-y"] if apply else [])]
            command += ["--sudo", "--json", str(inventory), *arguments]
            cwd = self.folder if self.scenario else None
            debug_log = cwd / DEBUG_LOG if cwd else None
            left_before = debug_log is not None and debug_log.exists()
            start = time.monotonic()
            try:
                env = {**os.environ, STEP_TIMEOUT_ENV: str(self.step_timeout_s)}  # a command that never ends fails
                done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=self.timeout_s, env=env)
                stdout, stderr, rc = done.stdout, done.stderr, done.returncode
            except subprocess.TimeoutExpired as exc:
                stdout, stderr, rc = _text(exc.stdout), _text(exc.stderr), TIMED_OUT
            took = time.monotonic() - start
            if debug_log is not None and not left_before:
                debug_log.unlink(missing_ok=True)  # a traceback pyinfra leaves in the team's folder (stderr has it)
            recorded = load_events(events.read_text(encoding="utf-8")) if events.exists() else []
        return Run(stdout, stderr, rc, recorded, took)

    def _phase(self, phase: str, arguments: list[str], changes_fail: bool = False) -> PhaseResult:
        dry_run = phase == "check"
        run = self.invoke(arguments, apply=not dry_run)
        data = load_output(run.stdout)
        hosts = host_outcomes(data, run.events, self.node_names, changes_fail, dry_run, ping=phase == "ping")
        error = self.cut_off("pyinfra", run.rc)
        if data is None and not error:
            error = f"pyinfra gave no results (exit {run.rc}): {_last_words(run.stderr)}"
        order = operation_order(run.events) if phase == "orchestrate" else ()
        raw = run.stdout + run.stderr
        return PhaseResult(self.name, phase, hosts, run.seconds, raw=raw, error=error, order=order, exit_code=run.rc)

    def ping(self) -> PhaseResult:
        return self._phase("ping", ["exec", "--", "true"])

    def apply(self, phase: str = "apply") -> PhaseResult:
        return self._phase(phase, [DESCRIPTOR.entry], changes_fail=phase == "idempotence")

    def dry_run(self) -> PhaseResult:
        return self._phase("check", ["--dry", DESCRIPTOR.entry])

    def orchestrate(self) -> PhaseResult:
        # The ordered step's contract, as Salt's failhard and Ansible's any_errors_fatal give it: a step that fails
        # anywhere stops the run, so no later step acts on what it left undone.
        return self._phase("orchestrate", ["--fail-percent", "0", self.orchestration])

    def declared_steps(self) -> tuple[str, ...]:
        """The orchestration's operations as pyinfra plans them for this cluster (it connects to plan)."""
        run = self.invoke(["--debug-operations", self.orchestration], apply=False)
        data = _json(run.stdout)
        if run.rc != 0 or not isinstance(data, dict) or "op_order" not in data:
            raise MethodError(f"pyinfra could not plan {self.orchestration} (exit {run.rc}): {_last_words(run.stderr)}")
        return declared_operations(data)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _last_words(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return " / ".join(lines[-3:]) or "no message"
