"""The phases of one method on its cluster: run in order, timed, judged, recorded.

up, ping, apply, idempotence, orchestrate, verify: a test asks for a phase,
`ensure` runs the phases it depends on first, and every phase's result is
judged by orka's checks (orka.results.verdict) and appended to reports/results.json,
with its verdict, as it happens.

`up` is recorded when the method's cluster is ready: how long the bring-up
took (cluster up, systemd booted, the method's tool answering) and, per node,
whether the node was fresh: none of the desired state there before the
method's first phase, so no method ever sees another's changes. A cluster
that did not come up at all is recorded as a failed `up` too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from orka import methods, secrets
from orka.config.desired_state import BASELINE, Leaves, touched
from orka.config.drift import edit_results, edit_script
from orka.config.platforms import Platform, on_platform
from orka.config.scenario import Scenario
from orka.errors import ClusterError, OrkaError
from orka.methods.base import Method, load_method
from orka.progress import Emit, tagged
from orka.providers.base import Cluster
from orka.providers.pool import ClusterPool
from orka.results.drift import score_node
from orka.results.fingerprint import (
    Fingerprint,
    changed,
    fingerprint_command,
    fingerprints_path,
    parse,
    unchecked,
)
from orka.results.record import (
    DRIFT,
    NOT_DEFINED,
    NOT_WRITTEN,
    HostOutcome,
    PhaseResult,
    PhaseVerdict,
    RunContext,
    Verdict,
    records,
)
from orka.results.store import append_records
from orka.results.verdict import Expectations, exit_code_problems, judge
from orka.timings import FACTS, READINESS, timed

UP = "up"
VERIFY = "verify"
BASELINE_MARK = "-- baseline --"
# What each phase needs done first, on the same cluster.
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "ping": (),
    "apply": (),
    "idempotence": ("apply",),
    "orchestrate": ("apply",),
    DRIFT: ("apply", "orchestrate"),  # the server as the method left it, whole
}


class Spike:
    def __init__(
        self, method: Method, scenario: Scenario, cluster: Cluster, context: RunContext, results: Path, emit: Emit
    ) -> None:
        self.method = method
        self.scenario = scenario
        self.cluster = cluster
        self.context = context
        self.results = results
        self.emit = emit
        self.done: dict[str, PhaseResult] = {}
        self.verdicts: dict[str, PhaseVerdict] = {}
        # verify: the checks recorded, (check, node) -> passed
        self.checks: dict[tuple[str, str], bool] = {}
        # Each node's fingerprint when the method's cluster came up: what its apply changed is compared.
        self.baseline: dict[str, Fingerprint] = {}
        self.fresh_nodes: set[str] = set()  # the nodes that held nothing of the desired state then
        # What the apply changed on each node (fingerprint items), and the commands the checks ran there:
        # the verify record names what no check looks at.
        self.left_changed: dict[str, list[str]] = {}
        self.check_commands: dict[str, list[str]] = {}

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def platform(self) -> Platform:
        return self.cluster.spec.platform

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.cluster.nodes)

    def expectations(self, **known: Any) -> Expectations:
        return Expectations(
            self.node_names,
            tool=self.method.tool,
            host_failure_codes=self.method.host_failure_codes,
            fresh_required=not self.cluster.reused,
            **known,
        )

    def run(self, phase: str) -> PhaseVerdict:
        """Run one phase (a tool that raises is the phase's error), judge it, record it."""
        verbs: dict[str, Callable[[], PhaseResult]] = {
            "ping": self.method.ping,
            "apply": self.method.apply,
            "idempotence": lambda: self.method.apply("idempotence"),
            "orchestrate": self.method.orchestrate,
            "check": self.method.dry_run,
            DRIFT: self.drift,
        }
        if phase == "orchestrate" and not self.scenario.orchestration_of(self.name):
            return self.not_defined(
                phase, f"{self.scenario.name} declares no orchestration for {self.name} (scenario.yaml `orchestrate:`)"
            )
        if phase == DRIFT and not self.scenario.drift:
            return self.not_defined(phase, f"{self.scenario.name} declares no hand edits (scenario.yaml `drift:`)")
        known: dict[str, Any] = {}
        leaves = self.scenario.leaves
        before = snapshots(self.cluster, self.node_names, leaves) if phase == "idempotence" and leaves else {}
        start = time.monotonic()
        try:
            if phase == "orchestrate":
                known["declared_steps"] = self.method.declared_steps()
            result = verbs[phase]()
        except Exception as exc:  # a tool that hung up, a cluster gone: this phase fails, the run goes on
            result = PhaseResult(self.name, phase, (), time.monotonic() - start, error=f"{type(exc).__name__}: {exc}")
        if before:
            after = snapshots(self.cluster, self.node_names, leaves)
            known["touched"] = {node: touched(before[node], after.get(node, "")) for node in before}
        verdict = self.judge(result, self.expectations(**known))
        self.emit(
            f"[orka] {self.name} {phase}: {'ok' if verdict.ok else 'FAILED'} in {result.duration_s:.1f} s "
            f"({len(result.hosts)} hosts, {result.changed} changed, {result.failed} failed)"
        )
        if result.order:
            order = " -> ".join(f"{name} [{start:.2f}-{end:.2f}]" for name, start, end in result.order)
            self.emit(f"[orka] {self.name} {phase} order: {order}")
        if phase == "apply" and self.baseline:  # `orka converge` takes none: nothing to compare against
            self.record_left()
        return verdict

    def not_defined(self, phase: str, why: str) -> PhaseVerdict:
        """A phase the scenario gives this method nothing to run for: recorded as such, a skip, never a pass."""
        verdict = PhaseVerdict(Verdict(notes=(why,), skipped=NOT_DEFINED), {})
        self.done[phase] = result = PhaseResult(self.name, phase, (), 0.0)
        self.verdicts[phase] = verdict
        append_records(self.results, records(result, self.context, verdict))
        self.emit(f"[orka] {self.name} {phase}: {NOT_DEFINED}: {why}")
        return verdict

    def judge(self, result: PhaseResult, expect: Expectations) -> PhaseVerdict:
        verdict = judge(result, expect)
        self.done[result.phase] = result
        self.verdicts[result.phase] = verdict
        append_records(self.results, records(result, self.context, verdict))
        return verdict

    def ensure(self, phase: str) -> PhaseVerdict:
        """The phase's verdict, running it and the phases it needs first unless they ran already."""
        for step in (*PREREQUISITES.get(phase, ()), phase):
            if step not in self.verdicts:
                self.run(step)
        return self.verdicts[phase]

    def record_up(self, duration_s: float) -> PhaseVerdict:
        """The bring-up's time and each node's freshness, as the `up` phase's records."""
        probe = self.method.last_probe
        error = ""
        if probe is not None and not probe.ok:
            error = f"not every node answered {self.method.tool} within {self.method.timeout_s} s: " + "; ".join(
                probe.problems()
            )
        leaves = self.scenario.leaves
        result = PhaseResult(self.name, UP, freshness(self.cluster, leaves), duration_s, error=error)
        verdict = self.judge(result, self.expectations())
        self.baseline = fingerprints(self.cluster, self.node_names, self.scenario, self.name)
        self.fresh_nodes = {h.node for h in result.hosts if h.ok}
        fresh = sum(h.ok for h in result.hosts)
        if leaves:
            self.emit(f"[orka] {self.name} up: {duration_s:.1f} s; {fresh} of {len(result.hosts)} nodes fresh")
        else:
            self.emit(
                f"[orka] {self.name} up: {duration_s:.1f} s; freshness not probed: "
                f"{self.scenario.name}'s scenario.yaml declares no `leaves:`"
            )
        for reason in verdict.reasons():
            self.emit(f"[orka] {self.name} up: FAILED {reason}")
        return verdict

    def record_left(self) -> None:
        """What the apply left on each node, against its baseline: the methods' equivalence is judged on it."""
        after = fingerprints(self.cluster, self.node_names, self.scenario, self.name)
        ignore = [*self.scenario.equivalence_ignore, *methods.descriptor(self.name).own_traces]
        entries: list[dict[str, Any]] = []
        counts = []
        for node, items in after.items():
            differs = changed(self.baseline[node], items, self.scenario.leaves.units) if node in self.baseline else []
            counts.append(f"{node} {len(differs)}")
            self.left_changed[node] = differs
            entries.append(
                {
                    "run_id": self.context.run_id,
                    "scenario": self.scenario.name,
                    "platform": self.platform.name,
                    "method": self.name,
                    "node": node,
                    "fresh": node in self.baseline and node in self.fresh_nodes,
                    "changed": differs,
                    "ignore": ignore,
                    "after": items,
                }
            )
        append_records(fingerprints_path(self.results), entries)
        self.emit(f"[orka] {self.name} apply left (items changed per node): {', '.join(counts)}")

    def drift(self) -> PhaseResult:
        """The scenario's hand edits made on the nodes, the method's dry run scored against them, its apply
        repairing, each node's fingerprint compared with the one before the edits (orka.results.drift)."""
        nodes = self.node_names
        start = time.monotonic()
        before = fingerprints(self.cluster, nodes, self.scenario, self.name)
        unplaced = self.scenario.drift.unplaced(nodes)
        if unplaced:
            return PhaseResult(self.name, DRIFT, (), 0.0, error=f"{self.scenario.name}'s drift: {'; '.join(unplaced)}")
        planned = {node: self.scenario.drift.on_node(node, nodes) for node in nodes}
        scripts = {node: edit_script(edits) for node, edits in planned.items() if edits}
        made = {node: edit_results(out, planned[node]) for node, out in as_root_each(self.cluster, scripts).items()}
        for node, (done, failed) in made.items():
            shown = "; ".join([*(str(e) for e in done), *failed])
            self.emit(f"[orka] {self.name} drift: {node}: {len(done)} of {len(planned[node])} hand edits made: {shown}")
        dry_run = self._sub_phase(self.method.dry_run, "check")
        self.emit(f"[orka] {self.name} drift: dry run in {dry_run.duration_s:.1f} s: {dry_run.changed} items reported")
        repair = self._sub_phase(lambda: self.method.apply("repair"), "repair")
        self.emit(f"[orka] {self.name} drift: repair in {repair.duration_s:.1f} s: {repair.changed} changed")
        back = fingerprints(self.cluster, nodes, self.scenario, self.name)
        outcomes = []
        for node in nodes:
            done, failed = made.get(node, ([], []))
            scored = score_node(
                node, done, failed, dry_run.host(node), repair.host(node), back.get(node), before.get(node),
                self.scenario.leaves.units,
            )  # fmt: skip
            facts = {**scored.facts, "dry_run_s": round(dry_run.duration_s, 3), "repair_s": round(repair.duration_s, 3)}
            outcomes.append(replace(scored, facts=facts))
        errors = [f"{what}: {p.error}" for what, p in (("dry run", dry_run), ("repair", repair)) if p.error]
        raw = f"-- dry run --\n{dry_run.raw}\n-- repair --\n{repair.raw}"
        return PhaseResult(
            self.name, DRIFT, tuple(outcomes), time.monotonic() - start, raw=raw, error="; ".join(errors)
        )

    def _sub_phase(self, verb: Callable[[], PhaseResult], name: str) -> PhaseResult:
        """A tool run inside a phase: a tool that raises gives a result with its error, as run() does."""
        start = time.monotonic()
        try:
            result = verb()
        except Exception as exc:
            return PhaseResult(self.name, name, (), time.monotonic() - start, error=f"{type(exc).__name__}: {exc}")
        problems = exit_code_problems(result, self.expectations())
        return replace(result, error="; ".join([result.error, *problems]).strip("; ")) if problems else result

    def record_check(
        self, node: str, check: str, ok: bool, duration_s: float, detail: str, phase: str = VERIFY
    ) -> None:
        """One verification check on one node (the verify phase is made of these; drift's, after the repair)."""
        if phase == VERIFY:
            self.checks[(check, node)] = ok
        outcome = HostOutcome(node, ok=ok, failed=0 if ok else 1, detail=detail)
        verdict = PhaseVerdict(Verdict(), {node: Verdict(() if ok else (detail or f"{check} failed",))})
        _, per_host = records(PhaseResult(self.name, phase, (outcome,), duration_s), self.context, verdict)
        append_records(self.results, [{**per_host, "check": check}])

    def record_verify(self, expected: Iterable[tuple[str, str]]) -> PhaseVerdict:
        """The verify phase as a whole, once its checks are done: every expected (check, node) recorded and passed."""
        wanted = sorted(set(expected))
        nodes: dict[str, Verdict] = {}
        for node in self.node_names:
            failed = [c for c, n in wanted if n == node and self.checks.get((c, n)) is False]
            missing = [c for c, n in wanted if n == node and (c, n) not in self.checks]
            reasons = [f"failed: {', '.join(failed)}"] if failed else []
            reasons += [f"not run: {', '.join(missing)}"] if missing else []
            if not any(n == node for _, n in self.checks) and not missing:
                reasons.append("no verify records for this node")
            nodes[node] = Verdict(tuple(reasons))
        outcomes = tuple(HostOutcome(n, ok=v.ok, failed=len(v.reasons)) for n, v in nodes.items())
        checks = len(self.checks)
        result = PhaseResult(self.name, VERIFY, outcomes, 0.0, raw=f"{checks} checks recorded of {len(wanted)}")
        # One record, the whole phase's: the checks have theirs; its reasons name the nodes.
        verdict = PhaseVerdict(Verdict(tuple(f"{n}: {r}" for n, v in nodes.items() for r in v.reasons)), nodes)
        whole, *_ = records(result, self.context, verdict)
        if self.left_changed and self.check_commands:
            ignore = [*self.scenario.equivalence_ignore, *methods.descriptor(self.name).own_traces]
            whole["facts"] = {
                "unchecked": {
                    node: unchecked(items, self.check_commands.get(node, ()), ignore)
                    for node, items in self.left_changed.items()
                }
            }
        append_records(self.results, [whole])
        self.verdicts[VERIFY] = verdict
        return verdict


def leftovers(cluster: Cluster, node: str, leaves: Leaves) -> tuple[list[str], list[str]]:
    """What of the desired state a node already holds, and of that what the host held before orka first came
    (an existing host's own, written down in its baseline and never removed): ([], []) on a fresh node."""
    out = cluster.run(node, f"{leaves.probe}; echo {BASELINE_MARK}; cat {BASELINE} 2>/dev/null; true").stdout
    probed, _, baseline = out.partition(BASELINE_MARK)
    own = {line.strip() for line in baseline.splitlines() if line.strip()}
    held = [line.strip() for line in probed.splitlines() if line.strip()]
    return [h for h in held if h not in own], [h for h in held if h in own]


def freshness(cluster: Cluster, leaves: Leaves) -> tuple[HostOutcome, ...]:
    """Each node fresh (ok) or not, naming what it already holds; a host's own from before orka is no leftover."""
    nodes = [n.name for n in cluster.nodes]
    with ThreadPoolExecutor(max_workers=min(8, len(nodes))) as pool:
        found = list(pool.map(lambda node: leftovers(cluster, node, leaves), nodes))
    outcomes = []
    for node, (held, own) in zip(nodes, found, strict=True):
        detail = f"already holds: {', '.join(held)}" if held else "fresh"
        if own:
            detail += f" (the host's own from before orka: {', '.join(own)})"
        outcomes.append(HostOutcome(node, ok=not held, failed=1 if held else 0, detail=detail))
    return tuple(outcomes)


def as_root_on_each(cluster: Cluster, nodes: tuple[str, ...], command: str) -> dict[str, str]:
    """What a shell command run as root printed on each node, the nodes side by side."""
    return as_root_each(cluster, dict.fromkeys(nodes, command))


def as_root_each(cluster: Cluster, commands: dict[str, str]) -> dict[str, str]:
    """What each node's own shell command, run as root, printed there, the nodes side by side."""
    if not commands:
        return {}
    nodes = list(commands)
    with ThreadPoolExecutor(max_workers=min(8, len(nodes))) as pool:
        taken = list(pool.map(lambda node: cluster.run(node, f"sudo sh -c {_quoted(commands[node])}").stdout, nodes))
    return dict(zip(nodes, taken, strict=True))


def snapshots(cluster: Cluster, nodes: tuple[str, ...], leaves: Leaves) -> dict[str, str]:
    """Each node's managed files and services as the idempotence check compares them."""
    return as_root_on_each(cluster, nodes, leaves.snapshot)


def fingerprints(cluster: Cluster, nodes: tuple[str, ...], scenario: Scenario, method: str) -> dict[str, Fingerprint]:
    """Each node's fingerprint (orka.results.fingerprint), read in one round trip per node."""
    command = fingerprint_command(scenario.leaves.paths, method, scenario.naming_method)
    return {node: parse(out) for node, out in as_root_on_each(cluster, nodes, command).items()}


def _quoted(command: str) -> str:
    return "'" + command.replace("'", "'\"'\"'") + "'"


class SpikeRegistry:
    """The Spike of each scenario x platform x method, on a cluster of its own from the pool.

    With `tag_methods` (methods side by side under xdist) every progress line names its method;
    with several scenarios or platforms, each line names its scenario (on its platform) too.
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
        tag_scenarios: bool = False,
        tag_platforms: bool = False,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.run_id = run_id
        self.results = results
        self.timeout_s = timeout_s
        self.emit = emit
        self.tag_methods = tag_methods
        self.tag_scenarios = tag_scenarios
        self.tag_platforms = tag_platforms
        self.condition = condition  # "normal", or the methods side by side: each phase's times include the others'
        self._spikes: dict[tuple[str, str, str], Spike] = {}
        self._failed: dict[tuple[str, str, str], str] = {}  # a cluster that did not come up: why
        self._not_written: set[tuple[str, str]] = set()

    def context(self, scenario: Scenario, platform: Platform, **facts: Any) -> RunContext:
        facts = {"cluster_size": 0, "provider": "", "tool_version": "", **facts}
        return RunContext(
            self.run_id,
            settings=self.settings,
            condition=self.condition,
            scenario=scenario.name,
            scenario_path=str(scenario.path),
            platform=platform.name,
            **facts,
        )

    def not_written(self, method_name: str, scenario: Scenario, platform: Platform) -> str:
        """Why the method has nothing to run in the scenario, recorded once as `not written` (a skip)."""
        why = f"{NOT_WRITTEN}: {scenario.name} has no {method_name}/ folder ({scenario.path})"
        variant = on_platform(scenario.name, platform.name)
        if (variant, method_name) not in self._not_written:
            self._not_written.add((variant, method_name))
            verdict = PhaseVerdict(Verdict(notes=(why,), skipped=NOT_WRITTEN), {})
            result = PhaseResult(method_name, UP, (), 0.0)
            append_records(self.results, records(result, self.context(scenario, platform), verdict))
        return why

    def get(self, method_name: str, scenario: Scenario, platform: Platform) -> Spike:
        key = (scenario.name, platform.name, method_name)
        if key in self._failed:  # one bring-up per method and run, not one per test
            raise ClusterError(f"{method_name}'s cluster did not come up earlier in this run: {self._failed[key]}")
        where = on_platform(scenario.name, platform.name) if self.tag_platforms else scenario.name
        label = f"{where}/{method_name}" if self.tag_scenarios or self.tag_platforms else method_name
        emit = tagged(self.emit, label) if self.tag_methods or self.tag_scenarios or self.tag_platforms else self.emit
        start = time.monotonic()
        try:
            # The scenario's secret vars reach the machines' provisioning: kept out of its logs too.
            secrets.declare_all(scenario.secret_vars(), f"{scenario.name}'s vars")
            cluster = self.pool.get((method_name,), scenario, platform, emit)
        except OrkaError as exc:
            self._failed[key] = str(exc).splitlines()[0]
            self._record_no_cluster(method_name, scenario, platform, str(exc), time.monotonic() - start)
            raise
        spike = self._spikes.get(key)
        if spike is None or spike.cluster is not cluster:
            method = load_method(method_name)(cluster, self.timeout_s, scenario)
            with timed(self.pool.clock, READINESS, method_name, scenario.name):
                waited = method.wait_ready()
            emit(f"[orka] {method_name}: every node ready to drive after {waited:.1f} s")
            try:
                declared = secrets.declare_all_pairs(method.secrets(), f"{scenario.name}/{method_name}")
            except OrkaError as exc:
                self._failed[key] = why = f"its secrets: {exc}"
                self._record_no_cluster(method_name, scenario, platform, why, time.monotonic() - start)
                raise
            if declared:
                emit(f"[orka] {method_name}: {declared} secret value(s) from its tool, kept out of every report")
            with timed(self.pool.clock, FACTS, method_name, scenario.name):
                os_release = cluster.run(cluster.nodes[0].name, ". /etc/os-release && echo $PRETTY_NAME").stdout
                context = self.context(
                    scenario,
                    platform,
                    cluster_size=len(cluster.nodes),
                    provider=cluster.spec.provider,
                    tool_version=method.version(),
                    node_os=os_release.strip(),
                    tuning=method.tuning,
                )
                spike = self._spikes[key] = Spike(method, scenario, cluster, context, self.results, emit)
                # Bring-up: the attempt that succeeded (not those another cluster's race spoiled), then the tool.
                spike.record_up(self.pool.up_s + waited)
        return spike

    def _record_no_cluster(
        self, method_name: str, scenario: Scenario, platform: Platform, why: str, duration_s: float
    ) -> None:
        """A method whose cluster never came up: a failed `up`, so no report shows it as merely not run."""
        result = PhaseResult(method_name, UP, (), duration_s, error=f"the cluster did not come up: {why}")
        verdict = judge(result, Expectations(()))
        append_records(self.results, records(result, self.context(scenario, platform), verdict))

    def spikes(self) -> list[Spike]:
        return list(self._spikes.values())
