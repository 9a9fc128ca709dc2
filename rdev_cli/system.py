"""`rdev health` and `rdev version`: the API's health and the client and server versions; neither
needs a key (spec/rdev-cli.md)."""

from __future__ import annotations

from typing import Any

from rdev_cli.errors import EXIT_ERROR, EXIT_NETWORK, CliError
from rdev_cli.output import emit, info, structured, write

SERVER_HINT = "is the server running? `rdev server status`, or check the URL: `rdev config show --sources`"


def _once(api: Any, path: str) -> dict[str, Any]:
    """GET `path` once, without the client's retries: a probe must answer fast when the server
    is down (within the 5 s health timeout, not after backing off)."""
    import httpx

    try:
        response = api.http.get(path)
    except httpx.HTTPError as err:
        raise CliError(
            f"cannot reach the API at {api.settings.url} ({type(err).__name__})",
            hint=SERVER_HINT,
            exit_code=EXIT_NETWORK,
        ) from None
    if response.status_code != 200:
        from rdev_cli.client import error_of

        raise error_of(response)
    answer: dict[str, Any] = response.json()
    return answer


def health() -> None:
    """The API's health: status, version, uptime and its checks (exit 1 when degraded)."""
    from rdev_cli.client import HEALTH_TIMEOUT_S, Api

    with Api(timeout=HEALTH_TIMEOUT_S, auth=False) as api:
        data = _once(api, "/health")
    emit(data, ("status", "version", "uptime_s", "checks"), name_key="status")
    if data.get("status") != "ok":
        failing = [f"{name}: {state}" for name, state in (data.get("checks") or {}).items() if state != "ok"]
        raise CliError(
            f"the API at {api.settings.url} is {data.get('status')}",
            details=failing,
            hint="see the server's log (`rdev server status` shows where it is)",
            exit_code=EXIT_ERROR,
        )


def version() -> None:
    """The client's version and the server's (GET /version); the client's is printed even when
    the server cannot be reached (then exit 6)."""
    from sdlc._version import __version__

    as_data = structured()
    if not as_data:
        write(f"client: rdev {__version__}")
    from rdev_cli.client import HEALTH_TIMEOUT_S, Api

    try:
        with Api(timeout=HEALTH_TIMEOUT_S, auth=False) as api:
            server = _once(api, "/version")
    except CliError:
        if as_data:
            emit({"client": {"version": __version__}, "server": None}, ())
        raise
    if as_data:
        emit({"client": {"version": __version__}, "server": {**server, "url": api.settings.url}}, ())
        return
    write(f"server: rdev {server.get('version')} (api {server.get('api')}) at {api.settings.url}")
    if server.get("version") != __version__:
        info(f"Note: the client ({__version__}) and the server ({server.get('version')}) differ.")


COMMANDS: dict[str, Any] = {"health": health, "version": version}
