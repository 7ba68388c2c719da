"""Unit tests of orka.runner.executor: the payload, the job, the reports, and the step logic.

No SSH here: the payload is run the way the server side runs it (`python3 -`, the program on
stdin), but locally and without sudo; run_host/run_taskfile get a stand-in for run_over_ssh.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from orka.runner import executor
from orka.runner.executor import (
    PAYLOAD,
    PING_COMMAND,
    HostRun,
    RunReport,
    TaskResult,
    job_for,
    payload,
    remote_command,
    run_host,
    run_taskfile,
)
from orka.runner.inventory import Host, Inventory, InventoryError
from orka.runner.taskfile import Step, Task, parse_taskfile

Transport = Callable[[Host, str, bytes, float], Awaitable[tuple[int, str, str]]]


def result(task: str = "t", *, changed: bool = False, failed: bool = False, msg: str = "") -> TaskResult:
    return TaskResult(task=task, action="ping", changed=changed, failed=failed, msg=msg, start=1.0, end=2.0)


def ping_and_file_job(path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "check": False,
        "vars": {"host": "web-1", "role": "primary"},
        "family": {},
        "tasks": [
            {"name": "ping", "action": "ping", "args": {}},
            {"name": "node.conf", "action": "file", "args": {"path": str(path), "content": "node=$host\n"}},
        ],
        **extra,
    }


def run_locally(program: bytes, cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """As the SSH side runs it (`python3 -`, program on stdin), but here and without sudo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [sys.executable, *flags, "-"],
        input=program.decode(),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


# -- payload -------------------------------------------------------------------------


def test_payload_is_remote_py_plus_a_call_of_main(tmp_path: Path) -> None:
    program = payload(ping_and_file_job(tmp_path / "f")).decode()
    assert (Path(executor.__file__).parent / "remote.py").read_text() == PAYLOAD
    assert program.startswith(PAYLOAD)
    tail = program[len(PAYLOAD) :]
    assert tail.startswith("\nmain(json.loads(__import__('base64').b64decode('")
    assert tail.endswith("')))\n")


def test_payload_is_valid_python_for_3_7(tmp_path: Path) -> None:
    program = payload(ping_and_file_job(tmp_path / "f"))
    compile(program, "<payload>", "exec")
    tree = ast.parse(program, feature_version=(3, 7))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_payload_carries_the_job_encoded(tmp_path: Path) -> None:
    job = ping_and_file_job(tmp_path / "f")
    program = payload(job).decode()
    encoded = program.rsplit("b64decode('", 1)[1].split("')", 1)[0]
    assert json.loads(base64.b64decode(encoded)) == job


