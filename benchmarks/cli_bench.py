"""Start-up speed of `rdev` and of shell completion (spec/rdev-cli.md "Startup": `rdev --version`
under 0.1 s, `rdev --help` and completion under 0.3 s), and `rdev projects list -o json`
against a local server (under 0.4 s), as whole processes: the median of --runs runs after one
warm-up run. Completion is asked the way the bash script of completions/ asks (it must not
touch the network). The server is `rdev server start --detach` on a free port with its data dir
and CLI profile in a temp dir, holding 10 projects. Run:

    python benchmarks/cli_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rdev_cli.main import GROUPS

TARGETS = {"version": 0.1, "help": 0.3, "complete": 0.3, "api": 0.4}
PROJECTS = 10


def timed(args: list[str], env: dict[str, str], runs: int) -> float:
    full_env = {**os.environ, **env}
    subprocess.run(args, env=full_env, capture_output=True, check=False, timeout=60)  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, env=full_env, capture_output=True, check=False, timeout=60)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def completion(prog: str, line: str) -> tuple[list[str], dict[str, str]]:
    words = line.split(" ")
    module = "rdev_cli" if prog == "rdev" else "sdlc"
    env = {
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
        f"_{prog.upper()}_COMPLETE": "complete_bash",
    }
    return [sys.executable, "-m", module], env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    rdev = [sys.executable, "-m", "rdev_cli"]
    cases: list[tuple[str, str, list[str], dict[str, str]]] = [
        ("version", "rdev --version", [*rdev, "--version"], {}),
        ("help", "rdev --help", [*rdev, "--help"], {}),
    ]
    lines = ["rdev ", *(f"rdev {word} " for word in GROUPS), "sdlc ", "sdlc feature "]
    for line in lines:
        args, env = completion(line.split()[0], line)
        cases.append(("complete", f"complete {line!r}", args, env))
    with tempfile.TemporaryDirectory() as scratch, local_server(Path(scratch)) as env:
        cases.append(("api", "rdev projects list -o json", [*rdev, "projects", "list", "-o", "json"], env))
        failures = report(cases, runs)
    return 1 if failures else 0


@contextlib.contextmanager
def local_server(scratch: Path) -> Iterator[dict[str, str]]:
    """A detached server with PROJECTS projects; the env that points rdev at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"RDEV_CONFIG_DIR": str(scratch / "config"), "RDEV_API_URL": f"http://127.0.0.1:{port}"}
    full_env = {**os.environ, **env}
    full_env.pop("RDEV_API_KEY", None)
    rdev = [sys.executable, "-m", "rdev_cli"]
    data = ["--data-dir", str(scratch / "data")]
    subprocess.run(
        [*rdev, "server", "start", "--detach", "--port", str(port), *data],
        env=full_env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        for n in range(PROJECTS):
            subprocess.run(
                [*rdev, "projects", "create", f"bench-{n}", "--wait"],
                env=full_env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        yield env
    finally:
        subprocess.run(
            [*rdev, "server", "stop", *data], env=full_env, capture_output=True, timeout=120, check=False
        )


def report(cases: list[tuple[str, str, list[str], dict[str, str]]], runs: int) -> int:
    failures = 0
    print(f"{'case':<36} {'median s':>9} {'target s':>9}")
    for kind, name, args, env in cases:
        seconds = timed(args, env, runs)
        over = seconds > TARGETS[kind]
        failures += over
        print(f"{name:<36} {seconds:>9.3f} {TARGETS[kind]:>9.1f}{'  OVER' if over else ''}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
