"""The phases of one method on its cluster: run in order, timed, recorded.

up, ping, apply, idempotence, orchestrate, verify: a test asks for a phase,
`ensure` runs the phases it depends on first, and every phase's result is
appended to reports/results.json as it happens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from orka.cluster import Cluster
from orka.methods import Method, load_method
from orka.pool import ClusterPool
from orka.progress import Emit
from orka.results import HostOutcome, PhaseResult, RunContext, append_records, records


class Spike:
    def __init__(self, method: Method, cluster: Cluster, context: RunContext, results: Path, emit: Emit) -> None:
        self.method = method
        self.cluster = cluster
        self.context = context
        self.results = results
        self.emit = emit
        self.done: dict[str, PhaseResult] = {}

    @property
    def name(self) -> str:
        return self.method.name

    def run(self, phase: str) -> PhaseResult:
        verbs: dict[str, Callable[[], PhaseResult]] = {
            "ping": self.method.ping,
            "apply": self.method.apply,
            "idempotence": lambda: self.method.apply("idempotence"),
            "orchestrate": self.method.orchestrate,
        }
        result = verbs[phase]()
        self.done[phase] = result
        self.record(result)
        state = "ok" if result.ok else "FAILED"
        self.emit(
            f"[orka] {self.name} {phase}: {state} in {result.duration_s:.1f} s "
            f"({len(result.hosts)} hosts, {result.changed} changed, {result.failed} failed)"
        )
        return result

    def ensure(self, *phases: str) -> None:
        """Run the phases a test depends on, unless they ran already."""
        for phase in phases:
            if phase not in self.done:
                self.run(phase)

    def record(self, result: PhaseResult) -> None:
        append_records(self.results, records(result, self.context))

    def record_check(self, node: str, check: str, ok: bool, duration_s: float, detail: str) -> None:
        """One verification check on one node (the verify phase is made of these)."""
        outcome = HostOutcome(node, ok=ok, failed=0 if ok else 1, detail=detail)
        _, per_host = records(PhaseResult(self.name, "verify", (outcome,), duration_s), self.context)
        append_records(self.results, [{**per_host, "check": check}])


class SpikeRegistry:
    """The Spike of each method, on a cluster of its own from the pool."""

    def __init__(
        self, pool: ClusterPool, run_id: str, results: Path, timeout_s: int, emit: Emit, settings: dict[str, Any]
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.run_id = run_id
        self.results = results
        self.timeout_s = timeout_s
        self.emit = emit
        self._spikes: dict[str, Spike] = {}

    def get(self, method_name: str) -> Spike:
        cluster = self.pool.get((method_name,))
        spike = self._spikes.get(method_name)
        if spike is None or spike.cluster is not cluster:
            method = load_method(method_name)(cluster, self.timeout_s)
            waited = method.wait_ready()
            self.emit(f"[orka] {method_name}: every node ready to drive after {waited:.1f} s")
            os_release = cluster.run(cluster.nodes[0].name, ". /etc/os-release && echo $PRETTY_NAME").stdout.strip()
            context = RunContext(
                self.run_id,
                len(cluster.nodes),
                cluster.spec.provider,
                method.version(),
                node_os=os_release,
                tuning=method.tuning,
                settings=self.settings,
            )
            spike = self._spikes[method_name] = Spike(method, cluster, context, self.results, self.emit)
        return spike
