"""Unit tests of the box logic: the recipe's hash, Vagrant's box folders, the errors that name the fix."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from orka.providers.box import (
    BOX_RECIPE,
    ORKA_BOX,
    SHARED_INPUTS,
    BoxError,
    box_folders,
    box_recipe_hash,
    ensure_box,
    installed_recipe,
    missing_build_tools,
    vagrant_home,
)
from orka.providers.choose import libvirt_acceleration
from orka.providers.virsh import parse_vol_list


@pytest.fixture
def recipe(tmp_path: Path) -> tuple[Path, list[Path], Path]:
    """Private copies of the box recipe, the files it shares and a wheelhouse folder, free to change."""
    box = tmp_path / "box"
    shutil.copytree(BOX_RECIPE, box)
    shared = []
    for source in SHARED_INPUTS:
        copy = tmp_path / "shared" / source.parent.name / source.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)
        shared.append(copy)
    wheelhouse = tmp_path / "wheelhouse" / "a019eb7e7fe1"
    wheelhouse.mkdir(parents=True)
    return box, shared, wheelhouse


def test_the_real_recipe_is_complete() -> None:
    for name in ("build.sh", "configure.sh", "packages.txt", "syslinux.cfg", "Vagrantfile", "vagrant-insecure.pub"):
        assert (BOX_RECIPE / name).is_file(), name
    assert all(path.is_file() for path in SHARED_INPUTS)


def test_hash_is_stable_and_12_hex(recipe: tuple[Path, list[Path], Path]) -> None:
    box, shared, wheelhouse = recipe
    first = box_recipe_hash(box, shared, wheelhouse)
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert box_recipe_hash(box, shared, wheelhouse) == first
    assert box_recipe_hash(BOX_RECIPE, SHARED_INPUTS, wheelhouse) == first


@pytest.mark.parametrize("name", ["build.sh", "configure.sh", "packages.txt", "syslinux.cfg"])
def test_hash_changes_with_the_recipe(recipe: tuple[Path, list[Path], Path], name: str) -> None:
    box, shared, wheelhouse = recipe
    before = box_recipe_hash(box, shared, wheelhouse)
    with (box / name).open("a") as handle:
        handle.write("\n# changed\n")
    assert box_recipe_hash(box, shared, wheelhouse) != before


@pytest.mark.parametrize("index", range(len(SHARED_INPUTS)))
def test_hash_changes_with_what_it_reuses(recipe: tuple[Path, list[Path], Path], index: int) -> None:
    # The docker image's configure step and the tools installer are part of the box.
    box, shared, wheelhouse = recipe
    before = box_recipe_hash(box, shared, wheelhouse)
    with shared[index].open("a") as handle:
        handle.write("\n# changed\n")
    assert box_recipe_hash(box, shared, wheelhouse) != before


def test_hash_changes_with_the_wheelhouse(recipe: tuple[Path, list[Path], Path]) -> None:
    # The tools are installed into the box: new pins (a new wheelhouse folder) make a new box.
    box, shared, wheelhouse = recipe
    other = wheelhouse.parent / "0123456789ab"
    assert box_recipe_hash(box, shared, other) != box_recipe_hash(box, shared, wheelhouse)


def test_vagrant_home_follows_the_environment(tmp_path: Path) -> None:
    assert vagrant_home({"VAGRANT_HOME": str(tmp_path)}) == tmp_path
    assert vagrant_home({}) == Path.home() / ".vagrant.d"
    assert vagrant_home({"VAGRANT_HOME": ""}) == Path.home() / ".vagrant.d"


def add_box(home: Path, name: str, version: str, provider: str, recipe: str | None = None) -> Path:
    """Lay out a box as `vagrant box add` leaves it."""
    folder = home / "boxes" / name.replace("/", "-VAGRANTSLASH-") / version / provider
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps({"provider": provider}))
    if recipe is not None:
        (folder / "orka-recipe").write_text(recipe + "\n")
    return folder


def test_box_folders_per_provider(tmp_path: Path) -> None:
    assert box_folders("centos/stream9", "libvirt", tmp_path) == []
    folder = add_box(tmp_path, "centos/stream9", "20240101.0", "libvirt")
    add_box(tmp_path, "centos/stream9", "20240101.1", "virtualbox")
    assert box_folders("centos/stream9", "libvirt", tmp_path) == [folder]
    assert box_folders("centos/stream9", "vmware", tmp_path) == []
    assert box_folders("centos/stream8", "libvirt", tmp_path) == []


def test_a_half_added_box_does_not_count(tmp_path: Path) -> None:
    folder = add_box(tmp_path, ORKA_BOX, "0", "libvirt", recipe="abc")
    (folder / "metadata.json").unlink()
    assert box_folders(ORKA_BOX, "libvirt", tmp_path) == []
    assert installed_recipe(tmp_path) is None


def test_installed_recipe_reads_the_marker(tmp_path: Path) -> None:
    assert installed_recipe(tmp_path) is None
    add_box(tmp_path, ORKA_BOX, "0", "libvirt", recipe="0123456789ab")
    assert installed_recipe(tmp_path) == "0123456789ab"


def test_a_box_without_marker_is_not_orkas(tmp_path: Path) -> None:
    # Someone's own box under the same name: orka builds its own over it.
    add_box(tmp_path, ORKA_BOX, "0", "libvirt")
    assert installed_recipe(tmp_path) is None


def test_missing_build_tools_names_the_packages() -> None:
    found = {"debootstrap": "/usr/sbin/debootstrap", "mkfs.ext4": "/sbin/mkfs.ext4", "qemu-img": "/usr/bin/qemu-img"}
    assert missing_build_tools(found) == ["dosfstools", "fdisk", "mtools", "syslinux"]
    everything = dict.fromkeys(["debootstrap", "mkfs.ext4", "mkfs.vfat", "mcopy", "syslinux", "sfdisk"], "/x")
    assert missing_build_tools({**everything, "qemu-img": "/usr/bin/qemu-img"}) == []


def test_the_orka_box_is_for_libvirt_only(tmp_path: Path) -> None:
    with pytest.raises(BoxError, match=r"orka/bookworm is built for libvirt only.*fix: provider: libvirt"):
        ensure_box(ORKA_BOX, "virtualbox", tmp_path, tmp_path, lambda _: None, 10)


@pytest.mark.parametrize("provider", ["docker", "static"])
def test_no_box_is_needed_without_vms(tmp_path: Path, provider: str) -> None:
    lines: list[str] = []
    ensure_box("centos/stream9", provider, tmp_path, tmp_path, lines.append, 10)
    ensure_box(ORKA_BOX, provider, tmp_path, tmp_path, lines.append, 10)
    assert lines == []
    assert list(tmp_path.iterdir()) == []


CPUINFO_VTX = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr vmx ssse3\n"
CPUINFO_AMDV = "processor\t: 0\nflags\t\t: fpu vme de svm sse4a\n"
CPUINFO_NONE = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr hypervisor\nvmx flags\t: none\n"


@pytest.mark.parametrize("cpuinfo", [CPUINFO_VTX, CPUINFO_AMDV])
def test_kvm_with_hardware_virtualisation(cpuinfo: str) -> None:
    assert libvirt_acceleration(cpuinfo, has_kvm=True) == "KVM"


@pytest.mark.parametrize(("cpuinfo", "has_kvm"), [(CPUINFO_NONE, True), (CPUINFO_VTX, False), ("", False)])
def test_emulation_without_it(cpuinfo: str, has_kvm: bool) -> None:
    # A /dev/kvm without VT-x/AMD-V is a paravirtual KVM: a stock guest kernel hangs on it.
    assert libvirt_acceleration(cpuinfo, has_kvm).startswith("software emulation (qemu)")


VOL_LIST = """ Name                                      Path
-----------------------------------------------------------------------------------------
 orka-kvm-orka-master.img                  /var/lib/libvirt/images/orka-kvm-orka-master.img
 orka-VAGRANTSLASH-bookworm_vagrant_box_image_0_1795709495_box.img   /var/lib/libvirt/images/x.img

"""


def test_parse_vol_list() -> None:
    assert parse_vol_list(VOL_LIST) == [
        "orka-kvm-orka-master.img",
        "orka-VAGRANTSLASH-bookworm_vagrant_box_image_0_1795709495_box.img",
    ]
    assert parse_vol_list(" Name   Path\n----------\n\n") == []
    assert parse_vol_list("") == []
