"""A scenario: the unit a team brings, one desired state written for any subset of the methods, and its checks.

    <scenario>/
      scenario.yaml   optional: name, description, what the desired state leaves
                      (for the freshness probe, the idempotence check, an existing host's reset),
                      each method's orchestration entry point, variables, what may differ between
                      the methods' nodes (equivalence.ignore), the hand edits of the drift
                      phase (drift:, orka.config.drift), the secrets (secrets:, below)
      salt/           a Salt tree (top.sls), optional orch/*.sls and pillar/ (its own top.sls)
      ansible/        playbook.yml, optional orchestrate.yml, roles/, group_vars/, host_vars/, ansible.cfg
      custom/         orka task files: desired_state.yml, optional orchestrate.yml
      pyinfra/        deploy.py, optional orchestrate.py (and config.py, group_data/)
      verify/         test_*.py: plain testinfra checks taking `host` (and `method`, `node`, `role`, `cluster`)

`secrets:` names what orka keeps out of every report (orka.secrets), each
where its tool holds it; each method asks its tool for the values once its
cluster is up:

    secrets:
      vars: [api_token]          # the scenario's own vars (every method gets them)
      salt: [app:db_password]    # pillar keys, as `salt '*' pillar.get` names them
      ansible: [db_password]     # variables (group_vars, host_vars, a vault); every
                                 # ansible-vault value is a secret without a name here
      custom: [api_token]        # the runner's variables (a task file's `secrets:` too)
      pyinfra: [api_token]       # host data (group_data/*.py, the scenario's vars)

A method is the scenario's when its folder is there; which file the folder
must hold, and where its orchestration is found when scenario.yaml names
none, is the method's (its descriptor). Loading only reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orka import methods
from orka.config import REPO_ROOT
from orka.config.desired_state import Leaves
from orka.config.drift import Drift, DriftModel, drift_of

SCENARIO_FILE = "scenario.yaml"
CHECKS = "verify"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")


class _Leaves(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    paths: list[str] = []
    units: list[str] = []
    users: list[str] = []
    groups: list[str] = []
    packages: list[str] = []


class _Equivalence(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ignore: list[str] = []  # fnmatch patterns on "kind name" of what may differ between the methods
    naming_method: list[str] = []  # files that name the method that wrote them: compared with its name masked


class _File(BaseModel):
    """scenario.yaml; every key optional."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = None
    description: str = ""
    leaves: _Leaves = Field(default_factory=_Leaves)
    orchestrate: dict[str, str] = {}
    vars: dict[str, Any] = {}
    junit_package: str | None = None
    equivalence: _Equivalence = Field(default_factory=_Equivalence)
    drift: DriftModel | None = None
    secrets: dict[str, list[str]] = {}


SCENARIO_VARS = "vars"  # secrets: the scenario's own vars, every method's


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    description: str = ""
    leaves: Leaves = field(default_factory=Leaves)
    methods: tuple[str, ...] = ()  # the methods it is written for (their folders are there)
    orchestration: tuple[tuple[str, str], ...] = ()  # (method, entry point) of each method that has one
    variables: tuple[tuple[str, Any], ...] = ()
    checks: Path | None = None  # verify/, when there are checks
    junit_package: str = ""  # the package of its JUnit classnames, <package>.<method> (Bamboo tracks tests by them)
    # What may differ between the methods' nodes ("kind name" patterns, such as "file /etc/app/generated-by").
    equivalence_ignore: tuple[str, ...] = ()
    naming_method: tuple[str, ...] = ()  # files whose content names the method: compared with the name masked
    drift: Drift = field(default_factory=Drift)  # the hand edits of its drift phase (none: the phase is not defined)
    secrets: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ("vars" or a method, the names of its secrets)

    def folder(self, method: str) -> Path:
        return self.path / method

    def orchestration_of(self, method: str) -> str | None:
        return dict(self.orchestration).get(method)

    @property
    def vars(self) -> dict[str, Any]:
        return dict(self.variables)

    def secret_names(self, holder: str) -> tuple[str, ...]:
        """The secrets declared as held by a method (its tool's names for them), or by the scenario's vars."""
        return dict(self.secrets).get(holder, ())

    def secret_vars(self) -> dict[str, Any]:
        """The scenario's vars declared secret, with their values."""
        return {name: self.vars[name] for name in self.secret_names(SCENARIO_VARS)}

    def check_files(self) -> list[Path]:
        return sorted(self.checks.glob("test_*.py")) if self.checks else []


