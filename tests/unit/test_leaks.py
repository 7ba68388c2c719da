"""Unit tests of orka.testing.leaks: private key material is found however a report or log wraps it.

Every key here is a throwaway made in the test (an ed25519 key in OpenSSH
format, as orka's SSH keys are, and an RSA key in PEM, as orka's Salt keys
are), written into files shaped like what orka writes: logs, JSON records, the
HTML comparison and JUnit XML.
"""

from __future__ import annotations

import base64
import html
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from orka.config import REPO_ROOT
from orka.testing.leaks import Finding, KnownKey, LeakScanError, load_known_key, main, private_key_files, scan_paths


@dataclass(frozen=True)
class KeyFiles:
    """A throwaway key pair on disk, with its text forms."""

    private: Path
    public: Path

    @property
    def pem(self) -> str:
        return self.private.read_text()

    @property
    def body_lines(self) -> list[str]:
        return [line for line in self.pem.splitlines() if line and not line.startswith("-----")]


def _write(path: Path, private: bytes, public: bytes) -> KeyFiles:
    path.write_bytes(private)
    path.with_suffix(".pub").write_bytes(public)
    return KeyFiles(path, path.with_suffix(".pub"))


@pytest.fixture
def ssh_key(tmp_path: Path) -> KeyFiles:
    """Like the cluster's SSH key: ed25519 in OpenSSH's format."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return _write(tmp_path / "id_ed25519", private, public + b" orka-test\n")


@pytest.fixture
def salt_key(tmp_path: Path) -> KeyFiles:
    """Like a Salt master's or minion's key: RSA 2048 in traditional PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _write(tmp_path / "master.pem", private, public)


@pytest.fixture
def known(ssh_key: KeyFiles, salt_key: KeyFiles) -> list[KnownKey]:
    return [load_known_key(ssh_key.private), load_known_key(salt_key.private)]


def scan(path: Path, keys: list[KnownKey] | None = None) -> list[tuple[int, str]]:
    return [(f.line, f.kind) for f in scan_paths([path], keys or [])]


def kinds(path: Path, keys: list[KnownKey] | None = None) -> set[str]:
    return {kind for _, kind in scan(path, keys)}


# --- clean files ---------------------------------------------------------------------------------


def test_a_clean_log_with_public_keys_has_no_finding(
    tmp_path: Path, ssh_key: KeyFiles, salt_key: KeyFiles, known: list[KnownKey]
) -> None:
    """Public keys are no secret: neither their text nor the known keys' public halves are findings."""
    log = tmp_path / "clean.log"
    log.write_text(
        "  0.4 s  ==> orka-node-1: Creating the container...\n"
        f"  9.1 s  orka: common.sh orka-node-1 {ssh_key.public.read_text().strip()}\n"
        f"{salt_key.public.read_text()}"
        '{"raw": "orka-node-1: True", "key": "see /etc/salt/pki/minion/minion.pem"}\n'
        "mentions of a PRIVATE KEY in prose are fine\n"
    )
    assert scan(log, known) == []


def test_the_public_half_of_an_rsa_body_is_no_finding(
    tmp_path: Path, salt_key: KeyFiles, known: list[KnownKey]
) -> None:
    """The key body's first lines hold the public modulus only: the same base64 as in the public key."""
    fragment = tmp_path / "fragment.txt"
    fragment.write_text("\n".join(salt_key.body_lines[1:4]) + "\n")  # after the PKCS#1 start, before d
    assert scan(fragment, known) == []


# --- any private key, by its shape ---------------------------------------------------------------


def test_a_key_file_is_found_by_its_header(ssh_key: KeyFiles, salt_key: KeyFiles) -> None:
    assert scan(ssh_key.private) == [(1, "OPENSSH PRIVATE KEY block")]
    assert scan(salt_key.private) == [(1, "RSA PRIVATE KEY block")]


def test_a_key_in_json_with_escaped_newlines_is_found(tmp_path: Path, ssh_key: KeyFiles) -> None:
    records = tmp_path / "results.json"
    records.write_text(json.dumps([{"phase": "ping"}, {"raw": "cat says:\n" + ssh_key.pem}], indent=1))
    line = next(n for n, text in enumerate(records.read_text().splitlines(), 1) if "cat says" in text)
    assert scan(records) == [(line, "OPENSSH PRIVATE KEY block")]


def test_bodies_without_their_header_are_found(tmp_path: Path, ssh_key: KeyFiles, salt_key: KeyFiles) -> None:
    """A key whose BEGIN line was cut off (the tail of an output) is still a key."""
    tail = tmp_path / "tail.txt"
    tail.write_text("...\n" + "\n".join(ssh_key.body_lines) + "\n" + "\n".join(salt_key.body_lines) + "\n")
    assert scan(tail) == [
        (2, "OpenSSH private key body without its header"),
        (2 + len(ssh_key.body_lines), "RSA private key body (PKCS#1) without its header"),
    ]


def test_a_pgp_key_block_and_pkcs8_header_are_found(tmp_path: Path) -> None:
    text = tmp_path / "mixed.txt"
    # Spelled in pieces, so that no scanner of this repository takes this file for a key.
    begin = "-----BEGIN"
    text.write_text(f"a\n{begin} PGP PRIVATE KEY BLOCK-----\nb\n{begin} PRIVATE KEY-----\n")
    assert scan(text) == [(2, "PGP PRIVATE KEY BLOCK block"), (4, "PRIVATE KEY block")]


# --- the cluster's own keys, by their secret parts -----------------------------------------------


