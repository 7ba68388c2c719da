"""The drift phase's pure parts: the edits a scenario declares, the shell that makes them, the score of a node."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.config.drift import APPENDED, Drift, Edit, edit_results, edit_script
from orka.config.scenario import load_scenario
from orka.results.drift import score_node
from orka.results.record import Change, HostOutcome

NODES = ("orka-node-1", "orka-node-2", "orka-node-3")


def _scenario(tmp_path: Path, drift: str) -> tuple[object, list[str]]:
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "desired_state.yml").write_text("steps: []\n")
    (tmp_path / "scenario.yaml").write_text(drift)
    return load_scenario(tmp_path)


def test_the_example_declares_each_kind_of_edit_on_its_own_node() -> None:
    example, problems = load_scenario(REPO_ROOT / "spikes" / "example")
    assert problems == []
    assert example is not None
    drift = example.drift
    assert [str(e) for e in drift.on_node("orka-node-1", NODES)] == []  # the primary is left alone
    assert [str(e) for e in drift.on_node("orka-node-2", NODES)] == ["unit orka-agent: stopped", "user orka: deleted"]
    assert [str(e) for e in drift.on_node("orka-node-3", NODES)] == [
        "/etc/orka/node.conf: content changed",
        "/opt/orka/www/index.html: mode set to 0600",
    ]


def test_all_puts_an_edit_on_every_node_and_one_on_the_last() -> None:
    drift = Drift((Edit("content", "/etc/a", "all"), Edit("removed", "/etc/b")))
    assert [len(drift.on_node(n, NODES)) for n in NODES] == [1, 1, 2]
    assert drift.unplaced(NODES) == []


def test_a_position_past_the_last_node_is_named_with_the_fix() -> None:
    (problem,) = Drift((Edit("stopped", "nginx", 5),)).unplaced(NODES)
    assert problem == "unit nginx: stopped: nodes: 5, but the cluster has 3 nodes; give a position up to 3"


@pytest.mark.parametrize(
    ("drift", "problem"),
    [
        ("drift:\n  edits:\n    - {content: /a, stopped: x}\n", "give exactly one of content, mode,"),
        ("drift:\n  edits:\n    - {mode: /a}\n", "`mode: PATH` takes `to: MODE`"),
        ("drift:\n  edits:\n    - {mode: /a, to: '0900'}\n", "'0900' is no octal mode"),
        ("drift:\n  edits:\n    - {content: etc/a}\n", "'etc/a': give an absolute path"),
        ("drift:\n  edits:\n    - {stopped: x, nodes: 0}\n", "counts from 1 (the primary)"),
        ("drift:\n  edits:\n    - {stopped: x, nodes: some}\n", "drift.edits.0"),
        ("drift:\n  edits: []\n", "declare at least one edit"),
        ("drift:\n  edits:\n    - {touched: /a}\n", "drift.edits.0.touched"),
    ],
)
def test_a_wrong_edit_is_named_with_its_fix(tmp_path: Path, drift: str, problem: str) -> None:
    scenario, problems = _scenario(tmp_path, drift)
    assert scenario is None
    assert any(problem in p and "scenario.yaml" in p for p in problems), problems


def test_no_drift_declared_is_no_phase(tmp_path: Path) -> None:
    scenario, problems = _scenario(tmp_path, "name: plain\n")
    assert problems == []
    assert not scenario.drift  # type: ignore[attr-defined]


def test_the_edit_script_makes_file_edits_and_says_which_it_could_not(tmp_path: Path) -> None:
    """The script's file edits, run by a real shell on files of the test's own."""
    conf, page, gone = tmp_path / "app.conf", tmp_path / "index.html", tmp_path / "old"
    conf.write_text("a = 1\n")
    page.write_text("hi\n")
    page.chmod(0o644)
    gone.mkdir()
    edits = (
        Edit("content", str(conf)),
        Edit("mode", str(page), to="0600"),
        Edit("removed", str(gone)),
        Edit("content", str(tmp_path / "missing.conf")),
    )
    out = subprocess.run(["sh", "-c", edit_script(edits)], capture_output=True, text=True, check=True).stdout
    made, failed = edit_results(out, edits)
    assert made == list(edits[:3])
    assert failed == [f"{tmp_path}/missing.conf: content changed: could not be made (no such file)"]
    assert conf.read_text() == f"a = 1\n\n{APPENDED}\n"
    assert page.stat().st_mode & 0o777 == 0o600
    assert not gone.exists()


def test_an_edit_without_a_result_line_was_not_made() -> None:
    edits = (Edit("stopped", "nginx"),)
    assert edit_results("", edits) == (
        [],
        ["unit nginx: stopped: could not be made (no result (the edit script stopped before it))"],
    )


def test_a_unit_is_matched_with_or_without_its_suffix() -> None:
    assert Edit("stopped", "nginx").matches("nginx.service")
    assert Edit("removed", "/etc/app/").matches("/etc/app")
    assert not Edit("deleted_user", "orka").matches("/opt/orka")


BEFORE = {"file /etc/app.conf": "f root:root 0644 sha", "unit app.service": "active/running"}
CONF, STOPPED = Edit("content", "/etc/app.conf"), Edit("stopped", "app")


def _dry(node: str, *items: Change, failed: int = 0) -> HostOutcome:
    return HostOutcome(node, ok=not failed, changed=len(items), failed=failed, detail="would change", items=items)


def test_a_node_whose_edits_were_all_named_and_repaired_passes() -> None:
    dry = _dry(
        "n3",
        Change("/etc/app.conf", "app-conf (file.managed): would change: the file would be updated"),
        Change("app", "app-service (service.running): would change: Service app is set to start"),
    )
    repair = HostOutcome("n3", ok=True, changed=2)
    node = score_node("n3", [CONF, STOPPED], [], dry, repair, BEFORE, BEFORE, ["app"])
    assert node.ok, node.detail
    assert node.detail == "found 2 of 2 drifts, repaired"
    assert node.facts["found"] == [
        {"drift": "/etc/app.conf: content changed", "words": [dry.items[0].words]},
        {"drift": "unit app: stopped", "words": [dry.items[1].words]},
    ]
    assert node.facts["repaired"] is True
    assert node.changed == 2


def test_a_drift_the_dry_run_did_not_name_fails_the_node() -> None:
    dry = _dry("n3", Change("/etc/app.conf", "conf: would change"))
    node = score_node("n3", [CONF, STOPPED], [], dry, HostOutcome("n3", ok=True, changed=2), BEFORE, BEFORE)
    assert not node.ok
    assert node.facts["missed"] == ["unit app: stopped"]
    assert "the dry run did not report: unit app: stopped" in node.detail


def test_a_change_reported_on_a_node_left_alone_is_a_false_report() -> None:
    dry = _dry("n1", Change("/etc/other.conf", "other: would change"))
    node = score_node("n1", [], [], dry, HostOutcome("n1", ok=True), BEFORE, BEFORE)
    assert not node.ok
    assert node.facts["false_reports"] == ["other: would change"]
    quiet = score_node("n1", [], [], _dry("n1"), HostOutcome("n1", ok=True), BEFORE, BEFORE)
    assert quiet.ok
    assert quiet.detail == "left alone, repaired"


def test_other_items_reported_on_a_drifted_node_are_listed_not_counted() -> None:
    """A deleted user makes its files' owner wrong too: the dry run rightly names them."""
    dry = _dry("n2", Change("orka", "orka-user: would change"), Change("/opt/orka", "orka-home: would change"))
    node = score_node("n2", [Edit("deleted_user", "orka")], [], dry, HostOutcome("n2", ok=True), BEFORE, BEFORE)
    assert node.ok, node.detail
    assert node.facts["also_reported"] == ["orka-home: would change"]


