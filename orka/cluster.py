"""A cluster brought up through Vagrant, checked ready, and torn down after.

`started()` is the lifecycle: prepare (provider, node image, wheelhouse, SSH
key, the plan the Vagrantfile reads), up, readiness checks, yield, destroy.
Method adapters see a Cluster only through `nodes`, `masters`, `host()` and
`run()`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import testinfra
from testinfra.backend.base import CommandResult
from testinfra.host import Host

import vagrant
from orka import processes
from orka.box import ensure_box
from orka.errors import ClusterError
from orka.image import ensure_image, ensure_tools_image
from orka.keys import ensure_ssh_keypair
from orka.methods.salt.keys import ensure_salt_keys
from orka.progress import Emit, step
from orka.providers import choose_provider
from orka.runner.inventory import Host as InventoryHost
from orka.runner.inventory import Inventory
from orka.settings import REPO_ROOT, Settings, Timeouts
from orka.spec import (
    DEFAULT_CLUSTER_NAME,
    ClusterSpec,
    MachineSpec,
    build_spec,
    master_machines,
    needs_tools,
    node_names,
)
from orka.sshconfig import SshEntry, parse_ssh_address, render
from orka.wheelhouse import ensure_wheelhouse

VAGRANT_DIR = REPO_ROOT / "vagrant"
STATE_ROOT = REPO_ROOT / ".orka"
# Shared by every checkout on this machine, so a fresh clone (CI) builds nothing twice.
CACHE_ROOT = Path(os.environ.get("ORKA_CACHE") or Path.home() / ".cache" / "orka")
WHEELHOUSE_PINS = VAGRANT_DIR / "provision" / "wheelhouse.txt"
INSTALL_TOOLS = VAGRANT_DIR / "provision" / "install-tools.sh"
LABEL = "orka.cluster"
SSH_EXTRA_ARGS = (
    "-o LogLevel=ERROR -o ServerAliveInterval=5 -o ServerAliveCountMax=3"  # testinfra bounds connecting (10 s)
)
# Vagrant phones home for updates unless told not to; nodes may only talk to us.
VAGRANT_QUIET_ENV = {
    "VAGRANT_CHECKPOINT_DISABLE": "1",
    "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1",
    "VAGRANT_NO_COLOR": "1",
}
# Lines of `vagrant up` worth showing as progress; the rest goes to the log.
PROGRESS_MARKERS = ("Creating the container", "Machine booted and ready", "Running provisioner", "orka: ", "rror")


@dataclass(frozen=True)
class ClusterPaths:
    """Where one cluster keeps its state on the host (all gitignored)."""

    state_dir: Path

    @classmethod
    def for_name(cls, name: str) -> ClusterPaths:
        return cls(STATE_ROOT / "clusters" / name)

    @property
    def spec_file(self) -> Path:
        return self.state_dir / "spec.json"

    @property
    def ssh_config(self) -> Path:
        return self.state_dir / "ssh_config"

    @property
    def upload_dir(self) -> Path:
        return self.state_dir / "upload"

    @property
    def log_file(self) -> Path:
        # Outside the state folder, which teardown removes: a failed run's log stays.
        return self.state_dir.parent.parent / "logs" / f"{self.state_dir.name}-vagrant.log"

    @property
    def project_dir(self) -> Path:
        """The Vagrant project folder vagrant runs in.

        The default cluster is vagrant/ itself, so the spike's hand commands
        (`cd vagrant && vagrant ssh orka-master`) see it. Every other cluster
        (an xdist worker's, a named one) gets a project of its own in its state
        folder: Vagrant's global machine index matches machines by project
        folder and name, and two clusters sharing vagrant/ took over each
        other's orka-node-1 ("the machine is locked") when up at once.
        """
        return VAGRANT_DIR if self.state_dir.name == DEFAULT_CLUSTER_NAME else self.state_dir

    @property
    def dotfile(self) -> Path:
        return self.project_dir / ".vagrant"


# inotify instances one systemd node container takes (measured: the kernel's
# default of 128 per user let 23 boot and stopped the 24th).
INOTIFY_PER_CONTAINER = 5
INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")


def check_host_limits(machines: int) -> None:
    """Refuse, with the fix, a docker cluster this host's kernel limits would half boot."""
    try:
        limit = int(INOTIFY_LIMIT.read_text())
    except (OSError, ValueError):
        return
    if limit < machines * INOTIFY_PER_CONTAINER:
        raise ClusterError(
            f"fs.inotify.max_user_instances is {limit}: too low for systemd in {machines} node containers; "
            f"fix: sudo sysctl -w fs.inotify.max_user_instances=8192 (make spike and make test do it)"
        )


def prepare(settings: Settings, name: str, emit: Emit) -> ClusterSpec:
    """Everything before `vagrant up`: provider, image, wheelhouse, key, plan."""
    provider, reason = choose_provider(settings.provider, settings.box)
    emit(f"[orka] provider: {provider} ({reason})")
    if provider == "docker":
        check_host_limits(settings.cluster + len(master_machines(settings.methods)))
    paths = ClusterPaths.for_name(name)
    # The image (debootstrap, network bound) and the wheelhouse (pip, CPU
    # bound) are independent: build them side by side on a cold machine.
    with ThreadPoolExecutor(max_workers=2) as pool:
        image = pool.submit(ensure_image, settings.image_recipe, CACHE_ROOT, emit) if provider == "docker" else None
        wheels = pool.submit(ensure_wheelhouse, WHEELHOUSE_PINS, CACHE_ROOT / "wheelhouse", emit)
        image_tag = image.result() if image else ""
        wheelhouse = wheels.result()
    # The tools image only for the machines that install the tools; any other node gets the plain image.
    roles = [role for _, role in master_machines(settings.methods)] + ["node"]
    tools_tag = ""
    if image_tag and any(needs_tools(role, settings.methods) for role in roles):
        tools_tag = ensure_tools_image(image_tag, wheelhouse, INSTALL_TOOLS, CACHE_ROOT, emit)
    ensure_box(settings.box, provider, wheelhouse, CACHE_ROOT, emit, settings.timeouts.up_s)  # VM providers only
    private_key, public_key = ensure_ssh_keypair(paths.state_dir, comment=f"orka-{name}")
    # The control node holds the cluster's private key; the nodes only its public key.
    stage_uploads(paths, settings.methods, node_names(settings.cluster), private_key)
    spec = build_spec(
        settings,
        name=name,
        provider=provider,
        image=image_tag,
        tools_image=tools_tag,
        ssh_private_key=private_key,
        ssh_public_key=public_key,
        repo_root=REPO_ROOT,
        wheelhouse=wheelhouse,
        upload_dir=paths.upload_dir,
    )
    return spec


def stage_uploads(paths: ClusterPaths, methods: tuple[str, ...], nodes: list[str], control_key: Path) -> None:
    """Lay out, afresh, what each machine gets at provisioning: its Salt keys, the control node's SSH key."""
    shutil.rmtree(paths.upload_dir, ignore_errors=True)
    if "salt" in methods:
        stage_salt_keys(ensure_salt_keys(paths.state_dir / "salt-keys", nodes), nodes, paths.upload_dir)
    if "ansible" in methods:
        control = paths.upload_dir / "ansible-master" / "ssh"
        control.mkdir(parents=True)
        shutil.copy2(control_key, control / "id_ed25519")
    if paths.upload_dir.exists():
        restrict(paths.upload_dir)


def stage_salt_keys(keys: Path, minions: list[str], upload_dir: Path) -> None:
    """Lay out per machine exactly the Salt keys it may hold (copied to it at provisioning)."""
    master = upload_dir / "orka-master" / "salt"
    (master / "minions").mkdir(parents=True)
    for name in ("master.pem", "master.pub"):
        shutil.copy2(keys / name, master / name)
    for minion in minions:
        shutil.copy2(keys / f"{minion}.pub", master / "minions" / f"{minion}.pub")
        own = upload_dir / minion / "salt"
        own.mkdir(parents=True)
        shutil.copy2(keys / f"{minion}.pem", own / "minion.pem")
        shutil.copy2(keys / f"{minion}.pub", own / "minion.pub")
        shutil.copy2(keys / "master.pub", own / "master.pub")


def restrict(folder: Path) -> None:
    """Keys are for root's eyes only: folders 0700, files 0600."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)


def write_spec(spec: ClusterSpec, paths: ClusterPaths) -> None:
    """Write the plan atomically (a reader never sees half of it), and the cluster's Vagrant project."""
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    partial = paths.spec_file.with_suffix(".partial")
    partial.write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
    partial.replace(paths.spec_file)
    if paths.project_dir != VAGRANT_DIR:
        (paths.project_dir / "Vagrantfile").write_text(
            f"# orka cluster {spec.name}: vagrant/Vagrantfile with this cluster's plan.\n"
            f"# `cd` here to drive it by hand, e.g. `vagrant ssh orka-node-1`.\n"
            f'ENV["ORKA_SPEC"] = File.join(__dir__, "spec.json")\n'
            f"load {json.dumps(str(VAGRANT_DIR / 'Vagrantfile'))}\n"
        )


def read_spec(paths: ClusterPaths) -> ClusterSpec | None:
    if not paths.spec_file.exists():
        return None
    return ClusterSpec.from_dict(json.loads(paths.spec_file.read_text()))


class Cluster:
    """One cluster of machines, driven through Vagrant."""

    def __init__(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> None:
        self.spec = spec
        self.timeouts = timeouts
        self.emit = emit
        self.paths = ClusterPaths.for_name(spec.name)
        self.env = {
            **os.environ,
            **VAGRANT_QUIET_ENV,
            "ORKA_SPEC": str(self.paths.spec_file),
            "VAGRANT_DOTFILE_PATH": str(self.paths.dotfile),
        }
        root = str(self.paths.project_dir)
        self._vagrant = vagrant.Vagrant(root=root, env=self.env, quiet_stdout=True, quiet_stderr=True)
        # Each machine's SSH address as `vagrant up` printed it: machine -> (address, port).
        self._ssh_addresses: dict[str, tuple[str, int]] = {}
        # A kept cluster used as it was (--reuse-cluster): its nodes are not fresh, by request.
        self.reused = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def nodes(self) -> tuple[MachineSpec, ...]:
        return self.spec.nodes

    @property
    def masters(self) -> tuple[MachineSpec, ...]:
        return self.spec.masters

    @property
    def machines(self) -> tuple[MachineSpec, ...]:
        return self.spec.machines

    def host(self, machine: str) -> Host:
        """A testinfra host for a machine, over SSH with Vagrant's own ssh-config."""
        # ssh's own reason on failure (Vagrant's config says LogLevel FATAL), and a
        # bound on connecting and on a machine that stops answering mid-command.
        return testinfra.get_host(
            f"ssh://{machine}", ssh_config=str(self.paths.ssh_config), ssh_extra_args=SSH_EXTRA_ARGS
        )

    def run(self, machine: str, command: str, timeout: int | None = None) -> CommandResult:
        """Run a shell command on a machine, bounded by a timeout (settings' command timeout by default)."""
        limit = timeout or self.timeouts.command_s
        return self.host(machine).run(f"timeout {limit} bash -c {shlex.quote(command)}")

    def inventory(self, method: str = "custom") -> Inventory:
        """The nodes as a task-runner inventory, reached with Vagrant's own ssh-config."""
        primary = next(n.name for n in self.nodes if n.primary)
        hosts = tuple(
            InventoryHost(
                name=n.name,
                ssh_config=str(self.paths.ssh_config),
                groups=("nodes", "primary" if n.primary else "secondaries"),
                vars={"role": "primary" if n.primary else "secondary"},
            )
            for n in self.nodes
        )
        names = [n.name for n in self.nodes]
        common = {"cluster_size": len(names), "method": method, "primary": primary, "nodes_json": json.dumps(names)}
        return Inventory(hosts, common)

    def vagrant_ssh(self, machine: str, command: str) -> subprocess.CompletedProcess[str]:
        """`cd vagrant && vagrant ssh MACHINE --command COMMAND`, as a user types it.

        Nothing is added to the user's environment: the Vagrantfile finds the
        cluster's plan itself, in vagrant/ for the default cluster and in its
        own project folder for any other (an xdist worker's).
        """
        env = {**os.environ, **VAGRANT_QUIET_ENV}
        env.pop("ORKA_SPEC", None)
        env.pop("VAGRANT_DOTFILE_PATH", None)
        return subprocess.run(
            ["vagrant", "ssh", machine, "--command", command],
            cwd=self.paths.project_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeouts.command_s,
            check=False,
        )

    # -- lifecycle -------------------------------------------------------

    def up(self) -> None:
        write_spec(self.spec, self.paths)
        what = (
            f"vagrant up {self.name}: {len(self.masters)} master(s) + {len(self.nodes)} nodes on {self.spec.provider}"
        )
        with step(self.emit, what):
            self._vagrant_cmd(["up", "--provision", f"--provider={self.spec.provider}"], self.timeouts.up_s)

    def wait_ready(self) -> None:
        """Every machine answers over SSH and its systemd has finished booting."""
        with step(self.emit, f"waiting for {len(self.machines)} machines to be ready"):
            self.paths.ssh_config.write_text(self._ssh_config())
            with ThreadPoolExecutor(max_workers=len(self.machines)) as pool:
                problems = [p for p in pool.map(self._readiness_problem, self.machines) if p]
            if problems:
                raise ClusterError(f"cluster {self.name} is not ready:\n" + "\n".join(f"  - {p}" for p in problems))

    def _ssh_config(self) -> str:
        """What `vagrant ssh-config` says, from the addresses `vagrant up` printed when it has them all.

        Only on the docker provider, where orka's key is the only one: a VM's
        first boot also needs the box's key, which `vagrant ssh-config` lists.
        """
        addresses = self._ssh_addresses
        if self.spec.provider != "docker" or any(m.name not in addresses for m in self.machines):
            return str(self._vagrant.ssh_config())
        return render(
            SshEntry(m.name, *addresses[m.name], user="vagrant", identity_file=self.spec.ssh_private_key)
            for m in self.machines
        )

    def where(self, machine: str) -> str:
        """How messages name a machine (a static fleet's host adds its address)."""
        return machine

    def _readiness_problem(self, machine: MachineSpec) -> str | None:
        try:
            result = self.run(machine.name, "systemctl is-system-running --wait", timeout=self.timeouts.ready_s)
        except Exception as exc:  # testinfra raises plain RuntimeError/AssertionError on SSH failure
            return f"{self.where(machine.name)}: does not answer over SSH ({exc})"
        state = result.stdout.strip()
        if state == "running":
            return None
        if state == "degraded":
            failed = self.run(machine.name, "systemctl --failed --no-legend --plain | cut -d' ' -f1").stdout.split()
            return self._degraded_problem(machine.name, failed)
        where = self.where(machine.name)
        return f"{where}: systemd is {state or 'not answering'} after {self.timeouts.ready_s} s (timeouts.ready)"

    def _degraded_problem(self, machine: str, failed: list[str]) -> str | None:
        """A machine whose systemd is degraded: what is wrong (None: usable all the same)."""
        return f"{machine}: systemd is degraded, failed units: {', '.join(failed) or '?'}"

    def machine_states(self) -> dict[str, str]:
        """Vagrant's state of each machine ('running', 'not_created', ...); empty if unknown."""
        if not self.paths.dotfile.exists():
            return {}
        try:
            return {s.name: s.state or "unknown" for s in self._vagrant.status()}
        except subprocess.CalledProcessError:
            return {}

    def exists(self) -> bool:
        """True when any machine of this cluster exists, running or not."""
        if self.spec.provider == "docker":
            return bool(docker_objects("container", self.name))
        return any(state != "not_created" for state in self.machine_states().values())

    def is_running(self) -> bool:
        """True when every planned machine is up (used to reuse a kept cluster)."""
        if not self.paths.dotfile.exists():
            return False
        if self.spec.provider == "docker":  # one docker call instead of a slow `vagrant status`
            running = subprocess.run(
                ["docker", "ps", "-q", "--filter", f"label={LABEL}={self.name}", "--filter", "status=running"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.split()
            return len(running) == len(self.machines)
        states = self.machine_states()
        return all(states.get(m.name) == "running" for m in self.machines)

    def destroy(self) -> None:
        """Remove every machine, network and state of this cluster; safe to call twice."""
        with step(self.emit, f"destroying cluster {self.name}"), _sigint_deferred():
            # A `vagrant up` a killed run left (its own session outlives the run)
            # would go on creating machines: stop it first.
            processes.stop(processes.started_for(self.paths.spec_file))
            if self.spec.provider == "docker":
                # By orka's label, never `vagrant destroy`: on the docker provider
                # Vagrant 2.3 also removes every idle network named vagrant_network_*,
                # other clusters' included (its DestroyNetwork action), and it is slower.
                remove_docker_leftovers(self.name)
            elif self.paths.dotfile.exists():
                self._vagrant_cmd(["destroy", "--force"], self.timeouts.up_s, check=False)
            if self.paths.dotfile != VAGRANT_DIR / ".vagrant" or self.paths.dotfile.exists():
                shutil.rmtree(self.paths.dotfile, ignore_errors=True)
            shutil.rmtree(self.paths.state_dir, ignore_errors=True)

    def _vagrant_cmd(self, args: list[str], timeout: int, check: bool = True) -> None:
        """Run vagrant, log everything, show progress lines, enforce a timeout.

        Vagrant runs in its own session so that Ctrl-C reaches only orka,
        which then stops it and tears down in order.
        """
        self.paths.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.paths.log_file.open("a") as log:
            log.write(f"\n$ vagrant {' '.join(args)}\n")
            process = subprocess.Popen(
                ["vagrant", *args],
                cwd=self.paths.project_dir,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            timer = threading.Timer(timeout, _kill_group, [process])
            timer.start()
            start = time.monotonic()
            try:
                assert process.stdout is not None
                for line in process.stdout:
                    elapsed = f"{time.monotonic() - start:5.1f} s"
                    log.write(f"{elapsed}  {line}")
                    if (address := parse_ssh_address(line)) is not None:
                        machine, host, port = address
                        self._ssh_addresses[machine] = (host, port)
                    if any(marker in line for marker in PROGRESS_MARKERS):
                        self.emit(f"[orka]   {elapsed}  {line.strip()}")
                code = process.wait()
            except BaseException:
                _kill_group(process)
                raise
            finally:
                timer.cancel()
        if time.monotonic() - start >= timeout:
            raise ClusterError(
                f"`vagrant {args[0]}` did not finish in {timeout} s (timeouts.up); log: {self.paths.log_file}"
            )
        if code != 0 and check:
            tail = self.paths.log_file.read_text().splitlines()[-25:]
            raise ClusterError(
                f"`vagrant {' '.join(args)}` failed (exit {code}); log: {self.paths.log_file}\n" + "\n".join(tail)
            )


def _kill_group(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Let a teardown finish even if Ctrl-C is pressed again; re-raise after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[bool] = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def docker_objects(kind: str, name: str | None) -> list[str]:
    """IDs of containers or networks labelled by orka (one cluster, or all when name is None)."""
    label = f"{LABEL}={name}" if name else LABEL
    listing = ["docker", "ps", "-aq"] if kind == "container" else ["docker", "network", "ls", "-q"]
    result = subprocess.run([*listing, "--filter", f"label={label}"], capture_output=True, text=True, check=False)
    return result.stdout.split()


def remove_docker_leftovers(name: str | None, settle_s: float = 1.0) -> int:
    """Remove orka's containers (with their anonymous volumes) and networks; return how many.

    A `vagrant up` stopped midway can leave a `docker create` in flight in the
    daemon that lands after a first look, so look again settle_s later, until
    a look finds nothing.
    """
    removed = 0
    for attempt in range(10):
        containers = docker_objects("container", name)
        if containers:
            subprocess.run(["docker", "rm", "-f", "-v", *containers], capture_output=True, check=False)
        networks = docker_objects("network", name)
        if networks:
            subprocess.run(["docker", "network", "rm", *networks], capture_output=True, check=False)
        removed += len(containers) + len(networks)
        if attempt > 0 and not containers and not networks:
            break
        time.sleep(settle_s)
    return removed


@contextmanager
def started(
    settings: Settings,
    *,
    name: str = DEFAULT_CLUSTER_NAME,
    keep: bool = False,
    reuse: bool = False,
    emit: Emit,
) -> Iterator[Cluster]:
    """Bring a cluster up and ready, yield it, and always tear it down after.

    With `keep` the cluster outlives the run; with `reuse` a kept cluster
    built from the same settings is used as it is.
    """
    if settings.provider == "static":  # existing hosts: nothing for Vagrant to make
        from orka.static import started_static  # imported here: orka.static builds on this module

        with started_static(settings, name=name, keep=keep, reuse=reuse, emit=emit) as fleet:
            yield fleet
        return
    paths = ClusterPaths.for_name(name)
    kept = read_spec(paths)
    try:
        spec = prepare(settings, name, emit)
        reused = reuse and kept is not None and Cluster(kept, settings.timeouts, emit).is_running()
        earlier = kept is not None or bool(docker_objects("container", name) or docker_objects("network", name))
        left = earlier and not reused
    except BaseException:
        if kept is None:  # stopped (Ctrl-C) before `vagrant up`: the state folder prepare made goes too
            shutil.rmtree(paths.state_dir, ignore_errors=True)
        raise
    cluster = Cluster(spec, settings.timeouts, emit)
    if reused:
        if kept != spec:
            raise ClusterError(
                f"the kept cluster {name} was built from other settings; run `orka down` or drop --reuse-cluster"
            )
        emit(f"[orka] reusing kept cluster {name}")
        cluster.reused = True
    try:
        if left:
            emit(f"[orka] removing what an earlier run left of cluster {name}")
            Cluster(kept or spec, settings.timeouts, emit).destroy()
            spec = prepare(settings, name, emit)  # the state folder, with its key, went with it
            cluster = Cluster(spec, settings.timeouts, emit)
        if not reused:
            cluster.up()
        cluster.wait_ready()
    except BaseException:
        cluster.destroy()  # a half-built cluster is never kept: nothing leaks
        raise
    try:
        yield cluster
    finally:
        if keep:
            emit(f"[orka] keeping cluster {name} (--keep-cluster); remove it with `orka down`")
        else:
            cluster.destroy()
