"""The drift phase's score of one node: the hand edits made there, what the method's dry run reported, and
whether its apply took the node back to where it was.

An edit is found when the dry run names its target (a path, a unit, a user) among what it would change or
could not check. A node with no edit that the dry run reports changes on is a false report; on a node with
edits, items no edit names are listed ("also reported": a deleted user makes its files' owner wrong too),
never counted against the method. Repaired: the apply succeeded there and the node's fingerprint is back to
the one taken before the edits (orka.results.fingerprint).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from orka.results.fingerprint import changed
from orka.results.record import HostOutcome


class Edit(Protocol):
    """A hand edit as the score needs it (orka.config.drift.Edit): its words, and whether a target is its."""

    def matches(self, named: str) -> bool: ...


def score_node(
    node: str,
    made: Sequence[Edit],
    not_made: Sequence[str],
    dry_run: HostOutcome | None,
    repair: HostOutcome | None,
    back: Mapping[str, str] | None,
    before: Mapping[str, str] | None,
    units: Iterable[str] = (),
) -> HostOutcome:
    """One node's drift outcome: ok when every edit was made and found, nothing was reported that was not
    made, the dry run did not fail there, and the apply repaired it (`back`: its fingerprint after the
    repair; `before`: before the edits)."""
    items = dry_run.items if dry_run is not None else ()
    found: list[dict[str, Any]] = []
    missed: list[str] = []
    for edit in made:
        words = sorted({c.words for c in items if edit.matches(c.target)})
        if words:
            found.append({"drift": str(edit), "words": words})
        else:
            missed.append(str(edit))
    named = {c.words for c in items if any(edit.matches(c.target) for edit in made)}
    unnamed = sorted({c.words for c in items} - named)
    false_reports = unnamed if not made else []
    if not made and dry_run is not None and dry_run.changed and not unnamed:
        false_reports = [dry_run.detail or f"{dry_run.changed} items would change"]
    not_back = changed(before, back, units) if before is not None and back is not None else []
    repaired = repair is not None and repair.ok and back is not None and not not_back
    reasons = [*not_made]
    if dry_run is None:
        reasons.append("the dry run gave no result for this node")
    elif dry_run.failed:
        reasons.append(f"the dry run failed here: {dry_run.detail or 'no detail'}")
    if missed:
        reasons.append(f"the dry run did not report: {'; '.join(missed)}")
    if false_reports:
        reasons.append(f"the dry run reported changes on a node left alone: {'; '.join(false_reports)}")
    if repair is None:
        reasons.append("the repair gave no result for this node")
    elif not repair.ok:
        reasons.append(f"the repair failed: {repair.detail or 'no detail'}")
    if back is None:
        reasons.append("no fingerprint after the repair")
    elif not_back:
        reasons.append(f"not back as before the edits: {', '.join(not_back)}")
    facts = {
        "made": [str(e) for e in made],
        "not_made": list(not_made),
        "found": found,
        "missed": missed,
        "false_reports": false_reports,
        "also_reported": unnamed if made else [],
        "reported": dry_run.changed if dry_run is not None else 0,
        "repaired": repaired,
        "repair_changed": repair.changed if repair is not None else 0,
        "not_back": not_back,
    }
    summary = f"found {len(found)} of {len(made)} drifts" if made else "left alone"
    summary += f", {'repaired' if repaired else 'NOT repaired'}"
    detail = "; ".join(reasons) if reasons else summary
    changes = repair.changed if repair is not None else 0
    return HostOutcome(node, ok=not reasons, changed=changes, failed=len(reasons), detail=detail, facts=facts)
