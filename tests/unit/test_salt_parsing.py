"""Unit tests of orka.methods.salt's parsers, on real Salt 3008 output.

Every file under data/salt/ was captured from a real cluster (orka-master and
orka-node-1..3) with `--out=json`. Expected counts are computed here from the
JSON itself, independently of the parser, and a few literal values read from
the files pin them down as well.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orka.methods.salt.method import (
    NO_RETURN,
    outcome_from_states,
    parse_apply,
    parse_dry_run,
    parse_orchestrate,
    parse_ping,
    parse_show_sls,
    step_minions,
)
from orka.results.record import HostOutcome

DATA = Path(__file__).parent / "data" / "salt"
NODES = ["orka-node-1", "orka-node-2", "orka-node-3"]

# The state ids of the orka formula (apply_first.json: every one of them changed on fresh nodes).
FORMULA_STATE_IDS = [
    "orka-agent-service",
    "orka-agent-unit",
    "orka-conf-dir",
    "orka-group",
    "orka-home",
    "orka-index",
    "orka-node-conf",
    "orka-package-tree",
    "orka-user",
    "orka-www",
]

# What `salt` prints instead of JSON when there is nothing to return.
NO_JSON_OUTPUTS = [
    "No minions matched the target. No command was sent, no jid was assigned.",
    "Salt request timed out. The master is not responding.",
    "   \n",
]


def read(name: str) -> str:
    return (DATA / name).read_text()


def load(name: str) -> Any:
    return json.loads(read(name))


def by_node(outcomes: tuple[HostOutcome, ...]) -> dict[str, HostOutcome]:
    return {h.node: h for h in outcomes}


def changed_ids(ret: dict[str, Any]) -> list[str]:
    """The ids of the states that report changes in one minion's return, sorted."""
    return sorted(state["__id__"] for state in ret.values() if state["changes"])


def failed_ids(ret: dict[str, Any]) -> list[str]:
    return sorted(state["__id__"] for state in ret.values() if state["result"] is False)


def orchestrate_steps(name: str) -> list[dict[str, Any]]:
    """The steps of a recorded orchestrate run, in the order Salt ran them."""
    (steps,) = load(name)["data"].values()
    return sorted(steps.values(), key=lambda step: step["__run_num__"])


