"""What `orka down` says it removed."""

from __future__ import annotations

from orka.cluster import STATE_ROOT
from orka.down import Leftovers


def test_everything_found_is_named() -> None:
    found = Leftovers(
        name="orka-x",
        processes=(41, 42),
        containers=("orka-x-orka-node-1",),
        networks=("vagrant_network_10.87.200.0/24",),
        folders=(STATE_ROOT / "clusters" / "orka-x",),
    )
    assert found
    assert found.describe() == (
        "2 running processes (41, 42); 1 container (orka-x-orka-node-1); "
        "1 network (vagrant_network_10.87.200.0/24); the folder .orka/clusters/orka-x"
    )


def test_nothing_found_is_false_and_says_nothing() -> None:
    nothing = Leftovers(name="orka-x", processes=(), containers=(), networks=(), folders=())
    assert not nothing
    assert nothing.describe() == ""
