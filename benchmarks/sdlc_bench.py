"""Speed of `sdlc` as whole processes (spec/sdlc.md §11).

Builds projects of 1,000 and 10,000 features (10 tasks and 3 comments each, half of them in
`specified` with an approved spec) through the library, then times each command as a fresh
process: median of --runs runs after one warm-up run, plus peak RSS. Run:

    python benchmarks/sdlc_bench.py [--sizes 1000 10000] [--runs 7] [--work DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sdlc import yamlio
from sdlc.atomic import write_atomic
from sdlc.index import rebuild_state
from sdlc.model import Comment, Feature, Task, now
from sdlc.ops.init import init_project
from sdlc.store import Store
from sdlc.transitions import enter_phase

REFERENCE = {  # the reference Rust binary, measured on such projects (spec §11)
    "next --for": {1000: 0.004, 10000: 0.013},
    "all-feature": {1000: 0.2, 10000: 2.2},
}
TARGET_ALL = {1000: 0.25, 10000: 0.6}
TARGET_ONE = 0.2
TARGET_VERSION = 0.1
TARGET_MEMORY_MIB = 100


def build_project(root: Path, count: int) -> None:
    """A project of `count` features written through the library (no per-feature process)."""
    init_project(root)
    at = now()
    features_dir = root / ".sdlc" / "features"
    for i in range(count):
        slug = f"feature-{i:05d}"
        feature = Feature.new(slug, f"Feature number {i}", f"Benchmark feature {i}", at)
        feature.tasks = [Task(f"T{n}", f"Task {n} of {slug}", created_at=at) for n in range(1, 11)]
        feature.next_task_seq = 11
        feature.comments = [
            Comment(f"C{n}", f"Comment {n}", {"kind": "feature"}, author="bench", flag="fyi", created_at=at)
            for n in range(1, 4)
        ]
        feature.next_comment_seq = 4
        directory = features_dir / slug
        directory.mkdir(parents=True)
        if i % 2 == 0:
            spec = f"# Spec of {slug}\n".encode()
            (directory / "spec.md").write_bytes(spec)
            art = feature.artifact("spec")
            art.status, art.approved_by, art.approved_at = "approved", "bench", at
            art.content_sha256 = hashlib.sha256(spec).hexdigest()
            enter_phase(feature, "specified", at)
        write_atomic(directory / "manifest.yaml", yamlio.dumps(feature.to_dict()).encode(), durable=False)
    # state.yaml as a real project of that size has it (every feature active)
    write_atomic(root / ".sdlc" / "state.yaml", yamlio.dumps(rebuild_state(Store(root))).encode())


# Byte-code caches must be written, or every run pays for compiling the modules again.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and peak RSS (MiB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def measure(argv: list[str], cwd: Path, runs: int, warm: bool = True) -> tuple[float, float, float]:
    """(first run, median of `runs` later runs, peak MiB)."""
    first, peak = timed(argv, cwd)
    samples = []
    for _ in range(runs):
        elapsed, rss = timed(argv, cwd)
        samples.append(elapsed)
        peak = max(peak, rss)
    return first, statistics.median(samples), peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--work", type=Path, default=None, help="Where to build projects (default: a temp dir)."
    )
    args = parser.parse_args()
    sdlc = [str(Path(sys.executable).parent / "sdlc")]
    if not Path(sdlc[0]).exists():
        sdlc = [sys.executable, "-m", "sdlc"]
    work = args.work or Path(tempfile.mkdtemp(prefix="sdlc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, int, float, float, float, str]] = []
    baseline = measure([sys.executable, "-c", "pass"], work, args.runs)
    rows.append(("python -c pass (interpreter start)", 0, *baseline, ""))
    # the floor of any typer command on this machine, for comparing figures across machines
    floor = measure([sys.executable, "-c", "import typer, yaml"], work, args.runs)
    rows.append(("python -c 'import typer, yaml' (floor)", 0, *floor, ""))
    version = measure([*sdlc, "--version"], work, args.runs)
    rows.append(("sdlc --version", 0, *version, f"< {TARGET_VERSION}"))
    for size in args.sizes:
        root = work / f"p{size}"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        started = time.perf_counter()
        build_project(root, size)
        print(f"built {size} features in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        one = "feature-00000"
        for label, command in (
            ("next --json", ["next", "--json"]),
            ("state --json", ["state", "--json"]),
            ("feature list --json", ["feature", "list", "--json"]),
            ("query ready --json", ["query", "ready", "--json"]),
        ):
            result = measure([*sdlc, *command], root, args.runs)
            rows.append(
                (label, size, *result, f"< {TARGET_ALL[size]} (ref ~{REFERENCE['all-feature'][size]})")
            )
        result = measure([*sdlc, "next", "--for", one, "--json"], root, args.runs)
        rows.append(("next --for", size, *result, f"< {TARGET_ONE} (ref {REFERENCE['next --for'][size]})"))
        result = measure([*sdlc, "feature", "show", one, "--json"], root, args.runs)
        rows.append(("feature show", size, *result, f"< {TARGET_ONE}"))
        samples, peak = [], 0.0
        for n in range(1, args.runs + 2):
            elapsed, rss = timed([*sdlc, "task", "complete", f"feature-{n:05d}", "T1", "--json"], root)
            samples.append(elapsed)
            peak = max(peak, rss)
        rows.append(
            ("task complete", size, samples[0], statistics.median(samples[1:]), peak, f"< {TARGET_ONE}")
        )
    print(f"{'command':38} {'features':>8} {'first s':>8} {'median s':>9} {'peak MiB':>9}  target")
    for label, size, first, median, peak, target in rows:
        print(f"{label:38} {size or '':>8} {first:8.3f} {median:9.3f} {peak:9.1f}  {target}")
    print(f"(medians of {args.runs} runs after the first; memory target < {TARGET_MEMORY_MIB} MiB)")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
