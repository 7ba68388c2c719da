"""The one result type every method returns, and the records it leaves in results.json.

A leaf module: reports are made from reports/results.json alone, so what is
written here is the whole contract between running and reporting.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# orka's decision on a phase or a node (the records' `verdict`).
PASS = "pass"
FAIL = "fail"
# Neither: the scenario has no folder for the method, or declares no orchestration for it (a skip, never a pass).
NOT_WRITTEN = "not written"
NOT_DEFINED = "not defined"
# The records' condition when nothing was put on the network or the machines.
NORMAL = "normal"
DRIFT = "drift"
PHASES = ("up", "ping", "apply", "idempotence", "orchestrate", "verify", DRIFT)


@dataclass(frozen=True)
class Change:
    """One item a tool names as changed, to change or failed: what it manages (a path, a unit, a user: the
    tool's own name for it) and the tool's words."""

    target: str
    words: str


@dataclass(frozen=True)
class HostOutcome:
    """What one phase did on one host."""

    node: str
    ok: bool
    changed: int = 0
    failed: int = 0
    # Why it failed, or what changed (state or task names): what a reader needs first.
    detail: str = ""
    items: tuple[Change, ...] = ()  # a dry run's: each item it would change or could not check
    facts: Mapping[str, Any] = field(default_factory=dict)  # a phase's own figures for the node (drift's)


@dataclass(frozen=True)
class PhaseResult:
    """What one phase of one method did on every host, in the same shape for every method."""

    method: str
    phase: str
    hosts: tuple[HostOutcome, ...]
    duration_s: float
    raw: str = ""  # the tool's own output, kept for the report
    error: str = ""  # a failure of the whole phase (the tool did not run, bad output)
    order: tuple[tuple[str, float, float], ...] = field(default=())  # orchestrate: (step, start, end) in seconds
    exit_code: int | None = None  # the tool's exit status (None: no one process ran it, as orka's runner)

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.hosts) and all(h.ok for h in self.hosts)

    @property
    def changed(self) -> int:
        return sum(h.changed for h in self.hosts)

    @property
    def failed(self) -> int:
        return sum(h.failed for h in self.hosts)

    def host(self, node: str) -> HostOutcome | None:
        return next((h for h in self.hosts if h.node == node), None)

    def problems(self) -> list[str]:
        """One line per failed host (or the phase's own error), for assertion messages."""
        lines = [f"{self.method} {self.phase}: {self.error}"] if self.error else []
        lines += [f"{h.node}: {h.detail or 'failed'}" for h in self.hosts if not h.ok]
        return lines


@dataclass(frozen=True)
class Verdict:
    """Pass, or fail with the reasons, or skipped (NOT_WRITTEN, NOT_DEFINED: nothing to run; the notes say why);
    notes are what a reader should know of a pass."""

    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return not self.reasons and not self.skipped

    @property
    def word(self) -> str:
        return self.skipped or (PASS if self.ok else FAIL)


@dataclass(frozen=True)
class PhaseVerdict:
    """The phase as a whole (its own reasons: the tool's error, its exit code, the steps' order) and each node."""

    whole: Verdict
    nodes: Mapping[str, Verdict]

    @property
    def ok(self) -> bool:
        return self.whole.ok and all(v.ok for v in self.nodes.values())

    @property
    def skipped(self) -> str:
        return self.whole.skipped

    def reasons(self) -> list[str]:
        """Every reason, the nodes' named: what a failed test says."""
        return [*self.whole.reasons, *(f"{node}: {r}" for node, v in self.nodes.items() for r in v.reasons)]


@dataclass(frozen=True)
class RunContext:
    """Facts every record carries, so a report can say what it compares."""

    run_id: str
    cluster_size: int
    provider: str
    tool_version: str
    node_os: str = ""
    tuning: str = ""  # how the method's tool was set up for speed, in a line
    settings: dict[str, Any] = field(default_factory=dict)  # the settings the run used
    # The network and machines as the phase found them: "normal", or a fault such as
    # "latency 100 ms". Records without the key were made under "normal".
    condition: str = NORMAL
    scenario: str = ""  # whose desired state (records without the key: the example's, before scenarios)
    scenario_path: str = ""  # its folder, where the report counts each method's effort
    platform: str = ""  # the node OS release (orka.config.platforms); records without the key: debian-12's


def records(result: PhaseResult, context: RunContext, verdict: PhaseVerdict) -> list[dict[str, Any]]:
    """The phase as a whole (node null), then one record per host.

    `ok` is what the tool said; `verdict` (pass or fail) and `reasons` are orka's decision,
    which every report reads."""
    common = {
        "run_id": context.run_id,
        "scenario": context.scenario,
        "scenario_path": context.scenario_path,
        "platform": context.platform,
        "method": result.method,
        "phase": result.phase,
        "tool_version": context.tool_version,
        "cluster_size": context.cluster_size,
        "provider": context.provider,
        "node_os": context.node_os,
        "condition": context.condition,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    whole = {
        **common,
        "node": None,
        "ok": result.ok,
        "verdict": verdict.whole.skipped or (PASS if verdict.ok else FAIL),
        "reasons": list(verdict.whole.reasons),  # the phase's own; each node's are on its record
        "notes": list(verdict.whole.notes),
        "changed": result.changed,
        "failed": result.failed,
        "duration_s": round(result.duration_s, 3),
        "error": result.error,
        "exit_code": result.exit_code,
        "order": [list(step) for step in result.order],
        "raw": result.raw,
        "tuning": context.tuning,
        "settings": context.settings,
    }
    per_host = []
    for host in result.hosts:
        judged = verdict.nodes.get(host.node)
        per_host.append(
            {
                **common,
                **{k: v for k, v in asdict(host).items() if v or k not in ("items", "facts")},
                "verdict": judged.word if judged else FAIL,
                "reasons": list(judged.reasons) if judged else ["answered but is not a node of this cluster"],
                "notes": list(judged.notes) if judged else [],
                "duration_s": round(result.duration_s, 3),
            }
        )
    missing = [node for node in verdict.nodes if result.host(node) is None]
    per_host += [
        {
            **common,
            "node": node,
            "ok": False,
            "changed": 0,
            "failed": 1,
            "detail": "no outcome for this node",
            "verdict": FAIL,
            "reasons": list(verdict.nodes[node].reasons),
            "notes": [],
            "duration_s": round(result.duration_s, 3),
        }
        for node in missing
    ]
    return [whole, *per_host]
