"""The CLI profile file shared by `rdev` and `rdev server` (spec/rdev-api.md "Start-up and the
CLI profile"): YAML at `<RDEV_CONFIG_DIR or the user config dir>/config.yaml`, mode 0600,
written atomically (temp file, fsync, rename) under a lock so that concurrent writers keep
each other's changes:
`{current_profile: local, profiles: {local: {url: http://127.0.0.1:8484, api_key: rdev_...}}}`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rdev_cli.errors import CliError

CONFIG_FILE = "config.yaml"
LOCAL_PROFILE = "local"


def config_dir() -> Path:
    given = os.environ.get("RDEV_CONFIG_DIR")
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("rdev"))


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The profile file as data ({} when there is none); CliError when it is not a mapping."""
    import yaml

    path = path or config_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError) as err:
        raise CliError(f"cannot read the profile file {path}: {err}", hint=f"fix or remove {path}") from err
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("profiles", {}), dict):
        raise CliError(f"the profile file {path} is not a mapping of profiles", hint=f"fix or remove {path}")
    return data


def write_config(data: dict[str, Any], path: Path | None = None) -> None:
    """Replace the profile file atomically; it is created 0600 in a 0700 directory."""
    import yaml

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=".config.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(yaml.safe_dump(data, sort_keys=False))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextlib.contextmanager
def edit_config() -> Iterator[dict[str, Any]]:
    """The profile file's data to change in place; written back atomically when the block ends
    without an error, under the lock, so that concurrent writers keep each other's changes."""
    from filelock import FileLock

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with FileLock(str(path) + ".lock"):
        data = read_config(path)
        data.setdefault("profiles", {})
        yield data
        current = data.pop("current_profile", None)
        ordered = {
            **({"current_profile": current} if current else {}),
            "profiles": data.pop("profiles"),
            **data,
        }
        write_config(ordered, path)


def update_profile(name: str, **fields: str) -> Path:
    """Set `fields` (url, api_key, ...) of profile `name`, keeping every other profile and
    key; the profile becomes current when none is. Returns the file's path."""
    with edit_config() as data:
        profiles = data["profiles"]
        profile = profiles.get(name)
        profiles[name] = {**(profile if isinstance(profile, dict) else {}), **fields}
        if not data.get("current_profile"):
            data["current_profile"] = name
    return config_path()
