"""Unit tests of orka.spike: each phase judged once and recorded with its verdict.

The method and the cluster are stand-ins for their interfaces (a method's verbs
returning PhaseResults, a cluster running a command on a node); what is tested
is orka's own logic around them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from orka.config.settings import default_settings
from orka.plan.spec import MachineSpec
from orka.results.record import HostOutcome, PhaseResult, RunContext
from orka.spike import Spike

EXAMPLE = default_settings().scenarios[0]  # the freshness probe and the snapshot are of its `leaves:`

NODES = ("orka-node-1", "orka-node-2", "orka-node-3")


@dataclass
class Answer:
    stdout: str = ""
    rc: int = 0


@dataclass
class StandInCluster:
    """Runs the freshness probe, the idempotence snapshot and the fingerprints: a node's answer per command kind."""

    held: dict[str, str] = field(default_factory=dict)  # node -> what the probe finds there
    snapshots: dict[str, list[str]] = field(default_factory=dict)  # node -> its snapshots, in order
    reused: bool = False

    @property
    def nodes(self) -> tuple[MachineSpec, ...]:
        return tuple(MachineSpec(n, "node", f"10.0.0.{i}", primary=i == 1) for i, n in enumerate(NODES, 1))

    def run(self, machine: str, command: str, timeout: int | None = None) -> Answer:
        if "list-unit-files" in command:  # a fingerprint: an empty one
            return Answer("")
        if "-printf" in command:  # the snapshot
            taken = self.snapshots.get(machine, [])
            return Answer(taken.pop(0) if taken else "")
        return Answer(self.held.get(machine, ""))


class StandInMethod:
    name = "salt"
    tool = "salt"
    host_failure_codes: ClassVar[frozenset[int]] = frozenset({1})
    timeout_s = 60
    last_probe: PhaseResult | None = None

    def __init__(self, results: dict[str, PhaseResult | Exception]) -> None:
        self.results = results

    def _give(self, phase: str) -> PhaseResult:
        given = self.results[phase]
        if isinstance(given, Exception):
            raise given
        return given

    def ping(self) -> PhaseResult:
        return self._give("ping")

    def apply(self, phase: str = "apply") -> PhaseResult:
        return self._give(phase)

    def orchestrate(self) -> PhaseResult:
        return self._give("orchestrate")

    def dry_run(self) -> PhaseResult:
        return self._give("check")

    def declared_steps(self) -> tuple[str, ...]:
        return ("orka-primary", "orka-secondaries")


def spike(tmp_path: Path, method: StandInMethod, cluster: StandInCluster) -> Spike:
    context = RunContext("run-1", 3, "docker", "salt 3008")
    return Spike(method, EXAMPLE, cluster, context, tmp_path / "results.json", lambda line: None)  # type: ignore[arg-type]


