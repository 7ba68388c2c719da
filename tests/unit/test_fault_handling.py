"""Unit tests of what the method adapters make of a fault: the timeouts they derive from the
command timeout, and the words they put on a master that cannot be reached or a command
that was stopped.

The adapters are given a stand-in for the small ClusterView interface that answers as the
real one does (testinfra raises RuntimeError(CommandResult) when SSH exits 255; `timeout`
exits 124). The real faults are tests/integration/test_faults.py.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from testinfra.backend.base import CommandResult

from orka.config.settings import default_settings
from orka.methods.ansible.method import AnsibleMethod, connect_timeout_option
from orka.methods.base import MachineUnreachable, ssh_failure
from orka.methods.salt.method import (
    CONNECTED_MINIONS,
    MASTER_STOPPED,
    NO_RETURN,
    SaltMethod,
    cli_timeout,
    when_master_runs,
)
from orka.plan.spec import MachineSpec
from orka.results.record import HostOutcome, PhaseResult, RunContext, records
from orka.results.verdict import TIMED_OUT, Expectations, judge
from orka.runner.inventory import Inventory
from orka.testing.faults import FaultError, point_ssh_config

EXAMPLE = default_settings().scenarios[0]  # whose orchestration the methods run

NODES = (
    MachineSpec("orka-node-1", "node", "10.87.1.21", primary=True),
    MachineSpec("orka-node-2", "node", "10.87.1.22"),
    MachineSpec("orka-node-3", "node", "10.87.1.23"),
)
NO_ROUTE = "ssh: connect to host 172.17.0.2 port 22: No route to host"


def command_result(rc: int, stdout: str = "", stderr: str = "") -> CommandResult:
    # Text already decoded: CommandResult needs its backend only to decode bytes.
    return CommandResult(None, rc, b"", stdout, stderr)


class StandInCluster:
    """Answers every command with one result, or fails SSH as testinfra does; remembers the commands."""

    def __init__(self, result: CommandResult | None = None, ssh_fails: str = "") -> None:
        self.result = result
        self.ssh_fails = ssh_fails
        self.commands: list[tuple[str, str, int | None]] = []

    @property
    def nodes(self) -> tuple[MachineSpec, ...]:
        return NODES

    def run(self, machine: str, command: str, timeout: int | None = None) -> CommandResult:
        self.commands.append((machine, command, timeout))
        if self.ssh_fails:
            raise RuntimeError(command_result(255, stderr=self.ssh_fails))
        assert self.result is not None
        return self.result

    def inventory(self, method: str) -> Inventory:
        return Inventory(())


# -- the timeouts, derived from the command timeout ---------------------------


@pytest.mark.parametrize(
    ("command_timeout", "most", "cli"),
    [(300, 10, 10), (300, None, 75), (40, None, 10), (40, 10, 10), (20, 10, 5), (3, 10, 1), (3, None, 1)],
)
def test_salts_wait_for_a_silent_minion_is_at_most_a_quarter_of_the_command_timeout(
    command_timeout: int, most: int | None, cli: int
) -> None:
    assert cli_timeout(command_timeout, most) == cli


@pytest.mark.parametrize(
    ("command_timeout", "option"),
    [(300, ""), (40, ""), (39, "--timeout 9"), (20, "--timeout 5"), (2, "--timeout 1")],
)
def test_ansibles_connect_timeout_is_lowered_only_when_the_command_timeout_is_short(
    command_timeout: int, option: str
) -> None:
    assert connect_timeout_option(command_timeout) == option


def salt_wait(command: str) -> int:
    return int(command.split("--timeout=")[1].split()[0].strip("'"))


class PingAnswers(StandInCluster):
    """Answers each test.ping with the next of its answers (salt's JSON), anything else with success."""

    def __init__(self, *answers: str) -> None:
        super().__init__(command_result(0))
        self.answers = list(answers)

    def run(self, machine: str, command: str, timeout: int | None = None) -> CommandResult:
        if "test.ping" not in command:
            return super().run(machine, command, timeout)
        self.commands.append((machine, command, timeout))
        return command_result(0, stdout=self.answers.pop(0))


def test_salts_readiness_asks_only_the_minions_not_yet_answered_and_waits_longer_when_none_do() -> None:
    cluster = PingAnswers("{}", '{"orka-node-1": true}', '{"orka-node-2": true, "orka-node-3": true}')
    salt = SaltMethod(cluster, 300)

    salt.wait_ready()

    probes = [command for _, command, _ in cluster.commands if "test.ping" in command]
    assert [salt_wait(p) for p in probes] == [2, 4, 4]  # doubled after the probe none answered
    assert "-L orka-node-1,orka-node-2,orka-node-3 " in probes[0]
    assert "-L orka-node-1,orka-node-2,orka-node-3 " in probes[1]
    assert "-L orka-node-2,orka-node-3 " in probes[2]
    assert salt.last_probe is not None
    assert salt.last_probe.ok
    assert [h.node for h in salt.last_probe.hosts] == ["orka-node-1", "orka-node-2", "orka-node-3"]


# The kernel's TCP table as a master's /proc/net/tcp holds it: salt-master listening on 4505 (0x1199) and 4506,
# three minions connected to 4505 (state 01, established), one to 4506, and one 4505 connection closing (06).
PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1199 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21001 1 0 100 0 0 10 0
   1: 00000000:119A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21002 1 0 100 0 0 10 0
   2: 1501570A:1199 1601570A:C35A 01 00000000:00000000 00:00000000 00000000     0        0 21003 1 0 20 4 30 10 -1
   3: 1501570A:1199 1701570A:A2F0 01 00000000:00000000 00:00000000 00000000     0        0 21004 1 0 20 4 30 10 -1
   4: 1501570A:119A 1601570A:C35C 01 00000000:00000000 00:00000000 00000000     0        0 21005 1 0 20 4 30 10 -1
   5: 1501570A:1199 1801570A:B001 01 00000000:00000000 00:00000000 00000000     0        0 21006 1 0 20 4 30 10 -1
   6: 1501570A:1199 1901570A:B002 06 00000000:00000000 03:00000F9F 00000000     0        0 0 3 0
   7: 1501570A:0016 0101570A:D431 01 00000000:00000000 02:000AE2B9 00000000     0        0 21007 2 0 20 4 30 10 -1
"""


def test_the_connected_minions_are_the_established_connections_to_the_publish_port(tmp_path: Path) -> None:
    tcp = tmp_path / "tcp"
    tcp.write_text(PROC_NET_TCP)
    command = CONNECTED_MINIONS.replace("/proc/net/tcp6", str(tmp_path / "tcp6")).replace("/proc/net/tcp", str(tcp))
    counted = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout
    assert counted.strip() == "3"


class MinionsConnecting(PingAnswers):
    """Says, to each count of connected minions, the next of its counts; its pings answer as PingAnswers'."""

    def __init__(self, counts: list[str], *answers: str) -> None:
        super().__init__(*answers)
        self.counts = counts

    def run(self, machine: str, command: str, timeout: int | None = None) -> CommandResult:
        if CONNECTED_MINIONS in command:
            self.commands.append((machine, command, timeout))
            return command_result(0, stdout=self.counts.pop(0) + "\n")
        return super().run(machine, command, timeout)


def test_salts_readiness_probes_once_every_minion_is_connected() -> None:
    every = '{"orka-node-1": true, "orka-node-2": true, "orka-node-3": true}'
    cluster = MinionsConnecting(["0", "2", "3"], every)
    salt = SaltMethod(cluster, 300)

    salt.wait_ready()

    asked = [command for _, command, _ in cluster.commands if "test.ping" in command or CONNECTED_MINIONS in command]
    assert ["test.ping" in command for command in asked] == [False, False, False, True]
    assert salt.last_probe is not None
    assert salt.last_probe.ok


class MinionMissing(StandInCluster):
    """Two of three minions connected, for good; every probe answered by those two only."""

    def __init__(self) -> None:
        super().__init__(command_result(0))

    def run(self, machine: str, command: str, timeout: int | None = None) -> CommandResult:
        if CONNECTED_MINIONS in command:
            return command_result(0, stdout="2\n")
        if "test.ping" in command:
            return command_result(0, stdout='{"orka-node-1": true, "orka-node-2": true}')
        return super().run(machine, command, timeout)


def test_salts_readiness_ends_within_its_timeout_when_a_minion_never_comes() -> None:
    """The wait for connected minions and the probes after it share the one timeout: a minion that never signs
    in is reported once it has passed (it was half as long again)."""
    salt = SaltMethod(MinionMissing(), 2)

    waited = salt.wait_ready()

    assert 2 <= waited < 2.8
    assert salt.last_probe is not None
    assert not salt.last_probe.ok
    assert [h.node for h in salt.last_probe.hosts if not h.ok] == ["orka-node-3"]


def test_salts_readiness_probes_all_the_same_when_the_count_is_unknown() -> None:
    """A master whose kernel table cannot be read is probed as before."""
    every = '{"orka-node-1": true, "orka-node-2": true, "orka-node-3": true}'
    cluster = MinionsConnecting(["no such file"], every)
    salt = SaltMethod(cluster, 300)

    salt.wait_ready()

    assert salt.last_probe is not None
    assert salt.last_probe.ok


@pytest.mark.parametrize("batch_size", [None, 10])
def test_salt_batches_state_runs_only_when_asked(batch_size: int | None) -> None:
    cluster = StandInCluster(command_result(0, stdout='{"orka-node-1": true}'))
    salt = SaltMethod(cluster, 300)
    salt.batch_size = batch_size

    salt.ping()
    salt.apply()

    (_, ping, _), (_, apply, _), *_ = cluster.commands
    assert "--batch-size" not in ping
    assert ("--batch-size=10" in apply) == (batch_size == 10)
    assert ("--batch-size" in apply) == (batch_size is not None)


@pytest.mark.parametrize("command_timeout", [300, 60, 20])
def test_salt_gives_up_on_a_silent_minion_before_the_command_timeout(command_timeout: int) -> None:
    """-t, and then the gather_job_timeout (a quarter), end before the command is stopped."""
    cluster = StandInCluster(command_result(0, stdout='{"orka-node-1": true}'))

    SaltMethod(cluster, command_timeout).ping()
    SaltMethod(cluster, command_timeout).apply()

    # Then salt's job cache, for the minions that did not return (orka stops a job still running there).
    (_, ping, ping_limit), (_, apply, apply_limit), *_ = cluster.commands
    assert salt_wait(ping) == min(10, command_timeout // 4)
    assert salt_wait(ping) + command_timeout // 4 < command_timeout
    assert salt_wait(apply) + command_timeout // 4 < command_timeout
    assert ping_limit == apply_limit == command_timeout


def test_ansible_commands_carry_the_lowered_connect_timeout() -> None:
    cluster = StandInCluster(command_result(0))
    AnsibleMethod(cluster, 20).ping()
    AnsibleMethod(cluster, 300).ping()

    short, default = (command for _, command, _ in cluster.commands)
    assert short.endswith("ansible all -m ping --timeout 5")
    assert default.endswith("ansible all -m ping")


# -- the master's own failures --------------------------------------------------


def test_ssh_failure_takes_the_last_line_ssh_said() -> None:
    exc = RuntimeError(command_result(255, stderr=f"Warning: something\n{NO_ROUTE}\r\n"))
    assert ssh_failure(exc) == NO_ROUTE


def test_ssh_failure_when_ssh_said_nothing_still_says_what_happened() -> None:
    assert ssh_failure(RuntimeError(command_result(255))) == "SSH could not connect (exit 255, no message)"
    assert ssh_failure(RuntimeError("plain")) == "plain"


def test_run_on_an_unreachable_machine_raises_machine_unreachable_with_the_reason() -> None:
    salt = SaltMethod(StandInCluster(ssh_fails=NO_ROUTE), 40, EXAMPLE)
    with pytest.raises(MachineUnreachable, match="orka-master is unreachable: ssh: connect") as raised:
        salt.run_on("orka-master", "true")
    assert (raised.value.machine, raised.value.why) == ("orka-master", NO_ROUTE)


@pytest.mark.parametrize("phase", ["ping", "apply", "orchestrate"])
def test_salt_master_unreachable_is_the_phases_error(phase: str) -> None:
    salt = SaltMethod(StandInCluster(ssh_fails=NO_ROUTE), 40, EXAMPLE)

    result: PhaseResult = getattr(salt, phase)()

    assert result.error == f"Salt master orka-master is unreachable: {NO_ROUTE}"
    assert (result.ok, result.hosts, result.phase) == (False, (), phase)


def test_salt_master_service_stopped_is_the_phases_error() -> None:
    stopped = command_result(1, stderr=f"{MASTER_STOPPED}\n")
    result = SaltMethod(StandInCluster(stopped), 40).apply()
    assert result.error == "Salt master orka-master is unreachable: salt-master is not running there"
    assert not result.ok


@pytest.mark.parametrize("phase", ["ping", "apply", "orchestrate"])
def test_ansible_control_node_unreachable_is_the_phases_error(phase: str) -> None:
    result: PhaseResult = getattr(AnsibleMethod(StandInCluster(ssh_fails=NO_ROUTE), 40, EXAMPLE), phase)()
    assert result.error == f"Ansible control node ansible-master is unreachable: {NO_ROUTE}"
    assert not result.ok


def test_a_salt_command_stopped_by_the_timeout_says_so_and_fails_every_node() -> None:
    result = SaltMethod(StandInCluster(command_result(TIMED_OUT)), 40).ping()

    assert result.error == "salt did not finish within 40 s (timeouts.command) and was stopped"
    assert [h.detail for h in result.hosts] == [f"{NO_RETURN} [No response]"] * 3


def test_a_salt_command_stopped_after_printing_keeps_the_per_node_outcomes() -> None:
    printed = command_result(TIMED_OUT, stdout='{"orka-node-1": true, "orka-node-2": true}')
    result = SaltMethod(StandInCluster(printed), 40).ping()

    assert result.error.startswith("salt did not finish within 40 s")
    assert [h.ok for h in result.hosts] == [True, True, False]


def test_an_ansible_command_stopped_by_the_timeout_says_so() -> None:
    result = AnsibleMethod(StandInCluster(command_result(TIMED_OUT)), 40).apply()
    assert result.error == "ansible did not finish within 40 s (timeouts.command) and was stopped"


# -- the salt-master check, run by a real shell ---------------------------------


def run_guarded(tmp_path: Path, systemctl_exit: int) -> subprocess.CompletedProcess[str]:
    """when_master_runs(...) under sh, with a systemctl that answers is-active with systemctl_exit."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    systemctl = fake_bin / "systemctl"
    systemctl.write_text(f"#!/bin/sh\nexit {systemctl_exit}\n")
    systemctl.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"}
    command = when_master_runs("echo salt ran with '*'")
    return subprocess.run(shlex.split(command), capture_output=True, text=True, env=env, check=False)


def test_when_the_master_runs_the_salt_command_runs(tmp_path: Path) -> None:
    done = run_guarded(tmp_path, systemctl_exit=0)
    assert (done.returncode, done.stdout, done.stderr) == (0, "salt ran with *\n", "")


def test_when_the_master_is_stopped_the_check_says_so_at_once(tmp_path: Path) -> None:
    done = run_guarded(tmp_path, systemctl_exit=3)  # systemctl is-active: inactive
    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"{MASTER_STOPPED}\n")


# -- the condition every record carries ------------------------------------------


def test_every_record_carries_its_condition_normal_by_default() -> None:
    result = PhaseResult("custom", "ping", (), 0.5)
    context = RunContext("run", 3, "docker", "orka-runner 0.1.0")

    assert {r["condition"] for r in records(result, context, judge(result, Expectations(())))} == {"normal"}
    latency = RunContext("run", 3, "docker", "orka-runner 0.1.0", condition="latency 100 ms")
    result = PhaseResult("custom", "ping", (HostOutcome("orka-node-1", ok=True),), 0.5)
    judged = judge(result, Expectations(("orka-node-1",)))
    assert [r["condition"] for r in records(result, latency, judged)] == ["latency 100 ms"] * 2


# -- a machine started again: the ssh-config follows its new address ----------------

SSH_CONFIG = """Host orka-master
  HostName 172.17.0.2
  User vagrant

Host orka-node-3
  HostName 172.17.0.6
  User vagrant
  IdentityFile /keys/id_ed25519
"""


def test_point_ssh_config_changes_only_that_machines_address(tmp_path: Path) -> None:
    path = tmp_path / "ssh_config"
    path.write_text(SSH_CONFIG)

    point_ssh_config(path, "orka-node-3", "172.17.0.9")

    assert path.read_text() == SSH_CONFIG.replace("172.17.0.6", "172.17.0.9")
    assert [p.name for p in tmp_path.iterdir()] == ["ssh_config"]


def test_point_ssh_config_at_a_machine_it_does_not_name_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ssh_config"
    path.write_text(SSH_CONFIG)

    with pytest.raises(FaultError, match="has no `Host orka-node-4` with a HostName"):
        point_ssh_config(path, "orka-node-4", "172.17.0.9")
    assert path.read_text() == SSH_CONFIG
