"""What a `command` work item costs the server when its embedded workers run it: --items `true`
items queued first, then run by --workers embedded worker threads, no HTTP. Prints items/s and
the server's CPU per item (user + system of the server process), next to the whole machine's
(the server, the commands and their sandboxes, the kernel). Each run is a fresh process (the sandbox
and the worker count are read at start-up); medians of --runs runs, in both sandbox modes.

    python benchmarks/embedded_bench.py [--items 300] [--workers 2] [--runs 3] [--sandbox both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import machine

MODES = {"bwrap": "bwrap", "off": "plain"}  # RDEV_SANDBOX -> the executor it must give
DEADLINE_S = 300.0  # a run that has not finished by then is reported, not waited for


def cpu_ms(usage: resource.struct_rusage) -> float:
    return (usage.ru_utime + usage.ru_stime) * 1000


def one_run(items: int) -> dict[str, Any]:
    """In this process: queue the items, start the workers, time them until all succeeded."""
    from rdev_api.app import build_services
    from rdev_api.services.projects import ProjectRequest
    from rdev_api.services.work import WorkRequest

    with tempfile.TemporaryDirectory(prefix="rdev-embedded-bench-") as data_dir:
        services = build_services(Path(data_dir))
        project = services.projects.create(ProjectRequest(name="bench"))
        payload = {"project": project.id, "kind": "shell", "argv": ["true"]}
        for _ in range(items):
            services.work.submit(WorkRequest("command", payload), None)
        # counted as they finish, through the hook the app already has: no polling query
        finished: dict[str, int] = {}
        all_done = threading.Event()
        emit = services.work.on_finished

        def count(item: dict[str, Any]) -> None:
            if emit is not None:
                emit(item)
            finished[item["status"]] = finished.get(item["status"], 0) + 1
            if sum(finished.values()) >= items:
                all_done.set()

        services.work.on_finished = count
        own, busy = resource.getrusage(resource.RUSAGE_SELF), machine.busy_s()
        started = time.perf_counter()
        services.embedded_workers.start()
        completed = all_done.wait(DEADLINE_S)
        elapsed = time.perf_counter() - started
        own_after, busy_after = resource.getrusage(resource.RUSAGE_SELF), machine.busy_s()
        services.embedded_workers.stop(timeout=10)
        services.commands.shutdown()
        services.db.close()
    return {
        "executor": services.executor.mode,
        "completed": completed,
        "finished": finished,
        "items_per_s": items / elapsed,
        "server_cpu_ms": (cpu_ms(own_after) - cpu_ms(own)) / items,
        "machine_cpu_ms": (busy_after - busy) * 1000 / items,
    }


def run_child(sandbox: str, items: int, workers: int) -> dict[str, Any]:
    env = {**os.environ, "RDEV_SANDBOX": sandbox, "RDEV_EMBEDDED_WORKERS": str(workers)}
    env.setdefault("RDEV_LOG_LEVELS", "executor=error")  # the plain mode's warning, once a run
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--items", str(items)],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S + 60,
        check=False,
    )
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        return {"error": said[-1] if said else f"exit code {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["executor"] != MODES[sandbox]:
        result["error"] = f"asked for RDEV_SANDBOX={sandbox}, ran {result['executor']}"
    elif not result["completed"] or result["finished"] != {"succeeded": items}:
        result["error"] = f"not all items succeeded: {result['finished']}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sandbox", choices=["both", *MODES], default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.items)))
        return
    modes = list(MODES) if args.sandbox == "both" else [args.sandbox]
    print(f"{args.items} `true` command items, {args.workers} embedded workers, {args.runs} runs each")
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    failed = False
    for run in range(args.runs):
        for mode in modes:  # modes alternate, so a change in the machine's load hits both
            result = run_child(mode, args.items, args.workers)
            results[mode].append(result)
            if "error" in result:
                failed = True
                print(f"  run {run + 1} RDEV_SANDBOX={mode}: {result['error']}")
                continue
            print(
                f"  run {run + 1} RDEV_SANDBOX={mode}: {result['items_per_s']:.0f} items/s,"
                f" server CPU {result['server_cpu_ms']:.2f} ms/item,"
                f" machine CPU {result['machine_cpu_ms']:.2f} ms/item"
            )
    for mode in modes:
        good = [r for r in results[mode] if "error" not in r]
        if not good:
            print(f"RDEV_SANDBOX={mode}: no run finished")
            continue
        print(
            f"RDEV_SANDBOX={mode} (median of {len(good)}):"
            f" {statistics.median(r['items_per_s'] for r in good):.0f} items/s,"
            f" server CPU {statistics.median(r['server_cpu_ms'] for r in good):.2f} ms/item,"
            f" machine CPU {statistics.median(r['machine_cpu_ms'] for r in good):.2f} ms/item"
        )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
