"""A cluster's life: chosen provider, plan, up, ready, yielded, and always torn down after.

`started()` is the one way any part of orka brings a cluster up (the pytest
fixtures, `orka up`, the benchmarks); what differs by provider is behind
providers/base.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orka.config.settings import Settings
from orka.errors import ClusterError
from orka.plan.layout import DEFAULT_CLUSTER_NAME
from orka.plan.spec import ClusterSpec
from orka.plan.state import ClusterPaths, read_spec
from orka.progress import Emit
from orka.providers import cluster_for, provider
from orka.providers.base import Cluster, Provider
from orka.providers.choose import choose_provider


def chosen(settings: Settings, emit: Emit) -> Provider:
    """The provider the settings ask for, or auto's choice; says which and why."""
    if settings.provider == "static":
        return provider("static")  # existing hosts: nothing to probe, the bring-up checks each over SSH
    name, reason = choose_provider(settings.provider, settings.vm_box)
    emit(f"[orka] provider: {name} ({reason})")
    return provider(name)


def prepare(settings: Settings, name: str, emit: Emit) -> ClusterSpec:
    """Everything before bringing the cluster up: the provider's assets, the keys, the plan (and, on docker,
    the cluster's network, claimed: `discard` it when no bring-up follows)."""
    return chosen(settings, emit).prepare(settings, name, emit)


def discard(settings: Settings, name: str, emit: Emit) -> None:
    """Undo `prepare` of a cluster that is not brought up: its state folder and what its provider claimed."""
    chosen(settings, emit).discard(name)


@contextmanager
def started(
    settings: Settings,
    *,
    name: str = DEFAULT_CLUSTER_NAME,
    keep: bool = False,
    reuse: bool = False,
    emit: Emit,
) -> Iterator[Cluster]:
    """Bring a cluster up and ready, yield it, and always tear it down after.

    With `keep` the cluster outlives the run; with `reuse` a kept cluster
    built from the same settings is used as it is.
    """
    paths = ClusterPaths.for_name(name)
    kept = read_spec(paths)
    maker = chosen(settings, emit)
    maker.check_name(name)
    # Looked at before prepare, which may claim the cluster's network.
    left_before = kept is not None or maker.has_leftovers(name)
    try:
        spec = maker.prepare(settings, name, emit)
        reused = reuse and kept is not None and cluster_for(kept, settings.timeouts, emit).is_running()
        left = left_before and not reused
    except BaseException:
        if kept is None:  # stopped (Ctrl-C) before bring-up: what prepare made (a network, the state folder) goes
            maker.discard(name)
        raise
    cluster = maker.cluster(spec, settings.timeouts, emit)
    if reused:
        if kept != spec:
            raise ClusterError(
                f"the kept cluster {name} was built from other settings; run `orka down` or drop --reuse-cluster"
            )
        emit(f"[orka] reusing kept cluster {name}")
        cluster.reused = True
    try:
        if left:
            emit(f"[orka] removing what an earlier run left of cluster {name}")
            cluster_for(kept or spec, settings.timeouts, emit).destroy()
            spec = maker.prepare(settings, name, emit)  # the state folder, with its key, went with it
            cluster = maker.cluster(spec, settings.timeouts, emit)
        if not reused:
            cluster.up()
        cluster.wait_ready()
    except BaseException:
        if reused and keep:  # the user's own kept cluster, not ready as it is: theirs to look into, not ours to drop
            emit(
                f"[orka] keeping cluster {name} as it was (kept, and not ready): look with `orka login MACHINE "
                f"--name {name}`, remove it with `orka destroy --name {name}`"
            )
        else:
            cluster.destroy()  # a half-built cluster is never kept: nothing leaks
        raise
    try:
        yield cluster
    finally:
        if keep:
            emit(f"[orka] keeping cluster {name} (--keep-cluster); remove it with `orka down`")
        else:
            cluster.destroy()
