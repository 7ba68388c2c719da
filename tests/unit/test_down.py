"""What `orka down` removes, and what it says it removed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orka.config.settings import DEFAULT_SETTINGS_PATH, Timeouts, load_settings
from orka.errors import ClusterError
from orka.plan import state
from orka.plan.build import build_plan
from orka.plan.spec import ClusterSpec
from orka.plan.state import STATE_ROOT, ClusterPaths, write_spec
from orka.providers import docker, down, libvirt, processes
from orka.providers.down import Leftovers
from orka.providers.libvirt import LibvirtObjects


def test_everything_found_is_named() -> None:
    found = Leftovers(
        name="orka-x",
        processes=(41, 42),
        containers=("orka-x-orka-node-1",),
        networks=("vagrant_network_10.87.200.0/24",),
        folders=(STATE_ROOT / "clusters" / "orka-x",),
    )
    assert found
    assert found.describe() == (
        "2 running processes (41, 42); 1 container (orka-x-orka-node-1); "
        "1 network (vagrant_network_10.87.200.0/24); the folder .orka/clusters/orka-x"
    )


def test_nothing_found_is_false_and_says_nothing() -> None:
    nothing = Leftovers(name="orka-x", processes=(), containers=(), networks=(), folders=())
    assert not nothing
    assert nothing.describe() == ""


# -- remove(): whatever a run left, by the plan when there is one, else by what orka finds itself -------------------

NAME = "orka-unit"
TIMEOUTS = Timeouts(up_s=600, ready_s=120, command_s=300)


class Here:
    """Stands in for what docker, libvirt and /proc say here of cluster NAME; notes what was asked to go.

    (Not a `machine` fixture: orka's pytest plugin parametrizes every test that takes one.)
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, spec_file: Path) -> None:
        self.spec_file = spec_file
        self.pids: list[int] = []
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.libvirt = LibvirtObjects()
        self.stuck: list[str] = []  # containers no removal takes away
        self.calls: list[str] = []
        self.destroyed: list[ClusterSpec] = []
        monkeypatch.setattr(down, "_labelled", self._labelled)
        monkeypatch.setattr(processes, "started_for", self._started_for)
        monkeypatch.setattr(processes, "stop", self._stop)
        monkeypatch.setattr(down, "remove_docker_leftovers", self._remove_docker("down"))
        monkeypatch.setattr(docker, "remove_docker_leftovers", self._remove_docker("cluster"))
        monkeypatch.setattr(libvirt, "find", self._libvirt_find)
        monkeypatch.setattr(libvirt, "remove", self._libvirt_remove)
        real_destroy = docker.DockerCluster.destroy

        def destroy(cluster: docker.DockerCluster) -> None:  # the real one, noted
            self.destroyed.append(cluster.spec)
            real_destroy(cluster)

        monkeypatch.setattr(docker.DockerCluster, "destroy", destroy)

    def _labelled(self, kind: str, name: str) -> tuple[str, ...]:
        assert name == NAME
        return tuple(sorted(self.containers if kind == "container" else self.networks))

    def _started_for(self, spec_file: Path) -> list[int]:
        return list(self.pids) if spec_file == self.spec_file else []

    def _stop(self, pids: list[int], grace_s: float = 5.0) -> None:
        self.calls.append(f"stop {pids}")
        self.pids = [pid for pid in self.pids if pid not in pids]

    def _remove_docker(self, where: str) -> Callable[[str | None], int]:
        def remove(name: str | None, settle_s: float = 1.0) -> int:
            assert name == NAME
            self.calls.append(f"{where}: remove docker leftovers")
            gone = len(self.containers) + len(self.networks)
            self.containers = [c for c in self.containers if c in self.stuck]
            self.networks = []
            return gone

        return remove

    def _libvirt_find(self, name: str) -> LibvirtObjects:
        return self.libvirt if name == NAME else LibvirtObjects()

    def _libvirt_remove(self, name: str) -> None:
        self.calls.append(f"libvirt remove {name}")
        self.libvirt = LibvirtObjects()


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ClusterPaths:
    """NAME's state folder, under tmp_path (not created)."""
    monkeypatch.setattr(state, "STATE_ROOT", tmp_path / ".orka")
    monkeypatch.setattr(down, "STATE_ROOT", tmp_path / ".orka")
    return ClusterPaths.for_name(NAME)


@pytest.fixture
def here(paths: ClusterPaths, monkeypatch: pytest.MonkeyPatch) -> Here:
    return Here(monkeypatch, paths.spec_file)


