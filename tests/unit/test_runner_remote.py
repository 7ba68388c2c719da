"""Unit tests of orka.runner.remote, the payload that runs on a server, exercised locally in tmp_path.

Only the tasks that need no root and touch nothing outside tmp_path are run here: ping, command,
file, directory (owner and group are the current user's). package, group, user, service, fetch
and salt change the system or need the network, and are left to the integration tests.
"""

# remote.py is untyped on purpose (plain Python 3.7 for any server); calling it is fine here.
# mypy: allow-untyped-calls

from __future__ import annotations

import grp
import io
import json
import os
import pwd
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from orka.runner import remote
from orka.runner.taskfile import TaskFileError, parse_taskfile

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
NO_SUCH_USER = "orka-test-no-such-user"
NO_SUCH_GROUP = "orka-test-no-such-group"


def task(action: str, name: str = "", **args: Any) -> dict[str, Any]:
    return {"name": name or action, "action": action, "args": args}


def run(*tasks: dict[str, Any], check: bool = False, **job: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = remote.Run({"check": check, **job}).run(list(tasks))
    return results


def one(*tasks: dict[str, Any], check: bool = False, **job: Any) -> dict[str, Any]:
    (result,) = run(*tasks, check=check, **job)
    return result


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _names_are_unknown() -> None:
    for lookup, name in ((pwd.getpwnam, NO_SUCH_USER), (grp.getgrnam, NO_SUCH_GROUP)):
        try:
            lookup(name)
        except KeyError:
            continue
        pytest.skip(f"{name} exists on this machine")


# -- os_family ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "family"),
    [
        ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', "Debian"),
        ('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n', "Debian"),
        ('NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n', "Debian"),
        ('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n', "RedHat"),
        ('NAME="AlmaLinux"\nID="almalinux"\nID_LIKE="rhel centos fedora"\n', "RedHat"),
        ("ID=fedora\n", "RedHat"),
        ('ID="centos"\n', "RedHat"),
        ("ID=alpine\n", "alpine"),
        ("NAME=nothing\n", "unknown"),
        ("", "unknown"),
    ],
)
def test_os_family_from_os_release(monkeypatch: pytest.MonkeyPatch, release: str, family: str) -> None:
    def fake_open(path: str) -> io.StringIO:
        assert path == "/etc/os-release"
        return io.StringIO(release)

    monkeypatch.setattr(remote, "open", fake_open, raising=False)
    assert remote.os_family() == family


def test_os_family_without_os_release(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_open(path: str) -> io.StringIO:
        raise FileNotFoundError(path)

    monkeypatch.setattr(remote, "open", fake_open, raising=False)
    assert remote.os_family() == "unknown"


def test_facts_are_this_machine() -> None:
    facts = remote.Run({}).facts
    assert facts == {"hostname": socket.gethostname(), "os_family": remote.os_family()}


# -- render -----------------------------------------------------------------------

FAMILY = {"Debian": {"nologin": "/usr/sbin/nologin"}, "RedHat": {"nologin": "/sbin/nologin"}}


def test_render_vars_both_spellings() -> None:
    r = remote.Run({"vars": {"host": "web-1", "role": "primary"}})
    assert r.render("node=$host role=${role}") == "node=web-1 role=primary"
    assert r.render("${host}x $hostx") == "web-1x $hostx"


def test_render_non_string_vars_are_written_as_text() -> None:
    r = remote.Run({"vars": {"cluster_size": 3, "flag": True}})
    assert r.render("size=$cluster_size flag=$flag") == "size=3 flag=True"


def test_render_facts() -> None:
    r = remote.Run({"vars": {}})
    assert r.render("$hostname/${os_family}") == f"{socket.gethostname()}/{remote.os_family()}"


def test_render_family_of_the_detected_os() -> None:
    detected = remote.os_family()
    family = {**FAMILY, detected: {"nologin": f"/{detected}/nologin"}}
    r = remote.Run({"vars": {}, "family": family})
    assert r.render("shell: $nologin") == f"shell: /{detected}/nologin"


def test_this_machine_is_debian() -> None:
    if "debian" not in Path("/etc/os-release").read_text().lower():
        pytest.skip("not a Debian-like machine")
    assert remote.os_family() == "Debian"
    assert remote.Run({"family": FAMILY}).render("$nologin") == "/usr/sbin/nologin"


@pytest.mark.parametrize(("family", "nologin"), [("Debian", "/usr/sbin/nologin"), ("RedHat", "/sbin/nologin")])
def test_render_picks_the_family(monkeypatch: pytest.MonkeyPatch, family: str, nologin: str) -> None:
    monkeypatch.setattr(remote, "os_family", lambda: family)
    r = remote.Run({"family": FAMILY})
    assert r.render("$nologin ${os_family}") == f"{nologin} {family}"


def test_render_family_of_another_os_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "os_family", lambda: "Debian")
    r = remote.Run({"family": {"RedHat": {"only_redhat": "x"}}})
    assert r.render("$only_redhat") == "$only_redhat"


