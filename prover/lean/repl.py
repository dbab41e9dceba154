"""`ReplProcesses`: the one owner of Lean REPL processes.

`size` processes (default: the cores, at most one per 8 GiB of memory), each a
`Worker` with its own lock. A worker starts its process on first use and runs the import header
once (`import Mathlib`: seconds to minutes), keeping the environment id; every later command is
sent with that `env`, so Mathlib is imported once per process, not once per check. A command
that passes its timeout gets `Timeout` and the worker's process group is killed; a process that
dies gives `Crashed`; either way the worker starts a fresh process on its next use, so there are
always `size`. A worker also replaces its process after `recycle_after` commands, because the
REPL keeps every environment it ever made.

`check(source)` is the verdict on one Lean source, `check_many` runs sources in parallel,
`session()` holds one process for a conversation (tactic mode: proof-state ids belong to one
process). This module does not build prompts or read files.
"""

from __future__ import annotations

import os
import queue
import shlex
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prover.errors import BackendError, InputError
from prover.lean import protocol
from prover.lean.outcomes import Crashed, LeanErrors, LeanVerdict, Proved, Timeout
from prover.lean.source import split_imports
from prover.lean.toolchain import REPL_BINARY, SETUP, find_tool, project_dir, require_lean
from prover.lean.transport import CommandTransport, InteractTransport, Reply, Transport

MEMORY_PER_PROCESS_MB = 8192  # what one REPL with Mathlib imported needs, roughly


class LeanSetupError(BackendError):
    """The header could not be imported (e.g. Mathlib not built): no check can succeed."""


@dataclass(frozen=True)
class ReplConfig:
    """How the REPL processes are run. `command` (a REPL command line, run in `project`) wins
    over `backend`; `backend` "auto" uses lean-interact when it is installed, else
    `lake exe repl` in the project."""

    project: Path | None = None
    command: tuple[str, ...] | None = None
    backend: str = "auto"  # "auto", "lean-interact" or "command"
    size: int | None = None
    timeout: float = 120.0  # seconds per command
    header: str = "import Mathlib"
    header_timeout: float = 900.0  # a cold `import Mathlib` is slow
    memory_mb: int | None = 16384  # RLIMIT_AS per process; Mathlib's .olean files are mmapped
    recycle_after: int = 1000
    allowed_axioms: frozenset[str] = field(default=protocol.STANDARD_AXIOMS)


