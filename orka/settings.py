"""User settings: read settings/user_settings.yaml, apply overrides, validate.

This is a leaf module (it imports nothing from orka but orka.errors) so that
every other part of orka, and the Vagrantfile's spec writer, can rely on it.
Validation is pure: it reads the settings file and looks at the filesystem,
but never creates files, folders, containers or anything else.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from orka.errors import SettingsError
from orka.fleet import Fleet, check_fleet

#: The folder that holds the orka/ package; relative paths in settings resolve here.
REPO_ROOT: Final[Path] = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS_PATH: Final[Path] = REPO_ROOT / "settings" / "user_settings.yaml"

PROVIDERS: Final = ("auto", "docker", "virtualbox", "libvirt", "static")
METHODS: Final = ("salt", "ansible", "custom")
MIN_CLUSTER: Final = 3
MAX_CLUSTER: Final = 100
MIN_MEMORY_MB: Final = 256
# What `vagrant box add` takes as a box name: NAME, or ORG/NAME as on Vagrant Cloud.
BOX_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
# Each cluster takes one /24 inside the subnet, so the subnet must hold at least one.
MIN_PREFIX, MAX_PREFIX = 8, 24

# Every known key, dotted as in the YAML, with its built-in default. This one
# table is the schema: a file may leave out any key, and an override may set any.
_DEFAULTS: Final[Mapping[str, object]] = {
    "cluster": 3,
    "provider": "auto",
    "methods": ("salt", "ansible", "custom"),
    "box": "centos/stream9",
    "docker.image_recipe": "vagrant/image",
    "salt.tree": "spikes/salt",
    "ansible.config": "spikes/ansible",
    "node.cpus": 1,
    "node.memory": 1024,
    "network.subnet": "10.87.0.0/16",
    "timeouts.up": 600,
    "timeouts.ready": 120,
    "timeouts.command": 300,
    # provider static: existing hosts instead of machines orka creates (see orka.fleet).
    "static.hosts": (),
    "static.user": "",
    "static.key": "",
    "static.known_hosts": "~/.ssh/known_hosts",
}
_SECTIONS: Final = tuple(dict.fromkeys(k.split(".")[0] for k in _DEFAULTS if "." in k))
_TOP_KEYS: Final = tuple(dict.fromkeys(k.split(".")[0] for k in _DEFAULTS))

# Bad values can be huge (a pasted file, a long list); keep messages readable.
_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def _show(value: object) -> str:
    return _repr.repr(value)


@dataclass(frozen=True)
class NodeResources:
    """What each cluster node gets from the provider."""

    cpus: int
    memory_mb: int


@dataclass(frozen=True)
class Timeouts:
    """How long, in seconds, to wait for each stage before giving up."""

    up_s: int
    ready_s: int
    command_s: int


@dataclass(frozen=True)
class Settings:
    """Validated settings; build them with load_settings() or default_settings().

    Attributes:
        source: Path of the file read, or "<defaults>".
        cluster: Number of nodes (orka-node-1..N).
        provider: One of PROVIDERS.
        methods: Non-empty subset of METHODS, in the user's order, no duplicates.
        box: Vagrant box for the VM providers.
        image_recipe: Absolute path of the docker node image recipe folder.
        salt_tree: Absolute path of the Salt file tree the master serves (has top.sls).
        ansible_config: Absolute path of the Ansible folder (playbook.yml, orchestrate.yml, ansible.cfg).
        node: CPUs and memory of each node.
        subnet: IPv4 network in CIDR form; each cluster takes one /24 of it.
        timeouts: Time limits of the stages.
        fleet: With provider static, the existing hosts (then `cluster` is their number of nodes).
    """

    source: str
    cluster: int
    provider: str
    methods: tuple[str, ...]
    box: str
    image_recipe: Path
    salt_tree: Path
    ansible_config: Path
    node: NodeResources
    subnet: str
    timeouts: Timeouts
    fleet: Fleet | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (paths as str) for the Vagrantfile's spec."""
        return {
            "source": self.source,
            "cluster": self.cluster,
            "provider": self.provider,
            "methods": list(self.methods),
            "box": self.box,
            "image_recipe": str(self.image_recipe),
            "salt_tree": str(self.salt_tree),
            "ansible_config": str(self.ansible_config),
            "node": {"cpus": self.node.cpus, "memory_mb": self.node.memory_mb},
            "subnet": self.subnet,
            "timeouts": {
                "up_s": self.timeouts.up_s,
                "ready_s": self.timeouts.ready_s,
                "command_s": self.timeouts.command_s,
            },
            **({"static": self.fleet.to_dict()} if self.fleet else {}),
        }


