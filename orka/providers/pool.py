"""One cluster at a time, made for the methods that need it.

Every method gets a fresh, identical cluster: when the tests move on to
another method, the previous method's cluster is destroyed first (within one
pytest-xdist worker; other workers have clusters of their own).
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import ExitStack

from orka.config.platforms import Platform
from orka.config.scenario import Scenario
from orka.config.settings import Settings
from orka.progress import Emit
from orka.providers.base import Cluster
from orka.providers.lifecycle import started
from orka.timings import BRING_UP, TEARDOWN, Clock, no_clock


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
        self.up_s = 0.0  # the last bring-up's seconds

    def get(
        self, methods: tuple[str, ...], scenario: Scenario, platform: Platform, emit: Emit | None = None
    ) -> Cluster:
        """The cluster for these methods of this scenario on this platform: the current one if it fits, else a
        new one."""
        current = self._cluster
        if current is not None and (current.spec.methods, current.spec.scenario, current.spec.platform) == (
            methods,
            scenario.name,
            platform,
        ):
            return current
        self.close()
        emit = emit or self.emit
        settings = dataclasses.replace(self.settings, methods=methods, scenarios=(scenario,), platforms=(platform,))
        began = time.monotonic()
        stack = ExitStack()
        try:
            self._cluster = stack.enter_context(
                started(settings, name=self.name, keep=self.keep, reuse=self.reuse, emit=emit)
            )
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        self.up_s = time.monotonic() - began
        self.clock(BRING_UP, ",".join(methods), scenario.name, self.up_s)
        return self._cluster

    def close(self) -> None:
        stack, cluster, self._stack, self._cluster = self._stack, self._cluster, None, None
        if stack is not None:
            began = time.monotonic()
            stack.close()
            if cluster is not None:
                self.clock(TEARDOWN, ",".join(cluster.spec.methods), cluster.spec.scenario, time.monotonic() - began)
