"""AES-GCM box and master key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rdev_api.adapters.crypto.aesgcm import (
    AesGcmBox,
    SecretBoxError,
    decode_master_key,
    encode_master_key,
    load_or_create_master_key,
)

SENTINEL = b"sentinel-credential-value-42"


def test_seal_and_open_with_context() -> None:
    box = AesGcmBox(b"k" * 32)
    sealed = box.seal(SENTINEL, b"credential:github")
    assert SENTINEL not in sealed
    assert box.open(sealed, b"credential:github") == SENTINEL
    assert box.seal(SENTINEL, b"credential:github") != sealed  # fresh nonce each time
    with pytest.raises(SecretBoxError):
        box.open(sealed, b"credential:other")
    with pytest.raises(SecretBoxError):
        AesGcmBox(b"x" * 32).open(sealed, b"credential:github")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretBoxError):
        box.open(tampered, b"credential:github")
    with pytest.raises(SecretBoxError, match="format"):
        box.open(b"short", b"credential:github")


def test_master_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    key, created = load_or_create_master_key(tmp_path, None)
    assert created and len(key) == 32
    path = tmp_path / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_master_key(tmp_path, None)
    assert again == key and not created_again


def test_master_key_from_the_environment_wins(tmp_path: Path) -> None:
    text = encode_master_key(b"e" * 32)
    key, created = load_or_create_master_key(tmp_path, text)
    assert key == b"e" * 32 and not created and not (tmp_path / "master.key").exists()
    with pytest.raises(ValueError, match="RDEV_MASTER_KEY must decode to 32 bytes"):
        load_or_create_master_key(tmp_path, encode_master_key(b"short"))
    with pytest.raises(ValueError, match="not base64url"):
        decode_master_key("!!!", "RDEV_MASTER_KEY")
