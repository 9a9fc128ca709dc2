"""Credentials: put (sealed under the master key), list (metadata only), delete (refused while
bound to a project) and the decrypted value for reveal and command environments."""

from __future__ import annotations

from rdev_api.domain.credentials import MAX_VALUE_BYTES, Credential, sealing_context, validate_name
from rdev_api.domain.errors import NotFound, ValidationFailed
from rdev_api.ports.clock import Clock
from rdev_api.ports.secret_box import SecretBox
from rdev_api.ports.stores import CredentialStore


class CredentialService:
    def __init__(self, store: CredentialStore, box: SecretBox, clock: Clock) -> None:
        self.store = store
        self.box = box
        self.clock = clock

    def list(self, limit: int, cursor: str | None) -> tuple[list[Credential], str | None]:
        return self.store.list(limit, cursor)

    def get(self, name: str) -> Credential:
        return self._found(name)[0]

    def put(self, name: str, value: str, description: str | None) -> Credential:
        """Create the credential, or replace its value (and description, when given)."""
        validate_name(name)
        plaintext = value.encode()
        if not plaintext or len(plaintext) > MAX_VALUE_BYTES:
            raise ValidationFailed(
                "invalid credential value",
                details=[{"field": "value", "message": f"1 to {MAX_VALUE_BYTES} bytes"}],
            )
        now = self.clock.now()
        sealed = self.box.seal(plaintext, sealing_context(name))
        return self.store.put(
            Credential(name=name, description=description, created_at=now, updated_at=now), sealed
        )

    def delete(self, name: str) -> None:
        validate_name(name)
        self.store.delete(name)

    def value(self, name: str) -> str:
        """The decrypted value (for reveal and for a project's command environment)."""
        sealed = self._found(name)[1]
        return self.box.open(sealed, sealing_context(name)).decode()

    def _found(self, name: str) -> tuple[Credential, bytes]:
        found = self.store.get(validate_name(name))
        if found is None:
            raise NotFound(f"no credential {name}")
        return found
