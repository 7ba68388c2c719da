"""orka's own task runner (orka.runner), from the machine that runs pytest, over SSH."""

from orka.methods.descriptor import Descriptor

DESCRIPTOR = Descriptor(
    name="custom",
    summary="orka's own task runner",
    order=30,
    color="#2e9e6b",
    method_class="orka.methods.custom.method:CustomMethod",
    own_tool="orka-runner",
    effort_patterns=("*.yml",),
)
