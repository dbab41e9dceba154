"""Run untrusted, model-written Python (program-of-thought code) in a limited child process.

`run_python(code)` runs one snippet in a fresh interpreter (`sys.executable -I -S`) and returns
an `Execution`: a status tag from `STATUSES`, the output truncated like the DeepSeekMath harness
(10 s, 100 characters, first half + "..." + last half), and the wall-clock time. Nothing raises
for a misbehaving snippet; every outcome is a value. `run_many` runs a batch on a thread pool.

Layers, from the strongest to the weakest (`Execution.isolation` names those that took effect):

- Always: a new session (the whole process group is SIGKILLed on timeout), a wall-clock
  deadline, a fresh temporary working directory (deleted afterwards), a minimal environment,
  stdout/stderr read with a hard byte cap (`CAPTURE_LIMIT`) and rlimits: RLIMIT_CPU, RLIMIT_AS,
  RLIMIT_FSIZE, RLIMIT_CORE=0 and RLIMIT_NPROC ("rlimits").
- With CAP_SYS_ADMIN (root in this container): new PID, mount, network and IPC namespaces. The
  snippet runs under a small init process; when it ends every process it started dies. In the
  mount namespace every mount is remounted read-only, nodev and nosuid; /tmp, /var/tmp and /run
  are private tmpfs, /dev is a tmpfs with null/zero/full/random/urandom only, /proc is a fresh
  read-only procfs that shows the sandbox's processes only, and the working directory is the one
  writable bind mount. The network namespace has only a loopback device, which is down. All
  capabilities are then dropped (bounding set too, securebits locked, no_new_privs), so the code
  cannot undo any of this. A pids cgroup (v1 `pids` or v2 with `pids` enabled) enforces
  `max_processes`, because RLIMIT_NPROC is never enforced for uid 0.
- Without CAP_SYS_ADMIN: an unprivileged user namespace with a network and IPC namespace when
  the kernel allows it, and RLIMIT_NPROC (enforced for non-root users).
- Best effort only: a `sys.addaudithook` hook that refuses socket creation, process creation
  (`os.system`, `os.fork`, `subprocess`, `os.exec*`, `os.posix_spawn`) when `max_processes` is 0,
  and `os.kill`. Audit hooks are not a security boundary: `ctypes` bypasses them. They give the
  model a clear error message; the kernel mechanisms above are the boundary.

What it does NOT do:

- No seccomp filter: every system call is available to the snippet; the kernel is shared.
- Reading is not restricted: the snippet runs as uid 0 without capabilities when the harness is
  root (so that it can still read the Python installation under /root), and can read every file
  uid 0 owns or that is world-readable, and print up to `max_output` characters of it.
- Unix sockets that live on a path outside /tmp, /var/tmp and /run stay reachable (a network
  namespace does not cover path-based Unix sockets).
- Without CAP_SYS_ADMIN there is no mount namespace: the snippet can write wherever the harness
  user can (e.g. /tmp), and it can see and signal the harness's other processes.
- Without a writable pids cgroup, a root harness has no process limit: a fork bomb only ends at the
  wall-clock deadline (the PID namespace then kills all of it at once).
- RLIMIT_AS and RLIMIT_CPU are per process; `max_processes` children may each use that much.
  The private tmpfs mounts (/tmp, /var/tmp, /run, /dev) hold up to `file_size_mb` each, in RAM.
- No GPU, no persistence between snippets, no interactive input (stdin is /dev/null).
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
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

STATUSES = ("ok", "error", "timeout", "memory", "output_limit", "killed")
"""ok: exited 0. error: exited non-zero (an exception; its last traceback line is appended).
timeout: wall-clock deadline or CPU limit. memory: MemoryError (RLIMIT_AS). output_limit: stdout
or stderr passed `CAPTURE_LIMIT` bytes and the process was killed. killed: ended by a signal
the harness did not send (e.g. SIGSEGV, or SIGKILL from the OOM killer)."""

CAPTURE_LIMIT = 1 << 20
"""Bytes of stdout (and of stderr) read before the snippet is killed with status output_limit."""

_SCRIPT = "main.py"


@dataclass(frozen=True)
class SandboxConfig:
    """Limits for one snippet. The defaults follow the DeepSeekMath harness (10 s, 100 chars)."""

    timeout: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 1024
    file_size_mb: int = 16
    max_processes: int = 0
    """Extra processes or threads the snippet may start (0: none)."""
    max_output: int = 100
    network: bool = False


@dataclass(frozen=True)
class Execution:
    """The outcome of one snippet; `status` is one of `STATUSES`."""

    status: str
    output: str
    truncated: bool
    seconds: float
    isolation: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status == "ok"


DEFAULT_CONFIG = SandboxConfig()


@dataclass(frozen=True)
class _Captured:
    stdout: bytes
    stderr: bytes
    ended: str | None  # "timeout" | "output_limit" | None (both pipes reached EOF)


# --------------------------------------------------------------------------- harness side


def run_python(code: str, config: SandboxConfig = DEFAULT_CONFIG) -> Execution:
    """Run `code` in a fresh sandboxed interpreter and describe what happened."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="prover-sandbox-", ignore_cleanup_errors=True) as tmp:
        cgroup = _make_cgroup()
        try:
            captured, code_status, words = _execute(code, config, Path(tmp), cgroup)
        finally:
            _remove_cgroup(cgroup)
    return _to_execution(captured, code_status, words, config, time.monotonic() - start)


