"""One verdict per method x phase x node, decided by orka's checks.

What the tool said of itself (a PhaseResult) is one input. The others are what
a phase must show whatever the tool says: every node fresh before a method's
first phase, a first apply that changes every fresh node, a second apply that
changes nothing (by the tool's word and by the nodes' files and services), the
orchestration's steps run in their declared order one after another, and an
exit code the tool documents. The records carry the verdict; the spike tests
assert it, so the comparison page, JUnit and pytest-html say the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orka.results.record import PhaseResult, PhaseVerdict, Verdict

# The exit status of `timeout`, which bounds every command run on a machine: the phase's error says so.
TIMED_OUT = 124


@dataclass(frozen=True)
class Expectations:
    """What orka knows a phase must show, beside the tool's own word."""

    nodes: tuple[str, ...]
    tool: str = ""  # the command, as messages name it
    # Exit codes the tool documents as "some host failed", which its per-host results must then show.
    host_failure_codes: frozenset[int] = frozenset()
    # False when the user asked to reuse a kept cluster: its nodes are not fresh, by request.
    fresh_required: bool = True
    # orchestrate: the steps the orchestration declares, in order (None: not known).
    declared_steps: tuple[str, ...] | None = None
    # idempotence: per node, what the second apply touched on the node itself (files rewritten, services restarted).
    touched: Mapping[str, Sequence[str]] = field(default_factory=dict)


def judge(result: PhaseResult, expect: Expectations) -> PhaseVerdict:
    """The verdict of one phase of one method."""
    whole = [result.error] if result.error else []
    whole += exit_code_problems(result, expect)
    extra = sorted({h.node for h in result.hosts} - set(expect.nodes))
    if extra:
        whole.append(f"answered but not a node of this cluster: {', '.join(extra)}")
    if result.phase == "orchestrate":
        whole += order_problems(result.order, expect.declared_steps)
    notes: list[str] = []
    if not expect.fresh_required and result.phase in ("up", "apply"):
        notes.append("a kept cluster reused by request (--reuse-cluster): its nodes need not be fresh")
    nodes = {node: _node_verdict(result, node, expect) for node in expect.nodes}
    return PhaseVerdict(Verdict(tuple(whole), tuple(notes)), nodes)


def _node_verdict(result: PhaseResult, node: str, expect: Expectations) -> Verdict:
    outcome = result.host(node)
    if outcome is None:
        return Verdict((f"no outcome: {result.error}" if result.error else "no outcome for this node",))
    reasons: list[str] = []
    notes: list[str] = []
    if not outcome.ok:
        if result.phase == "up" and not expect.fresh_required:
            notes.append(outcome.detail)
        else:
            reasons.append(outcome.detail or f"{result.phase} failed")
    elif result.phase == "apply" and outcome.changed == 0 and expect.fresh_required:
        reasons.append("a fresh node must be changed by the first apply, it was not")
    elif result.phase == "idempotence" and outcome.changed:
        reasons.append(f"the second apply must change nothing; {outcome.detail or f'{outcome.changed} changed'}")
    if result.phase == "idempotence":
        reasons += [f"the second apply {what}" for what in expect.touched.get(node, ())]
    return Verdict(tuple(reasons), tuple(notes))


def exit_code_problems(result: PhaseResult, expect: Expectations) -> list[str]:
    """A non-zero exit is a failure, unless the tool documents it as "some host failed" and one did."""
    code = result.exit_code
    if code is None or code == 0 or (code == TIMED_OUT and result.error):
        return []
    tool = expect.tool or result.method
    if code in expect.host_failure_codes:
        if any(not h.ok for h in result.hosts):
            return []
        return [f"{tool} exited {code}, which says a host failed, yet no node's result shows a failure"]
    return [f"{tool} exited {code}"]


def order_problems(order: Sequence[tuple[str, float, float]], declared: Sequence[str] | None) -> list[str]:
    """The steps as they ran against the declared ones: the same steps in the same order, one after another."""
    ran = [name for name, _, _ in order]
    problems = []
    if declared is not None and ran != list(declared):
        missing = [step for step in declared if step not in ran]
        extra = [step for step in ran if step not in declared]
        shown = f"steps ran as {' -> '.join(ran) or 'none'}; the orchestration declares {' -> '.join(declared)}"
        if missing:
            shown += f" ({', '.join(missing)} did not run)"
        if extra:
            shown += f" ({', '.join(extra)} not declared)"
        problems.append(shown)
    elif declared is None and not ran:
        problems.append("no orchestration step was reported")
    for (first, _, first_end), (later, later_start, _) in itertools.pairwise(order):
        if later_start < first_end:
            problems.append(f"step {later} began {first_end - later_start:.3f} s before step {first} ended")
    return problems
