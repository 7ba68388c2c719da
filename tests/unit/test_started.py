"""The branches of `started()`: reuse, an earlier run's leftovers, Ctrl-C before `vagrant up`, a failed bring-up, keep.

What stands in is the provider interface (its plan, its cluster, its leftovers) and a cluster that
only notes what it is asked (up / wait_ready / destroy / is_running). The state folder
and the plan are real files under tmp_path: the fake `up` writes the plan as the real one does, the
fake `destroy` removes the state folder as the real one does, so a kept cluster is found again by
`started()`'s own read of its plan.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from orka.config.settings import DEFAULT_SETTINGS_PATH, Settings, Timeouts, load_settings
from orka.errors import ClusterError
from orka.plan import state
from orka.plan.build import build_plan
from orka.plan.spec import ClusterSpec
from orka.plan.state import ClusterPaths, read_spec, write_spec
from orka.progress import Emit
from orka.providers import lifecycle
from orka.providers.base import Cluster, Provider
from orka.providers.lifecycle import started

NAME = "orka-unit"


def settings(cluster: int = 3) -> Settings:
    return load_settings(DEFAULT_SETTINGS_PATH, {"provider": "docker", "methods": ["custom"], "cluster": cluster})


class Rig:
    """Notes, in order, what `started()` asked of the cluster: 'prepare', 'up 3', 'wait_ready 3', 'destroy 4'
    (the number: the nodes of the plan the cluster was made from)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setattr(state, "STATE_ROOT", tmp_path / ".orka")
        self.paths = ClusterPaths.for_name(NAME)
        assert self.paths.state_dir.is_relative_to(tmp_path)
        self.tmp_path = tmp_path
        self.events: list[str] = []
        self.prepared = 0
        self.running = False  # what is_running says of a kept cluster
        self.leftovers = False  # what has_leftovers says: a killed run's docker objects, say
        self.fail: dict[str, BaseException] = {}  # 'prepare', 'up' or 'wait_ready': what it raises
        rig = self

        class RigCluster(Cluster):
            """A cluster that does nothing but note what it was asked."""

            def up(self) -> None:
                rig.events.append(f"up {len(self.nodes)}")
                if "up" in rig.fail:
                    raise rig.fail["up"]
                write_spec(self.spec, self.paths)  # as the real up: the plan the Vagrantfile reads

            def wait_ready(self) -> None:
                rig.events.append(f"wait_ready {len(self.nodes)}")
                if "wait_ready" in rig.fail:
                    raise rig.fail["wait_ready"]

            def destroy(self) -> None:
                rig.events.append(f"destroy {len(self.nodes)}")
                shutil.rmtree(self.paths.state_dir, ignore_errors=True)

            def is_running(self) -> bool:
                return rig.running

            def write_ssh_config(self) -> None: ...
            def exists(self) -> bool:
                return True

            def machine_states(self) -> dict[str, str]:
                return {}

            def hand_command(self, machine: str, command: str) -> subprocess.CompletedProcess[str]:
                raise AssertionError("no hand command here")

        class RigProvider(Provider):
            """Stands in for the provider interface: its plan, its cluster, its leftovers."""

            name = "docker"

            def prepare(self, settings: Settings, name: str, emit: object) -> ClusterSpec:
                rig.events.append("prepare")
                rig.prepared += 1
                rig.paths.state_dir.mkdir(parents=True, exist_ok=True)  # prepare makes the key in the state folder
                (rig.paths.state_dir / "id_ed25519").write_text(f"key of prepare {rig.prepared}\n")
                if "prepare" in rig.fail:
                    raise rig.fail["prepare"]
                return rig.spec(settings, name)

            def cluster(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> Cluster:
                return RigCluster(spec, timeouts, emit)

            def has_leftovers(self, name: str) -> bool:
                assert name == NAME
                return rig.leftovers

        self.provider = RigProvider()
        monkeypatch.setattr(lifecycle, "chosen", lambda settings, emit: rig.provider)
        monkeypatch.setattr(lifecycle, "cluster_for", lambda spec, timeouts, emit: RigCluster(spec, timeouts, emit))

    def spec(self, settings: Settings, name: str) -> ClusterSpec:
        """The plan prepare makes of these settings (the same settings, the same plan)."""
        public = self.paths.state_dir / "id_ed25519.pub"
        public.parent.mkdir(parents=True, exist_ok=True)
        public.write_text("ssh-ed25519 AAAA test\n")
        return build_plan(
            settings,
            name=name,
            provider="docker",
            image="orka-node:0123456789ab",
            tools_image="orka-node-tools:0123456789ab",
            ssh_private_key=self.paths.state_dir / "id_ed25519",
            ssh_public_key=public,
            wheelhouse=self.tmp_path / "wheelhouse",
        )

    def kept(self, settings: Settings) -> ClusterSpec:
        """A cluster an earlier run kept (or left): its plan in its state folder."""
        spec = self.spec(settings, NAME)
        write_spec(spec, self.paths)
        return spec


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Rig:
    return Rig(monkeypatch, tmp_path)


def test_a_cluster_is_prepared_brought_up_checked_and_destroyed_after(rig: Rig) -> None:
    emitted: list[str] = []
    with started(settings(), name=NAME, emit=emitted.append) as cluster:
        assert rig.events == ["prepare", "up 3", "wait_ready 3"]
        assert cluster.spec == rig.spec(settings(), NAME)
        assert read_spec(rig.paths) == cluster.spec
    assert rig.events == ["prepare", "up 3", "wait_ready 3", "destroy 3"]
    assert not rig.paths.state_dir.exists()
    assert not [line for line in emitted if "earlier run" in line or "reusing" in line]


def test_reuse_of_a_cluster_kept_from_other_settings_is_refused(rig: Rig) -> None:
    kept = rig.kept(settings(cluster=4))
    rig.running = True
    with (
        pytest.raises(ClusterError) as raised,
        started(settings(cluster=3), name=NAME, reuse=True, emit=lambda line: None),
    ):
        pytest.fail("the kept cluster of other settings was used")
    assert str(raised.value) == (
        f"the kept cluster {NAME} was built from other settings; run `orka down` or drop --reuse-cluster"
    )
    assert rig.events == ["prepare"]  # the kept cluster is neither brought up again nor destroyed
    assert read_spec(rig.paths) == kept


def test_reuse_of_a_running_kept_cluster_of_the_same_settings_brings_nothing_up(rig: Rig) -> None:
    kept = rig.kept(settings())
    rig.running = True
    emitted: list[str] = []
    with started(settings(), name=NAME, keep=True, reuse=True, emit=emitted.append) as cluster:
        assert cluster.spec == kept
        assert rig.events == ["prepare", "wait_ready 3"]
    assert rig.events == ["prepare", "wait_ready 3"]  # kept again
    assert f"[orka] reusing kept cluster {NAME}" in emitted
    assert read_spec(rig.paths) == kept


def test_an_earlier_runs_cluster_is_destroyed_then_prepared_again(rig: Rig) -> None:
    """A plan left (kept without --reuse-cluster, or a killed run): that cluster goes, a fresh one comes."""
    rig.kept(settings(cluster=4))
    rig.running = True  # running, but not asked for
    emitted: list[str] = []
    with started(settings(cluster=3), name=NAME, emit=emitted.append) as cluster:
        assert rig.events == ["prepare", "destroy 4", "prepare", "up 3", "wait_ready 3"]
        assert cluster.spec == rig.spec(settings(cluster=3), NAME)
        # The state folder the destroy took, with its key, was made again by the second prepare.
        assert (rig.paths.state_dir / "id_ed25519").read_text() == "key of prepare 2\n"
        assert read_spec(rig.paths) == cluster.spec
    assert f"[orka] removing what an earlier run left of cluster {NAME}" in emitted


def test_a_kept_cluster_that_is_not_running_is_not_reused(rig: Rig) -> None:
    rig.kept(settings())
    rig.running = False
    with started(settings(), name=NAME, reuse=True, emit=lambda line: None):
        assert rig.events == ["prepare", "destroy 3", "prepare", "up 3", "wait_ready 3"]


def test_leftovers_of_an_earlier_run_without_its_plan_go_first(rig: Rig) -> None:
    rig.leftovers = True
    with started(settings(), name=NAME, emit=lambda line: None):
        assert rig.events == ["prepare", "destroy 3", "prepare", "up 3", "wait_ready 3"]


def test_ctrl_c_in_prepare_removes_the_state_folder_it_made(rig: Rig) -> None:
    rig.fail["prepare"] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt), started(settings(), name=NAME, emit=lambda line: None):
        pytest.fail("came up after Ctrl-C")
    assert rig.prepared == 1
    assert not rig.paths.state_dir.exists()
    assert rig.events == ["prepare"]


