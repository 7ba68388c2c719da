"""Faults put on a running cluster of the docker provider: a machine stopped, latency on its network.

For the fault tests and for benchmarks that measure the methods under a
condition. Everything is done from the host, as root: the node image needs no
tc, no iptables and no NET_ADMIN capability.

- A machine is stopped with `docker kill`, as by a power cut (`docker stop`
  would wait 10 s for systemd, which ignores SIGTERM as PID 1), and started
  again with `docker start`; the cluster's ssh-config then follows the new
  address docker's bridge gave it.
- Latency is added inside the machine's network namespace (entered with
  `nsenter -t PID -n`) on every packet it sends, on all of its interfaces:
  with `tc qdisc ... netem delay` where the kernel has sch_netem, else with
  orka.testing.netdelay (an NFQUEUE rule and a small user-space delayer), which adds
  the same fixed delay on kernels built without netem, as this build machine's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from orka.errors import OrkaError
from orka.files import write_atomically
from orka.plan.spec import ClusterSpec
from orka.plan.state import ClusterPaths

NETEM = "tc netem"
NFQUEUE = "nfqueue delayer (orka.testing.netdelay)"
# Any queue number does: queues belong to the network namespace, and each machine has its own.
QUEUE = 4242
# The delayer's rule: every packet the machine sends, except to itself. --queue-bypass lets
# traffic through undelayed, never dropped, while no delayer listens.
NFQUEUE_RULE = ["OUTPUT", "!", "-o", "lo", "-j", "NFQUEUE", "--queue-num", str(QUEUE), "--queue-bypass"]
COMMAND_TIMEOUT_S = 30
BOOT_TIMEOUT_S = 120  # a machine started again boots systemd before it answers
# Where Vagrant's docker provider reaches a machine over SSH: its address on docker's bridge.
BRIDGE_ADDRESS = '{{with index .NetworkSettings.Networks "bridge"}}{{.IPAddress}}{{end}}'


class FaultError(OrkaError):
    """A fault could not be put on (or taken off) a machine; says which and why."""


class FaultTarget(Protocol):
    """What a fault needs of a cluster: its plan, and where its ssh-config is."""

    @property
    def spec(self) -> ClusterSpec: ...

    @property
    def paths(self) -> ClusterPaths: ...


def _run(command: list[str], what: str, timeout_s: int = COMMAND_TIMEOUT_S) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise FaultError(
            f"{what}: {command[0]} is not installed (apt-get install iproute2 iptables util-linux)"
        ) from None
    except subprocess.TimeoutExpired:
        raise FaultError(f"{what}: `{' '.join(command)}` did not finish in {timeout_s} s") from None
    if done.returncode != 0:
        why = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]
        raise FaultError(f"{what}: `{' '.join(command)}` failed: {why}")
    return done.stdout


def container(cluster: FaultTarget, machine: str) -> str:
    """The docker container of a machine of the cluster (faults need the docker provider)."""
    spec = cluster.spec
    if spec.provider != "docker":
        raise FaultError(f"faults are put on docker containers; cluster {spec.name} runs on {spec.provider}")
    if machine not in {m.name for m in spec.machines}:
        known = ", ".join(m.name for m in spec.machines)
        raise FaultError(f"cluster {spec.name} has no machine {machine}; it has: {known}")
    return spec.container_name(machine)


def is_running(cluster: FaultTarget, machine: str) -> bool:
    name = container(cluster, machine)
    state = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Running}}", name], capture_output=True, text=True, check=False
    )
    return state.stdout.strip() == "true"


def stop_machine(cluster: FaultTarget, machine: str) -> None:
    """Stop a machine at once, as a power cut would: no service gets to say goodbye."""
    _run(["docker", "kill", container(cluster, machine)], f"stopping {machine}")


def start_machines(cluster: FaultTarget, machines: list[str]) -> None:
    """Start stopped machines again, wait until each has booted, and point the cluster's
    ssh-config at the address each came back on (docker's bridge may hand out another one)."""
    for machine in machines:
        _run(["docker", "start", container(cluster, machine)], f"starting {machine}")
    # Through docker, not SSH: sshd is not up yet, and the address may be new. Until systemd
    # has its bus up, systemctl only fails; then it waits for the boot to end.
    booted = (
        'until s=$(systemctl is-system-running --wait 2>&1); [ "$s" = running ] || [ "$s" = degraded ]; '
        'do sleep 0.5; done; echo "$s"; systemctl --failed --no-legend --plain | cut -d" " -f1'
    )
    for machine in machines:
        name = container(cluster, machine)
        state, *failed = _run(
            ["docker", "exec", name, "timeout", str(BOOT_TIMEOUT_S), "sh", "-c", booted],
            f"waiting for {machine} to boot",
            BOOT_TIMEOUT_S + 5,
        ).split()
        if state != "running":
            raise FaultError(f"{machine} started again, but systemd is {state}; failed units: {', '.join(failed)}")
        address = _run(["docker", "inspect", "--format", BRIDGE_ADDRESS, name], f"finding {machine}").strip()
        point_ssh_config(cluster.paths.ssh_config, machine, address)


def point_ssh_config(path: Path, machine: str, address: str) -> None:
    """Set the HostName of `Host machine` in an OpenSSH config; the file is replaced whole."""
    lines = path.read_text().splitlines(keepends=True)
    current, found = "", False
    for number, line in enumerate(lines):
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0].lower() == "host":
            current = parts[1].strip()
        elif len(parts) == 2 and parts[0].lower() == "hostname" and current == machine:
            lines[number] = f"{line[: len(line) - len(line.lstrip())]}HostName {address}\n"
            found = True
    if not found:
        raise FaultError(f"{path} has no `Host {machine}` with a HostName to point at {address}")
    write_atomically(path, "".join(lines))


