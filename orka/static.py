"""provider: static: the spikes on existing hosts (a staging fleet, cloud VMs) instead of machines orka makes.

orka creates and destroys no machine here. Bring-up checks that every listed
host answers over SSH (naming each that does not, and why), then provisions
what the selected methods need by running the same vagrant/provision scripts,
with the same arguments, that the Vagrantfile runs on its machines: the
files those machines see through synced folders (the scripts, the wheelhouse,
the Salt tree, the Ansible folder, each machine's own keys) are copied over
SSH first. Since no host is remade between methods, as orka's own machines
are, each node is first taken back to fresh: the desired state any method
left there is removed (desired_state.RESET). Teardown removes orka's own
state only: Salt and Ansible stay installed on the fleet, as a team expects
of hosts it handed to orka.

Method adapters see a StaticCluster as they see a Cluster: nodes, masters,
host(), run(), inventory() (the runner reads the same ssh_config).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from orka.cluster import (
    CACHE_ROOT,
    STATE_ROOT,
    VAGRANT_DIR,
    WHEELHOUSE_PINS,
    Cluster,
    ClusterPaths,
    read_spec,
    stage_uploads,
    write_spec,
)
from orka.desired_state import RESET
from orka.errors import ClusterError
from orka.fleet import Fleet, FleetHost
from orka.progress import Emit, step
from orka.settings import REPO_ROOT, Settings, Timeouts
from orka.spec import NODE_SOURCE, NODE_WHEELHOUSE, ClusterSpec, MachineSpec, master_machines, needs_tools
from orka.wheelhouse import ensure_wheelhouse

PROVIDER = "static"
PROVISION_DIR = VAGRANT_DIR / "provision"
# Where each machine finds what the Vagrantfile's synced folders give it.
REMOTE_PROVISION = f"{NODE_SOURCE}/vagrant/provision"
REMOTE_UPLOAD = "/tmp/orka-upload"
REMOTE_SALT_TREE = "/srv/salt"
REMOTE_ANSIBLE_CONFIG = "/opt/orka/ansible/config"
# The fleet's login keys on the control node, one file per distinct key (the
# nodes may differ in user and key; host_vars say which is whose).
REMOTE_FLEET_KEYS = "/root/.ssh/orka_fleet"
REMOTE_HOST_VARS = "/etc/ansible/host_vars"
CONTROL_NODE = "ansible-master"
ORKA_CLUSTER_KEY = "/root/.ssh/orka_cluster"  # where ansible-master.sh installs the control node's key
# Names the wheelhouse a host holds, so an unchanged one is not sent again.
WHEELHOUSE_MARK = ".orka-wheelhouse"
# Salt stays installed on a fleet after the salt method ran: while a method without salt runs, the
# minion orka installed (its unit names orka) is stopped and disabled; salt-minion.sh starts it again.
STOP_ORKA_MINION = (
    "if grep -qs 'installed by orka' /etc/systemd/system/salt-minion.service; then "
    "systemctl disable --now --quiet salt-minion; fi"
)
# Units orka installs: their failure is orka's, not the fleet's.
ORKA_UNITS = ("salt-master.service", "salt-minion.service")
SKIP = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
SSH_CONNECT_TIMEOUT_S = 10
_WORKER = re.compile(r"-gw\d+$")

# What the first SSH session checks on every host, exit code -> the problem and its fix.
PROBE = (
    "sudo -n true 2>/dev/null || exit 90; command -v python3 >/dev/null || exit 91; "
    f"command -v systemctl >/dev/null || exit 92; cat {NODE_WHEELHOUSE}/{WHEELHOUSE_MARK} 2>/dev/null; exit 0"
)
PROBE_PROBLEMS = {
    90: (
        "{user} cannot run sudo without a password",
        "allow it, e.g. '{user} ALL=(ALL) NOPASSWD:ALL' in /etc/sudoers.d",
    ),
    91: ("python3 is missing (Ansible and orka's runner need it)", "install python3 on the host"),
    92: ("systemctl is missing (the methods manage systemd services)", "use a host that runs systemd"),
}


def fleet_paths(name: str) -> ClusterPaths:
    return ClusterPaths.for_name(name)


def log_file(name: str) -> Path:
    return STATE_ROOT / "logs" / f"{name}-static.log"


def render_ssh_config(fleet: Fleet, machines: tuple[MachineSpec, ...]) -> str:
    """An OpenSSH config with one `Host` per machine, by orka's name for it.

    Host keys: a host seen first is added to the settings' known_hosts file, a
    host whose key changed is refused (accept-new); `known_hosts: none` checks none.
    """
    by_name = {h.name: h for h in fleet.hosts}
    if fleet.known_hosts is None:
        checking = "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
    else:
        checking = f'  StrictHostKeyChecking accept-new\n  UserKnownHostsFile "{fleet.known_hosts}"\n'
    blocks = []
    for machine in machines:
        host = by_name[machine.name]
        blocks.append(
            f"Host {host.name}\n"
            f"  HostName {host.address}\n"
            f"  User {host.user}\n"
            f"  Port {host.port}\n"
            f'  IdentityFile "{host.key}"\n'
            "  IdentitiesOnly yes\n"
            "  PasswordAuthentication no\n"
            "  BatchMode yes\n"
            f"  ConnectTimeout {SSH_CONNECT_TIMEOUT_S}\n"
            f"{checking}"
            "  LogLevel ERROR\n"
        )
    return "\n".join(blocks)


def fleet_machines(fleet: Fleet, methods: tuple[str, ...]) -> tuple[MachineSpec, ...]:
    """The masters the selected methods need, then the nodes: the machines of a Vagrant plan, by the fleet."""
    masters = [
        MachineSpec(name, role, _host_of(fleet, role).address, tools=needs_tools(role, methods))
        for name, role in master_machines(methods)
    ]
    nodes = [
        MachineSpec(n.name, "node", n.address, primary=i == 0, tools=needs_tools("node", methods))
        for i, n in enumerate(fleet.nodes)
    ]
    return tuple(masters + nodes)


def _host_of(fleet: Fleet, role: str) -> FleetHost:
    host = fleet.master(role)
    if host is None:  # settings validation makes sure of it
        raise ClusterError(f"static.hosts lists no {role}")
    return host


def prepare_fleet(settings: Settings, name: str, emit: Emit) -> tuple[ClusterSpec, Fleet]:
    """The plan of the fleet, and what it needs from the host: the wheelhouse, Salt keys, the control node's keys."""
    fleet = settings.fleet
    if fleet is None:
        raise ClusterError("provider static needs static.hosts in the settings")
    emit(f"[orka] provider: static ({len(fleet.hosts)} existing hosts from {settings.source}; orka creates none)")
    paths = fleet_paths(name)
    machines = fleet_machines(fleet, settings.methods)
    nodes = [m.name for m in machines if m.role == "node"]
    with_tools = any(m.tools for m in machines)
    wheelhouse = ensure_wheelhouse(WHEELHOUSE_PINS, CACHE_ROOT / "wheelhouse", emit) if with_tools else Path()
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    paths.state_dir.chmod(0o700)
    # As on a Vagrant cluster, the control node holds the key the nodes take:
    # here the fleet's own (ansible-master.sh installs the first as orka_cluster).
    stage_uploads(paths, settings.methods, nodes, Path(fleet.nodes[0].key))
    spec = ClusterSpec(
        name=name,
        provider=PROVIDER,
        image="",
        tools_image="",
        box="",
        cpus=settings.node.cpus,
        memory_mb=settings.node.memory_mb,
        boot_timeout_s=settings.timeouts.ready_s,
        subnet="existing hosts",
        machines=machines,
        ssh_private_key=str(fleet.nodes[0].key),
        ssh_public_key="",  # the fleet's logins are the team's: orka authorizes no key of its own
        repo_root=str(REPO_ROOT),
        wheelhouse=str(wheelhouse) if with_tools else "",
        salt_tree=str(settings.salt_tree),
        ansible_config=str(settings.ansible_config),
        upload_dir=str(paths.upload_dir),
        methods=settings.methods,
    )
    return spec, fleet


