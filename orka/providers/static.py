"""provider static: the spikes on existing hosts (a staging fleet, cloud VMs) instead of machines orka makes.

orka creates and destroys no machine here. Bring-up checks that every listed
host answers over SSH (naming each that does not, and why), then executes
each machine's plan as the Vagrantfile does on orka's own machines: its
folders and its upload copied over SSH, then its commands. Since no host is
remade between methods, the plan takes each node back to fresh first.
Teardown removes orka's own state, and on each selected method's master what
of the team's (its keys) the method placed there; Salt and Ansible stay
installed, as a team expects of hosts it handed to orka.
"""

from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from orka import methods
from orka.config.settings import Settings, Timeouts
from orka.errors import ClusterError
from orka.plan import layout
from orka.plan.build import STATIC, build_plan, machines_of
from orka.plan.spec import ClusterSpec, Folder, MachineSpec
from orka.plan.sshconfig import SshEntry, close_masters, multiplexed, render
from orka.plan.state import CACHE_ROOT, WHEELHOUSE_PINS, ClusterPaths, write_spec
from orka.plan.wheelhouse import ensure_wheelhouse
from orka.progress import Emit, step
from orka.providers.base import Cluster, Provider
from orka.secrets import redact

# Names the wheelhouse a host holds, so an unchanged one is not sent again.
WHEELHOUSE_MARK = ".orka-wheelhouse"
SKIP = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
SSH_CONNECT_TIMEOUT_S = 10
_WORKER = re.compile(r"-gw\d+$")

# What the first SSH session checks on every host, exit code -> the problem and its fix.
PROBE = (
    "sudo -n true 2>/dev/null || exit 90; command -v python3 >/dev/null || exit 91; "
    f"command -v systemctl >/dev/null || exit 92; cat {layout.REMOTE_WHEELHOUSE}/{WHEELHOUSE_MARK} 2>/dev/null; exit 0"
)
PROBE_PROBLEMS = {
    90: (
        "{user} cannot run sudo without a password",
        "allow it, e.g. '{user} ALL=(ALL) NOPASSWD:ALL' in /etc/sudoers.d",
    ),
    91: ("python3 is missing (Ansible and orka's runner need it)", "install python3 on the host"),
    92: ("systemctl is missing (the methods manage systemd services)", "use a host that runs systemd"),
}


def _bullets(problems: list[str]) -> str:
    return "\n".join(f"  - {p}" for p in problems)


