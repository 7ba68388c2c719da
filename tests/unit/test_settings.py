"""Unit tests of orka.settings: fast, no network, nothing outside tmp_path touched."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.config.platforms import platform
from orka.config.scenario import load_scenario
from orka.config.settings import (
    DEFAULT_SETTINGS_PATH,
    NodeResources,
    Settings,
    Timeouts,
    default_settings,
    load_settings,
    resolve_settings_path,
)
from orka.errors import SettingsError


def snapshot(folder: Path) -> set[str]:
    """Every path below folder, so a test can tell that nothing was created."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def make_recipe(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "build.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    return folder


def load_error(path: Path, overrides: dict[str, object] | None = None) -> SettingsError:
    """Load path, expecting a SettingsError, and check nothing was created meanwhile."""
    before = snapshot(path.parent)
    with pytest.raises(SettingsError) as info:
        load_settings(path, overrides)
    assert snapshot(path.parent) == before
    return info.value


def test_shipped_file_equals_defaults() -> None:
    shipped = load_settings(DEFAULT_SETTINGS_PATH)
    assert shipped == dataclasses.replace(default_settings(), source=str(DEFAULT_SETTINGS_PATH))
    assert load_settings() == shipped


def test_defaults_values() -> None:
    example, problems = load_scenario(REPO_ROOT / "spikes" / "example")
    assert example is not None, problems
    expected = Settings(
        source="<defaults>",
        cluster=3,
        provider="auto",
        methods=("salt", "ansible", "custom", "pyinfra"),
        platforms=(platform("debian-12"),),
        box=None,
        image_recipe=REPO_ROOT / "vagrant" / "image",
        scenarios=(example,),
        node=NodeResources(cpus=1, memory_mb=1024),
        subnet="10.87.0.0/16",
        timeouts=Timeouts(up_s=600, ready_s=120, command_s=300),
    )
    assert default_settings() == expected
    assert DEFAULT_SETTINGS_PATH == REPO_ROOT / "settings" / "user_settings.yaml"
    assert (REPO_ROOT / "orka" / "config" / "settings.py").is_file()


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", "node:\n"],
    ids=["empty", "comment", "empty-section"],
)
def test_empty_file_or_section_means_defaults(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert load_settings(path) == dataclasses.replace(default_settings(), source=str(path))


def test_to_dict_is_json_serialisable() -> None:
    data = default_settings().to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["image_recipe"] == str(REPO_ROOT / "vagrant" / "image")
    assert data["methods"] == ["salt", "ansible", "custom", "pyinfra"]
    assert data["node"] == {"cpus": 1, "memory_mb": 1024}
    assert data["timeouts"] == {"up_s": 600, "ready_s": 120, "command_s": 300}


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        default_settings().cluster = 5  # type: ignore[misc]


# Each case: file text, then fragments the single problem must contain
# (key, bad value, what is allowed).
BAD_INPUTS = [
    pytest.param(
        "cluster: 2\n",
        ["cluster: 2 is too small", "allowed: an integer from 3 to 100"],
        id="cluster-too-small",
    ),
    pytest.param(
        "cluster: 101\n",
        ["cluster: 101 is too large", "from 3 to 100"],
        id="cluster-too-large",
    ),
    pytest.param(
        "cluster: 250\nprovider: docker\n",
        ["cluster: 250 is too large", "from 3 to 100 (to 1000 with provider static)"],
        id="cluster-past-what-orka-makes",
    ),
    pytest.param(
        "cluster: 1001\n",
        ["cluster: 1001 is too large", "to 1000 with provider static"],
        id="cluster-past-a-fleet",
    ),
    pytest.param(
        "cluster: '3'\n",
        ["cluster: '3' is not an integer", "from 3 to 100"],
        id="cluster-str",
    ),
    pytest.param(
        "cluster: true\n",
        ["cluster: True is not an integer", "from 3 to 100"],
        id="cluster-bool",
    ),
    pytest.param(
        "provider: vmware\n",
        [
            "provider: 'vmware' is not known",
            "allowed: auto, docker, virtualbox, libvirt",
        ],
        id="provider-unknown",
    ),
    pytest.param(
        "methods: [salt, puppet]\n",
        ["methods: 'puppet' is not known", "salt, ansible, custom"],
        id="method-unknown",
    ),
    pytest.param(
        "methods: [salt, salt]\n",
        ["methods: 'salt' is listed twice", "each at most once"],
        id="method-duplicate",
    ),
    pytest.param(
        "methods: []\n",
        ["methods: [] is empty", "a non-empty list"],
        id="methods-empty",
    ),
    pytest.param(
        "methods: salt\n",
        ["methods: 'salt' is not a list", "a non-empty list"],
        id="methods-not-list",
    ),
    pytest.param(
        "box: ''\n",
        ["box: '' is not a non-empty string", "a Vagrant box name"],
        id="box-empty",
    ),
    pytest.param(
        "box: centos stream9\n",
        ["box: 'centos stream9' is not a Vagrant box name", "allowed: NAME or ORG/NAME", "'centos/stream9'"],
        id="box-with-a-space",
    ),
    pytest.param(
        "box: centos/stream/9\n",
        ["box: 'centos/stream/9' is not a Vagrant box name", "allowed: NAME or ORG/NAME"],
        id="box-with-two-slashes",
    ),
    pytest.param(
        "box: /centos\n",
        ["box: '/centos' is not a Vagrant box name"],
        id="box-a-path",
    ),
    pytest.param(
        "clustr: 3\n",
        [
            "clustr: unknown key",
            "did you mean 'cluster'?",
            "allowed: cluster, provider",
        ],
        id="unknown-top-key",
    ),
    pytest.param(
        "node:\n  cpu: 2\n",
        [
            "node.cpu: unknown key",
            "did you mean 'node.cpus'?",
            "allowed: node.cpus, node.memory",
        ],
        id="unknown-nested-key",
    ),
    pytest.param(
        "memory: 512\n",
        ["memory: unknown key", "did you mean 'node.memory'?"],
        id="key-outside-its-section",
    ),
    pytest.param(
        "node: 4\n",
        [
            "node: 4 is not a mapping",
            "allowed: a mapping with keys node.cpus, node.memory",
        ],
        id="section-not-mapping",
    ),
    pytest.param(
        "node:\n  cpus: 0\n",
        ["node.cpus: 0 is too small", "at least 1"],
        id="cpus-zero",
    ),
    pytest.param(
        "node:\n  memory: 128\n",
        ["node.memory: 128 is too small", "at least 256 (MiB)"],
        id="memory-too-small",
    ),
    pytest.param(
        "timeouts:\n  up: 0\n",
        ["timeouts.up: 0 is too small", "at least 1 (seconds)"],
        id="timeout-zero",
    ),
    pytest.param(
        "timeouts:\n  ready: -5\n",
        ["timeouts.ready: -5 is too small", "at least 1 (seconds)"],
        id="timeout-negative",
    ),
    pytest.param(
        "timeouts:\n  command: 1.5\n",
        ["timeouts.command: 1.5 is not an integer", "at least 1"],
        id="timeout-float",
    ),
    pytest.param(
        "network:\n  subnet: 10.87.0.1/16\n",
        [
            "network.subnet: '10.87.0.1/16' is not a network",
            "IPv4 network in CIDR form",
        ],
        id="subnet-host-bits",
    ),
    pytest.param(
        "network:\n  subnet: nonsense\n",
        ["network.subnet: 'nonsense' is not a network", "prefix from /8 to /24"],
        id="subnet-garbage",
    ),
    pytest.param(
        "network:\n  subnet: fd00::/64\n",
        ["network.subnet: 'fd00::/64' is IPv6", "IPv4 network"],
        id="subnet-ipv6",
    ),
    pytest.param(
        "network:\n  subnet: 10.87.0.0/25\n",
        ["network.subnet: '10.87.0.0/25' has prefix /25", "prefix from /8 to /24"],
        id="subnet-prefix-too-long",
    ),
    pytest.param(
        "network:\n  subnet: 10.0.0.0/7\n",
        ["has prefix /7", "prefix from /8 to /24"],
        id="subnet-prefix-too-short",
    ),
    pytest.param(
        "- cluster: 3\n",
        ["<top level>: [{'cluster': 3}] is a list", "allowed: a mapping"],
        id="top-level-list",
    ),
    pytest.param(
        "just words\n",
        ["<top level>: 'just words' is a str", "allowed: a mapping"],
        id="top-level-scalar",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_INPUTS)
def test_bad_input_is_reported(tmp_path: Path, text: str, fragments: list[str]) -> None:
    error = load_error(write(tmp_path, text))
    assert len(error.problems) == 1, error.problems
    for fragment in fragments:
        assert fragment in error.problems[0]
    assert error.source == str(tmp_path / "settings.yaml")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("cluster: 3\nprovider: [docker\nbox: x\n", 3, id="unclosed-list"),
        pytest.param("cluster: 3\n  provider: docker\n", 2, id="bad-indent"),
        pytest.param("cluster: 3\nbox: 'open\n", 3, id="unclosed-quote"),
    ],
)
def test_malformed_yaml_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    error = load_error(path)
    assert f"{path}, line {line}: malformed YAML" in error.problems[0]
    assert "allowed:" in error.problems[0]
    assert str(path) in str(error)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    assert "create it" in message
    assert "--settings" in message
    assert "ORKA_SETTINGS" in message
    assert snapshot(tmp_path) == set()


