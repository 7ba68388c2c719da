"""Pre-flight: the files the settings point at can be read, before anything boots.

Settings validation (orka.settings) checks that the folders the settings name
exist. This goes one step further for the methods that will run: each
method's descriptor names its own check (Salt's states render and parse,
Ansible's YAML parses and its playbooks are lists of plays). A mistake there
would otherwise show only after a whole cluster bring-up, on the master.
`orka up`, `orka prepare` and the pytest session call check_files() before
prepare(); it only reads.
"""

from __future__ import annotations

from orka import methods
from orka.config.settings import Settings
from orka.errors import OrkaError


class PreflightError(OrkaError):
    """Files named by the settings would fail on the cluster; carries every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"files named by the settings in {source} would fail on the cluster:\n{lines}")


def file_problems(settings: Settings) -> list[str]:
    """Every problem of the files the selected methods will read, each naming its key and file."""
    problems: list[str] = []
    for name in settings.methods:
        check = methods.descriptor(name).preflight
        if check:
            problems += methods.imported(check)(settings)
    return problems


def check_files(settings: Settings) -> Settings:
    """Raise PreflightError with every problem found; return the settings unchanged when there is none."""
    problems = file_problems(settings)
    if problems:
        raise PreflightError(settings.source, problems)
    return settings
