"""Unit tests of orka.methods.ansible's parsers, on real output of orka's JSON callback.

Every file under data/ansible/ is the stdout of `ansible all -m ping` or
`ansible-playbook playbook.yml|orchestrate.yml` with the orka_json stdout
callback (vagrant/provision/ansible/callback_plugins/orka_json.py), recorded on
a real cluster: orka-node-1..3, primary orka-node-1. Expected counts are
computed here from the JSON itself, cross-checked against Ansible's own
per-host stats (recorded in the same document, unused by the parser), and a
few literal values read from the files pin them down as well.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orka.config import REPO_ROOT
from orka.methods.ansible.method import (
    _loads,
    host_results,
    outcome_from_tasks,
    parse_order,
    parse_ping,
    parse_playbook,
    play_names,
)
from orka.methods.base import MethodError
from orka.results.record import Change, HostOutcome

DATA = Path(__file__).parent / "data" / "ansible"
NODES = ["orka-node-1", "orka-node-2", "orka-node-3"]
PRIMARY = "orka-node-1"
SECONDARIES = ["orka-node-2", "orka-node-3"]

PLAYBOOKS = ["playbook_first.json", "playbook_second.json", "playbook_one_down.json"]
ORCHESTRATES = ["orchestrate_first.json", "orchestrate_second.json", "orchestrate_primary_fails.json"]
ALL_FILES = ["ping.json", "ping_one_down.json", *PLAYBOOKS, *ORCHESTRATES]

# Read from playbook_first.json: the tasks that changed on every fresh node, in
# the order they ran. Role tasks carry the role prefix ("orka : "), and the
# handler flushed by "apply unit changes" is among them.
CHANGED_ON_FRESH_NODES = [
    "orka : orka | tree package (Debian)",
    "orka : orka | group",
    "orka : orka | user",
    "orka : orka | config directory",
    "orka : orka | node.conf",
    "orka : orka | www directory",
    "orka : orka | index.html",
    "orka : orka | orka-agent unit",
    "orka : orka | restart orka-agent",
    "orka : orka | orka-agent service",
]

# Read from ping_one_down.json / playbook_one_down.json: orka-node-3's container was stopped.
NO_ROUTE = (
    "Task failed: Failed to connect to the host via ssh: ssh: connect to host orka-node-3 port 22: No route to host"
)

PLAY_A = "orka | orchestrate (a) publish cluster.json on the primary"
PLAY_B = "orka | orchestrate (b) fetch cluster.json on the secondaries"

NO_RESULT = "no result"

# Lines Ansible may print on stdout before the callback's document.
WARNINGS = [
    "[WARNING]: Module remote_tmp /root/.ansible/tmp did not exist and was created with a mode of 0700",
    "[WARNING]: Platform linux on host orka-node-1 is using the discovered Python interpreter at "
    "/usr/bin/python3.11, but future installation of another Python interpreter could change the "
    "meaning of that path.",
    "[DEPRECATION WARNING]: a stray deprecation. This feature will be removed in version 2.23.",
    "{ not json, but it starts like it",
    '{"stats": {}}',  # JSON, but not the callback's document (no "plays")
]


def read(name: str) -> str:
    return (DATA / name).read_text()


def load(name: str) -> dict[str, Any]:
    data = json.loads(read(name))
    assert isinstance(data, dict)
    return data


def by_node(outcomes: tuple[HostOutcome, ...]) -> dict[str, HostOutcome]:
    return {h.node: h for h in outcomes}


def results_of(data: dict[str, Any], node: str) -> list[tuple[str, dict[str, Any]]]:
    """(task name, result) for one host, walked straight from the document."""
    return [
        (task["name"], task["hosts"][node]) for play in data["plays"] for task in play["tasks"] if node in task["hosts"]
    ]


def changed_tasks(data: dict[str, Any], node: str) -> list[str]:
    return [name for name, result in results_of(data, node) if result["changed"] is True]


def failed_tasks(data: dict[str, Any], node: str) -> list[str]:
    return [name for name, result in results_of(data, node) if result["status"] in ("failed", "unreachable")]


def play_spans(data: dict[str, Any]) -> list[tuple[str, float, float]]:
    """Each play as (name, earliest host start, latest host end), from the document."""
    spans = []
    for play in data["plays"]:
        starts = [r["start"] for task in play["tasks"] for r in task["hosts"].values()]
        ends = [r["end"] for task in play["tasks"] for r in task["hosts"].values()]
        assert None not in starts  # every recorded host result has its own start time
        spans.append((play["name"], min(starts), max(ends)))
    return spans


# -- the recordings themselves --------------------------------------------------


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_recording_is_one_json_line_with_plays_and_stats(name: str) -> None:
    assert len(read(name).strip().splitlines()) == 1
    assert set(load(name)) == {"plays", "stats"}


@pytest.mark.parametrize("name", ALL_FILES)
def test_the_callbacks_task_records_agree_with_ansibles_own_stats(name: str) -> None:
    """The callback's per-task records and Ansible's recap count the same changes and failures."""
    data = load(name)

    for node, stats in data["stats"].items():
        assert len(changed_tasks(data, node)) == stats["changed"]
        assert len(failed_tasks(data, node)) == stats["failures"] + stats["unreachable"]
    assert set(data["stats"]) == {node for node in NODES if results_of(data, node)}


# -- _loads ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_FILES)
def test_loads_returns_the_callbacks_document(name: str) -> None:
    assert _loads(read(name)) == load(name)


@pytest.mark.parametrize("warning", WARNINGS)
def test_loads_ignores_a_line_before_the_json(warning: str) -> None:
    assert _loads(f"{warning}\n{read('playbook_first.json')}") == load("playbook_first.json")


def test_loads_ignores_every_warning_line_before_the_json_and_blank_lines_around_it() -> None:
    stdout = "\n".join(WARNINGS) + "\n\n" + read("orchestrate_first.json") + "\n\n"

    assert _loads(stdout) == load("orchestrate_first.json")


def test_loads_takes_the_last_document_when_a_line_follows_it() -> None:
    stdout = read("ping.json").strip() + "\n" + WARNINGS[0] + "\n"

    assert _loads(stdout) == load("ping.json")


def test_loads_takes_the_last_document_of_several() -> None:
    stdout = read("ping_one_down.json").strip() + "\n" + read("ping.json")

    assert _loads(stdout) == load("ping.json")


@pytest.mark.parametrize(
    "stdout",
    [
        "",
        "   \n",
        "\n".join(WARNINGS),
        "ERROR! the playbook: /opt/orka/ansible/config/nope.yml could not be found",
        "[]",
        '["plays"]',
        read("ping.json")[:-40],  # cut short
    ],
    ids=["empty", "blank", "warnings-only", "ansible-error", "json-list", "json-list-of-plays", "truncated"],
)
def test_output_without_an_orka_json_document_raises_value_error(stdout: str) -> None:
    with pytest.raises(ValueError, match="no orka_json output"):
        _loads(stdout)
    with pytest.raises(ValueError, match="no orka_json output"):
        parse_ping(stdout, NODES)
    with pytest.raises(ValueError, match="no orka_json output"):
        parse_playbook(stdout, NODES, changes_fail=False)
    with pytest.raises(ValueError, match="no orka_json output"):
        parse_order(stdout)


# -- host_results ---------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_FILES)
def test_host_results_lists_every_hosts_results_in_the_order_the_tasks_ran(name: str) -> None:
    data = load(name)

    per_host = host_results(data)

    assert set(per_host) == {node for node in NODES if results_of(data, node)}
    for node, tasks in per_host.items():
        assert tasks == results_of(data, node)


def test_host_results_of_a_fresh_playbook_run() -> None:
    per_host = host_results(load("playbook_first.json"))

    # 15 results per node: 14 ok (the recap's ok=14) and the skipped RedHat package task.
    # The flush_handlers task ("apply unit changes") is recorded with no host results.
    for node in NODES:
        names = [name for name, _ in per_host[node]]
        assert len(names) == 15
        assert names[0] == "Gathering Facts"
        assert names[-1] == "orka : orka | orka-agent service"
        assert "orka : orka | apply unit changes" not in names
        assert [r["status"] for _, r in per_host[node]].count("skipped") == 1


def test_host_results_of_an_unreachable_host_is_its_one_failed_task() -> None:
    per_host = host_results(load("playbook_one_down.json"))

    ((name, result),) = per_host["orka-node-3"]
    assert name == "Gathering Facts"
    assert result["status"] == "unreachable"
    assert result["msg"] == NO_ROUTE


def test_host_results_across_plays_of_an_orchestrate_run() -> None:
    per_host = host_results(load("orchestrate_first.json"))

    assert [name for name, _ in per_host[PRIMARY]] == ["orka | cluster.json (primary)"]
    for node in SECONDARIES:
        assert [name for name, _ in per_host[node]] == ["orka | cluster.json (from primary)"]


# -- ping -----------------------------------------------------------------------


def test_ping_every_node_answers_pong() -> None:
    outcomes = parse_ping(read("ping.json"), NODES)

    assert outcomes == tuple(HostOutcome(node, ok=True) for node in NODES)


def test_ping_outcomes_follow_the_node_order_not_the_answer_order() -> None:
    answered = list(load("ping.json")["plays"][0]["tasks"][0]["hosts"])
    assert answered == ["orka-node-3", "orka-node-2", "orka-node-1"]  # as recorded

    assert [h.node for h in parse_ping(read("ping.json"), NODES)] == NODES


def test_ping_a_stopped_node_is_unreachable_with_the_ssh_message() -> None:
    hosts = by_node(parse_ping(read("ping_one_down.json"), NODES))

    assert hosts["orka-node-1"] == HostOutcome("orka-node-1", ok=True)
    assert hosts["orka-node-2"] == HostOutcome("orka-node-2", ok=True)
    down = hosts["orka-node-3"]
    assert (down.ok, down.changed, down.failed) == (False, 0, 1)
    assert "unreachable" in down.detail
    assert "No route to host" in down.detail
    assert down.detail == f"unreachable: {NO_ROUTE}"


def test_ping_a_host_that_answered_but_is_not_a_node_is_a_failure() -> None:
    outcomes = parse_ping(read("ping.json"), ["orka-node-1", "orka-node-2"])

    assert outcomes[:2] == (HostOutcome("orka-node-1", ok=True), HostOutcome("orka-node-2", ok=True))
    (stray,) = outcomes[2:]
    assert stray.node == "orka-node-3"
    assert (stray.ok, stray.failed) == (False, 1)
    assert "not a node" in stray.detail


def test_ping_a_node_that_is_not_in_the_output_has_no_answer() -> None:
    outcomes = parse_ping(read("ping.json"), [*NODES, "orka-node-4"])

    assert outcomes[:3] == tuple(HostOutcome(node, ok=True) for node in NODES)
    assert outcomes[3] == HostOutcome("orka-node-4", ok=False, failed=1, detail="no answer")


def test_ping_an_ok_result_without_pong_is_a_failure() -> None:
    data = load("ping.json")
    data["plays"][0]["tasks"][0]["hosts"]["orka-node-2"]["ping"] = None

    hosts = by_node(parse_ping(json.dumps(data), NODES))

    assert hosts["orka-node-1"].ok
    assert hosts["orka-node-3"].ok
    assert (hosts["orka-node-2"].ok, hosts["orka-node-2"].failed) == (False, 1)
    assert hosts["orka-node-2"].detail.startswith("ok")


@pytest.mark.parametrize("warning", WARNINGS)
def test_ping_tolerates_a_warning_line_before_the_json(warning: str) -> None:
    clean = parse_ping(read("ping_one_down.json"), NODES)

    assert parse_ping(f"{warning}\n{read('ping_one_down.json')}", NODES) == clean


# -- playbook -------------------------------------------------------------------


@pytest.mark.parametrize("name", PLAYBOOKS + ORCHESTRATES)
@pytest.mark.parametrize("changes_fail", [False, True], ids=["apply", "idempotence"])
def test_playbook_counts_match_the_recorded_tasks(name: str, changes_fail: bool) -> None:
    data = load(name)

    outcomes = parse_playbook(read(name), NODES, changes_fail=changes_fail)

    assert [h.node for h in outcomes] == NODES
    for host in outcomes:
        if not results_of(data, host.node):
            assert (host.ok, host.changed, host.failed) == (False, 0, 1)
            assert NO_RESULT in host.detail
            continue
        changed, failed = changed_tasks(data, host.node), failed_tasks(data, host.node)
        assert host.changed == len(changed)
        assert host.failed == len(failed)
        assert host.ok == (not failed and not (changes_fail and changed))
        stats = data["stats"][host.node]
        assert (host.changed, host.failed) == (stats["changed"], stats["failures"] + stats["unreachable"])


def test_playbook_on_fresh_nodes_changes_ten_tasks_and_succeeds() -> None:
    data = load("playbook_first.json")

    outcomes = parse_playbook(read("playbook_first.json"), NODES, changes_fail=False)

    for host in outcomes:
        assert changed_tasks(data, host.node) == CHANGED_ON_FRESH_NODES
        assert (host.ok, host.changed, host.failed) == (True, 10, 0)
        assert host.detail == "changed: " + ", ".join(CHANGED_ON_FRESH_NODES)
    # Read from the file: Ansible's recap for the primary.
    assert data["stats"][PRIMARY]["changed"] == 10
    assert by_node(outcomes)[PRIMARY].changed == 10


def test_playbook_a_second_time_changes_nothing() -> None:
    data = load("playbook_second.json")
    assert all(stats["changed"] == 0 for stats in data["stats"].values())

    for changes_fail in (False, True):
        outcomes = parse_playbook(read("playbook_second.json"), NODES, changes_fail=changes_fail)
        assert outcomes == tuple(HostOutcome(node, ok=True) for node in NODES)


def test_idempotence_fails_every_fresh_node_and_names_the_changed_tasks() -> None:
    data = load("playbook_first.json")

    outcomes = parse_playbook(read("playbook_first.json"), NODES, changes_fail=True)

    assert [h.node for h in outcomes] == NODES
    for host in outcomes:
        assert not host.ok
        assert host.changed == len(changed_tasks(data, host.node)) == 10
        assert host.failed == 0  # no task failed: the node fails for its changes alone
        assert host.detail == "changed: " + ", ".join(changed_tasks(data, host.node))
        assert "orka : orka | node.conf" in host.detail
        assert "orka : orka | restart orka-agent" in host.detail
        # Tasks that ran without a change are not named.
        assert "Gathering Facts" not in host.detail
        assert "home directory" not in host.detail
        assert "tree package (RedHat)" not in host.detail


def test_playbook_with_a_stopped_node_fails_only_that_node_as_unreachable() -> None:
    data = load("playbook_one_down.json")

    hosts = by_node(parse_playbook(read("playbook_one_down.json"), NODES, changes_fail=False))

    for node in ("orka-node-1", "orka-node-2"):
        assert hosts[node] == HostOutcome(
            node, ok=True, changed=10, detail="changed: " + ", ".join(changed_tasks(data, node))
        )
    down = hosts["orka-node-3"]
    assert (down.ok, down.changed, down.failed) == (False, 0, 1)
    assert "unreachable" in down.detail
    assert "No route to host" in down.detail
    assert down.detail == f"Gathering Facts: unreachable: {NO_ROUTE}"


@pytest.mark.parametrize("warning", WARNINGS)
def test_playbook_tolerates_a_warning_line_before_the_json(warning: str) -> None:
    clean = parse_playbook(read("playbook_one_down.json"), NODES, changes_fail=True)

    assert parse_playbook(f"{warning}\n{read('playbook_one_down.json')}", NODES, changes_fail=True) == clean


# -- outcome_from_tasks ---------------------------------------------------------


@pytest.mark.parametrize("changes_fail", [False, True])
def test_outcome_of_a_node_with_no_results(changes_fail: bool) -> None:
    host = outcome_from_tasks("orka-node-2", [], changes_fail=changes_fail)

    assert (host.node, host.ok, host.changed, host.failed) == ("orka-node-2", False, 0, 1)
    assert host.detail.startswith(NO_RESULT)


def test_outcome_of_a_failed_task_names_it_with_ansibles_message() -> None:
    tasks = host_results(load("orchestrate_primary_fails.json"))[PRIMARY]

    host = outcome_from_tasks(PRIMARY, tasks, changes_fail=False)

    assert host == HostOutcome(
        PRIMARY,
        ok=False,
        failed=1,
        detail="orka | cluster.json (primary): failed: can not use content with a dir as dest",
    )


def test_outcome_of_skipped_and_unchanged_tasks_is_ok() -> None:
    tasks = host_results(load("playbook_second.json"))["orka-node-3"]
    assert {r["status"] for _, r in tasks} == {"ok", "skipped"}

    assert outcome_from_tasks("orka-node-3", tasks, changes_fail=True) == HostOutcome("orka-node-3", ok=True)


def test_outcome_failures_take_the_detail_over_changes() -> None:
    changed = host_results(load("playbook_first.json"))["orka-node-1"]
    failed = host_results(load("orchestrate_primary_fails.json"))[PRIMARY]

    host = outcome_from_tasks(PRIMARY, changed + failed, changes_fail=False)

    assert (host.ok, host.changed, host.failed) == (False, 10, 1)
    assert host.detail == "orka | cluster.json (primary): failed: can not use content with a dir as dest"


def test_outcome_of_an_ignored_failure_is_not_a_failure() -> None:
    tasks = host_results(load("orchestrate_primary_fails.json"))[PRIMARY]
    ((name, result),) = tasks
    ignored = [(name, {**result, "status": "ignored"})]

    assert outcome_from_tasks(PRIMARY, ignored, changes_fail=False) == HostOutcome(PRIMARY, ok=True)


# -- orchestrate ----------------------------------------------------------------


def test_orchestrate_first_run_changes_the_primary_then_the_secondaries() -> None:
    outcomes = parse_playbook(read("orchestrate_first.json"), NODES, changes_fail=False)

    assert outcomes == (
        HostOutcome(PRIMARY, ok=True, changed=1, detail="changed: orka | cluster.json (primary)"),
        *(
            HostOutcome(node, ok=True, changed=1, detail="changed: orka | cluster.json (from primary)")
            for node in SECONDARIES
        ),
    )


def test_orchestrate_order_is_play_a_then_play_b_without_overlap() -> None:
    data = load("orchestrate_first.json")

    order = parse_order(read("orchestrate_first.json"))

    assert [name for name, _, _ in order] == [PLAY_A, PLAY_B]
    assert list(order) == play_spans(data)
    (_, a_start, a_end), (_, b_start, b_end) = order
    assert a_start < a_end <= b_start < b_end
    # Read from the file: play (a) ran on the primary alone, from its start to its end.
    assert (a_start, a_end) == (1795700320.7330613, 1795700321.8738549)
    # Play (b): orka-node-2 started first, and it also finished last.
    assert (b_start, b_end) == (1795700321.8941002, 1795700322.9118335)


def test_orchestrate_second_run_changes_nothing_and_keeps_the_order() -> None:
    outcomes = parse_playbook(read("orchestrate_second.json"), NODES, changes_fail=True)
    order = parse_order(read("orchestrate_second.json"))

    assert outcomes == tuple(HostOutcome(node, ok=True) for node in NODES)
    assert [name for name, _, _ in order] == [PLAY_A, PLAY_B]
    assert list(order) == play_spans(load("orchestrate_second.json"))
    (_, a_start, a_end), (_, b_start, b_end) = order
    assert a_start < a_end <= b_start < b_end


def test_orchestrate_primary_failure_fails_the_primary_and_the_secondaries_have_no_result() -> None:
    data = load("orchestrate_primary_fails.json")
    assert [play["name"] for play in data["plays"]] == [PLAY_A]  # any_errors_fatal: play (b) never ran
    assert set(data["stats"]) == {PRIMARY}

    outcomes = parse_playbook(read("orchestrate_primary_fails.json"), NODES, changes_fail=False)
    order = parse_order(read("orchestrate_primary_fails.json"))

    hosts = by_node(outcomes)
    primary = hosts[PRIMARY]
    assert (primary.ok, primary.changed, primary.failed) == (False, 0, 1)
    assert primary.detail == "orka | cluster.json (primary): failed: can not use content with a dir as dest"
    for node in SECONDARIES:
        assert (hosts[node].ok, hosts[node].changed, hosts[node].failed) == (False, 0, 1)
        assert NO_RESULT in hosts[node].detail
    assert [name for name, _, _ in order] == [PLAY_A]
    assert list(order) == play_spans(data)


def test_order_of_a_playbook_and_of_an_ad_hoc_run_is_their_one_play() -> None:
    (playbook,) = parse_order(read("playbook_first.json"))
    (ad_hoc,) = parse_order(read("ping.json"))

    assert playbook[0] == "orka | desired state"
    assert ad_hoc[0] == "Ansible Ad-Hoc"
    assert [playbook] == play_spans(load("playbook_first.json"))
    assert [ad_hoc] == play_spans(load("ping.json"))


def test_order_falls_back_to_the_task_start_when_a_host_has_none() -> None:
    data = load("orchestrate_first.json")
    for play in data["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                result["start"] = None

    order = parse_order(json.dumps(data))

    assert [(name, start) for name, start, _ in order] == [
        (PLAY_A, 1795700320.7325907),
        (PLAY_B, 1795700321.8933566),
    ]


def test_order_skips_a_play_without_host_results() -> None:
    data = load("orchestrate_first.json")
    data["plays"].insert(1, {"name": "orka | no hosts matched", "tasks": []})

    assert [name for name, _, _ in parse_order(json.dumps(data))] == [PLAY_A, PLAY_B]


@pytest.mark.parametrize("warning", WARNINGS)
def test_order_tolerates_a_warning_line_before_the_json(warning: str) -> None:
    clean = parse_order(read("orchestrate_first.json"))

    assert parse_order(f"{warning}\n{read('orchestrate_first.json')}") == clean


def test_declared_plays_of_the_spikes_orchestration_are_the_plays_ansible_ran() -> None:
    declared = play_names((REPO_ROOT / "spikes" / "example" / "ansible" / "orchestrate.yml").read_text())
    ran = [name for name, _, _ in parse_order(read("orchestrate_first.json"))]
    assert list(declared) == ran
    assert len(declared) == 2


def test_a_play_without_a_name_is_named_by_its_hosts_as_ansible_does() -> None:
    assert play_names("- hosts: [web, db]\n  tasks: []\n- name: second\n  hosts: all\n") == ("web,db", "second")


def test_an_orchestration_that_is_not_a_list_of_plays_is_a_method_error() -> None:
    with pytest.raises(MethodError, match="not a list of plays"):
        play_names("hosts: all\n")


def test_a_check_mode_run_names_what_would_change_and_what_its_check_mode_cannot_follow() -> None:
    """dry_run_drifted.json: `ansible-playbook --check --diff` on the example after the hand edits of
    test_salt_parsing's dry run. On orka-node-3 (user orka deleted) check mode does not create the user, so
    the next task's chown to it fails: Ansible's dry run stops that node where a real run would repair it."""
    node_1, node_2, node_3 = parse_playbook(read("dry_run_drifted.json"), NODES, changes_fail=False, dry_run=True)
    assert replace(node_1, items=()) == HostOutcome(
        "orka-node-1", ok=True, changed=1, detail="would change: orka | orka-agent service"
    )
    # Recorded before orka_json gave each result's targets: the item is there, its target unknown.
    assert node_1.items == (Change("", "orka | orka-agent service: would change"),)
    assert node_2.detail == "would change: orka | node.conf, orka | index.html"
    assert not node_3.ok
    assert "chown failed: failed to look up user orka" in node_3.detail
