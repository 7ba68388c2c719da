"""The phases of one method on its cluster: run in order, timed, recorded.

up, ping, apply, idempotence, orchestrate, verify: a test asks for a phase,
`ensure` runs the phases it depends on first, and every phase's result is
appended to reports/results.json as it happens.

`up` is recorded when the method's cluster is ready: how long the bring-up
took (cluster up, systemd booted, the method's tool answering) and, per node,
whether the node was fresh: none of the desired state there before the
method's first phase, so no method ever sees another's changes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from orka.cluster import Cluster
from orka.desired_state import PROBE
from orka.errors import ClusterError, OrkaError
from orka.methods import Method, load_method
from orka.pool import ClusterPool
from orka.progress import Emit, tagged
from orka.results import HostOutcome, PhaseResult, RunContext, append_records, records

UP = "up"


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

    def record_up(self, duration_s: float) -> PhaseResult:
        """The bring-up's time and each node's freshness, as the `up` phase's records."""
        result = PhaseResult(self.name, UP, freshness(self.cluster), duration_s)
        self.done[UP] = result
        self.record(result)
        fresh = sum(h.ok for h in result.hosts)
        self.emit(f"[orka] {self.name} up: {duration_s:.1f} s; {fresh} of {len(result.hosts)} nodes fresh")
        for problem in result.problems():
            self.emit(f"[orka] {self.name} up: NOT FRESH {problem}")
        return result

    def record_check(self, node: str, check: str, ok: bool, duration_s: float, detail: str) -> None:
        """One verification check on one node (the verify phase is made of these)."""
        outcome = HostOutcome(node, ok=ok, failed=0 if ok else 1, detail=detail)
        _, per_host = records(PhaseResult(self.name, "verify", (outcome,), duration_s), self.context)
        append_records(self.results, [{**per_host, "check": check}])


def leftovers(cluster: Cluster, node: str) -> list[str]:
    """What of the desired state a node already holds (empty on a fresh node)."""
    return [line.strip() for line in cluster.run(node, PROBE).stdout.splitlines() if line.strip()]


def freshness(cluster: Cluster) -> tuple[HostOutcome, ...]:
    """Each node fresh (ok) or not, naming what it already holds."""
    nodes = [n.name for n in cluster.nodes]
    with ThreadPoolExecutor(max_workers=min(8, len(nodes))) as pool:
        found = list(pool.map(lambda node: leftovers(cluster, node), nodes))
    return tuple(
        HostOutcome(
            node, ok=not held, failed=1 if held else 0, detail=f"already holds: {', '.join(held)}" if held else "fresh"
        )
        for node, held in zip(nodes, found, strict=True)
    )


class SpikeRegistry:
    """The Spike of each method, on a cluster of its own from the pool.

    With `tag_methods` (methods side by side under xdist) every progress line names its method.
    """

    def __init__(
        self,
        pool: ClusterPool,
        run_id: str,
        results: Path,
        timeout_s: int,
        emit: Emit,
        settings: dict[str, Any],
        tag_methods: bool = False,
        condition: str = "normal",
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.run_id = run_id
        self.results = results
        self.timeout_s = timeout_s
        self.emit = emit
        self.tag_methods = tag_methods
        self.condition = condition  # "normal", or the methods side by side: each phase's times include the others'
        self._spikes: dict[str, Spike] = {}
        self._failed: dict[str, str] = {}  # a method whose cluster did not come up: why

    def get(self, method_name: str) -> Spike:
        if method_name in self._failed:  # one bring-up per method and run, not one per test
            raise ClusterError(
                f"{method_name}'s cluster did not come up earlier in this run: {self._failed[method_name]}"
            )
        emit = tagged(self.emit, method_name) if self.tag_methods else self.emit
        try:
            cluster = self.pool.get((method_name,), emit)
        except OrkaError as exc:
            self._failed[method_name] = str(exc).splitlines()[0]
            raise
        spike = self._spikes.get(method_name)
        if spike is None or spike.cluster is not cluster:
            method = load_method(method_name)(cluster, self.timeout_s)
            waited = method.wait_ready()
            emit(f"[orka] {method_name}: every node ready to drive after {waited:.1f} s")
            # Bring-up: the attempt that succeeded (not those another cluster's race spoiled), then the tool.
            up_s = self.pool.up_s + waited
            os_release = cluster.run(cluster.nodes[0].name, ". /etc/os-release && echo $PRETTY_NAME").stdout.strip()
            context = RunContext(
                self.run_id,
                len(cluster.nodes),
                cluster.spec.provider,
                method.version(),
                node_os=os_release,
                tuning=method.tuning,
                settings=self.settings,
                condition=self.condition,
            )
            spike = self._spikes[method_name] = Spike(method, cluster, context, self.results, emit)
            spike.record_up(up_s)
        return spike