def test_recipe_folder_missing(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "docker:\n  image_recipe: no/such/dir\n"))
    [problem] = error.problems
    assert f"docker.image_recipe: 'no/such/dir' resolves to {REPO_ROOT / 'no/such/dir'}" in problem
    assert "not a folder" in problem
    assert "contains build.sh" in problem


def test_recipe_folder_without_build_sh(tmp_path: Path) -> None:
    (tmp_path / "recipe").mkdir()
    error = load_error(write(tmp_path, f"docker:\n  image_recipe: {tmp_path / 'recipe'}\n"))
    [problem] = error.problems
    assert f"resolves to {tmp_path / 'recipe'}, which has no build.sh" in problem


def test_absolute_recipe_folder_is_used(tmp_path: Path) -> None:
    recipe = make_recipe(tmp_path / "recipe")
    path = write(tmp_path, f"docker:\n  image_recipe: {recipe}\n")
    assert load_settings(path).image_recipe == recipe


def test_relative_recipe_is_resolved_against_repo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Run from elsewhere, so a resolution against the working folder would fail.
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "docker:\n  image_recipe: vagrant/../vagrant/image\n")
    recipe = load_settings(path).image_recipe
    assert recipe.is_absolute()
    assert recipe == REPO_ROOT / "vagrant/../vagrant/image"
    assert recipe.resolve() == (REPO_ROOT / "vagrant" / "image").resolve()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "cluster: 1\n"
        "provider: vmware\n"
        "methods: [salt, chef, salt]\n"
        "clustr: 4\n"
        "node:\n  cpu: 2\n  memory: 100\n"
        "network:\n  subnet: 10.0.0.0/30\n"
        "timeouts:\n  up: 0\n"
    )
    error = load_error(write(tmp_path, text))
    message = str(error)
    for key in (
        "cluster:",
        "provider:",
        "methods: 'chef'",
        "methods: 'salt' is listed twice",
        "clustr:",
        "node.cpu:",
        "node.memory:",
        "network.subnet:",
        "timeouts.up:",
    ):
        assert key in message
    assert len(error.problems) == 9


