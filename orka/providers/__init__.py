"""Where a cluster's machines come from: one module per provider behind one interface (base.Provider,
base.Cluster), and one factory that the fixtures, `orka up/down/status` and `orka down --all` use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from orka.errors import ProviderError

if TYPE_CHECKING:
    from orka.config.settings import Timeouts
    from orka.plan.spec import ClusterSpec
    from orka.progress import Emit
    from orka.providers.base import Cluster, Provider

# Imported only when used: a provider's tooling (Vagrant, docker, libvirt) never burdens another's.
REGISTRY = {
    "docker": "orka.providers.docker:DockerProvider",
    "libvirt": "orka.providers.libvirt:LibvirtProvider",
    "virtualbox": "orka.providers.virtualbox:VirtualBoxProvider",
    "static": "orka.providers.static:StaticProvider",
}


def provider(name: str) -> Provider:
    try:
        module, _, cls = REGISTRY[name].partition(":")
    except KeyError:
        raise ProviderError(f"unknown provider {name!r}; known: {', '.join(REGISTRY)}") from None
    made: Provider = getattr(importlib.import_module(module), cls)()
    return made


def cluster_for(spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> Cluster:
    """The Cluster of a plan, whichever provider made it."""
    return provider(spec.provider).cluster(spec, timeouts, emit)
