"""The few-seconds cache of store reads (services/recent.py) that keys and webhooks use."""

from __future__ import annotations

from rdev_api.services.recent import Recent


def test_reads_are_kept_for_the_ttl_and_forgotten_at_once() -> None:
    now = [0.0]
    reads: list[str] = []
    recent: Recent[str, str] = Recent(2.0, lambda: now[0])

    def load() -> str:
        reads.append("read")
        return f"v{len(reads)}"

    assert recent.get("k", load) == "v1" and recent.get("k", load) == "v1" and len(reads) == 1
    now[0] = 2.0
    assert recent.get("k", load) == "v2"  # the TTL is over: read again
    recent.replace("k", "changed")  # keeps when its read began
    assert recent.get("k", load) == "changed"
    now[0] = 4.0
    assert recent.get("k", load) == "v3"
    recent.forget("k")
    assert recent.get("k", load) == "v4"
    assert recent.get("gone", lambda: None) is None and recent.get("gone", lambda: "back") == "back"


def test_a_read_begun_before_a_forget_is_not_kept() -> None:
    recent: Recent[str, str] = Recent(60.0)

    def load_racing_a_revocation() -> str:
        recent.forget("k")  # the key is revoked while its old row is being read
        return "old"

    assert recent.get("k", load_racing_a_revocation) == "old"
    assert recent.get("k", lambda: "new") == "new"  # the old read was not kept
    recent.replace("absent", "x")  # nothing kept for it: nothing made up
    assert recent.get("absent", lambda: "read") == "read"
