"""Bad input, met the way a user meets it: one clear message, a non-zero exit, nothing created.

Each case runs `python -m orka up|run` (or `pytest spikes/`) in a child process
from the repository root with one bad input, and checks that the refusal names
the problem (key, file, line) and the fix, shows no traceback, and came before
anything booted: no new state folder under .orka/clusters/ and no new docker
container or network labelled with a cluster name the command could have made.
Other engineers' clusters come and go on this machine meanwhile, so only those
names are compared. A refusal that did not come cleans up after itself, so a
regression fails the test without leaving a cluster behind.

The last section checks the file checks themselves in-process (orka.preflight,
orka.salt_states), including that the shipped spikes/ trees pass them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.config.preflight import PreflightError, check_files, file_problems
from orka.config.settings import DEFAULT_SETTINGS_PATH, load_settings
from orka.methods.ansible.files import check_ansible_config
from orka.methods.salt.states import check_tree

CLUSTERS_DIR = REPO_ROOT / ".orka" / "clusters"
EXAMPLE = REPO_ROOT / "spikes" / "example"
SALT_TREE = EXAMPLE / "salt"
ANSIBLE_CONFIG = EXAMPLE / "ansible"
# The one cluster name these tests give `orka` and `pytest spikes/` (--cluster-name): the default "orka"
# is what other people's runs bring up and take down meanwhile, which a comparison could mistake for ours.
NAME = "orka-badinput"
# A refused command answers at once; a hang means it went on to bring something up.
TIMEOUT_S = 120


# -- running a command and checking that it was refused cleanly ----------------


def docker_objects(names: set[str]) -> set[str]:
    """Containers and networks labelled orka.cluster=<one of names>, as `kind id`.

    Without a Docker engine nothing can have been created, so that counts as none.
    """
    found: set[str] = set()
    for kind, command in (("container", ["ps", "-a"]), ("network", ["network", "ls"])):
        try:
            listed = subprocess.run(
                ["docker", *command, "--filter", "label=orka.cluster", "--format", '{{.ID}} {{.Label "orka.cluster"}}'],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except FileNotFoundError:
            return set()
        for line in listed.stdout.splitlines():
            object_id, _, cluster = line.partition(" ")
            if cluster in names:
                found.add(f"{kind} {object_id}")
    return found


def state_folders(names: set[str]) -> set[str]:
    return {name for name in names if (CLUSTERS_DIR / name).exists()}


def fingerprint(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Refusal:
    returncode: int
    stdout: str
    stderr: str


def refused(command: Sequence[str], could_create: set[str], env: dict[str, str] | None = None) -> Refusal:
    """Run a command; expect a non-zero exit with no traceback that created nothing of could_create."""
    child_env = {k: v for k, v in os.environ.items() if k != "ORKA_SETTINGS"}
    child_env.update(env or {})
    folders_before, objects_before = state_folders(could_create), docker_objects(could_create)
    try:
        result = subprocess.run(
            list(command), cwd=REPO_ROOT, env=child_env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    finally:
        created = state_folders(could_create) - folders_before
        appeared = docker_objects(could_create) - objects_before
        if NAME in could_create and (created or appeared):
            # Not refused after all: take down what it brought up before failing.
            subprocess.run(
                [sys.executable, "-m", "orka", "down", "--name", NAME], cwd=REPO_ROOT, timeout=600, check=False
            )
    assert created == set(), f"{' '.join(command)} created cluster state: {sorted(created)}"
    assert appeared == set(), f"{' '.join(command)} created docker objects: {sorted(appeared)}"
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return Refusal(result.returncode, result.stdout, result.stderr)


def orka(*args: str, env: dict[str, str] | None = None) -> str:
    """`python -m orka ARGS` as a user types it: exit 2 and one `orka: error:` message; its stderr."""
    refusal = refused([sys.executable, "-m", "orka", *args], {NAME}, env)
    assert refusal.returncode == 2, refusal
    assert refusal.stderr.startswith("orka: error:") or refusal.stderr.startswith("usage: orka"), refusal.stderr
    return refusal.stderr


def orka_up(*args: str) -> str:
    return orka("up", "--name", NAME, *args)


def up_with(tmp_path: Path, settings_text: str) -> str:
    """`orka up` with a settings file of the given text; its stderr, which must name the file."""
    path = tmp_path / "settings.yaml"
    path.write_text(settings_text, encoding="utf-8")
    stderr = orka_up("--settings", str(path))
    assert str(path) in stderr
    return stderr


def copy_tree(source: Path, target: Path) -> Path:
    """A copy of a shipped tree, without its checks and test modules (a pyinfra deploy kept), to break one file of."""
    ignored = shutil.ignore_patterns("test_*.py", "conftest.py", "__init__.py", "__pycache__")
    return Path(shutil.copytree(source, target, ignore=ignored))


def copy_scenario(tmp_path: Path, name: str = "mine") -> Path:
    """A copy of the example scenario (its checks left out), to break one file of; named by its folder."""
    scenario = copy_tree(EXAMPLE, tmp_path / name)
    yaml_file = scenario / "scenario.yaml"
    yaml_file.write_text(yaml_file.read_text(encoding="utf-8").replace("name: example", f"name: {name}"))
    return scenario


def scenario_settings(scenario: Path, extra: str = "") -> str:
    return f"{extra}scenarios: [{scenario}]\n"


# -- settings, through `orka up` ------------------------------------------------


def test_settings_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "cluster: 3\nmethods: [salt, ansible\nprovider: auto\n")
    assert "line 3: malformed YAML" in stderr
    assert "allowed: YAML 'key: value' lines" in stderr


def test_settings_not_a_mapping(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "- cluster: 3\n")
    assert "<top level>: [{'cluster': 3}] is a list" in stderr
    assert "allowed: a mapping of keys such as 'cluster: 3'" in stderr


def test_settings_unknown_key_suggests_the_known_one(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "cluster: 3\nclustr: 4\n")
    assert "clustr: unknown key (did you mean 'cluster'?)" in stderr
    assert "allowed: cluster, provider, methods" in stderr


def test_settings_unknown_key_in_a_section(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "node:\n  cpu: 2\n")
    assert "node.cpu: unknown key (did you mean 'node.cpus'?)" in stderr
    assert "allowed: node.cpus, node.memory" in stderr


def test_settings_wrong_type(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "cluster: three\n")
    assert "cluster: 'three' is not an integer; allowed: an integer from 3 to 100" in stderr


def test_cluster_below_three_from_the_command_line() -> None:
    stderr = orka_up("--cluster-size", "2")
    assert "cluster (override): 2 is too small; allowed: an integer from 3 to 100" in stderr


def test_cluster_absurdly_large(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "cluster: 5000\n")
    assert "cluster: 5000 is too large; allowed: an integer from 3 to 100" in stderr


def test_unknown_provider_from_the_command_line() -> None:
    stderr = orka_up("--provider", "vmware")
    assert "provider (override): 'vmware' is not known; allowed: auto, docker, virtualbox, libvirt" in stderr


def test_every_settings_problem_is_reported_at_once() -> None:
    stderr = orka_up("--cluster-size", "2", "--provider", "vmware")
    assert "cluster (override)" in stderr
    assert "provider (override)" in stderr


def test_box_missing(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "box: ''\n")
    assert "box: '' is not a non-empty string; allowed: a Vagrant box name such as 'centos/stream9'" in stderr


def test_box_not_a_box_name(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "box: centos stream 9\n")
    assert "box: 'centos stream 9' is not a Vagrant box name" in stderr
    assert "allowed: NAME or ORG/NAME" in stderr


def test_node_image_recipe_missing(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "docker:\n  image_recipe: no/such/recipe\n")
    assert f"docker.image_recipe: 'no/such/recipe' resolves to {REPO_ROOT / 'no/such/recipe'}" in stderr
    assert "allowed: a folder that contains build.sh" in stderr


def test_bad_subnet(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "network:\n  subnet: 10.87.0.0/33\n")
    assert "network.subnet: '10.87.0.0/33' is not a network" in stderr
    assert "allowed: an IPv4 network in CIDR form" in stderr


def test_negative_timeout(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, "timeouts:\n  up: -5\n")
    assert "timeouts.up: -5 is too small; allowed: an integer of at least 1 (seconds)" in stderr


def test_settings_file_missing() -> None:
    stderr = orka_up("--settings", "/nonexistent/orka.yaml")
    assert "settings file /nonexistent/orka.yaml does not exist" in stderr
    # How to fix it: what to copy, and the two ways to point at another file.
    assert str(DEFAULT_SETTINGS_PATH) in stderr
    assert "--settings PATH" in stderr
    assert "ORKA_SETTINGS" in stderr


# -- the Salt tree and the Ansible folder, through `orka up` -------------------


def test_scenario_path_that_does_not_exist(tmp_path: Path) -> None:
    stderr = up_with(tmp_path, scenario_settings(tmp_path / "no-such"))
    assert f"scenarios: {tmp_path / 'no-such'}: no such folder; give a scenario folder" in stderr
    assert "(line 1)" in stderr


def test_scenario_with_no_method_folder(tmp_path: Path) -> None:
    (tmp_path / "empty" / "verify").mkdir(parents=True)
    stderr = up_with(tmp_path, scenario_settings(tmp_path / "empty"))
    assert f"scenarios: {tmp_path / 'empty'}: holds no method folder; allowed: salt/ (with top.sls)" in stderr


def test_method_folder_missing_its_entry_file(tmp_path: Path) -> None:
    scenario = copy_scenario(tmp_path)
    (scenario / "ansible" / "playbook.yml").unlink()
    stderr = up_with(tmp_path, scenario_settings(scenario))
    assert f"scenarios: {scenario / 'ansible'}: has no playbook.yml" in stderr


def test_a_scenario_listed_twice(tmp_path: Path) -> None:
    scenario = copy_scenario(tmp_path)
    stderr = up_with(tmp_path, f"scenarios: [{scenario}, {scenario}/]\n")
    assert f"scenarios: '{scenario}/' is listed twice (as '{scenario}')" in stderr


def test_a_check_file_that_does_not_import(tmp_path: Path) -> None:
    scenario = copy_scenario(tmp_path)
    check = scenario / "verify" / "test_broken.py"
    check.parent.mkdir(exist_ok=True)
    check.write_text("import testinfra\nfrom no_such_module import thing\n", encoding="utf-8")
    stderr = up_with(tmp_path, scenario_settings(scenario))
    assert f"mine/verify: {check}:2: does not import (ModuleNotFoundError" in stderr


def test_bad_input_creates_nothing(tmp_path: Path) -> None:
    """A scenario refused before boot leaves no cluster state behind."""
    before = sorted(p.name for p in (REPO_ROOT / ".orka" / "clusters").glob("*"))
    up_with(tmp_path, scenario_settings(tmp_path / "no-such"))
    assert sorted(p.name for p in (REPO_ROOT / ".orka" / "clusters").glob("*")) == before


def test_salt_state_that_does_not_parse_names_file_and_line(tmp_path: Path) -> None:
    tree = copy_scenario(tmp_path) / "salt"
    user_sls = tree / "orka" / "user.sls"
    lines = user_sls.read_text(encoding="utf-8").splitlines()
    lines[5] = "   - system: True"  # one space short of its siblings: YAML no longer parses
    user_sls.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stderr = up_with(tmp_path, scenario_settings(tree.parent))
    assert f"mine/salt: {user_sls}:6: malformed YAML" in stderr
    assert "fix that line" in stderr


def test_salt_state_with_broken_jinja_names_file_and_line(tmp_path: Path) -> None:
    tree = copy_scenario(tmp_path) / "salt"
    package_sls = tree / "orka" / "package.sls"
    text = package_sls.read_text(encoding="utf-8").replace("{{ orka.tree_pkg }}", "{{ orka.tree_pkg }")
    package_sls.write_text(text, encoding="utf-8")
    line = 1 + text.splitlines().index("    - name: {{ orka.tree_pkg }")
    stderr = up_with(tmp_path, scenario_settings(tree.parent))
    assert f"mine/salt: {package_sls}:{line}: Jinja syntax error" in stderr
    assert "fix that line" in stderr


def test_playbook_that_does_not_parse_names_file_and_line(tmp_path: Path) -> None:
    config = copy_scenario(tmp_path) / "ansible"
    playbook = config / "playbook.yml"
    playbook.write_text(playbook.read_text(encoding="utf-8") + "- hosts: [nodes\n", encoding="utf-8")
    line = len(playbook.read_text(encoding="utf-8").splitlines())
    stderr = up_with(tmp_path, scenario_settings(config.parent))
    assert f"mine/ansible: {playbook}:" in stderr
    assert "malformed YAML" in stderr
    assert "fix that line" in stderr
    reported = int(stderr.split(f"{playbook}:", 1)[1].split(":", 1)[0])
    assert line <= reported <= line + 1  # PyYAML marks the unclosed list's line, or the end just after it


def test_role_task_file_that_does_not_parse(tmp_path: Path) -> None:
    config = copy_scenario(tmp_path) / "ansible"
    tasks = config / "roles" / "orka" / "tasks" / "main.yml"
    tasks.write_text("- name: ok\n  ping:\n- name: broken\n  command: echo {{ x }\n   bad: indent\n", encoding="utf-8")
    stderr = up_with(tmp_path, scenario_settings(config.parent))
    assert f"mine/ansible: {tasks}:5: malformed YAML" in stderr


def test_playbook_that_is_not_a_list_of_plays(tmp_path: Path) -> None:
    config = copy_scenario(tmp_path) / "ansible"
    (config / "orchestrate.yml").write_text("hosts: all\ntasks: []\n", encoding="utf-8")
    stderr = up_with(tmp_path, scenario_settings(config.parent))
    assert f"mine/ansible: {config / 'orchestrate.yml'}: is a dict, not a playbook" in stderr
    assert "a playbook is a list of plays" in stderr


# -- orka's task runner, through `orka run`: refused before any SSH ---------------

# Hosts no SSH would reach quickly: were one tried, the run would end in per-host failures and exit 1, not 2.
INVENTORY = """\
known_hosts: none
hosts:
  web-1: {address: 127.0.0.1, port: 1, groups: [primary]}
  web-2: {address: 127.0.0.1, port: 1, groups: [secondaries]}
