"""Clusters of machines orka makes, through Vagrant: the part every Vagrant provider shares.

vagrant/Vagrantfile executes the plan (spec.json) as it stands; this module
runs `vagrant` on it, in the cluster's own project folder, logging its whole
output and showing its progress lines, and tears it down again. Vagrant runs
in a session of its own so that Ctrl-C reaches only orka, which then stops it
and tears down in order. The docker, libvirt and virtualbox modules add what
is their own (what the machines are made from, how leftovers are found).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import vagrant
from orka.config.settings import Settings, Timeouts
from orka.errors import ClusterError
from orka.plan import keys
from orka.plan.build import build_plan
from orka.plan.spec import ClusterSpec
from orka.plan.sshconfig import close_masters, multiplexed, parse_ssh_address
from orka.plan.state import CACHE_ROOT, VAGRANT_DIR, WHEELHOUSE_PINS, ClusterPaths, write_spec
from orka.plan.wheelhouse import ensure_wheelhouse
from orka.progress import Emit, step
from orka.providers import processes
from orka.providers.base import Cluster, Provider
from orka.providers.box import ORKA_BOX, ensure_box
from orka.secrets import redact

# Vagrant phones home for updates unless told not to; nodes may only talk to us.
VAGRANT_QUIET_ENV = {
    "VAGRANT_CHECKPOINT_DISABLE": "1",
    "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1",
    "VAGRANT_NO_COLOR": "1",
}
# Lines of `vagrant up` worth showing as progress; the rest goes to the log.
PROGRESS_MARKERS = ("Creating the container", "Machine booted and ready", "Running provisioner", "orka: ", "rror")


class VagrantCluster(Cluster):
    """A cluster Vagrant makes from the plan."""

    def __init__(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> None:
        super().__init__(spec, timeouts, emit)
        self.env = {
            **os.environ,
            **VAGRANT_QUIET_ENV,
            "ORKA_SPEC": str(self.paths.spec_file),
            "VAGRANT_DOTFILE_PATH": str(self.paths.dotfile),
        }
        root = str(self.paths.project_dir)
        self._vagrant = vagrant.Vagrant(root=root, env=self.env, quiet_stdout=True, quiet_stderr=True)
        # Each machine's SSH address as `vagrant up` printed it: machine -> (address, port).
        self.ssh_addresses: dict[str, tuple[str, int]] = {}
        # This object's `vagrant up` finished, and no other was found running: no machine is still being made.
        self.up_finished = False

    def hand_command(self, machine: str, command: str) -> subprocess.CompletedProcess[str]:
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

    def up(self) -> None:
        self.vagrant_up()

    def vagrant_up(self, watch: Callable[[str], None] | None = None, processes: int = 1) -> None:
        """`vagrant up` of every machine, by `processes` Vagrant processes side by side (one by default: a
        provider that cannot make machines in parallel is never asked to)."""
        write_spec(self.spec, self.paths)
        what = (
            f"vagrant up {self.name}: {len(self.masters)} master(s) + {len(self.nodes)} nodes on {self.spec.provider}"
        )
        up = ["up", "--provision", f"--provider={self.spec.provider}"]
        groups = machine_groups([m.name for m in self.masters], [m.name for m in self.nodes], processes)
        commands = [up] if len(groups) == 1 else [[*up, *group] for group in groups]
        with step(self.emit, what):
            self.vagrant_cmds(commands, self.timeouts.up_s, watch=watch)
        self.up_finished = True

    def write_ssh_config(self) -> None:
        self.paths.ssh_config.write_text(multiplexed(str(self._vagrant.ssh_config()), self.paths.ssh_sockets))

    def machine_states(self) -> dict[str, str]:
        """Vagrant's state of each machine ('running', 'not_created', ...); empty if unknown."""
        if not self.paths.dotfile.exists():
            return {}
        try:
            return {s.name: s.state or "unknown" for s in self._vagrant.status()}
        except subprocess.CalledProcessError:
            return {}

    def exists(self) -> bool:
        return any(state != "not_created" for state in self.machine_states().values())

    def is_running(self) -> bool:
        if not self.paths.dotfile.exists():
            return False
        states = self.machine_states()
        return all(states.get(m.name) == "running" for m in self.machines)

    def destroy(self) -> None:
        """Remove every machine, network and state of this cluster; safe to call twice."""
        with step(self.emit, f"destroying cluster {self.name}"), sigint_deferred():
            # A `vagrant up` a killed run left (its own session outlives the run)
            # would go on creating machines: stop it first.
            running = processes.started_for(self.paths.spec_file)
            processes.stop(running)
            self.up_finished = self.up_finished and not running
            close_masters(self.paths.ssh_sockets)
            self.remove_machines()
            if self.paths.dotfile != VAGRANT_DIR / ".vagrant" or self.paths.dotfile.exists():
                shutil.rmtree(self.paths.dotfile, ignore_errors=True)
            shutil.rmtree(self.paths.state_dir, ignore_errors=True)

    def remove_machines(self) -> None:
        """The machines themselves: Vagrant's own destroy, unless a provider knows better."""
        if self.paths.dotfile.exists():
            self.vagrant_cmd(["destroy", "--force"], self.timeouts.up_s, check=False)

    def vagrant_cmd(
        self, args: list[str], timeout: int, check: bool = True, watch: Callable[[str], None] | None = None
    ) -> None:
        """Run vagrant, log everything, show progress lines (and each line to `watch`), enforce a timeout."""
        self.vagrant_cmds([args], timeout, check, watch)

    def vagrant_cmds(
        self, commands: list[list[str]], timeout: int, check: bool = True, watch: Callable[[str], None] | None = None
    ) -> None:
        """Run vagrant commands side by side: every line logged, progress lines shown, each line to `watch`
        (one line at a time); one timeout for them all; one that fails fails the whole (the others finish)."""
        log_file = self.paths.log_file()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        one_line_at_a_time = threading.Lock()
        start = time.monotonic()

        errors: list[BaseException] = []  # what went wrong reading a line, raised once every process is read

        def follow(process: subprocess.Popen[str], log: IO[str]) -> None:
            assert process.stdout is not None
            try:
                for line in process.stdout:
                    with one_line_at_a_time:
                        elapsed = f"{time.monotonic() - start:5.1f} s"
                        log.write(f"{elapsed}  {redact(line)}")
                        if (address := parse_ssh_address(line)) is not None:
                            machine, host, port = address
                            self.ssh_addresses[machine] = (host, port)
                        if any(marker in line for marker in PROGRESS_MARKERS):
                            self.emit(f"[orka]   {elapsed}  {redact(line.strip())}")
                        if watch is not None:
                            watch(line)
            except Exception as exc:
                errors.append(exc)

        with log_file.open("a") as log:
            log.writelines(f"\n$ vagrant {' '.join(args)}\n" for args in commands)
            running: list[subprocess.Popen[str]] = []

            def stop_all() -> None:
                for process in running:
                    _kill_group(process)

            timer = threading.Timer(timeout, stop_all)
            timer.start()
            try:
                running += [self._start_vagrant(args) for args in commands]
                # Each process's lines read by a thread of its own; this thread waits, where Ctrl-C lands.
                readers = [threading.Thread(target=follow, args=(p, log), daemon=True) for p in running]
                for reader in readers:
                    reader.start()
                for reader in readers:
                    reader.join()
                if errors:
                    raise errors[0]
                codes = [process.wait() for process in running]
            except BaseException:
                stop_all()
                raise
            finally:
                timer.cancel()
        if time.monotonic() - start >= timeout:
            raise ClusterError(
                f"`vagrant {commands[0][0]}` did not finish in {timeout} s (timeouts.up); log: {log_file}"
            )
        failed = [(args, code) for args, code in zip(commands, codes, strict=True) if code != 0]
        if failed and check:
            args, code = failed[0]
            tail = log_file.read_text().splitlines()[-25:]
            raise ClusterError(f"`vagrant {' '.join(args)}` failed (exit {code}); log: {log_file}\n" + "\n".join(tail))

    def _start_vagrant(self, args: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["vagrant", *args],
            cwd=self.paths.project_dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


def machine_groups(masters: list[str], nodes: list[str], processes: int) -> list[list[str]]:
    """The machines dealt to at most `processes` Vagrant processes, none empty: the masters together in a
    process of their own, so that each master's tool is starting while the nodes are still being made (its
    nodes then answer sooner: README), the nodes round-robin among the others."""
    if processes <= 1 or not nodes:
        return [masters + nodes]
    if not masters:
        count = min(processes, len(nodes))
        return [nodes[i::count] for i in range(count)]
    count = min(processes - 1, len(nodes))
    return [masters, *(nodes[i::count] for i in range(count))]


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
def sigint_deferred() -> Iterator[None]:
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


class VagrantProvider(Provider):
    """A provider through Vagrant: the wheelhouse and the cluster's key made, then the plan."""

    def assets(self, settings: Settings, emit: Emit) -> tuple[Path, str, str]:
        """(wheelhouse, plain image, tools image) of the machines; a VM provider has no images, but a box."""
        wheelhouse = ensure_wheelhouse(WHEELHOUSE_PINS, CACHE_ROOT / "wheelhouse", emit, settings.platform)
        return wheelhouse, "", ""

    def check_limits(self, settings: Settings) -> None:
        """Refuse, with the fix, a cluster this host cannot hold (nothing to refuse by default)."""

    def guest(self, settings: Settings) -> str:
        """Vagrant's guest type of the machines, when known before they boot ("": Vagrant detects it)."""
        return ""

    def subnet(self, settings: Settings, name: str) -> ipaddress.IPv4Network | None:
        """The cluster's /24, where the provider claims one (None: its slot's)."""
        return None

    def prepare(self, settings: Settings, name: str, emit: Emit) -> ClusterSpec:
        self.check_limits(settings)
        paths = ClusterPaths.for_name(name)
        wheelhouse, image, tools_image = self.assets(settings, emit)
        private_key, public_key = keys.ensure_ssh_keypair(paths.state_dir, comment=f"orka-{name}")
        return build_plan(
            settings,
            name=name,
            provider=self.name,
            ssh_private_key=private_key,
            ssh_public_key=public_key,
            wheelhouse=wheelhouse,
            image=image,
            tools_image=tools_image,
            guest=self.guest(settings),
            subnet=self.subnet(settings, name),
        )


class VMProvider(VagrantProvider):
    """A provider of VMs through Vagrant: the settings' box, added (or built) before the machines."""

    def assets(self, settings: Settings, emit: Emit) -> tuple[Path, str, str]:
        wheelhouse, _, _ = super().assets(settings, emit)
        ensure_box(settings.vm_box, self.name, wheelhouse, CACHE_ROOT, emit, settings.timeouts.up_s)
        return wheelhouse, "", ""

    def guest(self, settings: Settings) -> str:
        return "debian" if settings.vm_box == ORKA_BOX else ""
