"""A scenario's own checks: its verify/ modules get the check fixtures, and JUnit names that stay put.

A check's JUnit classname is `<junit_package>.<module>` (scenario.yaml's
`junit_package`, by default `spikes.<scenario>`), wherever the scenario's
folder is: a team's repository can move and Bamboo still tracks each check.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from orka.pytest_plugin import check_fixtures, options
from orka.pytest_plugin.collection import checks_of


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Generator[None, object, object]:
    module = yield
    config = parent.config
    if (
        isinstance(module, pytest.Module)
        and options.runs_spikes(config)
        and checks_of(module_path, options.settings(config))
    ):
        # As if a conftest.py beside the checks held them: the module's own fixtures still win.
        parent.session._fixturemanager.parsefactories(holder=check_fixtures, node=module)
    return module


class CheckNames:
    """Each check's JUnit classname, set on the testcase before junitxml writes it (in the process that writes it)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)  # before junitxml opens the testcase
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "setup":
            return
        from _pytest.junitxml import xml_key  # junitxml's writer is only reachable by its private stash key

        xml = self.config.stash.get(xml_key, None)
        path = (self.config.rootpath / report.location[0]).resolve()
        owner = checks_of(path, options.settings(self.config)) if xml is not None else None
        if xml is not None and owner is not None:
            xml.node_reporter(report).add_attribute("classname", f"{owner.junit_package}.{path.stem}")


@pytest.hookimpl(trylast=True)  # after junitxml's configure made its writer
def pytest_configure(config: pytest.Config) -> None:
    if options.runs_spikes(config) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(CheckNames(config), "orka-check-names")
