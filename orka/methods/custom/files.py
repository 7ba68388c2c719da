"""Pre-flight of a scenario's custom folder: every task file there is one the runner takes."""

from __future__ import annotations

from pathlib import Path

from orka.runner.taskfile import TaskFileError, load_taskfile


def preflight(folder: Path) -> list[str]:
    """The problem of each task file that would not load, each naming its file (and line, where YAML says)."""
    problems = []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        try:
            load_taskfile(path)
        except TaskFileError as exc:
            problems.append(str(exc))
    return problems
