"""The pool: one cluster at a time, the same one while the methods stay, a failed bring-up raised as it came."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from orka.config.platforms import Platform
from orka.config.settings import Settings, default_settings
from orka.errors import ClusterError
from orka.plan import state as cluster_module
from orka.plan.state import ClusterPaths
from orka.progress import Emit
from orka.providers import pool as pool_module
from orka.providers.pool import ClusterPool

DEFAULT = default_settings()


@dataclass(frozen=True)
class Plan:
    """Stands in for ClusterSpec: the pool reads only its methods, scenario and platform."""

    methods: tuple[str, ...]
    scenario: str = "example"
    platform: Platform = DEFAULT.platform


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
        return self._started(settings.methods, settings.scenarios[0].name, settings.platform)

    @contextmanager
    def _started(self, methods: tuple[str, ...], scenario: str, platform: Platform) -> Iterator[FakeCluster]:
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
            yield FakeCluster(Plan(methods, scenario, platform))
        finally:
            self.events.append(f"closed {label}")


NAME = "orka-unit"
EXAMPLE = DEFAULT.scenarios[0]
DEBIAN_12 = DEFAULT.platform


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


def test_a_failed_bring_up_is_raised_and_not_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = rig(tmp_path, monkeypatch, [failed(b"network vanished\n"), Attempt(b"up\n")])
    with pytest.raises(ClusterError, match="failed"):
        r.pool.get(("salt",), EXAMPLE, DEBIAN_12)
    assert len(r.bringups.calls) == 1
    assert r.bringups.events == []


def test_ctrl_c_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = rig(tmp_path, monkeypatch, [Attempt(b"", raises=KeyboardInterrupt()), Attempt(b"up\n")])
    with pytest.raises(KeyboardInterrupt):
        r.pool.get(("custom",), EXAMPLE, DEBIAN_12)
    assert len(r.bringups.calls) == 1


def test_other_methods_get_a_fresh_cluster_after_the_last_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = rig(tmp_path, monkeypatch, [Attempt(b"up\n", 3), Attempt(b"up\n", 5)])
    salt = r.pool.get(("salt",), EXAMPLE, DEBIAN_12)
    assert r.pool.get(("salt",), EXAMPLE, DEBIAN_12) is salt  # the same methods: the same cluster, nothing brought up
    assert r.bringups.events == ["up salt"]
    custom = r.pool.get(("custom",), EXAMPLE, DEBIAN_12)
    assert custom is not salt
    assert custom.spec.methods == ("custom",)
    assert r.bringups.events == ["up salt", "closed salt", "up custom"]
    assert r.pool.up_s == 5
    r.pool.close()
    assert r.bringups.events == ["up salt", "closed salt", "up custom", "closed custom"]
    r.pool.close()  # twice is harmless
    assert r.bringups.events[-1] == "closed custom"
    assert len(r.bringups.events) == 4
