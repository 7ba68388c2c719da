"""Declared secrets as pure logic: their forms, redaction of text, data and pytest reports, the scenario's
declaration, the runner's and ansible-vault's markings, the pillar lookup, the leak scan."""

from __future__ import annotations

import base64
import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orka import secrets as secrets_module
from orka.config import REPO_ROOT
from orka.config.scenario import load_scenario
from orka.methods.ansible.nolog import no_log_variables
from orka.methods.ansible.vault import PASSWORD_ENV, PASSWORD_FILE_ENV, encrypted_in, password_problem
from orka.methods.base import MethodError, values_of
from orka.methods.salt.gpg import KEY_FILE_ENV, encrypted_pillar, key_problem
from orka.methods.salt.method import pillar_get
from orka.pytest_plugin.secrets import redact_report
from orka.results.store import append_records, read_records
from orka.runner.taskfile import TaskFileError, parse_taskfile
from orka.secrets import SecretError, Secrets, marker
from orka.testing.leaks import scan_paths

SCENARIO = REPO_ROOT / "tests" / "integration" / "data" / "secrets"
VALUE = "S3cr3t-T0ken-xyz-42"


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Secrets:
    """The process's registry, empty, and gone after the test (the session's last scan never sees it)."""
    fresh = Secrets()
    monkeypatch.setattr(secrets_module, "REGISTRY", fresh)
    return fresh


@pytest.fixture
def secrets() -> Secrets:
    found = Secrets()
    found.declare("app:token", VALUE)
    return found


@pytest.mark.parametrize(
    "shown",
    [
        VALUE,
        json.dumps({"diff": f"+token={VALUE}\n"}),
        html.escape(json.dumps({"a": f'"{VALUE}"'})),
        base64.b64encode(VALUE.encode()).decode(),
        base64.b64encode(b"x" + VALUE.encode() + b"yz").decode(),  # inside a longer base64 text, at each offset
        base64.b64encode(b"xy" + VALUE.encode()).decode(),
        base64.urlsafe_b64encode(b"\xff" + VALUE.encode()).decode(),
    ],
)
def test_every_form_of_the_value_is_redacted(secrets: Secrets, shown: str) -> None:
    redacted = secrets.redact(f"before {shown} after")
    assert marker("app:token") in redacted
    assert VALUE not in redacted
    assert secrets.found_in(redacted) == []
    assert redacted.startswith("before ")
    assert redacted.endswith(" after")


def test_a_value_of_several_lines_is_redacted_a_line_at_a_time() -> None:
    secrets = Secrets()
    secrets.declare("tls:key", "first line of it\nsecond line of it\nok")
    assert secrets.redact("-first line of it\n+second line of it") == "-[secret tls:key]\n+[secret tls:key]"


def test_text_without_secrets_is_left_alone(secrets: Secrets) -> None:
    assert secrets.redact("nothing here, S3cr3t but not all") == "nothing here, S3cr3t but not all"
    assert Secrets().redact(VALUE) == VALUE  # nothing declared: nothing to redact


def test_data_is_redacted_in_keys_values_and_lists(secrets: Secrets) -> None:
    data = {"raw": f"x {VALUE}", VALUE: [VALUE, 3, None], "n": 1}
    assert secrets.redact_data(data) == {
        "raw": "x [secret app:token]",
        "[secret app:token]": ["[secret app:token]", 3, None],
        "n": 1,
    }


def test_a_mapping_declares_each_leaf_and_a_short_one_is_refused_by_name() -> None:
    secrets = Secrets()
    assert secrets.declare("db", {"password": "longpassword", "replicas": ["replica-one-pw"]}) == 2
    assert secrets.redact("longpassword replica-one-pw") == "[secret db:password] [secret db:replicas:0]"
    with pytest.raises(SecretError, match=r"secret db:user \(scenario x\) is shorter than 6 characters.*declare"):
        secrets.declare("db", {"user": "app", "password": "longpassword"}, "scenario x")


