"""Unit tests of orka.results.verdict: what orka decides of a phase, whatever the tool says of itself."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orka.methods.ansible.method import parse_playbook
from orka.methods.salt.method import parse_apply
from orka.results.record import HostOutcome, PhaseResult, PhaseVerdict
from orka.results.verdict import TIMED_OUT, Expectations, judge, order_problems
from spikes.phases import check_node, check_phase

DATA = Path(__file__).parent / "data"
NODES = ("orka-node-1", "orka-node-2", "orka-node-3")
SALT = Expectations(NODES, tool="salt", host_failure_codes=frozenset({1, 2, 11}))
ANSIBLE = Expectations(NODES, tool="ansible", host_failure_codes=frozenset({2, 4, 8}))


def result(phase: str, *hosts: HostOutcome, **extra: object) -> PhaseResult:
    return PhaseResult("salt", phase, hosts, 1.0, **extra)  # type: ignore[arg-type]


def changed(node: str, count: int = 3) -> HostOutcome:
    return HostOutcome(node, ok=True, changed=count, detail="changed: a, b, c")


# -- apply: the first must change a fresh node ---------------------------------


def test_a_first_apply_that_changed_nothing_fails_every_fresh_node() -> None:
    """salt's second highstate output as if it were the first: the tool says ok, orka says FAIL."""
    stdout = (DATA / "salt" / "apply_second.json").read_text()
    tool = PhaseResult("salt", "apply", parse_apply(stdout, list(NODES), changes_fail=False), 4.0, exit_code=0)
    assert tool.ok, "the tool's own result is a pass"

    verdict = judge(tool, SALT)

    assert not verdict.ok
    for node in NODES:
        assert verdict.nodes[node].reasons == ("a fresh node must be changed by the first apply, it was not",)


def test_a_first_apply_on_a_reused_cluster_need_not_change_and_says_why() -> None:
    tool = result("apply", *(HostOutcome(n, ok=True) for n in NODES))
    verdict = judge(tool, Expectations(NODES, fresh_required=False))
    assert verdict.ok
    assert "reused by request" in verdict.whole.notes[0]


def test_a_first_apply_that_changed_every_node_passes() -> None:
    assert judge(result("apply", *(changed(n) for n in NODES)), SALT).ok


# -- idempotence: by the tool's word and by the node itself -----------------------


def test_a_second_apply_the_tool_calls_clean_fails_when_it_rewrote_a_file_or_restarted_a_service() -> None:
    tool = result("idempotence", *(HostOutcome(n, ok=True) for n in NODES))
    touched = {"orka-node-2": ["rewrote /etc/orka/node.conf (mtime or inode changed)"], "orka-node-1": []}

    verdict = judge(tool, Expectations(NODES, touched=touched))

    assert not verdict.ok
    assert verdict.nodes["orka-node-1"].ok
    assert verdict.nodes["orka-node-2"].reasons == (
        "the second apply rewrote /etc/orka/node.conf (mtime or inode changed)",
    )


def test_a_second_apply_that_changed_something_fails_that_node_with_its_detail() -> None:
    stdout = (DATA / "ansible" / "playbook_first.json").read_text()
    hosts = parse_playbook(stdout, list(NODES), changes_fail=False)  # the tool said ok: changes are not failures
    verdict = judge(PhaseResult("ansible", "idempotence", hosts, 9.0, exit_code=0), ANSIBLE)
    assert not verdict.ok
    assert all(
        v.reasons[0].startswith("the second apply must change nothing; changed: ") for v in verdict.nodes.values()
    )


# -- exit codes -------------------------------------------------------------------


def test_a_non_zero_exit_with_clean_looking_output_fails_the_phase() -> None:
    tool = result("ping", *(HostOutcome(n, ok=True) for n in NODES), exit_code=42)
    verdict = judge(tool, SALT)
    assert not verdict.ok
    assert verdict.whole.reasons == ("salt exited 42",)
    assert all(v.ok for v in verdict.nodes.values()), "the nodes answered: the phase, not they, failed"


def test_a_documented_host_failure_code_is_fine_when_a_host_did_fail() -> None:
    hosts = (*(HostOutcome(n, ok=True, changed=1) for n in NODES[:2]), HostOutcome(NODES[2], False, 0, 1, "boom"))
    verdict = judge(PhaseResult("ansible", "apply", hosts, 1.0, exit_code=2), ANSIBLE)
    assert verdict.whole.ok
    assert verdict.nodes[NODES[2]].reasons == ("boom",)


def test_a_documented_host_failure_code_with_no_failed_host_fails_the_phase() -> None:
    hosts = tuple(changed(n) for n in NODES)
    verdict = judge(PhaseResult("ansible", "apply", hosts, 1.0, exit_code=4), ANSIBLE)
    assert verdict.whole.reasons == (
        "ansible exited 4, which says a host failed, yet no node's result shows a failure",
    )


def test_the_timeouts_exit_is_said_once_by_the_phases_error() -> None:
    tool = result(
        "apply", exit_code=TIMED_OUT, error="salt did not finish within 60 s (timeouts.command) and was stopped"
    )
    verdict = judge(tool, SALT)
    assert verdict.whole.reasons == (tool.error,)
    assert verdict.nodes["orka-node-1"].reasons == (f"no outcome: {tool.error}",)


def test_a_zero_exit_with_a_failed_host_still_fails_that_host() -> None:
    hosts = (
        changed("orka-node-1"),
        changed("orka-node-2"),
        HostOutcome("orka-node-3", False, 0, 1, "Minion did not return"),
    )
    verdict = judge(PhaseResult("salt", "apply", hosts, 1.0, exit_code=0), SALT)
    assert verdict.whole.ok
    assert not verdict.ok
    assert verdict.nodes["orka-node-3"].reasons == ("Minion did not return",)