def test_a_node_not_back_as_before_is_not_repaired() -> None:
    after = {**BEFORE, "file /etc/app.conf": "f root:root 0600 sha"}
    dry = _dry("n3", Change("/etc/app.conf", "conf: would change"))
    node = score_node("n3", [CONF], [], dry, HostOutcome("n3", ok=True, changed=1), after, BEFORE)
    assert not node.ok
    assert node.facts["not_back"] == ["file /etc/app.conf"]
    assert node.facts["repaired"] is False


def test_a_failed_dry_run_a_failed_repair_and_an_edit_not_made_each_fail_the_node() -> None:
    dry = _dry("n3", Change("/etc/app.conf", "conf: failed: boom"), failed=1)
    repair = HostOutcome("n3", ok=False, failed=1, detail="failed: conf: boom")
    node = score_node(
        "n3", [CONF], ["unit app: stopped: could not be made (the unit is not active)"], dry, repair, None, BEFORE
    )
    assert not node.ok
    for why in (
        "could not be made",
        "the dry run failed here",
        "the repair failed: failed: conf: boom",
        "no fingerprint",
    ):
        assert why in node.detail


# Real dry runs of the example's drift phase (dry_run_drift_phase.json): orka-agent stopped and user orka
# deleted on orka-node-2, node.conf edited and index.html made 0600 on orka-node-3, orka-node-1 left alone.
EXAMPLE = load_scenario(REPO_ROOT / "spikes" / "example")[0]
DATA = Path(__file__).parent / "data"