def test_render_precedence_vars_then_facts_then_family(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "os_family", lambda: "Debian")
    r = remote.Run({"vars": {"hostname": "mine", "shell": "vars"}, "family": {"Debian": {"shell": "family"}}})
    assert r.render("$hostname $shell") == f"{socket.gethostname()} family"


def test_render_leaves_unknown_names_as_written() -> None:
    r = remote.Run({"vars": {"host": "web-1"}})
    for text in ["$HOME/x", "${nope}", "echo $1 $@ $", "price: 5 $", "${not closed", "$host-$unknown"]:
        expected = text.replace("$host-", "web-1-")
        assert r.render(text) == expected


def test_render_dollar_dollar_is_an_escape() -> None:
    """string.Template: `$$` is written as one `$` (a shell's `$$` needs `$$$$`)."""
    assert remote.Run({}).render("echo $$") == "echo $"


def test_render_recurses_into_lists_and_dicts() -> None:
    r = remote.Run({"vars": {"a": "A", "b": "B"}})
    value = {"x": "$a", "y": ["$b", {"z": "${a}${b}"}, 7], "$a": None, "n": 1, "t": True}
    assert r.render(value) == {"x": "A", "y": ["B", {"z": "AB"}, 7], "$a": None, "n": 1, "t": True}


def test_render_leaves_other_values_alone() -> None:
    r = remote.Run({"vars": {"a": "A"}})
    for value in (None, 0, 1.5, True, False):
        assert r.render(value) is value


def test_render_does_not_change_its_input() -> None:
    value = {"x": ["$a"]}
    remote.Run({"vars": {"a": "A"}}).render(value)
    assert value == {"x": ["$a"]}


# -- ping ---------------------------------------------------------------------------


def test_ping() -> None:
    result = one(task("ping"))
    assert (result["changed"], result["failed"], result["msg"]) == (False, False, "pong")


# -- file ---------------------------------------------------------------------------


def test_file_created_then_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "node.conf"
    first = one(task("file", path=str(path), content="a=1\n"))
    assert (first["changed"], first["failed"], first["msg"]) == (True, False, "content")
    assert path.read_text() == "a=1\n"
    assert mode_of(path) == 0o644
    second = one(task("file", path=str(path), content="a=1\n"))
    assert (second["changed"], second["failed"], second["msg"]) == (False, False, "as wanted")


def test_file_changed_content(tmp_path: Path) -> None:
    path = tmp_path / "node.conf"
    path.write_text("old\n")
    result = one(task("file", path=str(path), content="new\n"))
    assert (result["changed"], result["msg"]) == (True, "content")
    assert path.read_text() == "new\n"


