"""Unit tests of orka.runner.taskfile: task files are validated before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orka.config import REPO_ROOT
from orka.errors import OrkaError
from orka.runner.taskfile import ACTIONS, Task, TaskFile, TaskFileError, load_taskfile, parse_taskfile

SPIKE_TASKS = REPO_ROOT / "spikes" / "example" / "custom"
ALL_ACTIONS = "ping, command, package, group, user, directory, file, fetch, service, salt"


def load_text(tmp_path: Path, text: str, name: str = "tasks.yml") -> TaskFile:
    path = tmp_path / name
    path.write_text(text)
    return load_taskfile(path)


# -- the real task files ---------------------------------------------------


def test_desired_state_parses_as_one_step_on_all_hosts() -> None:
    taskfile = load_taskfile(SPIKE_TASKS / "desired_state.yml")
    assert taskfile.source == str(SPIKE_TASKS / "desired_state.yml")
    assert len(taskfile.steps) == 1
    (step,) = taskfile.steps
    assert step.name == "apply"
    assert step.hosts == ("all",)
    assert len(step.tasks) == 10
    assert [t.action for t in step.tasks] == [
        "package",
        "group",
        "user",
        "directory",
        "directory",
        "file",
        "directory",
        "file",
        "file",
        "service",
    ]
    assert step.tasks[0] == Task("tree package", "package", {"name": "tree"})
    assert step.tasks[-1].args["restart_on"] == ["orka-agent unit"]
    assert set(taskfile.family) == {"Debian", "RedHat"}
    assert taskfile.family["Debian"]["nologin"] == "/usr/sbin/nologin"
    assert taskfile.family["RedHat"]["nologin"] == "/sbin/nologin"


def test_desired_state_task_names_are_unique_and_restart_on_names_a_task() -> None:
    (step,) = load_taskfile(SPIKE_TASKS / "desired_state.yml").steps
    names = [t.name for t in step.tasks]
    assert len(names) == len(set(names))
    service = step.tasks[-1]
    assert set(service.args["restart_on"]) <= set(names)


def test_desired_state_modes_are_strings() -> None:
    """Unquoted YAML modes (0644) load as decimal ints; the real file quotes them all."""
    (step,) = load_taskfile(SPIKE_TASKS / "desired_state.yml").steps
    modes = [t.args["mode"] for t in step.tasks if "mode" in t.args]
    assert modes
    assert all(isinstance(m, str) and m.startswith("0") for m in modes)


def test_orchestrate_parses_as_two_ordered_steps() -> None:
    taskfile = load_taskfile(SPIKE_TASKS / "orchestrate.yml")
    assert len(taskfile.steps) == 2
    first, second = taskfile.steps
    assert first.name == "publish cluster.json on the primary"
    assert first.hosts == ("primary",)
    assert [t.name for t in first.tasks] == ["cluster.json (primary)"]
    assert first.tasks[0].action == "file"
    assert second.name == "fetch cluster.json on the secondaries"
    assert second.hosts == ("secondaries",)
    assert [(t.name, t.action) for t in second.tasks] == [("cluster.json (from primary)", "fetch")]
    assert second.tasks[0].args["url"] == "http://$primary:8080/cluster.json"
    assert taskfile.family == {}


def test_task_to_job_is_what_the_remote_side_reads() -> None:
    task = Task("tree package", "package", {"name": "tree"})
    assert task.to_job() == {"name": "tree package", "action": "package", "args": {"name": "tree"}}


# -- valid shapes and defaults ---------------------------------------------


def test_default_source_is_a_placeholder() -> None:
    assert parse_taskfile("tasks: [{ping: {}}]").source == "<tasks>"


@pytest.mark.parametrize(
    ("task", "name"),
    [
        ("{ping: {}}", "ping"),
        ("{ping: }", "ping"),
        ("{package: {name: tree}}", "package tree"),
        ("{command: {run: echo hi}}", "command echo hi"),
        ("{directory: {path: /opt/orka}}", "directory /opt/orka"),
        ("{salt: {}}", "salt"),
        ("{name: '', ping: {}}", "ping"),
        ("{name: mine, package: {name: tree}}", "mine"),
        ("{name: 42, ping: {}}", "42"),
    ],
)
def test_task_default_names(task: str, name: str) -> None:
    (step,) = parse_taskfile(f"tasks: [{task}]").steps
    assert step.tasks[0].name == name


def test_empty_action_arguments_are_an_empty_mapping() -> None:
    (step,) = parse_taskfile("tasks:\n  - ping:\n").steps
    assert step.tasks[0] == Task("ping", "ping", {})


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_accepts_its_required_and_optional_arguments(action: str) -> None:
    required, optional = ACTIONS[action]
    args: dict[str, object] = dict.fromkeys(sorted(required | optional), "x")
    args.update({k: v for k, v in {"mode": "0644", "restart_on": []}.items() if k in args})
    (step,) = parse_taskfile(yaml.safe_dump({"tasks": [{"name": "t", action: args}]})).steps
    assert step.tasks[0] == Task("t", action, args)


def test_steps_defaults_and_scalar_hosts() -> None:
    taskfile = parse_taskfile(
        "steps:\n"
        "  - hosts: primary\n"
        "    tasks: [{ping: {}}]\n"
        "  - name: second\n"
        "    hosts: [web-1, secondaries]\n"
        "    tasks: [{ping: {}}, {command: {run: 'true'}}]\n"
    )
    first, second = taskfile.steps
    assert (first.name, first.hosts) == ("step 1", ("primary",))
    assert (second.name, second.hosts) == ("second", ("web-1", "secondaries"))
    assert [t.name for t in second.tasks] == ["ping", "command true"]


def test_family_is_kept() -> None:
    taskfile = parse_taskfile("family:\n  Debian: {a: 1}\n  RedHat: {a: 2}\ntasks: [{ping: {}}]\n")
    assert taskfile.family == {"Debian": {"a": 1}, "RedHat": {"a": 2}}


def test_taskfile_error_is_an_orka_error() -> None:
    assert issubclass(TaskFileError, OrkaError)


# -- bad task files: where, and what is allowed ------------------------------

BAD = [
    pytest.param(
        "tasks:\n  - ping: {}\n bad: indent\n",
        ["line 3", "malformed YAML"],
        id="malformed-yaml",
    ),
    pytest.param(
        "tasks:\n  - ping: {}\n  - name: broken\n    file: {path: /x, content: [unclosed\n",
        ["line 5", "malformed YAML"],
        id="malformed-yaml-at-end",
    ),
    pytest.param("family: {}\n", ["needs either `tasks:`", "`steps:`"], id="neither-tasks-nor-steps"),
    pytest.param(
        "tasks: [{ping: {}}]\nsteps: [{hosts: all, tasks: [{ping: {}}]}]\n",
        ["needs either `tasks:`", "`steps:`"],
        id="both-tasks-and-steps",
    ),
    pytest.param("", ["needs either `tasks:`"], id="empty-file"),
    pytest.param("- ping: {}\n", ["needs either `tasks:`"], id="a-list-not-a-mapping"),
    pytest.param("tasks: []\n", ["`tasks` must be a non-empty list"], id="empty-tasks"),
    pytest.param("tasks:\n", ["`tasks` must be a non-empty list"], id="null-tasks"),
    pytest.param("tasks: {ping: {}}\n", ["`tasks` must be a non-empty list"], id="tasks-a-mapping"),
    pytest.param(
        "tasks:\n  - ping: {}\n  - {name: two, ping: {}, package: {name: tree}}\n",
        ["task 2", "exactly one action of " + ALL_ACTIONS],
        id="two-actions",
    ),
    pytest.param(
        "tasks:\n  - name: copy it\n    copy: {src: a, dest: b}\n",
        ["task 1", "exactly one action of " + ALL_ACTIONS, "unknown key(s): copy"],
        id="unknown-action",
    ),
    pytest.param(
        "tasks:\n  - {name: only a name}\n",
        ["task 1", "exactly one action of " + ALL_ACTIONS],
        id="no-action",
    ),
    pytest.param(
        "tasks:\n  - {ping: {}, when: always}\n",
        ["task 1", "unknown key(s): when"],
        id="action-and-unknown-key",
    ),
    pytest.param(
        "tasks:\n  - ping: {}\n  - ping: {}\n  - file: {path: /x, content: y, mod: '0644'}\n",
        ["task 3", "file: unknown mod", "allowed: content, group, mode, owner, path"],
        id="unknown-argument",
    ),
    pytest.param(
        "tasks:\n  - ping: {verbose: true}\n",
        ["task 1", "ping: unknown verbose", "allowed: none"],
        id="argument-to-ping",
    ),
    pytest.param(
        "tasks:\n  - file: {path: /x}\n",
        ["task 1", "file: missing content", "allowed: content, group, mode, owner, path"],
        id="missing-required-argument",
    ),
    pytest.param(
        "tasks:\n  - fetch: {uri: http://x}\n",
        ["task 1", "fetch: missing path, url; unknown uri", "allowed: group, mode, owner, path, timeout, url"],
        id="missing-and-unknown",
    ),
    pytest.param(
        "tasks:\n  - package: tree\n",
        ["task 1", "package: arguments must be a mapping"],
        id="args-a-string",
    ),
    pytest.param(
        "tasks:\n  - command: [echo, hi]\n",
        ["task 1", "command: arguments must be a mapping"],
        id="args-a-list",
    ),
    pytest.param("tasks:\n  - ping\n", ["task 1", "a task is a mapping"], id="task-a-string"),
    pytest.param("steps: []\n", ["`steps` must be a non-empty list"], id="empty-steps"),
    pytest.param("steps: {hosts: all}\n", ["`steps` must be a non-empty list"], id="steps-a-mapping"),
    pytest.param(
        "steps:\n  - {hosts: all, tasks: [{ping: {}}]}\n  - {name: no hosts, tasks: [{ping: {}}]}\n",
        ["step 2", "a step has `hosts` (names or groups), `tasks`"],
        id="step-without-hosts",
    ),
    pytest.param(
        "steps:\n  - {hosts: [], tasks: [{ping: {}}]}\n",
        ["step 1", "a step has `hosts`"],
        id="step-with-empty-hosts",
    ),
    pytest.param("steps:\n  - all\n", ["step 1", "a step has `hosts`"], id="step-a-string"),
    pytest.param(
        "steps:\n  - {hosts: all}\n",
        ["step 1", "`tasks` must be a non-empty list"],
        id="step-without-tasks",
    ),
    pytest.param(
        "steps:\n  - {hosts: all, tasks: [{ping: {}}]}\n  - {hosts: all, tasks: [{ping: {}}, {pong: {}}]}\n",
        ["step 2, task 2", "exactly one action", "unknown key(s): pong"],
        id="bad-task-in-step",
    ),
    pytest.param(
        "family: [Debian]\ntasks: [{ping: {}}]\n",
        ["`family` maps an OS family (Debian, RedHat) to its values"],
        id="family-a-list",
    ),
    pytest.param(
        "family: {Debian: /usr/sbin/nologin}\ntasks: [{ping: {}}]\n",
        ["`family` maps an OS family"],
        id="family-value-not-a-mapping",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), BAD)
def test_bad_task_file_says_where_and_what(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(TaskFileError) as caught:
        load_taskfile(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(("text", "fragments"), BAD)
def test_parse_taskfile_names_the_given_source(text: str, fragments: list[str]) -> None:
    with pytest.raises(TaskFileError, match=r"^inline\.yml") as caught:
        parse_taskfile(text, "inline.yml")
    assert all(fragment in str(caught.value) for fragment in fragments)


def test_malformed_yaml_error_hides_the_yaml_traceback() -> None:
    with pytest.raises(TaskFileError) as caught:
        parse_taskfile("tasks: [\n", "x.yml")
    assert caught.value.__suppress_context__


def test_malformed_yaml_says_what_yaml_found_and_the_fix() -> None:
    with pytest.raises(TaskFileError) as caught:
        parse_taskfile("tasks:\n  - ping: {}\n bad: indent\n", "x.yml")
    assert str(caught.value) == (
        "x.yml, line 3: malformed YAML (expected <block end>, but found '<block mapping start>'); "
        "fix that line (a task file is YAML: `tasks:` or `steps:`, as in spikes/example/custom/desired_state.yml)"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"
    with pytest.raises(TaskFileError, match="cannot read task file") as caught:
        load_taskfile(path)
    assert str(path) in str(caught.value)
    assert "No such file or directory" in str(caught.value)
    assert "give the path of a YAML file with `tasks:` or `steps:`" in str(caught.value)


def test_a_directory_is_not_a_task_file(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="cannot read task file"):
        load_taskfile(tmp_path)


def test_valid_file_loaded_from_disk(tmp_path: Path) -> None:
    taskfile = load_text(tmp_path, "tasks:\n  - name: hi\n    command: {run: echo hi, creates: /x}\n")
    assert taskfile.source == str(tmp_path / "tasks.yml")
    assert taskfile.steps[0].tasks[0].args == {"run": "echo hi", "creates": "/x"}


# -- gaps found by these tests, now fixed ------------------------------------


def test_unknown_top_level_key_is_rejected() -> None:
    with pytest.raises(TaskFileError, match="famliy"):
        parse_taskfile("famliy: {Debian: {nologin: /usr/sbin/nologin}}\ntasks: [{ping: {}}]\n")


def test_restart_on_must_be_a_list() -> None:
    with pytest.raises(TaskFileError, match="restart_on"):
        parse_taskfile("tasks: [{service: {name: orka-agent, restart_on: orka-agent unit}}]\n")
