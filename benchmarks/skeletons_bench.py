"""Speed of the template renderer (spec/skeletons.md; target: under 2 s for the whole tree).

Renders the monorepo, adds all five components (service, worker, app-astro, app-react, cli)
and the three architectures (queue, realtime, microservices), two ways:

- library: the nine calls in one fresh Python process (imports included), timed as a whole;
- cli: the same nine steps as nine `rdev templates ...` processes, timed end to end.

Median of --runs runs (after one warm-up) and the tree's size. Run:

    python benchmarks/skeletons_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 2.0
STEPS: list[tuple[str, ...]] = [
    ("render", "monorepo", "{dest}", "--var", "project_name=bench"),
    ("add-component", "{dest}", "service", "--var", "name=api"),
    ("add-component", "{dest}", "worker", "--var", "name=worker"),
    ("add-component", "{dest}", "app-astro", "--var", "name=site"),
    ("add-component", "{dest}", "app-react", "--var", "name=web"),
    ("add-component", "{dest}", "cli", "--var", "name=tool"),
    ("add-component", "{dest}", "queue"),
    ("add-component", "{dest}", "realtime"),
    ("add-component", "{dest}", "microservices"),
]
LIBRARY = """
import sys, time
from pathlib import Path
start = time.perf_counter()
from skeletons.compose import add_component
from skeletons.units import render
dest = Path(sys.argv[1])
render("monorepo", dest, {"project_name": "bench"}, env={})
for template, answers in [("service", {"name": "api"}), ("worker", {"name": "worker"}),
                          ("app-astro", {"name": "site"}), ("app-react", {"name": "web"}),
                          ("cli", {"name": "tool"}), ("queue", {}), ("realtime", {}),
                          ("microservices", {})]:
    add_component(dest, template, answers, env={})
print(time.perf_counter() - start)
"""


def _library_run(dest: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", LIBRARY, str(dest)], check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def _cli_run(dest: Path) -> float:
    start = time.perf_counter()
    for step in STEPS:
        args = [a.format(dest=dest) for a in step]
        done = subprocess.run(
            [sys.executable, "-m", "rdev_cli", "templates", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"rdev templates {' '.join(args)} failed:\n{done.stderr}")
    return time.perf_counter() - start


def _tree_size(dest: Path) -> tuple[int, int]:
    files = [p for p in dest.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="skeletons-bench-"))
    try:
        results: dict[str, list[float]] = {"library": [], "cli": []}
        for run in range(options.runs + 1):  # the first run warms the caches and is dropped
            for name, measure in (("library", _library_run), ("cli", _cli_run)):
                dest = work / f"{name}-{run}"
                elapsed = measure(dest)
                if run:
                    results[name].append(elapsed)
        files, size = _tree_size(work / "library-1")
        print(f"tree: monorepo + 5 components + 3 architectures = {files} files, {size / 1024:.0f} KiB")
        for name, times in results.items():
            median = statistics.median(times)
            verdict = "ok" if median < TARGET_S else "OVER"
            print(
                f"{name:8s} median {median:.3f} s  (min {min(times):.3f}, max {max(times):.3f}, "
                f"{len(times)} runs)  target < {TARGET_S} s: {verdict}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
