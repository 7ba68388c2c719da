"""Where orka keeps a cluster's state on the host (all gitignored), and the plan's file there."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from orka.config import REPO_ROOT
from orka.files import write_atomically
from orka.plan.layout import DEFAULT_CLUSTER_NAME
from orka.plan.spec import ClusterSpec

SOCKET_NAME = 40  # characters of OpenSSH's %C, the hash a master socket is named by
VAGRANT_DIR = REPO_ROOT / "vagrant"
STATE_ROOT = REPO_ROOT / ".orka"
LOGS_DIR = STATE_ROOT / "logs"  # every cluster's logs (ClusterPaths.log_file), kept after its teardown
# Shared by every checkout on this machine, so a fresh clone (CI) builds nothing twice.
CACHE_ROOT = Path(os.environ.get("ORKA_CACHE") or Path.home() / ".cache" / "orka")
PROVISION_DIR = VAGRANT_DIR / "provision"
WHEELHOUSE_PINS = PROVISION_DIR / "wheelhouse.txt"
INSTALL_TOOLS = PROVISION_DIR / "install-tools.sh"


@dataclass(frozen=True)
class ClusterPaths:
    """One cluster's state folder and what is in it."""

    state_dir: Path

    @classmethod
    def for_name(cls, name: str) -> ClusterPaths:
        return cls(STATE_ROOT / "clusters" / name)

    @property
    def name(self) -> str:
        return self.state_dir.name

    @property
    def spec_file(self) -> Path:
        return self.state_dir / "spec.json"

    @property
    def ssh_config(self) -> Path:
        return self.state_dir / "ssh_config"

    @property
    def ssh_sockets(self) -> Path:
        """Where OpenSSH keeps a master connection per machine (ControlPath), so a command rides an open
        connection instead of a new handshake. A socket's path is bounded (108 bytes on Linux, and ssh first
        binds it with 17 random characters more): a state folder too deep for it gets one under /tmp, named by
        the folder's hash."""
        folder = self.state_dir / "ssh"
        if len(str(folder)) + len("/") + SOCKET_NAME + len(".0123456789abcdef") < 104:
            return folder
        return Path("/tmp") / f"orka-ssh-{hashlib.sha1(str(self.state_dir).encode()).hexdigest()[:12]}"

    @property
    def upload_dir(self) -> Path:
        return self.state_dir / "upload"

    def log_file(self, kind: str = "vagrant") -> Path:
        # Outside the state folder, which teardown removes: a failed run's log stays.
        return self.state_dir.parent.parent / "logs" / f"{self.name}-{kind}.log"

    @property
    def project_dir(self) -> Path:
        """The Vagrant project folder vagrant runs in.

        The default cluster is vagrant/ itself, so the spike's hand commands
        (`cd vagrant && vagrant ssh MACHINE`) see it. Every other cluster (an
        xdist worker's, a named one) gets a project of its own in its state
        folder: Vagrant's global machine index matches machines by project
        folder and name, and two clusters sharing vagrant/ took over each
        other's machines ("the machine is locked") when up at once.
        """
        return VAGRANT_DIR if self.name == DEFAULT_CLUSTER_NAME else self.state_dir

    @property
    def dotfile(self) -> Path:
        return self.project_dir / ".vagrant"


def write_spec(spec: ClusterSpec, paths: ClusterPaths) -> None:
    """Write the plan atomically (a reader never sees half of it), and the cluster's Vagrant project."""
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(paths.spec_file, json.dumps(spec.to_dict(), indent=2) + "\n", mode=0o600)
    if paths.project_dir != VAGRANT_DIR:
        (paths.project_dir / "Vagrantfile").write_text(
            f"# orka cluster {spec.name}: vagrant/Vagrantfile with this cluster's plan.\n"
            f"# `cd` here to drive it by hand, e.g. `vagrant ssh {spec.nodes[0].name}`.\n"
            f'ENV["ORKA_SPEC"] = File.join(__dir__, "spec.json")\n'
            f"load {json.dumps(str(VAGRANT_DIR / 'Vagrantfile'))}\n"
        )


def read_spec(paths: ClusterPaths) -> ClusterSpec | None:
    if not paths.spec_file.exists():
        return None
    return ClusterSpec.from_dict(json.loads(paths.spec_file.read_text()))
