"""Which libvirt objects are a cluster's (names as vagrant-libvirt makes them from the Vagrantfile)."""

from __future__ import annotations

from orka.providers.libvirt import DOMAIN, LibvirtObjects, select

DOMAINS = [
    "orka-kvm-orka-master",
    "orka-kvm-orka-node-1",
    "orka-kvm-orka-node-12",
    "orka-orka-node-1",  # cluster orka
    "orka-kvm2-orka-node-1",  # another cluster whose name starts the same
    "orka-kvm-web",  # not a machine orka makes
    "team-vm",
]
NETWORKS = ["default", "orka-kvm-private", "orka-kvm-mgmt", "orka-kvm2-mgmt", "orka-kvm-private-old"]
VOLUMES = [
    "orka-VAGRANTSLASH-bookworm_vagrant_box_image_0_box.img",  # the box: every cluster's
    "orka-kvm-orka-node-1.img",
    "orka-kvm-orka-node-1-vdb.qcow2",
    "orka-kvm-orka-master.img",
    "orka-kvm2-orka-node-1.img",
    "orka-orka-node-1.img",
]


def test_a_clusters_objects_are_matched_by_whole_name() -> None:
    found = select("orka-kvm", DOMAINS, NETWORKS, VOLUMES)
    assert found == LibvirtObjects(
        domains=("orka-kvm-orka-master", "orka-kvm-orka-node-1", "orka-kvm-orka-node-12"),
        networks=("orka-kvm-mgmt", "orka-kvm-private"),
        volumes=("orka-kvm-orka-master.img", "orka-kvm-orka-node-1-vdb.qcow2", "orka-kvm-orka-node-1.img"),
    )
    assert found.names()[0] == "domain orka-kvm-orka-master"
    assert "network orka-kvm-mgmt" in found.names()


def test_a_shorter_name_takes_nothing_of_a_longer_one() -> None:
    found = select("orka", DOMAINS, NETWORKS, VOLUMES)
    assert found == LibvirtObjects(domains=("orka-orka-node-1",), volumes=("orka-orka-node-1.img",))


def test_nothing_listed_is_nothing_found() -> None:
    assert not select("orka-kvm", [], [], [])


def test_a_domain_names_its_cluster() -> None:
    clusters = {m["cluster"] for d in DOMAINS if (m := DOMAIN.match(d))}
    assert clusters == {"orka-kvm", "orka", "orka-kvm2"}