@dataclass(frozen=True)
class Payload:
    """What one machine's plan needs copied before its commands run."""

    folders: tuple[Folder, ...]
    upload: Path | None = None
    wheelhouse: Path | None = None  # left out when the host holds it already

    @property
    def remote_paths(self) -> list[str]:
        remote = [f.guest for f in self.folders]
        remote += [layout.REMOTE_WHEELHOUSE] if self.wheelhouse else []
        remote += [layout.REMOTE_UPLOAD] if self.upload else []
        return remote

    def write(self, stream: IO[bytes]) -> None:
        """A tar stream of it, with paths relative to / (extracted as root, owned by root)."""
        with tarfile.open(fileobj=stream, mode="w|") as tar:
            for folder in self.folders:
                tar.add(folder.host, arcname=folder.guest.lstrip("/"), filter=_owned_by_root)
            if self.wheelhouse is not None:
                tar.add(self.wheelhouse, arcname=layout.REMOTE_WHEELHOUSE.lstrip("/"), filter=_owned_by_root)
                mark = tarfile.TarInfo(f"{layout.REMOTE_WHEELHOUSE.lstrip('/')}/{WHEELHOUSE_MARK}")
                data = self.wheelhouse.name.encode()
                mark.size = len(data)
                tar.addfile(mark, io.BytesIO(data))
            if self.upload is not None:  # keys: root's only
                tar.add(self.upload, arcname=layout.REMOTE_UPLOAD.lstrip("/"), filter=_root_only)


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if any(part in SKIP for part in Path(info.name).parts) or info.name.endswith(".pyc"):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _root_only(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = 0o700 if info.isdir() else 0o600
    return info


class StaticCluster(Cluster):
    """An existing fleet, driven over SSH: orka creates, starts, stops and destroys no machine of it."""

    def __init__(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> None:
        super().__init__(spec, timeouts, emit)
        self.log = self.paths.log_file("static")
        # Whether the plan's commands may have run, so that teardown removes what they placed (keys).
        self.provisioned = False
        self._log_lock = threading.Lock()

    def where(self, machine: str) -> str:
        """'orka-node-2 (10.0.0.22)', as messages name a host."""
        host = self.spec.machine(machine)
        port = f":{host.port}" if host.port != 22 else ""
        return f"{machine} ({host.ip}{port})"

    def ssh(
        self, machine: str, command: str, timeout: float, stdin: int | None = None
    ) -> subprocess.Popen[bytes] | subprocess.CompletedProcess[str]:
        """OpenSSH with orka's ssh_config: a running process when stdin is a pipe, else its result."""
        argv = ["ssh", "-F", str(self.paths.ssh_config), machine, command]
        if stdin is not None:
            return subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def hand_command(self, machine: str, command: str) -> subprocess.CompletedProcess[str]:
        """A fleet has no Vagrant: what a user types is `ssh -F .orka/clusters/NAME/ssh_config MACHINE COMMAND`."""
        result = self.ssh(machine, command, self.timeouts.command_s)
        assert isinstance(result, subprocess.CompletedProcess)
        return result

    def write_ssh_config(self) -> None:
        known_hosts = self.spec.known_hosts
        if known_hosts != "none":  # OpenSSH adds to the file, but makes no folder for it
            Path(known_hosts).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        entries = (SshEntry(m.name, m.ip, m.port, m.user, m.key) for m in self.machines)
        text = render(
            entries,
            known_hosts=None if known_hosts == "none" else known_hosts,
            connect_timeout_s=SSH_CONNECT_TIMEOUT_S,
            log_level="ERROR",
        )
        self.paths.ssh_config.write_text(multiplexed(text, self.paths.ssh_sockets))

    # -- lifecycle -------------------------------------------------------

    def up(self) -> None:
        """Check every host over SSH, then provision each with its plan, all at once."""
        write_spec(self.spec, self.paths)
        self.write_ssh_config()
        marks = self.check_reachable()
        self.provisioned = True
        self.provision(marks)

    def check_reachable(self) -> dict[str, str]:
        """Every host answers over SSH, with passwordless sudo, python3 and systemd; the wheelhouse each holds."""
        with step(self.emit, f"static fleet {self.name}: checking {len(self.machines)} hosts over SSH"):
            with ThreadPoolExecutor(max_workers=min(32, len(self.machines))) as pool:
                answers = dict(zip(self.machines, pool.map(self._probe, self.machines), strict=True))
            problems = [why for why, _ in answers.values() if why]
            if problems:
                raise ClusterError(f"static fleet {self.name}: not every host can be used:\n" + _bullets(problems))
        return {m.name: mark for m, (_, mark) in answers.items()}

    def _probe(self, machine: MachineSpec) -> tuple[str, str]:
        try:
            result = self.ssh(machine.name, PROBE, SSH_CONNECT_TIMEOUT_S + self.timeouts.ready_s)
        except subprocess.TimeoutExpired:
            return f"{self.where(machine.name)}: no answer over SSH in {self.timeouts.ready_s} s (timeouts.ready)", ""
        assert isinstance(result, subprocess.CompletedProcess)
        if result.returncode == 255:
            detail = (result.stderr.strip().splitlines() or ["ssh failed"])[-1]
            return (
                f"{self.where(machine.name)}: unreachable over SSH: {detail}; fix: check the host is up and sshd "
                f"listens on port {machine.port}, and that {machine.key} logs in as {machine.user} "
                f"(ssh -i {machine.key} -p {machine.port} {machine.user}@{machine.ip} true)"
            ), ""
        if result.returncode in PROBE_PROBLEMS:
            problem, fix = (text.format(user=machine.user) for text in PROBE_PROBLEMS[result.returncode])
            return f"{self.where(machine.name)}: {problem}; fix: {fix}", ""
        if result.returncode != 0:
            return f"{self.where(machine.name)}: the SSH check failed (exit {result.returncode}): {result.stderr}", ""
        return "", result.stdout.strip()

    def provision(self, marks: dict[str, str]) -> None:
        """The plan of every host at once: copy what it gives the machine, then run its commands."""
        what = f"static fleet {self.name}: provisioning {len(self.masters)} master(s) + {len(self.nodes)} nodes"
        with step(self.emit, what):
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with ThreadPoolExecutor(max_workers=min(32, len(self.machines))) as pool:
                futures = [pool.submit(self._provision_one, m, marks.get(m.name, "")) for m in self.machines]
                problems = [p for p in (f.result() for f in futures) if p]
            if problems:
                raise ClusterError(
                    f"static fleet {self.name}: provisioning failed:\n{_bullets(problems)}\nlog: {self.log}"
                )

    def _provision_one(self, machine: MachineSpec, wheelhouse_mark: str) -> str | None:
        start = time.monotonic()
        payload = self.payload(machine, wheelhouse_mark)
        problem = self._copy(machine, payload)
        if problem:
            return problem
        command = "sudo bash -c " + shlex.quote("set -e; " + " && ".join(machine.commands))
        try:
            result = self.ssh(machine.name, command, self.timeouts.up_s)
        except subprocess.TimeoutExpired:
            return f"{self.where(machine.name)}: provisioning did not finish in {self.timeouts.up_s} s (timeouts.up)"
        assert isinstance(result, subprocess.CompletedProcess)
        self._log(machine.name, f"$ {command}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            tail = "\n".join(f"      {line}" for line in (result.stdout + result.stderr).strip().splitlines()[-8:])
            return f"{self.where(machine.name)}: provisioning failed (exit {result.returncode}):\n{tail}"
        sent = " (with the wheelhouse)" if payload.wheelhouse else ""
        self.emit(f"[orka]   {self.where(machine.name)}: provisioned{sent} in {time.monotonic() - start:.1f} s")
        return None

    def payload(self, machine: MachineSpec, wheelhouse_mark: str) -> Payload:
        """The machine's folders and upload, as files to copy; its wheelhouse only when the host lacks it."""
        folders = tuple(f for f in machine.folders if f.guest != layout.REMOTE_WHEELHOUSE)
        wheelhouse = next((Path(f.host) for f in machine.folders if f.guest == layout.REMOTE_WHEELHOUSE), None)
        if wheelhouse is not None and wheelhouse_mark == wheelhouse.name:
            wheelhouse = None  # the host holds this wheelhouse already
        return Payload(folders, Path(machine.upload) if machine.upload else None, wheelhouse)

    def _copy(self, machine: MachineSpec, payload: Payload) -> str | None:
        remove = " ".join(shlex.quote(p) for p in payload.remote_paths)
        command = "sudo sh -c " + shlex.quote(f"rm -rf {remove} && tar -C / --no-same-owner -xf -")
        process = self.ssh(machine.name, command, self.timeouts.up_s, stdin=subprocess.PIPE)
        assert isinstance(process, subprocess.Popen)
        assert process.stdin is not None
        assert process.stdout is not None
        timer = threading.Timer(self.timeouts.up_s, process.kill)
        timer.start()
        try:
            try:
                payload.write(process.stdin)
            except BrokenPipeError:
                pass  # the remote side failed; its output says why
            finally:
                process.stdin.close()
            output = process.stdout.read().decode(errors="replace")
            code = process.wait()
        finally:
            timer.cancel()
        self._log(machine.name, f"$ {command}\n{output}")
        if code != 0:
            return f"{self.where(machine.name)}: copying the provisioning files failed (exit {code}): {output.strip()}"
        return None

    def _log(self, machine: str, text: str) -> None:
        with self._log_lock, self.log.open("a") as log:
            log.write(f"\n[{machine}] {redact(text)}")

    def _degraded_problem(self, machine: str, failed: list[str]) -> str | None:
        """A unit orka installed that failed is orka's problem; one of the fleet's own is the team's: a warning."""
        units = {unit for d in methods.descriptors() for unit in d.units}
        ours = [unit for unit in failed if unit in units]
        if ours:
            return f"{self.where(machine)}: {', '.join(ours)} failed (see journalctl -u {ours[0]})"
        self.emit(f"[orka]   warning: {self.where(machine)}: systemd is degraded ({', '.join(failed)})")
        return None

    def machine_states(self) -> dict[str, str]:
        return {m.name: "existing host" for m in self.machines}

    def exists(self) -> bool:
        return False  # orka made no machine of it

    def is_running(self) -> bool:
        return self.paths.spec_file.exists()

    def destroy(self) -> None:
        """Remove orka's state of the fleet (keys, ssh_config); every host stays as provisioned, but for what
        each method's teardown takes back from its master (the fleet's keys): no team's key outlives the run."""
        with step(self.emit, f"static fleet {self.name}: removing orka's state (the hosts stay as they are)"):
            # A plan in the state folder (what `orka down` finds) means the hosts may hold what it placed.
            if self.provisioned or self.reused or self.paths.spec_file.exists():
                self._teardown_on_masters()
            close_masters(self.paths.ssh_sockets)
            shutil.rmtree(self.paths.state_dir, ignore_errors=True)

    def _teardown_on_masters(self) -> None:
        if not self.paths.ssh_config.exists():
            self.write_ssh_config()
        for descriptor in methods.descriptors():
            if descriptor.name not in self.spec.methods or not descriptor.teardown_on_hosts:
                continue
            for master in descriptor.masters:
                command = descriptor.teardown_on_hosts
                try:
                    result = self.ssh(master.name, f"sudo sh -c {shlex.quote(command)}", self.timeouts.ready_s)
                    failed = result.returncode != 0
                except subprocess.TimeoutExpired:
                    failed = True
                if failed:
                    where = self.where(master.name)
                    self.emit(f"[orka]   warning: {where}: remove the fleet's keys by hand: sudo {command}")


class StaticProvider(Provider):
    name = STATIC

    def check_name(self, name: str) -> None:
        if _WORKER.search(name):
            raise ClusterError(
                "provider static drives one fleet, which pytest-xdist workers cannot share: run without -n"
            )

    def prepare(self, settings: Settings, name: str, emit: Emit) -> ClusterSpec:
        """The plan of the fleet, and what it needs from the host: the wheelhouse, the keys its methods stage."""
        fleet = settings.fleet
        if fleet is None:
            raise ClusterError("provider static needs static.hosts in the settings")
        emit(f"[orka] provider: static ({len(fleet.hosts)} existing hosts from {settings.source}; orka creates none)")
        needs_tools = any(m.tools for m in machines_of(settings, None, fleet))
        wheelhouse = (
            ensure_wheelhouse(WHEELHOUSE_PINS, CACHE_ROOT / "wheelhouse", emit, settings.platform)
            if needs_tools
            else None
        )
        state_dir = ClusterPaths.for_name(name).state_dir
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        state_dir.chmod(0o700)
        # As on a Vagrant cluster, the control node holds the key the nodes take: here the fleet's own.
        return build_plan(
            settings,
            name=name,
            provider=self.name,
            ssh_private_key=Path(fleet.nodes[0].key),
            ssh_public_key=None,  # the fleet's logins are the team's: orka authorizes no key of its own
            wheelhouse=wheelhouse,
            fleet=fleet,
        )

    def cluster(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> StaticCluster:
        return StaticCluster(spec, timeouts, emit)