def test_file_mode_change(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    one(task("file", path=str(path), content="s\n"))
    result = one(task("file", path=str(path), content="s\n", mode="0640"))
    assert result["changed"] is True
    assert "mode" in result["msg"]
    assert "content" not in result["msg"]
    assert mode_of(path) == 0o640
    again = one(task("file", path=str(path), content="s\n", mode="0640"))
    assert (again["changed"], again["msg"]) == (False, "as wanted")


def test_file_new_is_created_with_its_mode(tmp_path: Path) -> None:
    """Born with the wanted mode: never a moment with wider permissions than asked."""
    path = tmp_path / "f"
    result = one(task("file", path=str(path), content="x", mode="0600"))
    assert (result["changed"], result["msg"]) == (True, "content")
    assert mode_of(path) == 0o600


def test_file_mode_with_0o_prefix(tmp_path: Path) -> None:
    path = tmp_path / "f"
    one(task("file", path=str(path), content="x", mode="0o600"))
    assert mode_of(path) == 0o600


def test_file_owner_and_group_of_the_current_user(tmp_path: Path) -> None:
    path = tmp_path / "owned"
    args = {"path": str(path), "content": "x", "owner": USER, "group": GROUP, "mode": "0644"}
    first = one(task("file", **args))
    assert (first["changed"], first["failed"], first["msg"]) == (True, False, "content")
    assert (path.stat().st_uid, path.stat().st_gid) == (os.getuid(), os.getgid())
    second = one(task("file", **args))
    assert (second["changed"], second["failed"]) == (False, False)


def test_file_check_mode_leaves_a_missing_file_missing(tmp_path: Path) -> None:
    path = tmp_path / "f"
    result = one(task("file", path=str(path), content="x", mode="0600", owner=USER), check=True)
    assert (result["changed"], result["failed"], result["msg"]) == (True, False, "content")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_file_check_mode_leaves_content_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("old\n")
    path.chmod(0o644)
    result = one(task("file", path=str(path), content="new\n", mode="0600"), check=True)
    assert (result["changed"], result["msg"]) == (True, "content, mode")
    assert path.read_text() == "old\n"
    assert mode_of(path) == 0o644
    assert list(tmp_path.iterdir()) == [path]


def test_file_check_mode_unchanged_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("same")
    path.chmod(0o644)
    result = one(task("file", path=str(path), content="same", mode="0644"), check=True)
    assert (result["changed"], result["msg"]) == (False, "as wanted")


def test_file_check_mode_owner_change_is_reported_not_made(tmp_path: Path) -> None:
    other = next((u for u in ("nobody", "daemon") if u != USER and _user_exists(u)), None)
    if other is None:
        pytest.skip("no second user to compare with")
    path = tmp_path / "f"
    path.write_text("x")
    result = one(task("file", path=str(path), content="x", owner=other), check=True)
    assert (result["changed"], result["msg"]) == (True, "owner")
    assert path.stat().st_uid == os.getuid()


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_file_leaves_no_partial_files(tmp_path: Path) -> None:
    path = tmp_path / "f"
    for content in ("one", "two", "two"):
        one(task("file", path=str(path), content=content))
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_file_content_is_rendered(tmp_path: Path) -> None:
    path = tmp_path / "node.conf"
    result = one(
        task("file", path=str(tmp_path / "${name}.conf"), content="node=$host\nrole=${role}\n"),
        vars={"host": "web-1", "role": "primary", "name": "node"},
    )
    assert result["changed"] is True
    assert path.read_text() == "node=web-1\nrole=primary\n"


def test_file_in_a_missing_directory_fails(tmp_path: Path) -> None:
    result = one(task("file", path=str(tmp_path / "no" / "f"), content="x"))
    assert result["failed"] is True
    assert result["msg"].startswith("FileNotFoundError:")


def test_file_under_systemd_units_marks_units_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "SYSTEMD_UNITS", f"{tmp_path}/units/")
    (tmp_path / "units").mkdir()
    unit = task("file", path=str(tmp_path / "units" / "a.service"), content="[Unit]\n")
    other = task("file", path=str(tmp_path / "other"), content="x")
    first = remote.Run({})
    first.run([other])
    assert first.changed_units is False
    first.run([unit])
    assert first.changed_units is True
    second = remote.Run({})
    second.run([unit])
    assert second.changed_units is False


# -- directory ---------------------------------------------------------------------------


def test_directory_created_then_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "opt" / "orka"
    first = one(task("directory", path=str(path)))
    assert (first["changed"], first["failed"], first["msg"]) == (True, False, f"created {path}")
    assert path.is_dir()
    second = one(task("directory", path=str(path)))
    assert (second["changed"], second["failed"], second["msg"]) == (False, False, "as wanted")