def recorded(tmp_path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((tmp_path / "results.json").read_text())
    return data


def every(changed: int = 0) -> tuple[HostOutcome, ...]:
    return tuple(HostOutcome(n, ok=True, changed=changed) for n in NODES)


def test_a_node_that_was_not_fresh_fails_up_in_the_records(tmp_path: Path) -> None:
    cluster = StandInCluster(held={"orka-node-2": "/etc/orka\nuser orka\n"})
    verdict = spike(tmp_path, StandInMethod({}), cluster).record_up(12.5)

    assert not verdict.ok
    whole, *nodes = recorded(tmp_path)
    assert (whole["phase"], whole["verdict"]) == ("up", "fail")
    assert {r["node"]: r["verdict"] for r in nodes} == {
        "orka-node-1": "pass",
        "orka-node-2": "fail",
        "orka-node-3": "pass",
    }
    assert nodes[1]["reasons"] == ["already holds: /etc/orka, user orka"]


def test_a_reused_cluster_passes_up_and_the_record_says_why(tmp_path: Path) -> None:
    cluster = StandInCluster(held={"orka-node-2": "/etc/orka\n"}, reused=True)
    assert spike(tmp_path, StandInMethod({}), cluster).record_up(1.0).ok
    whole = recorded(tmp_path)[0]
    assert whole["verdict"] == "pass"
    assert "reused by request" in whole["notes"][0]


def test_a_tool_never_ready_fails_up_saying_so(tmp_path: Path) -> None:
    method = StandInMethod({})
    method.last_probe = PhaseResult(
        "salt", "ping", (HostOutcome("orka-node-3", False, 0, 1, "Minion did not return"),), 2
    )
    verdict = spike(tmp_path, method, StandInCluster()).record_up(60.0)
    assert verdict.whole.reasons == ("not every node answered salt within 60 s: orka-node-3: Minion did not return",)


def test_a_tool_that_raises_is_the_phases_failure_recorded_not_a_crash(tmp_path: Path) -> None:
    method = StandInMethod({"ping": RuntimeError("ssh: connection reset")})
    verdict = spike(tmp_path, method, StandInCluster()).ensure("ping")

    assert verdict.whole.reasons == ("RuntimeError: ssh: connection reset",)
    assert recorded(tmp_path)[0]["verdict"] == "fail"


def test_idempotence_fails_a_node_whose_service_the_second_apply_restarted(tmp_path: Path) -> None:
    before = "file /etc/orka/node.conf 1.0 5\nunit orka-agent 100\n"
    cluster = StandInCluster(
        snapshots={
            "orka-node-1": [before, before],
            "orka-node-2": [before, "file /etc/orka/node.conf 1.0 5\nunit orka-agent 230\n"],
            "orka-node-3": [before, before],
        }
    )
    method = StandInMethod(
        {
            "apply": PhaseResult("salt", "apply", every(3), 5),
            "idempotence": PhaseResult("salt", "idempotence", every(), 2),
        }
    )
    verdict = spike(tmp_path, method, cluster).ensure("idempotence")

    assert verdict.nodes["orka-node-2"].reasons == ("the second apply restarted orka-agent (MainPID 100 -> 230)",)
    assert verdict.nodes["orka-node-1"].ok
    idempotence = [r for r in recorded(tmp_path) if r["phase"] == "idempotence" and r["node"] == "orka-node-2"]
    assert idempotence[0]["verdict"] == "fail"


def test_orchestrate_is_judged_against_the_methods_declared_steps(tmp_path: Path) -> None:
    order = (("orka-primary", 1.0, 2.0),)
    method = StandInMethod({
        "apply": PhaseResult("salt", "apply", every(3), 5),
        "orchestrate": PhaseResult("salt", "orchestrate", every(1), 2, order=order),
    })  # fmt: skip
    verdict = spike(tmp_path, method, StandInCluster()).ensure("orchestrate")
    assert verdict.whole.reasons == (
        "steps ran as orka-primary; the orchestration declares orka-primary -> orka-secondaries "
        "(orka-secondaries did not run)",
    )


def test_verify_as_a_whole_fails_a_node_with_no_records_and_names_checks_not_run(tmp_path: Path) -> None:
    run = spike(tmp_path, StandInMethod({}), StandInCluster())
    for node in ("orka-node-1", "orka-node-2"):
        run.record_check(node, "test_node_conf", True, 0.1, "")
    run.record_check("orka-node-2", "test_agent", False, 0.1, "AssertionError: not running")
    expected = [(check, node) for check in ("test_node_conf", "test_agent") for node in NODES]
    expected.remove(("test_agent", "orka-node-1"))

    verdict = run.record_verify(expected)

    assert verdict.nodes["orka-node-1"].ok
    assert verdict.nodes["orka-node-2"].reasons == ("failed: test_agent",)
    assert verdict.nodes["orka-node-3"].reasons == ("not run: test_agent, test_node_conf",)
    whole = recorded(tmp_path)[-1]
    assert (whole["phase"], whole["node"], whole["verdict"]) == ("verify", None, "fail")
    assert whole["reasons"] == ["orka-node-2: failed: test_agent", "orka-node-3: not run: test_agent, test_node_conf"]
    assert whole["raw"] == "3 checks recorded of 5"
