"""Do the methods build the same server? The page's Equivalence section, from fingerprints.json.

Per scenario, every pair of methods whose apply left a fingerprint: node by
node (the same name is the same role and position on each method's cluster),
the items either method changed whose values differ, less what the scenario
and the methods' tools declare may differ; and what each method changed that no check of the scenario
looks at (unchecked changes: no command a check ran on the node named it).

    python -m orka.report.equivalence reports/fingerprints.json   # exit 1 and the differences, or 0
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from orka import methods
from orka.report.records import Record
from orka.results.fingerprint import Difference, Left, compare, read_left
from orka.results.store import read_records

VERIFY = "verify"


@dataclass(frozen=True)
class PairView:
    first: str
    second: str
    nodes: tuple[str, ...]  # the nodes both methods left a fingerprint on, fresh when their clusters came up
    differences: tuple[Difference, ...]
    stale: tuple[str, ...] = ()  # nodes left out: one of the two was not fresh (a reused cluster)

    @property
    def identical(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class EquivalenceView:
    scenario: str
    methods: tuple[str, ...]
    changed: Mapping[str, int]  # method -> items its apply changed, summed over its nodes
    pairs: tuple[PairView, ...]


@dataclass(frozen=True)
class NodeComparison:
    """Two methods' fingerprints of one node, compared, or why they could not be."""

    node: str
    missing: tuple[str, ...] = ()  # the methods that left no fingerprint there (their apply did not end)
    stale: tuple[str, ...] = ()  # the methods whose node was not fresh when its cluster came up
    differences: tuple[Difference, ...] = ()

    @property
    def compared(self) -> bool:
        return not self.missing and not self.stale


def compare_node(
    left: Mapping[tuple[str, str, str], Left], scenario: str, first: str, second: str, node: str
) -> NodeComparison:
    mine = {m: left.get((scenario, m, node)) for m in (first, second)}
    found = {m: each for m, each in mine.items() if each is not None}
    missing = tuple(m for m in mine if m not in found)
    if missing:
        return NodeComparison(node, missing=missing)
    stale = tuple(m for m, each in found.items() if not each.fresh)
    if stale:
        return NodeComparison(node, stale=stale)
    return NodeComparison(node, differences=tuple(compare(node, found)))


def _ordered(names: set[str]) -> tuple[str, ...]:
    rank = {name: i for i, name in enumerate(methods.names())}
    return tuple(sorted(names, key=lambda name: (rank.get(name, len(rank)), name)))


def equivalence_views(left: Mapping[tuple[str, str, str], Left]) -> list[EquivalenceView]:
    """Each scenario's methods compared pairwise, node by node."""
    views = []
    for scenario in sorted({s for s, _, _ in left}):
        mine = {(m, n): each for (s, m, n), each in left.items() if s == scenario}
        names = _ordered({m for m, _ in mine})
        pairs = []
        for first, second in combinations(names, 2):
            both = sorted(n for m, n in mine if m == first and (second, n) in mine)
            compared = [compare_node(left, scenario, first, second, n) for n in both]
            nodes = tuple(c.node for c in compared if c.compared)
            found = tuple(d for c in compared for d in c.differences)
            stale = tuple(c.node for c in compared if c.stale)
            pairs.append(PairView(first, second, nodes, found, stale))
        changed = {m: sum(len(each.changed) for (mm, _), each in mine.items() if mm == m) for m in names}
        views.append(EquivalenceView(scenario, names, changed, tuple(pairs)))
    return views


def unchecked_of(run: Sequence[Record]) -> dict[str, dict[str, list[tuple[str, int]]]]:
    """scenario -> method -> (item, on how many nodes) of what its apply changed that no check looked at,
    from each method's verify record (orka.results.fingerprint.unchecked)."""
    found: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for record in run:
        per_node = record.facts.get("unchecked") if record.phase == VERIFY and record.whole else None
        if not isinstance(per_node, Mapping):
            continue
        counts = Counter(str(item) for items in per_node.values() if isinstance(items, list) for item in items)
        found.setdefault(record.variant, {})[record.method] = sorted(counts.items())
    return found


def latest_run_id(path: Path) -> str | None:
    entries = read_records(path)
    return str(entries[-1].get("run_id")) if entries else None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m orka.report.equivalence reports/fingerprints.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    if not path.is_file():
        print(f"{path}: no such file; a spike run (pytest spikes/) writes it beside results.json", file=sys.stderr)
        return 2
    views = equivalence_views(read_left(path, latest_run_id(path)))
    different = 0
    for view in views:
        for pair in view.pairs:
            state = "identical" if pair.identical else f"{len(pair.differences)} differences"
            state += f"; not compared on {', '.join(pair.stale)} (not fresh)" if pair.stale else ""
            print(f"{view.scenario}: {pair.first} / {pair.second} on {len(pair.nodes)} nodes: {state}")
            for difference in pair.differences:
                print(f"  {difference}")
            different += len(pair.differences)
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
