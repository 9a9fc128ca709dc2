"""Event callbacks to the rdev API (spec/sdlc.md §9).

When `RDEV_CALLBACK_URL` or `callbacks.url` (.sdlc/config.yaml) is set, the events of
`.sdlc/events.jsonl` are POSTed in order as signed JSON batches `{project, events}`. The log
is the spool: `.sdlc/callbacks/offset` holds the id of the last event the receiver
acknowledged (HTTP 2xx). A failed delivery (error, non-2xx, timeout) leaves the offset where
it was, so nothing is lost; delivery is at-least-once with ids and the receiver dedupes.

- The environment's URL wins over the config's: the rdev API sets it for the environments it
  runs, and it is all a mutation needs to look at when callbacks are off.
- One flusher at a time, under `.sdlc/callbacks/flush.lock`, never the project lock: a flush
  must not make a mutating command wait. The holder goes on to the end of the log, and looks
  again after releasing, so an event appended while it ran is never stranded.
- Mutating commands start `python -m sdlc.callbacks ROOT` detached and return at once.
- No event is ever sent unsigned: with a URL but no key in the variable named by
  `callbacks.token_env`, the detached flush is skipped and `sdlc callbacks flush|status`
  refuse with `config_invalid`.

Only what the hook needs is imported at module level: it runs after every mutation (§11).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdlc.errors import CallbackFailed, ConfigInvalid, CorruptFile, LockTimeout, SdlcError
from sdlc.events import last_event_id, parse_line, reverse_lines

if TYPE_CHECKING:
    from sdlc.store import Store

URL_ENV = "RDEV_CALLBACK_URL"
DEFAULT_TOKEN_ENV = "RDEV_CALLBACK_TOKEN"
SECTION_KEYS = ("url", "token_env", "project")
BATCH_SIZE = 100
TIMEOUT_SECONDS = 5.0
SIGNATURE_HEADER = "X-Rdev-Signature"
DIRECTORY = "callbacks"
OFFSET_FILE = "offset"
LOCK_FILE = "flush.lock"

_children: list[Any] = []  # detached flushers started by this process, reaped when done


@dataclass(frozen=True)
class Settings:
    """The callbacks section with its defaults; `url` None means callbacks are off."""

    url: str | None
    source: str | None  # the variable or config key the URL came from
    token_env: str
    project: str

    @property
    def token(self) -> str | None:
        return os.environ.get(self.token_env) or None

    @property
    def shown_url(self) -> str | None:
        return display_url(self.url) if self.url else None


def display_url(url: str) -> str:
    """`url` without what may be secret: user info and query string are masked."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    _, at, host = parts.netloc.rpartition("@")
    netloc = f"***@{host}" if at else host
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def _text(section: dict[str, Any], key: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigInvalid(f"invalid config: callbacks.{key} must be a non-empty string, got {value!r}")
    return value.strip()


def _section(store: Store) -> dict[str, Any]:
    section = store.config.raw.get("callbacks")
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigInvalid("invalid config: callbacks must be a mapping (url, token_env, project)")
    unknown = sorted(str(key) for key in section if key not in SECTION_KEYS)
    if unknown:
        raise ConfigInvalid(
            "invalid config: " + ", ".join(f"callbacks.{key}" for key in unknown) + " unknown",
            hint="callbacks takes url, token_env and project (spec/sdlc.md §6)",
        )
    return section


def load_settings(store: Store) -> Settings:
    """The callback settings; the environment's URL wins over callbacks.url."""
    section = _section(store)
    token_env = _text(section, "token_env") or DEFAULT_TOKEN_ENV
    project = _text(section, "project") or store.config.project_name
    url, source = os.environ.get(URL_ENV, "").strip() or None, URL_ENV
    if url is None:
        url, source = _text(section, "url"), "callbacks.url"
    if url is None:
        return Settings(None, None, token_env, project)
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigInvalid(
            f"invalid callback URL {display_url(url)!r} (from {source}): not an http(s) URL",
            hint=f"set {source} to e.g. https://rdev.example/api/events",
        )
    return Settings(url, source, token_env, project)


def require_token(settings: Settings) -> str:
    token = settings.token
    if settings.url is not None and token is None:
        raise ConfigInvalid(
            f"callbacks are on ({settings.shown_url}, from {settings.source}) but "
            f"{settings.token_env} is not set: events are never sent unsigned",
            hint=f"export {settings.token_env}=<the key the receiver verifies with>, "
            f"or unset {URL_ENV} / remove callbacks.url to turn callbacks off",
        )
    return token or ""


# -- the spool ------------------------------------------------------------------------------


def _directory(store: Store) -> Path:
    return store.paths.sdlc / DIRECTORY


def read_offset(store: Store) -> int:
    """The id of the last event the receiver acknowledged (0: none yet)."""
    path = _directory(store) / OFFSET_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return 0
    if not text.isdigit():
        raise CorruptFile(
            f"corrupt file {store.paths.relative(path)}: not an event id",
            hint="delete it to send every event again (the receiver dedupes by id)",
        )
    return int(text)


def _write_offset(store: Store, event_id: int) -> None:
    from sdlc.atomic import write_atomic

    write_atomic(_directory(store) / OFFSET_FILE, f"{event_id}\n".encode())


def pending_events(store: Store, offset: int) -> list[dict[str, Any]]:
    """The events after `offset`, oldest first, read from the end of the log."""
    found = []
    for line in reverse_lines(store.paths.events):
        event = parse_line(line)
        if event is None:  # a torn or hand-broken line: `sdlc doctor` reports it
            continue
        if event["id"] <= offset:
            break
        found.append(event)
    found.reverse()
    return found


# -- delivery -------------------------------------------------------------------------------


def signature(token: str, body: bytes) -> str:
    """The X-Rdev-Signature value of `body`."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def _post(settings: Settings, token: str, batch: list[dict[str, Any]]) -> None:
    """POST one batch; raises CallbackFailed unless the receiver answers 2xx."""
    import http.client
    import json
    import urllib.error
    import urllib.request

    from sdlc._version import __version__

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # a redirect would re-send the batch as a GET: not an acknowledgement

    assert settings.url is not None
    body = json.dumps(
        {"project": settings.project, "events": batch}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    request = urllib.request.Request(
        settings.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(token, body),
            "User-Agent": f"sdlc/{__version__}",
        },
    )
    what = f"callback delivery of events {batch[0]['id']}..{batch[-1]['id']} to {settings.shown_url}"
    hint = "the events stay in .sdlc/events.jsonl; run `sdlc callbacks flush` once the receiver is up"
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=TIMEOUT_SECONDS) as response:
            status, reason = response.status, response.reason
            response.read()
    except urllib.error.HTTPError as err:
        status, reason = err.code, err.reason
        err.close()
    except urllib.error.URLError as err:
        cause = err.reason if isinstance(err.reason, BaseException) else err
        raise CallbackFailed(f"{what} failed: receiver unreachable", hint=hint) from cause
    except TimeoutError as err:
        raise CallbackFailed(f"{what} failed: no answer within {TIMEOUT_SECONDS:g} s", hint=hint) from err
    except (OSError, http.client.HTTPException) as err:
        raise CallbackFailed(f"{what} failed: the connection broke", hint=hint) from err
    if not 200 <= status < 300:
        raise CallbackFailed(f"{what} refused: HTTP {status} {reason}".rstrip(), hint=hint)


@dataclass
class FlushReport:
    offset: int
    delivered: int = 0
    batches: int = 0


def _deliver_pending(store: Store, settings: Settings, token: str, report: FlushReport) -> None:
    """Send every event after the offset, batch by batch, until the log's end. The caller holds
    the flush lock, so the offset only moves forward and no batch overtakes another."""
    while True:
        report.offset = read_offset(store)
        pending = pending_events(store, report.offset)
        if not pending:
            return
        for start in range(0, len(pending), BATCH_SIZE):
            batch = pending[start : start + BATCH_SIZE]
            _post(settings, token, batch)
            _write_offset(store, batch[-1]["id"])
            report.offset = batch[-1]["id"]
            report.delivered += len(batch)
            report.batches += 1


def flush(store: Store, settings: Settings, wait: float) -> FlushReport:
    """Deliver everything pending. Waits up to `wait` seconds for another flusher, then raises
    LockTimeout; raises CallbackFailed when the receiver refused or was unreachable."""
    from filelock import FileLock, Timeout

    token = require_token(settings)
    directory = _directory(store)
    directory.mkdir(exist_ok=True)
    lock = FileLock(str(directory / LOCK_FILE))
    report = FlushReport(read_offset(store))
    first = True
    while True:
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            if not first:  # whoever holds it now reads the log after our last look
                return report
            raise LockTimeout(
                f"another callbacks flush holds {store.paths.relative(directory / LOCK_FILE)}",
                hint="it delivers up to the end of the log; retry `sdlc callbacks flush` later",
            ) from None
        try:
            _deliver_pending(store, settings, token, report)
        finally:
            lock.release()
        if last_event_id(store.paths.events) <= report.offset:
            return report
        first, wait = False, 0  # appended after our last read: take it over unless another flusher has


def status(store: Store) -> dict[str, Any]:
    """`sdlc callbacks status`: where callbacks go and the backlog."""
    settings = load_settings(store)
    require_token(settings)
    offset = read_offset(store)
    return {
        "enabled": settings.url is not None,
        "url": settings.shown_url,
        "source": settings.source,
        "project": settings.project,
        "token_env": settings.token_env,
        "offset": offset,
        "last_event_id": last_event_id(store.paths.events),
        "pending": len(pending_events(store, offset)),
    }


def flush_now(store: Store, wait: float) -> dict[str, Any]:
    """`sdlc callbacks flush`: deliver in the foreground; a no-op when callbacks are off."""
    settings = load_settings(store)
    report = FlushReport(read_offset(store)) if settings.url is None else flush(store, settings, wait)
    return {
        "enabled": settings.url is not None,
        "url": settings.shown_url,
        "delivered": report.delivered,
        "batches": report.batches,
        "offset": report.offset,
        "pending": len(pending_events(store, report.offset)),
    }


# -- the detached flush after a mutation -------------------------------------------------------


def start_detached_flush(store: Store) -> None:
    """Deliver a committed mutation's events in a detached process when callbacks are on and
    signed. Never raises and never waits: a callback must not fail or slow a local command."""
    try:
        settings = load_settings(store)
    except SdlcError:  # a broken callbacks section: `sdlc callbacks status` names it
        return
    if settings.url is None or settings.token is None:
        return
    import subprocess

    for child in [c for c in _children if c.poll() is not None]:
        _children.remove(child)
    package_parent = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": package_parent + (os.pathsep + path if path else "")}
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "sdlc.callbacks", str(store.root)],
            cwd=store.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return
    _children.append(child)


def main(argv: list[str]) -> int:
    """`python -m sdlc.callbacks ROOT`: the detached flush. Exits 0 when there was nothing to
    do, another flusher was running, or everything was delivered; 1 otherwise."""
    from sdlc.store import Store

    if len(argv) != 1:
        sys.stderr.write("usage: python -m sdlc.callbacks ROOT\n")
        return 2
    store = Store(Path(argv[0]))
    try:
        settings = load_settings(store)
        if settings.url is None or settings.token is None:
            return 0
        flush(store, settings, wait=0)
    except LockTimeout:
        return 0
    except SdlcError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
