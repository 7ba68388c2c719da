"""One cluster at a time, made for the methods that need it.

Every method gets a fresh, identical cluster: when the tests move on to
another method, the previous method's cluster is destroyed first (within one
pytest-xdist worker; other workers have clusters of their own).
"""

from __future__ import annotations

import dataclasses
import re
import time
from contextlib import ExitStack
from pathlib import Path

from orka.config.scenario import Scenario
from orka.config.settings import Settings
from orka.errors import ClusterError
from orka.plan.state import ClusterPaths
from orka.progress import Emit
from orka.providers.base import Cluster
from orka.providers.lifecycle import started
from orka.timings import BRING_UP, TEARDOWN, Clock, no_clock

# Vagrant's docker provider, setting up a machine's network, lists every docker
# network on the host and inspects each one and the containers on it; a network
# or container that another cluster removes in between fails the whole
# `vagrant up`. Nothing was wrong with this cluster: bring it up again.
DOCKER_RACE = re.compile(rb"Error response from daemon: network \S+ not found|Error: No such object: [0-9a-f]{64}")
RACE_RETRIES = 3


class ClusterPool:
    def __init__(
        self, settings: Settings, *, name: str, keep: bool, reuse: bool, emit: Emit, clock: Clock = no_clock
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.name = name
        self.keep = keep
        self.reuse = reuse
        self.emit = emit
        self._stack: ExitStack | None = None
        self._cluster: Cluster | None = None
        # The last bring-up: seconds of the attempt that succeeded, and how many attempts it took.
        self.up_s = 0.0
        self.attempts = 0

    def get(self, methods: tuple[str, ...], scenario: Scenario, emit: Emit | None = None) -> Cluster:
        """The cluster for these methods of this scenario: the current one if it fits, else a new one."""
        if self._cluster is not None and (self._cluster.spec.methods, self._cluster.spec.scenario) == (
            methods,
            scenario.name,
        ):
            return self._cluster
        self.close()
        emit = emit or self.emit
        settings = dataclasses.replace(self.settings, methods=methods, scenarios=(scenario,))
        log = ClusterPaths.for_name(self.name).log_file()
        began = time.monotonic()
        for attempt in range(RACE_RETRIES + 1):
            logged = log.stat().st_size if log.exists() else 0
            self.attempts = attempt + 1
            start = time.monotonic()
            stack = ExitStack()
            try:
                self._cluster = stack.enter_context(
                    started(settings, name=self.name, keep=self.keep, reuse=self.reuse, emit=emit)
                )
            except ClusterError:
                stack.close()
                if attempt == RACE_RETRIES or not docker_raced(log, logged):
                    raise
                emit(f"[orka] another cluster's docker object vanished under `vagrant up` of {self.name}; up again")
            except BaseException:
                stack.close()
                raise
            else:
                self._stack = stack
                self.up_s = time.monotonic() - start
                break
        assert self._cluster is not None
        self.clock(BRING_UP, ",".join(methods), scenario.name, time.monotonic() - began)
        return self._cluster

    def close(self) -> None:
        stack, cluster, self._stack, self._cluster = self._stack, self._cluster, None, None
        if stack is not None:
            began = time.monotonic()
            stack.close()
            if cluster is not None:
                self.clock(TEARDOWN, ",".join(cluster.spec.methods), cluster.spec.scenario, time.monotonic() - began)


def docker_raced(log: Path, offset: int) -> bool:
    """Did the bring-up whose Vagrant output begins at offset of the log fail on a vanished docker object?"""
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            return DOCKER_RACE.search(handle.read()) is not None
    except OSError:
        return False
