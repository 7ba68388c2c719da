"""orka's own task runner (orka.runner), from the machine that runs pytest, over SSH."""

from pathlib import Path

from orka.methods.descriptor import Descriptor

ORCHESTRATION = "orchestrate.yml"


def orchestration_in(folder: Path) -> str | None:
    """A custom folder's orchestration: its orchestrate.yml of ordered steps, when it has one."""
    return ORCHESTRATION if (folder / ORCHESTRATION).is_file() else None


DESCRIPTOR = Descriptor(
    name="custom",
    summary="orka's own task runner",
    order=30,
    color="#2e9e6b",
    entry="desired_state.yml",
    orchestration="orka.methods.custom:orchestration_in",
    skeleton="orka.methods.custom.skeleton:FILES",
    method_class="orka.methods.custom.method:CustomMethod",
    own_tool="orka-runner",
    preflight="orka.methods.custom.files:preflight",
    effort_patterns=("*.yml",),
)
