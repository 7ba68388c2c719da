"""provider docker: systemd node containers through Vagrant's docker provider (CI, build agents, laptops
without a hypervisor). The node image is orka's own, built offline from Debian's packages and cached by
its recipe's hash; machines that install the tools run a layer of it with them installed already."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from orka.config import NODE_ROLE
from orka.config.platforms import docker_problem
from orka.config.settings import Settings, Timeouts
from orka.errors import ClusterError, ImageError
from orka.locks import file_lock
from orka.plan.build import masters_of, needs_tools
from orka.plan.layout import LABEL
from orka.plan.spec import ClusterSpec
from orka.plan.sshconfig import SshEntry, multiplexed, parse_booted, render
from orka.plan.state import CACHE_ROOT, INSTALL_TOOLS, WHEELHOUSE_PINS
from orka.plan.wheelhouse import ensure_wheelhouse, host_python
from orka.progress import Emit, run_showing, step
from orka.providers import networks
from orka.providers.vagrant import VagrantCluster, VagrantProvider

IMAGE_REPOSITORY = "orka-node"
TOOLS_REPOSITORY = "orka-node-tools"
MAX_VAGRANT_PROCESSES = 4
MACHINES_PER_VAGRANT_PROCESS = 3  # fewer changed nothing at four machines (both cores busy) but start more Rubies
# How long a `docker create` a stopped `vagrant up` left in flight may take to land in the daemon.
SETTLE_S = 1.0
# inotify instances one systemd node container takes (measured: the kernel's
# default of 128 per user let 23 boot and stopped the 24th).
INOTIFY_PER_CONTAINER = 5
INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")


# -- docker's objects of a cluster ------------------------------------------------


def labelled(kind: str, name: str | None, shown: str = "{{.ID}}", running: bool = False) -> list[str]:
    """What docker says of the containers or networks labelled by orka: of one cluster, or of any when name is
    None; `shown` picks what of each (its ID, its name, the cluster it is labelled with); only running ones."""
    label = f"{LABEL}={name}" if name else LABEL
    listing = ["docker", "ps", "-a"] if kind == "container" else ["docker", "network", "ls"]
    filters = ["--filter", f"label={label}", *(["--filter", "status=running"] if running else [])]
    result = subprocess.run([*listing, *filters, "--format", shown], capture_output=True, text=True, check=False)
    return result.stdout.split()


def vagrant_state(container_state: str | None) -> str:
    """Vagrant's docker provider's word for a container in docker's state (None: there is no container)."""
    if container_state is None:
        return "not_created"
    return "running" if container_state == "running" else "stopped"


def docker_objects(kind: str, name: str | None) -> list[str]:
    """IDs of containers or networks labelled by orka (one cluster, or all when name is None)."""
    return labelled(kind, name)


def remove_docker_leftovers(name: str | None, settle_s: float = SETTLE_S, looks: int = 10) -> int:
    """Remove orka's containers (with their anonymous volumes) and networks; return how many.

    A `vagrant up` stopped midway can leave a `docker create` in flight in the
    daemon that lands after a first look, so look again settle_s later, until
    a look finds nothing. Raises ClusterError, naming what stays and docker's
    reason, when something is still there after every look.
    """
    seen: set[str] = set()
    refusals: list[str] = []
    for attempt in range(looks):
        refusals = []
        with networks.removing():
            containers = docker_objects("container", name)
            if containers:
                refusals += _removal_refused(["docker", "rm", "-f", "-v", *containers])
            labelled_networks = docker_objects("network", name)
            if labelled_networks:
                refusals += _removal_refused(["docker", "network", "rm", *labelled_networks])
        seen.update(containers, labelled_networks)
        if attempt > 0 and not containers and not labelled_networks:
            return len(seen)
        time.sleep(settle_s)
    stuck = labelled("container", name, "{{.Names}}") + labelled("network", name, "{{.Name}}")
    if stuck:
        why = "; ".join(dict.fromkeys(refusals)) or "docker removed nothing"
        raise ClusterError(
            f"docker would not remove {', '.join(stuck)} after {looks} tries ({why}); a daemon that holds "
            "stale endpoints lets them go only when it restarts: fix: sudo systemctl restart docker (or stop "
            "dockerd and start it again), then `orka down --all`"
        )
    return len(seen)


def _removal_refused(command: list[str]) -> list[str]:
    """Run a docker removal; docker's reasons for what it did not remove (none when all went)."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return []
    return [line.removeprefix("Error response from daemon: ") for line in result.stderr.splitlines() if line.strip()]


def remove_builder(container: str) -> None:
    """An image's builder container goes the way a cluster's do: while no bring-up looks at the host's."""
    with networks.removing():
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


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


