"""Check a Salt state tree offline: every .sls renders (Jinja) and parses (YAML).

Salt renders a state file with Jinja, then reads the result as YAML, and only
does so on the master once the cluster is up: a typo would cost a whole
bring-up. Here each file is rendered on the host with stand-ins for what only
a minion has (grains, pillar, the `salt` execution functions) that answer
anything without failing, so only what is wrong in the file itself is
reported: Jinja that does not parse, an import that is not in the tree, YAML
that does not parse, a state ID given twice, or a file that is not a mapping.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
import yaml
from jinja2 import nodes
from jinja2.parser import Parser

# What a minion's grains would say; anything else asked for is undefined (and harmless).
GRAINS: dict[str, Any] = {
    "id": "orka-node-1",
    "host": "orka-node-1",
    "nodename": "orka-node-1",
    "kernel": "Linux",
    "os": "Debian",
    "os_family": "Debian",
}
# Renderers this check knows; a file naming another (`#!py`, `#!mako|yaml`) is left to Salt.
KNOWN_RENDERERS = frozenset({"jinja", "yaml"})
# A scenario's own pillar, beside its states (with its own top.sls).
PILLAR = "pillar"
_FILTER_OR_TEST = re.compile(r"(?:\|\s*|\bis\s+(?:not\s+)?)([A-Za-z_]\w*)")


def _same(self: jinja2.Undefined, *args: object, **kwargs: object) -> jinja2.Undefined:
    return self


# Undefined that may also be called, added or compared (`salt.cmd.run(...)`,
# `pillar.size + 1`): a stand-in must never be what fails. Made with type() as
# these operators are typed to never return on jinja2.Undefined.
_LENIENT_OPERATORS = (
    *("__call__", "__pos__", "__neg__", "__lt__", "__le__", "__gt__", "__ge__"),
    *("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__mod__", "__rmod__"),
    *("__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__"),
)
_Lenient: type[jinja2.Undefined] = type(
    "_Lenient", (jinja2.ChainableUndefined,), {"__slots__": (), **dict.fromkeys(_LENIENT_OPERATORS, _same)}
)


def _undefined(*args: object, **kwargs: object) -> jinja2.Undefined:
    return _Lenient()


_NOT_GIVEN = object()


def _get(key: object = None, default: object = _NOT_GIVEN, *args: object, **kwargs: object) -> object:
    """pillar.get, grains.get, config.get: the default when given, else undefined."""
    default = kwargs.get("default", default)
    return _Lenient() if default is _NOT_GIVEN else default


def _filter_by(
    lookup: object,
    grain: str = "os_family",
    merge: object = None,
    default: str = "default",
    base: object = None,
    **kwargs: object,
) -> object:
    """grains.filter_by as Salt does it, for the stand-in grains: a copy the template may change."""
    if not isinstance(lookup, dict):
        return _Lenient()
    chosen = lookup.get(GRAINS.get(grain), lookup.get(default))
    result = copy.deepcopy(chosen)
    if isinstance(base, str) and isinstance(lookup.get(base), dict) and isinstance(result, dict):
        result = {**copy.deepcopy(lookup[base]), **result}
    if isinstance(merge, dict) and isinstance(result, dict):
        result.update(merge)
    return _Lenient() if result is None else result


class _SaltFunctions:
    """The `salt` object of a template: salt['pillar.get'](...) and friends."""

    def __getitem__(self, name: str) -> Callable[..., object]:
        if name == "grains.filter_by":
            return _filter_by
        if name.endswith((".get", ".option")):
            return _get
        return _undefined


def _to_json(value: object, *args: object, **kwargs: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _to_yaml(value: object, flow_style: object = True, *args: object, **kwargs: object) -> str:
    """Salt's `yaml` filter: `| yaml` and `| yaml(False)` (block style), as formulas write them."""
    return yaml.safe_dump(value, default_flow_style=bool(flow_style)).strip()


def _passthrough(value: object, *args: object, **kwargs: object) -> object:
    return value


def _any_test(value: object, *args: object, **kwargs: object) -> bool:
    return False


