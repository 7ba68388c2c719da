"""Secrets stay out of everything a spike run writes, for every method, and still reach the nodes.

tests/integration/data/secrets declares a secret scenario var and, for each method, a secret where its own
tool holds it: Salt pillar keys, one plain and one GPG-encrypted (its key from ORKA_SALT_GPG_KEY_FILE), an
ansible-vault file (its password from ORKA_ANSIBLE_VAULT_PASSWORD) and a var only a no_log task uses, a runner
task file's marked var, pyinfra group data. Every method writes them root-only on every node.

Two runs, as a user runs them (`pytest spikes/ --scenario ...`):
- the whole spike with every method: its drift phase edits both files, so the dry runs' diffs (Salt's)
  hold the values; its checks read the files on the nodes (with sudo) and compare them with the values;
- a failing one: the files' owner is a user no node has, so every method's apply fails on them.
After each, no form of any value (as is, JSON or HTML escaped, base64) is in the reports, the run's logs or
its terminal output, and the run's own last scan says so; the full run's tools did print a value (orka's
marker stands in for it in the records), so the scan is no empty proof.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.results.store import read_records
from orka.secrets import Secrets
from orka.testing.leaks import DECLARED, scan_paths
from tests.integration.clusters import cluster_names, user_environment

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("secrets")]

SCENARIO = REPO_ROOT / "tests" / "integration" / "data" / "secrets"
CLUSTER = "orka-secrets"
METHODS = ("salt", "ansible", "custom", "pyinfra")
VAULT_PASSWORD = "orka-test-vault-pass"
GPG_KEY = SCENARIO / "keys" / "salt-gpg-secret-key.asc"  # made for this test alone
OWN_SECRETS = {"salt": 2, "ansible": 2, "custom": 1, "pyinfra": 1}  # what each tool gives orka
VALUES = {  # what scenario.yaml, the pillar, the vault, the vars and the group data hold
    "shared_token": "orka-shared-5d1c9a7e3b",
    "app:db_password": "salt-pillar-9f2e7c4a61",
    "gpg:token": "salt-gpg-6a1f0c9e27",
    "vault_db_password": "ansible-vault-4b8d2f6e90",
    "deploy_token": "ansible-nolog-1d4e7b2c93",
    "custom_token": "custom-runner-8e2b6d0f47",
    "api_key": "pyinfra-data-3c7a1e9f52",
}
Run = tuple[subprocess.CompletedProcess[str], Path]


def spike(reports: Path, scenario: Path, *selection: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "spikes/", "--scenario", str(scenario), "--cluster-name", CLUSTER]
    command += ["-p", "no:cacheprovider", "--results", str(reports / "results.json"), *selection]
    env = user_environment(
        ORKA_REPORTS=str(reports), ORKA_ANSIBLE_VAULT_PASSWORD=VAULT_PASSWORD, ORKA_SALT_GPG_KEY_FILE=str(GPG_KEY)
    )
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=1800, env=env)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    reports = tmp_path_factory.mktemp("secret-reports")
    return spike(reports, SCENARIO), reports


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    scenario = tmp_path_factory.mktemp("failing") / "secrets"
    shutil.copytree(SCENARIO, scenario)
    declared = scenario / "scenario.yaml"
    declared.write_text(declared.read_text().replace("secret_owner: root", "secret_owner: no-such-user"))
    reports = tmp_path_factory.mktemp("failing-reports")
    # The apply phase alone (each method's whole-phase test and its per-node ones): where it fails.
    return spike(reports, scenario, "-k", "test_apply or converges"), reports


def leaks(run: Run) -> list[str]:
    """Every place a value shows in what the run left: its reports, its clusters' logs, its terminal."""
    process, reports = run
    known = Secrets()
    for name, value in VALUES.items():
        known.declare(name, value)
    logs = [p for p in (REPO_ROOT / ".orka" / "logs").glob(f"{CLUSTER}*") if p.is_file()]
    found = [str(f) for f in scan_paths([reports, *logs], secrets=known) if f.kind.startswith(DECLARED)]
    found += [f"terminal: {name}" for name in known.found_in(process.stdout + process.stderr)]
    return found


def test_every_method_passes_with_its_secrets_kept_out(full_run: Run) -> None:
    process, _ = full_run
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr[-2000:]
    for method, count in OWN_SECRETS.items():  # each tool gave orka its own secrets
        assert f"[orka] {method}: {count} secret value(s) from its tool, kept out of every report" in process.stdout
    assert f"[orka] secrets: none of the {len(VALUES)} declared values in " in process.stdout
    assert leaks(full_run) == []
    assert CLUSTER not in cluster_names()


def test_the_values_reached_every_node(full_run: Run) -> None:
    _, reports = full_run
    checks = [r for r in read_records(reports / "results.json") if r.get("check")]
    passed = {(r["method"], r["check"]) for r in checks if r["verdict"] == "pass"}
    for method in METHODS:
        for check in ("test_the_shared_secret_reached_the_node", "test_the_tools_own_secret_reached_the_node"):
            assert (method, check) in passed, sorted(passed)
    assert all(r["verdict"] == "pass" for r in checks)
    assert len(checks) == len(METHODS) * 2 * 3 * 2  # two checks on three nodes, after the apply and the repair


def test_the_tools_printed_a_value_and_orka_redacted_it(full_run: Run) -> None:
    _, reports = full_run
    drift = [r for r in read_records(reports / "results.json") if r["phase"] == "drift" and r["node"] is None]
    salt = next(r for r in drift if r["method"] == "salt")
    # Salt's dry run shows the edited file's diff, the pillar's values in it (the decrypted one too): redacted.
    assert "[secret app:db_password]" in salt["raw"]
    assert "[secret gpg:token]" in salt["raw"]


def test_a_failing_apply_keeps_them_out_too(failing_run: Run) -> None:
    process, reports = failing_run
    assert process.returncode != 0
    applies = [r for r in read_records(reports / "results.json") if r["phase"] == "apply" and r["node"] is None]
    assert sorted(r["method"] for r in applies if r["verdict"] == "fail") == sorted(METHODS), process.stdout[-3000:]
    assert f"[orka] secrets: none of the {len(VALUES)} declared values in " in process.stdout
    assert leaks(failing_run) == []
    assert CLUSTER not in cluster_names()