def run_many(
    codes: Sequence[str], config: SandboxConfig = DEFAULT_CONFIG, workers: int = 2
) -> list[Execution]:
    """Run every snippet (in order of the result list), `workers` at a time."""
    if workers <= 1 or len(codes) <= 1:
        return [run_python(code, config) for code in codes]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(partial(run_python, config=config), codes))


def _execute(
    code: str, config: SandboxConfig, workdir: Path, cgroup: Path | None
) -> tuple[_Captured, int | None, list[str]]:
    (workdir / _SCRIPT).write_text(code, encoding="utf-8", errors="replace")
    report_r, report_w = os.pipe()
    try:
        proc = _spawn(config, workdir, cgroup, report_w)
    except OSError as exc:
        os.close(report_r)
        return _Captured(b"", f"sandbox: cannot start: {exc}".encode(), None), 1, []
    finally:
        os.close(report_w)
    deadline = time.monotonic() + config.timeout
    captured = _capture(proc, deadline)
    ended = _finish(proc, cgroup, deadline if captured.ended is None else 0.0)
    words = _read_report(report_r)
    if captured.ended is None and ended is not None:
        captured = _Captured(captured.stdout, captured.stderr, ended)
    return captured, _exit_status(words, proc.returncode), words


def _spawn(
    config: SandboxConfig, workdir: Path, cgroup: Path | None, report_w: int
) -> subprocess.Popen[bytes]:
    settings = {
        "config": config.__dict__,
        "workdir": str(workdir),
        "cgroup": str(cgroup or ""),
        "report_fd": report_w,
        "paths": _site_paths(),
    }
    child = Path(__file__).with_name("sandbox_child.py")
    argv = [sys.executable, "-I", "-S", str(child), json.dumps(settings)]
    return subprocess.Popen(
        argv,
        cwd=workdir,
        env=_child_env(workdir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        pass_fds=(report_w,),
    )


def _site_paths() -> list[str]:
    import site

    paths = [*site.getsitepackages(), *sys.path]
    return [p for p in dict.fromkeys(paths) if p.endswith(("site-packages", "dist-packages"))]


def _child_env(workdir: Path) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir)}
    env["LANG"] = env["LC_ALL"] = "C.UTF-8"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def _capture(proc: subprocess.Popen[bytes], deadline: float) -> _Captured:
    """Read both pipes until EOF, the deadline, or more than CAPTURE_LIMIT bytes on one."""
    assert proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    ended = None
    with selectors.DefaultSelector() as selector:
        for fd in buffers:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map() and ended is None:
            ended = _read_ready(selector, buffers, deadline)
    out, err = buffers[proc.stdout.fileno()], buffers[proc.stderr.fileno()]
    return _Captured(bytes(out[:CAPTURE_LIMIT]), bytes(err[-CAPTURE_LIMIT:]), ended)