def _recorded_dry_run(method: str) -> tuple[HostOutcome, ...]:
    text = (DATA / method / "dry_run_drift_phase.json").read_text()
    if method == "salt":
        from orka.methods.salt.method import parse_dry_run

        return parse_dry_run(text, list(NODES))
    from orka.methods.ansible.method import parse_playbook

    return parse_playbook(text, list(NODES), changes_fail=False, dry_run=True)


@pytest.mark.parametrize("method", ["salt", "ansible"])
def test_each_tools_real_dry_run_names_every_edit_and_nothing_on_the_node_left_alone(method: str) -> None:
    assert EXAMPLE is not None
    for outcome in _recorded_dry_run(method):
        made = EXAMPLE.drift.on_node(outcome.node, NODES)
        node = score_node(outcome.node, made, [], outcome, HostOutcome(outcome.node, ok=True), BEFORE, BEFORE)
        assert node.ok, (method, node.detail)
        assert [f["drift"] for f in node.facts["found"]] == [str(e) for e in made]
        assert node.facts["false_reports"] == []


def test_salt_names_the_state_and_its_own_words_for_each_edit() -> None:
    _, node_2, node_3 = _recorded_dry_run("salt")
    assert (
        Change("orka-agent", "orka-agent-service (service.running): would change: Service orka-agent is set to start")
        in node_2.items
    )
    assert {c.target for c in node_3.items} == {"/etc/orka/node.conf", "/opt/orka/www/index.html"}
    # A deleted user leaves its files' owner wrong: salt names them too (also reported, not counted).
    assert "/opt/orka" in {c.target for c in node_2.items}


def test_ansible_check_mode_names_targets_and_shows_what_it_could_not_check() -> None:
    """In check mode the user is not created, so the tasks that chown to it fail; the example's role lets
    that pass in check mode alone (ignore_errors: ansible_check_mode), and the rest of the play is checked."""
    node_1, node_2, node_3 = _recorded_dry_run("ansible")
    assert node_1.items == ()
    assert Change("orka-agent", "orka | orka-agent service: would change") in node_2.items
    ignored = [c for c in node_2.items if "ignored: chown failed: failed to look up user orka" in c.words]
    assert {c.target for c in ignored} >= {"/opt/orka", "/opt/orka/www"}
    assert node_2.ok  # an ignored failure is no failure of the play
    assert not node_2.failed
    assert "/etc/orka/node.conf" in {c.target for c in node_3.items}
