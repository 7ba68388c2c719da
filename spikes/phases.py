"""The checks every method's phases must pass, shared by the method test modules.

Each runs the phase through the method's own commands (the Spike records the
result) and says, on failure, what went wrong on which node.
"""

from __future__ import annotations

from orka.results import PhaseResult
from orka.spike import Spike


def _explain(result: PhaseResult) -> str:
    __tracebackhide__ = True
    return f"{result.method} {result.phase} failed:\n" + "\n".join(f"  {line}" for line in result.problems())


def check_ping(spike: Spike) -> PhaseResult:
    __tracebackhide__ = True
    result = spike.run("ping")
    assert result.ok, _explain(result)
    answered = {h.node for h in result.hosts if h.ok}
    assert answered == {n.name for n in spike.cluster.nodes}, f"answered: {sorted(answered)}"
    return result


def check_apply(spike: Spike) -> PhaseResult:
    __tracebackhide__ = True
    result = spike.run("apply")
    assert result.ok, _explain(result)
    unchanged = [h.node for h in result.hosts if h.changed == 0]
    assert not unchanged, f"a fresh node must be changed by the first apply: {unchanged} were not"
    return result


def check_idempotence(spike: Spike) -> PhaseResult:
    __tracebackhide__ = True
    spike.ensure("apply")
    result = spike.run("idempotence")
    assert result.ok, "the second apply must change nothing; " + _explain(result)
    assert result.changed == 0
    return result


def check_orchestrate(spike: Spike) -> list[str]:
    """The primary's step first; every later step begins only after it ended. Returns the step names."""
    __tracebackhide__ = True
    spike.ensure("apply")
    result = spike.run("orchestrate")
    assert result.ok, _explain(result)
    assert len(result.order) >= 2, f"expected the primary's step, then the secondaries': {result.order}"
    (first, _, first_end), *later = result.order
    for name, start, _ in later:
        assert start >= first_end, f"step {name} began {first_end - start:.3f} s before step {first} ended"
    order = " -> ".join(f"{name} [{start:.2f}-{end:.2f}]" for name, start, end in result.order)
    spike.emit(f"[orka] {spike.name} orchestrate order: {order}")
    return [name for name, _, _ in result.order]
