"""What each spike test leaves: its JUnit properties, and for a scenario's check, its record (verify's, or
drift's when it ran again after the repair)."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from orka.pytest_plugin import options
from orka.pytest_plugin.collection import drives_a_method, is_check, method_of, phase_of, platform_of, scenario_of
from orka.report import junit
from orka.spike import Spike
from orka.timings import HAND_COMMANDS, PHASE_TESTS, VERIFY

CALL_DURATION = pytest.StashKey[float]()


def _case_properties(item: pytest.Function) -> list[tuple[str, str]]:
    """method, phase, node, duration_s (the phase's, else the test's own) and check, for the JUnit testcase."""
    phase = phase_of(item)
    spike = item.funcargs.get("spike") if item.funcargs else None
    done = spike.done.get(phase) if isinstance(spike, Spike) and not is_check(item) else None
    duration = done.duration_s if done is not None else item.stash.get(CALL_DURATION, 0.0)
    node = item.callspec.params.get("node") if hasattr(item, "callspec") else None
    node = str(node) if node else None
    check = item.originalname if phase == junit.VERIFY or is_check(item) else None
    return junit.case_properties(
        method_of(item) or "", phase, node, duration, check, scenario_of(item).name, platform_of(item).name
    )


def _clock_test(item: pytest.Function, seconds: float) -> None:
    """A spike test's own time, by part: a check's is verify's (after the drift's repair too), a phase test's
    holds its phase, the rest are the spike's hand commands and other tests."""
    phase = phase_of(item)
    part = VERIFY if is_check(item) else {junit.EXTRA: HAND_COMMANDS}.get(phase, PHASE_TESTS)
    options.clock(item.config)(part, method_of(item) or "", scenario_of(item).name, seconds)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Each spike test's JUnit properties; each verification check becomes a verify record of its method and node."""
    if call.when == "teardown" and isinstance(item, pytest.Function) and drives_a_method(item):
        item.user_properties.extend(_case_properties(item))  # junitxml reads the teardown report's
    report: pytest.TestReport = yield
    if call.when == "call" and isinstance(item, pytest.Function):
        item.stash[CALL_DURATION] = report.duration
        if drives_a_method(item):
            _clock_test(item, report.duration)
    # A check is recorded when it ran, or when its set-up failed (it then never runs: that is its verdict too).
    ran = call.when == "call" or (call.when == "setup" and report.failed)
    if ran and isinstance(item, pytest.Function) and is_check(item):
        spike = (item.funcargs or {}).get("spike")
        if isinstance(spike, Spike):
            detail = "" if report.passed else str(report.longrepr).strip().splitlines()[-1][:300]
            if call.when == "setup":
                detail = f"not run, its set-up failed: {detail}"
            node = str(item.callspec.params.get("node", "")) if hasattr(item, "callspec") else ""
            spike.record_check(node, item.originalname, report.passed, report.duration, detail, phase_of(item))
    return report
