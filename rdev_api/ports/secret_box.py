"""Encryption of secrets at rest (credential values, webhook secrets, callback tokens)."""

from __future__ import annotations

from typing import Protocol


class SecretBox(Protocol):
    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt `plaintext`; `context` (e.g. the credential's name) is authenticated, not
        stored: opening with another context fails."""
        ...

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt what `seal` returned for the same context; raises on tampering."""
        ...