def test_the_marker_keeps_to_characters_json_html_and_xml_take_as_they_are() -> None:
    assert marker('a"b<c>&d') == "[secret a_b_c__d]"


def test_records_are_redacted_before_they_are_written(tmp_path: Path, registry: Secrets) -> None:
    registry.declare("unit:record", "record-secret-123456")
    path = tmp_path / "results.json"
    append_records(path, [{"raw": "out: record-secret-123456", "node": "n1"}])
    text = path.read_text()
    assert "record-secret-123456" not in text
    assert read_records(path) == [{"raw": "out: [secret unit:record]", "node": "n1"}]


def test_a_pytest_report_is_redacted_in_its_failure_sections_and_properties(registry: Secrets) -> None:
    registry.declare("unit:report", "report-secret-654321")
    report = pytest.TestReport(
        "t.py::test", ("t.py", 1, "test"), {}, "failed", "assert 'report-secret-654321' == 'x'", "call",
        sections=[("Captured stdout call", "printed report-secret-654321")],
        user_properties=[("detail", "report-secret-654321")],
    )  # fmt: skip
    redact_report(report)
    assert "report-secret-654321" not in str(report.longrepr)
    assert "[secret unit:report]" in str(report.longrepr)
    assert report.sections == [("Captured stdout call", "printed [secret unit:report]")]
    assert report.user_properties == [("detail", "[secret unit:report]")]


def test_the_secrets_scenario_declares_each_holder() -> None:
    scenario, problems = load_scenario(SCENARIO)
    assert problems == []
    assert scenario is not None
    assert scenario.secret_names("salt") == ("app:db_password", "gpg:token")
    assert scenario.secret_names("pyinfra") == ("api_key",)
    assert scenario.secret_names("ansible") == ()
    assert scenario.secret_vars() == {"shared_token": "orka-shared-5d1c9a7e3b"}


@pytest.mark.parametrize(
    ("declared", "says"),
    [
        ("secrets: {chef: [x]}", "secrets.chef: unknown; allowed: vars, salt, ansible, custom, pyinfra"),
        ("secrets: {vars: [nope]}", "secrets.vars: nope not in `vars:`"),
        ("secrets: {pyinfra: [x]}", "secrets.pyinfra: the scenario has no pyinfra/ folder"),
        ("secrets: {salt: x}", "secrets.salt: Input should be a valid list"),
    ],
)
def test_a_wrong_declaration_is_named_with_its_fix(tmp_path: Path, declared: str, says: str) -> None:
    shutil.copytree(SCENARIO / "salt", tmp_path / "salt")
    (tmp_path / "scenario.yaml").write_text(declared + "\n")
    scenario, problems = load_scenario(tmp_path)
    assert scenario is None
    assert any(says in p for p in problems), problems


def test_a_task_file_marks_its_secret_vars() -> None:
    assert parse_taskfile("secrets: [api_token]\ntasks: [{ping: {}}]").secrets == ("api_token",)
    with pytest.raises(TaskFileError, match="`secrets` is a list of the names of vars"):
        parse_taskfile("secrets: api_token\ntasks: [{ping: {}}]")


def test_values_are_looked_up_in_every_source_once_each() -> None:
    found = values_of(["a", "b"], [{"a": "value-one"}, {"a": "value-one", "b": "value-two"}, {"a": "value-3"}], "m")
    assert found == [("a", "value-one"), ("a", "value-3"), ("b", "value-two")]
    with pytest.raises(MethodError, match=r"m: secret c declared in scenario.yaml's `secrets.m` has no value"):
        values_of(["c"], [{"a": 1}], "m")


def test_a_pillar_key_is_found_as_pillar_get_finds_it() -> None:
    pillar = {"app": {"db": {"password": "pw-123456"}, "list": ["first-item"]}}
    assert pillar_get(pillar, "app:db:password") == "pw-123456"
    assert pillar_get(pillar, "app:list:0") == "first-item"
    assert pillar_get(pillar, "app:nope") is None


