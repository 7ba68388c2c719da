"""reports/timings.jsonl: spans appended a line at a time, read back and summed per method and part."""

from __future__ import annotations

from pathlib import Path

import pytest

from orka.timings import BRING_UP, REPORTS, VERIFY, clock_to, read_spans, timed, timings_path, totals


def test_the_timings_sit_beside_the_results(tmp_path: Path) -> None:
    assert timings_path(tmp_path / "results.json") == tmp_path / "timings.jsonl"


def test_spans_are_appended_and_summed_per_method_and_part(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "timings.jsonl"
    clock = clock_to(path)
    clock(BRING_UP, "salt", "example", 12.5)
    clock(VERIFY, "salt", "example", 0.25)
    clock(VERIFY, "salt", "example", 0.5)
    clock(REPORTS, "", "", 1.0)
    spans = read_spans(path)
    assert len(spans) == 4
    assert totals(spans) == {("salt", BRING_UP): 12.5, ("salt", VERIFY): 0.75, ("", REPORTS): 1.0}


def test_a_timed_block_is_clocked_even_when_it_raises(tmp_path: Path) -> None:
    path = tmp_path / "timings.jsonl"
    with pytest.raises(RuntimeError), timed(clock_to(path), BRING_UP, "custom", "web"):
        raise RuntimeError("the cluster did not come up")
    (span,) = read_spans(path)
    assert (span.part, span.method, span.scenario) == (BRING_UP, "custom", "web")
    assert span.seconds >= 0


def test_no_file_is_no_spans(tmp_path: Path) -> None:
    assert read_spans(tmp_path / "timings.jsonl") == []
