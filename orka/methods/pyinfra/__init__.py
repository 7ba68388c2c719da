"""pyinfra, agentless over SSH from the machine that runs pytest (as the runner: the Bamboo agent)."""

from pathlib import Path

from orka.methods.descriptor import Descriptor

ORCHESTRATION = "orchestrate.py"


def orchestration_in(folder: Path) -> str | None:
    """A pyinfra folder's orchestration: its orchestrate.py, when it has one."""
    return ORCHESTRATION if (folder / ORCHESTRATION).is_file() else None


STEP_TIMEOUT_ENV = "ORKA_PYINFRA_STEP_TIMEOUT"  # seconds: each command's bound (pyinfra's _timeout), for events.py

DESCRIPTOR = Descriptor(
    name="pyinfra",
    summary="pyinfra, agentless from this machine",
    order=40,
    color="#8c6bb1",
    entry="deploy.py",
    orchestration="orka.methods.pyinfra:orchestration_in",
    skeleton="orka.methods.pyinfra.skeleton:FILES",
    method_class="orka.methods.pyinfra.method:PyinfraMethod",
    preflight="orka.methods.pyinfra.files:preflight",
    effort_patterns=("*.py", "*.j2"),
)