def resolve_settings_path(cli_path: str | None, environ: Mapping[str, str]) -> Path:
    """Pick the settings file: --settings PATH, else ORKA_SETTINGS, else the default.

    Empty values count as not given: `ORKA_SETTINGS=` must not mean the current folder.
    """
    if cli_path:
        return Path(cli_path).expanduser()
    if environ.get("ORKA_SETTINGS"):
        return Path(environ["ORKA_SETTINGS"]).expanduser()
    return DEFAULT_SETTINGS_PATH


def default_settings() -> Settings:
    """Return the built-in defaults, validated, with source "<defaults>"."""
    return _build(dict(_DEFAULTS), frozenset(), "<defaults>")


def load_settings(path: Path | None = None, overrides: Mapping[str, object] | None = None) -> Settings:
    """Read a settings file, apply overrides, validate and return the Settings.

    Args:
        path: The YAML file; None means DEFAULT_SETTINGS_PATH.
        overrides: Dotted keys as in the YAML, e.g. {"cluster": 5, "timeouts.up": 120}.
            None values are ignored, so CLI options that were not given can be
            passed straight through.

    Raises:
        SettingsError: listing every problem found, not only the first.
    """
    path = DEFAULT_SETTINGS_PATH if path is None else path
    source = str(path)
    raw = _read_yaml(path)
    problems: list[str] = []
    values = dict(_DEFAULTS)
    from_file = _flatten(raw, problems)
    values.update(from_file)

    overridden: set[str] = set()
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key in _DEFAULTS:
            values[key] = value
            overridden.add(key)
        else:
            problems.append(_unknown_key(f"{key} (override)", key, _DEFAULTS))

    return _build(values, frozenset(overridden), source, problems, given=frozenset(from_file) | overridden)