def test_directory_created_with_mode_owner_group(tmp_path: Path) -> None:
    path = tmp_path / "www"
    args = {"path": str(path), "owner": USER, "group": GROUP, "mode": "0750"}
    assert one(task("directory", **args))["changed"] is True
    assert mode_of(path) == 0o750
    assert (path.stat().st_uid, path.stat().st_gid) == (os.getuid(), os.getgid())
    again = one(task("directory", **args))
    assert (again["changed"], again["msg"]) == (False, "as wanted")


def test_directory_mode_change(tmp_path: Path) -> None:
    path = tmp_path / "d"
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    result = one(task("directory", path=str(path), mode="0700"))
    assert (result["changed"], result["msg"]) == (True, "mode")
    assert mode_of(path) == 0o700


def test_directory_check_mode(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = one(task("directory", path=str(missing), mode="0700"), check=True)
    assert (result["changed"], result["failed"], result["msg"]) == (True, False, f"would create {missing}")
    assert not missing.exists()
    present = tmp_path / "present"
    present.mkdir()
    present.chmod(0o755)
    result = one(task("directory", path=str(present), mode="0700"), check=True)
    assert (result["changed"], result["msg"]) == (True, "mode")
    assert mode_of(present) == 0o755


def test_directory_where_a_file_is_fails(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    result = one(task("directory", path=str(path)))
    assert result["failed"] is True
    assert result["msg"].startswith("FileExistsError:")


# -- command ---------------------------------------------------------------------------


def test_command_runs_and_reports_its_output(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = one(task("command", run=f"touch {marker} && echo done"))
    assert (result["changed"], result["failed"], result["msg"]) == (True, False, "done")
    assert marker.exists()


def test_command_changes_false(tmp_path: Path) -> None:
    result = one(task("command", run="echo hi", changes=False))
    assert (result["changed"], result["failed"], result["msg"]) == (False, False, "hi")


def test_command_creates_existing_path_is_unchanged_and_not_run(tmp_path: Path) -> None:
    exists = tmp_path / "exists"
    exists.write_text("")
    marker = tmp_path / "ran"
    result = one(task("command", run=f"touch {marker}", creates=str(exists)))
    assert (result["changed"], result["failed"], result["msg"]) == (False, False, f"{exists} exists")
    assert not marker.exists()


def test_command_creates_missing_path_runs(tmp_path: Path) -> None:
    target = tmp_path / "made"
    result = one(task("command", run=f"touch {target}", creates=str(target)))
    assert result["changed"] is True
    assert target.exists()
    again = one(task("command", run=f"touch {target}", creates=str(target)))
    assert again["changed"] is False


def test_command_check_mode_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = one(task("command", run=f"touch {marker}"), check=True)
    assert (result["changed"], result["failed"], result["msg"]) == (True, False, f"would run: touch {marker}")
    assert not marker.exists()


def test_command_check_mode_with_changes_false_is_no_change() -> None:
    result = one(task("command", run="systemctl is-active x", changes=False), check=True)
    assert result["changed"] is False


def test_command_is_rendered(tmp_path: Path) -> None:
    result = one(task("command", run="echo $greeting ${who}"), vars={"greeting": "hello", "who": "orka"})
    assert result["msg"] == "hello orka"


def test_failing_command_fails_with_its_exit_code(tmp_path: Path) -> None:
    result = one(task("command", run="echo out; echo boom >&2; exit 3"))
    assert (result["changed"], result["failed"]) == (False, True)
    assert result["msg"] == "TaskError: exit 3: boom"


def test_failing_command_without_stderr_reports_stdout() -> None:
    result = one(task("command", run="echo only-out; exit 7"))
    assert result["failed"] is True
    assert result["msg"] == "TaskError: exit 7: only-out"


# -- run: order, stop at the first failure, times, errors as results --------------------


def test_run_stops_at_the_first_failed_task(tmp_path: Path) -> None:
    after = tmp_path / "after"
    results = run(
        task("ping", "first"),
        task("file", "second", path=str(tmp_path / "f"), content="x"),
        task("command", "breaks", run="exit 2"),
        task("file", "never", path=str(after), content="x"),
        task("ping", "nor this"),
    )
    assert [r["task"] for r in results] == ["first", "second", "breaks"]
    assert [r["failed"] for r in results] == [False, False, True]
    assert results[-1]["msg"].startswith("TaskError: exit 2")
    assert not after.exists()


def test_results_carry_name_action_and_times(tmp_path: Path) -> None:
    results = run(task("ping", "p"), task("command", "c", run="true"))
    assert [set(r) for r in results] == [{"task", "action", "changed", "failed", "msg", "start", "end", "target"}] * 2
    assert [(r["task"], r["action"]) for r in results] == [("p", "ping"), ("c", "command")]
    for r in results:
        assert isinstance(r["start"], float)
        assert isinstance(r["end"], float)
        assert r["start"] <= r["end"]
    assert results[0]["end"] <= results[1]["end"]
    json.dumps(results)


def test_failed_task_carries_times_too() -> None:
    (result,) = run(task("command", run="exit 1"))
    assert result["start"] <= result["end"]


def test_changed_tasks_are_remembered_by_name(tmp_path: Path) -> None:
    r = remote.Run({})
    r.run(
        [
            task("file", "made", path=str(tmp_path / "f"), content="x"),
            task("ping", "pinged"),
            task("command", "quiet", run="true", changes=False),
            task("command", "loud", run="true"),
        ]
    )
    assert r.changed_tasks == {"made", "loud"}


@pytest.mark.parametrize("action", ["file", "directory"])
def test_unknown_owner_fails_the_task_not_the_run(tmp_path: Path, action: str) -> None:
    args: dict[str, Any] = {"path": str(tmp_path / "x"), "owner": NO_SUCH_USER}
    if action == "file":
        args["content"] = "x"
    results = run(task(action, "owned", **args), task("ping", "after"))
    assert [r["task"] for r in results] == ["owned"]
    (result,) = results
    assert (result["changed"], result["failed"]) == (False, True)
    assert result["msg"].startswith("KeyError:")
    assert NO_SUCH_USER in result["msg"]


def test_unknown_group_fails_the_task(tmp_path: Path) -> None:
    result = one(task("file", path=str(tmp_path / "x"), content="x", group=NO_SUCH_GROUP))
    assert result["failed"] is True
    assert result["msg"].startswith("KeyError:")
    assert NO_SUCH_GROUP in result["msg"]


def test_bad_mode_fails_the_task(tmp_path: Path) -> None:
    result = one(task("directory", path=str(tmp_path / "d"), mode="rwxr-xr-x"))
    assert result["failed"] is True
    assert result["msg"].startswith("ValueError:")


def test_missing_argument_fails_the_task() -> None:
    result = one(task("file", content="x"))
    assert result["failed"] is True
    assert result["msg"] == "KeyError: 'path'"


def test_every_taskfile_action_is_a_run_method() -> None:
    from orka.runner.taskfile import ACTIONS

    assert set(remote.Run.ACTIONS) == set(ACTIONS)
    for action in ACTIONS:
        assert callable(getattr(remote.Run, action))


# -- main ---------------------------------------------------------------------------


def test_main_prints_one_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = {
        "check": False,
        "vars": {"host": "web-1"},
        "family": {},
        "tasks": [task("ping", "ping"), task("file", "f", path=str(tmp_path / "f"), content="$host")],
    }
    remote.main(job)
    out = capsys.readouterr().out
    assert out.endswith("\n")
    assert out.count("\n") == 1
    data = json.loads(out)
    assert data["facts"] == {"hostname": socket.gethostname(), "os_family": remote.os_family()}
    assert [(r["task"], r["changed"], r["failed"]) for r in data["results"]] == [
        ("ping", False, False),
        ("f", True, False),
    ]
    assert (tmp_path / "f").read_text() == "web-1"


# -- gaps found by these tests, now fixed ------------------------------------


def test_unquoted_mode_is_rejected_or_applied_as_written(tmp_path: Path) -> None:
    path = tmp_path / "f"
    try:
        taskfile = parse_taskfile(f"tasks: [{{file: {{path: {path}, content: x, mode: 0644}}}}]\n")
    except TaskFileError:
        return
    job_tasks = [t.to_job() for t in taskfile.steps[0].tasks]
    results = remote.Run({}).run(job_tasks)
    assert not results[0]["failed"]
    assert mode_of(path) == 0o644
