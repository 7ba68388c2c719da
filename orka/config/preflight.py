"""Pre-flight: the files a run will read can be read, before anything boots.

Settings validation (orka.config.settings) loads each scenario: its folders
are there, each with its method's entry file. This goes one step further for
every scenario and selected method the scenario is written for: the method's
own check of its folder (its descriptor's `preflight`: Salt's states render and
parse, Ansible's YAML parses and its playbooks are lists of plays, the
runner's task files are valid), and the scenario's checks compile and import.
A mistake there would otherwise show only after a whole cluster bring-up.
`orka up`, `orka prepare` and the pytest session call check_files() before
prepare(); it only reads (a check file's module is imported, as pytest would).
"""

from __future__ import annotations

import importlib.util
import traceback
from pathlib import Path

from orka import methods
from orka.config.scenario import Scenario
from orka.config.settings import Settings
from orka.errors import OrkaError


class PreflightError(OrkaError):
    """Files a run would read would fail on the cluster; carries every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"files of the scenarios in {source} would fail on the cluster:\n{lines}")


def check_imports(path: Path) -> str | None:
    """Why a check file cannot be imported (file:line and the error), or None."""
    try:
        source = path.read_text(encoding="utf-8")
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        return f"{path}:{exc.lineno}: {exc.msg}; fix that line"
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: cannot be read ({exc})"
    spec = importlib.util.spec_from_file_location(f"orka_check_{abs(hash(path))}", path)
    assert spec is not None
    assert spec.loader is not None
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        where = f"{path}:{frames[-1].lineno}" if frames else str(path)
        return f"{where}: does not import ({type(exc).__name__}: {exc}); pytest could not collect its checks"
    return None


def scenario_problems(scenario: Scenario, selected: tuple[str, ...]) -> list[str]:
    """Every problem of the files of a scenario that the selected methods and its checks will read."""
    problems: list[str] = []
    for name in selected:
        check = methods.descriptor(name).preflight
        if name in scenario.methods and check:
            problems += [f"{scenario.name}/{name}: {p}" for p in methods.imported(check)(scenario.folder(name))]
    problems += [f"{scenario.name}/verify: {p}" for path in scenario.check_files() if (p := check_imports(path))]
    return problems


def file_problems(settings: Settings) -> list[str]:
    return [p for scenario in settings.scenarios for p in scenario_problems(scenario, settings.methods)]


def check_files(settings: Settings) -> Settings:
    """Raise PreflightError with every problem found; return the settings unchanged when there is none."""
    problems = file_problems(settings)
    if problems:
        raise PreflightError(settings.source, problems)
    return settings
