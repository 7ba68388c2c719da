"""Pre-flight of a scenario's Salt folder: its tree renders (orka.methods.salt.states), and an encrypted pillar
comes with its key (orka.methods.salt.gpg)."""

from __future__ import annotations

from pathlib import Path

from orka.methods.salt.gpg import key_problem
from orka.methods.salt.states import preflight as tree_problems


def preflight(tree: Path) -> list[str]:
    key = key_problem(tree)
    return [*tree_problems(tree), *([key] if key else [])]
