"""Following a command's events (spec/rdev-cli.md "Streaming"): SSE through httpx-sse,
resumed with `Last-Event-ID` after a dropped connection (bounded reconnects), remote stdout and
stderr to the local ones, ending at the `end` event with the remote result as the exit code;
a stream lost for good is exit 255, never 0."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from rdev_cli.client import Api, error_of
from rdev_cli.errors import CliError

EXIT_STREAM_LOST = 255
EXIT_REMOTE_TIMEOUT = 124
RECONNECTS = 8
RECONNECT_CAP_S = 5.0
# heartbeats come every RDEV_SSE_HEARTBEAT (15 s by default): three missed ones mean a dead stream
READ_TIMEOUT_S = float(os.environ.get("RDEV_STREAM_READ_TIMEOUT", "45"))

OnEvent = Callable[[int, str, dict[str, Any]], None]


class StreamLost(CliError):
    def __init__(self, command_id: str, problem: str) -> None:
        super().__init__(
            f"lost the output stream of command {command_id}: {problem}",
            hint=f"rdev commands logs {command_id} -f",
            exit_code=EXIT_STREAM_LOST,
        )


def exit_code_of(end: dict[str, Any]) -> int:
    """The local exit code of a remote result: its exit code, 124 for a timeout, 128+N for a
    signal, 1 for a failure without a code (e.g. it could not start), 130 when cancelled."""
    if end.get("status") == "timed_out":
        return EXIT_REMOTE_TIMEOUT
    if end.get("signal"):
        return 128 + int(end["signal"])
    if end.get("status") == "cancelled":
        return 130
    code = end.get("exit_code")
    if isinstance(code, int):
        return code
    return 0 if end.get("status") == "succeeded" else 1


@dataclass
class Follower:
    api: Api
    command_id: str
    on_event: OnEvent
    after: int = 0  # the last event id seen

    def run(self) -> dict[str, Any]:
        """Follow until the `end` event; returns its data. StreamLost after the reconnects."""
        from httpx_sse import SSEError, connect_sse

        failures = 0
        problem = ""
        while failures <= RECONNECTS:
            progressed = False
            try:
                headers = {"Last-Event-ID": str(self.after)} if self.after else {}
                with connect_sse(
                    self.api.http,
                    "GET",
                    f"/commands/{self.command_id}/events",
                    headers=headers,
                    timeout=httpx.Timeout(30.0, read=READ_TIMEOUT_S),
                ) as source:
                    if source.response.status_code >= 400:
                        source.response.read()
                        err = error_of(source.response)
                        if source.response.status_code < 500:
                            raise err
                        problem = err.message
                    else:
                        for sse in source.iter_sse():
                            if not sse.id:
                                continue
                            seq = int(sse.id)
                            if seq <= self.after:
                                continue  # a replayed event we already have
                            data = json.loads(sse.data) if sse.data else {}
                            self.after, progressed = seq, True
                            self.on_event(seq, sse.event, data)
                            if sse.event == "end":
                                return data if isinstance(data, dict) else {}
                        problem = "the connection closed before the end event"
            except (httpx.TransportError, SSEError, ValueError) as err:
                problem = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            failures = 0 if progressed else failures + 1
            if failures <= RECONNECTS:
                if os.environ.get("RDEV_DEBUG") == "1":
                    sys.stderr.write(f"debug: reconnecting after event {self.after}: {problem}\n")
                time.sleep(random.uniform(0.1, min(RECONNECT_CAP_S, 0.2 * 2**failures)))
        raise StreamLost(self.command_id, problem)


def print_output(seq: int, event: str, data: dict[str, Any]) -> None:
    """The default renderer: remote stdout/stderr to ours, agent text to stdout."""
    if event == "output":
        target = sys.stderr if data.get("stream") == "stderr" else sys.stdout
        target.write(str(data.get("data", "")))
        target.flush()
    elif event == "agent":
        text = agent_text(data)
        if text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()


def agent_text(data: dict[str, Any]) -> str:
    """What a person wants to read of a parsed agent event: its text and tool calls."""
    parts = []
    for block in data.get("content") or []:
        if block.get("type") == "text" and block.get("text"):
            parts.append(str(block["text"]))
        elif block.get("type") == "tool_use":
            parts.append(f"[tool {block.get('name')}]")
    if data.get("type") == "result" and data.get("result") and not parts:
        parts.append(str(data["result"]))
    return "\n".join(parts)