def a_spec(paths: ClusterPaths) -> ClusterSpec:
    settings = load_settings(DEFAULT_SETTINGS_PATH, {"methods": ["custom"]})
    public = paths.state_dir / "id_ed25519.pub"
    public.parent.mkdir(parents=True, exist_ok=True)
    public.write_text("ssh-ed25519 AAAA test\n")
    return build_plan(
        settings,
        name=NAME,
        provider="docker",
        image="orka-node:0123456789ab",
        tools_image="orka-node-tools:0123456789ab",
        ssh_private_key=paths.state_dir / "id_ed25519",
        ssh_public_key=public,
        wheelhouse=paths.state_dir.parent.parent / "wheelhouse",
    )


def left_running(here: Here) -> None:
    """What a killed `vagrant up` leaves: itself still running, two containers and the network."""
    here.pids = [4101, 4102]
    here.containers = [f"{NAME}-orka-node-1", f"{NAME}-orka-node-2"]
    here.networks = ["vagrant_network_10.87.200.0/24"]


def test_nothing_found_removes_nothing(paths: ClusterPaths, here: Here) -> None:
    emitted: list[str] = []
    found = down.remove(NAME, TIMEOUTS, emitted.append)
    assert found == Leftovers(name=NAME, processes=(), containers=(), networks=(), folders=())
    assert here.calls == []
    assert here.destroyed == []
    assert emitted == []
    assert not paths.state_dir.parent.exists()


def test_a_readable_plan_is_destroyed_as_its_cluster(paths: ClusterPaths, here: Here) -> None:
    spec = a_spec(paths)
    write_spec(spec, paths)
    left_running(here)
    found = down.remove(NAME, TIMEOUTS, lambda line: None)
    assert here.destroyed == [spec]
    assert "down: remove docker leftovers" not in here.calls  # the plan's own teardown, not the blind one
    assert here.calls == ["stop [4101, 4102]", "cluster: remove docker leftovers"]
    assert found == Leftovers(
        name=NAME,
        processes=(4101, 4102),
        containers=(f"{NAME}-orka-node-1", f"{NAME}-orka-node-2"),
        networks=("vagrant_network_10.87.200.0/24",),
        folders=(paths.state_dir,),
    )
    assert not paths.state_dir.exists()
    assert (here.pids, here.containers, here.networks) == ([], [], [])


@pytest.mark.parametrize(
    "plan",
    [
        None,  # killed before the plan was written
        '{"name": "orka-unit", "provider": "dock',  # killed while writing it
        '{"name": "orka-unit"}',  # a plan of another orka
        "[1, 2]",
    ],
    ids=["missing", "cut-off", "fields-missing", "not-a-plan"],
)
def test_without_a_readable_plan_what_orka_finds_goes(plan: str | None, paths: ClusterPaths, here: Here) -> None:
    paths.state_dir.mkdir(parents=True)
    (paths.state_dir / "id_ed25519").write_text("a key\n")
    if plan is not None:
        paths.spec_file.write_text(plan)
    left_running(here)
    found = down.remove(NAME, TIMEOUTS, lambda line: None)
    assert here.destroyed == []
    assert here.calls == ["stop [4101, 4102]", "down: remove docker leftovers"]
    assert found.processes == (4101, 4102)
    assert found.containers == (f"{NAME}-orka-node-1", f"{NAME}-orka-node-2")
    assert found.folders == (paths.state_dir,)
    assert not paths.state_dir.exists()
    assert (here.pids, here.containers, here.networks) == ([], [], [])


def test_a_state_folder_alone_is_removed(paths: ClusterPaths, here: Here) -> None:
    (paths.upload_dir / "orka-node-1").mkdir(parents=True)
    found = down.remove(NAME, TIMEOUTS, lambda line: None)
    assert found.folders == (paths.state_dir,)
    assert found.describe() == "the folder .orka/clusters/orka-unit"
    assert not paths.state_dir.exists()


def test_libvirt_objects_the_plan_no_longer_knows_are_removed_by_name(paths: ClusterPaths, here: Here) -> None:
    here.libvirt = LibvirtObjects(domains=(f"{NAME}-orka-node-1",), networks=(f"{NAME}-mgmt",))
    found = down.remove(NAME, TIMEOUTS, lambda line: None)
    assert found.libvirt == (f"domain {NAME}-orka-node-1", f"network {NAME}-mgmt")
    assert f"libvirt remove {NAME}" in here.calls
    assert not here.libvirt


def test_what_stays_is_named_with_the_fix(paths: ClusterPaths, here: Here) -> None:
    left_running(here)
    here.stuck = [f"{NAME}-orka-node-2"]
    with pytest.raises(ClusterError) as raised:
        down.remove(NAME, TIMEOUTS, lambda line: None)
    assert str(raised.value) == (
        f"cluster {NAME}: could not remove 1 container ({NAME}-orka-node-2); try `orka down --name {NAME}` again"
    )
