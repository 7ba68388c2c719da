"""How orka is built, kept so: no import cycle inside the package, and a method is one folder.

Read from the code's own text (ast), the way a newcomer follows it: every
import of every module of orka/, also those inside functions (they load at
run time all the same), but not those only for the type checker.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from orka import methods
from orka.config import REPO_ROOT

PACKAGE = REPO_ROOT / "orka"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The orka modules a module imports (a package's module where `from orka.x import y` names one)."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for block in ast.walk(tree) if _type_checking_only(block) for n in ast.walk(block)}
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imported(path, name, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    yield from groups


def test_the_walk_finds_a_cycle_where_there_is_one() -> None:
    assert list(cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c"]]
    assert list(cycles({"a": {"b"}, "b": set()})) == []


def test_orka_has_no_import_cycle() -> None:
    edges = graph()
    assert len(edges) > 40, "every module of orka/ was read"
    found = list(cycles(edges))
    assert found == [], "import cycles inside orka/: " + "; ".join(" <-> ".join(group) for group in found)


def test_every_method_folder_is_found_by_the_registry() -> None:
    folders = sorted(p.name for p in (PACKAGE / "methods").iterdir() if (p / "__init__.py").is_file())
    assert sorted(methods.names()) == folders


# Where a method's name may stand: its own folder, the registry that finds the folders, and the runner,
# a library of its own whose `salt` task calls Salt on a master (a task, not the method).
NAMES_MAY_STAND = ("orka/methods/", "orka/runner/")


def _strings(path: Path) -> Iterator[tuple[int, str]]:
    """Every string constant of a module that is not a docstring, with its line."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def method_words() -> set[str]:
    """Each method's name, and its masters' names and roles."""
    words = set(methods.names())
    for descriptor in methods.descriptors():
        words |= {m.name for m in descriptor.masters} | {m.role for m in descriptor.masters}
    return words


def test_a_method_is_one_folder_its_names_stand_nowhere_else_in_orka() -> None:
    words = method_words()
    found = []
    for path in modules().values():
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative.startswith(NAMES_MAY_STAND):
            continue
        for line, text in _strings(path):
            named = sorted(w for w in words if text == w or text.startswith((f"{w}.", f"{w}:")))
            if named:
                found.append(f"{relative}:{line}: {text!r}")
    assert found == [], "method names outside orka/methods/<method>/:\n" + "\n".join(found)
