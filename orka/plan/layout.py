"""The names and paths every part of orka agrees on: machines, clusters, where a machine finds its files.

Written once here; the provisioning scripts get the remote paths through the
environment the plan's commands set (ORKA_PROVISION, ORKA_UPLOAD).
"""

from __future__ import annotations

import ipaddress
import os
import re
import zlib

from orka.config import NODE_PREFIX
from orka.errors import ClusterError

DEFAULT_CLUSTER_NAME = "orka"
CLUSTER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# Docker objects of a cluster carry orka.cluster=<name>; libvirt's are named <name>-<machine>.
LABEL = "orka.cluster"

# Where a machine sees what the host gives it (not under /opt/orka, which the desired state gives to its user).
REMOTE_SOURCE = "/srv/orka/src"
REMOTE_PROVISION = f"{REMOTE_SOURCE}/vagrant/provision"  # the shared provisioning scripts
REMOTE_METHODS = "/srv/orka/methods"  # each method's own scripts, in a folder by its name
REMOTE_WHEELHOUSE = "/srv/orka/wheelhouse"
REMOTE_UPLOAD = "/tmp/orka-upload"  # what only this machine gets (its keys), removed by the scripts once used
REMOTE_UPLOAD_MOUNT = "/srv/orka/upload"  # docker: the upload, mounted read-only, copied to REMOTE_UPLOAD
REMOTE_TOOLS = "/usr/local/lib/orka-tools"  # the tools' virtualenv, made by install-tools.sh

# Each cluster takes one /24 of the settings' subnet: its masters' host parts are their descriptors', the nodes'
# count from here.
FIRST_NODE_HOST_PART = 21
_WORKER_CLUSTER = re.compile(rf"^{DEFAULT_CLUSTER_NAME}-gw(\d+)$")


def node_names(cluster: int) -> list[str]:
    return [f"{NODE_PREFIX}{index}" for index in range(1, cluster + 1)]


def remote_method_dir(method: str) -> str:
    return f"{REMOTE_METHODS}/{method}"


def default_cluster_name() -> str:
    """'orka', or ORKA_CLUSTER made a cluster name: a build server's key as it gives it
    (Bamboo's ORKA-SPIKE-JOB1-12 becomes orka-spike-job1-12), so builds side by side never share one."""
    given = os.environ.get("ORKA_CLUSTER", "").strip().lower()
    name = re.sub(r"[^a-z0-9-]+", "-", given).strip("-")[:40].rstrip("-")
    return name or DEFAULT_CLUSTER_NAME


def cluster_name_for(worker_id: str | None, base: str | None = None) -> str:
    """'orka' (or the given base name, or ORKA_CLUSTER's) for a plain run, 'orka-gw1' for xdist worker gw1."""
    base = base or default_cluster_name()
    if not worker_id or worker_id == "master":
        return base
    return f"{base}-{worker_id}"


def cluster_slot(name: str) -> int:
    """Which /24 of the subnet a cluster uses.

    0 for 'orka', N+1 for xdist worker 'orka-gwN', and for any other name a
    stable slot from 128 up, so a named cluster stays clear of the workers'.
    """
    if name == DEFAULT_CLUSTER_NAME:
        return 0
    match = _WORKER_CLUSTER.match(name)
    if match and int(match.group(1)) < 127:
        return int(match.group(1)) + 1
    return 128 + zlib.crc32(name.encode()) % 128


def cluster_subnet(subnet: str, slot: int) -> ipaddress.IPv4Network:
    """The slot-th /24 inside the settings' subnet."""
    network = ipaddress.IPv4Network(subnet)
    room = 2 ** (24 - network.prefixlen)
    if slot >= room:
        raise ClusterError(
            f"network.subnet {subnet} has room for {room} cluster(s) of one /24 each, this one needs slot {slot}: "
            "give a larger network, e.g. 10.87.0.0/16"
        )
    return ipaddress.IPv4Network((int(network.network_address) + slot * 256, 24))
