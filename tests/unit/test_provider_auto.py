"""`provider: auto` takes a VM provider only when it can run the box now."""

from __future__ import annotations

from pathlib import Path

from orka.providers import box_is_added


def test_a_box_added_for_the_provider_is_found(tmp_path: Path) -> None:
    (tmp_path / "boxes" / "centos-VAGRANTSLASH-stream9" / "0" / "amd64" / "libvirt").mkdir(parents=True)
    assert box_is_added("centos/stream9", "libvirt", tmp_path)
    assert not box_is_added("centos/stream9", "virtualbox", tmp_path)


def test_an_older_layout_without_architecture_is_found(tmp_path: Path) -> None:
    (tmp_path / "boxes" / "orka-VAGRANTSLASH-bookworm" / "0" / "libvirt").mkdir(parents=True)
    assert box_is_added("orka/bookworm", "libvirt", tmp_path)


def test_a_box_never_added_is_not_found(tmp_path: Path) -> None:
    assert not box_is_added("centos/stream9", "libvirt", tmp_path)
