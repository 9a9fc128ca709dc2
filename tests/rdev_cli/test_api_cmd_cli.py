"""`rdev api PATH` against the real API on a loopback port: fields to the query (GET) or a JSON
body, typed fields, --input, headers, -i, --paginate across pages, and the exit code of an error
status with the body still on stdout (like `gh api`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import RdevCli, Result


def failed(result: Result, code: int, *needles: str) -> None:
    assert result.code == code, result
    assert "Error: " in result.err and "Traceback" not in result.err, result.err
    for needle in needles:
        assert needle in result.err, (needle, result.err)


def admin_get(rdev: RdevCli, path: str) -> Any:
    with rdev.server.admin() as admin:
        response = admin.get(path)
        assert response.status_code == 200, response.text
        return response.json()


def test_get_with_fields_goes_to_the_query_and_include_prints_the_head(rdev: RdevCli) -> None:
    for name in ("one", "two"):
        rdev.ok("api", "/keys", "-f", f"name={name}", "-F", "scopes[]=projects:read")
    page = rdev.ok("api", "/keys", "-X", "get", "-F", "limit=1").data
    assert len(page) == 1 and page[0]["name"] == "test-admin"
    head = rdev.ok("api", "keys", "-X", "GET", "-F", "limit=2", "-i", "-H", "X-Request-ID: cli-test-0001")
    lines = head.out.splitlines()
    assert lines[0] == "HTTP/1.1 200 OK"
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1 : lines.index("")])}
    assert headers["x-request-id"] == "cli-test-0001"
    assert 'rel="next"' in headers["link"] and "limit=2" in headers["link"]
    body = json.loads("\n".join(lines[lines.index("") + 1 :]))
    assert [k["name"] for k in body] == ["test-admin", "one"]
    assert rdev.ok("api", "/keys?limit=1").data == page  # a query in PATH


def test_post_with_raw_and_typed_fields(rdev: RdevCli, tmp_path: Path) -> None:
    (tmp_path / "name.txt").write_text("from-a-file")
    name = "name=@" + str(tmp_path / "name.txt")
    scopes = ["-F", "scopes[]=queue:read", "-F", "scopes[]=queue:write"]
    created = rdev.ok("api", "/keys", "-F", name, *scopes, "-F", "expires_at=null").data
    assert created["name"] == "from-a-file" and created["scopes"] == ["queue:read", "queue:write"]
    assert created["token"].startswith("rdev_") and created["expires_at"] is None

    fields = ["type=demo", "priority=7", "payload[n]=-2.5e1", "payload[ok]=true", "payload[none]=null"]
    fields += ["payload[tags][]=a", "payload[tags][]=b"]
    typed = [arg for value in fields for arg in ("-F", value)]
    item = rdev.ok("api", "/work", *typed, "-f", "payload[raw]=42").data
    stored = admin_get(rdev, f"/work/{item['id']}")
    assert stored["priority"] == 7
    assert stored["payload"] == {"n": -25.0, "ok": True, "none": None, "raw": "42", "tags": ["a", "b"]}


def test_input_sends_a_file_or_stdin_as_the_body(rdev: RdevCli, tmp_path: Path) -> None:
    body = tmp_path / "key.json"
    body.write_text(json.dumps({"name": "from-input", "scopes": ["webhooks:read"]}))
    created = rdev.ok("api", "/keys", "--input", str(body)).data  # POST by default
    assert admin_get(rdev, f"/keys/{created['id']}")["name"] == "from-input"
    piped = rdev.ok(
        "api", "-X", "POST", "/keys", "--input", "-", stdin='{"name": "stdin", "scopes": ["workers"]}'
    )
    assert piped.data["name"] == "stdin" and piped.data["scopes"] == ["workers"]
    failed(rdev("api", "/keys", "--input", str(tmp_path / "missing.json")), 2, "cannot read")


def test_paginate_merges_every_page(rdev: RdevCli) -> None:
    for n in range(4):
        rdev.ok("api", "/keys", "-f", f"name=k{n}", "-F", "scopes[]=projects:read")
    everything = admin_get(rdev, "/keys?limit=1000")
    assert len(everything) == 5
    merged = rdev.ok("api", "/keys", "-X", "GET", "-F", "limit=2", "--paginate")
    assert [k["id"] for k in merged.data] == [k["id"] for k in everything]  # 3 pages, one array
    with_heads = rdev.ok("api", "/keys?limit=2", "--paginate", "-i").out
    assert with_heads.count("HTTP/1.1 200 OK") == 3
    assert json.loads(with_heads[with_heads.rindex("\n[\n") :]) == merged.data
    failed(rdev("api", "/keys", "--paginate", "-X", "POST"), 2, "GET only")


def test_error_statuses_print_the_body_and_exit_with_their_code(rdev: RdevCli) -> None:
    missing = rdev("api", "/keys/nope0000")
    failed(missing, 3, "(NOT_FOUND)", "Request ID: req_")
    assert missing.data["error"]["code"] == "NOT_FOUND"

    invalid = rdev("api", "/keys", "-f", "name=x")  # scopes missing
    failed(invalid, 2, "VALIDATION_FAILED", "scopes")
    assert invalid.data["error"]["code"] == "VALIDATION_FAILED"
    assert any("scopes" in str(d.get("field")) for d in invalid.data["error"]["details"])

    denied = rdev("api", "/keys", key="rdev_abcdefgh_" + "x" * 40)
    failed(denied, 4)
    assert denied.data["error"]["code"] in ("UNAUTHORIZED", "BAD_SIGNATURE")

    narrow = rdev.ok("api", "/keys", "-f", "name=narrow", "-F", "scopes[]=projects:read").data["token"]
    forbidden = rdev("api", "/audit", key=narrow)
    failed(forbidden, 4)
    assert forbidden.data["error"]["code"] == "FORBIDDEN"
    assert rdev("api", "-X", "DELETE", "/keys/nope0000").code == 3


def test_bad_arguments_are_refused_before_any_request(rdev: RdevCli) -> None:
    failed(rdev("api", "/keys", "-f", "novalue"), 2, "expected KEY=VALUE")
    failed(rdev("api", "/keys", "-F", "a[]b=1"), 2, "KEY[]")
    failed(rdev("api", "/keys", "-f", "a=1", "-f", "a=2"), 2, "given twice")
    failed(rdev("api", "/keys", "-H", "no-colon"), 2, "expected NAME:VALUE")
    failed(rdev("api", "/keys", "-H", "X-API-Key: rdev_abcdefgh_" + "x" * 40), 2, "refusing -H X-API-Key")
    failed(rdev("api", "/keys", "-X", "GET", "-f", "labels[a]=b"), 2, "query string")
    failed(rdev("api", "/keys", "-X", "BAD METHOD"), 2, "invalid method")
    refused = rdev("api", "http://example.com/keys")
    failed(refused, 1, "not the API's origin")
    assert refused.out == ""