# -- the node image ---------------------------------------------------------------
def recipe_hash(recipe_dir: Path) -> str:
    """A digest of every file of the recipe: any change rebuilds the image."""
    digest = hashlib.sha256()
    for path in sorted(p for p in recipe_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(recipe_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def image_tag(recipe_dir: Path, suite: str) -> str:
    """The node image of a Debian suite from this recipe: the suite in its name, both in its hash."""
    digest = hashlib.sha256(f"{recipe_hash(recipe_dir)}\0{suite}".encode()).hexdigest()[:12]
    return f"{IMAGE_REPOSITORY}:{suite}-{digest}"


def image_exists(tag: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return result.returncode == 0


def ensure_image(recipe_dir: Path, suite: str, lock_dir: Path, emit: Emit) -> str:
    """Return the tag of the node image of this suite from this recipe, building it when missing."""
    tag = image_tag(recipe_dir, suite)
    if image_exists(tag):
        return tag
    with file_lock(lock_dir / "image.lock"):
        if image_exists(tag):  # another worker built it while we waited
            return tag
        _check_can_build()
        with step(emit, f"building node image {tag} from {recipe_dir} (debootstrap, about a minute)"):
            _run_build(recipe_dir, tag, suite, emit)
    return tag


def _check_can_build() -> None:
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap not found: apt-get install debootstrap (make spike installs it)")
    if os.geteuid() != 0:
        raise ImageError("building the node image needs root (debootstrap and chroot): run as root")


def _run_build(recipe_dir: Path, tag: str, suite: str, emit: Emit) -> None:
    command = ["bash", str(recipe_dir / "build.sh"), tag, tag.split(":", 1)[1], suite]
    code, tail = run_showing(command, "[image]", emit)
    if code != 0:
        raise ImageError(f"node image build failed ({recipe_dir}/build.sh):\n" + "\n".join(tail))


def tools_image_tag(base_tag: str, wheelhouse: Path, install_script: Path) -> str:
    digest = hashlib.sha256()
    for part in (base_tag.encode(), wheelhouse.name.encode(), install_script.read_bytes()):
        digest.update(part + b"\0")
    return f"{TOOLS_REPOSITORY}:{digest.hexdigest()[:12]}"


def ensure_tools_image(base_tag: str, wheelhouse: Path, install_script: Path, lock_dir: Path, emit: Emit) -> str:
    """The node image with the wheelhouse's tools already installed by the provisioning script.

    The same script runs again at provisioning and finds its stamp, so nodes
    start with salt and ansible-core in place instead of each spending a
    quarter of a minute of a shared CPU installing them.
    """
    tag = tools_image_tag(base_tag, wheelhouse, install_script)
    if image_exists(tag):
        return tag
    with file_lock(lock_dir / "image.lock"):
        if image_exists(tag):
            return tag
        with step(emit, f"installing the wheelhouse's tools into image {tag}"):
            builder = f"orka-build-{tag.split(':', 1)[1]}"
            remove_builder(builder)
            try:
                run = subprocess.run(
                    [
                        "docker", "run", "--name", builder, "--label", "orka.image=builder",
                        "-v", f"{wheelhouse}:/srv/orka/wheelhouse:ro",
                        "-v", f"{install_script}:/tmp/install-tools.sh:ro",
                        base_tag, "bash", "/tmp/install-tools.sh",
                    ],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if run.returncode != 0:
                    raise ImageError(f"installing tools into the node image failed:\n{run.stdout}{run.stderr}")
                commit = subprocess.run(
                    [
                        "docker", "commit",
                        "--change", 'CMD ["/sbin/init"]',
                        "--change", f"LABEL orka.image=node orka.tools={tag}",
                        builder, tag,
                    ],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if commit.returncode != 0:
                    raise ImageError(f"docker commit of the tools image failed: {commit.stderr.strip()}")
            finally:
                remove_builder(builder)
    return tag


# -- the cluster ------------------------------------------------------------------


def vagrant_processes(machines: int) -> int:
    """How many Vagrant processes bring the machines up side by side: one process makes its machines one
    after another where it counts (Ruby runs on one core; its network lock), more than four cost more than
    they gave (measured in the README)."""
    return min(MAX_VAGRANT_PROCESSES, -(-machines // MACHINES_PER_VAGRANT_PROCESS))


class EarlyConnections:
    """Watches `vagrant up`'s lines: once every machine's SSH address is known, writes orka's ssh_config, and
    opens orka's SSH connection (kept by ControlPersist) to each machine Vagrant says is booted, while Vagrant
    provisions the others. The readiness check after the bring-up then finds every connection open: it costs a
    round trip instead of a handshake per machine. A connection that fails here is the readiness check's to
    report."""

    def __init__(self, cluster: DockerCluster) -> None:
        self.cluster = cluster
        self.booted: list[str] = []
        self.config_written = False
        self.pool = ThreadPoolExecutor(max_workers=min(8, len(cluster.machines)), thread_name_prefix="orka-connect")

    def __call__(self, line: str) -> None:
        if (machine := parse_booted(line)) is not None:
            self.booted.append(machine)
        if not self.config_written and all(m.name in self.cluster.ssh_addresses for m in self.cluster.machines):
            self.cluster.write_ssh_config()
            self.config_written = True
        if self.config_written:
            for machine in self.booted:
                self.pool.submit(self._connect, machine)
            self.booted.clear()

    def _connect(self, machine: str) -> None:
        with contextlib.suppress(Exception):  # testinfra raises plain RuntimeError/AssertionError on SSH failure
            self.cluster.run(machine, "true", timeout=self.cluster.timeouts.ready_s)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DockerCluster(VagrantCluster):
    def up(self) -> None:
        early = EarlyConnections(self)
        try:
            # Until its last container is being created, Vagrant inspects every network and container of the
            # host: no other run removes one meanwhile.
            with networks.looking() as lock:
                last_creation = networks.LastCreation(len(self.machines), lock.release)

                def watch(line: str) -> None:
                    last_creation(line)
                    early(line)

                self.vagrant_up(watch=watch, processes=vagrant_processes(len(self.machines)))
        finally:
            early.close()

    def write_ssh_config(self) -> None:
        """What `vagrant ssh-config` says, from the addresses `vagrant up` printed (a second Vagrant run
        costs 3-4 s of Ruby start-up); orka's key is the only one a container takes."""
        addresses = self.ssh_addresses
        if any(m.name not in addresses for m in self.machines):
            super().write_ssh_config()
            return
        entries = (
            SshEntry(m.name, *addresses[m.name], user="vagrant", identity_file=self.spec.ssh_private_key)
            for m in self.machines
        )
        self.paths.ssh_config.write_text(multiplexed(render(entries), self.paths.ssh_sockets))

    def exists(self) -> bool:
        return bool(docker_objects("container", self.name))

    def is_running(self) -> bool:
        if not self.paths.dotfile.exists():
            return False
        # One docker call instead of a slow `vagrant status`.
        return len(labelled("container", self.name, running=True)) == len(self.machines)

    def machine_states(self) -> dict[str, str]:
        # One docker call instead of `vagrant status` (four seconds of Ruby), said in the docker provider's words.
        if not self.paths.dotfile.exists():
            return {}
        containers = dict(entry.split("=", 1) for entry in labelled("container", self.name, "{{.Names}}={{.State}}"))
        return {m.name: vagrant_state(containers.get(f"{self.name}-{m.name}")) for m in self.machines}

    def remove_machines(self) -> None:
        # By orka's label, never `vagrant destroy`: on the docker provider Vagrant 2.3 also removes every idle
        # network named vagrant_network_*, other clusters' included (its DestroyNetwork action), and it is slower.
        # Only a `vagrant up` that did not finish can have a container still being created, to wait for.
        remove_docker_leftovers(self.name, settle_s=0.0 if self.up_finished else SETTLE_S)


class DockerProvider(VagrantProvider):
    name = "docker"

    def check_limits(self, settings: Settings) -> None:
        check_host_limits(settings.cluster + len(masters_of(settings.methods)))

    def subnet(self, settings: Settings, name: str) -> ipaddress.IPv4Network:
        return networks.claim_subnet(settings.subnet, name)

    def guest(self, settings: Settings) -> str:
        # Whatever system an image recipe builds, a container is Linux, and orka's provisioning asks
        # Vagrant for nothing more than a shell.
        return "linux"

    def assets(self, settings: Settings, emit: Emit) -> tuple[Path, str, str]:
        target = settings.platform
        if why := docker_problem(target):  # provider auto may have picked docker
            raise ClusterError(why)
        wheelhouse_of = functools.partial(ensure_wheelhouse, WHEELHOUSE_PINS, CACHE_ROOT / "wheelhouse", emit, target)
        if target.python == host_python():
            # The image (debootstrap, network bound) and the wheelhouse (pip, CPU bound) are independent:
            # built side by side on a cold machine.
            with ThreadPoolExecutor(max_workers=2) as pool:
                image = pool.submit(ensure_image, settings.image_recipe, target.suite, CACHE_ROOT, emit)
                wheels = pool.submit(wheelhouse_of)
                image_tag, wheelhouse = image.result(), wheels.result()
        else:  # what has no wheel for the platform's Python is compiled in its image
            image_tag = ensure_image(settings.image_recipe, target.suite, CACHE_ROOT, emit)
            wheelhouse = wheelhouse_of(builder_image=image_tag)
        roles = [role for _, _, role, _ in masters_of(settings.methods)] + [NODE_ROLE]
        tools_tag = ""
        if any(needs_tools(role, settings.methods) for role in roles):
            tools_tag = ensure_tools_image(image_tag, wheelhouse, INSTALL_TOOLS, CACHE_ROOT, emit)
        return wheelhouse, image_tag, tools_tag

    def cluster(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> DockerCluster:
        return DockerCluster(spec, timeouts, emit)

    def has_leftovers(self, name: str) -> bool:
        return bool(docker_objects("container", name) or docker_objects("network", name))

    def discard(self, name: str) -> None:
        remove_docker_leftovers(name)  # the network prepare claimed
        super().discard(name)
