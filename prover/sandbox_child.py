"""The child side of `prover.sandbox`: started as a script (`python -I -S sandbox_child.py
SETTINGS`), it enters namespaces and the pids cgroup, isolates the filesystem, drops privileges,
applies rlimits and an audit hook, then runs the snippet. It imports only the standard library
(it runs in isolated mode), and it is not an API: see `prover.sandbox` for what is isolated and
what is not.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

_SCRIPT = "main.py"
_CLONE_NEWNS, _CLONE_NEWIPC, _CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP = 1, 4, 24
_PR_SET_SECUREBITS, _PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT = 28, 38, 47
_SECBITS_ALL_LOCKED = 0xEF  # noroot, no_setuid_fixup, no_cap_ambient_raise, keep_caps off; locked
_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}
_PROCESS_EVENTS = ("os.system", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn")
_PROCESS_EVENTS += ("subprocess.Popen", "pty.spawn")


# --------------------------------------------------------------------------- child side
#
# The harness starts this file as a script: `python -I -S sandbox.py SETTINGS`. That process
# ("bootstrap") enters namespaces and the cgroup, then forks the namespace's init, which sets up
# mounts, drops capabilities and forks the process that runs the snippet. Without a PID
# namespace the bootstrap runs the snippet itself.


def _child_main() -> None:
    settings = json.loads(sys.argv[1])
    fd, config = settings["report_fd"], settings["config"]
    words = ["rlimits", "audit_hook", *_enter_namespaces(config["network"])]
    in_pid_ns = "pid_namespace" in words
    extra = 3 if in_pid_ns else 1  # bootstrap + init + snippet, or the snippet alone
    if _join_cgroup(settings["cgroup"], config["max_processes"] + extra):
        words.append("pids_cgroup")
    _report(fd, words)
    if not in_pid_ns:
        _run_snippet(settings)
    child = os.fork()
    if child == 0:
        _init_process(settings)
    os.close(fd)
    _, status = os.waitpid(child, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _report(fd: int, words: list[str]) -> None:
    os.write(fd, ("\n".join(words) + "\n").encode())


@cache
def _libc() -> Any:

    return ctypes.CDLL(None, use_errno=True)


def _call(name: str, *args: Any) -> bool:
    return getattr(_libc(), name)(*args) == 0


def _enter_namespaces(network: bool) -> list[str]:
    net = 0 if network else _CLONE_NEWNET
    if _call("unshare", _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWIPC | net):
        names = ["mount_namespace", "pid_namespace", "ipc_namespace"]
        return names + ([] if network else ["net_namespace"])
    uid, gid = os.getuid(), os.getgid()
    if network or not _call("unshare", _CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWIPC):
        return []
    _map_identity(uid, gid)
    return ["user_namespace", "net_namespace", "ipc_namespace"]


def _map_identity(uid: int, gid: int) -> None:
    """Keep our uid and gid inside a new user namespace (best effort)."""
    writes = (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1"))
    for name, text in writes:
        try:
            Path(f"/proc/self/{name}").write_text(text)
        except OSError:
            return


def _join_cgroup(path: str, processes: int) -> bool:
    if not path:
        return False
    try:
        (Path(path) / "pids.max").write_text(str(processes))
        (Path(path) / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        return False
    return True


def _init_process(settings: dict[str, Any]) -> None:
    """PID 1 of the sandbox: set up mounts, drop privileges, run the snippet, report its end."""
    fd = settings["report_fd"]
    _call("prctl", _PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    keep = [*settings["paths"], sys.prefix, sys.base_prefix]
    size = settings["config"]["file_size_mb"]
    words = _isolate_filesystem(Path(settings["workdir"]), size, keep)
    if _drop_capabilities():
        words.append("no_capabilities")
    _call("prctl", _PR_SET_DUMPABLE, 0, 0, 0, 0)
    _report(fd, words)
    snippet = os.fork()
    if snippet == 0:
        _run_snippet(settings)
    status = _reap_until(snippet)
    _report(fd, [f"exit:{status}"])
    os._exit(0)


def _reap_until(pid: int) -> int:
    """Reap orphans (we are init) until `pid` ends; return its wait status."""
    while True:
        done, status = os.wait()
        if done == pid:
            return status


def _isolate_filesystem(workdir: Path, size_mb: int, keep: list[str]) -> list[str]:
    """Everything read-only; private /tmp, /var/tmp, /run (unless the Python installation lives
    under one of them, as a venv in /tmp does: that one stays, read-only); a private /dev and
    /proc; the working directory the one writable place."""
    if not _call("mount", None, b"/", None, _MS_REC | _MS_PRIVATE, None):
        return []
    words, here = [], os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    if all(_remount(point, _MS_RDONLY | _MS_NODEV | _MS_NOSUID) for point in _mount_points()):
        words.append("readonly_filesystem")
    scratch = [p for p in ("/tmp", "/var/tmp", "/run") if not _holds(p, keep)]
    if all(_private_tmpfs(Path(p), size_mb) for p in scratch):
        words.append("private_tmp" if len(scratch) == 3 else "private_tmp_partial")
    if _private_dev(size_mb):
        words.append("private_dev")
    if _call("mount", b"proc", b"/proc", b"proc", _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None):
        words.append("private_proc")
    if _bind_workdir(here, workdir):
        words.append("writable_workdir_only")
    os.chdir(workdir)
    os.close(here)
    return words


def _holds(directory: str, paths: list[str]) -> bool:
    return any(os.path.realpath(p).startswith(directory + "/") for p in paths)


def _mount_points() -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    points = (line.split()[4] for line in lines)
    return list(dict.fromkeys(p.encode().decode("unicode_escape") for p in points))


def _remount(point: str, flags: int) -> bool:
    return _call("mount", None, point.encode(), None, _MS_REMOUNT | _MS_BIND | flags, None)


def _private_tmpfs(path: Path, size_mb: int) -> bool:
    if path.is_symlink() or not path.is_dir():
        return True
    options = f"size={size_mb}m,mode=1777".encode()
    return _call("mount", b"tmpfs", bytes(path), b"tmpfs", _MS_NOSUID | _MS_NODEV, options)


def _private_dev(size_mb: int) -> bool:
    options = f"size={size_mb}m,mode=755".encode()
    if not _call("mount", b"tmpfs", b"/dev", b"tmpfs", _MS_NOSUID | _MS_NOEXEC, options):
        return False
    try:
        for name, (major, minor) in _DEVICES.items():
            os.mknod(f"/dev/{name}", 0o20666, os.makedev(major, minor))
            os.chmod(f"/dev/{name}", 0o666)
        os.mkdir("/dev/shm", 0o1777)
        os.chmod("/dev/shm", 0o1777)
        for index, name in enumerate(("stdin", "stdout", "stderr")):
            os.symlink(f"/proc/self/fd/{index}", f"/dev/{name}")
        os.symlink("/proc/self/fd", "/dev/fd")
    except OSError:
        return False
    return True


def _bind_workdir(here: int, workdir: Path) -> bool:
    """Make the working directory (hidden by the /tmp tmpfs) visible and writable again."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    source = f"/proc/self/fd/{here}".encode()
    if not _call("mount", source, bytes(workdir), None, _MS_BIND, None):
        return False
    return _remount(str(workdir), _MS_NOSUID | _MS_NODEV)