def test_overrides_win_over_file(tmp_path: Path) -> None:
    recipe = make_recipe(tmp_path / "recipe")
    path = write(tmp_path, "cluster: 4\nprovider: libvirt\ntimeouts:\n  up: 60\n")
    settings = load_settings(
        path,
        {
            "cluster": 5,
            "provider": "docker",
            "methods": ["ansible"],
            "timeouts.up": 120,
            "docker.image_recipe": recipe,
        },
    )
    assert (settings.cluster, settings.provider, settings.methods) == (
        5,
        "docker",
        ("ansible",),
    )
    assert settings.timeouts == Timeouts(up_s=120, ready_s=120, command_s=300)
    assert settings.image_recipe == recipe


def test_none_overrides_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "cluster: 4\n")
    settings = load_settings(path, {"cluster": None, "provider": None, "timeouts.up": None})
    assert settings.cluster == 4
    assert settings.provider == "auto"
    assert settings.timeouts.up_s == 600


def test_unknown_override_key_is_an_error(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, ""), {"timeouts.upp": 5, "cluster": 4})
    [problem] = error.problems
    assert "timeouts.upp (override): unknown key" in problem
    assert "did you mean 'timeouts.up'?" in problem
    assert "allowed: cluster, provider" in problem


def test_bad_override_value_says_it_is_an_override(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "cluster: 4\n"), {"cluster": 2})
    assert error.problems == [
        "cluster (override): 2 is too small; allowed: an integer from 3 to 100 (to 1000 with provider static)"
    ]


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        pytest.param(
            "/a/cli.yaml",
            {"ORKA_SETTINGS": "/b/env.yaml"},
            Path("/a/cli.yaml"),
            id="cli-wins",
        ),
        pytest.param(None, {"ORKA_SETTINGS": "/b/env.yaml"}, Path("/b/env.yaml"), id="env-next"),
        pytest.param(None, {}, DEFAULT_SETTINGS_PATH, id="default-last"),
        pytest.param("", {"ORKA_SETTINGS": ""}, DEFAULT_SETTINGS_PATH, id="empty-values-ignored"),
    ],
)
def test_resolve_settings_path_precedence(cli: str | None, environ: dict[str, str], expected: Path) -> None:
    assert resolve_settings_path(cli, environ) == expected