def _read_yaml(path: Path) -> Mapping[object, object]:
    """Return the file's top-level mapping; raise at once if there is none to check."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = (
            f"settings file {path} does not exist; create it (copy "
            f"{DEFAULT_SETTINGS_PATH}) or pass --settings PATH / set ORKA_SETTINGS"
        )
        raise SettingsError(str(path), [problem]) from None
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"settings file {path} cannot be read: {exc}"
        raise SettingsError(str(path), [problem]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        what = exc.problem or exc.context or "syntax error"
        problem = (
            f"{path}{where}: malformed YAML ({what}); "
            "allowed: YAML 'key: value' lines as in settings/user_settings.yaml"
        )
        raise SettingsError(str(path), [problem]) from None
    except yaml.YAMLError as exc:
        raise SettingsError(str(path), [f"{path}: malformed YAML ({exc})"]) from None
    if data is None:  # an empty (or all-comment) file means all defaults
        return {}
    if not isinstance(data, Mapping):
        problem = (
            f"<top level>: {_show(data)} is a {type(data).__name__}; "
            "allowed: a mapping of keys such as 'cluster: 3' "
            f"(known keys: {', '.join(_TOP_KEYS)})"
        )
        raise SettingsError(str(path), [problem])
    return data


def _flatten(raw: Mapping[object, object], problems: list[str]) -> dict[str, object]:
    """Turn the nested YAML mapping into dotted keys, reporting unknown keys."""
    values: dict[str, object] = {}
    for key, value in raw.items():
        name = str(key)
        if name in _SECTIONS:
            children = {k: v for k, v in _DEFAULTS.items() if k.startswith(name + ".")}
            if value is None:  # a section whose keys are all commented out
                continue
            if not isinstance(value, Mapping):
                problems.append(
                    f"{name}: {_show(value)} is not a mapping; allowed: a mapping with keys {', '.join(children)}"
                )
                continue
            for sub, sub_value in value.items():
                dotted = f"{name}.{sub}"
                if dotted in children:
                    values[dotted] = sub_value
                else:
                    problems.append(_unknown_key(dotted, dotted, children))
        elif name in _DEFAULTS:
            values[name] = value
        else:
            problems.append(_unknown_key(name, name, _TOP_KEYS))
    return values


def _unknown_key(label: str, key: str, allowed: Mapping[str, object] | tuple[str, ...]) -> str:
    hint = _suggest(key)
    did_you_mean = f" (did you mean {hint!r}?)" if hint else ""
    return f"{label}: unknown key{did_you_mean}; allowed: {', '.join(allowed)}"


def _suggest(key: str) -> str | None:
    """Closest known key to a typo (clustr, node.cpu) or a misplaced key (memory)."""
    names = [*_DEFAULTS, *_SECTIONS]
    match = difflib.get_close_matches(key, names, n=1)
    if match:
        return match[0]
    by_last_part = {k.rsplit(".", 1)[-1]: k for k in _DEFAULTS}
    match = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(by_last_part), n=1)
    return by_last_part[match[0]] if match else None


def _build(
    values: Mapping[str, object],
    overridden: frozenset[str],
    source: str,
    problems: list[str] | None = None,
    given: frozenset[str] = frozenset(),
) -> Settings:
    """Check every value, then either raise with all problems or return Settings.

    The checkers return a placeholder for a bad value; it is never used because
    any problem makes this function raise before Settings is returned.
    """
    problems = [] if problems is None else problems

    def label(key: str) -> str:
        # Say where a bad value came from when it was not the file.
        return f"{key} (override)" if key in overridden else key

    def integer(key: str, low: int, high: int | None = None, unit: str = "") -> int:
        value = values[key]
        allowed = f"an integer from {low} to {high}" if high is not None else f"an integer of at least {low}{unit}"
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{label(key)}: {_show(value)} is not an integer; allowed: {allowed}")
            return low
        if value < low:
            problems.append(f"{label(key)}: {value} is too small; allowed: {allowed}")
        elif high is not None and value > high:
            problems.append(f"{label(key)}: {value} is too large; allowed: {allowed}")
        return value

    cluster = integer("cluster", MIN_CLUSTER, MAX_CLUSTER)

    provider = values["provider"]
    if not isinstance(provider, str) or provider not in PROVIDERS:
        problems.append(f"{label('provider')}: {_show(provider)} is not known; allowed: {', '.join(PROVIDERS)}")
        provider = "auto"

    methods = _check_methods(label("methods"), values["methods"], problems)

    fleet = None
    if provider == "static":
        fleet = check_fleet(values, methods, label, _resolve_path, _show, problems, (MIN_CLUSTER, MAX_CLUSTER))
        if fleet is not None:
            if "cluster" in given and cluster != len(fleet.nodes):
                problems.append(
                    f"{label('cluster')}: {_show(values['cluster'])}, but static.hosts lists {len(fleet.nodes)} "
                    f"nodes; allowed: leave cluster out with provider static (the fleet's nodes are the cluster), "
                    f"or make it {len(fleet.nodes)}"
                )
            cluster = len(fleet.nodes)

    box = values["box"]
    if not isinstance(box, str) or not box.strip():
        problems.append(
            f"{label('box')}: {_show(box)} is not a non-empty string; "
            f"allowed: a Vagrant box name such as {_DEFAULTS['box']!r}"
        )
        box = ""
    elif not BOX_NAME.fullmatch(box):
        problems.append(
            f"{label('box')}: {_show(box)} is not a Vagrant box name; allowed: NAME or ORG/NAME "
            f"(letters, digits, '.', '_', '-') such as {_DEFAULTS['box']!r}"
        )

    image_recipe = _check_folder(label("docker.image_recipe"), values["docker.image_recipe"], "build.sh", problems)
    salt_tree = _check_folder(label("salt.tree"), values["salt.tree"], "top.sls", problems)
    ansible_config = _check_folder(label("ansible.config"), values["ansible.config"], "playbook.yml", problems)
    cpus = integer("node.cpus", 1)
    memory = integer("node.memory", MIN_MEMORY_MB, unit=" (MiB)")
    subnet = _check_subnet(label("network.subnet"), values["network.subnet"], problems)
    up = integer("timeouts.up", 1, unit=" (seconds)")
    ready = integer("timeouts.ready", 1, unit=" (seconds)")
    command = integer("timeouts.command", 1, unit=" (seconds)")

    if problems:
        raise SettingsError(source, problems)
    return Settings(
        source=source,
        cluster=cluster,
        provider=provider,
        methods=methods,
        box=box,
        image_recipe=image_recipe,
        salt_tree=salt_tree,
        ansible_config=ansible_config,
        node=NodeResources(cpus=cpus, memory_mb=memory),
        subnet=subnet,
        timeouts=Timeouts(up_s=up, ready_s=ready, command_s=command),
        fleet=fleet,
    )


def _resolve_path(value: str) -> Path:
    """A path from the settings: ~ expanded, a relative path taken from the repository root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _check_methods(key: str, value: object, problems: list[str]) -> tuple[str, ...]:
    allowed = f"a non-empty list of {', '.join(METHODS)}, each at most once"
    # A tuple is fine too: overrides come from Python, not only from YAML.
    if not isinstance(value, (list, tuple)):
        problems.append(f"{key}: {_show(value)} is not a list; allowed: {allowed}")
        return ()
    if not value:
        problems.append(f"{key}: {_show(value)} is empty; allowed: {allowed}")
    seen: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in METHODS:
            problems.append(f"{key}: {_show(item)} is not known; allowed: {allowed}")
        elif item in seen:
            problems.append(f"{key}: {item!r} is listed twice; allowed: {allowed}")
        else:
            seen.append(item)
    return tuple(seen)


