"""orka's pytest plugin is the package's own, orka.pytest_plugin, loaded by its pytest11 entry point
(pyproject.toml) wherever orka is installed: this repository's spikes/ need nothing here."""