def clock(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


# -- test.ping --------------------------------------------------------------


def test_ping_every_node_answers() -> None:
    outcomes = parse_ping(read("ping.json"), NODES)

    assert [h.node for h in outcomes] == NODES
    assert all(h == HostOutcome(h.node, ok=True) for h in outcomes)


def test_ping_a_stopped_minion_is_absent_and_reported_as_not_returning() -> None:
    assert "orka-node-3" not in load("ping_one_down.json")

    hosts = by_node(parse_ping(read("ping_one_down.json"), NODES))

    assert hosts["orka-node-1"].ok
    assert hosts["orka-node-2"].ok
    down = hosts["orka-node-3"]
    assert not down.ok
    assert down.failed == 1
    assert NO_RETURN in down.detail
    assert "Minion did not return" in down.detail


def test_ping_a_minion_that_is_not_a_node_is_reported_as_a_failure() -> None:
    answers = {**load("ping.json"), "stray-minion": True}

    outcomes = parse_ping(json.dumps(answers), NODES)

    assert [h.node for h in outcomes] == [*NODES, "stray-minion"]
    assert all(h.ok for h in outcomes[:3])
    stray = outcomes[3]
    assert not stray.ok
    assert stray.failed == 1
    assert "not a node" in stray.detail


def test_ping_a_minion_salt_gave_up_on_is_reported_as_not_returning() -> None:
    # With --static, a minion that timed out while salt waited is printed as {}.
    answers = {**load("ping.json"), "orka-node-2": {}}

    hosts = by_node(parse_ping(json.dumps(answers), NODES))

    assert hosts["orka-node-2"] == HostOutcome("orka-node-2", ok=False, failed=1, detail=f"{NO_RETURN} [No response]")
    assert hosts["orka-node-1"].ok
    assert hosts["orka-node-3"].ok


def test_ping_with_no_output_fails_every_node_as_not_returning() -> None:
    outcomes = parse_ping("", NODES)

    assert [h.node for h in outcomes] == NODES
    assert all(not h.ok and h.failed == 1 and NO_RETURN in h.detail for h in outcomes)


# -- state.apply ------------------------------------------------------------


@pytest.mark.parametrize("name", ["apply_first.json", "apply_second.json", "apply_one_down.json", "apply_batched.json"])
@pytest.mark.parametrize("changes_fail", [False, True], ids=["apply", "idempotence"])
def test_apply_counts_match_the_recorded_states(name: str, changes_fail: bool) -> None:
    returns = load(name)

    outcomes = parse_apply(read(name), NODES, changes_fail=changes_fail)

    assert [h.node for h in outcomes] == NODES
    for host in outcomes:
        if host.node not in returns:
            assert (host.ok, host.changed, host.failed) == (False, 0, 1)
            assert NO_RETURN in host.detail
            continue
        ret = returns[host.node]
        changed, failed = changed_ids(ret), failed_ids(ret)
        assert host.changed == len(changed)
        assert host.failed == len(failed)
        assert host.ok == (not failed and not (changes_fail and changed))


def test_apply_on_fresh_nodes_changes_every_state_and_succeeds() -> None:
    outcomes = parse_apply(read("apply_first.json"), NODES, changes_fail=False)

    for host in outcomes:
        assert (host.ok, host.changed, host.failed) == (True, 10, 0)
        assert host.detail == "changed: " + ", ".join(FORMULA_STATE_IDS)


def test_a_batched_apply_prints_every_minion_in_one_object() -> None:
    """apply_batched.json: `state.apply --batch-size=2 --out=json --static` on fresh nodes (2 batches)."""
    outcomes = parse_apply(read("apply_batched.json"), NODES, changes_fail=False)

    assert [(h.node, h.ok, h.changed) for h in outcomes] == [(node, True, 10) for node in NODES]


def test_apply_a_second_time_changes_nothing() -> None:
    outcomes = parse_apply(read("apply_second.json"), NODES, changes_fail=False)

    assert all(h == HostOutcome(h.node, ok=True) for h in outcomes)


def test_apply_with_a_stopped_minion_fails_only_that_node() -> None:
    assert "orka-node-3" not in load("apply_one_down.json")

    hosts = by_node(parse_apply(read("apply_one_down.json"), NODES, changes_fail=False))

    assert hosts["orka-node-1"] == HostOutcome("orka-node-1", ok=True)
    assert hosts["orka-node-2"] == HostOutcome("orka-node-2", ok=True)
    down = hosts["orka-node-3"]
    assert (down.ok, down.changed, down.failed) == (False, 0, 1)
    assert "Minion did not return" in down.detail


def test_idempotence_fails_a_node_with_changes_and_names_the_changed_states() -> None:
    returns = load("apply_first.json")

    outcomes = parse_apply(read("apply_first.json"), NODES, changes_fail=True)

    for host in outcomes:
        assert not host.ok
        assert host.changed == 10
        assert host.failed == 0  # no state failed: the node fails for its changes alone
        assert "orka-node-conf" in host.detail
        assert host.detail == "changed: " + ", ".join(changed_ids(returns[host.node]))


def test_idempotence_passes_when_nothing_changed() -> None:
    outcomes = parse_apply(read("apply_second.json"), NODES, changes_fail=True)

    assert all(h.ok and h.detail == "" for h in outcomes)


def test_apply_render_error_fails_the_node_with_salts_message() -> None:
    (message,) = load("apply_render_error.json")["orka-node-2"]

    outcomes = parse_apply(read("apply_render_error.json"), ["orka-node-2"], changes_fail=False)

    assert outcomes == (HostOutcome("orka-node-2", ok=False, failed=1, detail=message),)
    assert outcomes[0].detail == "No matching sls found for 'orka.nope' in env 'base'"


@pytest.mark.parametrize(
    "warning",
    [
        "WARNING: CONFIG 'ipv6' is deprecated.",
        "/usr/lib/python3/dist-packages/salt/transport/zeromq.py:123: DeprecationWarning: a stray warning",
    ],
)
def test_a_stray_warning_line_before_the_json_is_tolerated(warning: str) -> None:
    clean = parse_apply(read("apply_first.json"), NODES, changes_fail=True)

    assert parse_apply(f"{warning}\n{read('apply_first.json')}", NODES, changes_fail=True) == clean
    assert parse_ping(f"{warning}\n{read('ping_one_down.json')}", NODES) == parse_ping(
        read("ping_one_down.json"), NODES
    )
    assert parse_orchestrate(f"{warning}\n{read('orchestrate_first.json')}", NODES) == parse_orchestrate(
        read("orchestrate_first.json"), NODES
    )


def test_a_salt_log_warning_line_before_the_json_is_tolerated() -> None:
    stdout = "[WARNING ] Minion 'orka-node-3' key cache is stale\n" + read("ping.json")

    assert all(h.ok for h in parse_ping(stdout, NODES))


@pytest.mark.parametrize("stdout", NO_JSON_OUTPUTS[:2])
def test_ping_output_without_json_raises_value_error(stdout: str) -> None:
    with pytest.raises(ValueError, match="no JSON"):
        parse_ping(stdout, NODES)


@pytest.mark.parametrize("stdout", NO_JSON_OUTPUTS[:2])
def test_apply_output_without_json_raises_value_error(stdout: str) -> None:
    with pytest.raises(ValueError, match="no JSON"):
        parse_apply(stdout, NODES, changes_fail=False)


@pytest.mark.parametrize("stdout", NO_JSON_OUTPUTS)
def test_orchestrate_output_without_json_raises_value_error(stdout: str) -> None:
    with pytest.raises(ValueError, match="no JSON"):
        parse_orchestrate(stdout, NODES)


# -- outcome_from_states ----------------------------------------------------


@pytest.mark.parametrize("ret", [None, {}], ids=["absent", "empty: salt gave up waiting"])
def test_outcome_of_a_minion_that_did_not_return(ret: Any) -> None:
    assert outcome_from_states("orka-node-1", ret, changes_fail=False) == HostOutcome(
        "orka-node-1", ok=False, failed=1, detail=f"{NO_RETURN} [No response]"
    )


def test_apply_with_a_minion_salt_gave_up_on_fails_only_that_node() -> None:
    returns = {**load("apply_second.json"), "orka-node-3": {}}

    hosts = by_node(parse_apply(json.dumps(returns), NODES, changes_fail=True))

    assert hosts["orka-node-1"].ok
    assert hosts["orka-node-2"].ok
    assert (hosts["orka-node-3"].ok, hosts["orka-node-3"].detail) == (False, f"{NO_RETURN} [No response]")


@pytest.mark.parametrize(
    ("ret", "detail"),
    [
        (
            ["Rendering SLS 'base:orka' failed: mapping values", "line 3"],
            "Rendering SLS 'base:orka' failed: mapping values; line 3",
        ),
        ("Passed invalid arguments: state.apply", "Passed invalid arguments: state.apply"),
    ],
    ids=["list-of-strings", "string"],
)
def test_outcome_of_an_error_instead_of_states_carries_the_message(ret: Any, detail: str) -> None:
    assert outcome_from_states("orka-node-1", ret, changes_fail=False) == HostOutcome(
        "orka-node-1", ok=False, failed=1, detail=detail
    )


def test_outcome_of_a_failed_state_names_it_with_salts_comment() -> None:
    (primary_step,) = orchestrate_steps("orchestrate_primary_fails.json")
    ret = primary_step["changes"]["ret"]["orka-node-1"]

    host = outcome_from_states("orka-node-1", ret, changes_fail=False)

    assert failed_ids(ret) == ["orka-cluster-json"]
    assert (host.ok, host.changed, host.failed) == (False, 0, 1)
    assert host.detail.startswith("failed: orka-cluster-json: ")
    assert "/opt/orka/www/cluster.json is a directory" in host.detail


# -- state.orchestrate ------------------------------------------------------


def test_orchestrate_first_run_updates_every_node_primary_first() -> None:
    steps = orchestrate_steps("orchestrate_first.json")
    returns = {node: ret for step in steps for node, ret in step["changes"]["ret"].items()}

    outcomes, _, error = parse_orchestrate(read("orchestrate_first.json"), NODES)

    assert error == ""
    assert [h.node for h in outcomes] == NODES
    for host in outcomes:
        assert host.ok
        assert host.failed == 0
        assert host.changed == len(changed_ids(returns[host.node])) == 1
    hosts = by_node(outcomes)
    assert hosts["orka-node-1"].detail == "changed: orka-cluster-json"
    assert hosts["orka-node-2"].detail == "changed: orka-cluster-json-fetch"
    assert hosts["orka-node-3"].detail == "changed: orka-cluster-json-fetch"


def test_orchestrate_order_is_primary_then_secondaries_without_overlap() -> None:
    steps = orchestrate_steps("orchestrate_first.json")

    _, order, _ = parse_orchestrate(read("orchestrate_first.json"), NODES)

    assert [name for name, _, _ in order] == ["orka-primary", "orka-secondaries"]
    for (_, start, end), step in zip(order, steps, strict=True):
        assert start == pytest.approx(clock(step["start_time"]))
        assert end == pytest.approx(start + step["duration"] / 1000)
        assert end >= start
    (_, _, primary_end), (_, secondaries_start, _) = order
    assert primary_end <= secondaries_start
    # Read from the file: the primary started at 13:30:24.705036 and took 505.535 ms.
    name, start, end = order[0]
    assert name == "orka-primary"
    assert start == pytest.approx(48624.705036)
    assert end == pytest.approx(48625.210571)


def test_orchestrate_second_run_changes_nothing_and_every_node_is_ok() -> None:
    assert all(step["changes"] == {} for step in orchestrate_steps("orchestrate_second.json"))

    outcomes, order, error = parse_orchestrate(read("orchestrate_second.json"), NODES)

    assert error == ""
    assert outcomes == tuple(HostOutcome(n, ok=True) for n in NODES)
    assert [name for name, _, _ in order] == ["orka-primary", "orka-secondaries"]
    assert all(end >= start for _, start, end in order)


def test_orchestrate_primary_failure_names_the_step_and_secondaries_are_not_run() -> None:
    (primary_step,) = orchestrate_steps("orchestrate_primary_fails.json")

    outcomes, order, error = parse_orchestrate(read("orchestrate_primary_fails.json"), NODES)

    assert error
    assert "orka-primary" in error
    assert primary_step["comment"] in error  # "Run failed on minions: orka-node-1"
    assert [name for name, _, _ in order] == ["orka-primary"]
    hosts = by_node(outcomes)
    primary = hosts["orka-node-1"]
    assert (primary.ok, primary.failed) == (False, 1)
    assert "orka-cluster-json" in primary.detail
    for node in ("orka-node-2", "orka-node-3"):
        assert not hosts[node].ok
        assert hosts[node].failed == 1
        assert "not run" in hosts[node].detail


@pytest.mark.parametrize("stdout", ["{}", '{"data": {}}'])
def test_orchestrate_output_without_steps_is_an_error_not_a_crash(stdout: str) -> None:
    outcomes, order, error = parse_orchestrate(stdout, NODES)

    assert (outcomes, order) == ((), ())
    assert error.startswith("unexpected orchestrate output")


def test_orchestrate_output_that_is_no_object_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        parse_orchestrate("[]", NODES)


def test_orchestrate_render_error_is_reported_as_the_error() -> None:
    stdout = json.dumps({"data": {"orka-master_master": ["No matching sls found for 'orch.nope' in env 'base'"]}})

    outcomes, order, error = parse_orchestrate(stdout, NODES)

    assert (outcomes, order) == ((), ())
    assert error == "No matching sls found for 'orch.nope' in env 'base'"


def _second_run_with(comment_of: dict[str, str], start_of: dict[str, str] | None = None) -> str:
    """orchestrate_second.json with each step's comment (and start_time) replaced."""
    data = load("orchestrate_second.json")
    for step in next(iter(data["data"].values())).values():
        step["comment"] = comment_of.get(step["__id__"], step["comment"])
        if start_of and step["__id__"] in start_of:
            step["start_time"] = start_of[step["__id__"]]
    return json.dumps(data)


def test_orchestrate_node_outcomes_come_from_what_each_step_said_of_it() -> None:
    assert step_minions("States ran successfully. No changes made to orka-node-3, orka-node-2.") == {
        "orka-node-3": True,
        "orka-node-2": True,
    }
    assert step_minions("States ran successfully. Updating orka-node-1. No changes made to orka-node-2.") == {
        "orka-node-1": True,
        "orka-node-2": True,
    }
    assert step_minions("Run failed on minions: orka-node-2, orka-node-3") == {
        "orka-node-2": False,
        "orka-node-3": False,
    }


def test_orchestrate_a_node_no_step_reported_on_fails() -> None:
    stdout = _second_run_with({"orka-secondaries": "States ran successfully. No changes made to orka-node-2."})

    outcomes, _, error = parse_orchestrate(stdout, NODES)

    assert error == ""
    hosts = by_node(outcomes)
    assert hosts["orka-node-1"].ok
    assert hosts["orka-node-2"].ok
    assert (hosts["orka-node-3"].ok, hosts["orka-node-3"].detail) == (
        False,
        "no orchestration step reported on this node",
    )


def test_orchestrate_order_holds_across_midnight() -> None:
    stdout = _second_run_with({}, {"orka-primary": "23:59:59.900000", "orka-secondaries": "00:00:00.400000"})

    _, order, _ = parse_orchestrate(stdout, NODES)

    (first, first_start, _), (second, second_start, _) = order
    assert (first, second) == ("orka-primary", "orka-secondaries")
    assert first_start == pytest.approx(24 * 3600 - 0.1)
    assert second_start == pytest.approx(24 * 3600 + 0.4), "after midnight is later, not 24 hours earlier"


def test_declared_steps_are_the_rendered_orchestrations_ids_in_run_order() -> None:
    high = {
        "orka-master_master": {
            "orka-secondaries": {"salt": [{"tgt": "x"}, "state", {"order": 10001}], "__sls__": "orch.secondary"},
            "orka-primary": {"salt": [{"tgt": "y"}, {"order": 10000}, "state"], "__sls__": "orch.secondary"},
        }
    }
    assert parse_show_sls(json.dumps(high)) == ("orka-primary", "orka-secondaries")


def test_declared_steps_of_an_orchestration_that_does_not_render_is_an_error() -> None:
    with pytest.raises(ValueError, match="did not render"):
        parse_show_sls(json.dumps({"orka-master_master": ["Rendering SLS 'orch.secondary' failed"]}))


def test_a_dry_run_names_what_would_change_on_each_drifted_node() -> None:
    """dry_run_drifted.json: `salt '*' state.apply test=True` on the example after hand edits: orka-agent
    stopped on orka-node-1; node.conf edited and index.html made 0600 on orka-node-2; orka-agent stopped and
    user orka deleted (its group with it) on orka-node-3."""
    node_1, node_2, node_3 = parse_dry_run(read("dry_run_drifted.json"), ["orka-node-1", "orka-node-2", "orka-node-3"])
    # A service to start and a user to add have no changes yet: their result None says they would change.
    assert replace(node_1, items=()) == HostOutcome(
        "orka-node-1", ok=True, changed=1, detail="would change: orka-agent-service"
    )
    assert [c.target for c in node_1.items] == ["orka-agent"]  # what the state manages, for the drift phase
    assert node_2.detail == "would change: orka-index, orka-node-conf"
    assert node_3.changed == 7
    assert "orka-user" in node_3.detail
    assert "orka-group" in node_3.detail
    assert all(n.ok and not n.failed for n in (node_1, node_2, node_3))


def test_a_dry_run_of_a_converged_node_would_change_nothing() -> None:
    (node,) = parse_dry_run(json.dumps({"orka-node-1": load("apply_second.json")["orka-node-1"]}), ["orka-node-1"])
    assert node == HostOutcome("orka-node-1", ok=True)