def test_payload_runs_locally_and_prints_one_json_line(tmp_path: Path) -> None:
    target = tmp_path / "node.conf"
    done = run_locally(payload(ping_and_file_job(target)), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == {"facts", "results"}
    assert data["facts"] == {"hostname": socket.gethostname(), "os_family": data["facts"]["os_family"]}
    assert [(r["task"], r["action"], r["changed"], r["failed"]) for r in data["results"]] == [
        ("ping", "ping", False, False),
        ("node.conf", "file", True, False),
    ]
    assert data["results"][0]["msg"] == "pong"
    assert target.read_text() == "node=web-1\n"
    # the JSON line is what run_host turns into TaskResults
    assert [TaskResult(**r).task for r in data["results"]] == ["ping", "node.conf"]


def test_payload_needs_nothing_but_the_standard_library(tmp_path: Path) -> None:
    """-I -S: no site-packages, no user site, no PYTHON* variables, no current directory on the path."""
    target = tmp_path / "node.conf"
    done = run_locally(payload(ping_and_file_job(target)), tmp_path, "-I", "-S")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [r["failed"] for r in data["results"]] == [False, False]
    assert target.exists()


def test_payload_second_run_changes_nothing_and_check_mode_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "node.conf"
    run_locally(payload(ping_and_file_job(target)), tmp_path)
    again = json.loads(run_locally(payload(ping_and_file_job(target)), tmp_path).stdout)
    assert [r["changed"] for r in again["results"]] == [False, False]
    other = tmp_path / "other.conf"
    checked = json.loads(run_locally(payload(ping_and_file_job(other, check=True)), tmp_path).stdout)
    assert [r["changed"] for r in checked["results"]] == [False, True]
    assert not other.exists()


def test_payload_survives_awkward_job_text(tmp_path: Path) -> None:
    content = "quotes ' \" ''' \"\"\" backslash \\ newline\n unicode é ✓ ')))\n"
    job = ping_and_file_job(tmp_path / "f")
    job["tasks"][1]["args"]["content"] = content
    done = run_locally(payload(job), tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "f").read_text(encoding="utf-8") == content


def test_payload_failed_task_is_reported_not_raised(tmp_path: Path) -> None:
    job = ping_and_file_job(tmp_path / "f")
    job["tasks"].insert(1, {"name": "breaks", "action": "command", "args": {"run": "exit 4"}})
    done = run_locally(payload(job), tmp_path)
    assert done.returncode == 0
    results = json.loads(done.stdout)["results"]
    assert [(r["task"], r["failed"]) for r in results] == [("ping", False), ("breaks", True)]
    assert results[1]["msg"].startswith("TaskError: exit 4")
    assert not (tmp_path / "f").exists()


def test_remote_command_runs_python_from_stdin_under_sudo_bounded_before_the_runner_gives_up() -> None:
    assert remote_command(42) == "sudo -n timeout -k 1 40 python3 -"
    assert remote_command(1.5) == "sudo -n timeout -k 1 1 python3 -"


# -- job_for ---------------------------------------------------------------------------


def test_job_for_merges_inventory_vars_host_vars_and_host_name() -> None:
    inventory = Inventory(
        (Host("web-1", vars={"role": "primary", "host": "ignored"}),),
        vars={"method": "custom", "role": "default", "host": "also ignored"},
    )
    step = Step("apply", ("all",), (Task("ping", "ping", {}), Task("tree", "package", {"name": "tree"})))
    family = {"Debian": {"nologin": "/usr/sbin/nologin"}}
    job = job_for(inventory.hosts[0], inventory, step, family, check=True)
    assert job == {
        "check": True,
        "vars": {"method": "custom", "role": "primary", "host": "web-1"},
        "family": family,
        "tasks": [
            {"name": "ping", "action": "ping", "args": {}},
            {"name": "tree", "action": "package", "args": {"name": "tree"}},
        ],
    }
    assert inventory.vars["role"] == "default"
    assert inventory.hosts[0].vars["role"] == "primary"
    json.dumps(job)


def test_job_for_each_host_gets_its_own_vars() -> None:
    inventory = Inventory((Host("a", vars={"role": "primary"}), Host("b")), vars={"role": "secondary"})
    step = Step("s", ("all",), (Task("ping", "ping", {}),))
    jobs = [job_for(h, inventory, step, {}, check=False) for h in inventory.hosts]
    assert [j["vars"] for j in jobs] == [{"role": "primary", "host": "a"}, {"role": "secondary", "host": "b"}]
    assert [j["check"] for j in jobs] == [False, False]


# -- HostRun / RunReport -------------------------------------------------------------------


def test_host_run_without_results_is_ok() -> None:
    run = HostRun("a", "s")
    assert (run.ok, run.changed, run.failed) == (True, [], [])


def test_host_run_changed_and_failed() -> None:
    bad = result("c", failed=True, msg="TaskError: exit 1")
    run = HostRun("a", "s", (result("a", changed=True), result("b"), bad, result("d", changed=True)))
    assert run.ok is False
    assert run.changed == ["a", "d"]
    assert run.failed == [bad]


def test_host_run_with_an_error_is_not_ok() -> None:
    run = HostRun("a", "s", (result("a"),), error="connection error: refused")
    assert run.ok is False
    assert run.failed == []


def test_run_report_ok_and_runs() -> None:
    good = HostRun("a", "one", (result("x", changed=True),))
    other = HostRun("b", "one")
    late = HostRun("a", "two", (result("y"),))
    report = RunReport((("one", (good, other)), ("two", (late,))), 1.5)
    assert report.ok is True
    assert report.runs() == [good, other, late]
    failing = RunReport((("one", (good,)), ("two", (HostRun("a", "two", error="not run: x"),))), 0.1)
    assert failing.ok is False
    assert RunReport((), 0.0).ok is True


def test_run_report_to_dict() -> None:
    task = TaskResult("x", "file", True, False, "content", 10.0, 11.0)
    bad = TaskResult("y", "command", False, True, "TaskError: exit 3: boom", 11.0, 12.0)
    report = RunReport(
        (
            ("one", (HostRun("a", "one", (task,), facts={"os_family": "Debian"}), HostRun("b", "one", (bad,)))),
            ("two", (HostRun("a", "two", error="not run: step 'one' failed"),)),
        ),
        1.23456,
    )
    data = report.to_dict()
    assert data == {
        "ok": False,
        "duration_s": 1.235,
        "steps": [
            {
                "name": "one",
                "hosts": [
                    {
                        "host": "a",
                        "ok": True,
                        "error": "",
                        "changed": ["x"],
                        "facts": {"os_family": "Debian"},
                        "results": [
                            {
                                "task": "x",
                                "action": "file",
                                "changed": True,
                                "failed": False,
                                "msg": "content",
                                "start": 10.0,
                                "end": 11.0,
                                "target": "",
                            }
                        ],
                    },
                    {
                        "host": "b",
                        "ok": False,
                        "error": "",
                        "changed": [],
                        "facts": {},
                        "results": [
                            {
                                "task": "y",
                                "action": "command",
                                "changed": False,
                                "failed": True,
                                "msg": "TaskError: exit 3: boom",
                                "start": 11.0,
                                "end": 12.0,
                                "target": "",
                            }
                        ],
                    },
                ],
            },
            {
                "name": "two",
                "hosts": [
                    {
                        "host": "a",
                        "ok": False,
                        "error": "not run: step 'one' failed",
                        "changed": [],
                        "facts": {},
                        "results": [],
                    }
                ],
            },
        ],
    }
    assert json.loads(json.dumps(data)) == data


def test_to_dict_is_a_copy() -> None:
    task = result("x", msg="original")
    data = RunReport((("s", (HostRun("a", "s", (task,)),)),), 0.0).to_dict()
    data["steps"][0]["hosts"][0]["results"][0]["msg"] = "edited"
    assert task.msg == "original"


# -- run_host / run_taskfile with a stand-in for SSH ------------------------------------------


def canned(code: int, out: str, err: str) -> Transport:
    async def transport(host: Host, remote: str, stdin: bytes, timeout: float) -> tuple[int, str, str]:
        return code, out, err

    return transport


def host_run(monkeypatch: pytest.MonkeyPatch, transport: Transport) -> HostRun:
    monkeypatch.setattr(executor, "run_over_ssh", transport)
    return asyncio.run(run_host(Host("web-1"), {"tasks": []}, "apply", 5.0))


def test_run_host_reads_the_last_line(monkeypatch: pytest.MonkeyPatch) -> None:
    line = json.dumps(
        {
            "facts": {"hostname": "web-1", "os_family": "Debian"},
            "results": [vars(result("p", changed=True))],
        }
    )
    run = host_run(monkeypatch, canned(0, f"a banner\n{line}\n", "a warning\n"))
    assert (run.host, run.step, run.error, run.ok) == ("web-1", "apply", "", True)
    assert run.results == (result("p", changed=True),)
    assert run.facts == {"hostname": "web-1", "os_family": "Debian"}
    assert run.start <= run.end


@pytest.mark.parametrize(
    ("code", "out", "err", "error"),
    [
        (
            255,
            "",
            "ssh: connect to host 10.0.0.5 port 22: Connection refused\n",
            "connection error: ssh: connect to host",
        ),
        (124, "", "no answer within 5 s", "connection error: no answer within 5 s"),
        (1, "", "sudo: a password is required\n", "runner error: sudo: a password is required"),
        (127, "", "line 1\nbash: python3: command not found\n", "runner error: bash: python3: command not found"),
        (1, "", "", "runner error: exit 1 with no result"),
        (0, "not json\n", "", "runner error: exit 0 with no result"),
    ],
)
def test_run_host_errors(monkeypatch: pytest.MonkeyPatch, code: int, out: str, err: str, error: str) -> None:
    run = host_run(monkeypatch, canned(code, out, err))
    assert run.error.startswith(error), run.error
    assert (run.ok, run.results) == (False, ())


INVENTORY = Inventory(
    (
        Host("a", groups=("primary",), vars={"role": "primary"}),
        Host("b", groups=("secondaries",), vars={"role": "secondary"}),
        Host("c", groups=("secondaries",), vars={"role": "secondary"}),
    ),
    vars={"method": "custom"},
)


class LocalTransport:
    """Runs the payload here with `python3 -` instead of over SSH; remembers who was asked."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.calls: list[tuple[str, str, float]] = []

    async def __call__(self, host: Host, remote: str, stdin: bytes, timeout: float) -> tuple[int, str, str]:
        self.calls.append((host.name, remote, timeout))
        # What the remote command is on a node, minus sudo: the payload's Python, or a ping's `uname -n`.
        program = ["uname", "-n"] if remote == PING_COMMAND else [sys.executable, "-"]
        process = await asyncio.create_subprocess_exec(
            *program,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.cwd,
        )
        out, err = await process.communicate(stdin)
        return process.returncode or 0, out.decode(), err.decode()


def two_steps(tmp_path: Path, first_command: str = "true") -> str:
    return (
        "steps:\n"
        "  - name: publish\n"
        "    hosts: [primary]\n"
        "    tasks:\n"
        f"      - command: {{run: '{first_command}', changes: false}}\n"
        f"      - file: {{path: '{tmp_path}/$host.txt', content: '$role $method'}}\n"
        "  - name: fetch\n"
        "    hosts: secondaries\n"
        "    tasks:\n"
        f"      - file: {{path: '{tmp_path}/$host.txt', content: '$role $method'}}\n"
    )


def test_run_taskfile_runs_steps_in_order_on_their_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = LocalTransport(tmp_path)
    monkeypatch.setattr(executor, "run_over_ssh", transport)
    report = run_taskfile(INVENTORY, parse_taskfile(two_steps(tmp_path)), timeout=42)
    assert report.ok, report.to_dict()
    assert [(name, [r.host for r in runs]) for name, runs in report.steps] == [
        ("publish", ["a"]),
        ("fetch", ["b", "c"]),
    ]
    assert transport.calls[0] == ("a", remote_command(42), 42)
    assert sorted(c[0] for c in transport.calls[1:]) == ["b", "c"]
    assert {p.name: p.read_text() for p in tmp_path.glob("*.txt")} == {
        "a.txt": "primary custom",
        "b.txt": "secondary custom",
        "c.txt": "secondary custom",
    }
    publish = report.steps[0][1][0]
    assert publish.changed == [f"file {tmp_path}/$host.txt"]
    assert publish.facts["hostname"] == socket.gethostname()
    first_end = max(r.end for r in report.steps[0][1])
    assert all(r.start >= first_end for r in report.steps[1][1])
    assert report.duration_s > 0
    again = run_taskfile(INVENTORY, parse_taskfile(two_steps(tmp_path)))
    assert [r.changed for r in again.runs()] == [[], [], []]


def test_run_taskfile_check_mode_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "run_over_ssh", LocalTransport(tmp_path))
    report = run_taskfile(INVENTORY, parse_taskfile(two_steps(tmp_path)), check=True)
    assert report.ok
    wanted = f"file {tmp_path}/$host.txt"
    # the command has changes: false, so check mode does not count it as a change
    assert [r.changed for r in report.runs()] == [[wanted], [wanted], [wanted]]
    assert list(tmp_path.glob("*.txt")) == []


def test_run_taskfile_a_failed_step_stops_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = LocalTransport(tmp_path)
    monkeypatch.setattr(executor, "run_over_ssh", transport)
    report = run_taskfile(INVENTORY, parse_taskfile(two_steps(tmp_path, "exit 5")))
    assert report.ok is False
    (publish,) = report.steps[0][1]
    assert [t.failed for t in publish.results] == [True]
    assert publish.results[0].msg == "TaskError: exit 5: "
    assert [(r.host, r.error) for r in report.steps[1][1]] == [
        ("b", "not run: step 'publish' failed"),
        ("c", "not run: step 'publish' failed"),
    ]
    assert [c[0] for c in transport.calls] == ["a"]
    assert list(tmp_path.glob("*.txt")) == []


def test_run_taskfile_an_unreachable_host_fails_its_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = LocalTransport(tmp_path)

    async def transport(host: Host, remote: str, stdin: bytes, timeout: float) -> tuple[int, str, str]:
        if host.name == "b":
            return 255, "", "ssh: connect to host b port 22: No route to host\n"
        return await local(host, remote, stdin, timeout)

    monkeypatch.setattr(executor, "run_over_ssh", transport)
    taskfile = parse_taskfile(
        "steps:\n"
        "  - {name: one, hosts: secondaries, tasks: [{ping: {}}]}\n"
        "  - {name: two, hosts: all, tasks: [{ping: {}}]}\n"
    )
    report = run_taskfile(INVENTORY, taskfile)
    one = {r.host: r for r in report.steps[0][1]}
    assert one["b"].error == "connection error: ssh: connect to host b port 22: No route to host"
    assert one["c"].ok
    assert [r.error for r in report.steps[1][1]] == ["not run: step 'one' failed"] * 3


def test_run_taskfile_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = LocalTransport(tmp_path)
    monkeypatch.setattr(executor, "run_over_ssh", transport)
    report = run_taskfile(INVENTORY, parse_taskfile(two_steps(tmp_path)), limit=("c",))
    assert [(name, [r.host for r in runs]) for name, runs in report.steps] == [("publish", []), ("fetch", ["c"])]
    assert report.ok
    assert [c[0] for c in transport.calls] == ["c"]


@pytest.mark.parametrize(
    ("limit", "hosts"),
    [(("nowhere",), "primary"), (("all",), "nowhere")],
)
def test_run_taskfile_unknown_names_fail_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: tuple[str, ...], hosts: str
) -> None:
    transport = LocalTransport(tmp_path)
    monkeypatch.setattr(executor, "run_over_ssh", transport)
    taskfile = parse_taskfile(f"steps: [{{hosts: {hosts}, tasks: [{{ping: {{}}}}]}}]")
    with pytest.raises(InventoryError, match="nowhere"):
        run_taskfile(INVENTORY, taskfile, limit=limit)
    assert transport.calls == []


def test_a_step_of_pings_only_runs_no_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = LocalTransport(tmp_path)
    monkeypatch.setattr(executor, "run_over_ssh", transport)
    inventory = Inventory((Host("a"), Host("b")))
    taskfile = parse_taskfile("tasks: [{name: hello, ping: {}}, {name: again, ping: {}}]", "<pings>")
    report = run_taskfile(inventory, taskfile, timeout=5)
    assert report.ok
    assert {remote for _, remote, _ in transport.calls} == {PING_COMMAND}
    for run in report.runs():
        assert [(t.task, t.action, t.changed, t.msg) for t in run.results] == [
            ("hello", "ping", False, "pong"),
            ("again", "ping", False, "pong"),
        ]
        assert run.facts == {"hostname": os.uname().nodename}


def test_a_step_with_more_than_pings_runs_the_payload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = LocalTransport(tmp_path)
    monkeypatch.setattr(executor, "run_over_ssh", transport)
    taskfile = parse_taskfile(f"tasks: [{{ping: {{}}}}, {{file: {{path: '{tmp_path}/f', content: x}}}}]", "<mixed>")
    report = run_taskfile(Inventory((Host("a"),)), taskfile, timeout=5)
    assert report.ok, report.to_dict()
    assert [remote for _, remote, _ in transport.calls] == [remote_command(5)]
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.parametrize(
    ("code", "err", "error"),
    [
        (255, "Connection refused\n", "connection error: Connection refused"),
        (1, "sudo: a password is required\n", "runner error: sudo: a password is required"),
    ],
)
def test_a_failed_ping_says_why(monkeypatch: pytest.MonkeyPatch, code: int, err: str, error: str) -> None:
    monkeypatch.setattr(executor, "run_over_ssh", canned(code, "", err))
    job = {"tasks": [{"name": "ping", "action": "ping", "args": {}}]}
    run = asyncio.run(run_host(Host("web-1"), job, "ping", 5.0))
    assert (run.ok, run.error, run.results) == (False, error, ())
