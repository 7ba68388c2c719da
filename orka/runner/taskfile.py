"""The runner's task files: validated before anything runs.

    secrets: [api_token]         # vars whose values never show in any output (orka.secrets)
    family:                      # values that differ by OS family ($nologin ...)
      Debian: {nologin: /usr/sbin/nologin}
      RedHat: {nologin: /sbin/nologin}
    tasks:                       # applied on every selected host, in order
      - name: tree package
        package: {name: tree}
    steps:                       # or: ordered steps, each on its own hosts;
      - name: publish            #     all of a step before any of the next
        hosts: [primary]
        tasks: [...]

Strings may use $var / ${var}: the host's vars, `hostname`, `os_family` and
the family values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orka.errors import OrkaError

# Each action with its required and optional arguments.
ACTIONS: dict[str, tuple[set[str], set[str]]] = {
    "ping": (set(), set()),
    "command": ({"run"}, {"creates", "changes"}),
    "package": ({"name"}, set()),
    "group": ({"name"}, {"system"}),
    "user": ({"name"}, {"system", "home", "shell", "group"}),
    "directory": ({"path"}, {"owner", "group", "mode"}),
    "file": ({"path", "content"}, {"owner", "group", "mode"}),
    "fetch": ({"url", "path"}, {"owner", "group", "mode", "timeout"}),
    "service": ({"name"}, {"enabled", "running", "restart_on"}),
    "salt": (set(), {"target", "function", "timeout"}),
}


class TaskFileError(OrkaError):
    """A task file that does not parse or names an unknown action or argument."""


@dataclass(frozen=True)
class Task:
    name: str
    action: str
    args: dict[str, Any]

    def to_job(self) -> dict[str, Any]:
        return {"name": self.name, "action": self.action, "args": self.args}


@dataclass(frozen=True)
class Step:
    name: str
    hosts: tuple[str, ...]
    tasks: tuple[Task, ...]


@dataclass(frozen=True)
class TaskFile:
    source: str
    steps: tuple[Step, ...]
    family: dict[str, dict[str, Any]]
    secrets: tuple[str, ...] = ()  # the vars it marks secret


def _task(raw: object, where: str) -> Task:
    if not isinstance(raw, dict):
        raise TaskFileError(f"{where}: a task is a mapping with a name and one action")
    actions = [key for key in raw if key in ACTIONS]
    others = set(raw) - set(ACTIONS) - {"name"}
    if len(actions) != 1 or others:
        raise TaskFileError(
            f"{where}: a task needs exactly one action of {', '.join(ACTIONS)}"
            + (f"; unknown key(s): {', '.join(sorted(map(str, others)))}" if others else "")
        )
    action = actions[0]
    args = raw[action] or {}
    if not isinstance(args, dict):
        raise TaskFileError(f"{where}: {action}: arguments must be a mapping")
    required, optional = ACTIONS[action]
    missing, unknown = required - set(args), set(args) - required - optional
    if missing or unknown:
        raise TaskFileError(
            f"{where}: {action}: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(sorted(missing))}" if missing else "",
                    f"unknown {', '.join(sorted(unknown))}" if unknown else "",
                )
                if part
            )
            + f"; allowed: {', '.join(sorted(required | optional)) or 'none'}"
        )
    mode = args.get("mode")
    if mode is not None and not (isinstance(mode, str) and mode.isdigit() and set(mode) <= set("01234567")):
        raise TaskFileError(f"{where}: {action}: mode {mode!r} must be quoted octal, e.g. mode: '0644'")
    restart_on = args.get("restart_on", [])
    if not isinstance(restart_on, list) or not all(isinstance(n, str) for n in restart_on):
        raise TaskFileError(f"{where}: {action}: restart_on is a list of task names")
    label = args.get("path") or args.get("name") or args.get("url") or args.get("run") or ""
    name = str(raw.get("name") or f"{action} {label}".strip())
    return Task(name, action, dict(args))


def _tasks(raw: object, where: str) -> tuple[Task, ...]:
    if not isinstance(raw, list) or not raw:
        raise TaskFileError(f"{where}: `tasks` must be a non-empty list")
    tasks = tuple(_task(item, f"{where}, task {i + 1}") for i, item in enumerate(raw))
    names = {task.name for task in tasks}
    for i, task in enumerate(tasks):
        unknown = [n for n in task.args.get("restart_on", []) if n not in names]
        if unknown:
            raise TaskFileError(f"{where}, task {i + 1}: restart_on names no task of this step: {', '.join(unknown)}")
    return tasks


def parse_taskfile(text: str, source: str = "<tasks>") -> TaskFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        what = getattr(exc, "problem", None) or "syntax error"
        raise TaskFileError(
            f"{source}{f', line {line + 1}' if line is not None else ''}: malformed YAML ({what}); "
            "fix that line (a task file is YAML: `tasks:` or `steps:`, as in spikes/example/custom/desired_state.yml)"
        ) from None
    if not isinstance(data, dict) or ("tasks" in data) == ("steps" in data):
        raise TaskFileError(f"{source}: needs either `tasks:` (one step on every host) or `steps:`")
    unknown_keys = set(data) - {"family", "tasks", "steps", "secrets"}
    if unknown_keys:
        raise TaskFileError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown_keys)))}; "
                            "allowed: family, tasks, steps, secrets")  # fmt: skip
    secrets = data.get("secrets") or []
    if not isinstance(secrets, list) or not all(isinstance(n, str) and n for n in secrets):
        raise TaskFileError(f"{source}: `secrets` is a list of the names of vars whose values are secret")
    family = data.get("family") or {}
    if not isinstance(family, dict) or not all(isinstance(v, dict) for v in family.values()):
        raise TaskFileError(f"{source}: `family` maps an OS family (Debian, RedHat) to its values")
    if "tasks" in data:
        steps: tuple[Step, ...] = (Step("apply", ("all",), _tasks(data["tasks"], source)),)
    else:
        if not isinstance(data["steps"], list) or not data["steps"]:
            raise TaskFileError(f"{source}: `steps` must be a non-empty list")
        parsed = []
        for i, raw in enumerate(data["steps"]):
            where = f"{source}, step {i + 1}"
            if not isinstance(raw, dict) or not raw.get("hosts") or set(raw) - {"name", "hosts", "tasks"}:
                raise TaskFileError(f"{where}: a step has `hosts` (names or groups), `tasks` and an optional `name`")
            hosts = raw["hosts"] if isinstance(raw["hosts"], list) else [raw["hosts"]]
            parsed.append(
                Step(str(raw.get("name") or f"step {i + 1}"), tuple(map(str, hosts)), _tasks(raw.get("tasks"), where))
            )
        steps = tuple(parsed)
    return TaskFile(source, steps, family, tuple(secrets))


def load_taskfile(path: Path) -> TaskFile:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise TaskFileError(f"task file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise TaskFileError(
            f"cannot read task file {path}: {exc.strerror}; give the path of a YAML file with `tasks:` or `steps:`"
        ) from None
    return parse_taskfile(text, str(path))
