"""The thread pool of the API's blocking routes is sized by RDEV_HTTP_THREADS when the app
starts (anyio's default of 40 threads only lengthens the queue for the GIL on a few cores)."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from rdev_api.app import build_services, create_app
from rdev_api.envutil import EnvError


def test_the_app_sizes_the_thread_pool_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDEV_HTTP_THREADS", "3")
    monkeypatch.setenv("RDEV_EMBEDDED_WORKERS", "0")
    (tmp_path / "data").mkdir(mode=0o700)
    services = build_services(tmp_path / "data")
    app = create_app(services)

    async def started() -> float:
        before = anyio.to_thread.current_default_thread_limiter().total_tokens
        assert before == 40  # anyio's own default, for each new event loop
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    try:
        assert anyio.run(started) == 3
    finally:
        services.db.close()


def test_a_bad_thread_count_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDEV_HTTP_THREADS", "0")
    (tmp_path / "data").mkdir(mode=0o700)
    with pytest.raises(EnvError, match="RDEV_HTTP_THREADS must be at least 1"):
        build_services(tmp_path / "data")
