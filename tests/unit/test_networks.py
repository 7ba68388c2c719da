"""Which /24 a docker cluster takes among the host's networks, when a bring-up lets others remove, and the
host lock both rest on (real flocks, in a folder of the test's own)."""

from __future__ import annotations

import fcntl
import ipaddress
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orka.errors import ClusterError
from orka.locks import HostLock, host_lock_dir
from orka.plan import layout
from orka.providers.networks import LastCreation, TakenNetwork, free_slot

SUBNET = "10.87.0.0/16"


def taken(cidr: str, cluster: str = "", name: str = "") -> TakenNetwork:
    return TakenNetwork(ipaddress.IPv4Network(cidr), name or f"net-{cidr}", cluster)


def test_a_lone_cluster_gets_its_own_slot() -> None:
    assert free_slot(SUBNET, 0, "orka", []) == 0
    named = layout.cluster_slot("orka-spike-job1-7")
    assert free_slot(SUBNET, named, "orka-spike-job1-7", [taken("172.17.0.0/16")]) == named


def test_a_slot_another_network_takes_is_passed_over() -> None:
    others = [taken("10.87.0.0/24", "orka-spike-job1-7"), taken("10.87.1.0/24")]
    assert free_slot(SUBNET, 0, "orka-spike-job1-8", others) == 2


def test_any_overlap_takes_a_slot_even_a_wider_network_not_orkas() -> None:
    """A team's own docker network over 10.87.4.0/22 takes slots 4 to 7."""
    assert free_slot(SUBNET, 4, "orka", [taken("10.87.4.0/22")]) == 8


def test_the_search_wraps_round_to_the_lowest_free_slot() -> None:
    others = [taken(f"10.87.{slot}.0/24", f"c{slot}") for slot in range(250, 256)]
    assert free_slot(SUBNET, 252, "orka-x", [*others, taken("10.87.0.0/24", "orka")]) == 1


def test_a_cluster_whose_network_exists_keeps_it() -> None:
    """A kept cluster (or an earlier run's leftovers) is on its own /24 already, whatever its slot would be."""
    mine = taken("10.87.9.0/24", "orka-spike-job1-8")
    assert free_slot(SUBNET, 0, "orka-spike-job1-8", [taken("10.87.0.0/24", "orka"), mine]) == 9


def test_a_full_subnet_is_refused_with_who_holds_it_and_the_fix() -> None:
    full = [taken("10.87.0.0/24", "orka"), taken("10.87.1.0/24", "orka-spike-job1-7")]
    with pytest.raises(ClusterError) as raised:
        free_slot("10.87.0.0/23", 0, "orka-spike-job1-8", full)
    message = str(raised.value)
    assert "10.87.0.0/23" in message
    assert "orka-spike-job1-7" in message
    assert "orka down --all" in message
    assert "network.subnet" in message


def test_the_lock_is_let_go_once_every_container_is_being_created() -> None:
    released: list[bool] = []
    watch = LastCreation(3, lambda: released.append(True))
    for line in [
        "==> salt-master: Creating and configuring docker networks...",
        "==> orka-node-1: Creating the container...",
    ]:
        watch(line)
    assert released == []
    watch("==> salt-master: Creating the container...")
    assert released == []
    watch("==> orka-node-2: Creating the container...")
    assert released == [True]
    watch("==> orka-node-2: Creating the container...")  # a line Vagrant repeats: released once only
    assert released == [True]


HOLD = textwrap.dedent(
    """
    import sys, time
    from orka.locks import HostLock, host_lock_dir
    with HostLock("probe", shared=sys.argv[1] == "shared"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _holder(shared: bool, seconds: float, lock_dir: Path) -> subprocess.Popen[str]:
    """Another process holding the lock, as another run on the host would."""
    env = {"ORKA_LOCK_DIR": str(lock_dir), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, "shared" if shared else "alone", str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def _free_now(shared: bool) -> bool:
    """Whether this process could take the lock without waiting."""
    with (host_lock_dir() / "probe.lock").open("rb") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def test_bring_ups_share_the_lock_and_a_removal_waits_for_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORKA_LOCK_DIR", str(tmp_path / "locks"))
    HostLock("probe").__enter__().release()  # the file exists before the probes look at it
    holder = _holder(True, 30, tmp_path / "locks")
    try:
        assert _free_now(shared=True)  # another bring-up goes on
        assert not _free_now(shared=False)  # a removal waits
    finally:
        holder.kill()
        holder.wait()
    assert _free_now(shared=False)  # the holder's end lets it go: no file to clean up by hand


def test_a_removal_holds_the_lock_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORKA_LOCK_DIR", str(tmp_path / "locks"))
    HostLock("probe").__enter__().release()
    holder = _holder(False, 30, tmp_path / "locks")
    try:
        assert not _free_now(shared=True)
    finally:
        holder.kill()
        holder.wait()


def test_release_is_early_and_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORKA_LOCK_DIR", str(tmp_path / "locks"))
    with HostLock("probe") as lock:
        assert not _free_now(shared=True)
        lock.release()
        assert _free_now(shared=False)
        lock.release()  # and again on leaving the with: harmless
    assert (tmp_path / "locks").stat().st_mode & 0o1777 == 0o1777
