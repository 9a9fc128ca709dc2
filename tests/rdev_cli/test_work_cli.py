"""`rdev work` and `rdev workers` against the real API: command items submitted after `--` and
run by the embedded workers, `wait` exit codes (0 succeeded, 1 failed/dead/cancelled, 8 still
running), retry and cancel, stats, list filters and pagination over Link headers, usage errors
with hints, and the worker registry's drain and remove (which needs --yes off a terminal)."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ApiServer, RdevCli, Result


def _project(api: ApiServer, name: str = "shop") -> None:
    with api.admin() as admin:
        response = admin.post("/projects", json={"name": name, "template": "default"})
    assert response.status_code == 201, response.text


def _submit(api: ApiServer, count: int, **fields: Any) -> list[str]:
    """Items no embedded worker claims (no handler for their type): they stay queued."""
    with api.admin() as admin:
        made = [admin.post("/work", json={"type": "noop", **fields}) for _ in range(count)]
    assert all(r.status_code == 201 for r in made), made[-1].text
    return [r.json()["id"] for r in made]


def _failed(result: Result, code: int, *words: str) -> None:
    assert result.code == code, result
    assert "\nError: " in "\n" + result.err and "Traceback" not in result.err, result.err
    for word in words:
        assert word in result.err, (word, result.err)


def test_command_items_run_wait_retry_and_cancel(rdev_with_workers: RdevCli) -> None:
    rdev = rdev_with_workers
    _project(rdev.server)
    # the convenient form: everything after -- is the command's argv (-q belongs to grep)
    done = rdev(
        "work", "submit", "-p", "shop", "--wait", "-o", "json", "--", "grep", "-q", "shop", "README.md"
    )
    assert done.code == 0, done
    item = done.data
    assert item["type"] == "command" and item["project"] == "shop" and item["status"] == "succeeded"
    assert item["payload"] == {"kind": "shell", "argv": ["grep", "-q", "shop", "README.md"]}
    assert item["result"]["exit_code"] == 0 and "queued work item" in done.err
    got = rdev.json("work", "get", item["id"])
    assert got == item
    # a failing command with one attempt is dead: wait exits 1 and names the retry
    dead = rdev("work", "submit", "--project", "shop", "--max-attempts", "1", "--wait", "--", "false")
    _failed(dead, 1, "dead", "exit code 1", "Hint: try it again: rdev work retry wi_")
    dead_id = dead.out.split("\t")[0]
    assert dead.out.startswith(f"{dead_id}\tcommand\tshop\tdead\t1\t"), dead.out  # piped: TSV, no header
    retried = rdev.json("work", "retry", dead_id)
    assert retried["status"] == "queued" and retried["attempts"] == 0
    again = rdev("work", "wait", dead_id, "--timeout", "60")
    _failed(again, 1, f"work item {dead_id} dead")
    # submitted without --wait: the id on stdout, the way to follow it on stderr
    queued = rdev.ok("work", "submit", "-t", "noop", "--payload", '{"n": 1}', "--priority", "5", "-q")
    noop_id = queued.out.strip()
    assert noop_id.startswith("wi_") and f"rdev work wait {noop_id}" in queued.err
    assert rdev.json("work", "get", noop_id)["priority"] == 5
    # nothing runs noop: wait gives up with exit 8 and says how to go on waiting
    still = rdev("work", "wait", noop_id, "--timeout", "0.3")
    _failed(still, 8, "still running after 0.3 s", f"Hint: rdev work wait {noop_id}")
    assert still.out == ""
    cancelled = rdev.json("work", "cancel", noop_id)
    assert cancelled["status"] == "cancelled"
    _failed(rdev("work", "wait", noop_id), 1, f"work item {noop_id} cancelled")
    _failed(rdev("work", "cancel", noop_id), 5)  # a finished item cannot be cancelled
    stats = rdev.json("work", "stats")
    assert stats["by_status"]["succeeded"] == 1 and stats["by_status"]["dead"] == 1
    assert stats["by_type"]["noop"]["cancelled"] == 1
    text = rdev.ok("work", "stats").out.splitlines()
    assert text[0].split("\t") == ["(all)", "0", "0", "1", "0", "1", "1"]
    assert "noop\t0\t0\t0\t0\t0\t1" in text
    table = rdev.ok("work", "stats", "-o", "table").out
    assert "SUCCEEDED" in table and "oldest queued: -" in table and "run time mean" in table


def test_list_filters_and_pages(rdev: RdevCli, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _submit(rdev.server, 105)
    others = _submit(rdev.server, 3, project=None, priority=1)
    with rdev.server.admin() as admin:
        admin.post("/work", json={"type": "other", "payload": {}})
    first = rdev.json("work", "list")
    assert [i["id"] for i in first] == ids[:100]  # one page: the API's default size
    every = rdev("work", "list", "--all", "-o", "json", "--debug")
    assert every.code == 0, every
    assert len(every.data) == 109 and [i["id"] for i in every.data][:108] == ids + others
    assert every.err.count("debug: > GET") == 2 and "cursor=" in every.err  # followed Link rel=next
    assert [i["id"] for i in rdev.json("work", "list", "--limit", "3")] == ids[:3]
    assert [i["type"] for i in rdev.json("work", "list", "--type", "other", "--all")] == ["other"]
    names = rdev.ok("work", "ls", "--status", "queued", "--limit", "2", "-q").out.split()
    assert names == ids[:2]
    rdev.ok("work", "cancel", ids[0])
    assert [i["id"] for i in rdev.json("work", "list", "--status", "cancelled")] == [ids[0]]
    assert rdev.json("work", "list", "--project", "ghost") == []
    assert rdev.ok("work", "list", "--project", "ghost").out == ""
    _failed(rdev("work", "list", "--status", "nope"), 2, "VALIDATION_FAILED")
    monkeypatch.setenv("COLUMNS", "250")  # rich's width off a terminal
    table = rdev.ok("work", "list", "--limit", "1", "-o", "wide").out
    assert "ID" in table and "MAX_ATTEMPTS" in table and ids[0] in table


def test_submit_usage_errors_have_hints(rdev: RdevCli, tmp_path: Any) -> None:
    _failed(rdev("work", "submit"), 2, "give --type", "Hint: rdev work submit --type TYPE")
    _failed(rdev("work", "submit", "-t", "x", "--payload", "{nope"), 2, "not valid JSON", "Hint:")
    _failed(rdev("work", "submit", "-t", "x", "--payload", "[1]"), 2, "must be a JSON object, not list")
    _failed(
        rdev("work", "submit", "-t", "x", "--payload-file", str(tmp_path / "none.json")), 2, "cannot read"
    )
    _failed(rdev("work", "submit", "--", "ls", "-l"), 2, "--project is required", "Hint: rdev work submit")
    _failed(rdev("work", "submit", "-p", "shop", "-t", "sdlc", "--", "ls"), 2, "not 'sdlc'")
    _failed(rdev("work", "submit", "-t", "x", "--priority", "5000"), 2, "--priority")
    _failed(rdev("work", "submit", "-t", "Bad Type"), 2, "VALIDATION_FAILED", "type")
    _failed(rdev("work", "get", "wi_nope"), 3, "no work item wi_nope")
    payload = tmp_path / "payload.json"
    payload.write_text('{"from": "file"}')
    assert rdev.json("work", "submit", "-t", "x", "--payload-file", str(payload))["payload"] == {
        "from": "file"
    }
    piped = rdev.json("work", "submit", "-t", "x", "--payload-file", "-", stdin='{"from": "stdin"}')
    assert piped["payload"] == {"from": "stdin"} and piped["project"] is None


def test_workers_drain_and_remove(rdev_with_workers: RdevCli) -> None:
    rdev = rdev_with_workers
    with rdev.server.admin() as admin:
        created = admin.post("/workers", json={"id": "laptop-1", "name": "laptop", "types": ["command"]})
    assert created.status_code == 201, created.text
    workers = rdev.json("workers", "list")
    assert any(w["embedded"] for w in workers) and "laptop-1" in [w["id"] for w in workers]
    assert rdev.ok("workers", "get", "laptop-1").out.startswith("laptop-1\tlaptop\tactive\tcommand\tfalse\t")
    drained = rdev("workers", "drain", "laptop-1", "-o", "json")
    assert drained.code == 0 and drained.data["status"] == "draining" and "claims nothing new" in drained.err
    refused = rdev("workers", "remove", "laptop-1")
    _failed(refused, 2, "not a terminal", "Hint: add --yes: rdev workers remove laptop-1 --yes")
    assert rdev.json("workers", "get", "laptop-1")["status"] == "draining"
    removed = rdev("workers", "rm", "laptop-1", "--yes")
    assert removed.code == 0 and removed.out == "" and "removed worker laptop-1" in removed.err
    _failed(rdev("workers", "get", "laptop-1"), 3, "laptop-1")


def test_batch_queues_items_from_a_file_or_stdin_100_per_request(rdev: RdevCli, tmp_path: Any) -> None:
    lines = "\n".join(f'{{"type": "noop", "payload": {{"n": {n}}}}}' for n in range(250)) + "\n\n"
    source = tmp_path / "items.jsonl"
    source.write_text(lines)
    queued = rdev.json("work", "batch", str(source))
    assert [i["payload"]["n"] for i in queued] == list(range(250))
    with rdev.server.admin() as admin:
        submits = [r for r in admin.get("/audit?limit=500").json() if r["action"] == "work.submit"]
    assert len(submits) == 250 and len({r["request_id"] for r in submits}) == 3  # 100 + 100 + 50
    ids = rdev("work", "batch", "-", "-q", stdin='[{"type": "noop"}, {"type": "noop", "priority": 5}]')
    assert ids.code == 0 and len(ids.out.split()) == 2 and all(i.startswith("wi_") for i in ids.out.split())
    _failed(rdev("work", "batch", "-", stdin='{"type": "noop"'), 2, "not valid JSON")
    _failed(rdev("work", "batch", "-", stdin="[]"), 2, "at least one item")
    _failed(rdev("work", "batch", str(tmp_path / "missing.jsonl")), 2, "cannot read")
    # the API refuses the second request: the first 100 stay queued and the error says so
    lines = [f'{{"type": "noop", "payload": {{"n": {n}}}}}' for n in range(150)]
    lines[120] = '{"type": "noop", "colour": "red"}'
    source.write_text("\n".join(lines))
    partial = rdev("work", "batch", str(source), "-q")
    _failed(partial, 2, "queued 100 of 150 items; from item 101")
    assert len(partial.out.split()) == 100
