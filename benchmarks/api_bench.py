"""Speed of the rdev API's work queue (spec/rdev-api.md "Speed"), part 1.

1. The ceiling: the queue's claim transaction (BEGIN IMMEDIATE, one UPDATE ... RETURNING)
   in a loop straight on a temp SQLite database, with synchronous=NORMAL and =FULL.
2. End to end over HTTP: --items no-op items submitted through `POST /work` to a real server
   on a loopback port, run by the embedded workers with a `noop` handler; timed from the first
   submit until every item succeeded; lost items and double claims counted.

Medians of --runs runs. Run:

    python benchmarks/api_bench.py [--items 2000] [--ceiling-items 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from rdev_api.adapters.sqlite.database import Database
from rdev_api.adapters.sqlite.work import SqliteWorkStore, ts
from rdev_api.app import build_services, create_app
from rdev_api.http.auth import RateLimiter
from rdev_api.services.work import WorkJob
from rdev_api.timeouts import TIMEOUT_STANDARD

GOAL_END_TO_END = 300.0  # items/s
DEADLINE_S = 300.0  # one end-to-end run gives up after this


def claim_ceiling(items: int, synchronous: str) -> float:
    """Items/s of the bare claim transaction on a fresh database."""
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(Path(scratch) / "bench.db")
        db.connection().execute(f"PRAGMA synchronous={synchronous}")
        store = SqliteWorkStore(db)
        now = ts(datetime.now(UTC))
        with db.write() as connection:
            connection.executemany(
                "INSERT INTO work_items (id, type, payload, status, run_after, created_at, updated_at)"
                " VALUES (?, 'noop', '{}', 'queued', ?, ?, ?)",
                [(f"wi_{n:08d}", now, now, now) for n in range(items)],
            )
        started = time.perf_counter()
        claimed = 0
        while store.claim("bench", ["noop"], 60, datetime.now(UTC), None) is not None:
            claimed += 1
        elapsed = time.perf_counter() - started
        db.close()
    if claimed != items:
        raise SystemExit(f"the ceiling loop claimed {claimed} of {items} items")
    return claimed / elapsed


def end_to_end(items: int, workers: int) -> dict[str, float]:
    """Items/s through HTTP submit → embedded claim → complete; lost and double-claimed counts."""
    runs: Counter[str] = Counter()
    guard = threading.Lock()

    def noop(job: WorkJob) -> Any:
        with guard:
            runs[job.item["id"]] += 1
        return None

    with tempfile.TemporaryDirectory() as scratch:
        services = build_services(Path(scratch))
        services.rate_limiter = RateLimiter(rate=1_000_000, burst=1_000_000)
        _, token = services.keys.bootstrap_admin("bench")
        services.work.register_handler("noop", noop)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(services), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + TIMEOUT_STANDARD
        while not server.started:
            if time.monotonic() > deadline:
                raise SystemExit("the API server did not start")
            time.sleep(0.01)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        services.embedded_workers.start()
        try:
            with httpx.Client(base_url=url, headers={"X-API-Key": token}, timeout=TIMEOUT_STANDARD) as client:
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    answers = list(
                        pool.map(lambda _: client.post("/work", json={"type": "noop"}), range(items))
                    )
                submitted = {a.json()["id"] for a in answers if a.status_code == 201}
                deadline = time.monotonic() + DEADLINE_S
                while client.get("/work/stats").json()["by_status"]["succeeded"] < len(submitted):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
                elapsed = time.perf_counter() - started
                succeeded = {i["id"] for i in _all(client, "succeeded")}
        finally:
            services.embedded_workers.stop(timeout=TIMEOUT_STANDARD)
            server.should_exit = True
            thread.join(timeout=TIMEOUT_STANDARD)
            services.db.close()
    return {
        "items_per_s": len(succeeded) / elapsed,
        "lost": float(items - len(submitted & succeeded)),
        "double_claims": float(sum(1 for n in runs.values() if n > 1)),
    }


def _all(client: httpx.Client, status: str) -> list[dict[str, Any]]:
    found, url = [], f"/work?status={status}&limit=1000"
    while url:
        page = client.get(url)
        found += page.json()
        url = page.links.get("next", {}).get("url", "")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--ceiling-items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--submitters", type=int, default=8, help="concurrent HTTP submitters")
    args = parser.parse_args()

    print(f"{'measure':44} {'median':>10}  runs")
    for synchronous in ("NORMAL", "FULL"):
        rates = [claim_ceiling(args.ceiling_items, synchronous) for _ in range(args.runs)]
        label = f"claim ceiling, synchronous={synchronous} (items/s)"
        print(f"{label:44} {statistics.median(rates):10.0f}  " + " ".join(f"{r:.0f}" for r in rates))
    results = [end_to_end(args.items, args.submitters) for _ in range(args.runs)]
    rates = [r["items_per_s"] for r in results]
    print(
        f"{'HTTP submit -> embedded noop (items/s)':44} {statistics.median(rates):10.0f}  "
        + " ".join(f"{r:.0f}" for r in rates)
        + f"  (goal >= {GOAL_END_TO_END:.0f})"
    )
    lost = sum(r["lost"] for r in results)
    doubles = sum(r["double_claims"] for r in results)
    print(f"{'lost items, double claims (all runs)':44} {lost:>4.0f} {doubles:>5.0f}")
    print(
        f"(medians of {args.runs} runs; {args.items} items end to end, {args.ceiling_items} for the ceiling)"
    )
    return 1 if lost or doubles else 0


if __name__ == "__main__":
    sys.exit(main())