def test_ansible_vault_files_and_inline_values_are_found(tmp_path: Path) -> None:
    assert encrypted_in(SCENARIO / "ansible").files == ("group_vars/all/vault.yml",)
    (tmp_path / "vars.yml").write_text("plain: 1\ndb_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "cert").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    found = encrypted_in(tmp_path)
    assert (found.files, found.variables) == (("files/cert",), ("db_password",))


def test_a_vault_without_its_password_is_named_with_where_to_give_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_FILE_ENV, raising=False)
    problem = password_problem(SCENARIO / "ansible")
    assert problem is not None
    assert problem.startswith("group_vars/all/vault.yml: is encrypted with ansible-vault; give its password in ")
    assert "never in settings" in problem
    monkeypatch.setenv(PASSWORD_ENV, "given")
    assert password_problem(SCENARIO / "ansible") is None


def test_a_gpg_encrypted_pillar_without_its_key_is_named_with_where_to_give_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tree = SCENARIO / "salt"
    assert encrypted_pillar(tree) == ["pillar/gpg.sls"]
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    problem = key_problem(tree)
    assert problem is not None
    assert problem.startswith("pillar/gpg.sls: holds a GPG-encrypted value; give the path of its secret key")
    assert KEY_FILE_ENV in problem
    (tmp_path / "public.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "public.asc"))
    assert "holds no armored secret key" in str(key_problem(tree))
    monkeypatch.setenv(KEY_FILE_ENV, str(SCENARIO / "keys" / "salt-gpg-secret-key.asc"))
    assert key_problem(tree) is None
    assert encrypted_pillar(REPO_ROOT / "spikes" / "example" / "salt") == []


def test_the_leak_scan_finds_declared_secrets_and_token_shapes(secrets: Secrets, tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text(f"ok\n{html.escape(json.dumps({'v': VALUE}))}\n")
    (tmp_path / "log").write_text("key AKIAABCDEFGHIJKLMNOP and " + "ghp_" + "a" * 36 + "\n")
    kinds = {(f.path.name, f.line, f.kind) for f in scan_paths([tmp_path], secrets=secrets)}
    assert kinds == {
        ("report.html", 2, "declared secret app:token"),
        ("log", 1, "AWS access key id"),
        ("log", 1, "GitHub token"),
    }


def test_the_leak_scan_takes_a_secret_from_the_environment_and_never_prints_it(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(f"<failure>{VALUE}</failure>\n")
    run = subprocess.run(
        [sys.executable, "-m", "orka.testing.leaks", str(tmp_path), "--secret-env", "UNIT_SECRET"],
        capture_output=True, text=True, check=False, env={"UNIT_SECRET": VALUE, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert run.returncode == 1
    assert f"{tmp_path / 'junit.xml'}:1: declared secret UNIT_SECRET" in run.stdout
    assert VALUE not in run.stdout + run.stderr


def test_a_no_log_tasks_variables_are_found_and_ansibles_own_names_left_out(tmp_path: Path) -> None:
    assert no_log_variables(SCENARIO / "ansible") == ("vault_db_password", "deploy_token")  # not its owner
    (tmp_path / "playbook.yml").write_text(
        "- hosts: all\n  tasks:\n"
        "    - name: shown\n      ansible.builtin.debug: {msg: '{{ shown_var }}'}\n"
        "    - name: hidden\n      no_log: yes\n"
        "      ansible.builtin.command: 'login {{ api_key | trim }} {{ item }}'\n"
        "      loop: '{{ ansible_play_hosts }}'\n"
        "    - block:\n        - ansible.builtin.copy: {content: '{{ tls.key }}', dest: /x}\n      no_log: true\n"
    )
    assert no_log_variables(tmp_path) == ("api_key", "tls")
