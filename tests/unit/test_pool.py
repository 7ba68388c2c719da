"""The pool's judgement of its own: did a failed `vagrant up` fail on another cluster's race? And what it does then.

data/vagrant/up_raced.log is the end of a real `vagrant up` of 10 nodes that
failed while other clusters were torn down on the same docker engine: a
container and a network that Vagrant's docker provider was inspecting
vanished under it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from orka.config.settings import Settings, default_settings
from orka.errors import ClusterError
from orka.plan import state as cluster_module
from orka.plan.state import ClusterPaths
from orka.progress import Emit
from orka.providers import pool as pool_module
from orka.providers.pool import RACE_RETRIES, ClusterPool, docker_raced

RACED = (Path(__file__).parent / "data" / "vagrant" / "up_raced.log").read_bytes()
# A `vagrant up` that failed for a reason of its own: bringing it up again would fail again.
OWN_FAILURE = b""" 41.0 s  ==> orka-node-1: Running provisioner: orka (shell)...
 41.9 s      orka-node-1: /srv/orka/src/vagrant/provision/common.sh: line 12: salt-minion: command not found
 42.0 s  The SSH command responded with a non-zero exit status. Vagrant
"""


def test_a_vanished_network_or_container_is_a_race(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    log.write_bytes(RACED)
    assert docker_raced(log, 0)
    for line in RACED.splitlines(keepends=True):
        if b"not found" in line or b"No such object" in line:
            alone = tmp_path / "one.log"
            alone.write_bytes(line)
            assert docker_raced(alone, 0), line


def test_a_failure_of_the_cluster_itself_is_not(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    log.write_bytes(OWN_FAILURE)
    assert not docker_raced(log, 0)


def test_only_the_attempt_that_failed_is_read(tmp_path: Path) -> None:
    """The log keeps every attempt: a race of an earlier attempt says nothing of this one."""
    log = tmp_path / "up.log"
    log.write_bytes(RACED + OWN_FAILURE)
    assert not docker_raced(log, len(RACED))


def test_no_log_is_no_race(tmp_path: Path) -> None:
    assert not docker_raced(tmp_path / "missing.log", 0)


# -- ClusterPool.get: retrying a bring-up that raced, one cluster at a time ----------------------------------------


@dataclass(frozen=True)
class Plan:
    """Stands in for ClusterSpec: the pool reads only its methods and scenario."""

    methods: tuple[str, ...]
    scenario: str = "example"


@dataclass
class FakeCluster:
    spec: Plan


class Clock:
    """Stands in for the pool's clock: a bring-up advances it by the seconds it is told to take."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@dataclass(frozen=True)
class Attempt:
    """One bring-up: what `vagrant up` writes to the cluster's log, how long it takes, and what it raises (if)."""

    output: bytes
    seconds: float = 1.0
    raises: BaseException | None = None


def failed(output: bytes, seconds: float = 1.0) -> Attempt:
    return Attempt(output, seconds, ClusterError("`vagrant up --provision --provider=docker` failed (exit 1)"))


class Bringups:
    """Stands in for orka.cluster.started: each call takes the next attempt, writing its output to the real log."""

    def __init__(self, log: Path, clock: Clock, attempts: list[Attempt]) -> None:
        self.log = log
        self.clock = clock
        self.attempts = list(attempts)
        self.calls: list[tuple[tuple[str, ...], str, bool, bool]] = []
        self.events: list[str] = []

    def __call__(
        self, settings: Settings, *, name: str, keep: bool, reuse: bool, emit: Emit
    ) -> AbstractContextManager[FakeCluster]:
        self.calls.append((settings.methods, name, keep, reuse))
        return self._started(settings.methods, settings.scenarios[0].name)

    @contextmanager
    def _started(self, methods: tuple[str, ...], scenario: str) -> Iterator[FakeCluster]:
        attempt = self.attempts.pop(0)
        self.clock.now += attempt.seconds
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            log.write(attempt.output)
        if attempt.raises is not None:
            raise attempt.raises
        label = ",".join(methods)
        self.events.append(f"up {label}")
        try:
            yield FakeCluster(Plan(methods, scenario))
        finally:
            self.events.append(f"closed {label}")