@dataclass
class Latency:
    """Latency put on one machine; take it off with remove_latency()."""

    machine: str
    pid: int
    delay_ms: int
    how: str  # NETEM or NFQUEUE
    interfaces: tuple[str, ...]
    delayer: subprocess.Popen[str] | None = None


def _in_namespace(pid: int, *command: str) -> list[str]:
    return ["nsenter", "-t", str(pid), "-n", *command]


def _interfaces(pid: int, machine: str) -> tuple[str, ...]:
    """The machine's network interfaces but loopback ('eth1@if2488' is eth1)."""
    listing = _run(_in_namespace(pid, "ip", "-o", "link", "show"), f"listing the interfaces of {machine}")
    names = [line.split(":")[1].strip().split("@")[0] for line in listing.splitlines() if ":" in line]
    return tuple(n for n in names if n != "lo")


def add_latency(cluster: FaultTarget, machine: str, delay_ms: int) -> Latency:
    """Delay every packet the machine sends by delay_ms (so each round trip to it grows by that)."""
    if delay_ms < 1:
        raise FaultError(f"latency of {delay_ms} ms on {machine}: give at least 1 ms")
    if os.geteuid() != 0:
        raise FaultError(f"latency on {machine}: entering its network namespace needs root; run as root")
    name = container(cluster, machine)
    pid = int(_run(["docker", "inspect", "--format", "{{.State.Pid}}", name], f"finding {machine}").strip() or 0)
    if pid <= 0:
        raise FaultError(f"latency on {machine}: its container {name} is not running")
    interfaces = _interfaces(pid, machine)
    if _kernel_has_netem(pid, interfaces[0], delay_ms):
        latency = Latency(machine, pid, delay_ms, NETEM, interfaces)
        for interface in interfaces[1:]:
            _run(_in_namespace(pid, *_netem(interface, delay_ms)), f"latency on {machine} {interface}")
        return latency
    return _add_delayer(machine, pid, delay_ms, interfaces)


def _netem(interface: str, delay_ms: int) -> list[str]:
    return ["tc", "qdisc", "replace", "dev", interface, "root", "netem", "delay", f"{delay_ms}ms"]


def _kernel_has_netem(pid: int, interface: str, delay_ms: int) -> bool:
    """Put netem on the first interface; False (and nothing changed) when the kernel has no netem."""
    try:
        _run(_in_namespace(pid, *_netem(interface, delay_ms)), "netem")
    except FaultError as exc:
        if "qdisc kind is unknown" in str(exc):
            return False
        raise
    return True


