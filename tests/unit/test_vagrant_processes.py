"""How a bring-up is shared among Vagrant processes run side by side."""

from __future__ import annotations

import pytest

from orka.providers.docker import MAX_VAGRANT_PROCESSES, vagrant_processes
from orka.providers.vagrant import machine_groups

NODES = [f"orka-node-{i}" for i in range(1, 8)]


def test_one_process_makes_every_machine_in_the_plans_order() -> None:
    assert machine_groups(["orka-master"], NODES[:3], 1) == [["orka-master", *NODES[:3]]]


def test_the_masters_have_a_process_of_their_own_the_nodes_are_dealt_to_the_others() -> None:
    groups = machine_groups(["orka-master", "ansible-master"], NODES, 3)
    assert groups[0] == ["orka-master", "ansible-master"]
    assert groups[1:] == [NODES[0::2], NODES[1::2]]


def test_without_a_master_the_nodes_are_dealt_to_every_process() -> None:
    assert machine_groups([], NODES[:4], 2) == [NODES[0:4:2], NODES[1:4:2]]


@pytest.mark.parametrize(("masters", "nodes", "processes"), [(1, 3, 4), (0, 3, 4), (2, 2, 8), (1, 7, 4)])
def test_every_machine_once_and_no_process_without_one(masters: int, nodes: int, processes: int) -> None:
    master_names = ["orka-master", "ansible-master"][:masters]
    groups = machine_groups(master_names, NODES[:nodes], processes)
    assert all(groups)
    assert len(groups) <= processes
    assert sorted(name for group in groups for name in group) == sorted(master_names + NODES[:nodes])


@pytest.mark.parametrize(("machines", "expected"), [(3, 1), (4, 2), (6, 2), (7, 3), (27, MAX_VAGRANT_PROCESSES)])
def test_a_process_for_every_three_machines_at_most_four(machines: int, expected: int) -> None:
    assert vagrant_processes(machines) == expected
