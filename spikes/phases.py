"""The checks every method's phases must pass, shared by the method test modules.

Each phase runs once per method, through the method's own commands, and orka
judges it once (orka.results.verdict): the whole-phase tests assert the phase's
verdict, the per-node tests each node's, so JUnit says what the records and
the comparison page say. On failure they give orka's reasons, node by node.
"""

from __future__ import annotations

import pytest

from orka.results.record import PhaseVerdict
from orka.spike import UP, Spike


def _verdict(spike: Spike, phase: str) -> PhaseVerdict:
    """The phase's verdict; a phase the scenario gives nothing to run (not defined) is a skip saying so."""
    __tracebackhide__ = True
    verdict = spike.verdicts[UP] if phase == UP else spike.ensure(phase)  # up: recorded when the spike came up
    if verdict.skipped:
        pytest.skip("; ".join((verdict.skipped, *verdict.whole.notes)))
    return verdict


def check_phase(spike: Spike, phase: str) -> PhaseVerdict:
    """The phase as a whole: fails with every reason orka found, the nodes' named."""
    __tracebackhide__ = True
    verdict = _verdict(spike, phase)
    if not verdict.ok:
        reasons = "\n".join(f"  {reason}" for reason in verdict.reasons())
        pytest.fail(f"{spike.name} {phase} failed:\n{reasons}", pytrace=False)
    return verdict


def check_node(spike: Spike, phase: str, node: str) -> None:
    """One node's verdict of the phase: fails with that node's reasons."""
    __tracebackhide__ = True
    verdict = _verdict(spike, phase).nodes.get(node)
    if verdict is None:
        pytest.fail(f"{spike.name} {phase}: {node} is not a node of this cluster", pytrace=False)
    if not verdict.ok:
        pytest.fail(f"{node}: " + "; ".join(verdict.reasons), pytrace=False)