def test_ctrl_c_in_prepare_leaves_a_kept_clusters_state(rig: Rig) -> None:
    kept = rig.kept(settings())
    rig.fail["prepare"] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt), started(settings(), name=NAME, emit=lambda line: None):
        pytest.fail("came up after Ctrl-C")
    assert read_spec(rig.paths) == kept
    assert rig.events == ["prepare"]


@pytest.mark.parametrize(
    ("stage", "error"),
    [
        ("up", ClusterError("`vagrant up --provision --provider=docker` failed (exit 1)")),
        ("wait_ready", ClusterError("cluster orka-unit is not ready")),
        ("up", KeyboardInterrupt()),
    ],
    ids=["up-fails", "not-ready", "ctrl-c-in-up"],
)
def test_a_failed_bring_up_is_destroyed_even_with_keep(rig: Rig, stage: str, error: BaseException) -> None:
    rig.fail[stage] = error
    with pytest.raises(type(error)) as raised, started(settings(), name=NAME, keep=True, emit=lambda line: None):
        pytest.fail("a failed bring-up was yielded")
    assert raised.value is error
    assert rig.events[-1] == "destroy 3"
    assert rig.events.count("destroy 3") == 1
    assert f"{stage} 3" in rig.events
    assert not rig.paths.state_dir.exists()


def test_keep_leaves_the_cluster_and_its_plan(rig: Rig) -> None:
    emitted: list[str] = []
    with started(settings(), name=NAME, keep=True, emit=emitted.append) as cluster:
        spec = cluster.spec
    assert rig.events == ["prepare", "up 3", "wait_ready 3"]
    assert read_spec(rig.paths) == spec
    assert any("keeping cluster" in line and "orka down" in line for line in emitted)


def test_a_kept_cluster_is_reused_by_the_next_run(rig: Rig) -> None:
    with started(settings(), name=NAME, keep=True, emit=lambda line: None) as first:
        pass
    rig.running = True
    rig.events.clear()
    with started(settings(), name=NAME, reuse=True, emit=lambda line: None) as second:
        assert second.spec == first.spec
        assert rig.events == ["prepare", "wait_ready 3"]
    assert rig.events == ["prepare", "wait_ready 3", "destroy 3"]  # not kept this time


def test_a_test_that_raises_still_tears_the_cluster_down(rig: Rig) -> None:
    with pytest.raises(RuntimeError, match="a failing test"), started(settings(), name=NAME, emit=lambda line: None):
        raise RuntimeError("a failing test")
    assert rig.events == ["prepare", "up 3", "wait_ready 3", "destroy 3"]
