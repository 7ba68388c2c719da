"""orka's own task runner, driving the nodes over SSH from the machine that runs pytest
(the Bamboo agent), with a scenario's task files:

    orka run SCENARIO/custom/desired_state.yml --inventory cluster
    orka run SCENARIO/custom/orchestrate.yml --inventory cluster
"""

from __future__ import annotations

from pathlib import Path

from orka import __version__
from orka.methods.base import Method, MethodError
from orka.methods.custom import DESCRIPTOR
from orka.results.record import Change, HostOutcome, PhaseResult
from orka.runner import HostRun, RunReport, load_taskfile, parse_taskfile, run_taskfile

PING = parse_taskfile("tasks: [{name: ping, ping: {}}]", "<ping>")


def outcome(runs: list[HostRun], node: str, changes_fail: bool, dry_run: bool = False) -> HostOutcome:
    """One node's result over every step it took part in (of a dry run: what it would change)."""
    mine = [r for r in runs if r.host == node]
    if not mine:
        return HostOutcome(node, ok=False, failed=1, detail="not in the inventory")
    errors = [r.error for r in mine if r.error]
    failed = [f"{t.task}: {t.msg}" for r in mine for t in r.failed]
    changed = [task for r in mine for task in r.changed]
    verb = "would change" if dry_run else "changed"
    detail = "; ".join(errors + failed) or (f"{verb}: {', '.join(changed)}" if changed else "")
    ok = not errors and not failed and (not changes_fail or not changed)
    items = tuple(
        Change(t.target, f"{t.task} ({t.action}): {'failed: ' if t.failed else ''}{t.msg}")
        for r in mine
        for t in r.results
        if dry_run and (t.changed or t.failed)
    )
    failures = len(errors) + len(failed)
    return HostOutcome(node, ok=ok, changed=len(changed), failed=failures, detail=detail, items=items)


def step_order(report: RunReport) -> tuple[tuple[str, float, float], ...]:
    return tuple((name, min(r.start for r in runs), max(r.end for r in runs)) for name, runs in report.steps if runs)


class CustomMethod(Method):
    name = "custom"
    tool = "orka run"
    tuning = (
        "one SSH session per host per step carrying the whole step (sudo python3 -; a ping step: sudo uname -n); "
        "all hosts at once; asyncssh connections opened once per run and shared by its steps"
    )

    def version(self) -> str:
        return f"{DESCRIPTOR.own_tool} {__version__}"

    def _phase(self, phase: str, report: RunReport, changes_fail: bool = False) -> PhaseResult:
        runs = report.runs()
        hosts = tuple(outcome(runs, node, changes_fail, dry_run=phase == "check") for node in self.node_names)
        order = step_order(report) if phase == "orchestrate" else ()
        raw = "\n".join(
            f"{r.host} [{r.step}]: "
            + (r.error or ", ".join(f"{t.task}={'changed' if t.changed else 'ok'}" for t in r.results))
            for r in runs
        )
        return PhaseResult(self.name, phase, hosts, report.duration_s, raw=raw, order=order)

    def _run(
        self, phase: str, taskfile_name: str | None, changes_fail: bool = False, check: bool = False
    ) -> PhaseResult:
        taskfile = PING if taskfile_name is None else load_taskfile(self.tasks / taskfile_name)
        inventory = self.cluster.inventory(self.name).with_vars(self.scenario.vars if self.scenario else {})
        report = run_taskfile(inventory, taskfile, timeout=self.timeout_s, check=check)
        return self._phase(phase, report, changes_fail)

    def ping(self) -> PhaseResult:
        return self._run("ping", None)

    def apply(self, phase: str = "apply") -> PhaseResult:
        return self._run(phase, DESCRIPTOR.entry, changes_fail=phase == "idempotence")

    def dry_run(self) -> PhaseResult:
        return self._run("check", DESCRIPTOR.entry, check=True)

    def orchestrate(self) -> PhaseResult:
        return self._run("orchestrate", self.orchestration)

    def declared_steps(self) -> tuple[str, ...]:
        return tuple(step.name for step in load_taskfile(self.tasks / self.orchestration).steps)

    def secret_names(self) -> tuple[str, ...]:
        """scenario.yaml's and those its task files mark (`secrets:`)."""
        files = [
            DESCRIPTOR.entry,
            *([self.orchestration] if self.scenario and self.scenario.orchestration_of(self.name) else []),
        ]
        marked = [name for file in files for name in load_taskfile(self.tasks / file).secrets]
        return tuple(dict.fromkeys([*super().secret_names(), *marked]))

    @property
    def tasks(self) -> Path:
        """The scenario's task files (on this machine: the runner reads them here)."""
        if self.scenario is None:
            raise MethodError("no scenario: the runner has no task file to apply")
        return self.scenario.folder(self.name)
