"""`orka down`: remove a cluster by its name, whatever state a run left it in.

A run that ended normally, or by Ctrl-C, tears its cluster down itself. One
that was killed outright (kill -9, a crash, a closed terminal) can leave any
part of it: a `vagrant up` still running in its own session, containers and a
network, a state folder with or without its plan. Each part is found on its
own (processes by the plan they were started with, docker objects by orka's
label, libvirt's by the names the Vagrantfile gives them, the folder by the
name), so a missing or broken part never hides the
others.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from orka.config.settings import Timeouts
from orka.errors import ClusterError
from orka.plan.layout import CLUSTER_NAME, LABEL
from orka.plan.spec import ClusterSpec
from orka.plan.state import STATE_ROOT, ClusterPaths, read_spec
from orka.progress import Emit
from orka.providers import cluster_for, libvirt, processes
from orka.providers.docker import labelled, remove_docker_leftovers


@dataclass(frozen=True)
class Leftovers:
    """What exists of one cluster on this machine."""

    name: str
    processes: tuple[int, ...]
    containers: tuple[str, ...]
    networks: tuple[str, ...]
    folders: tuple[Path, ...]
    libvirt: tuple[str, ...] = ()  # 'domain orka-kvm-orka-node-1', 'network orka-kvm-mgmt', ...

    def __bool__(self) -> bool:
        return bool(self.processes or self.containers or self.networks or self.folders or self.libvirt)

    def describe(self) -> str:
        parts = [
            _counted(self.processes, "running process", "running processes"),
            _counted(self.containers, "container", "containers"),
            _counted(self.networks, "network", "networks"),
            _counted(self.libvirt, "libvirt object", "libvirt objects"),
            *(f"the folder {_shown(folder)}" for folder in self.folders),
        ]
        return "; ".join(part for part in parts if part)


def _counted(items: tuple[object, ...], one: str, many: str) -> str:
    """'2 containers (a, b)', or '' for none."""
    if not items:
        return ""
    return f"{len(items)} {one if len(items) == 1 else many} ({', '.join(map(str, items))})"


def _shown(folder: Path) -> str:
    root = STATE_ROOT.parent
    return str(folder.relative_to(root)) if folder.is_relative_to(root) else str(folder)


def _labelled(kind: str, name: str) -> tuple[str, ...]:
    """Names of the containers or networks labelled as this cluster's."""
    return tuple(sorted(labelled(kind, name, "{{.Names}}" if kind == "container" else "{{.Name}}")))


def _folders(paths: ClusterPaths) -> list[Path]:
    """The state folder, and Vagrant's own where it is elsewhere (the default cluster's vagrant/.vagrant)."""
    if paths.dotfile.is_relative_to(paths.state_dir):
        return [paths.state_dir]
    return [paths.state_dir, paths.dotfile]


def find(name: str) -> Leftovers:
    paths = ClusterPaths.for_name(name)
    return Leftovers(
        name=name,
        processes=tuple(processes.started_for(paths.spec_file)),
        containers=_labelled("container", name),
        networks=_labelled("network", name),
        folders=tuple(folder for folder in _folders(paths) if folder.exists()),
        libvirt=libvirt.find(name).names(),
    )


def _readable_spec(paths: ClusterPaths) -> ClusterSpec | None:
    """The cluster's plan, or None when it is missing or was left broken."""
    try:
        return read_spec(paths)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove(name: str, timeouts: Timeouts, emit: Emit) -> Leftovers:
    """Remove everything of the cluster; return what there was. Raises ClusterError if anything stays."""
    found = find(name)
    if not found:
        return found
    paths = ClusterPaths.for_name(name)
    spec = _readable_spec(paths)
    if spec is not None:
        # The plan's own provider removes it: a VM provider's machines through Vagrant, an existing fleet's
        # keys from its hosts.
        cluster_for(spec, timeouts, emit).destroy()
    else:
        # No plan to hand Vagrant: what orka can find by itself is all there is to remove.
        processes.stop(processes.started_for(paths.spec_file))
        remove_docker_leftovers(name)
        for folder in found.folders:
            shutil.rmtree(folder, ignore_errors=True)
    if libvirt.find(name):  # a VM cluster whose plan is gone, or that Vagrant failed to destroy
        libvirt.remove(name)
    left = find(name)
    if left:
        raise ClusterError(f"cluster {name}: could not remove {left.describe()}; try `orka down --name {name}` again")
    return found


def names_here() -> list[str]:
    """Every cluster with anything on this machine: state folders, labelled docker objects, running processes."""
    names = {p.name for p in (STATE_ROOT / "clusters").glob("*") if p.is_dir()}
    for kind in ("container", "network"):
        names.update(labelled(kind, None, f'{{{{.Label "{LABEL}"}}}}'))
    names.update(spec.parent.name for spec in processes.plans_in_use(STATE_ROOT / "clusters"))
    names.update(libvirt.cluster_names())
    return sorted(name for name in names if CLUSTER_NAME.match(name))
