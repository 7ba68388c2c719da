"""`provider: auto` takes a VM provider only when it can run the box now, and says why it passed the others over."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orka.errors import ProviderError
from orka.providers import choose as providers
from orka.providers.choose import box_is_added, choose_provider


def test_a_box_added_for_the_provider_is_found(tmp_path: Path) -> None:
    (tmp_path / "boxes" / "centos-VAGRANTSLASH-stream9" / "0" / "amd64" / "libvirt").mkdir(parents=True)
    assert box_is_added("centos/stream9", "libvirt", tmp_path)
    assert not box_is_added("centos/stream9", "virtualbox", tmp_path)


def test_an_older_layout_without_architecture_is_found(tmp_path: Path) -> None:
    (tmp_path / "boxes" / "orka-VAGRANTSLASH-bookworm" / "0" / "libvirt").mkdir(parents=True)
    assert box_is_added("orka/bookworm", "libvirt", tmp_path)


def test_a_box_never_added_is_not_found(tmp_path: Path) -> None:
    assert not box_is_added("centos/stream9", "libvirt", tmp_path)


# -- choose_provider: which provider auto takes, and what it says of the others -----------------------------------

BOX = "centos/stream9"
VT_X = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 vmx sse sse2\n"
NO_VT_X = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 hypervisor sse sse2\n"


class Probes:
    """Stands in for PROBES: each provider answers as told, and the probes asked are noted in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, tuple[bool, str]]) -> None:
        self.asked: list[str] = []
        for name in providers.PROBES:
            monkeypatch.setitem(providers.PROBES, name, self._probe(name, answers.get(name, (True, ""))))

    def _probe(self, name: str, answer: tuple[bool, str]) -> Callable[[], tuple[bool, str]]:
        def probe() -> tuple[bool, str]:
            self.asked.append(name)
            return answer

        return probe


def host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, cpuinfo: str, boxes: tuple[str, ...]) -> None:
    """This machine's CPU (for libvirt's KVM) and the boxes added under a real VAGRANT_HOME, for these providers."""
    monkeypatch.setattr(providers, "_libvirt_note", lambda: providers.libvirt_acceleration(cpuinfo, True))
    monkeypatch.setenv("VAGRANT_HOME", str(tmp_path / "vagrant.d"))
    for provider in boxes:
        (tmp_path / "vagrant.d" / "boxes" / BOX.replace("/", "-VAGRANTSLASH-") / "0" / "amd64" / provider).mkdir(
            parents=True
        )


def test_auto_takes_the_first_that_works_and_asks_no_further(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probes = Probes(monkeypatch, {"virtualbox": (False, "VBoxManage not found")})
    host(monkeypatch, tmp_path, cpuinfo=VT_X, boxes=("virtualbox", "libvirt"))
    assert choose_provider("auto", BOX) == ("libvirt", "auto: first that works (virtualbox: VBoxManage not found); KVM")
    assert probes.asked == ["virtualbox", "libvirt"]


def test_auto_says_nothing_was_skipped_when_the_first_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probes = Probes(monkeypatch, {})
    host(monkeypatch, tmp_path, cpuinfo=VT_X, boxes=("virtualbox",))
    assert choose_provider("auto", BOX) == ("virtualbox", "auto: first that works")
    assert probes.asked == ["virtualbox"]


def test_auto_passes_over_libvirt_without_vt_x(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Probes(monkeypatch, {"virtualbox": (False, "VBoxManage not found")})
    host(monkeypatch, tmp_path, cpuinfo=NO_VT_X, boxes=("libvirt",))
    provider, reason = choose_provider("auto", BOX)
    assert provider == "docker"
    assert reason == (
        "auto: first that works (virtualbox: VBoxManage not found; "
        "libvirt: no hardware virtualisation (VT-x/AMD-V) for KVM)"
    )


@pytest.mark.parametrize("vm", ["virtualbox", "libvirt"])
def test_auto_passes_over_a_vm_provider_whose_box_is_not_added(
    vm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "libvirt" if vm == "virtualbox" else "virtualbox"
    Probes(monkeypatch, {other: (False, f"{other} is not installed")})
    host(monkeypatch, tmp_path, cpuinfo=VT_X, boxes=(other,))  # added, but for the provider that does not work
    provider, reason = choose_provider("auto", BOX)
    assert provider == "docker"
    assert f"{vm}: box {BOX} is not added for {vm} (`vagrant box add {BOX} --provider {vm}`)" in reason
    assert f"{other}: {other} is not installed" in reason


def test_auto_with_none_that_works_names_each_and_the_docker_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Probes(
        monkeypatch,
        {
            "virtualbox": (False, "VBoxManage not found"),
            "libvirt": (False, "the vagrant-libvirt plugin is not installed"),
            "docker": (False, "`docker info --format {{.ServerVersion}}` failed: Cannot connect to the Docker daemon"),
        },
    )
    host(monkeypatch, tmp_path, cpuinfo=VT_X, boxes=("virtualbox", "libvirt"))
    with pytest.raises(ProviderError) as raised:
        choose_provider("auto", BOX)
    assert str(raised.value).splitlines() == [
        "provider auto found none that works here:",
        "  - virtualbox: VBoxManage not found",
        "  - libvirt: the vagrant-libvirt plugin is not installed",
        "  - docker: `docker info --format {{.ServerVersion}}` failed: Cannot connect to the Docker daemon",
        f"fix: {providers.FIXES['docker']}",
    ]


@pytest.mark.parametrize("name", ["docker", "virtualbox", "libvirt"])
def test_a_named_provider_that_fails_says_why_and_its_fix(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = Probes(monkeypatch, {name: (False, f"{name} answers nothing")})
    host(monkeypatch, tmp_path, cpuinfo=VT_X, boxes=("virtualbox", "libvirt"))
    with pytest.raises(ProviderError) as raised:
        choose_provider(name, BOX)
    fix = providers.FIXES[name]
    assert str(raised.value) == f"provider {name} does not work here: {name} answers nothing; fix: {fix}"
    assert probes.asked == [name]  # no other provider instead


def test_a_named_provider_is_used_where_auto_would_pass_it_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libvirt by name, without VT-x and without the box: used, and the reason says qemu emulates the CPU."""
    Probes(monkeypatch, {})
    host(monkeypatch, tmp_path, cpuinfo=NO_VT_X, boxes=())
    provider, reason = choose_provider("libvirt", BOX)
    assert provider == "libvirt"
    assert reason == f"chosen in settings; {providers.libvirt_acceleration(NO_VT_X, True)}"
    assert reason.startswith("chosen in settings; software emulation (qemu)")
