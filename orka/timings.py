"""reports/timings.jsonl: where a run's time went outside the tools' own phases.

One JSON line per span of the harness's own work (a cluster's bring-up, the
method's tool answering, the `up` record's facts, a verify check, a hand command, a
teardown, the reports), appended as it ends, by whichever process did the work:
xdist workers append to the same file, a line at a time. The tools' phases are
timed in results.json; `benchmarks/bench_spike.py` puts the two side by side.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BRING_UP = "bring-up"
READINESS = "readiness"
FACTS = "facts and freshness"  # the tool's version, the node OS, the freshness probe: the `up` record
PHASE_TESTS = "phase tests"  # a phase test's own time around its phase: judging, recording
HAND_COMMANDS = "hand commands"  # the spike's other tests: the original spike's commands typed by hand, and the like
VERIFY = "verify"
TEARDOWN = "teardown"
REPORTS = "reports"
PARTS = (BRING_UP, READINESS, FACTS, PHASE_TESTS, HAND_COMMANDS, VERIFY, TEARDOWN, REPORTS)

Clock = Callable[[str, str, str, float], None]  # (part, method, scenario, seconds)


@dataclass(frozen=True)
class Span:
    part: str
    method: str
    scenario: str
    seconds: float


def timings_path(results: Path) -> Path:
    """The run's timings, beside its results.json."""
    return results.with_name("timings.jsonl")


def clock_to(path: Path) -> Clock:
    """A clock that appends each span to path: one write of one line, so parallel workers never interleave."""

    def record(part: str, method: str, scenario: str, seconds: float) -> None:
        line = json.dumps({"part": part, "method": method, "scenario": scenario, "seconds": round(seconds, 3)})
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, (line + "\n").encode())
        finally:
            os.close(descriptor)

    return record


def no_clock(part: str, method: str, scenario: str, seconds: float) -> None:
    """Where nothing is timed (the `orka` command's own runs)."""


@contextmanager
def timed(clock: Clock, part: str, method: str, scenario: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        clock(part, method, scenario, time.monotonic() - start)


def read_spans(path: Path) -> list[Span]:
    if not path.exists():
        return []
    spans = []
    for line in path.read_text().splitlines():
        if line.strip():
            fields: dict[str, Any] = json.loads(line)
            spans.append(Span(fields["part"], fields["method"], fields["scenario"], float(fields["seconds"])))
    return spans


def totals(spans: Iterable[Span]) -> dict[tuple[str, str], float]:
    """Seconds per (method, part); a span of the run as a whole has method ''."""
    summed: dict[tuple[str, str], float] = {}
    for span in spans:
        summed[(span.method, span.part)] = summed.get((span.method, span.part), 0.0) + span.seconds
    return summed
