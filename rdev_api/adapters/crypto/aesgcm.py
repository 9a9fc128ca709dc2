"""AES-256-GCM under the master key (spec/rdev-api.md "Credentials"). A sealed value is
`version byte || 12-byte nonce || ciphertext+tag`; the context (e.g. `credential:NAME`) is
authenticated associated data, so a value moved to another row does not open."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32
MASTER_KEY_FILE = "master.key"


class SecretBoxError(Exception):
    """A sealed value does not open: wrong key, wrong context, or tampered."""


def decode_master_key(text: str, source: str) -> bytes:
    """32 bytes from their base64url text; the error names where the text came from."""
    try:
        stripped = text.strip()
        key = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{source} is not base64url text") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"{source} must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def encode_master_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def load_or_create_master_key(data_dir: Path, from_env: str | None) -> tuple[bytes, bool]:
    """The master key: `RDEV_MASTER_KEY` when given, else `master.key` in the data dir, created
    (0600, 32 random bytes) on first start. Returns (key, created)."""
    if from_env:
        return decode_master_key(from_env, "RDEV_MASTER_KEY"), False
    path = data_dir / MASTER_KEY_FILE
    if path.exists():
        return decode_master_key(path.read_text(encoding="ascii"), str(path)), False
    key = secrets.token_bytes(KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(encode_master_key(key) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key, True


class AesGcmBox:
    """The SecretBox port over AES-256-GCM."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return FORMAT_VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != FORMAT_VERSION:
            raise SecretBoxError("not a sealed value of this format")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, context)
        except InvalidTag:
            raise SecretBoxError(
                "the value does not open: wrong master key, wrong context or tampered"
            ) from None
