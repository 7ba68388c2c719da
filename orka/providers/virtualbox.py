"""provider virtualbox: VirtualBox VMs through Vagrant, from the settings' box (untested here: VirtualBox is not
in Debian's archive)."""

from __future__ import annotations

from pathlib import Path

from orka.config.settings import Settings, Timeouts
from orka.plan.spec import ClusterSpec
from orka.plan.state import CACHE_ROOT
from orka.progress import Emit
from orka.providers.box import ensure_box
from orka.providers.vagrant import VagrantCluster, VagrantProvider


class VirtualBoxProvider(VagrantProvider):
    name = "virtualbox"

    def assets(self, settings: Settings, emit: Emit) -> tuple[Path, str, str]:
        wheelhouse, _, _ = super().assets(settings, emit)
        ensure_box(settings.box, self.name, wheelhouse, CACHE_ROOT, emit, settings.timeouts.up_s)
        return wheelhouse, "", ""

    def cluster(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> VagrantCluster:
        return VagrantCluster(spec, timeouts, emit)
