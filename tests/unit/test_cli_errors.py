"""The `orka` command refuses bad input the way a user sees it: one clear message, exit 2.

Each case runs `python -m orka` in a child process from the repository root,
and checks that nothing was created before the refusal: no cluster state
folder under .orka/clusters/ (a cluster's containers are only ever created
after its state folder, so no new folder means no new container either).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orka.settings import DEFAULT_SETTINGS_PATH, REPO_ROOT

CLUSTERS_DIR = REPO_ROOT / ".orka" / "clusters"
# A refused command answers at once; a hang means it went on to bring something up.
TIMEOUT_S = 120


def cluster_entries() -> set[str]:
    if not CLUSTERS_DIR.is_dir():
        return set()
    return {p.name for p in CLUSTERS_DIR.iterdir()}


def kept_clusters() -> set[str]:
    return {name for name in cluster_entries() if (CLUSTERS_DIR / name / "spec.json").exists()}


def run_orka(*args: str) -> subprocess.CompletedProcess[str]:
    """Run orka as a user would, from the repository root, with no ORKA_SETTINGS around."""
    env = {k: v for k, v in os.environ.items() if k != "ORKA_SETTINGS"}
    return subprocess.run(
        [sys.executable, "-m", "orka", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def refused(*args: str) -> str:
    """Run orka, expect a clean refusal that creates nothing; return its stderr."""
    before = cluster_entries()
    result = run_orka(*args)
    after = cluster_entries()
    assert after - before == set(), f"orka {' '.join(args)} created cluster state: {sorted(after - before)}"
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("orka: error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    return result.stderr


def test_cluster_size_below_the_minimum() -> None:
    stderr = refused("up", "--cluster-size", "2")
    assert "cluster (override)" in stderr
    assert "2 is too small" in stderr
    assert "allowed: an integer from 3 to 100" in stderr


def test_unknown_provider() -> None:
    stderr = refused("up", "--provider", "vmware")
    assert "provider (override)" in stderr
    assert "'vmware'" in stderr
    assert "allowed: auto, docker, virtualbox, libvirt" in stderr


def test_missing_settings_file() -> None:
    stderr = refused("up", "--settings", "/nonexistent.yaml")
    assert "/nonexistent.yaml does not exist" in stderr
    # How to fix it: what to copy, and the two ways to point at another file.
    assert str(DEFAULT_SETTINGS_PATH) in stderr
    assert "--settings PATH" in stderr
    assert "ORKA_SETTINGS" in stderr


def test_malformed_yaml(tmp_path: Path) -> None:
    settings = tmp_path / "broken.yaml"
    settings.write_text("cluster: 3\nmethods: [salt, ansible\nprovider: auto\n", encoding="utf-8")
    stderr = refused("up", "--settings", str(settings))
    assert str(settings) in stderr
    assert "line 3" in stderr
    assert "malformed YAML" in stderr
    assert "allowed: YAML 'key: value' lines" in stderr


def test_unknown_key(tmp_path: Path) -> None:
    settings = tmp_path / "typo.yaml"
    settings.write_text("cluster: 3\nclustr: 4\n", encoding="utf-8")
    stderr = refused("status", "--settings", str(settings))
    assert str(settings) in stderr
    assert "clustr: unknown key" in stderr
    assert "did you mean 'cluster'?" in stderr
    assert "allowed: cluster, provider, methods" in stderr


def test_unknown_key_refused_by_up(tmp_path: Path) -> None:
    settings = tmp_path / "typo.yaml"
    settings.write_text("node:\n  cpu: 2\n", encoding="utf-8")
    stderr = refused("up", "--settings", str(settings))
    assert "node.cpu: unknown key" in stderr
    assert "did you mean 'node.cpus'?" in stderr
    assert "allowed: node.cpus, node.memory" in stderr


def test_every_problem_is_reported_at_once() -> None:
    stderr = refused("up", "--cluster-size", "2", "--provider", "vmware")
    assert "cluster (override)" in stderr
    assert "provider (override)" in stderr


def test_help_lists_the_commands() -> None:
    result = run_orka("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: orka")
    for command in ("up", "status", "down"):
        assert command in result.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert "Traceback" not in result.stderr


def test_no_command_is_a_usage_error() -> None:
    result = run_orka()
    assert result.returncode == 2
    assert "usage: orka" in result.stderr
    assert "Traceback" not in result.stderr
