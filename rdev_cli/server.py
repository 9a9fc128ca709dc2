"""`rdev server`: run the rdev API on this machine (spec/rdev-api.md "Start-up and the CLI
profile"). The work is done by rdev_api.server; this module parses, calls and reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from rdev_cli.errors import EXIT_CONFLICT, EXIT_ERROR, EXIT_NOT_FOUND, EXIT_USAGE, CliError
from rdev_cli.output import emit, info, write

HELP = "Run the rdev API locally: start, status, stop, admin-key, rotate-master-key."
app = typer.Typer(no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the server keeps its data (default: RDEV_DATA_DIR, else the user data dir).",
        show_default=False,
    ),
]
EXIT_BY_KIND = {"usage": EXIT_USAGE, "not_found": EXIT_NOT_FOUND, "conflict": EXIT_CONFLICT}
STATUS_COLUMNS = ("running", "pid", "url", "version", "status", "data_dir")
T = TypeVar("T")


def _server() -> Any:
    """rdev_api.server, or a CliError naming the extra to install."""
    try:
        import cryptography  # noqa: F401
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401

        from rdev_api import server
    except ModuleNotFoundError as err:
        raise CliError(
            f"`rdev server` needs the server extra ({err.name} is missing)",
            hint="pip install 'rdev[server]'",
        ) from err
    return server


def _call(call: Callable[..., T], *args: Any) -> T:
    """Call rdev_api.server; its refusals become CLI errors with the matching exit code."""
    server = _server()
    try:
        return call(*args)
    except server.ServerError as err:
        raise CliError(err.message, hint=err.hint, exit_code=EXIT_BY_KIND.get(err.kind, EXIT_ERROR)) from err


def _show_new_key(token: str, where: Path) -> None:
    info(f"Admin key (shown once; saved as profile 'local' in {where}):")
    write(token)


@app.command("start")
def start(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", min=1, max=65535, envvar="RDEV_PORT", help="Port to listen on (also RDEV_PORT)."
        ),
    ] = 8484,
    data_dir: DataDir = None,
    detach: Annotated[
        bool, typer.Option("--detach", help="Run in the background (pid and log file in the data dir).")
    ] = False,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="TLS private key (PEM).")] = None,
    insecure_http: Annotated[
        bool, typer.Option("--insecure-http", help="Allow plain HTTP on a non-loopback address.")
    ] = False,
) -> None:
    """Start the server; the first start creates the data dir and prints the admin key once."""
    from rdev_cli.profile import LOCAL_PROFILE, update_profile

    server = _server()
    bind = server.Bind(host, port, tls_cert, tls_key)
    warning = _call(server.check_bind, bind, insecure_http)
    directory = server.resolve_data_dir(data_dir)
    _call(server.ensure_data_dir, directory)
    found = server.running(directory)
    if found is not None:
        raise CliError(
            f"a server already runs on {directory} at {found.url} (pid {found.pid})",
            hint=f"rdev server stop --data-dir {directory}",
            exit_code=EXIT_CONFLICT,
        )
    if warning:
        info(f"Warning: {warning}")
    if not detach:  # the foreground server logs from the start (the executor's choice included)
        server.configure_logging()
    services = _call(server.open_services, directory, server.is_loopback(host), bind.url)
    token = server.bootstrap(services)
    if token is not None:
        _show_new_key(token, update_profile(LOCAL_PROFILE, url=bind.url, api_key=token))
    if detach:
        services.db.close()
        found = _call(server.spawn_detached, directory, bind)
        info(f"rdev server running at {found.url} (pid {found.pid}); log: {directory / server.LOG_FILE}")
        return
    info(f"rdev server at {bind.url}, data in {directory}; Ctrl-C stops it")
    _call(server.serve, services, directory, bind)


@app.command("status")
def status(data_dir: DataDir = None) -> None:
    """Whether a server runs on the data dir: pid, URL, version, health (exit 1 when not)."""
    server = _server()
    result = server.status(server.resolve_data_dir(data_dir))
    emit(result, STATUS_COLUMNS, name_key="url")
    if not result["running"]:
        info("not running")
        raise typer.Exit(EXIT_ERROR)


@app.command("stop")
def stop(data_dir: DataDir = None) -> None:
    """Stop the server (SIGTERM, then SIGKILL after a grace period)."""
    server = _server()
    directory = server.resolve_data_dir(data_dir)
    stopped = _call(server.stop, directory)
    info(f"stopped the server (pid {stopped.pid})" if stopped else f"no server runs on {directory}")


@app.command("admin-key")
def admin_key(data_dir: DataDir = None) -> None:
    """Mint a new admin key from the data dir (when the old one is lost); printed once."""
    from rdev_cli.profile import LOCAL_PROFILE, read_config, update_profile

    server = _server()
    directory = server.resolve_data_dir(data_dir)
    token = _call(server.mint_admin_key, directory)
    url = read_config().get("profiles", {}).get(LOCAL_PROFILE, {}).get("url")
    if not url:
        found = server.running(directory)
        url = found.url if found else server.Bind().url
    _show_new_key(token, update_profile(LOCAL_PROFILE, url=url, api_key=token))


@app.command("rotate-master-key")
def rotate_master_key(data_dir: DataDir = None) -> None:
    """Re-encrypt every stored secret under a new master key (the server must be stopped)."""
    server = _server()
    directory = server.resolve_data_dir(data_dir)
    found = server.running(directory)
    if found is not None:
        raise CliError(
            f"the server (pid {found.pid}) is using the master key",
            hint=f"rdev server stop --data-dir {directory}",
            exit_code=EXIT_CONFLICT,
        )
    from rdev_api.master_key import rotate_master_key as rotate

    count = _call(rotate, directory)
    info(f"rotated the master key of {directory}: {count} sealed value(s) re-encrypted")