NAME = "orka-unit"
EXAMPLE = default_settings().scenarios[0]


@dataclass
class PoolRig:
    pool: ClusterPool
    bringups: Bringups
    log: Path
    emitted: list[str]


def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attempts: list[Attempt], earlier_log: bytes = b"") -> PoolRig:
    """A pool whose bring-ups are the given attempts; the cluster's Vagrant log is a real file under tmp_path."""
    monkeypatch.setattr(cluster_module, "STATE_ROOT", tmp_path / ".orka")
    log = ClusterPaths.for_name(NAME).log_file()
    assert log.is_relative_to(tmp_path)
    if earlier_log:
        log.parent.mkdir(parents=True)
        log.write_bytes(earlier_log)
    clock = Clock()
    bringups = Bringups(log, clock, attempts)
    monkeypatch.setattr(pool_module, "started", bringups)
    monkeypatch.setattr(pool_module, "time", clock)
    emitted: list[str] = []
    pool = ClusterPool(default_settings(), name=NAME, keep=True, reuse=False, emit=emitted.append)
    return PoolRig(pool, bringups, log, emitted)


def test_a_bring_up_that_raced_is_brought_up_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = rig(tmp_path, monkeypatch, [failed(RACED, 100), failed(RACED, 100), Attempt(b"up\n", 7)])
    cluster = r.pool.get(("salt",), EXAMPLE)
    assert isinstance(cluster, FakeCluster)
    assert cluster.spec.methods == ("salt",)
    assert r.pool.attempts == 3
    assert r.pool.up_s == 7  # the attempt that came up, not the ones that raced
    assert r.bringups.calls == [(("salt",), NAME, True, False)] * 3
    again = [line for line in r.emitted if "up again" in line]
    assert len(again) == 2
    assert all(NAME in line for line in again)


def test_a_race_every_time_is_raised_after_the_last_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = rig(tmp_path, monkeypatch, [failed(RACED)] * (RACE_RETRIES + 1) + [Attempt(b"up\n")])
    with pytest.raises(ClusterError, match="failed"):
        r.pool.get(("salt",), EXAMPLE)
    assert r.pool.attempts == RACE_RETRIES + 1
    assert len(r.bringups.calls) == RACE_RETRIES + 1
    assert len(r.bringups.attempts) == 1  # the attempt after the last retry never came
    assert len([line for line in r.emitted if "up again" in line]) == RACE_RETRIES


def test_a_failure_of_its_own_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log already holds an earlier run's race: only what this attempt wrote counts."""
    r = rig(tmp_path, monkeypatch, [failed(OWN_FAILURE), Attempt(b"up\n")], earlier_log=RACED)
    with pytest.raises(ClusterError):
        r.pool.get(("custom",), EXAMPLE)
    assert r.pool.attempts == 1
    assert len(r.bringups.calls) == 1
    assert not [line for line in r.emitted if "up again" in line]
    assert r.log.read_bytes() == RACED + OWN_FAILURE


def test_ctrl_c_is_never_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = rig(tmp_path, monkeypatch, [Attempt(RACED, raises=KeyboardInterrupt()), Attempt(b"up\n")])
    with pytest.raises(KeyboardInterrupt):
        r.pool.get(("custom",), EXAMPLE)
    assert len(r.bringups.calls) == 1


def test_other_methods_get_a_fresh_cluster_after_the_last_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = rig(tmp_path, monkeypatch, [Attempt(b"up\n", 3), Attempt(b"up\n", 5)])
    salt = r.pool.get(("salt",), EXAMPLE)
    assert r.pool.get(("salt",), EXAMPLE) is salt  # the same methods: the same cluster, nothing brought up
    assert r.bringups.events == ["up salt"]
    custom = r.pool.get(("custom",), EXAMPLE)
    assert custom is not salt
    assert custom.spec.methods == ("custom",)
    assert r.bringups.events == ["up salt", "closed salt", "up custom"]
    assert (r.pool.attempts, r.pool.up_s) == (1, 5)
    r.pool.close()
    assert r.bringups.events == ["up salt", "closed salt", "up custom", "closed custom"]
    r.pool.close()  # twice is harmless
    assert r.bringups.events[-1] == "closed custom"
    assert len(r.bringups.events) == 4
