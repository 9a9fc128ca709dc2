"""Speed of the rdev API's work queue (spec/rdev-api.md "Speed"), part 1.

1. The ceiling: the queue's claim transaction (BEGIN IMMEDIATE, one UPDATE ... RETURNING)
   in a loop straight on a temp SQLite database, with synchronous=NORMAL and =FULL.
2. End to end over HTTP: --items no-op items submitted through `POST /work` to a real server
   on a loopback port, run by the embedded workers with a `noop` handler; timed from the first
   submit until every item succeeded; lost items and double claims counted.

Part 2, against the server as a real process (`python -m rdev_cli server start`, its admin key
read from the CLI profile in a temp RDEV_CONFIG_DIR), with the per-key rate limit lifted:

3. The queue end to end: --queue-items no-op `command` items (`true`) submitted one per
   `POST /work` (--submitters at once), then again --submit-batch per `POST /work/batch`, run
   by the embedded workers plus --external-workers `rdev worker run` processes; items/s from
   the first submit until all succeeded; lost items and double claims (an item claimed more
   than once: attempts > 1); CPU per item of the server, the workers, this script, and the
   whole machine (which alone holds the sandboxes' processes and the kernel's work).
4. Output: a command printing --output-lines lines of 40 bytes, followed over SSE by one
   follower (lines/s, complete and in order) and by --followers concurrent ones (total lines/s).
5. `GET /projects` with --projects projects under --clients concurrent clients: p50 and p99.

Medians of --runs runs. Run (--parts picks some; small sizes for a quick check):

    python benchmarks/api_bench.py [--items 2000] [--ceiling-items 5000] [--runs 3] [--parts 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import machine
import uvicorn
import yaml

from rdev_api.adapters.sqlite.database import Database
from rdev_api.adapters.sqlite.work import SqliteWorkStore, ts
from rdev_api.app import build_services, create_app
from rdev_api.http.auth import RateLimiter
from rdev_api.services.work import WorkJob
from rdev_api.timeouts import TIMEOUT_STANDARD
from rdev_cli.worker_http import Api

GOAL_END_TO_END = 300.0  # items/s
GOAL_ONE_FOLLOWER = 20_000.0  # lines/s
GOAL_TEN_FOLLOWERS = 100_000.0  # lines/s in total
DEADLINE_S = 300.0  # one end-to-end run gives up after this
# how often a run asks whether all items finished: /work/stats costs the server a few ms, which
# polled faster would be measured as queue time; 0.1 s is < 2 % of a run at the goal
STATS_POLL_S = 0.1


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
                    time.sleep(STATS_POLL_S)
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


# --- part 2: the server as a real process ----------------------------------------------------

RDEV = [sys.executable, "-m", "rdev_cli"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    """`python -m rdev_cli server start` on a free loopback port with its data dir and the CLI
    profile in `scratch`; the admin key comes from the profile it writes."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.env = {
            **os.environ,
            "RDEV_CONFIG_DIR": str(scratch / "config"),
            "RDEV_RATE_LIMIT": "1000000",
        }
        for name in ("RDEV_API_URL", "RDEV_API_KEY", "RDEV_DATA_DIR"):
            self.env.pop(name, None)
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.log = open(scratch / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                *RDEV,
                "server",
                "start",
                "--data-dir",
                str(scratch / "data"),
                "--port",
                self.url.rsplit(":", 1)[1],
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + TIMEOUT_STANDARD
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not start; see {scratch / 'server.log'}")
            time.sleep(0.05)
        profile = yaml.safe_load((scratch / "config" / "config.yaml").read_text(encoding="utf-8"))
        self.token = str(profile["profiles"]["local"]["api_key"])

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=TIMEOUT_STANDARD).status_code == 200
        except httpx.HTTPError:
            return False

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.token}, timeout=TIMEOUT_STANDARD)

    def stop(self) -> None:
        _end(self.process)
        self.log.close()


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(TIMEOUT_STANDARD)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _project(client: httpx.Client, name: str) -> str:
    answer = client.post("/projects", json={"name": name})
    if answer.status_code != 201:
        raise SystemExit(f"cannot create project {name}: {answer.text}")
    return str(answer.json()["id"])


