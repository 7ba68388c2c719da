"""The entry point pytest loads (pyproject.toml's pytest11): the plugin's modules, each one concern."""

pytest_plugins = [
    "orka.pytest_plugin.options",
    "orka.pytest_plugin.collection",
    "orka.pytest_plugin.checks",
    "orka.pytest_plugin.junit_names",
    "orka.pytest_plugin.fixtures",
    "orka.pytest_plugin.outcomes",
    "orka.pytest_plugin.reports",
    "orka.pytest_plugin.secrets",
    "orka.pytest_plugin.equivalence",
    "orka.pytest_plugin.xdist",
]
