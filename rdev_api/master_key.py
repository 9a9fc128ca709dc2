"""Rotating the master key of a data dir (`rdev server rotate-master-key`, spec/rdev-api.md
"Credentials"): every sealed value re-encrypted in one transaction, then master.key replaced."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rdev_api.adapters.crypto.aesgcm import (
    KEY_BYTES,
    MASTER_KEY_FILE,
    AesGcmBox,
    SecretBoxError,
    decode_master_key,
    encode_master_key,
)
from rdev_api.adapters.sqlite.database import DATABASE_FILE, Database
from rdev_api.adapters.sqlite.maintenance import opens_with, reseal
from rdev_api.envutil import get_env
from rdev_api.server import PENDING_KEY_FILE, ServerError, data_dir_lock


def _write_key_file(path: Path, key: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(encode_master_key(key) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def rotate_master_key(data_dir: Path) -> int:
    """A new master key: every sealed value re-encrypted in one transaction, then master.key
    replaced atomically. The new key is on disk (master.key.new) before the transaction
    commits, so an interruption between the two is finished by running this again.
    Returns how many values were re-sealed."""
    if get_env("RDEV_MASTER_KEY"):
        raise ServerError(
            "RDEV_MASTER_KEY is set: the master key lives outside the data dir, so it cannot be rotated here",
            "usage",
            hint="unset RDEV_MASTER_KEY to rotate master.key, or replace the key where you keep it",
        )
    key_path, pending_path = data_dir / MASTER_KEY_FILE, data_dir / PENDING_KEY_FILE
    if not (data_dir / DATABASE_FILE).exists() or not key_path.exists():
        raise ServerError(f"no rdev server data in {data_dir}", "not_found")
    with data_dir_lock(data_dir):
        db = Database(data_dir / DATABASE_FILE)
        try:
            if pending_path.exists():  # finish an interrupted rotation, or drop it
                pending = decode_master_key(pending_path.read_text(encoding="ascii"), str(pending_path))
                if opens_with(db, AesGcmBox(pending)):
                    os.replace(pending_path, key_path)
                else:
                    pending_path.unlink()
            old = decode_master_key(key_path.read_text(encoding="ascii"), str(key_path))
            new = secrets.token_bytes(KEY_BYTES)
            _write_key_file(pending_path, new)
            try:
                count = reseal(db, AesGcmBox(old), AesGcmBox(new))
            except SecretBoxError as err:
                pending_path.unlink()
                raise ServerError(f"a sealed value does not open with the current master key: {err}") from err
            os.replace(pending_path, key_path)
            _fsync_dir(data_dir)
            return count
        finally:
            db.close()