@dataclass(frozen=True)
class Payload:
    """What one machine needs copied before its scripts run: (host path, remote path) pairs."""

    folders: tuple[tuple[Path, str], ...]
    extra_files: tuple[tuple[Path, str], ...] = ()
    wheelhouse: Path | None = None

    @property
    def remote_paths(self) -> list[str]:
        remote = [r for _, r in self.folders]
        remote += [NODE_WHEELHOUSE] if self.wheelhouse else []
        remote += sorted({str(Path(r).parent) for _, r in self.extra_files})
        return remote

    def write(self, stream: IO[bytes]) -> None:
        """A tar stream of it, with paths relative to / (extracted as root, owned by root)."""
        with tarfile.open(fileobj=stream, mode="w|") as tar:
            for source, remote in self.folders:
                tar.add(source, arcname=remote.lstrip("/"), filter=_skip_caches)
            if self.wheelhouse is not None:
                tar.add(self.wheelhouse, arcname=NODE_WHEELHOUSE.lstrip("/"), filter=_skip_caches)
                mark = tarfile.TarInfo(f"{NODE_WHEELHOUSE.lstrip('/')}/{WHEELHOUSE_MARK}")
                data = self.wheelhouse.name.encode()
                mark.size = len(data)
                tar.addfile(mark, _BytesReader(data))
            folders = sorted({str(Path(r).parent) for _, r in self.extra_files})
            for folder in folders:
                info = tarfile.TarInfo(folder.lstrip("/"))
                info.type, info.mode = tarfile.DIRTYPE, 0o700
                tar.addfile(info)
            for source, remote in self.extra_files:
                info = tar.gettarinfo(str(source), arcname=remote.lstrip("/"))
                info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "root", "root"
                with source.open("rb") as handle:
                    tar.addfile(info, handle)


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return chunk


