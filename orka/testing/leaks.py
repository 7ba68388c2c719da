"""Private key material, tokens and declared secrets where they must never be: reports, logs, JUnit files.

Four kinds of finding:

- any private key, by its shape: a `-----BEGIN ... PRIVATE KEY-----` line
  (PEM, OpenSSH, PGP), or the start of a key body whose header was cut off
  (OpenSSH's `openssh-key-v1`, an RSA key in PKCS#1 or PKCS#8);
- a known key (the cluster's own SSH and Salt keys, given as files), by its
  secret numbers alone, never its public half: found whole or in part, in
  base64 at any offset and however it was wrapped or escaped (JSON `\\n`,
  HTML and XML entities, `\\/`), or as raw bytes;
- a token by its shape: a cloud provider's access key, a GitHub, GitLab or
  Slack token, a JSON Web Token (TOKEN_SHAPES);
- a declared secret (orka.secrets) in any of its forms: the values a run's
  scenarios declared, looked for by the run itself at its end (a value is
  never written down for a later scan), or given here by the environment
  variables named with --secret-env.

A finding names the file, the line and the kind, never the secret.

    python -m orka.testing.leaks reports/ .orka/logs/ [--key FILE]... [--keys-in DIR]... [--secret-env VAR]...
    # exit 1 and one line per finding, 0 when clean, 2 on bad input
"""

from __future__ import annotations

import argparse
import base64
import bisect
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519

from orka.errors import OrkaError
from orka.secrets import SecretError, Secrets

# 24 base64 characters are 18 bytes of a secret: no accidental match, and a
# leak cut down to a few dozen characters (a report's tail) is still found.
CHUNK = 24

PEM_HEADER = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----")
# Key bodies by their first bytes, for a key whose header line was lost.
BODY_SIGNATURES = {
    "OpenSSH private key body": re.compile(r"b3BlbnNzaC1rZXktdjE"),  # "openssh-key-v1"
    "RSA private key body (PKCS#1)": re.compile(r"MII[A-Za-z0-9+/]{3}IBAAK[BC]"),  # SEQUENCE, version 0, modulus
    "RSA private key body (PKCS#8)": re.compile(r"MII[A-Za-z0-9+/]{3}IBADANBgkqhkiG9w0BAQEF"),
}
# Tokens by their documented shapes; each is long and specific enough to name no ordinary text.
TOKEN_SHAPES = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
    "GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe secret key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{24,}\b"),
    "JSON Web Token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}"),
}
DECLARED = "declared secret"  # a finding's kind: "declared secret NAME"
# What wraps a key in a text file (removed), and how its three non-alphanumeric
# base64 characters are escaped in JSON, HTML, XML and URLs (undone).
_SEPARATORS = re.compile(r"\s+|\\+[nrt]|\\+u000[9ad]|&#0*(?:9|10|13);|&#x0*[9ad];|<br\s*/?>", re.IGNORECASE)
_ESCAPES = (
    (re.compile(r"&#0*43;|&#x0*2b;|\\+u002b|%2b", re.IGNORECASE), "+"),
    (re.compile(r"&#0*47;|&#x0*2f;|\\+u002f|%2f|\\+/", re.IGNORECASE), "/"),
    (re.compile(r"&#0*61;|&#x0*3d;|\\+u003d|%3d", re.IGNORECASE), "="),
)


class LeakScanError(OrkaError):
    """A path to scan or a key to look for cannot be read."""


@dataclass(frozen=True, order=True)
class Finding:
    """Private key material in a file: where, and what kind (never the material)."""

    path: Path
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


