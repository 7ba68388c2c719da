"""The checks every method's phases must pass, shared by the method test modules.

Each phase runs once per method, through the method's own commands (the Spike
records the result); the whole-phase checks and the per-node checks all read
that one result. On failure they say what went wrong on which node.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import pytest

from orka.results import HostOutcome, PhaseResult
from orka.spike import Spike

#: The phases a phase needs done first, on the same cluster.
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "ping": (),
    "apply": (),
    "idempotence": ("apply",),
    "orchestrate": ("apply",),
}

# A phase that raised (the tool hung, the cluster went away) is not run again by every later test.
_raised: WeakKeyDictionary[Spike, dict[str, str]] = WeakKeyDictionary()


def phase_result(spike: Spike, phase: str) -> PhaseResult:
    """The phase's result, running it (and what it needs first) unless it ran already."""
    __tracebackhide__ = True
    for step in (*PREREQUISITES[phase], phase):
        if step in spike.done:
            continue
        earlier = _raised.get(spike, {}).get(step)
        if earlier:
            pytest.fail(f"{spike.name} {step} did not run: {earlier}", pytrace=False)
        try:
            spike.run(step)
        except Exception as exc:
            _raised.setdefault(spike, {})[step] = f"{type(exc).__name__}: {exc}"
            raise
    return spike.done[phase]


def check_node(spike: Spike, phase: str, node: str) -> HostOutcome:
    """One node's outcome of the phase: fails with that node's own detail."""
    __tracebackhide__ = True
    result = phase_result(spike, phase)
    outcome = result.host(node)
    if outcome is None:
        why = f": {result.error}" if result.error else ""
        pytest.fail(f"{spike.name} {phase}: no outcome for {node}{why}", pytrace=False)
    if not outcome.ok:
        pytest.fail(f"{node}: {outcome.detail or f'{phase} failed'}", pytrace=False)
    if phase == "apply" and outcome.changed == 0:
        pytest.fail(f"{node}: a fresh node must be changed by the first apply, it was not", pytrace=False)
    return outcome


def _explain(result: PhaseResult) -> str:
    __tracebackhide__ = True
    return f"{result.method} {result.phase} failed:\n" + "\n".join(f"  {line}" for line in result.problems())


def check_ping(spike: Spike) -> PhaseResult:
    __tracebackhide__ = True
    result = phase_result(spike, "ping")
    assert result.ok, _explain(result)
    answered = {h.node for h in result.hosts if h.ok}
    assert answered == {n.name for n in spike.cluster.nodes}, f"answered: {sorted(answered)}"
    return result


def check_apply(spike: Spike) -> PhaseResult:
    __tracebackhide__ = True
    result = phase_result(spike, "apply")
    assert result.ok, _explain(result)
    unchanged = [h.node for h in result.hosts if h.changed == 0]
    assert not unchanged, f"a fresh node must be changed by the first apply: {unchanged} were not"
    return result


def check_idempotence(spike: Spike) -> PhaseResult:
    __tracebackhide__ = True
    result = phase_result(spike, "idempotence")
    assert result.ok, "the second apply must change nothing; " + _explain(result)
    assert result.changed == 0
    return result


def check_orchestrate(spike: Spike) -> list[str]:
    """The primary's step first; every later step begins only after it ended. Returns the step names."""
    __tracebackhide__ = True
    result = phase_result(spike, "orchestrate")
    assert result.ok, _explain(result)
    assert len(result.order) >= 2, f"expected the primary's step, then the secondaries': {result.order}"
    (first, _, first_end), *later = result.order
    for name, start, _ in later:
        assert start >= first_end, f"step {name} began {first_end - start:.3f} s before step {first} ended"
    order = " -> ".join(f"{name} [{start:.2f}-{end:.2f}]" for name, start, end in result.order)
    spike.emit(f"[orka] {spike.name} orchestrate order: {order}")
    return [name for name, _, _ in result.order]
