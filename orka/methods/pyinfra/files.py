"""Pre-flight of a scenario's pyinfra folder: every Python file there compiles (pyinfra executes them)."""

from __future__ import annotations

from pathlib import Path


def preflight(folder: Path) -> list[str]:
    """The problem of each Python file that would not compile, naming its file and line."""
    problems = []
    for path in sorted(folder.rglob("*.py")):
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read ({exc}); make it a readable UTF-8 file")
        except SyntaxError as exc:
            problems.append(f"{path}:{exc.lineno}: {exc.msg}; fix that line (pyinfra runs the file as Python)")
    return problems
