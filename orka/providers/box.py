"""The VM providers' box: orka's own Debian box for libvirt, or a downloaded one.

`box: orka/bookworm` in the settings means the box orka builds offline from
Debian's packages (vagrant/box/build.sh), cached by its recipe's hash like the
docker node image: `vagrant box add` keeps the recipe's hash in the box's
folder, and an unchanged recipe is never built again. Any other box (by
default the platform's own: debian/bookworm64 for debian-12) is fetched by Vagrant before `vagrant up`, so a
machine without internet gets one clear message instead of four half-started
machines.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from orka.config import REPO_ROOT
from orka.errors import OrkaError
from orka.locks import file_lock
from orka.progress import Emit, run_showing, step
from orka.providers.virsh import POOL, pool_volumes, virsh

ORKA_BOX = "orka/bookworm"
ORKA_BOX_PROVIDER = "libvirt"
VM_PROVIDERS = ("virtualbox", "libvirt")
BOX_RECIPE = REPO_ROOT / "vagrant" / "box"
# What the box takes from the other recipes: a change to any rebuilds it.
SHARED_INPUTS = (
    REPO_ROOT / "vagrant" / "image" / "configure.sh",
    REPO_ROOT / "vagrant" / "image" / "container-units.txt",
    REPO_ROOT / "vagrant" / "image" / "packages.txt",
    REPO_ROOT / "vagrant" / "provision" / "install-tools.sh",
)
# The file the recipe puts in the box, which `vagrant box add` keeps in the box's folder.
RECIPE_MARKER = "orka-recipe"
# Host tools build.sh needs beyond a shell, and the Debian package of each.
BUILD_TOOLS = {
    "debootstrap": "debootstrap",
    "mkfs.ext4": "e2fsprogs",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "syslinux": "syslinux",
    "sfdisk": "fdisk",
    "qemu-img": "qemu-utils",
}
SYSLINUX_MBR = Path("/usr/lib/syslinux/mbr/mbr.bin")
# Vagrant must not phone home while orka adds or fetches a box.
VAGRANT_ENV = {"VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1", "VAGRANT_NO_COLOR": "1"}
FIX_OFFLINE = f"set `box: {ORKA_BOX}` in the settings to have orka build a Debian box offline (provider libvirt)"


class BoxError(OrkaError):
    """The box the VM provider needs is missing and cannot be built or fetched."""


def box_recipe_hash(recipe_dir: Path, shared_inputs: Iterable[Path], wheelhouse: Path) -> str:
    """A digest of the recipe, the files it reuses and the wheelhouse it installs (named by its pins)."""
    digest = hashlib.sha256()
    files = [(p.relative_to(recipe_dir).as_posix(), p) for p in sorted(recipe_dir.rglob("*")) if p.is_file()]
    files += [(f"shared/{p.parent.name}/{p.name}", p) for p in shared_inputs]
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(b"wheelhouse\0" + wheelhouse.name.encode())
    return digest.hexdigest()[:12]


def vagrant_home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("VAGRANT_HOME") or Path.home() / ".vagrant.d").expanduser()


def box_folders(box: str, provider: str, home: Path) -> list[Path]:
    """The installed versions of a box for one provider (Vagrant's own layout), oldest first."""
    versions = home / "boxes" / box.replace("/", "-VAGRANTSLASH-")
    if not versions.is_dir():
        return []
    return sorted(p / provider for p in versions.iterdir() if (p / provider / "metadata.json").is_file())


def installed_recipe(home: Path) -> str | None:
    """The recipe hash of the installed orka box, or None when there is none."""
    for folder in box_folders(ORKA_BOX, ORKA_BOX_PROVIDER, home):
        marker = folder / RECIPE_MARKER
        if marker.is_file():
            return marker.read_text().strip()
    return None


def missing_build_tools(which: Mapping[str, str | None]) -> list[str]:
    """Debian packages to install for the tools build.sh needs ({tool: path or None})."""
    return sorted({package for tool, package in BUILD_TOOLS.items() if not which.get(tool)})


def ensure_box(box: str, provider: str, wheelhouse: Path, lock_dir: Path, emit: Emit, timeout_s: int) -> None:
    """Make sure Vagrant has the box for a VM provider: build orka's, or fetch any other."""
    if provider not in VM_PROVIDERS:
        return
    if box == ORKA_BOX:
        if provider != ORKA_BOX_PROVIDER:
            raise BoxError(
                f"box {ORKA_BOX} is built for {ORKA_BOX_PROVIDER} only, not {provider}; "
                f"fix: provider: {ORKA_BOX_PROVIDER}, or a {provider} box such as centos/stream9"
            )
        ensure_orka_box(wheelhouse, lock_dir, emit)
    elif not box_folders(box, provider, vagrant_home(os.environ)):
        fetch_box(box, provider, emit, timeout_s)


def ensure_orka_box(wheelhouse: Path, lock_dir: Path, emit: Emit) -> None:
    """Build and add orka/bookworm when the installed one is missing or from another recipe."""
    home = vagrant_home(os.environ)
    wanted = box_recipe_hash(BOX_RECIPE, SHARED_INPUTS, wheelhouse)
    if installed_recipe(home) == wanted:
        return
    with file_lock(lock_dir / "box.lock"):
        if installed_recipe(home) == wanted:  # another worker built it while we waited
            return
        _check_can_build()
        out = Path(tempfile.mkdtemp(prefix="orka-box-", dir=lock_dir))
        try:
            box_file = out / f"orka-bookworm-{wanted}.box"
            with step(emit, f"building box {ORKA_BOX} {wanted} from {BOX_RECIPE} (debootstrap, a few minutes)"):
                _run_build(box_file, wanted, wheelhouse, emit)
            with step(emit, f"adding box {ORKA_BOX} to Vagrant"):
                _vagrant(["box", "add", "--force", "--name", ORKA_BOX, "--provider", ORKA_BOX_PROVIDER, str(box_file)])
        finally:
            shutil.rmtree(out, ignore_errors=True)
        _remove_stale_volumes(emit)


def _check_can_build() -> None:
    if os.geteuid() != 0:
        raise BoxError(f"building box {ORKA_BOX} needs root (debootstrap and chroot): run as root")
    missing = missing_build_tools({tool: shutil.which(tool) for tool in BUILD_TOOLS})
    if not SYSLINUX_MBR.is_file():
        missing = sorted({*missing, "syslinux-common"})
    if missing:
        raise BoxError(
            f"building box {ORKA_BOX} needs {', '.join(missing)}; fix: bash scripts/setup-libvirt.sh "
            f"(or apt-get install {' '.join(missing)})"
        )


def _run_build(box_file: Path, recipe_hash: str, wheelhouse: Path, emit: Emit) -> None:
    command = ["bash", str(BOX_RECIPE / "build.sh"), str(box_file), recipe_hash, str(wheelhouse)]
    code, tail = run_showing(command, "[box]", emit)
    if code != 0:
        raise BoxError(f"box build failed ({BOX_RECIPE}/build.sh):\n" + "\n".join(tail))


def _vagrant(args: list[str], timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            ["vagrant", *args],
            env={**os.environ, **VAGRANT_ENV},
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BoxError(f"`vagrant {' '.join(args)}` did not finish in {timeout_s:.0f} s") from None
    if result.returncode != 0:
        raise BoxError(f"`vagrant {' '.join(args)}` failed: {_last_line(result)}")
    return result


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {result.returncode}"


def fetch_box(box: str, provider: str, emit: Emit, timeout_s: int) -> None:
    """`vagrant box add BOX`, with the fix named when it cannot be had (no internet)."""
    try:
        with step(emit, f"fetching box {box} for {provider} (vagrant box add)"):
            _vagrant(["box", "add", box, "--provider", provider], timeout_s)
    except BoxError as exc:
        raise BoxError(
            f"box {box} for {provider} is not installed and could not be fetched ({exc}); "
            f"fix: {FIX_OFFLINE}, or run `vagrant box add {box} --provider {provider}` where there is internet"
        ) from None


def _remove_stale_volumes(emit: Emit) -> None:
    """Drop the libvirt copies of earlier builds of orka's box.

    vagrant-libvirt uploads a box into the storage pool once, under a name made
    from the box's file time; a rebuilt box gets a new name, and the old copy
    (hundreds of MiB) would stay in the pool for ever.
    """
    prefix = ORKA_BOX.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_"
    for volume in pool_volumes():
        if volume.startswith(prefix):
            gone = virsh("vol-delete", volume, "--pool", POOL)
            if gone is not None and gone.returncode == 0:
                emit(f"[orka]   removed the libvirt copy of an earlier box build: {volume}")