def _add_delayer(machine: str, pid: int, delay_ms: int, interfaces: tuple[str, ...]) -> Latency:
    # The delayer listens first, then the rule sends it the packets: none is held by nobody.
    delayer = subprocess.Popen(
        _in_namespace(
            pid, sys.executable, "-m", "orka.testing.netdelay", "--queue", str(QUEUE), "--delay-ms", str(delay_ms)
        ),
        stdin=subprocess.PIPE,  # closed by remove_latency, or by the end of this process: the delayer then exits
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert delayer.stdout is not None
    started = delayer.stdout.readline()
    if not started.startswith("orka.testing.netdelay:"):
        _, err = delayer.communicate(timeout=COMMAND_TIMEOUT_S)
        raise FaultError(f"latency on {machine}: the delayer did not start: {(err or started).strip()}")
    latency = Latency(machine, pid, delay_ms, NFQUEUE, interfaces, delayer)
    try:
        _run(_in_namespace(pid, "iptables", "-w", "-I", *NFQUEUE_RULE), f"latency on {machine}")
    except BaseException:
        _stop_delayer(latency)
        raise
    return latency


def _stop_delayer(latency: Latency) -> None:
    process = latency.delayer
    if process is None:
        return
    try:
        process.communicate(timeout=COMMAND_TIMEOUT_S)  # closes its stdin: it lets held packets go, and exits
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def remove_latency(latency: Latency) -> None:
    """Take the latency off again; a machine stopped meanwhile has nothing left to take off."""
    try:
        if latency.how == NETEM:
            for interface in latency.interfaces:
                _run(_in_namespace(latency.pid, "tc", "qdisc", "del", "dev", interface, "root"), "removing netem")
        else:
            # The rule goes first: packets already held are let go when the delayer stops.
            _run(_in_namespace(latency.pid, "iptables", "-w", "-D", *NFQUEUE_RULE), "removing the delayer's rule")
    except FaultError:
        if os.path.exists(f"/proc/{latency.pid}"):
            raise
    finally:
        _stop_delayer(latency)


@contextmanager
def latency(cluster: FaultTarget, machines: list[str], delay_ms: int) -> Iterator[list[Latency]]:
    """Latency on each of the machines for the block; always taken off after, also on failure."""
    with ExitStack() as stack:
        added = []
        for machine in machines:
            added.append(add_latency(cluster, machine, delay_ms))
            stack.callback(remove_latency, added[-1])
        yield added


def _pid(cluster: FaultTarget, machine: str) -> int:
    name = container(cluster, machine)
    pid = int(_run(["docker", "inspect", "--format", "{{.State.Pid}}", name], f"finding {machine}").strip() or 0)
    if pid <= 0:
        raise FaultError(f"{machine}: its container {name} is not running")
    return pid


def _loss_rule(percent: int) -> list[str]:
    return ["OUTPUT", "!", "-o", "lo", "-m", "statistic", "--mode", "random", "--probability", f"{percent / 100:.2f}",
            "-j", "DROP"]  # fmt: skip


@contextmanager
def packet_loss(cluster: FaultTarget, machines: list[str], percent: int) -> Iterator[None]:
    """Every packet the machines send dropped at random with the given chance, for the block (iptables'
    statistic match in each machine's network namespace: no netem needed); taken off after, also on failure."""
    if not 0 < percent < 100:
        raise FaultError(f"packet loss of {percent}%: give 1 to 99")
    if os.geteuid() != 0:
        raise FaultError("packet loss: entering a machine's network namespace needs root; run as root")
    with ExitStack() as stack:
        for machine in machines:
            pid = _pid(cluster, machine)
            _run(_in_namespace(pid, "iptables", "-w", "-I", *_loss_rule(percent)), f"packet loss on {machine}")
            stack.callback(_remove_loss, pid, machine, percent)
        yield


def _remove_loss(pid: int, machine: str, percent: int) -> None:
    try:
        _run(_in_namespace(pid, "iptables", "-w", "-D", *_loss_rule(percent)), f"removing packet loss on {machine}")
    except FaultError:
        if os.path.exists(f"/proc/{pid}"):  # a machine restarted meanwhile has a new namespace, without the rule
            raise


def restart_machine(cluster: FaultTarget, machine: str) -> None:
    """The machine rebooted as by a power cut and back: killed, started, booted, the ssh-config following it."""
    stop_machine(cluster, machine)
    start_machines(cluster, [machine])


def in_machine(cluster: FaultTarget, machine: str, command: str, what: str) -> str:
    """A command as root inside the machine, through docker (not SSH, which a fault may have taken away)."""
    return _run(["docker", "exec", container(cluster, machine), "sh", "-c", command], what)


def stop_sshd(cluster: FaultTarget, machine: str) -> None:
    """sshd stopped on the machine (its sessions already open go on, as on a real server); no new login gets in."""
    in_machine(cluster, machine, "systemctl stop ssh.socket ssh.service 2>/dev/null; systemctl stop ssh",
               f"stopping sshd on {machine}")  # fmt: skip


def start_sshd(cluster: FaultTarget, machine: str) -> None:
    in_machine(cluster, machine, "systemctl start ssh", f"starting sshd on {machine}")


def wait_until_running(cluster: FaultTarget, machine: str, pattern: str, timeout_s: float) -> bool:
    """Whether a process matching the pattern (pgrep -f) ran on the machine within the time: a step under way."""
    deadline = time.monotonic() + timeout_s
    name = container(cluster, machine)
    while time.monotonic() < deadline:
        found = subprocess.run(["docker", "exec", name, "pgrep", "-f", pattern], capture_output=True, check=False)
        if found.returncode == 0:
            return True
        time.sleep(0.2)
    return False
