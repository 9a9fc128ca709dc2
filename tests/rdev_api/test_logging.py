"""rdev_api.logging: JSON lines, context ids, redaction by key and value, per-component levels."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from conftest import ApiServer
from rdev_api.logging import (
    FIELD_ERROR,
    FIELD_WORK_ID,
    REDACTED,
    get_logger,
    log_context,
    parse_levels,
    redact,
    setup_logging,
)

SENTINEL_KEY = "rdev_ab12cd34_" + "S" * 40


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging(stream, "json", "debug", "")
    yield stream
    logging.getLogger("rdev").removeHandler(handler)
    for name in ("rdev.queue", "rdev.http"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_component_fields_and_context(captured: io.StringIO) -> None:
    with log_context(request_id="req-1", project_id="p-1"):
        get_logger("queue").info("claimed", extra={FIELD_WORK_ID: "w-9"})
    get_logger("queue").info("outside")
    first, second = lines(captured)
    assert first["component"] == "queue" and first["msg"] == "claimed" and first["level"] == "info"
    assert first["request_id"] == "req-1" and first["project_id"] == "p-1" and first[FIELD_WORK_ID] == "w-9"
    assert str(first["ts"]).endswith("Z")
    assert "request_id" not in second


def test_secrets_are_redacted_by_key_and_by_value(captured: io.StringIO) -> None:
    log = get_logger("http")
    log.info(f"key {SENTINEL_KEY} used", extra={"api_key": "plain-secret", "headers": {"X-API-Key": "k"}})
    log.info("auth", extra={"detail": f"Authorization: Bearer {'t' * 30}", "password": "hunter2"})
    try:
        raise RuntimeError(f"failed with {SENTINEL_KEY}")
    except RuntimeError:
        log.exception("boom")
    text = captured.getvalue()
    for secret in (SENTINEL_KEY, "plain-secret", "hunter2", "t" * 30):
        assert secret not in text
    records = lines(captured)
    assert records[0]["api_key"] == REDACTED and records[0]["headers"] == {"X-API-Key": REDACTED}
    assert REDACTED in str(records[2][FIELD_ERROR])


def test_per_component_levels(captured: io.StringIO) -> None:
    setup_logging(captured, "json", "info", "queue=debug,http=warning")
    get_logger("queue").debug("queue detail")
    get_logger("http").info("http chatter")
    get_logger("http").warning("http problem")
    get_logger("store").debug("store detail")
    assert [r["msg"] for r in lines(captured)] == ["queue detail", "http problem"]


def test_text_format_and_bad_settings(captured: io.StringIO) -> None:
    stream = io.StringIO()
    setup_logging(stream, "text", "info")
    get_logger("executor").info("started", extra={"command_id": "c-1", "token": "abc"})
    assert "info    executor: started command_id=c-1 token=[REDACTED]" in stream.getvalue()
    with pytest.raises(ValueError, match="RDEV_LOG_LEVELS entry 'queue'"):
        parse_levels("queue")
    with pytest.raises(ValueError, match="invalid log format"):
        setup_logging(stream, "xml")
    with pytest.raises(ValueError, match="not a context field"), log_context(user="x"):
        pass


def test_redact_keeps_ordinary_values() -> None:
    assert redact({"name": "build", "count": 3, "items": ["a", "b"]}) == {
        "name": "build",
        "count": 3,
        "items": ["a", "b"],
    }
    assert redact("rdev_short") == "rdev_short"


def test_the_worker_protocols_successes_are_logged_at_debug(
    api_server: ApiServer, captured: io.StringIO
) -> None:
    """Claims, heartbeats and outcomes come by the hundred a second: debug when they succeed;
    a refused one and everything else (a submit) at info."""
    with api_server.admin() as admin:
        item = admin.post("/work", json={"type": "job"}).json()
        admin.post("/work/claim", json={"worker_id": "w", "types": ["job"]}).raise_for_status()
        admin.post(f"/work/{item['id']}/heartbeat", json={"worker_id": "w"}).raise_for_status()
        admin.post(f"/work/{item['id']}/complete", json={"worker_id": "w"}).raise_for_status()
        assert (
            admin.post(f"/work/{item['id']}/fail", json={"worker_id": "w", "error": "x"}).status_code == 409
        )
    levels = {
        (line["path"], line["status"]): line["level"] for line in lines(captured) if line["msg"] == "request"
    }
    assert levels[("/work", 201)] == "info"
    assert levels[(f"/work/{item['id']}/fail", 409)] == "info"
    for path in ("/work/claim", f"/work/{item['id']}/heartbeat", f"/work/{item['id']}/complete"):
        assert levels[(path, 200)] == "debug", path