@dataclass(frozen=True)
class KnownKey:
    """A private key to look for by its secret parts, named by its file."""

    label: str
    secrets: tuple[bytes, ...]

    def needles(self) -> frozenset[str]:
        """Base64 pieces of every secret, at each of the three byte offsets base64 can start at."""
        found: set[str] = set()
        for secret in self.secrets:
            for shift in range(3):
                part = secret[shift:]
                encoded = base64.b64encode(part[: len(part) // 3 * 3]).decode()
                if len(encoded) < CHUNK:
                    continue
                found.update(encoded[i : i + CHUNK] for i in range(0, len(encoded) - CHUNK + 1, CHUNK))
                found.add(encoded[-CHUNK:])
        return frozenset(found)


def _as_bytes(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def _load_private_key(data: bytes) -> object:
    if b"OPENSSH PRIVATE KEY" in data:
        return serialization.load_ssh_private_key(data, password=None)
    if b"-----BEGIN" in data:
        return serialization.load_pem_private_key(data, password=None)
    return serialization.load_der_private_key(data, password=None)


def secret_parts(key: object) -> tuple[bytes, ...]:
    """The numbers that make a private key private (its public half is left out)."""
    if isinstance(key, rsa.RSAPrivateKey):
        n = key.private_numbers()
        return tuple(_as_bytes(i) for i in (n.d, n.p, n.q, n.dmp1, n.dmq1, n.iqmp))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return (_as_bytes(key.private_numbers().private_value),)
    if isinstance(key, dsa.DSAPrivateKey):
        return (_as_bytes(key.private_numbers().x),)
    if isinstance(
        key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey
    ):
        raw = serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        return (key.private_bytes(*raw),)
    raise LeakScanError(f"unsupported private key type {type(key).__name__}")


def load_known_key(path: Path) -> KnownKey:
    """A private key file to look for; a clear error if it is not one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LeakScanError(f"cannot read key {path}: {exc.strerror}") from None
    try:
        key = _load_private_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise LeakScanError(
            f"{path} is not an unencrypted private key (PEM, OpenSSH or DER): give the private key file"
        ) from None
    return KnownKey(str(path), secret_parts(key))


def _unwrapped_lines(text: str) -> tuple[str, list[int]]:
    """The text with wrapping and escapes undone, and where each of its lines starts in it."""
    starts: list[int] = []
    pieces: list[str] = []
    length = 0
    for line in text.split("\n"):
        starts.append(length)
        piece = _SEPARATORS.sub("", line)
        if "&" in piece or "\\" in piece or "%" in piece:
            for escaped, char in _ESCAPES:
                piece = escaped.sub(char, piece)
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces), starts


def _occurrences(haystack: str, needle: str) -> Iterator[int]:
    index = haystack.find(needle)
    while index != -1:
        yield index
        index = haystack.find(needle, index + 1)


def scan_bytes(data: bytes, path: Path, keys: Sequence[KnownKey] = (), secrets: Secrets | None = None) -> list[Finding]:
    """Every piece of private key material, token and declared secret in one file's content: one finding per
    place and kind."""
    text = data.decode("latin-1")  # one char per byte: base64 is ASCII, and nothing fails to decode
    found: set[tuple[int, str]] = set()
    for number, line in enumerate(text.split("\n"), start=1):
        for match in PEM_HEADER.finditer(line):
            found.add((number, f"{match.group(1)}PRIVATE KEY{match.group(2) or ''} block"))
        found.update((number, kind) for kind, shape in TOKEN_SHAPES.items() if shape.search(line))
    if secrets:
        for number, line in enumerate(data.decode("utf-8", errors="replace").split("\n"), start=1):
            found.update((number, f"{DECLARED} {name}") for name in secrets.found_in(line))
    flat, starts = _unwrapped_lines(text)

    def line_of(offset: int) -> int:
        return bisect.bisect_right(starts, offset)

    for kind, signature in BODY_SIGNATURES.items():
        for match in signature.finditer(flat):
            # Right after its own header it is the block already found above.
            if not flat.endswith("PRIVATEKEY-----", 0, match.start()):
                found.add((line_of(match.start()), f"{kind} without its header"))
    for key in keys:
        kind = f"private key {key.label}"
        for needle in key.needles():
            found.update((line_of(offset), kind) for offset in _occurrences(flat, needle))
        for secret in key.secrets:
            index = data.find(secret)
            while index != -1:
                found.add((data.count(b"\n", 0, index) + 1, f"{kind} (raw bytes)"))
                index = data.find(secret, index + 1)
    # A key spread over consecutive lines is one finding, at its first line.
    return sorted(Finding(path, line, kind) for line, kind in found if (line - 1, kind) not in found)


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for folder, dirs, names in os.walk(path):
                dirs.sort()
                yield from (Path(folder) / name for name in sorted(names))
        elif path.exists():
            yield path
        else:
            raise LeakScanError(f"{path} does not exist: give a file or folder to scan")


def scan_paths(paths: Iterable[Path], keys: Sequence[KnownKey] = (), secrets: Secrets | None = None) -> list[Finding]:
    """Scan files, and folders recursively (symlinked folders are not followed)."""
    findings: list[Finding] = []
    for file in _files(paths):
        if not file.is_file():
            continue  # a socket, a fifo, a dangling link
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise LeakScanError(f"cannot read {file}: {exc.strerror}") from None
        findings.extend(scan_bytes(data, file, keys, secrets))
    return findings


def private_key_files(folder: Path) -> list[Path]:
    """The files under folder that hold a private key block (a cluster's own keys, say)."""
    return sorted({f.path for f in scan_paths([folder]) if f.kind.endswith("PRIVATE KEY block")})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orka.testing.leaks",
        description="Find private key material in files and folders (reports, logs, JUnit). "
        "Exit 1 with one line per finding, 0 when there is none.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder to scan")
    parser.add_argument("--key", action="append", default=[], type=Path, help="a private key to look for by content")
    parser.add_argument(
        "--keys-in", action="append", default=[], type=Path, metavar="DIR", help="look for every private key under DIR"
    )
    parser.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="VAR",
        help="look for the value of this environment variable as a declared secret (in all its forms)",
    )
    args = parser.parse_args(argv)
    try:
        key_files = [*args.key, *(k for folder in args.keys_in for k in private_key_files(folder))]
        keys = [load_known_key(path) for path in key_files]
        secrets = _secrets_from_env(args.secret_env)
        findings = scan_paths(args.paths, keys, secrets)
    except LeakScanError as exc:
        print(f"orka.testing.leaks: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    scanned = ", ".join(str(p) for p in args.paths)
    if findings:
        files = len({f.path for f in findings})
        print(f"orka.testing.leaks: {len(findings)} finding(s) of secret material in {files} file(s) under {scanned}")
        return 1
    print(
        f"orka.testing.leaks: no private key, token or declared secret in {scanned} "
        f"({len(keys)} known key(s), {len(secrets)} declared secret(s) looked for)"
    )
    return 0


def _secrets_from_env(names: Sequence[str]) -> Secrets:
    secrets = Secrets()
    for name in names:
        value = os.environ.get(name)
        if not value:
            raise LeakScanError(f"--secret-env {name}: the environment has no {name}; export it, or leave the flag out")
        try:
            secrets.declare(name, value)
        except SecretError as exc:
            raise LeakScanError(str(exc)) from None
    return secrets


if __name__ == "__main__":
    sys.exit(main())