# -- nodes the tool did not speak of, or did but should not have -------------------


def test_a_node_without_an_outcome_fails_and_a_stranger_fails_the_phase() -> None:
    hosts = (HostOutcome("orka-node-1", ok=True), HostOutcome("orka-node-2", ok=True), HostOutcome("rogue", ok=True))
    verdict = judge(result("ping", *hosts), SALT)
    assert verdict.nodes["orka-node-3"].reasons == ("no outcome for this node",)
    assert verdict.whole.reasons == ("answered but not a node of this cluster: rogue",)


def test_up_fails_a_node_that_was_not_fresh_unless_the_cluster_was_reused() -> None:
    held = HostOutcome("orka-node-2", ok=False, failed=1, detail="already holds: /etc/orka, user orka")
    tool = result("up", HostOutcome("orka-node-1", ok=True), held, HostOutcome("orka-node-3", ok=True))

    assert judge(tool, SALT).nodes["orka-node-2"].reasons == ("already holds: /etc/orka, user orka",)
    reused = judge(tool, Expectations(NODES, fresh_required=False))
    assert reused.ok
    assert reused.nodes["orka-node-2"].notes == ("already holds: /etc/orka, user orka",)


# -- orchestration: the declared steps, in order, one after another ------------------


def test_orchestrate_steps_swapped_and_overlapping_fail_with_both_reasons() -> None:
    declared = ("orka-primary", "orka-secondaries")
    order = (("orka-secondaries", 100.0, 102.0), ("orka-primary", 101.5, 103.0))
    hosts = tuple(HostOutcome(n, ok=True) for n in NODES)

    verdict = judge(result("orchestrate", *hosts, order=order), Expectations(NODES, declared_steps=declared))

    assert verdict.whole.reasons == (
        "steps ran as orka-secondaries -> orka-primary; the orchestration declares orka-primary -> orka-secondaries",
        "step orka-primary began 0.500 s before step orka-secondaries ended",
    )


def test_orchestrate_with_a_declared_step_that_never_ran_fails() -> None:
    problems = order_problems((("publish", 1.0, 2.0),), ("publish", "fetch"))
    assert problems == ["steps ran as publish; the orchestration declares publish -> fetch (fetch did not run)"]


def test_orchestrate_in_declared_order_back_to_back_passes() -> None:
    assert order_problems((("a", 1.0, 2.0), ("b", 2.0, 3.0), ("c", 3.5, 4.0)), ("a", "b", "c")) == []


def test_an_orchestration_with_no_known_steps_must_report_one() -> None:
    assert order_problems((), None) == ["no orchestration step was reported"]


# -- the spike tests assert the verdict ------------------------------------------------


@dataclass
class FakeSpike:
    """What the phase checks read of a Spike: its verdicts, and `ensure` for a phase."""

    verdicts: dict[str, PhaseVerdict]
    name: str = "salt"
    ran: list[str] = field(default_factory=list)

    def ensure(self, phase: str) -> PhaseVerdict:
        self.ran.append(phase)
        return self.verdicts[phase]


def test_the_node_test_fails_with_orkas_reasons_and_the_phase_test_with_every_node_named() -> None:
    tool = result("apply", changed("orka-node-1"), HostOutcome("orka-node-2", ok=True), changed("orka-node-3"))
    spike = FakeSpike({"apply": judge(tool, SALT)})

    check_node(spike, "apply", "orka-node-1")  # type: ignore[arg-type]
    with pytest.raises(pytest.fail.Exception) as node:
        check_node(spike, "apply", "orka-node-2")  # type: ignore[arg-type]
    with pytest.raises(pytest.fail.Exception) as phase:
        check_phase(spike, "apply")  # type: ignore[arg-type]

    assert str(node.value) == "orka-node-2: a fresh node must be changed by the first apply, it was not"
    assert "orka-node-2: a fresh node must be changed" in str(phase.value)
    assert spike.ran == ["apply", "apply", "apply"], "each test reads the one verdict, through ensure"


def test_a_phase_whose_tool_exited_badly_fails_its_phase_test_not_its_node_tests() -> None:
    tool = result("ping", *(HostOutcome(n, ok=True) for n in NODES), exit_code=1)
    spike = FakeSpike({"ping": judge(tool, Expectations(NODES, tool="salt"))})
    for node in NODES:
        check_node(spike, "ping", node)  # type: ignore[arg-type]
    with pytest.raises(pytest.fail.Exception, match="salt exited 1"):
        check_phase(spike, "ping")  # type: ignore[arg-type]


def test_the_recorded_verdict_matches_the_one_the_tests_assert() -> None:
    """What records() writes is the verdict the tests read: one decision, two readers."""
    from orka.results.record import RunContext, records

    tool = result("apply", changed("orka-node-1"), HostOutcome("orka-node-2", ok=True), changed("orka-node-3"))
    verdict = judge(tool, SALT)
    whole, *per_host = records(tool, RunContext("r", 3, "docker", "salt 3008"), verdict)
    assert json.loads(json.dumps(whole))["verdict"] == "fail"
    assert {r["node"]: r["verdict"] for r in per_host} == {
        "orka-node-1": "pass",
        "orka-node-2": "fail",
        "orka-node-3": "pass",
    }
    assert per_host[1]["reasons"] == ["a fresh node must be changed by the first apply, it was not"]