class _SaltTags(jinja2.ext.Extension):
    """Salt's own Jinja tags, parsed so their syntax is checked; what they load is a stand-in."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        self.tags = {"import_yaml", "import_json", "import_text", "load_yaml", "load_json", "load_text", "profile"}

    def parse(self, parser: Parser) -> nodes.Node | list[nodes.Node]:
        token = next(parser.stream)
        if token.value == "profile":  # {% profile as 'label' %} ... {% endprofile %}
            parser.stream.expect("name:as")
            parser.parse_expression()
            return parser.parse_statements(("name:endprofile",), drop_needle=True)
        if token.value.startswith("import_"):  # {% import_yaml 'defaults.yaml' as defaults %}
            parser.parse_expression()
        parser.stream.expect("name:as")
        target = parser.parse_assign_target()
        if token.value.startswith("load_"):  # {% load_yaml as data %} ... {% endload %}
            parser.parse_statements(("name:endload",), drop_needle=True)
        return nodes.Assign(target, self.call_method("_loaded"), lineno=token.lineno)

    def _loaded(self) -> jinja2.Undefined:
        return _Lenient()


class _TreeLoader(jinja2.FileSystemLoader):
    """Templates by their path in the tree (`orka/map.jinja`, also `salt://orka/map.jinja`).

    Salt has many filters and tests of its own; each name a template uses that
    Jinja does not know is registered as a stand-in, so it is not an error here.
    """

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template.removeprefix("salt://"))
        for name in _FILTER_OR_TEST.findall(source):
            environment.filters.setdefault(name, _passthrough)
            environment.tests.setdefault(name, _any_test)
        return source, filename, uptodate


class _SaltEnvironment(jinja2.Environment):
    def join_path(self, template: str, parent: str) -> str:
        """Salt's relative imports: `{% from "./map.jinja" import x %}` is beside the importing file."""
        if template.startswith(("./", "../")):
            return posixpath.normpath(posixpath.join(posixpath.dirname(parent), template))
        return template


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML as Salt reads it: an ID given twice in one mapping is an error, not a silent overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"ID {key!r} given twice, which Salt refuses", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _environment(tree: Path) -> jinja2.Environment:
    env = _SaltEnvironment(
        loader=_TreeLoader(str(tree)),
        undefined=_Lenient,
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", _SaltTags],
    )
    env.filters.update({"json": _to_json, "tojson": _to_json, "yaml": _to_yaml})
    env.globals.update({"raise": _undefined, "show_full_context": _undefined})
    return env


def state_files(tree: Path) -> Iterator[Path]:
    """Every .sls under the tree, in a stable order, skipping hidden folders."""
    for path in sorted(tree.rglob("*.sls")):
        if not any(part.startswith(".") for part in path.relative_to(tree).parts) and path.is_file():
            yield path


def _context(name: str) -> dict[str, object]:
    """The variables Salt gives a state file, for the file at `name` (posix, relative to the tree)."""
    tpldir = posixpath.dirname(name)
    stem = name.removesuffix(".sls")
    sls = (stem.removesuffix("/init") if stem.endswith("/init") else stem).replace("/", ".")
    return {
        "grains": dict(GRAINS),
        "pillar": {},
        "opts": {},
        "salt": _SaltFunctions(),
        "saltenv": "base",
        "sls": sls,
        "slspath": tpldir,
        "sls_path": tpldir.replace("/", "_"),
        "tpldir": tpldir,
        "tpldot": tpldir.replace("/", "."),
        "tplfile": name,
        "tplpath": name,
        "tplroot": name.split("/")[0],
    }


def _renderers(source: str) -> list[str]:
    """The file's render pipeline: its `#!jinja|yaml` line, else Salt's default."""
    first = source.split("\n", 1)[0]
    if not first.startswith("#!"):
        return ["jinja", "yaml"]
    return [part.strip() for part in first[2:].split("|") if part.strip()]


def _source_line(source: str, rendered_line: str, line: int) -> int | None:
    """The file's line that rendered to `rendered_line`: the same text, nearest at or after `line`.

    Jinja keeps the text between tags as it is and mostly only drops lines, so
    the line YAML stumbled on is usually in the file as written.
    """
    candidates = [i for i, text in enumerate(source.splitlines(), 1) if text == rendered_line]
    if not rendered_line.strip() or not candidates:
        return None
    return min(candidates, key=lambda i: (i < line, abs(i - line)))