def queue_with_workers(
    live: LiveServer, items: int, externals: int, concurrency: int, submitters: int, batch: int
) -> dict[str, float]:
    """Items/s of `true` commands through the embedded and `externals` external workers,
    submitted one per `POST /work`, or `batch` per `POST /work/batch` when batch > 1."""
    workdir = live.scratch / f"checkout-{time.monotonic_ns()}"
    workdir.mkdir()
    with live.client() as client, ExitStack() as stack:
        project = _project(client, f"queue-{time.monotonic_ns()}")
        before = {w["id"] for w in client.get("/workers?limit=1000").json()}
        workers = []
        options = ["--concurrency", str(concurrency), "--worker-id"]
        for n in range(externals):
            log = stack.enter_context(open(workdir / f"worker-{n}.log", "wb"))
            workers.append(
                subprocess.Popen(
                    [*RDEV, "worker", "run", "--workdir", str(workdir), *options, f"bench-{project}-{n}"],
                    env=live.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            stack.callback(_end, workers[-1])
        deadline = time.monotonic() + TIMEOUT_STANDARD
        while len({w["id"] for w in client.get("/workers?limit=1000").json()} - before) < externals:
            if time.monotonic() > deadline:
                raise SystemExit(f"the external workers did not register; see {workdir}/worker-*.log")
            time.sleep(0.05)
        baseline = _finished(client)
        cpu_before = [_cpu_s(live.process.pid, False), *(_cpu_s(w.pid) for w in workers), _cpu_s(os.getpid())]
        busy_before = machine.busy_s()
        body = {"type": "command", "payload": {"project": project, "kind": "shell", "argv": ["true"]}}
        started = time.perf_counter()
        # submitted with rdev worker run's http.client client: httpx would cost this script as
        # much CPU per item as the server spends on it, on the same two cores
        submitter = Api(live.url, live.token)
        with ThreadPoolExecutor(max_workers=submitters) as pool:
            if batch > 1:
                sizes = [min(batch, items - start) for start in range(0, items, batch)]
                batches = pool.map(
                    lambda n: submitter.call("POST", "/work/batch", {"items": [body] * n}), sizes
                )
                submitted = {item["id"] for answer in batches for item in answer}
            else:
                answers = pool.map(lambda _: submitter.call("POST", "/work", body), range(items))
                submitted = {answer["id"] for answer in answers}
        submitter.close()
        deadline = time.monotonic() + DEADLINE_S
        while _finished(client) - baseline < len(submitted) and time.monotonic() < deadline:
            time.sleep(STATS_POLL_S)
        elapsed = time.perf_counter() - started
        cpu_after = [_cpu_s(live.process.pid, False), *(_cpu_s(w.pid) for w in workers), _cpu_s(os.getpid())]
        busy = machine.busy_s() - busy_before
        succeeded = [i for i in _all(client, "succeeded") if i["id"] in submitted]
    used = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
    by_external = sum(1 for i in succeeded if str(i["worker_id"]).startswith(f"bench-{project}-"))
    return {
        "items_per_s": len(succeeded) / elapsed,
        "lost": float(items - len(succeeded)),
        "double_claims": float(sum(1 for i in succeeded if i["attempts"] > 1)),
        "external_share": by_external / max(len(succeeded), 1),
        "server_cpu_ms": used[0] * 1000 / max(len(succeeded), 1),
        "workers_cpu_ms": sum(used[1:-1]) * 1000 / max(len(succeeded), 1),
        "bench_cpu_ms": used[-1] * 1000 / max(len(succeeded), 1),
        "machine_cpu_ms": busy * 1000 / max(len(succeeded), 1),
    }


def _cpu_s(pid: int, children: bool = True) -> float:
    """CPU seconds of a process (user + system), with those of its waited-for children unless
    `children` is False: so for the server, whose children are the sandboxes, reaped when they
    end (a run or more later) with all their commands' CPU at once."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11 : 15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def _finished(client: httpx.Client) -> int:
    counts = client.get("/work/stats").json()["by_status"]
    return sum(counts.get(status, 0) for status in ("succeeded", "failed", "dead", "cancelled"))


def _follow(live: LiveServer, command_id: str) -> list[str]:
    """Every stdout line of the command, from its SSE stream."""
    chunks: list[str] = []
    event = ""
    with (
        live.client() as client,
        client.stream("GET", f"/commands/{command_id}/events", timeout=DEADLINE_S) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "output":
                chunks.append(json.loads(line[6:])["data"])
    return "".join(chunks).splitlines()


def output_followers(live: LiveServer, project: str, lines: int, followers: int) -> dict[str, float]:
    """Lines/s of a `seq` of `lines` 40-byte lines to `followers` concurrent SSE followers
    (in total); whether every follower got every line in order."""
    expected = [f"{n:039d}" for n in range(1, lines + 1)]
    with live.client() as client:
        started = time.perf_counter()
        answer = client.post(
            f"/projects/{project}/commands",
            json={"kind": "shell", "argv": ["seq", "-f", "%039.0f", "1", str(lines)]},
        )
        if answer.status_code != 202:
            raise SystemExit(f"cannot start the output command: {answer.text}")
        command_id = answer.json()["id"]
        with ThreadPoolExecutor(max_workers=followers) as pool:
            got = list(pool.map(lambda _: _follow(live, command_id), range(followers)))
        elapsed = time.perf_counter() - started
    return {"lines_per_s": lines * followers / elapsed, "complete": float(all(g == expected for g in got))}


def list_projects_latency(live: LiveServer, projects: int, clients: int, requests: int) -> dict[str, float]:
    """p50 and p99 (ms) of `GET /projects` with `projects` projects and `clients` clients."""
    with live.client() as client:
        have = len(client.get("/projects?limit=100").json())
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda n: _project(client, f"listed-{n}"), range(have, projects)))

    def one_client(_: int) -> list[float]:
        times = []
        with live.client() as own:
            for _ in range(requests):
                started = time.perf_counter()
                answer = own.get("/projects?limit=100")
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200 or len(answer.json()) < min(projects, 100):
                    raise SystemExit(f"GET /projects answered {answer.status_code}")
        return times

    with ThreadPoolExecutor(max_workers=clients) as pool:
        times = sorted(t for batch in pool.map(one_client, range(clients)) for t in batch)
    return {"p50_ms": times[len(times) // 2], "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))]}


def _row(label: str, values: list[float], goal: str = "", digits: int = 0) -> None:
    runs = " ".join(f"{v:.{digits}f}" for v in values)
    print(f"{label:44} {statistics.median(values):10.{digits}f}  {runs}{goal}")


def _queue_rows(live: LiveServer, args: argparse.Namespace, batch: int) -> bool:
    """Part 3 with items submitted one by one (batch 1) or `batch` per request; False when an
    item was lost or ran twice."""
    results = [
        queue_with_workers(
            live, args.queue_items, args.external_workers, args.worker_concurrency, args.submitters, batch
        )
        for _ in range(args.runs)
    ]
    how = "one per POST /work" if batch == 1 else f"{batch} per POST /work/batch"
    print(f"queue, embedded + {args.external_workers} external workers, items submitted {how}:")
    _row("  items/s", [r["items_per_s"] for r in results], f"  (goal >= {GOAL_END_TO_END:.0f})")
    _row("  share run by external workers", [r["external_share"] for r in results], digits=2)
    for who in ("server", "workers", "bench", "machine"):
        _row(f"  {who} CPU per item (ms)", [r[f"{who}_cpu_ms"] for r in results], digits=2)
    lost = sum(r["lost"] for r in results)
    doubles = sum(r["double_claims"] for r in results)
    print(f"{'  lost items, double claims (all runs)':44} {lost:>4.0f} {doubles:>5.0f}")
    return not lost and not doubles


def part_two(args: argparse.Namespace, parts: set[str]) -> bool:
    """Parts 3-5 against one server process; False when an item was lost or ran twice, or a
    follower missed output."""
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        live = LiveServer(Path(scratch))
        try:
            if "3" in parts:
                for batch in sorted({1, args.submit_batch}):
                    ok = _queue_rows(live, args, batch) and ok
            if "4" in parts:
                with live.client() as client:
                    project = _project(client, "output")
                for followers, goal in ((1, GOAL_ONE_FOLLOWER), (args.followers, GOAL_TEN_FOLLOWERS)):
                    results = [
                        output_followers(live, project, args.output_lines, followers)
                        for _ in range(args.runs)
                    ]
                    _row(
                        f"output to {followers} follower(s) (lines/s total)",
                        [r["lines_per_s"] for r in results],
                        f"  (goal >= {goal:.0f}; complete and in order: "
                        + ("yes)" if all(r["complete"] for r in results) else "NO)"),
                    )
                    ok = ok and all(r["complete"] for r in results)
            if "5" in parts:
                results = [
                    list_projects_latency(live, args.projects, args.clients, args.requests)
                    for _ in range(args.runs)
                ]
                label = f"GET /projects, {args.projects} projects, {args.clients} clients"
                _row(f"{label} p50 (ms)", [r["p50_ms"] for r in results], digits=1)
                _row(f"{label} p99 (ms)", [r["p99_ms"] for r in results], digits=1)
        finally:
            live.stop()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3,4,5", help="which measures to run (comma-separated)")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--ceiling-items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--submitters", type=int, default=8, help="concurrent HTTP submitters")
    parser.add_argument("--queue-items", type=int, default=2000)
    parser.add_argument(
        "--submit-batch", type=int, default=100, help="part 3 also submits this many per request (1: not)"
    )
    parser.add_argument("--external-workers", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2, help="--concurrency of each")
    parser.add_argument("--output-lines", type=int, default=200_000)
    parser.add_argument("--followers", type=int, default=10)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50, help="GET /projects per client")
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    print(f"{'measure':44} {'median':>10}  runs")
    lost = doubles = 0.0
    if "1" in parts:
        for synchronous in ("NORMAL", "FULL"):
            rates = [claim_ceiling(args.ceiling_items, synchronous) for _ in range(args.runs)]
            _row(f"claim ceiling, synchronous={synchronous} (items/s)", rates)
    if "2" in parts:
        results = [end_to_end(args.items, args.submitters) for _ in range(args.runs)]
        _row(
            "HTTP submit -> embedded noop (items/s)",
            [r["items_per_s"] for r in results],
            f"  (goal >= {GOAL_END_TO_END:.0f})",
        )
        lost = sum(r["lost"] for r in results)
        doubles = sum(r["double_claims"] for r in results)
        print(f"{'lost items, double claims (all runs)':44} {lost:>4.0f} {doubles:>5.0f}")
    ok = part_two(args, parts) if parts & {"3", "4", "5"} else True
    print(f"(medians of {args.runs} runs; sizes: see --help)")
    return 1 if lost or doubles or not ok else 0


if __name__ == "__main__":
    sys.exit(main())