@pytest.mark.parametrize("box", ["centos/stream9", "generic/debian12", "my-box", "bento/ubuntu-24.04", "a_b/c.d"])
def test_box_names_vagrant_takes(tmp_path: Path, box: str) -> None:
    assert load_settings(write(tmp_path, f"box: {box}\n")).box == box


def test_a_problem_from_the_file_names_its_line(tmp_path: Path) -> None:
    """The message says where in the file; each problem itself stays key: value; allowed."""
    path = write(tmp_path, "cluster: 3\nnode:\n  cpus: 0\n  memory: 1024\nclustr: 4\n")
    error = load_error(path, {"provider": "vmware"})
    assert error.problems == [
        "clustr: unknown key (did you mean 'cluster'?); allowed: cluster, provider, methods, platforms, box, "
        "scenarios, docker, node, network, timeouts, static",
        "provider (override): 'vmware' is not known; allowed: auto, docker, virtualbox, libvirt, static",
        "node.cpus: 0 is too small; allowed: an integer of at least 1",
    ]
    assert error.lines == [5, None, 3]  # an override has no line
    assert f"  - {error.problems[2]} (line 3)\n" in str(error) + "\n"
    assert f"  - {error.problems[1]}\n" in str(error)


def test_overrides_and_defaults_have_no_line(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "cluster: 4\n"), {"cluster": 2, "timeouts.upp": 1})
    assert error.lines == [None, None]
    assert "(line" not in str(error)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("methods: [chef]\n", "methods: 'chef' is not known", id="only-unknown-methods-are-not-empty"),
        pytest.param("methods: [salt, salt, salt]\n", "methods: 'salt' is listed twice", id="thrice"),
        pytest.param("network:\n  subnet: 5\n", "network.subnet: 5 is not a string; allowed: an IPv4", id="subnet-int"),
        pytest.param("cluster:\n", "cluster: None is not an integer", id="a-value-left-empty"),
        pytest.param("docker: vagrant\n", "docker: 'vagrant' is not a mapping; allowed: a mapping", id="section"),
    ],
)
def test_more_bad_input(tmp_path: Path, text: str, fragment: str) -> None:
    error = load_error(write(tmp_path, text))
    assert all(fragment in problem for problem in error.problems), error.problems
    assert len(error.problems) == (2 if "salt, salt, salt" in text else 1)