def _yaml_problem(path: Path, source: str, rendered: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = getattr(exc, "problem", None) or getattr(exc, "context", None) or "syntax error"
    if mark is None:
        return f"{path}: malformed YAML ({what}); fix the file"
    lines = rendered.splitlines()
    rendered_line = lines[mark.line] if mark.line < len(lines) else ""
    line = _source_line(source, rendered_line, mark.line + 1)
    if line is None and not rendered_line.strip():
        return (
            f"{path}: malformed YAML ({what}) at the end of its Jinja output; "
            "close what is left open (a bracket, a quote, a block)"
        )
    if line is None:
        return (
            f"{path}: malformed YAML ({what}) at line {mark.line + 1} of its Jinja output, "
            f"{rendered_line.strip()!r}; fix the line that renders to it"
        )
    return f"{path}:{line}: malformed YAML ({what}); fix that line"


def check_state_file(tree: Path, path: Path, env: jinja2.Environment | None = None) -> str | None:
    """The problem with one state file, or None when Salt could read it."""
    env = env or _environment(tree)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: cannot be read ({exc}); make it a readable UTF-8 file"
    renderers = _renderers(source)
    if not set(renderers) <= KNOWN_RENDERERS:
        return None  # another renderer (py, mako, gpg...): Salt's to judge
    name = path.relative_to(tree).as_posix()
    text = source
    if "jinja" in renderers:
        try:
            text = env.get_template(name).render(_context(name))
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or str(path)
            return f"{where}:{exc.lineno}: Jinja syntax error ({exc.message}); fix that line"
        except jinja2.TemplateNotFound as exc:
            return (
                f"{path}: imports {exc.name!r}, which is not in the tree {tree}; "
                "fix the name (a path from the tree's root, or ./ beside the file) or add the file"
            )
        except Exception:
            return None  # a stand-in's limit (a filter given a fake value), not the file's fault
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as exc:
        return _yaml_problem(path, source, text, exc)
    if data is not None and not isinstance(data, dict):
        return (
            f"{path}: is a {type(data).__name__}, not a mapping; "
            "a state file maps each state ID to its states (`my-id:` then `pkg.installed: ...`)"
        )
    return None


def check_tree(tree: Path) -> list[str]:
    """The problem of every state file of the tree that Salt could not read, each naming file and line."""
    env = _environment(tree)
    problems = [problem for path in state_files(tree) if (problem := check_state_file(tree, path, env))]
    return list(dict.fromkeys(problems))  # a broken map.jinja breaks every file that imports it: say so once


def preflight(tree: Path) -> list[str]:
    """Every problem of a scenario's Salt tree, each naming its file and line."""
    problems = check_tree(tree)
    pillar = tree / PILLAR
    if pillar.is_dir() and not (pillar / "top.sls").is_file():
        problems.append(f"{pillar}: has no top.sls; a pillar folder of a scenario's own starts there")
    elif pillar.is_dir():
        problems += pillar_top_problems(pillar / "top.sls")
    return problems


def pillar_top_problems(top: Path) -> list[str]:
    """orka merges a scenario's pillar top.sls with its own: it must be plain YAML, environment -> target -> sls."""
    shape = "plain YAML (no Jinja) mapping each environment to targets, each target to a list of pillar sls"
    try:
        data = yaml.safe_load(top.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [f"{top}:{mark.line + 1 if mark else 1}: not {shape}"]
    ok = isinstance(data, dict) and all(
        isinstance(targets, dict) and all(isinstance(entries, list) for entries in targets.values())
        for targets in data.values()
    )
    return [] if ok or data is None else [f"{top}: is not {shape}, e.g. base: {{'*': [common]}}"]


def orchestration_in(tree: Path) -> str | None:
    """A Salt tree's orchestration when it has one orch/*.sls (orch.NAME for `salt-run state.orchestrate`)."""
    found = sorted((tree / "orch").glob("*.sls"))
    return f"orch.{found[0].stem}" if len(found) == 1 else None
