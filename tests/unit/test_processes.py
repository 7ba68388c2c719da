"""Finding and stopping the processes started for a cluster (real processes, no cluster)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orka.providers import processes


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return tmp_path / "clusters" / "orka-unit" / "spec.json"


@pytest.fixture
def started(spec: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running process started for the cluster, as orka starts vagrant: with ORKA_SPEC, in its own session."""
    child = subprocess.Popen(["sleep", "60"], env={**os.environ, "ORKA_SPEC": str(spec)}, start_new_session=True)
    # Until it has exec'd, the child's /proc environ is still pytest's, without ORKA_SPEC.
    deadline = time.monotonic() + 10
    while b"ORKA_SPEC=" not in Path(f"/proc/{child.pid}/environ").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield child
    child.kill()
    child.wait()


def test_a_process_started_for_the_cluster_is_found_and_stopped(started: subprocess.Popen[bytes], spec: Path) -> None:
    assert processes.started_for(spec) == [started.pid]
    assert spec in processes.plans_in_use(spec.parent.parent)
    processes.stop([started.pid], grace_s=5)
    assert started.wait(timeout=5) is not None
    assert processes.started_for(spec) == []


def test_another_clusters_process_is_left_alone(started: subprocess.Popen[bytes], spec: Path) -> None:
    assert processes.started_for(spec.with_name("other.json")) == []
    assert started.poll() is None


def test_the_process_that_looks_never_finds_itself(spec: Path) -> None:
    """A user who exported ORKA_SPEC runs `orka down` with it: orka must not stop itself."""
    look = "import sys, pathlib, orka.providers.processes as p; print(p.started_for(pathlib.Path(sys.argv[1])))"
    result = subprocess.run(
        [sys.executable, "-c", look, str(spec)],
        env={**os.environ, "ORKA_SPEC": str(spec)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"
