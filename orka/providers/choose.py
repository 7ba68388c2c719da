"""Which Vagrant provider runs the cluster here, and why."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from orka.errors import ProviderError

# Workstations with a hypervisor get real VMs; anything else (CI, build
# agents, containers) gets the docker provider.
AUTO_ORDER = ("virtualbox", "libvirt", "docker")

FIXES = {
    "docker": "install docker.io and start the engine (`dockerd &` or `systemctl start docker`)",
    "virtualbox": "install VirtualBox, or use provider: docker",
    "libvirt": "bash scripts/setup-libvirt.sh (installs libvirt, starts libvirtd), or use provider: docker",
    "static": "list the fleet's hosts under static.hosts in the settings",
}


def _output(command: list[str], timeout: float = 15) -> tuple[str | None, str]:
    """Run a probe command; (its output, '') when it works, else (None, why)."""
    if shutil.which(command[0]) is None:
        return None, f"{command[0]} not found"
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"`{' '.join(command)}` did not answer in {timeout:.0f} s"
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        return None, f"`{' '.join(command)}` failed: {detail[-1] if detail else 'exit ' + str(result.returncode)}"
    return result.stdout, ""


def _answers(command: list[str], timeout: float = 15) -> tuple[bool, str]:
    """Run a probe command; (True, '') when it works, else (False, why)."""
    output, why = _output(command, timeout)
    return output is not None, why


def _docker() -> tuple[bool, str]:
    return _answers(["docker", "info", "--format", "{{.ServerVersion}}"])


def _virtualbox() -> tuple[bool, str]:
    return _answers(["VBoxManage", "list", "hostonlyifs"])


def _libvirt() -> tuple[bool, str]:
    # virsh first: it answers at once, where `vagrant plugin list` takes a second of Ruby start-up.
    ok, why = _answers(["virsh", "-c", "qemu:///system", "version"])
    if not ok:
        return ok, why
    plugins, why = _output(["vagrant", "plugin", "list"])
    if plugins is None:
        return False, why
    if "vagrant-libvirt" not in plugins:
        return False, "the vagrant-libvirt plugin is not installed"
    return True, ""


def libvirt_acceleration(cpuinfo: str, has_kvm: bool) -> str:
    """How libvirt will run the VMs here: the rule LIBVIRT_DRIVER in vagrant/Vagrantfile applies.

    KVM needs the CPU's hardware virtualisation (VT-x or AMD-V flags); a
    /dev/kvm without it (a paravirtual KVM inside a cloud VM) hangs a stock
    guest kernel, so qemu emulates the CPU instead.
    """
    if has_kvm and re.search(r"^flags\s*:.*\b(vmx|svm)\b", cpuinfo, re.MULTILINE):
        return "KVM"
    return "software emulation (qemu): this CPU offers no VT-x/AMD-V; VMs boot in minutes (timeouts.ready: 600 or more)"


def _libvirt_note() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    return libvirt_acceleration(cpuinfo, Path("/dev/kvm").exists())


def _static() -> tuple[bool, str]:
    # Nothing to probe here: the fleet's hosts exist already, and bringing it
    # up checks each over SSH, naming any that does not answer.
    return True, ""


PROBES: dict[str, Callable[[], tuple[bool, str]]] = {
    "docker": _docker,
    "virtualbox": _virtualbox,
    "libvirt": _libvirt,
    "static": _static,
}


def box_is_added(box: str, provider: str, vagrant_home: Path | None = None) -> bool:
    """Whether `vagrant box add` has put this box on this machine for this provider (no Ruby start-up)."""
    home = vagrant_home or Path(os.environ.get("VAGRANT_HOME") or Path.home() / ".vagrant.d")
    folder = home / "boxes" / box.replace("/", "-VAGRANTSLASH-")
    return any(folder.glob(f"*/{provider}")) or any(folder.glob(f"*/*/{provider}"))


def _unfit_for_auto(name: str, box: str | None) -> str:
    """Why `auto` passes over a VM provider that works: a box still to fetch, or a CPU it must emulate.

    A workstation picks its hypervisor when it can run the box now; anything
    else (a build agent with libvirt installed but no VT-x, a laptop offline
    without the box) gets the docker provider instead of a failed download or
    VMs that take minutes to boot. Asking for the provider by name still works.
    """
    if name == "libvirt" and not _libvirt_note().startswith("KVM"):
        return "no hardware virtualisation (VT-x/AMD-V) for KVM"
    if box and name in ("virtualbox", "libvirt") and not box_is_added(box, name):
        return f"box {box} is not added for {name} (`vagrant box add {box} --provider {name}`)"
    return ""


def choose_provider(requested: str, box: str | None = None) -> tuple[str, str]:
    """Return (provider, reason). 'auto' takes the first of AUTO_ORDER that works."""
    if requested != "auto":
        ok, why = PROBES[requested]()
        if not ok:
            raise ProviderError(f"provider {requested} does not work here: {why}; fix: {FIXES[requested]}")
        return requested, "chosen in settings" + (f"; {_libvirt_note()}" if requested == "libvirt" else "")
    skipped: list[str] = []
    for name in AUTO_ORDER:
        ok, why = PROBES[name]()
        if ok and (unfit := _unfit_for_auto(name, box)):
            ok, why = False, unfit
        if ok:
            reason = "auto: first that works" + (f" ({'; '.join(skipped)})" if skipped else "")
            reason += f"; {_libvirt_note()}" if name == "libvirt" else ""
            return name, reason
        skipped.append(f"{name}: {why}")
    raise ProviderError(
        "provider auto found none that works here:\n"
        + "\n".join(f"  - {s}" for s in skipped)
        + f"\nfix: {FIXES['docker']}"
    )
