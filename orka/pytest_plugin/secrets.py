"""The declared secrets in pytest's own reports, and the run's last look for them.

Every test report is redacted where it is made, before JUnit, pytest-html,
the terminal or an xdist controller sees it: the failure text, the captured
output and logs, the recorded properties. An xdist worker hands its secrets
to the controller with its output (in memory, never a file), and the
process that wrote the reports looks for every secret of the run in them and
in the clusters' logs once everything is written: a finding fails the run,
naming the file, the line and the secret's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orka import secrets
from orka.plan.state import LOGS_DIR
from orka.pytest_plugin import options
from orka.pytest_plugin.terminal import line_writer
from orka.testing.leaks import DECLARED, scan_paths

WORKER_OUTPUT = "orka_secrets"
SESSION = pytest.StashKey[pytest.Session]()


def redact_report(report: pytest.TestReport) -> None:
    """The report with every declared secret's value replaced by its marker, wherever pytest keeps text."""
    if not secrets.REGISTRY:
        return
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        path, line, reason = report.longrepr
        report.longrepr = (path, line, secrets.redact(reason))
    elif report.longrepr is not None:
        text = str(report.longrepr)
        redacted = secrets.redact(text)
        if redacted != text:
            report.longrepr = redacted  # plain text: the secret was in pytest's own rendering of the failure
    report.sections = [(title, secrets.redact(content)) for title, content in report.sections]
    report.user_properties = [(name, secrets.redact_data(value)) for name, value in report.user_properties]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    redact_report(outcome.get_result())


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[SESSION] = session


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:
        worker_output[WORKER_OUTPUT] = secrets.REGISTRY.exported()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist's controller: a worker's secrets, for the last scan."""
    for name, value in getattr(node, "workeroutput", {}).get(WORKER_OUTPUT, []):
        secrets.REGISTRY.declare(name, value)


def written_files(config: pytest.Config) -> list[Path]:
    """What the run left for people to read: the reports (wherever they were sent) and the clusters' logs."""
    places = {options.REPORTS, options.results_path(config).parent, LOGS_DIR}
    for option in ("xmlpath", "htmlpath"):
        value = getattr(config.option, option, None)
        if value:
            places.add(Path(value).resolve())
    existing = [p for p in places if p.exists()]
    return sorted(p for p in existing if not any(p != q and p.is_relative_to(q) for q in existing))


@pytest.hookimpl(trylast=True)  # after junitxml, pytest-html and the comparison page have written their files
def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is None or hasattr(config, "workerinput") or not secrets.REGISTRY or not options.runs_spikes(config):
        return
    places = written_files(config)
    # Only the declared values: private keys and token shapes are CI's own scan (python -m orka.testing.leaks).
    findings = sorted({f for f in scan_paths(places, secrets=secrets.REGISTRY) if f.kind.startswith(DECLARED)})
    write = line_writer(config)
    shown = ", ".join(str(p) for p in places)
    if findings:
        for finding in findings:
            write(f"[orka] SECRET IN OUTPUT: {finding}")
        write(f"[orka] {len(findings)} declared secret value(s) found in {shown}: the run fails")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        write(f"[orka] secrets: none of the {len(secrets.REGISTRY)} declared values in {shown}")
