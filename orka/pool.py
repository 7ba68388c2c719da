"""One cluster at a time, made for the methods that need it.

Every method gets a fresh, identical cluster: when the tests move on to
another method, the previous method's cluster is destroyed first (within one
pytest-xdist worker; other workers have clusters of their own).
"""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack

from orka.cluster import Cluster, started
from orka.progress import Emit
from orka.settings import Settings


class ClusterPool:
    def __init__(self, settings: Settings, *, name: str, keep: bool, reuse: bool, emit: Emit) -> None:
        self.settings = settings
        self.name = name
        self.keep = keep
        self.reuse = reuse
        self.emit = emit
        self._stack: ExitStack | None = None
        self._cluster: Cluster | None = None

    def get(self, methods: tuple[str, ...]) -> Cluster:
        """The cluster for these methods: the current one if it fits, else a new one."""
        if self._cluster is not None and self._cluster.spec.methods == methods:
            return self._cluster
        self.close()
        settings = dataclasses.replace(self.settings, methods=methods)
        stack = ExitStack()
        try:
            self._cluster = stack.enter_context(
                started(settings, name=self.name, keep=self.keep, reuse=self.reuse, emit=self.emit)
            )
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self._cluster

    def close(self) -> None:
        stack, self._stack, self._cluster = self._stack, None, None
        if stack is not None:
            stack.close()
