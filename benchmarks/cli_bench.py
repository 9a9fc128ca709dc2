"""Start-up speed of `rdev` and of shell completion (spec/rdev-cli.md "Startup": `rdev --version`
under 0.1 s, `rdev --help` and completion under 0.3 s), as whole processes: the median of --runs
runs after one warm-up run. Completion is asked the way the bash script of completions/ asks.
No server is needed (completion must not touch the network). Run:

    python benchmarks/cli_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from rdev_cli.main import GROUPS

TARGETS = {"version": 0.1, "help": 0.3, "complete": 0.3}


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
    failures = 0
    print(f"{'case':<36} {'median s':>9} {'target s':>9}")
    for kind, name, args, env in cases:
        seconds = timed(args, env, runs)
        over = seconds > TARGETS[kind]
        failures += over
        print(f"{name:<36} {seconds:>9.3f} {TARGETS[kind]:>9.1f}{'  OVER' if over else ''}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