"""
TASKS = "tasks:\n  - ping: {}\n"


@pytest.fixture
def run_files(tmp_path: Path) -> tuple[Path, Path]:
    """A good task file and inventory, to break one of."""
    tasks, inventory = tmp_path / "tasks.yml", tmp_path / "hosts.yml"
    tasks.write_text(TASKS, encoding="utf-8")
    inventory.write_text(INVENTORY, encoding="utf-8")
    return tasks, inventory


def orka_run(tasks: Path, inventory: Path | str, *args: str) -> str:
    return orka("run", str(tasks), "--inventory", str(inventory), "--name", NAME, *args)


def test_task_file_that_does_not_parse_names_the_line(run_files: tuple[Path, Path]) -> None:
    tasks, inventory = run_files
    tasks.write_text("tasks:\n  - ping: {}\n bad: indent\n", encoding="utf-8")
    stderr = orka_run(tasks, inventory)
    assert f"{tasks}, line 3: malformed YAML" in stderr
    assert "fix that line" in stderr


def test_task_file_with_an_unknown_action(run_files: tuple[Path, Path]) -> None:
    tasks, inventory = run_files
    tasks.write_text("tasks:\n  - name: copy it\n    copy: {src: a, dest: b}\n", encoding="utf-8")
    stderr = orka_run(tasks, inventory)
    assert f"{tasks}, task 1: a task needs exactly one action of ping, command" in stderr
    assert "unknown key(s): copy" in stderr


def test_task_file_missing(tmp_path: Path, run_files: tuple[Path, Path]) -> None:
    _, inventory = run_files
    stderr = orka_run(tmp_path / "nowhere.yml", inventory)
    assert f"cannot read task file {tmp_path / 'nowhere.yml'}: No such file or directory" in stderr
    assert "give the path of a YAML file with `tasks:` or `steps:`" in stderr


def test_inventory_that_does_not_parse_names_the_line(run_files: tuple[Path, Path]) -> None:
    tasks, inventory = run_files
    inventory.write_text("hosts:\n  web-1: {address: 10.0.0.5}\n  web-2: {address: [10.0.0.6}\n", encoding="utf-8")
    stderr = orka_run(tasks, inventory)
    assert f"inventory {inventory}, line 3: malformed YAML" in stderr
    assert "fix that line" in stderr


def test_limit_naming_an_unknown_host(run_files: tuple[Path, Path]) -> None:
    tasks, inventory = run_files
    stderr = orka_run(tasks, inventory, "--limit", "web-9")
    assert f"--limit web-9: no host or group of that name in inventory {inventory}" in stderr
    assert "hosts: web-1, web-2; groups: primary, secondaries, all" in stderr
    assert "limit to one of those, or add it to the inventory" in stderr


def test_step_naming_an_unknown_host(run_files: tuple[Path, Path]) -> None:
    tasks, inventory = run_files
    tasks.write_text(
        "steps:\n  - {name: first, hosts: primary, tasks: [{ping: {}}]}\n"
        "  - {name: publish, hosts: [web-3], tasks: [{ping: {}}]}\n",
        encoding="utf-8",
    )
    stderr = orka_run(tasks, inventory)
    assert f"{tasks}, step 2 (publish): hosts web-3: no host or group of that name in inventory {inventory}" in stderr
    assert "fix the step's `hosts`, or add it to the inventory" in stderr


def test_inventory_host_without_an_address(run_files: tuple[Path, Path]) -> None:
    tasks, inventory = run_files
    inventory.write_text("hosts:\n  web-1:\n    address:\n    user: deploy\n", encoding="utf-8")
    stderr = orka_run(tasks, inventory)
    assert f"inventory {inventory}: host web-1: address None is empty or not a name" in stderr
    assert "give its IP address or DNS name, or leave `address` out" in stderr


def test_inventory_key_that_does_not_exist(tmp_path: Path, run_files: tuple[Path, Path]) -> None:
    tasks, inventory = run_files
    key = tmp_path / "no-such-key"
    inventory.write_text(f"known_hosts: none\nhosts:\n  web-1: {{address: 127.0.0.1, key: {key}}}\n", encoding="utf-8")
    stderr = orka_run(tasks, inventory)
    assert f"inventory {inventory}: host web-1: key {key} does not exist" in stderr
    assert "give the path of the SSH private key" in stderr


def test_negative_run_timeout(run_files: tuple[Path, Path]) -> None:
    tasks, inventory = run_files
    stderr = orka_run(tasks, inventory, "--timeout", "-1")
    assert "argument --timeout: '-1' is not a number of seconds above 0, e.g. 300" in stderr


def test_cluster_inventory_without_that_cluster(run_files: tuple[Path, Path]) -> None:
    tasks, _ = run_files
    stderr = orka_run(tasks, "cluster")
    assert f"no cluster {NAME} here: bring one up with `orka up`, or give an inventory file" in stderr


# -- `pytest spikes/` with bad settings: a usage error before anything starts ------------


def pytest_spikes(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """`pytest spikes/` refused with a usage error, the last run's records left as they were. Its output.

    Only ever with bad settings: good ones would bring up a cluster. And `-k`
    selects no test, so even a refusal that did not come could not boot anything.
    """
    junit_xml, html = tmp_path / "junit.xml", tmp_path / "pytest.html"
    command = [sys.executable, "-m", "pytest", "spikes/", "-p", "no:cacheprovider", "-k", "orka_badinput_runs_nothing"]
    command += ["--junitxml", str(junit_xml), "--html", str(html), *args]
    results = tmp_path / "results.json"  # a last run's records, which a refused run must leave as they were
    results.write_text('[{"method": "salt", "phase": "apply", "ok": true}]\n', encoding="utf-8")
    command += ["--cluster-name", NAME, "--results", str(results)]
    results_before = fingerprint(results)
    refusal = refused(command, {NAME}, env)
    assert refusal.returncode == pytest.ExitCode.USAGE_ERROR, refusal
    assert fingerprint(results) == results_before, f"a refused spike run deleted or rewrote {results}"
    assert not junit_xml.exists()
    assert not html.exists()
    return refusal.stdout + refusal.stderr


def test_pytest_spikes_with_a_cluster_too_small(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("cluster: 2\n", encoding="utf-8")
    output = pytest_spikes(tmp_path, "--settings", str(settings))
    assert f"ERROR: invalid settings in {settings}" in output
    assert "cluster: 2 is too small; allowed: an integer from 3 to 100" in output


def test_pytest_spikes_with_an_unknown_key_from_orka_settings(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("methods: [salt]\ntimeout:\n  up: 60\n", encoding="utf-8")
    output = pytest_spikes(tmp_path, env={"ORKA_SETTINGS": str(settings)})
    assert "timeout: unknown key (did you mean 'timeouts'?)" in output


def test_pytest_spikes_with_a_broken_salt_state(tmp_path: Path) -> None:
    tree = copy_scenario(tmp_path) / "salt"
    top = tree / "top.sls"
    top.write_text("base:\n  'orka-node-*':\n    - orka\n  bad\n", encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(scenario_settings(tree.parent), encoding="utf-8")
    output = pytest_spikes(tmp_path, "--settings", str(settings))
    assert f"ERROR: files of the scenarios in {settings} would fail on the cluster" in output
    assert f"mine/salt: {top}:4: malformed YAML" in output


# -- the checks themselves, in-process ----------------------------------------


def test_the_shipped_trees_pass() -> None:
    assert check_tree(SALT_TREE) == []
    assert check_ansible_config(ANSIBLE_CONFIG) == []
    settings = load_settings(DEFAULT_SETTINGS_PATH)
    assert check_files(settings) is settings


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_salt_features_beyond_plain_jinja_are_not_errors(tmp_path: Path) -> None:
    """Salt's tags, filters, relative imports and functions, and other renderers, all pass."""
    tree = write_files(
        tmp_path,
        {
            "top.sls": "base:\n  '*':\n    - app\n",
            "app/map.jinja": "{% set app = salt['grains.filter_by']({'Debian': {'pkg': 'nginx'}}) %}\n",
            "app/init.sls": (
                '{%- from "./map.jinja" import app with context %}\n'
                "{% import_yaml 'app/defaults.yaml' as defaults %}\n"
                "{% load_yaml as extra %}\nport: 80\n{% endload %}\n"
                "{% set port = salt['pillar.get']('app:port', 8080) + 1 %}\n"
                "app-pkg:\n  pkg.installed:\n"
                "    - name: {{ app.pkg | regex_replace('x', 'y') }}\n"
                "    - home: {{ salt.cmd.run('echo') | yaml_dquote }}\n"
                "{% if grains['os_family'] is match('Deb.*') %}    - refresh: True{% endif %}\n"
            ),
            "app/py.sls": "#!py\ndef run():\n    return {'x': {'test.nop': []}}\n",
        },
    )
    assert check_tree(tree) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"a.sls": "x:\n  pkg.installed: []\nx:\n  pkg.removed: []\n"},
            "a.sls:3: malformed YAML (ID 'x' given twice, which Salt refuses)",
            id="duplicate-id",
        ),
        pytest.param({"a.sls": "- x\n"}, "a.sls: is a list, not a mapping", id="not-a-mapping"),
        pytest.param(
            {"a.sls": '{% from "nowhere/map.jinja" import m %}\n'},
            "a.sls: imports 'nowhere/map.jinja', which is not in the tree",
            id="import-not-in-tree",
        ),
        pytest.param(
            {"map.jinja": "{% set m = {'a': 1 %}\n", "a.sls": '{% from "map.jinja" import m %}\nx: {{ m }}\n'},
            "map.jinja:1: Jinja syntax error",
            id="broken-import-names-the-imported-file",
        ),
        pytest.param(
            {"a.sls": "{% for n in [1, 2] %}\nid{{ n }}:\n  pkg.installed: []\n bad{{ n }}: x\n{% endfor %}\n"},
            "a.sls: malformed YAML (expected <block end>, but found '<block mapping start>') "
            "at line 4 of its Jinja output, 'bad1: x'; fix the line that renders to it",
            id="line-only-in-the-jinja-output",
        ),
        pytest.param(
            {"a.sls": "{% if true %}\nx:\n  pkg.installed: [\n{% endif %}\n"},
            "a.sls: malformed YAML (expected the node content, but found '<stream end>') at the end of its Jinja "
            "output; close what is left open",
            id="error-at-the-end-of-the-jinja-output",
        ),
    ],
)
def test_salt_problems(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    tree = write_files(tmp_path, {"top.sls": "base: {}\n", **files})
    problems = check_tree(tree)
    assert len(problems) == 1, problems
    assert problems[0].startswith(str(tmp_path)), problems
    assert expected in problems[0]


def test_a_broken_import_is_reported_once(tmp_path: Path) -> None:
    tree = write_files(
        tmp_path,
        {
            "top.sls": "base: {}\n",
            "map.jinja": "{% set m = {'a': 1 %}\n",
            "a.sls": '{% from "map.jinja" import m %}\n',
            "b.sls": '{% from "map.jinja" import m %}\n',
        },
    )
    assert check_tree(tree) == [f"{tmp_path / 'map.jinja'}:1: Jinja syntax error (unexpected '}}'); fix that line"]


def test_ansible_tags_and_templates_are_not_errors(tmp_path: Path) -> None:
    config = write_files(
        tmp_path,
        {
            "playbook.yml": "- hosts: all\n  vars:\n    secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n"
            "    raw: !unsafe '{{ not templated }}'\n  roles: [app]\n",
            "roles/app/templates/conf.yml": "key: {{ value }\n",  # a template, never read as YAML
            "roles/app/files/data.yaml": "[not: yaml\n",
        },
    )
    assert check_ansible_config(config) == []


def test_only_the_selected_methods_are_checked(tmp_path: Path) -> None:
    tree = copy_scenario(tmp_path) / "salt"
    (tree / "orka" / "broken.sls").write_text("x: [\n", encoding="utf-8")
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(scenario_settings(tree.parent, "methods: [ansible, custom]\n"), encoding="utf-8")
    assert file_problems(load_settings(settings_file)) == []
    settings_file.write_text(scenario_settings(tree.parent, "methods: [salt]\n"), encoding="utf-8")
    with pytest.raises(PreflightError) as caught:
        check_files(load_settings(settings_file))
    broken = tree / "orka" / "broken.sls"
    assert caught.value.problems == [
        f"mine/salt: {broken}:1: malformed YAML (expected the node content, but found '<stream end>'); fix that line"
    ]