def _drop_capabilities() -> bool:
    """Drop every capability, bounding set included, so the snippet cannot undo the mounts."""

    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    done = _call("prctl", _PR_SET_SECUREBITS, _SECBITS_ALL_LOCKED, 0, 0, 0)
    done = all([done] + [_call("prctl", _PR_CAPBSET_DROP, cap, 0, 0, 0) for cap in range(last + 1)])
    _call("prctl", _PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    done = _call("capset", header, data) and done
    return _call("prctl", _PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) and done


def _run_snippet(settings: dict[str, Any]) -> None:
    """Apply the rlimits and the audit hook, then run the snippet in this process."""
    config = settings["config"]
    _apply_rlimits(config)
    sys.addaudithook(_audit_hook(_blocked_events(config)))
    os.close(settings["report_fd"])
    sys.path.extend(settings["paths"])
    sys.argv = [_SCRIPT]
    source = Path(_SCRIPT).read_text(encoding="utf-8")
    exec(compile(source, _SCRIPT, "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    raise SystemExit(0)


def _apply_rlimits(config: dict[str, Any]) -> None:
    mib = 1 << 20
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_CPU, config["cpu_seconds"], config["cpu_seconds"] + 1)
    _limit(resource.RLIMIT_AS, config["memory_mb"] * mib)
    _limit(resource.RLIMIT_FSIZE, config["file_size_mb"] * mib)
    _limit(resource.RLIMIT_NPROC, config["max_processes"] + 1)


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    """Lower a limit; never above the current hard limit (raising it needs privileges)."""
    _, ceiling = resource.getrlimit(kind)
    values = (soft, soft if hard is None else hard)
    if ceiling != resource.RLIM_INFINITY:
        values = (min(values[0], ceiling), min(values[1], ceiling))
    resource.setrlimit(kind, values)


def _blocked_events(config: dict[str, Any]) -> frozenset[str]:
    events = {"os.kill", "os.killpg", "signal.pthread_kill"}
    if not config["network"]:
        events.add("socket.__new__")
    if config["max_processes"] == 0:
        events.update(_PROCESS_EVENTS)
    return frozenset(events)


def _audit_hook(blocked: frozenset[str]) -> Callable[[str, tuple[Any, ...]], None]:
    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in blocked:
            raise PermissionError(f"sandbox: {event} is not allowed")

    return hook


if __name__ == "__main__":
    _child_main()