def _check_folder(key: str, value: object, required_file: str, problems: list[str]) -> Path:
    allowed = f"a folder that contains {required_file} (relative paths are resolved against {REPO_ROOT})"
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        problems.append(f"{key}: {_show(value)} is not a path; allowed: {allowed}")
        return REPO_ROOT
    path = Path(value).expanduser()
    path = path if path.is_absolute() else REPO_ROOT / path
    # Only look, never create: validation must leave the filesystem as it was.
    where = f"{key}: {_show(str(value))} resolves to {path}"
    if not path.is_dir():
        problems.append(f"{where}, which is not a folder; allowed: {allowed}")
    elif not (path / required_file).is_file():
        problems.append(f"{where}, which has no {required_file}; allowed: {allowed}")
    return path


def _check_subnet(key: str, value: object, problems: list[str]) -> str:
    allowed = (
        "an IPv4 network in CIDR form with a prefix "
        f"from /{MIN_PREFIX} to /{MAX_PREFIX}, "
        f"e.g. {_DEFAULTS['network.subnet']!r}"
    )
    # ip_network() also accepts ints and bytes; only the CIDR text form is meant here.
    if not isinstance(value, str):
        problems.append(f"{key}: {_show(value)} is not a string; allowed: {allowed}")
        return ""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        problems.append(f"{key}: {value!r} is not a network ({exc}); allowed: {allowed}")
        return value
    if network.version != 4:
        problems.append(f"{key}: {value!r} is IPv6; allowed: {allowed}")
    elif not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        problems.append(f"{key}: {value!r} has prefix /{network.prefixlen}; allowed: {allowed}")
    return str(network)
