"""The spawner: the process that starts a project's commands from inside its sandbox, so that
a command costs a posix_spawn instead of a new bwrap (one sandboxed `true` took ~9 ms of CPU,
most of it the kernel building and tearing down namespaces; through the spawner, ~1 ms).

Run by rdev_api.adapters.local.zygote as `python -I -S spawner.py FD DETACHED_GRACE_S
KILL_GRACE_S`; the standard library only. FD is a SOCK_SEQPACKET socket; one JSON object per
message:
- on FD, from the server: {"path", "argv", "env", "cwd"} with four file descriptors: the
  command's stdin, stdout and stderr, and a socket of its own (a fifth: a memfd holding the
  request, too big for a message, instead of the message's), on which the spawner answers
  {"started": pid} or {"failed": why}, and later {"exited": wait status}.
- on a command's socket, from the server: {"kill": true} (cancel, timeout): SIGTERM to the
  command's processes, SIGKILL to what is left after KILL_GRACE_S. The socket closed by the
  server has the same effect.
A command's processes are those whose environment carries RUN_VAR=<its number>: its group, and
what it detached into a session of its own (such as sdlc's callback flusher). When the command
itself exits, what it detached gets up to DETACHED_GRACE_S to finish, then every process of it
still there is killed and the exit is reported. FD closed (the server is gone): the spawner
exits, and with it the sandbox's pid namespace and everything in it."""

from __future__ import annotations

import array
import contextlib
import json
import os
import selectors
import signal
import socket
import sys
import time
from typing import Any

RUN_VAR = "RDEV_SANDBOX_RUN"
POLL_S = 0.05
MAX_MESSAGE = 1 << 20
FDS_PER_RUN = 4
FINAL_SWEEPS = 10


class Run:
    """One command: its leader, its socket, and how far its ending has got."""

    def __init__(self, number: int, pid: int, reply: socket.socket) -> None:
        self.number = number
        self.pid = pid
        self.reply: socket.socket | None = reply
        self.needle = f"\0{RUN_VAR}={number}\0".encode()
        self.status: int | None = None  # the leader's wait status, once reaped
        self.killing_until: float | None = None  # SIGKILL for what is left at this time
        self.detached_until: float | None = None  # after the exit: how long detached ones may run