def _read_ready(
    selector: selectors.BaseSelector, buffers: dict[int, bytearray], deadline: float
) -> str | None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return "timeout"
    for key, _ in selector.select(remaining):
        chunk = os.read(key.fd, 1 << 16)
        if not chunk:
            selector.unregister(key.fd)
        buffers[key.fd] += chunk
        if len(buffers[key.fd]) > CAPTURE_LIMIT:
            return "output_limit"
    return None


def _finish(proc: subprocess.Popen[bytes], cgroup: Path | None, deadline: float) -> str | None:
    """Wait for the process until the deadline (0: not at all), then kill what is left of it."""
    ended = None
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        ended = "timeout"
    _kill_group(proc.pid)
    proc.wait()
    _kill_cgroup(cgroup)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return ended


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_report(fd: int) -> list[str]:
    """The words the child wrote on the report pipe (mechanisms, then `exit:<wait status>`)."""
    os.set_blocking(fd, False)
    chunks = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace").split()


def _exit_status(words: list[str], returncode: int | None) -> int | None:
    """The snippet's exit code (negative: killed by that signal), as its init process saw it."""
    for word in words:
        if word.startswith("exit:"):
            return os.waitstatus_to_exitcode(int(word[5:]))
    return returncode


def _to_execution(
    captured: _Captured, code: int | None, words: list[str], config: SandboxConfig, seconds: float
) -> Execution:
    status = _classify(captured, code)
    stdout = captured.stdout.decode(errors="replace").strip()
    note = _failure_note(status, captured.stderr, code)
    output, truncated = _truncate("\n".join(p for p in (stdout, note) if p), config.max_output)
    truncated = truncated or status == "output_limit"
    mechanisms = tuple(w for w in dict.fromkeys(words) if not w.startswith("exit:"))
    return Execution(status, output, truncated, round(seconds, 3), mechanisms)


def _classify(captured: _Captured, code: int | None) -> str:
    if captured.ended is not None:
        return captured.ended
    if code == 0:
        return "ok"
    if code == -signal.SIGXCPU:
        return "timeout"
    if code is None or code < 0:
        return "killed"
    return "memory" if _last_line(captured.stderr).startswith("MemoryError") else "error"


def _failure_note(status: str, stderr: bytes, code: int | None) -> str:
    if status in ("error", "memory"):
        return _last_line(stderr)
    if status == "timeout":
        return "Timeout Error"
    if status == "output_limit":
        return f"Output Limit Error: more than {CAPTURE_LIMIT} bytes of output"
    if status == "killed":
        return f"Killed by {_signal_name(-(code or 0))}"
    return ""


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    """DeepSeekMath style: keep the first and the last half of `limit` characters around '...'."""
    if len(text) <= limit:
        return text, False
    head = limit // 2
    return text[:head] + "..." + text[len(text) - (limit - head) :], True


# --------------------------------------------------------------------------- pids cgroup


def _make_cgroup() -> Path | None:
    """A fresh pids cgroup below our own, or None where none can be made (e.g. not root)."""
    for base in (_cgroup_v1_base(), Path("/sys/fs/cgroup")):
        path = base / f"prover-sandbox-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
        except OSError:
            continue
        if (path / "pids.max").exists():
            return path
        _rmdir(path)
    return None


def _cgroup_v1_base() -> Path:
    root = Path("/sys/fs/cgroup/pids")
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return root
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            return root / path.lstrip("/")
    return root


def _kill_cgroup(path: Path | None) -> None:
    """SIGKILL every process still in the cgroup, until it is empty or 2 s have passed."""
    if path is None:
        return
    give_up = time.monotonic() + 2.0
    while (pids := _cgroup_pids(path)) and time.monotonic() < give_up:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def _cgroup_pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _remove_cgroup(path: Path | None) -> None:
    if path is not None:
        _kill_cgroup(path)
        _rmdir(path)


def _rmdir(path: Path) -> None:
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
