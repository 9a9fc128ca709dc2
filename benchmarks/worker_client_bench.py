"""Client cost of `rdev worker run`'s HTTP calls: httpx.Client against the worker's own
http.client `Api` (rdev_cli/worker_http.py), both with one kept-alive connection.

Against the server as a real process (api_bench.LiveServer), each client sends --requests
`POST /work/claim` for a type nothing submits, with wait_s 0: every answer is a 204 at once, so
what differs is the client. Measured in this process, which runs nothing else: CPU per request
(time.process_time, user + system) and requests/s. Medians of --runs runs, after a warm-up.

    python benchmarks/worker_client_bench.py [--requests 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from api_bench import LiveServer

from rdev_cli.worker_http import CONNECT_TIMEOUT_S, REQUEST_TIMEOUT_S, Api

WORKER_ID = "client-bench"
CLAIM = {"worker_id": WORKER_ID, "types": ["bench-nothing"], "lease_s": 60, "wait_s": 0}
WARM_UP = 100  # requests before a run is timed: connection, imports, caches


def timed(claim: Callable[[], object], requests: int) -> tuple[float, float]:
    """(CPU microseconds per request, requests/s) of `requests` claims, each answered 204."""
    for _ in range(WARM_UP):
        claim()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        claim()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1e6 / requests, requests / wall


def with_httpx(live: LiveServer, requests: int) -> tuple[float, float]:
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    with httpx.Client(base_url=live.url, headers={"X-API-Key": live.token}, timeout=timeout) as client:

        def claim() -> object:
            answer = client.post("/work/claim", json=CLAIM)
            if answer.status_code != 204:
                raise SystemExit(f"the claim answered {answer.status_code}: {answer.text}")
            return None

        return timed(claim, requests)


def with_api(live: LiveServer, requests: int) -> tuple[float, float]:
    api = Api(live.url, live.token)

    def claim() -> object:
        found = api.call("POST", "/work/claim", CLAIM)
        if found is not None:
            raise SystemExit(f"the claim found an item: {found}")
        return None

    try:
        return timed(claim, requests)
    finally:
        api.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="claims per client and run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"httpx.Client": [], "http.client (worker Api)": []}
    with tempfile.TemporaryDirectory() as scratch:
        live = LiveServer(Path(scratch))
        try:
            with live.client() as admin:
                admin.post("/workers", json={"id": WORKER_ID, "types": CLAIM["types"]}).raise_for_status()
            for _ in range(args.runs):  # interleaved: a drift of the machine hits both alike
                results["httpx.Client"].append(with_httpx(live, args.requests))
                results["http.client (worker Api)"].append(with_api(live, args.requests))
        finally:
            live.stop()
    print(f"{'client':28} {'CPU/request (us)':>17} {'requests/s':>11}  runs (CPU us)")
    for name, runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        rate = statistics.median(r[1] for r in runs)
        print(f"{name:28} {cpu:17.0f} {rate:11.0f}  {' '.join(f'{r[0]:.0f}' for r in runs)}")
    print(f"(medians of {args.runs} runs of {args.requests} `POST /work/claim` answered 204)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
