"""Each spike testcase's JUnit classname and name (orka.report.junit's contract), set as junitxml writes it.

Set from the testcase's properties (scenario, method, phase) at its teardown
report, the last before junitxml closes it, in the process that writes the
file (the xdist controller, or the only process). The names stay put wherever
a scenario's folder is: a team's repository can move and Bamboo still tracks
each test.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pytest

from orka.pytest_plugin import options
from orka.pytest_plugin.collection import checks_of
from orka.report import junit


class JunitNames:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @cached_property
    def packages(self) -> dict[str, str]:
        """Each scenario's JUnit package, by its name (read once the settings are, at the first report)."""
        return {scenario.name: scenario.junit_package for scenario in options.settings(self.config).scenarios}

    @pytest.hookimpl(tryfirst=True)  # before junitxml closes the testcase
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        props = {str(key): str(value) for key, value in report.user_properties}
        packages = self.packages
        scenario = props.get("scenario") or (next(iter(packages)) if len(packages) == 1 else "")
        if not props.get("method") or scenario not in packages:
            return
        from _pytest.junitxml import xml_key  # junitxml's writer is only reachable by its private stash key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        path = Path(self.config.rootpath / report.location[0])
        check = checks_of(path, options.settings(self.config)) is not None
        classname, name = junit.testcase_names(
            report.nodeid, packages[scenario], props["method"], props.get("phase", ""), check, props.get("platform", "")
        )
        reporter = xml.node_reporter(report)
        reporter.add_attribute("classname", classname)
        reporter.add_attribute("name", name)


@pytest.hookimpl(trylast=True)  # after junitxml's configure made its writer
def pytest_configure(config: pytest.Config) -> None:
    if options.runs_spikes(config) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(JunitNames(config), "orka-junit-names")
