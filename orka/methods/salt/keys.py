"""Salt keys made on the host and pre-seeded, so no minion waits to be accepted.

The master's key pair and one pair per minion are generated here; the master
gets every minion's public key in pki/master/minions/<id>, each minion its own
pair and the master's public key. auto_accept stays off: a minion whose key
orka did not seed is never accepted.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _write_pair(private_path: Path, public_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def ensure_salt_keys(keys_dir: Path, minion_ids: list[str]) -> Path:
    """Make master.pem/.pub and <id>.pem/.pub for each minion under keys_dir (kept if present)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    for name in ["master", *minion_ids]:
        private, public = keys_dir / f"{name}.pem", keys_dir / f"{name}.pub"
        if not (private.exists() and public.exists()):
            _write_pair(private, public)
    return keys_dir
