"""What a method left on a node, and whether two methods left the same: parsing and comparison.

The data are real: orka-node-2 of a docker cluster fresh, then after `orka converge` of the example
with salt and, on a cluster of its own, with ansible (before the example's ansible role stopped making
its user's home from /etc/skel)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from orka.report.equivalence import equivalence_views, main, unchecked_of
from orka.report.records import Record
from orka.results.fingerprint import (
    ABSENT,
    Left,
    changed,
    compare,
    fingerprint_command,
    fingerprints_path,
    looked_at,
    parse,
    read_left,
    unchecked,
)

DATA = Path(__file__).parent / "data" / "fingerprint"
EXAMPLE_LEFT = [
    "file /etc/orka",
    "file /etc/orka/cluster.json",
    "file /etc/orka/node.conf",
    "file /etc/systemd/system/orka-agent.service",
    "file /opt/orka",
    "file /opt/orka/www",
    "file /opt/orka/www/index.html",
    "group orka",
    "package tree",
    "socket tcp 0.0.0.0:8080",
    "unit orka-agent.service",
    "unit-file orka-agent.service",
    "user orka",
]


def fingerprint(name: str) -> dict[str, str]:
    return parse((DATA / name).read_text())


def left(method: str) -> Left:
    fresh, after = fingerprint(f"{method}_fresh.txt"), fingerprint(f"{method}_applied.txt")
    return Left(after, tuple(changed(fresh, after)))


def test_a_fresh_node_holds_the_images_packages_accounts_and_units_but_nothing_of_the_desired_state() -> None:
    fresh = fingerprint("salt_fresh.txt")
    kinds = {key.split(" ", 1)[0] for key in fresh}
    assert kinds == {"package", "user", "group", "unit-file", "unit", "socket"}
    assert fresh["package openssh-server"].startswith("1:9.2")
    assert fresh["user root"] == "uid=0 gid=0 home=/root shell=/bin/bash"
    assert fresh["unit ssh.service"] == "active/running"
    assert fresh["socket tcp 0.0.0.0:22"] == "listening"
    assert not [key for key in fresh if key.startswith("file ")], "the example's paths are not on a fresh node"


def test_salts_apply_changed_exactly_what_the_example_declares() -> None:
    assert list(left("salt").changed) == EXAMPLE_LEFT


def test_a_file_is_its_type_owner_mode_and_content_a_folder_its_type_owner_and_mode() -> None:
    after = fingerprint("salt_applied.txt")
    assert after["file /etc/orka/node.conf"] == "f root:orka 0640 sha256:74f012abab934ef3"
    assert after["file /opt/orka"] == "d orka:orka 0755"
    assert after["user orka"] == "uid=999 gid=997 home=/opt/orka shell=/usr/sbin/nologin"
    assert after["unit orka-agent.service"] == "active/running"
    assert after["unit-file orka-agent.service"] == "enabled"


def test_what_two_methods_left_differently_is_each_item_with_both_values() -> None:
    found = [str(d) for d in compare("orka-node-2", {"salt": left("salt"), "ansible": left("ansible")})]
    assert "orka-node-2 file /opt/orka/.bashrc: salt absent, ansible f orka:orka 0644 sha256:afae8986f549c640" in found
    assert "orka-node-2 package python3-apt: salt absent, ansible 2.6.0" in found
    # node.conf names the method that wrote it (method=salt): its content differs, its owner and mode do not.
    (conf,) = [d for d in found if "node.conf" in d]
    assert conf.startswith("orka-node-2 file /etc/orka/node.conf: salt f root:orka 0640 sha256:")
    # What both changed the same way is no difference: the user, the unit, the package tree.
    assert not [d for d in found if " user orka" in d or "orka-agent" in d or "package tree" in d]


def test_what_a_scenario_or_a_tool_declares_may_differ_is_left_out() -> None:
    methods = {"salt": left("salt"), "ansible": left("ansible")}
    ignore = ["file /opt/orka/.*", "file /etc/orka/node.conf"]
    remaining = compare("orka-node-2", methods, ignore)
    assert {d.item.split(" ", 1)[0] for d in remaining} == {"package"}
    traces = Left(methods["ansible"].after, methods["ansible"].changed, ("package python*", "package [dil]*"))
    assert compare("orka-node-2", {"salt": methods["salt"], "ansible": traces}, ignore) == []


def test_a_method_that_did_not_change_an_item_is_compared_by_its_value_there() -> None:
    salt = Left({"file /etc/app.conf": "f root:root 0644 sha256:aa"}, ("file /etc/app.conf",))
    unchanged = Left({"file /etc/app.conf": "f root:root 0600 sha256:aa"}, ())
    missing = Left({}, ())
    (difference,) = compare("n1", {"salt": salt, "custom": unchanged})
    assert difference.values == (("salt", "f root:root 0644 sha256:aa"), ("custom", "f root:root 0600 sha256:aa"))
    (difference,) = compare("n1", {"salt": salt, "custom": missing})
    assert difference.values[1] == ("custom", ABSENT)


def test_the_command_runs_here_and_masks_the_method_in_the_files_that_name_it(tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "node.conf"
    conf.parent.mkdir()
    conf.write_text("node=n1\nmethod=salt\n")
    (tmp_path / "etc" / "link").symlink_to("node.conf")
    as_salt = parse(_run(fingerprint_command([str(tmp_path / "etc")], "salt", [str(conf)])))
    conf.write_text("node=n1\nmethod=ansible\n")
    as_ansible = parse(_run(fingerprint_command([str(tmp_path / "etc")], "ansible", [str(conf)])))
    plain = parse(_run(fingerprint_command([str(tmp_path / "etc")])))
    key = f"file {conf}"
    assert as_salt[key] == as_ansible[key]
    assert "(@method@)" in as_salt[key]
    assert plain[key] != as_ansible[key]
    assert as_salt[f"file {tmp_path / 'etc' / 'link'}"].endswith(" node.conf")  # a link: its target
    assert as_salt[f"file {tmp_path / 'etc'}"].startswith("d ")


def _run(command: str) -> str:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout


def test_the_equivalence_of_a_run_pair_by_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fingerprints_path(tmp_path / "results.json")
    salt, ansible = left("salt"), left("ansible")
    entries = [
        {"run_id": "old", "scenario": "example", "method": "salt", "node": "orka-node-2", "changed": [], "after": {}},
        *(
            {"run_id": "r1", "scenario": "example", "method": m, "node": "orka-node-2", **fields}
            for m, fields in (
                ("salt", {"changed": list(salt.changed), "after": dict(salt.after)}),
                ("ansible", {"changed": list(ansible.changed), "after": dict(ansible.after), "ignore": ["package *"]}),
                ("custom", {"changed": list(salt.changed), "after": dict(salt.after)}),
            )
        ),
    ]
    path.write_text(json.dumps(entries))
    (view,) = equivalence_views(read_left(path, "r1"))
    assert view.methods == ("salt", "ansible", "custom")
    pairs = {(p.first, p.second): p for p in view.pairs}
    assert pairs[("salt", "custom")].identical
    assert pairs[("salt", "custom")].nodes == ("orka-node-2",)
    # ansible's ignore (its tool's traces) takes its packages out; its home's skeleton files and node.conf stay.
    assert {d.item for d in pairs[("salt", "ansible")].differences} == {
        "file /etc/orka/node.conf",
        "file /opt/orka/.bash_logout",
        "file /opt/orka/.bashrc",
        "file /opt/orka/.profile",
    }
    assert view.changed["salt"] == len(EXAMPLE_LEFT)
    assert main([str(path)]) == 1  # the latest run's differences
    out = capsys.readouterr().out
    assert "example: salt / custom on 1 nodes: identical" in out
    assert "example: salt / ansible on 1 nodes: 4 differences" in out


def test_a_node_that_was_not_fresh_is_not_compared(tmp_path: Path) -> None:
    path = fingerprints_path(tmp_path / "results.json")
    salt = left("salt")
    entries = [
        {"run_id": "r1", "scenario": "example", "method": m, "node": n, "changed": list(salt.changed)}
        | {"after": dict(salt.after) if m == "salt" else {}, "fresh": not (m == "custom" and n == "orka-node-1")}
        for m in ("salt", "custom")
        for n in ("orka-node-1", "orka-node-2")
    ]
    path.write_text(json.dumps(entries))
    ((pair,),) = [view.pairs for view in equivalence_views(read_left(path, "r1"))]
    assert pair.nodes == ("orka-node-2",)
    assert pair.stale == ("orka-node-1",)
    assert {d.node for d in pair.differences} == {"orka-node-2"}  # custom's empty fingerprint differs there


def test_a_units_state_is_the_methods_change_where_it_made_the_unit_or_the_scenario_declares_it() -> None:
    fresh = fingerprint("salt_fresh.txt")
    after = fingerprint("salt_applied.txt")
    # A timer fired meanwhile: its service ran, its unit file is as it was.
    after["unit systemd-tmpfiles-clean.service"] = "active/exited"
    assert "unit systemd-tmpfiles-clean.service" not in changed(fresh, after)
    assert "unit systemd-tmpfiles-clean.service" in changed(fresh, after, units=["systemd-tmpfiles-clean"])
    # orka-agent's unit file is new: its state is the method's.
    assert "unit orka-agent.service" in changed(fresh, after)


# What testinfra ran for the example's checks (as WatchedHost writes them down), and what the apply changed.
CHECK_COMMANDS = [
    "dpkg-query -f '${Status}' -W tree",
    "getent passwd orka",
    "getent group orka",
    "stat -Lc%a /etc/orka/node.conf",
    "cat /etc/orka/node.conf",
    "systemctl is-active orka-agent",
    "curl -fsS http://localhost:8080/",
]


@pytest.mark.parametrize(
    ("item", "seen"),
    [
        ("file /etc/orka/node.conf", True),
        ("file /etc/orka", False),  # a command on a file inside is no look at its folder
        ("user orka", True),
        ("package tree", True),
        ("unit orka-agent.service", True),
        ("unit-file orka-agent.service", True),
        ("socket tcp 0.0.0.0:8080", True),  # by its port
        ("socket tcp 0.0.0.0:80", False),
        ("file /opt/orka/www/index.html", False),
        ("package python3-apt", False),
    ],
)
def test_an_item_is_looked_at_when_a_checks_command_names_it(item: str, seen: bool) -> None:
    assert looked_at(item, CHECK_COMMANDS) is seen


def test_the_unchecked_changes_leave_out_what_may_differ() -> None:
    items = ["file /etc/orka", "file /etc/orka/node.conf", "package python3-apt", "user orka"]
    assert unchecked(items, CHECK_COMMANDS, ignore=["package python3-*"]) == ["file /etc/orka"]


def test_the_page_counts_each_methods_unchecked_items_over_its_nodes() -> None:
    facts = {"unchecked": {"orka-node-1": ["file /etc/orka"], "orka-node-2": ["file /etc/orka", "user x"]}}
    run = [
        Record("r1", "salt", "verify", scenario="example", facts=facts),
        Record("r1", "salt", "verify", scenario="example", node="orka-node-1", check="test_a"),
        Record("r1", "custom", "verify", scenario="example", facts={"unchecked": {"orka-node-1": []}}),
        Record("r1", "ansible", "apply", scenario="example", facts=facts),  # only verify's count
    ]
    assert unchecked_of(run) == {"example": {"salt": [("file /etc/orka", 2), ("user x", 1)], "custom": []}}
