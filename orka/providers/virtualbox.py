"""provider virtualbox: VirtualBox VMs through Vagrant, from the settings' box (untested here: VirtualBox is not
in Debian's archive)."""

from __future__ import annotations

from orka.config.settings import Timeouts
from orka.plan.spec import ClusterSpec
from orka.progress import Emit
from orka.providers.vagrant import VagrantCluster, VMProvider


class VirtualBoxProvider(VMProvider):
    name = "virtualbox"

    def cluster(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> VagrantCluster:
        return VagrantCluster(spec, timeouts, emit)
