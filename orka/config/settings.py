"""User settings: read settings/user_settings.yaml, apply overrides, validate.

This is a leaf module (it imports nothing from orka but orka.errors, the fleet and the method registry)
so that every other part of orka, and the Vagrantfile's spec writer, can rely on it.
The schema is the pydantic models below, strict ('3' is not an integer); their
errors become orka's one-line problems: key, bad value, what is allowed.
Validation is pure: it reads the settings file and looks at the filesystem,
but never creates files, folders, containers or anything else.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import reprlib
from collections.abc import Mapping, Sequence, Set
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, create_model
from pydantic import ValidatorFunctionWrapHandler as Handler
from pydantic.fields import FieldInfo
from pydantic.functional_validators import AfterValidator, field_validator, model_validator
from pydantic_core import ErrorDetails

from orka import methods
from orka.config import REPO_ROOT
from orka.config.fleet import Fleet, Static, again, bad, fleet_of, fleet_problems, orka, problem
from orka.config.platforms import BY_NAME as PLATFORMS_BY_NAME
from orka.config.platforms import DEFAULT_PLATFORM, Platform, docker_problem, unknown_platform
from orka.config.scenario import Scenario, load_scenario, resolve
from orka.errors import SettingsError

DEFAULT_SETTINGS_PATH: Final[Path] = REPO_ROOT / "settings" / "user_settings.yaml"

Provider = Literal["auto", "docker", "virtualbox", "libvirt", "static"]
PROVIDERS: Final[tuple[Provider, ...]] = get_args(Provider)
METHODS: Final[tuple[str, ...]] = methods.names()
Method = Literal[METHODS]  # type: ignore[valid-type]  # the methods found, known at import
MIN_CLUSTER: Final = 3
MAX_CLUSTER: Final = 100  # nodes orka makes on this machine
MAX_FLEET: Final = 1000  # nodes of an existing fleet (provider static): the hosts are not this machine's
MIN_MEMORY_MB: Final = 256
DEFAULT_BOX: Final = "centos/stream9"  # an example of a box name, in messages
DEFAULT_SCENARIO: Final = "spikes/example"
_PLATFORMS: Final = f"a non-empty list of platforms, each at most once: {', '.join(PLATFORMS_BY_NAME)}"
_SCENARIOS: Final = "a non-empty list of scenario folders (relative to the repository, or absolute), each at most once"
# What `vagrant box add` takes as a box name: NAME, or ORG/NAME as on Vagrant Cloud.
BOX_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
# Each cluster takes one /24 inside the subnet, so the subnet must hold at least one.
MIN_PREFIX, MAX_PREFIX = 8, 24

# Bad values can be huge (a pasted file, a long list); keep messages readable.
_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def _show(value: object) -> str:
    return _repr.repr(str(value) if isinstance(value, Path) else value)


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
        platforms: The node OS releases to spike on, in the user's order (orka.config.platforms).
        box: The Vagrant box for the VM providers instead of the platform's own, or None.
        image_recipe: Absolute path of the docker node image recipe folder.
        scenarios: The scenarios to spike, each loaded and checked (orka.config.scenario).
        node: CPUs and memory of each node.
        subnet: IPv4 network in CIDR form; each cluster takes one /24 of it.
        timeouts: Time limits of the stages.
        fleet: With provider static, the existing hosts (then `cluster` is their number of nodes).
    """

    source: str
    cluster: int
    provider: str
    methods: tuple[str, ...]
    platforms: tuple[Platform, ...]
    box: str | None
    image_recipe: Path
    scenarios: tuple[Scenario, ...]
    node: NodeResources
    subnet: str
    timeouts: Timeouts
    fleet: Fleet | None = None

    def scenario(self, name: str) -> Scenario:
        return next(s for s in self.scenarios if s.name == name)

    @property
    def platform(self) -> Platform:
        """The platform of a cluster's settings (narrowed to one, as to one scenario): the first."""
        return self.platforms[0]

    @property
    def vm_box(self) -> str:
        """The box the VM providers boot: the settings' own, else the platform's."""
        return self.box or self.platform.box

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (paths as str), as the records keep the settings a run used."""
        skipped = ("fleet", "scenarios", "platforms")
        plain = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items() if k not in skipped}
        scenarios = [str(s.path) for s in self.scenarios]
        platforms = [p.name for p in self.platforms]
        static = {"static": self.fleet.to_dict()} if self.fleet else {}
        return {**plain, "methods": list(self.methods), "platforms": platforms, "scenarios": scenarios, **static}


# -- the schema. Each Field's description is what is allowed there, for the messages. ---------


class _Folder:
    """A folder that must hold `marker`, resolved against REPO_ROOT: only looked at, never created."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.allowed = f"a folder that contains {marker} (relative paths are resolved against {REPO_ROOT})"

    def __call__(self, value: Path) -> Path:
        path = REPO_ROOT / value.expanduser()  # as is if absolute
        if not path.is_dir() or not (path / self.marker).is_file():
            raise bad(f"resolves to {path}, which " + (f"has no {self.marker}" if path.is_dir() else "is not a folder"))
        return path