class Spawner:
    def __init__(self, control: socket.socket, detached_grace: float, kill_grace: float) -> None:
        self.control = control
        self.detached_grace = detached_grace
        self.kill_grace = kill_grace
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, None)
        # pid 1 of the sandbox: every orphan of it is our child, reaped when SIGCHLD wakes us
        self.children, wake = os.pipe()
        os.set_blocking(self.children, False)
        os.set_blocking(wake, False)
        signal.set_wakeup_fd(wake)
        signal.signal(signal.SIGCHLD, lambda number, frame: None)
        self.selector.register(self.children, selectors.EVENT_READ, "children")
        self.runs: dict[int, Run] = {}
        self.leaders: dict[int, Run] = {}
        self.count = 0

    def serve(self) -> None:
        while True:
            timeout = (
                POLL_S if any(r.status is not None or r.killing_until for r in self.runs.values()) else None
            )
            for key, _ in self.selector.select(timeout):
                if key.data is None:
                    if not self.accept():
                        return
                elif key.data == "children":
                    self.reap()
                else:
                    self.request(key.data)
            for run in list(self.runs.values()):
                self.advance(run)

    def accept(self) -> bool:
        """Start the command of one message; False when the server is gone."""
        fds = array.array("i")
        try:
            data, ancillary, _, _ = self.control.recvmsg(
                MAX_MESSAGE, socket.CMSG_SPACE((FDS_PER_RUN + 1) * fds.itemsize), socket.MSG_CMSG_CLOEXEC
            )
        except ConnectionResetError:
            return False
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if not data:
            return False
        if len(fds) not in (FDS_PER_RUN, FDS_PER_RUN + 1):
            for fd in fds:
                os.close(fd)
            return True
        stdin, stdout, stderr, reply_fd = fds[:FDS_PER_RUN]
        if len(fds) > FDS_PER_RUN:  # a big request: in the memfd that came with it
            with open(fds[FDS_PER_RUN], "rb") as request:
                data = request.read()
        reply = socket.socket(fileno=reply_fd)
        try:
            wanted = json.loads(data)
        except ValueError as err:  # not expected from the server: answered, not fatal
            wanted = None
            _send(reply, {"failed": f"could not read the command: {err}"})
            reply.close()
        try:
            if wanted is not None:
                self.start(wanted, (stdin, stdout, stderr), reply)
        finally:
            for fd in (stdin, stdout, stderr):
                os.close(fd)
        return True

    def start(self, wanted: dict[str, Any], streams: tuple[int, int, int], reply: socket.socket) -> None:
        self.count += 1
        argv = [str(arg) for arg in wanted["argv"]]
        env = {str(name): str(value) for name, value in wanted["env"].items()}
        env[RUN_VAR] = str(self.count)
        try:
            os.chdir(str(wanted["cwd"]))
            pid = os.posix_spawn(
                str(wanted["path"]),
                argv,
                env,
                setsid=True,
                # Python ignores SIGPIPE and SIGXFSZ; a command starts with the defaults
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
                file_actions=[(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(streams)],
            )
        except OSError as err:
            _send(reply, {"failed": f"could not start {argv[0]}: {err.strerror or err}"})
            reply.close()
            return
        run = Run(self.count, pid, reply)
        self.runs[run.number] = run
        self.leaders[pid] = run
        self.selector.register(reply, selectors.EVENT_READ, run)
        _send(reply, {"started": pid})

    def request(self, run: Run) -> None:
        """A kill asked for, or the server letting go of the command (which ends it too)."""
        try:
            data = run.reply.recv(MAX_MESSAGE) if run.reply is not None else b""
        except OSError:
            data = b""
        if not data and run.reply is not None:
            self.selector.unregister(run.reply)
            run.reply.close()
            run.reply = None
        if run.killing_until is None:
            run.killing_until = time.monotonic() + self.kill_grace
            self.signal(run, signal.SIGTERM)

    def reap(self) -> None:
        """Every child that has ended: a command's leader, or an orphan of the sandbox."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.children, 512):
                pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run = self.leaders.pop(pid, None)
            if run is not None:
                run.status = status
                run.detached_until = time.monotonic() + self.detached_grace

    def advance(self, run: Run) -> None:
        """Escalate a kill that is due; report the exit once nothing of the command that may
        still run is left (killing what has had its time)."""
        now = time.monotonic()
        if run.killing_until is not None and now >= run.killing_until:
            self.signal(run, signal.SIGKILL)
        if run.status is None:
            return
        members = self.members(run)
        waiting_for = members if run.killing_until is not None else [p for p, s in members if s != run.pid]
        deadline = run.killing_until if run.killing_until is not None else run.detached_until
        if waiting_for and deadline is not None and now < deadline:
            return
        for _ in range(FINAL_SWEEPS):  # one that forked while the last sweep ran is found by the next
            for pid, _ in members:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not members:
                break
            members = self.members(run)
        if run.reply is not None:
            _send(run.reply, {"exited": run.status})
            self.selector.unregister(run.reply)
            run.reply.close()
        del self.runs[run.number]

    def signal(self, run: Run, number: int) -> None:
        pids = {pid for pid, _ in self.members(run)}
        if run.status is None:
            pids.add(run.pid)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)

    def members(self, run: Run) -> list[tuple[int, int]]:
        """(pid, session) of the live processes of `run`, the leader itself excepted."""
        found = []
        me = os.getpid()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (1, me, run.pid):
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if run.needle not in b"\0" + handle.read():
                        continue  # another command's, or a zombie's (empty)
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue  # gone meanwhile
            fields = stat[stat.rfind(b")") + 2 :].split()
            if fields and fields[0] not in (b"Z", b"X"):
                found.append((int(entry), int(fields[3])))
        return found


def _send(reply: socket.socket, message: dict[str, object]) -> None:
    with contextlib.suppress(OSError):  # the server let go of the command
        reply.send(json.dumps(message).encode())


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    os.set_inheritable(control.fileno(), False)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    spawner = Spawner(control, float(sys.argv[2]), float(sys.argv[3]))
    control.send(json.dumps({"ready": True}).encode())
    spawner.serve()


if __name__ == "__main__":
    main()
