"""One Lean REPL process, spoken to one request at a time: `CommandTransport` runs a REPL
command line itself (`lake exe repl` in the Lean project, or any stand-in); `InteractTransport`
goes through lean-interact's `LeanServer` (the `lean` extra).

Both turn every failure into a value: `exchange` returns the reply (a dict), `Timeout` (the
process tree was killed) or `Crashed` (the process died or broke the protocol; it is stopped).
A stopped transport is started again by its owner (`prover.lean.repl.Worker`).

`CommandTransport` puts the REPL in a new session, so that a timeout kills `lake` *and* the
`repl` it started (one process group), and caps its address space (RLIMIT_AS) through a tiny
exec launcher rather than `preexec_fn`, which is unsafe when `ReplProcesses` starts processes
from several threads. stderr goes to a temporary file (never a pipe that could fill up); its
tail is quoted in `Crashed`. This module does not choose commands or keep environments
(`prover.lean.repl` does), and does not parse verdicts (`prover.lean.protocol`).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from prover.lean import protocol
from prover.lean.outcomes import Crashed, Timeout

Reply = dict | Timeout | Crashed

# Sets RLIMIT_AS, then becomes the REPL command: limits survive exec and are inherited by
# every process the REPL starts (`lake exe repl` runs `repl` as a child).
_LIMIT_LAUNCHER = (
    "import os, resource, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)
_STDERR_TAIL = 600  # characters of stderr quoted in a Crashed reason
_CHUNK = 1 << 16


class Transport(Protocol):
    """What `ReplProcesses` needs of a REPL process."""

    @property
    def alive(self) -> bool: ...

    def start(self) -> None: ...

    def exchange(self, request: dict, timeout: float) -> Reply: ...

    def stop(self) -> None: ...


class CommandTransport:
    """A REPL run as `command` in `cwd`, with at most `memory_mb` MiB of address space."""

    def __init__(
        self,
        command: Sequence[str],
        cwd: str | Path | None = None,
        memory_mb: int | None = None,
        env: dict[str, str] | None = None,
    ):
        self.command = tuple(command)
        self.cwd = cwd
        self.memory_mb = memory_mb
        self.env = env
        self._proc: subprocess.Popen | None = None
        self._stderr: Any = None
        self._buffer = bytearray()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def argv(self) -> list[str]:
        if self.memory_mb is None:
            return list(self.command)
        limit = str(self.memory_mb * 1024 * 1024)
        return [sys.executable, "-I", "-S", "-c", _LIMIT_LAUNCHER, limit, *self.command]

    def start(self) -> None:
        self.stop()
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            self.argv(),
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,  # its own process group: killpg reaches its children
            bufsize=0,
        )
        os.set_blocking(self._proc.stdin.fileno(), False)
        self._buffer.clear()

    def exchange(self, request: dict, timeout: float) -> Reply:
        """Send one request; wait at most `timeout` seconds for the whole reply."""
        if not self.alive:
            return self._crashed("the REPL process is not running")
        self._buffer.clear()  # nothing may be pending between requests
        data = protocol.encode(request)
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            selector.register(self._proc.stdin, selectors.EVENT_WRITE)
            while (end := protocol.reply_end(self._buffer)) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.stop()
                    return Timeout(timeout)
                for key, _ in selector.select(remaining):
                    if key.fileobj is self._proc.stdin:
                        data = self._write(data)
                        if data is None:
                            return self._crashed("the REPL closed its input")
                        if not data:
                            selector.unregister(self._proc.stdin)
                    elif not self._read():
                        return self._crashed("the REPL exited without answering")
        text = bytes(self._buffer[:end]).decode("utf-8", errors="replace")
        del self._buffer[:end]
        try:
            return protocol.decode(text)
        except protocol.ProtocolError as exc:
            return self._crashed(str(exc))

    def _write(self, data: bytes) -> bytes | None:
        """Write what the pipe takes; the rest, or None when the reader is gone."""
        try:
            written = os.write(self._proc.stdin.fileno(), data[:_CHUNK])
        except BlockingIOError:
            return data
        except BrokenPipeError:
            return None
        return data[written:]

    def _read(self) -> bool:
        chunk = os.read(self._proc.stdout.fileno(), _CHUNK)
        self._buffer += chunk
        return bool(chunk)

    def _crashed(self, reason: str) -> Crashed:
        status = None
        if self._proc is not None:
            try:
                status = self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        tail = self.stderr_tail()
        self.stop()
        parts = [reason]
        if status is not None:
            parts.append(exit_status(status))
        if tail:
            parts.append(f"stderr: {tail}")
        return Crashed("; ".join(parts))

    def stderr_tail(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 4 * _STDERR_TAIL))
        text = self._stderr.read().decode("utf-8", errors="replace").strip()
        return " | ".join(text.splitlines())[-_STDERR_TAIL:]

    def stop(self) -> None:
        """Kill the whole process group and reap the leader; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass  # the group is already gone
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                pipe.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class InteractTransport:
    """A REPL behind lean-interact's `LeanServer(config)` (which applies
    `config.memory_hard_limit_mb` and kills the process tree on timeout itself)."""

    def __init__(self, config: Any):
        self.config = config
        self._server: Any = None
        self._failure: str | None = None

    @property
    def alive(self) -> bool:
        return self._server is not None and self._server.is_alive()

    def start(self) -> None:
        from prover.errors import require

        lean_interact = require("lean_interact", "lean")
        self.stop()
        try:
            self._server = lean_interact.LeanServer(self.config)
            self._failure = None
        except ChildProcessError as exc:
            self._failure = _first_line(exc)

    def exchange(self, request: dict, timeout: float) -> Reply:
        if self._server is None:
            return Crashed(f"the REPL did not start: {self._failure or 'not started'}")
        try:
            return self._server.run_dict(request, timeout=timeout)
        except TimeoutError:
            self.stop()
            return Timeout(timeout)
        except (ConnectionAbortedError, ChildProcessError, BrokenPipeError) as exc:
            self.stop()
            return Crashed(f"{type(exc).__name__}: {_first_line(exc)}")
        except json.JSONDecodeError as exc:
            self.stop()
            return Crashed(f"the REPL answered with text that is not JSON: {_first_line(exc)}")

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.kill()


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip() and set(line) != {"-"}]
    return " | ".join(lines[:3]) if lines else type(exc).__name__
