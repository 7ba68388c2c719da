"""Unit tests of orka.results.record: the PhaseResult every method returns and the results.json it leaves."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from orka.results.record import Change, HostOutcome, PhaseResult, RunContext, records
from orka.results.store import append_records, read_records
from orka.results.verdict import Expectations, judge

CONTEXT = RunContext(run_id="run-20261126-1330", cluster_size=3, provider="docker", tool_version="salt 3008.1")
COMMON_KEYS = ("run_id", "method", "phase", "tool_version", "cluster_size", "provider", "duration_s")

OK_HOST = HostOutcome("orka-node-1", ok=True, changed=2, detail="changed: orka-home, orka-user")
FAILED_HOST = HostOutcome("orka-node-2", ok=False, failed=1, detail="failed: orka-index: is a directory")
SILENT_FAILED_HOST = HostOutcome("orka-node-3", ok=False, changed=1, failed=2)


def make_result(
    hosts: tuple[HostOutcome, ...] = (OK_HOST, FAILED_HOST, SILENT_FAILED_HOST),
    error: str = "",
) -> PhaseResult:
    return PhaseResult(
        method="salt",
        phase="orchestrate",
        hosts=hosts,
        duration_s=12.34567,
        raw='{"data": {}}\n',
        error=error,
        order=(("orka-primary", 48624.705, 48625.21), ("orka-secondaries", 48625.211, 48625.703)),
    )


NODES = ("orka-node-1", "orka-node-2", "orka-node-3")


def recorded(result: PhaseResult) -> list[dict[str, Any]]:
    return records(result, CONTEXT, judge(result, Expectations(NODES)))


def numbered(start: int, count: int) -> list[dict[str, Any]]:
    return [{"n": n} for n in range(start, start + count)]


def stray_files(folder: Path, keep: str) -> list[str]:
    """Files in folder other than `keep` and the lock file that guards it."""
    return sorted(p.name for p in folder.iterdir() if p.name != keep and not p.name.endswith(".lock"))


def append_many(path: str, worker: int, count: int) -> None:
    """One concurrent writer: `count` separate appends of one record each."""
    for seq in range(count):
        append_records(Path(path), [{"worker": worker, "seq": seq}])


# -- PhaseResult ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "error", "ok"),
    [
        ((OK_HOST,), "", True),
        ((OK_HOST, HostOutcome("orka-node-2", ok=True)), "", True),
        ((OK_HOST, FAILED_HOST), "", False),
        ((OK_HOST,), "salt-run exited 1", False),
        ((), "", False),
    ],
    ids=["one-ok-host", "all-hosts-ok", "one-host-failed", "phase-error", "no-hosts"],
)
def test_phase_is_ok_only_with_hosts_all_ok_and_no_error(hosts: tuple[HostOutcome, ...], error: str, ok: bool) -> None:
    assert make_result(hosts, error).ok is ok


def test_phase_changed_and_failed_sum_over_hosts() -> None:
    result = make_result()

    assert result.changed == 3
    assert result.failed == 3


def test_phase_with_no_hosts_has_nothing_changed_or_failed() -> None:
    result = make_result(hosts=())

    assert (result.changed, result.failed) == (0, 0)


def test_host_finds_a_node_by_name_or_returns_none() -> None:
    result = make_result()

    assert result.host("orka-node-2") is FAILED_HOST
    assert result.host("orka-node-9") is None


def test_problems_list_the_phase_error_then_each_failed_host() -> None:
    result = make_result(error="step orka-primary: Run failed on minions: orka-node-1")

    assert result.problems() == [
        "salt orchestrate: step orka-primary: Run failed on minions: orka-node-1",
        "orka-node-2: failed: orka-index: is a directory",
        "orka-node-3: failed",
    ]


def test_problems_of_an_ok_phase_are_empty() -> None:
    assert make_result(hosts=(OK_HOST,)).problems() == []


# -- records ----------------------------------------------------------------


def test_records_are_the_whole_phase_then_one_per_host() -> None:
    result = make_result(error="step orka-primary: failed")

    whole, *per_host = recorded(result)

    assert whole["node"] is None
    assert whole["raw"] == result.raw
    assert whole["error"] == result.error
    assert whole["order"] == [["orka-primary", 48624.705, 48625.21], ["orka-secondaries", 48625.211, 48625.703]]
    assert (whole["ok"], whole["changed"], whole["failed"]) == (False, 3, 3)
    assert [r["node"] for r in per_host] == ["orka-node-1", "orka-node-2", "orka-node-3"]
    for record, host in zip(per_host, result.hosts, strict=True):
        shown = {k: v for k, v in asdict(host).items() if k not in ("items", "facts")}  # kept only when given
        assert {k: record[k] for k in shown} == shown
        assert "items" not in record
        assert "facts" not in record


def test_a_dry_runs_items_and_a_phases_facts_are_recorded_when_given() -> None:
    host = HostOutcome("orka-node-3", ok=True, changed=1, items=(Change("/etc/a", "a: would change"),), facts={"x": 1})
    result = PhaseResult("salt", "drift", (host,), 1.0)
    _, record = records(result, CONTEXT, judge(result, Expectations(("orka-node-3",))))
    assert list(record["items"]) == [{"target": "/etc/a", "words": "a: would change"}]
    assert record["facts"] == {"x": 1}


def test_every_record_carries_the_run_facts() -> None:
    expected = {
        "run_id": "run-20261126-1330",
        "method": "salt",
        "phase": "orchestrate",
        "tool_version": "salt 3008.1",
        "cluster_size": 3,
        "provider": "docker",
        "duration_s": 12.346,
    }

    recs = recorded(make_result())

    assert len(recs) == 4
    for record in recs:
        assert {k: record[k] for k in COMMON_KEYS} == expected


def test_records_of_a_phase_without_hosts_fail_every_node() -> None:
    recs = recorded(make_result(hosts=(), error="no JSON in salt's output (exit 1)"))

    whole, *missing = recs
    assert whole["node"] is None
    assert (whole["ok"], whole["verdict"]) == (False, "fail")
    # Every node the phase said nothing of is a failed record of its own, so no report shows it as a blank.
    assert [(r["node"], r["verdict"]) for r in missing] == [(n, "fail") for n in NODES]
    assert all(r["reasons"] == ["no outcome: no JSON in salt's output (exit 1)"] for r in missing)


def test_records_are_json_serialisable() -> None:
    recs = recorded(make_result(error="boom"))

    assert json.loads(json.dumps(recs)) == recs


# -- append_records / read_records ------------------------------------------


def test_append_creates_the_file_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "results.json"

    append_records(path, numbered(0, 3))

    assert path.is_file()
    assert json.loads(path.read_text()) == numbered(0, 3)


def test_append_adds_to_the_list_across_calls_keeping_order(tmp_path: Path) -> None:
    path = tmp_path / "results.json"

    append_records(path, numbered(0, 2))
    append_records(path, numbered(2, 3))
    append_records(path, iter(numbered(5, 1)))  # any iterable, e.g. a generator

    assert read_records(path) == numbered(0, 6)


def test_append_of_real_records_reads_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    recs = recorded(make_result())

    append_records(path, recs)

    assert read_records(path) == recs


def test_append_leaves_a_file_every_reader_can_read(tmp_path: Path) -> None:
    """Bamboo keeps reports/ as an artifact, read by another user than the one that ran the tests."""
    path = tmp_path / "results.json"

    append_records(path, numbered(0, 1))

    assert path.stat().st_mode & 0o777 == 0o644


def test_append_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "results.json"

    for start in range(0, 10, 2):
        append_records(path, numbered(start, 2))

    assert stray_files(tmp_path, keep="results.json") == []


def test_concurrent_writers_lose_no_record(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    workers, each = 8, 20
    context = multiprocessing.get_context("fork")  # fcntl locks: POSIX only, like the module
    processes = [context.Process(target=append_many, args=(str(path), w, each)) for w in range(workers)]

    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)

    assert [p.exitcode for p in processes] == [0] * workers
    written = json.loads(path.read_text())  # valid JSON, whole
    assert len(written) == workers * each
    assert sorted((r["worker"], r["seq"]) for r in written) == [(w, s) for w in range(workers) for s in range(each)]
    for worker in range(workers):  # each writer's records in the order it wrote them
        assert [r["seq"] for r in written if r["worker"] == worker] == list(range(each))
    assert stray_files(tmp_path, keep="results.json") == []


def test_read_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_records(tmp_path / "results.json") == []


@pytest.mark.parametrize("content", ['{"run_id": "x"}', '"a string"', "3"])
def test_read_of_a_file_not_holding_a_list_raises_value_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content)

    with pytest.raises(ValueError, match="JSON list"):
        read_records(path)


def test_append_to_a_file_holding_an_object_raises_value_error(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('{"run_id": "x"}')

    with pytest.raises(ValueError, match="JSON list"):
        append_records(path, numbered(0, 1))


def disk_full(fd: int) -> None:
    """fsync of the new file's text failing, as a full disk would: the write went only halfway."""
    raise OSError("No space left on device")


def test_a_crash_mid_write_leaves_the_previous_content_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.json"
    append_records(path, numbered(0, 3))
    before = path.read_bytes()
    monkeypatch.setattr("orka.files.os.fsync", disk_full)

    with pytest.raises(OSError, match="No space left"):
        append_records(path, numbered(3, 2))

    monkeypatch.undo()
    assert path.read_bytes() == before
    assert read_records(path) == numbered(0, 3)
    append_records(path, numbered(3, 2))  # and the next append works
    assert read_records(path) == numbered(0, 5)


def test_a_crash_mid_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.json"
    append_records(path, numbered(0, 3))
    monkeypatch.setattr("orka.files.os.fsync", disk_full)

    with pytest.raises(OSError, match="No space left"):
        append_records(path, numbered(3, 2))

    assert stray_files(tmp_path, keep="results.json") == []
