"""Unit tests of orka.methods.pyinfra's parsers, on real output of pyinfra 3.10 run through orka's wrapper.

Each data/pyinfra/<run>.json is the stdout (`--json`) of one run of spikes/example/pyinfra on a real cluster
(orka-node-1..3, primary orka-node-1), and <run>.events.jsonl what orka.methods.pyinfra.events wrote beside it:
- apply_repair: deploy.py after hand edits (node 2: orka-agent stopped, user orka deleted; node 3: node.conf's
  content and index.html's mode), apply_second: the deploy again, nothing to change;
- ping, ping_one_down / apply_one_down: `exec -- true` and deploy.py with orka-node-3's container stopped;
- dry_run_drifted: `--dry deploy.py` on the hand-edited nodes;
- orchestrate_second: orchestrate.py on a converged cluster; orchestrate_primary_fails: with user orka deleted on
  the primary and `--fail-percent 0` (pyinfra stopped the run: no JSON at all);
- debug_operations: `--debug-operations orchestrate.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orka.methods.pyinfra.method import (
    declared_operations,
    host_outcomes,
    inventory_source,
    load_events,
    load_output,
    operation_order,
    targets,
)
from orka.results.verdict import order_problems
from orka.runner.inventory import Host, Inventory

DATA = Path(__file__).parent / "data" / "pyinfra"
NODES = ["orka-node-1", "orka-node-2", "orka-node-3"]


def run(name: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    events = DATA / f"{name}.events.jsonl"
    return load_output((DATA / f"{name}.json").read_text()), load_events(events.read_text() if events.exists() else "")


def by_node(outcomes: tuple[Any, ...]) -> dict[str, Any]:
    return {o.node: o for o in outcomes}


def test_apply_counts_each_nodes_changed_operations() -> None:
    data, events = run("apply_repair")
    assert data is not None
    hosts = by_node(host_outcomes(data, events, NODES))
    assert all(h.ok and h.failed == 0 for h in hosts.values())
    # The same count read straight from pyinfra's results: the operations whose `success` lists the node.
    for node in NODES:
        expected = sum(node in op["success"] for op in data["results"]["operations"])
        assert hosts[node].changed == expected
    assert hosts["orka-node-1"].changed == 0  # left alone by the hand edits
    assert "orka user" in hosts["orka-node-2"].detail
    assert "node.conf" in hosts["orka-node-3"].detail


def test_second_apply_changes_nothing_and_idempotence_passes() -> None:
    data, events = run("apply_second")
    hosts = host_outcomes(data, events, NODES, changes_fail=True)
    assert [(h.ok, h.changed) for h in hosts] == [(True, 0)] * 3


def test_a_change_fails_the_idempotence_phase() -> None:
    data, events = run("apply_repair")
    hosts = by_node(host_outcomes(data, events, NODES, changes_fail=True))
    assert hosts["orka-node-1"].ok
    assert not hosts["orka-node-2"].ok
    assert not hosts["orka-node-3"].ok


def test_ping_answers_without_changes() -> None:
    data, events = run("ping")
    hosts = host_outcomes(data, events, NODES, ping=True)
    assert [(h.ok, h.changed) for h in hosts] == [(True, 0)] * 3


def test_a_node_down_fails_alone_with_pyinfras_words() -> None:
    for name in ("ping_one_down", "apply_one_down"):
        data, events = run(name)
        assert data is not None
        assert data["results"]["failed_hosts"] == ["orka-node-3"]
        hosts = by_node(host_outcomes(data, events, NODES, ping=name.startswith("ping")))
        assert hosts["orka-node-1"].ok
        assert hosts["orka-node-2"].ok
        down = hosts["orka-node-3"]
        assert not down.ok
        assert down.detail == "cannot connect: Could not connect (timed out)"


def test_a_node_pyinfra_never_reported_is_failed() -> None:
    data, events = run("ping")
    hosts = by_node(host_outcomes(data, events, [*NODES, "orka-node-4"], ping=True))
    assert not hosts["orka-node-4"].ok
    assert "did not run the command there" in hosts["orka-node-4"].detail


def test_dry_run_names_each_hand_edits_target() -> None:
    data, events = run("dry_run_drifted")
    assert data is not None
    assert data["results"] is None
    hosts = by_node(host_outcomes(data, events, NODES, dry_run=True))
    assert hosts["orka-node-1"].changed == 0
    assert hosts["orka-node-1"].items == ()
    named = {node: {c.target for c in hosts[node].items} for node in NODES}
    assert {"/etc/orka/node.conf", "/opt/orka/www/index.html"} <= named["orka-node-3"]
    assert {"orka", "orka-agent"} <= named["orka-node-2"]  # the deleted user, the stopped unit
    assert all(c.words.endswith("would change") for c in hosts["orka-node-3"].items)
    # An operation under `_if=` (the unit's reload and restart) is no change of its own.
    assert "reload units" not in hosts["orka-node-2"].detail


def test_targets_are_the_file_or_the_first_argument() -> None:
    assert targets(["src=StringIO(hash=1)", "dest=/etc/x", "user=orka"]) == ["/etc/x"]
    assert targets(["path=/opt/orka", "user=orka"]) == ["/opt/orka"]
    assert targets(["user=orka", "group=orka"]) == ["orka"]
    assert targets(["service=orka-agent", "running=True"]) == ["orka-agent"]
    assert targets(["/srv/app"]) == ["/srv/app"]
    assert targets([]) == [""]


def test_orchestration_order_matches_the_declared_operations() -> None:
    _data, events = run("orchestrate_second")
    order = operation_order(events)
    declared_data = json.loads((DATA / "debug_operations.json").read_text())
    declared = declared_operations(declared_data)
    assert declared == ("publish cluster.json on the primary", "fetch cluster.json on the secondaries")
    assert [name for name, _, _ in order] == list(declared)
    assert order_problems(order, declared) == []
    (_, _, first_end), (_, second_start, _) = order
    assert first_end <= second_start


def test_a_failed_primary_stops_the_orchestration() -> None:
    data, events = run("orchestrate_primary_fails")
    assert data is None  # pyinfra raised "Over 0% of hosts failed": no results at all
    hosts = by_node(host_outcomes(data, events, NODES))
    primary = hosts["orka-node-1"]
    assert not primary.ok
    assert primary.detail == "publish cluster.json on the primary: failed: chown: invalid user: 'orka:orka'"
    for node in ("orka-node-2", "orka-node-3"):
        assert not hosts[node].ok
        assert "pyinfra stopped before it reported this host" in hosts[node].detail
    assert [name for name, _, _ in operation_order(events)] == ["publish cluster.json on the primary"]


def test_json_is_found_after_a_deploys_own_prints() -> None:
    text = (DATA / "ping.json").read_text()
    assert load_output("hello from a deploy\n{not json\n" + text) == json.loads(text)
    assert load_output("no json here") is None
    assert load_output("") is None


def test_events_cut_short_are_left_out() -> None:
    good = '{"event": "success", "host": "a", "t": 1.0, "op": "x"}'
    assert load_events(good + '\n{"event": "start", "ho') == [json.loads(good)]


def test_inventory_groups_and_data() -> None:
    inventory = Inventory(
        (
            Host("n1", ssh_config="/tmp/c", groups=("nodes", "primary"), vars={"role": "primary"}),
            Host("n2", address="10.0.0.2", user="deploy", key="/k", port=2222, groups=("nodes", "secondaries")),
        ),
        {"method": "pyinfra", "secret": "it's"},
    )
    namespace: dict[str, Any] = {}
    exec(inventory_source(inventory), namespace)  # the file pyinfra itself executes
    assert [name for name, _ in namespace["nodes"]] == ["n1", "n2"]
    assert [name for name, _ in namespace["primary"]] == ["n1"]
    first, second = dict(namespace["nodes"])["n1"], dict(namespace["nodes"])["n2"]
    assert first == {"method": "pyinfra", "secret": "it's", "role": "primary", "ssh_config_file": "/tmp/c"}
    assert second["ssh_hostname"] == "10.0.0.2"
    assert second["ssh_port"] == 2222
    assert second["ssh_user"] == "deploy"
    assert second["ssh_key"] == "/k"


@pytest.mark.parametrize("name", ["apply_repair", "apply_second", "dry_run_drifted", "orchestrate_second"])
def test_recorded_output_is_pyinfras_json(name: str) -> None:
    data, _ = run(name)
    assert data is not None
    assert set(data) == {"plan", "results"}
