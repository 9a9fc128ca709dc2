"""What starting a sandboxed command costs: --commands `true` run one after another through the
runner the server uses (the project's kept sandbox, zygote.py), next to a fresh bwrap with the
same arguments for each command (as before the sandbox was kept) and to a plain `true`. Prints
wall time and the whole machine's busy CPU per command (the kernel's namespace work included),
medians of --runs runs. Skips the sandboxed rows where bwrap does not work.

    python benchmarks/sandbox_bench.py [--commands 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import machine

from rdev_api.adapters.local.sandbox import SandboxedRunner, bwrap_argv, bwrap_problem, needed_paths


def measure(run_one: Callable[[], None], commands: int) -> tuple[float, float]:
    """(wall ms, machine busy ms) per command."""
    busy, started = machine.busy_s(), time.perf_counter()
    for _ in range(commands):
        run_one()
    wall = time.perf_counter() - started
    return wall * 1000 / commands, (machine.busy_s() - busy) * 1000 / commands


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    true = shutil.which("true") or "/bin/true"
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch).resolve() / "data"
        workspace = data / "workspaces" / "bench"
        workspace.mkdir(parents=True)

        def plain() -> None:
            subprocess.run([true], cwd=workspace, env=env, check=True, start_new_session=True)

        ways: dict[str, Callable[[], None]] = {"plain true": plain}
        problem = bwrap_problem()
        runner = SandboxedRunner(data, shutil.which("bwrap") or "bwrap")
        if problem is None:
            fresh_argv = bwrap_argv([true], workspace, data, needed_paths(env, Path(true)), runner.bwrap)

            def fresh() -> None:
                subprocess.run(fresh_argv, cwd=workspace, env=env, check=True, start_new_session=True)

            def kept() -> None:
                outcome = runner([true], workspace, env, 60, lambda stream, text: None).wait()
                if outcome.exit_code != 0:
                    raise SystemExit(f"the sandboxed true failed: {outcome}")

            kept()  # the sandbox starts once, outside the timing
            ways |= {"a fresh bwrap per command": fresh, "the project's kept sandbox": kept}
        else:
            print(f"bwrap does not work here ({problem}): plain only", file=sys.stderr)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        try:
            for _ in range(args.runs):  # interleaved: the machine's noise hits each alike
                for name, way in ways.items():
                    results[name].append(measure(way, args.commands))
        finally:
            runner.close()
    sizes = f"(medians of {args.runs} x {args.commands})"
    print(f"{'per command':28} {'wall ms':>8} {'machine CPU ms':>15}   {sizes}")
    for name, found in results.items():
        wall = statistics.median(w for w, _ in found)
        busy = statistics.median(b for _, b in found)
        print(f"{name:28} {wall:8.2f} {busy:15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