def resolve(value: str | Path) -> Path:
    """A scenario's path from settings or the command line: relative to the repository, or absolute."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def load_scenario(path: Path) -> tuple[Scenario | None, list[str]]:
    """The scenario in a folder, or None and every problem of it (each naming its file and the fix)."""
    shown = str(path)
    if not path.is_dir():
        return None, [f"{shown}: no such folder; give a scenario folder (one with a salt/, ansible/ or custom/ folder)"]
    problems: list[str] = []
    data: dict[str, Any] = {}
    declared = path / SCENARIO_FILE
    if declared.exists():
        data, problem = _read(declared)
        problems += [problem] if problem else []
    allowed_keys = ", ".join(_File.model_fields)
    try:
        model = _File.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            what = f"unknown key; allowed: {allowed_keys}" if error["type"] == "extra_forbidden" else error["msg"]
            problems.append(f"{declared}: {_where(error['loc'])}: {what}")
        try:  # the keys that are right are still checked against the folder
            model = _File.model_validate({k: v for k, v in data.items() if k in _File.model_fields})
        except ValidationError:
            model = _File()
    known = {d.name: d for d in methods.descriptors()}
    written = tuple(name for name in known if (path / name).is_dir())
    if not written:
        allowed = ", ".join(f"{d.name}/ (with {d.entry})" for d in known.values() if d.entry)
        problems.append(f"{shown}: holds no method folder; allowed: {allowed}")
    for name in written:
        start = known[name].entry
        if start and not (path / name / start).is_file():
            problems.append(f"{path / name}: has no {start}; a {name} folder's desired state starts there")
    for method in model.orchestrate:
        if method not in known:
            problems.append(f"{declared}: orchestrate.{method}: unknown method; allowed: {', '.join(known)}")
        elif method not in written:
            problems.append(f"{declared}: orchestrate.{method}: the scenario has no {method}/ folder")
    for holder, names in model.secrets.items():
        if holder != SCENARIO_VARS and holder not in known:
            problems.append(
                f"{declared}: secrets.{holder}: unknown; allowed: {SCENARIO_VARS}, {', '.join(known)} "
                "(where each secret is held: the scenario's vars, or a method's tool)"
            )
        elif holder != SCENARIO_VARS and holder not in written:
            problems.append(f"{declared}: secrets.{holder}: the scenario has no {holder}/ folder")
        elif holder == SCENARIO_VARS:
            missing = [n for n in names if n not in model.vars]
            if missing:
                problems.append(
                    f"{declared}: secrets.vars: {', '.join(missing)} not in `vars:`; name the scenario's own vars "
                    "(a secret a tool holds goes under that method's name)"
                )
    name = model.name or path.name
    if not NAME.match(name):
        problems.append(
            f"{declared if model.name else shown}: name {name!r}: use lower-case letters, digits, '-' and '_' "
            "(it names tests and records); set `name:` in scenario.yaml"
        )
    package = model.junit_package or f"spikes.{name}"
    if not PACKAGE.match(package):
        problems.append(f"{declared}: junit_package {package!r}: give dotted names, such as 'spikes.{name}'")
    if problems:
        return None, problems
    orchestration = []
    for method in written:
        entry: str | None = model.orchestrate.get(method)
        finder = known[method].orchestration
        if entry is None and finder:
            entry = methods.imported(finder)(path / method)
        if entry:
            orchestration.append((method, entry))
    checks = path / CHECKS
    return Scenario(
        name=name,
        path=path.resolve(),
        description=model.description,
        leaves=Leaves(**{kind: tuple(items) for kind, items in model.leaves.model_dump().items()}),
        methods=written,
        orchestration=tuple(orchestration),
        variables=tuple(sorted(model.vars.items())),
        checks=checks.resolve() if checks.is_dir() else None,
        junit_package=package,
        equivalence_ignore=tuple(model.equivalence.ignore),
        naming_method=tuple(model.equivalence.naming_method),
        drift=drift_of(model.drift),
        secrets=tuple((holder, tuple(dict.fromkeys(names))) for holder, names in sorted(model.secrets.items())),
    ), []


def _read(path: Path) -> tuple[dict[str, Any], str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"{path}: cannot be read ({exc})"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        return {}, f"{where}: malformed YAML ({getattr(exc, 'problem', None) or exc}); fix that line"
    if data is None:
        return {}, ""
    if not isinstance(data, Mapping):
        allowed = "a mapping of name, description, leaves, orchestrate, vars"
        return {}, f"{path}: is a {type(data).__name__}; allowed: {allowed}"
    return dict(data), ""


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "<top level>"