def _skip_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if any(part in SKIP for part in Path(info.name).parts) or info.name.endswith(".pyc"):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


class StaticCluster(Cluster):
    """An existing fleet, driven over SSH: orka creates, starts, stops and destroys no machine of it."""

    def __init__(self, spec: ClusterSpec, fleet: Fleet, timeouts: Timeouts, emit: Emit) -> None:
        super().__init__(spec, timeouts, emit)
        self.fleet = fleet
        self.log = log_file(spec.name)
        # Whether the control node may hold copies of the fleet's keys, which teardown then removes.
        self.keys_placed = False
        self._log_lock = threading.Lock()

    def fleet_host(self, machine: str) -> FleetHost:
        return next(h for h in self.fleet.hosts if h.name == machine)

    def where(self, machine: str) -> str:
        """'orka-node-2 (10.0.0.22)', as messages name a host."""
        host = self.fleet_host(machine)
        port = f":{host.port}" if host.port != 22 else ""
        return f"{machine} ({host.address}{port})"

    def ssh(
        self, machine: str, command: str, timeout: float, stdin: int | None = None
    ) -> subprocess.Popen[bytes] | subprocess.CompletedProcess[str]:
        """OpenSSH with orka's ssh_config: a running process when stdin is a pipe, else its result."""
        argv = ["ssh", "-F", str(self.paths.ssh_config), machine, command]
        if stdin is not None:
            return subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def vagrant_ssh(self, machine: str, command: str) -> subprocess.CompletedProcess[str]:
        """A fleet has no Vagrant: what a user types is `ssh -F .orka/clusters/NAME/ssh_config MACHINE COMMAND`,
        and this runs exactly that (the spikes' hand commands, on the fleet)."""
        result = self.ssh(machine, command, self.timeouts.command_s)
        assert isinstance(result, subprocess.CompletedProcess)
        return result

    def write_ssh_config(self) -> None:
        if self.fleet.known_hosts is not None:  # OpenSSH adds to the file, but makes no folder for it
            self.fleet.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.paths.ssh_config.write_text(render_ssh_config(self.fleet, self.machines))

    # -- lifecycle -------------------------------------------------------

    def up(self) -> None:
        """Check every host over SSH, then provision each for the selected methods, all at once."""
        write_spec(self.spec, self.paths)
        self.write_ssh_config()
        marks = self.check_reachable()
        self.keys_placed = "ansible" in self.spec.methods
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
        host = self.fleet_host(machine.name)
        try:
            result = self.ssh(machine.name, PROBE, SSH_CONNECT_TIMEOUT_S + self.timeouts.ready_s)
        except subprocess.TimeoutExpired:
            return f"{self.where(machine.name)}: no answer over SSH in {self.timeouts.ready_s} s (timeouts.ready)", ""
        assert isinstance(result, subprocess.CompletedProcess)
        if result.returncode == 255:
            detail = (result.stderr.strip().splitlines() or ["ssh failed"])[-1]
            return (
                f"{self.where(machine.name)}: unreachable over SSH: {detail}; fix: check the host is up and sshd "
                f"listens on port {host.port}, and that {host.key} logs in as {host.user} "
                f"(ssh -i {host.key} -p {host.port} {host.user}@{host.address} true)"
            ), ""
        if result.returncode in PROBE_PROBLEMS:
            problem, fix = (text.format(user=host.user) for text in PROBE_PROBLEMS[result.returncode])
            return f"{self.where(machine.name)}: {problem}; fix: {fix}", ""
        if result.returncode != 0:
            return f"{self.where(machine.name)}: the SSH check failed (exit {result.returncode}): {result.stderr}", ""
        return "", result.stdout.strip()

    def provision(self, marks: dict[str, str]) -> None:
        """The Vagrantfile's provisioning on every host at once: copy what it mounts, then run its scripts."""
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
        scripts = self.scripts(machine)
        command = "sudo bash -c " + shlex.quote("set -e; " + " && ".join(scripts))
        try:
            result = self.ssh(machine.name, command, self.timeouts.up_s)
        except subprocess.TimeoutExpired:
            return f"{self.where(machine.name)}: provisioning did not finish in {self.timeouts.up_s} s (timeouts.up)"
        assert isinstance(result, subprocess.CompletedProcess)
        self._log(machine.name, f"$ {command}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            tail = "\n".join(f"      {line}" for line in (result.stdout + result.stderr).strip().splitlines()[-8:])
            return f"{self.where(machine.name)}: provisioning failed (exit {result.returncode}):\n{tail}"
        names = ", ".join(
            "reset" if s.startswith("bash -ec") else Path(shlex.split(s)[1]).stem
            for s in scripts
            if s.startswith("bash ")
        )
        sent = " (with the wheelhouse)" if payload.wheelhouse else ""
        self.emit(f"[orka]   {self.where(machine.name)}: {names}{sent} in {time.monotonic() - start:.1f} s")
        return None

    def payload(self, machine: MachineSpec, wheelhouse_mark: str) -> Payload:
        """The Vagrantfile's synced folders and upload for this machine, as files to copy."""
        folders = [(PROVISION_DIR, REMOTE_PROVISION)]
        upload = Path(self.spec.upload_dir) / machine.name
        if upload.is_dir():
            folders.append((upload, REMOTE_UPLOAD))
        extra: list[tuple[Path, str]] = []
        if machine.role == "salt-master":
            folders.append((Path(self.spec.salt_tree), REMOTE_SALT_TREE))
        elif machine.role == "ansible-master":
            folders.append((Path(self.spec.ansible_config), REMOTE_ANSIBLE_CONFIG))
            extra = [(key, f"{REMOTE_FLEET_KEYS}/{name}") for key, name in self.fleet_keys().items()]
        wheelhouse = Path(self.spec.wheelhouse) if machine.tools else None
        if wheelhouse is not None and wheelhouse_mark == wheelhouse.name:
            wheelhouse = None  # the host holds this wheelhouse already
        return Payload(tuple(folders), tuple(extra), wheelhouse)

    def fleet_keys(self) -> dict[Path, str]:
        """Each distinct login key of the nodes, and its file name on the control node."""
        keys: dict[Path, str] = {}
        for node in self.fleet.nodes:
            keys.setdefault(node.key, f"key-{len(keys) + 1}")
        return keys

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

    def scripts(self, machine: MachineSpec) -> list[str]:
        """The Vagrantfile's commands for this machine, with the same arguments."""

        def run(script: str, *args: str) -> str:
            return shlex.join(["bash", f"{REMOTE_PROVISION}/{script}", *args])

        hosts = [f"{m.ip}={m.name}" for m in self.machines]
        nodes = [m.name for m in self.nodes]
        primary = next(m.name for m in self.nodes if m.primary)
        pillar = {"method": "salt", "cluster_size": len(nodes), "primary": primary, "nodes": nodes}
        # An empty key: the fleet's logins stay as the team set them up.
        commands = [run("common.sh", machine.name, "", *hosts)]
        if machine.role == "node":
            # orka remakes no host between methods: it takes each node back to fresh instead.
            commands.insert(0, shlex.join(["bash", "-ec", RESET]))
        if machine.role == "salt-master":
            commands.append(run("salt-master.sh", json.dumps(pillar, separators=(",", ":"))))
        elif machine.role == "ansible-master":
            commands.append(run("ansible-master.sh", primary, *[n for n in nodes if n != primary]))
            commands.append(self._host_vars_command())
        elif machine.role == "node" and "salt" in self.spec.methods:
            commands.append(run("salt-minion.sh", machine.name, "orka-master"))
        elif machine.role == "node":
            commands.append(STOP_ORKA_MINION)
        return commands

    def _host_vars_command(self) -> str:
        """Each node's own login for Ansible (ansible-master.sh assumes vagrant and one key)."""
        keys = self.fleet_keys()
        parts = [f"rm -rf {REMOTE_HOST_VARS}", f"install -d {REMOTE_HOST_VARS}"]
        for node in self.fleet.nodes:
            text = (
                f"ansible_user: {node.user}\nansible_port: {node.port}\n"
                f"ansible_ssh_private_key_file: {REMOTE_FLEET_KEYS}/{keys[node.key]}\n"
            )
            parts.append(f"printf %s {shlex.quote(text)} > {REMOTE_HOST_VARS}/{node.name}.yml")
        return " && ".join(parts)

    def _log(self, machine: str, text: str) -> None:
        with self._log_lock, self.log.open("a") as log:
            log.write(f"\n[{machine}] {text}")

    def wait_ready(self) -> None:
        """As on orka's own machines: systemd has finished booting. A unit of the fleet's own that failed
        is named as a warning (the host is still usable); one orka installed is an error."""
        with step(self.emit, f"waiting for {len(self.machines)} hosts to be ready"):
            with ThreadPoolExecutor(max_workers=min(32, len(self.machines))) as pool:
                problems = [p for p in pool.map(self._readiness_problem, self.machines) if p]
            if problems:
                raise ClusterError(f"static fleet {self.name} is not ready:\n" + _bullets(problems))

    def _degraded_problem(self, machine: str, failed: list[str]) -> str | None:
        """A unit orka installed that failed is orka's problem; one of the fleet's own is the team's: a warning."""
        ours = [unit for unit in failed if unit in ORKA_UNITS]
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
        """Remove orka's own state of the fleet (keys, ssh_config); every host stays as provisioned,
        but for the copies of the fleet's login keys on the control node: no team's key outlives the run."""
        with step(self.emit, f"static fleet {self.name}: removing orka's state (the hosts stay as they are)"):
            if self.keys_placed:
                self._remove_control_keys()
            shutil.rmtree(self.paths.state_dir, ignore_errors=True)

    def _remove_control_keys(self) -> None:
        paths = f"{REMOTE_FLEET_KEYS} {ORKA_CLUSTER_KEY} {REMOTE_HOST_VARS}"
        try:
            result = self.ssh(CONTROL_NODE, f"sudo rm -rf {paths}", self.timeouts.ready_s)
            failed = result.returncode != 0
        except subprocess.TimeoutExpired:
            failed = True
        if failed:
            self.emit(
                f"[orka]   warning: {self.where(CONTROL_NODE)}: remove the fleet's keys by hand: sudo rm -rf {paths}"
            )


def _bullets(problems: list[str]) -> str:
    return "\n".join(f"  - {p}" for p in problems)


@contextmanager
def started_static(
    settings: Settings, *, name: str, keep: bool = False, reuse: bool = False, emit: Emit
) -> Iterator[StaticCluster]:
    """The fleet checked, provisioned and ready; orka's state of it removed after (unless `keep`).

    With `reuse`, a fleet kept with the same plan is not provisioned again.
    """
    if _WORKER.search(name):
        raise ClusterError("provider static drives one fleet, which pytest-xdist workers cannot share: run without -n")
    paths = fleet_paths(name)
    kept = read_spec(paths)
    if kept is not None and kept.provider != PROVIDER:
        raise ClusterError(
            f"cluster name {name} holds a {kept.provider} cluster: `orka down --name {name}` first, "
            "or give the static fleet another name (--cluster-name)"
        )
    spec, fleet = prepare_fleet(settings, name, emit)
    cluster = StaticCluster(spec, fleet, settings.timeouts, emit)
    try:
        if reuse and kept == spec:
            emit(f"[orka] reusing the fleet as kept provisioned for {name}")
            cluster.write_ssh_config()
            cluster.check_reachable()
            cluster.keys_placed = "ansible" in spec.methods
            cluster.reused = True
        else:
            cluster.up()
        cluster.wait_ready()
    except BaseException:
        cluster.destroy()
        raise
    try:
        yield cluster
    finally:
        if keep:
            emit(f"[orka] keeping orka's state of fleet {name} (--keep-cluster); remove it with `orka down`")
        else:
            cluster.destroy()
