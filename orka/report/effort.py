"""The effort each method took to express the same desired state: files and lines, counted at report time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from orka import methods

EFFORT_EXCLUDED = frozenset({"__init__.py", "README.md"})
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


@dataclass(frozen=True)
class EffortFile:
    path: str  # relative to the method's folder
    lines: int


@dataclass(frozen=True)
class EffortView:
    """Files and lines one method needed to express the desired state."""

    method: str
    folder: str
    exists: bool
    patterns: tuple[str, ...]
    files: tuple[EffortFile, ...]

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)


def meaningful_lines(text: str) -> int:
    """Lines that are neither blank nor comments: `#` (YAML, sls, cfg, templates), `;` (ini), Jinja `{# #}`."""
    count = 0
    for line in JINJA_COMMENT.sub("", text).splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            count += 1
    return count


def count_effort(spikes_dir: Path) -> list[EffortView]:
    """Files and lines under spikes_dir/<method>/ for each method; tests, __init__.py and README.md left out."""
    views = []
    for method, patterns in ((d.name, d.effort_patterns) for d in methods.descriptors()):
        folder = spikes_dir / method
        paths: set[Path] = set()
        for pattern in patterns:
            paths.update(p for p in folder.rglob(pattern) if p.is_file())
        files = []
        for path in sorted(paths):
            relative = path.relative_to(folder)
            hidden = any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
            tests = any(part in ("tests", "test") for part in relative.parts[:-1]) or path.name.startswith("test_")
            if hidden or tests or path.name in EFFORT_EXCLUDED:
                continue
            files.append(EffortFile(relative.as_posix(), meaningful_lines(path.read_text(errors="replace"))))
        views.append(EffortView(method, f"{spikes_dir.name}/{method}/", folder.is_dir(), patterns, tuple(files)))
    return views