def default_size() -> int:
    """One process per core, at most one per `MEMORY_PER_PROCESS_MB` of physical memory."""
    cores = os.cpu_count() or 1
    try:
        memory_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except (ValueError, OSError):
        return cores
    return max(1, min(cores, memory_mb // MEMORY_PER_PROCESS_MB))


def transport_factory(config: ReplConfig) -> Callable[[], Transport]:
    """How each worker makes its transport."""
    project = project_dir(config.project)
    if config.command:
        if not _executable(config.command[0], project):
            raise InputError(f"the REPL command {config.command[0]!r} was not found")
        return lambda: CommandTransport(config.command, project, config.memory_mb)
    backend = config.backend
    if backend == "auto":
        import importlib.util

        backend = "lean-interact" if importlib.util.find_spec("lean_interact") else "command"
    if backend == "lean-interact":
        lean_config = interact_config(project, config.memory_mb)
        return lambda: InteractTransport(lean_config)
    if backend != "command":
        raise BackendError(f"unknown REPL backend {backend!r}; use auto, lean-interact or command")
    lake = find_tool("lake") or "lake"
    return lambda: CommandTransport((lake, "exe", "repl"), project, config.memory_mb)


def _executable(name: str, cwd: Path) -> bool:
    if os.sep in name:  # a path, relative to the directory the REPL runs in
        return os.access(cwd / name, os.X_OK)
    return shutil.which(name) is not None


def interact_config(project: Path, memory_mb: int | None):
    """lean-interact's config for the project's own REPL build (no git clone, no build)."""
    from prover.errors import require

    lean_interact = require("lean_interact", "lean")
    repl = project / ".lake" / "packages" / "REPL"
    if not (project / REPL_BINARY).is_file():
        raise LeanSetupError(f"the Lean REPL is not built in {project} ({SETUP})")
    try:
        return lean_interact.LeanREPLConfig(
            project=lean_interact.LocalProject(directory=str(project), auto_build=False),
            local_repl_path=str(repl),
            build_repl=False,
            lake_path=find_tool("lake") or "lake",
            memory_hard_limit_mb=memory_mb,
        )
    except (ValueError, OSError) as exc:
        raise LeanSetupError(f"lean-interact cannot use {project}: {exc}") from exc


class Worker:
    """One REPL process slot: its transport, header environment and command count."""

    def __init__(self, make_transport: Callable[[], Transport], config: ReplConfig):
        self.lock = threading.Lock()
        self.config = config
        self.transport = make_transport()
        self.header_env: int | None = None
        self.commands = 0
        self.starts = 0

    def ready(self) -> Timeout | Crashed | None:
        """Start the process and import the header if needed; the failure, or None."""
        if self.header_env is not None and self.transport.alive:
            return None
        self.header_env, self.commands = None, 0
        self.transport.start()
        self.starts += 1
        reply = self.transport.exchange(
            protocol.command(self.config.header), self.config.header_timeout
        )
        if isinstance(reply, (Timeout, Crashed)):
            return reply
        verdict = protocol.verdict(reply)
        if isinstance(verdict, (LeanErrors, Timeout)) or "env" not in reply:
            self.transport.stop()
            raise LeanSetupError(_header_failure(self.config.header, verdict))
        self.header_env = reply["env"]
        return None

    def run(self, request: dict, timeout: float, in_header: bool = True) -> Reply:
        """Send `request` (a command goes into the header environment unless it names its own
        `env`, or `in_header` is False)."""
        with self.lock:
            failure = self.ready()
            if failure is not None:
                return failure
            if in_header and "cmd" in request and "env" not in request:
                request = {**request, "env": self.header_env}
            reply = self.transport.exchange(request, timeout)
            self.commands += 1
            if isinstance(reply, (Timeout, Crashed)):
                self.header_env = None  # the process is gone; the next use starts a new one
            return reply

    def retire_if_due(self) -> None:
        """Stop the process after `recycle_after` commands; only between sessions, since ids
        a session holds die with the process."""
        with self.lock:
            if self.commands >= self.config.recycle_after:
                self.transport.stop()
                self.header_env = None

    def close(self) -> None:
        with self.lock:
            self.transport.stop()
            self.header_env = None


def _header_failure(header: str, verdict: LeanVerdict) -> str:
    first = verdict.errors[0].data if isinstance(verdict, LeanErrors) and verdict.errors else ""
    why = " ".join(first.split())[:200] or "no environment in the reply"
    return f"the Lean header {header!r} failed: {why} (is the project built? `prover lean doctor`)"


class Session:
    """One worker, held for a sequence of requests whose ids refer to each other."""

    def __init__(self, worker: Worker, timeout: float):
        self.worker = worker
        self.timeout = timeout

    @property
    def header_env(self) -> int | None:
        return self.worker.header_env

    def run(self, request: dict, timeout: float | None = None, in_header: bool = True) -> Reply:
        return self.worker.run(request, timeout or self.timeout, in_header)


class ReplProcesses:
    """`size` REPL processes behind one `check`; use as a context manager (or call `close`)."""

    def __init__(
        self,
        config: ReplConfig | None = None,
        make_transport: Callable[[], Transport] | None = None,
    ):
        self.config = config or ReplConfig()
        self.size = self.config.size or default_size()
        make_transport = make_transport or transport_factory(self.config)
        self.workers = [Worker(make_transport, self.config) for _ in range(self.size)]
        self._idle: queue.SimpleQueue[Worker] = queue.SimpleQueue()
        for worker in self.workers:
            self._idle.put(worker)
        self._header_modules = split_imports(self.config.header).modules

    @property
    def starts(self) -> int:
        """Processes started so far (restarts included)."""
        return sum(w.starts for w in self.workers)

    @contextmanager
    def session(self) -> Iterator[Session]:
        worker = self._idle.get()  # blocks until a process is free
        try:
            worker.retire_if_due()
            yield Session(worker, self.config.timeout)
        finally:
            self._idle.put(worker)

    def run(self, request: dict, timeout: float | None = None) -> Reply:
        """One request on any free process (commands go into the header environment)."""
        with self.session() as session:
            return session.run(request, timeout)

    def check(
        self, source: str, theorem: str | None = None, timeout: float | None = None
    ) -> LeanVerdict:
        """The verdict on a Lean source. Imports the header covers are dropped (message lines
        stay those of `source`); other imports get a fresh environment. With `theorem`, a
        proof also needs `#print axioms theorem` to show only `config.allowed_axioms`."""
        split = split_imports(source)
        covered = split.covered_by(self._header_modules)
        with self.session() as session:
            request = protocol.command((split.body if covered else source).rstrip())
            reply = session.run(request, timeout, in_header=covered)
            if isinstance(reply, (Timeout, Crashed)):
                return reply
            verdict = protocol.verdict(reply, split.offset if covered else 0)
            if theorem is None or "env" not in reply:
                return verdict
            return self._axioms(session, verdict, reply["env"], theorem, timeout)

    def _axioms(self, session, verdict, env, theorem, timeout) -> LeanVerdict:
        if not isinstance(verdict, Proved):
            return verdict
        reply = session.run(protocol.command(f"#print axioms {theorem}", env), timeout)
        if isinstance(reply, (Timeout, Crashed)):
            return reply
        axioms = protocol.axioms_used(reply, theorem)
        return protocol.axiom_verdict(verdict, axioms, self.config.allowed_axioms)

    def check_many(
        self, sources: Sequence[str], theorem: str | None = None, timeout: float | None = None
    ) -> list[LeanVerdict]:
        """Verdicts in the order of `sources`, checked on all processes in parallel."""
        if not sources:
            return []
        with ThreadPoolExecutor(max_workers=min(self.size, len(sources))) as executor:
            return list(executor.map(lambda s: self.check(s, theorem, timeout), sources))

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def __enter__(self) -> ReplProcesses:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class ReplOptions:
    """What a user says about the REPL (`--project`, `--repl-command`, `--timeout`,
    `--workers`, `--header`, `--memory-mb`), before anything is looked up."""

    project: Path | None = None
    repl_command: str | None = None  # a shell-quoted command line
    timeout: float = 120.0
    workers: int | None = None  # None: `default_size()`
    header: str = "import Mathlib"
    memory_mb: int = 16384  # 0: no cap


def repl_processes(options: ReplOptions) -> ReplProcesses:
    """The REPL processes of the options (none started yet); no toolchain (and no REPL
    command) is an InputError, and so is a REPL command that is not there."""
    command = tuple(shlex.split(options.repl_command or ""))
    if not command:
        require_lean(options.project)
    config = ReplConfig(
        project=project_dir(options.project),
        command=command or None,
        timeout=options.timeout,
        size=options.workers,
        header=options.header,
        memory_mb=options.memory_mb or None,
    )
    return ReplProcesses(config)