_ANY_OF_STATIC: dict[str, Any] = {key: (object, None) for key in Static.model_fields}
_RECIPE = _Folder("build.sh")
# With another provider than static, only the keys of the section are checked.
_StaticKeys: Any = create_model("static", __config__=ConfigDict(extra="forbid"), **_ANY_OF_STATIC)
_SUBNET: Final = f"an IPv4 network in CIDR form with a prefix from /{MIN_PREFIX} to /{MAX_PREFIX}, e.g. '10.87.0.0/16'"


def _box_name(value: str) -> str:
    if not BOX_NAME.fullmatch(value):
        allowed = f"NAME or ORG/NAME (letters, digits, '.', '_', '-') such as {DEFAULT_BOX!r}"
        raise orka(f"{_show(value)} is not a Vagrant box name; allowed: {allowed}")
    return value


def _subnet(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise bad(f"is not a network ({exc})") from None
    if network.version != 4:
        raise bad("is IPv6")
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        raise bad(f"has prefix /{network.prefixlen}")
    return str(network)


def _at_least(low: int, unit: str = "") -> Any:
    return Field(ge=low, description=f"an integer of at least {low}{unit}")


class _Section(BaseModel):
    """A mapping in the file: unknown keys are errors, values are taken as written (strict), and
    defaults are checked too (the folders they name must exist), a section left out as if written."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, revalidate_instances="always")


# A path is written as text: not strict.
class _Docker(_Section):
    image_recipe: Annotated[Path, AfterValidator(_RECIPE)] = Field(
        Path("vagrant/image"), strict=False, description=_RECIPE.allowed
    )


class _Node(_Section):
    cpus: Annotated[int, _at_least(1)] = 1
    memory: Annotated[int, _at_least(MIN_MEMORY_MB, " (MiB)")] = 1024


class _Network(_Section):
    subnet: Annotated[str, AfterValidator(_subnet)] = Field("10.87.0.0/16", description=_SUBNET)


class _Timeouts(_Section):
    up: Annotated[int, _at_least(1, " (seconds)")] = 600
    ready: Annotated[int, _at_least(1, " (seconds)")] = 120
    command: Annotated[int, _at_least(1, " (seconds)")] = 300


class _FileBase(_Section):
    """The settings file; each key is optional."""

    # Up to MAX_FLEET here; past MAX_CLUSTER only with provider static (_as_a_whole).
    cluster: int = Field(
        3,
        ge=MIN_CLUSTER,
        le=MAX_FLEET,
        description=f"an integer from {MIN_CLUSTER} to {MAX_CLUSTER} (to {MAX_FLEET} with provider static)",
    )
    provider: Provider = Field("auto", description=", ".join(PROVIDERS))
    # A tuple is fine too (strict=False): overrides come from Python, not only from YAML.
    methods: tuple[Method, ...] = Field(
        METHODS, strict=False, description=f"a non-empty list of {', '.join(METHODS)}, each at most once"
    )
    # Each name is checked with the others (_platform_problems): an unknown one with its near miss.
    platforms: tuple[str, ...] = Field((DEFAULT_PLATFORM,), strict=False, min_length=1, description=_PLATFORMS)
    # None (left out): each platform boots its own box.
    box: Annotated[str, Field(min_length=1), AfterValidator(_box_name)] | None = Field(
        None, description=f"a Vagrant box name such as {DEFAULT_BOX!r}"
    )
    scenarios: tuple[str, ...] = Field((DEFAULT_SCENARIO,), strict=False, min_length=1, description=_SCENARIOS)
    docker: _Docker = _Docker.model_construct()
    node: _Node = _Node.model_construct()
    network: _Network = _Network.model_construct()
    timeouts: _Timeouts = _Timeouts.model_construct()
    # provider static: existing hosts instead of machines orka creates (see orka.config.fleet).
    static: Static | None = None

    @field_validator("static", mode="wrap")
    @classmethod
    def _with_provider_static(cls, value: object, handler: Handler, info: ValidationInfo) -> Any:
        if info.data.get("provider") == "static":
            return handler({} if value is None else value)
        # A section written for one machine never blocks a run of another provider: only its keys are checked.
        _StaticKeys.model_validate({} if value is None else value)
        return None

    @model_validator(mode="wrap")
    @classmethod
    def _as_a_whole(cls, data: dict[str, Any], handler: Handler) -> _FileBase:
        """pydantic's checks of each value, then orka's of values together: every problem at once."""
        try:
            model, errors = cast(_FileBase, handler(data)), []
        except ValidationError as exc:
            # The hosts lean on static.user and static.key: a problem of those comes first.
            model, errors = None, sorted(map(again, exc.errors()), key=lambda e: e["loc"][:2] == ("static", "hosts"))
        # Here, not in pydantic, a method twice is named with an unknown one (min_length counts known ones only).
        methods = data.get("methods", METHODS)
        items: Sequence[Any] = methods if isinstance(methods, list | tuple) else [None]
        errors += [problem(("methods",), bad("is empty"), methods)] if not items else []
        twice = [m for i, m in enumerate(items) if m in METHODS and m in items[:i]]
        errors += [problem(("methods",), bad("is listed twice"), m) for m in twice]
        errors += _platform_problems(data, model)
        if data.get("provider") == "static":
            errors += fleet_problems(data.get("static"), items, (MIN_CLUSTER, MAX_FLEET))
        elif model is not None and model.cluster > MAX_CLUSTER:
            errors.append(problem(("cluster",), bad("is too large"), model.cluster))
        if model is not None and model.static is not None:
            fleet, named = fleet_of(model.static)
            errors += named
            if not errors and "cluster" in model.model_fields_set and model.cluster != (n := len(fleet.nodes)):
                allowed = f"leave cluster out with provider static (the fleet's nodes are the cluster), or make it {n}"
                message = f"{model.cluster}, but static.hosts lists {n} nodes; allowed: {allowed}"
                errors.append(problem(("cluster",), orka(message)))
        if errors or model is None:
            raise ValidationError.from_exception_data("settings", errors)
        return model


_File = _FileBase


def _platform_problems(data: dict[str, Any], model: _FileBase | None) -> list[Any]:
    """The platforms together: none twice, each one the provider can run, one box for one platform."""
    names = data.get("platforms", (DEFAULT_PLATFORM,))
    items: Sequence[Any] = names if isinstance(names, list | tuple) else []
    unknown = [n for n in items if isinstance(n, str) and n not in PLATFORMS_BY_NAME]  # others: pydantic says
    errors = [problem(("platforms",), orka(unknown_platform(n))) for n in unknown]
    errors += [problem(("platforms",), bad("is listed twice"), n) for i, n in enumerate(items) if n in items[:i]]
    if model is None or errors:
        return errors
    if model.provider == "docker":
        errors += [
            problem(("platforms",), orka(why)) for n in model.platforms if (why := docker_problem(PLATFORMS_BY_NAME[n]))
        ]
    if model.box is not None and len(model.platforms) > 1:
        why = (
            f"{model.box!r} for {len(model.platforms)} platforms, but a box is one OS release; "
            "allowed: leave box out (each platform boots its own), or one platform"
        )
        errors.append(problem(("box",), orka(why)))
    return errors


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The model a field holds: a section, Static, or for static.hosts each entry's Host."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := _model_of(arg))), None)


_ORDER: Final[dict[str | int, int]] = {name: i for i, name in enumerate(_File.model_fields)}
_SECTIONS: Final = {name: m for name, f in _File.model_fields.items() if (m := _model_of(f.annotation))}
# Every key an override may set, dotted as in the YAML (timeouts.up).
_KEYS: Final = [
    key
    for name in _File.model_fields
    for key in ([f"{name}.{sub}" for sub in _SECTIONS[name].model_fields] if name in _SECTIONS else [name])
]


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
    return _validate({}, "<defaults>")


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
    data, node = _read_yaml(path)
    unknown: list[str] = []
    overridden: set[str] = set()
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in _KEYS:
            unknown.append(f"{key} (override): {_unknown(_suggest(key), _KEYS)}")
            continue
        section, _, name = key.rpartition(".")
        target = data.setdefault(section, {}) if section else data
        if isinstance(target, dict):  # else the file's section is not a mapping, which is named
            target[name] = value
            overridden.add(key)
    return _validate(data, str(path), overridden, unknown, node)


def _read_yaml(path: Path) -> tuple[dict[Any, Any], Any]:
    """The file's top-level mapping and its YAML node (for line numbers); raise at once if there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        what = f"does not exist; create it (copy {DEFAULT_SETTINGS_PATH}) or pass --settings PATH / set ORKA_SETTINGS"
        raise SettingsError(str(path), [f"settings file {path} {what}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(str(path), [f"settings file {path} cannot be read: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        what = exc.problem or exc.context or "syntax error"
        allowed = "YAML 'key: value' lines as in settings/user_settings.yaml"
        raise SettingsError(str(path), [f"{path}{where}: malformed YAML ({what}); allowed: {allowed}"]) from None
    except yaml.YAMLError as exc:
        raise SettingsError(str(path), [f"{path}: malformed YAML ({exc})"]) from None
    if data is None:  # an empty (or all-comment) file means all defaults
        return {}, None
    if not isinstance(data, dict):
        allowed = f"a mapping of keys such as 'cluster: 3' (known keys: {', '.join(_File.model_fields)})"
        raise SettingsError(str(path), [f"<top level>: {_show(data)} is a {type(data).__name__}; allowed: {allowed}"])
    # The same again as YAML nodes, which know their lines. A section whose keys are all commented out is empty.
    return {k: v for k, v in data.items() if v is not None or k not in _SECTIONS}, yaml.compose(text, yaml.SafeLoader)


def _scenarios(paths: Sequence[str], node: Any) -> tuple[tuple[Scenario, ...], list[str], list[int | None]]:
    """Each scenario the settings name, loaded (it only reads); its problems, each with the line that names it."""
    found: list[Scenario] = []
    problems: list[str] = []
    lines: list[int | None] = []
    seen: dict[Path, str] = {}
    for index, value in enumerate(paths):
        path = resolve(value).resolve()
        trouble = []
        if path in seen:
            trouble = [f"scenarios: {value!r} is listed twice (as {seen[path]!r}); allowed: {_SCENARIOS}"]
        else:
            seen[path] = value
            scenario, found_problems = load_scenario(path)
            trouble = [f"scenarios: {p}" for p in found_problems]
            if scenario is not None and any(s.name == scenario.name for s in found):
                trouble.append(f"scenarios: two scenarios are named {scenario.name!r}; give one another `name:`")
            elif scenario is not None:
                found.append(scenario)
        problems += trouble
        lines += [_line(node, ("scenarios", index)) if node is not None else None] * len(trouble)
    return tuple(found), problems, lines


def _validate(
    data: dict[Any, Any], source: str, overridden: Set[str] = frozenset(), unknown: Sequence[str] = (), node: Any = None
) -> Settings:
    """Check data against the schema; raise with every problem (each with its line in the file), or build Settings."""
    problems, lines = list(unknown), cast(list[int | None], [None] * len(unknown))
    try:
        model = _File.model_validate(data)
    except ValidationError as exc:
        # An unknown key first (a typo may explain the rest), then key by key.
        for error in sorted(exc.errors(), key=lambda e: (e["type"] not in _UNKNOWN_KEY, _ORDER.get(e["loc"][0], 0))):
            label, message = _problem(error)
            overrode = label.split("[")[0] in overridden
            problems.append(f"{label} (override): {message}" if overrode else f"{label}: {message}")
            lines.append(None if overrode else _line(node, error["loc"]))
        raise SettingsError(source, problems, lines) from None
    scenarios, trouble, where = _scenarios(model.scenarios, None if "scenarios" in overridden else node)
    problems += trouble
    lines += where
    if problems:
        raise SettingsError(source, problems, lines)
    fleet = fleet_of(model.static)[0] if model.static else None
    return Settings(
        source=source,
        cluster=len(fleet.nodes) if fleet else model.cluster,
        provider=model.provider,
        methods=model.methods,
        platforms=tuple(PLATFORMS_BY_NAME[name] for name in model.platforms),
        box=model.box,
        image_recipe=model.docker.image_recipe,
        scenarios=scenarios,
        node=NodeResources(cpus=model.node.cpus, memory_mb=model.node.memory),
        subnet=model.network.subnet,
        timeouts=Timeouts(up_s=model.timeouts.up, ready_s=model.timeouts.ready, command_s=model.timeouts.command),
        fleet=fleet,
    )


# -- pydantic's errors as orka's problems ----------------------------------------------------------

_UNKNOWN_KEY: Final = ("extra_forbidden", "invalid_key")
# What a pydantic error says of the value; the field's description then says what is allowed.
_PHRASES: Final = {
    "int_type": "is not an integer",
    "string_type": "is not a string",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
    "literal_error": "is not known",
    "tuple_type": "is not a list",
    "string_too_short": "is not a non-empty string",
    "path_type": "is not a path",
    "model_type": "is not a mapping",
}


def _problem(error: ErrorDetails) -> tuple[str, str]:
    """The key a pydantic error is about, as the user reads it, and orka's message for it."""
    loc, kind, value = error["loc"], error["type"], error["input"]
    if kind in _UNKNOWN_KEY:
        parent, _, keys = _walk(loc[:-1])
        label = f"{parent}.{loc[-1]}" if parent else str(loc[-1])
        # In a host entry only its own keys are near misses (static.hosts is near all of them).
        hint = _suggest(str(loc[-1]), keys) if len(loc) > 1 and isinstance(loc[-2], int) else _suggest(label)
        return label, _unknown(hint, keys)
    label, field, keys = _walk(loc)
    allowed = f"a mapping with keys {', '.join(keys)}" if kind == "model_type" else field and field.description
    if kind == "orka":
        return label, error["msg"]
    if kind == "missing":
        return label, f"missing; allowed: {allowed}"
    what = _PHRASES.get(kind) or (error["msg"] if kind == "value" else f"is not valid ({error['msg']})")
    return label, f"{_show(value)} {what}; allowed: {allowed}"


def _walk(loc: tuple[str | int, ...]) -> tuple[str, FieldInfo | None, list[str]]:
    """The key at loc as the user reads it, its field, and the keys of the mapping there (if it is one):
    dotted for a section (node.cpus), as written for a host entry."""
    label, model, field = "", cast(type[BaseModel] | None, _File), None
    for part in loc:
        if isinstance(part, int):
            # An entry of a list of mappings is named by its place (static.hosts[2]), a method by itself.
            label += f"[{part}]" if model else ""
            continue
        field = model.model_fields.get(part) if model else None
        label = f"{label}.{part}" if label else part
        model = _model_of(field.annotation) if field else None
    dotted = bool(loc) and isinstance(loc[-1], str)
    return label, field, [f"{label}.{k}" if dotted else k for k in (model.model_fields if model else ())]


def _unknown(hint: str | None, allowed: list[str]) -> str:
    return f"unknown key{f' (did you mean {hint!r}?)' if hint else ''}; allowed: {', '.join(allowed)}"


def _suggest(key: str, names: list[str] | None = None) -> str | None:
    """Closest known key to a typo (clustr, node.cpu), or else to a misplaced key (memory)."""
    if names is not None:
        return next(iter(difflib.get_close_matches(key, names, n=1)), None)
    by_last_part = {k.rsplit(".", 1)[-1]: k for k in _KEYS}
    match = difflib.get_close_matches(key, [*_KEYS, *_SECTIONS], n=1)
    match = match or [by_last_part[m] for m in difflib.get_close_matches(key.rsplit(".", 1)[-1], by_last_part, n=1)]
    return next(iter(match), None)


def _line(node: Any, loc: tuple[str | int, ...]) -> int | None:
    """The line in the file of the deepest key (or list entry) of loc that is written there."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            key, node = next(((k, v) for k, v in node.value if k.value == part), (None, None))
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            key = node = node.value[part]
        else:
            key = None
        if key is None:
            break
        line = key.start_mark.line + 1
    return line