def test_a_known_key_in_html_is_found_at_its_line(tmp_path: Path, ssh_key: KeyFiles, known: list[KnownKey]) -> None:
    page = tmp_path / "comparison.html"
    page.write_text(f"<html>\n<body>\n<pre>{html.escape(ssh_key.pem)}</pre>\n</body></html>\n")
    findings = scan(page, known)
    assert findings[0] == (3, "OPENSSH PRIVATE KEY block")
    # The secret (the seed) starts a few lines into the body, after the public key; one finding for it.
    assert [kind for _, kind in findings[1:]] == [f"private key {ssh_key.private}"]
    assert 4 <= findings[1][0] < 4 + len(ssh_key.body_lines)


def test_a_known_key_rewrapped_with_entities_and_escaped_slashes_is_found(
    tmp_path: Path, salt_key: KeyFiles, known: list[KnownKey]
) -> None:
    """No header, other line width, newlines as &#10;, '/' as &#x2F; and '+' as &#43;."""
    body = "".join(salt_key.body_lines)
    wrapped = "&#10;".join(body[i : i + 76] for i in range(0, len(body), 76))
    escaped = wrapped.replace("/", "&#x2F;").replace("+", "&#43;")
    page = tmp_path / "page.html"
    page.write_text(f'<div title="{escaped}"></div>\n')
    assert f"private key {salt_key.private}" in kinds(page, known)


def test_a_fragment_of_a_known_secret_in_json_is_found(
    tmp_path: Path, salt_key: KeyFiles, known: list[KnownKey]
) -> None:
    """A few lines from the middle of the body (the private exponent), JSON-escaped, header gone."""
    fragment = "\n".join(salt_key.body_lines[10:13])
    records = tmp_path / "results.json"
    records.write_text('[\n {"raw": ' + json.dumps("tail:\n" + fragment).replace("/", "\\/") + "}\n]\n")
    assert scan(records, known) == [(2, f"private key {salt_key.private}")]
    assert scan(records) == [], "without the key the fragment is only base64"


def test_a_known_key_in_junit_xml_is_found(tmp_path: Path, ssh_key: KeyFiles, known: list[KnownKey]) -> None:
    suite = ET.Element("testsuite", name="orka")
    case = ET.SubElement(suite, "testcase", name="test_ping[salt-orka-node-1]")
    ET.SubElement(case, "system-out").text = "output\n" + "\n".join(ssh_key.body_lines[1:])
    junit = tmp_path / "junit.xml"
    ET.ElementTree(suite).write(junit, encoding="utf-8", xml_declaration=True)
    assert kinds(junit, known) == {f"private key {ssh_key.private}"}


def test_known_secrets_are_found_as_raw_bytes(tmp_path: Path, salt_key: KeyFiles, known: list[KnownKey]) -> None:
    der = serialization.load_pem_private_key(salt_key.private.read_bytes(), password=None).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    blob = tmp_path / "dump.bin"
    blob.write_bytes(b"\x00\x01binary\n" + der)
    assert f"private key {salt_key.private} (raw bytes)" in kinds(blob, known)


def test_needles_cover_every_offset_of_a_secret() -> None:
    """Embedded at any byte offset in a base64 stream, a secret still shows one of its needles."""
    secret = bytes(range(1, 61))
    needles = KnownKey("k", (secret,)).needles()
    for offset in range(6):
        stream = base64.b64encode(b"x" * offset + secret + b"tail").decode()
        assert any(n in stream for n in needles), f"missed at offset {offset}"


# --- folders, key files, the command line --------------------------------------------------------


def test_folders_are_scanned_recursively(tmp_path: Path, ssh_key: KeyFiles) -> None:
    nested = tmp_path / "reports" / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "leak.log").write_text("x\n" + ssh_key.pem)
    (tmp_path / "reports" / "clean.txt").write_text("fine\n")
    assert scan_paths([tmp_path / "reports"]) == [
        Finding(nested / "leak.log", 2, "OPENSSH PRIVATE KEY block"),
    ]


def test_private_key_files_lists_only_private_keys(tmp_path: Path, ssh_key: KeyFiles, salt_key: KeyFiles) -> None:
    assert private_key_files(tmp_path) == sorted([ssh_key.private, salt_key.private])


def test_a_file_that_is_not_a_key_is_refused_with_the_fix(salt_key: KeyFiles) -> None:
    with pytest.raises(LeakScanError, match=r"master\.pub is not an unencrypted private key .*give the private key"):
        load_known_key(salt_key.public)


def test_cli_exits_1_with_findings_and_never_prints_the_secret(
    tmp_path: Path, ssh_key: KeyFiles, salt_key: KeyFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "vagrant.log").write_text("up\n" + "\n".join(salt_key.body_lines[8:12]) + "\n")
    assert main([str(logs), "--key", str(salt_key.private), "--keys-in", str(ssh_key.private.parent)]) == 1
    out = capsys.readouterr().out
    assert f"{logs / 'vagrant.log'}:2: private key {salt_key.private}" in out
    assert "1 finding(s) of secret material in 1 file(s)" in out
    body = "".join(salt_key.body_lines)
    assert not any(body[i : i + 16] in out for i in range(len(body) - 16)), "a piece of the key was printed"


def test_cli_exits_0_when_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "clean.log").write_text("nothing here\n")
    assert main([str(tmp_path)]) == 0
    assert "no private key, token or declared secret" in capsys.readouterr().out


def test_cli_names_a_missing_path_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err == f"orka.testing.leaks: {tmp_path / 'nope'} does not exist: give a file or folder to scan\n"


def test_python_dash_m_runs_the_scanner(tmp_path: Path, ssh_key: KeyFiles) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "orka.testing.leaks", str(ssh_key.private)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    assert f"{ssh_key.private}:1: OPENSSH PRIVATE KEY block" in run.stdout
