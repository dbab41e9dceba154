"""The program-of-thought sandbox against normal and hostile snippets.

Hostile snippets must come back as bounded failures, quickly, and the next snippet must still
run. Snippets that use `ctypes` bypass the (best-effort) audit hook on purpose, to show that the
kernel mechanisms hold; those tests skip where this machine does not provide the mechanism.
"""

from __future__ import annotations

import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover import sandbox
from prover.sandbox import STATUSES, Execution, SandboxConfig, run_many, run_python

CONFIG = SandboxConfig(timeout=3.0, cpu_seconds=2, memory_mb=512, file_size_mb=8)
NORMAL = "print(2 + 2)"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mechanisms() -> tuple[str, ...]:
    return run_python("pass", CONFIG).isolation


def _needs(mechanisms: tuple[str, ...], *names: str) -> None:
    missing = [name for name in names if name not in mechanisms]
    if missing:
        pytest.skip(f"this OS does not provide {', '.join(missing)} here")


def _assert_bounded_failure(result: Execution, statuses: set[str], seconds: float) -> None:
    assert result.status in statuses, result
    assert not result.ok
    assert result.seconds < seconds, result
    assert len(result.output) <= CONFIG.max_output + 3
    assert run_python(NORMAL, CONFIG).output == "4"  # the harness goes on


def _processes_named(name: str) -> list[str]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                found.append(comm.parent.name)
        except OSError:
            continue
    return found


# --------------------------------------------------------------------------- normal snippets


def test_print_is_ok() -> None:
    result = run_python(NORMAL, CONFIG)
    assert (result.status, result.output, result.truncated, result.ok) == ("ok", "4", False, True)
    assert "rlimits" in result.isolation


def test_exception_keeps_stdout_and_the_last_traceback_line() -> None:
    result = run_python("print('before')\nx = 1 / 0", CONFIG)
    assert result.status == "error"
    assert result.output == "before\nZeroDivisionError: division by zero"


def test_syntax_error_is_an_error() -> None:
    result = run_python("def f(:\n    pass", CONFIG)
    assert result.status == "error"
    assert result.output.startswith("SyntaxError")


def test_sympy_imports() -> None:
    result = run_python("import sympy\nprint(sympy.factorint(360))", CONFIG)
    assert (result.status, result.output) == ("ok", "{2: 3, 3: 2, 5: 1}")


def test_output_is_truncated_like_deepseekmath() -> None:
    result = run_python("print('a' * 60 + 'b' * 60)", CONFIG)
    assert result.output == "a" * 50 + "..." + "b" * 50
    assert result.ok and result.truncated
    short = run_python("print('abcdefghij')", SandboxConfig(max_output=4))
    assert (short.output, short.truncated) == ("ab...ij", True)


def test_working_directory_is_writable_and_file_size_is_limited() -> None:
    code = "open('f.txt', 'w').write('hi')\nprint(open('f.txt').read())"
    assert run_python(code, CONFIG).output == "hi"
    big = run_python("open('big', 'wb').write(b'x' * (20 << 20))", CONFIG)
    assert big.status == "error"
    assert "File too large" in big.output


def test_statuses_are_a_closed_set_and_run_many_keeps_order() -> None:
    results = run_many([f"print({i})" for i in range(5)], CONFIG, workers=2)
    assert [r.output for r in results] == ["0", "1", "2", "3", "4"]
    assert {r.status for r in results} <= set(STATUSES)


def test_workdir_and_cgroup_are_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[Path | None] = []
    make = sandbox._make_cgroup
    monkeypatch.setattr(sandbox, "_make_cgroup", lambda: made.append(make()) or made[-1])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert run_python("open('left-behind', 'w').write('x')", CONFIG).ok
    assert list(tmp_path.iterdir()) == []
    assert made and (made[0] is None or not made[0].exists())


# --------------------------------------------------------------------------- hostile snippets


def test_infinite_loop_times_out() -> None:
    result = run_python("while True:\n    pass", CONFIG)
    _assert_bounded_failure(result, {"timeout"}, CONFIG.timeout + 1.0)
    assert result.output == "Timeout Error"


def test_closed_stdout_and_a_loop_still_times_out() -> None:
    result = run_python("import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass", CONFIG)
    _assert_bounded_failure(result, {"timeout"}, CONFIG.timeout + 1.0)


def test_fork_bomb_is_refused() -> None:
    result = run_python("import os\nwhile True:\n    os.fork()", CONFIG)
    _assert_bounded_failure(result, {"error"}, 2.5)
    assert "os.fork" in result.output


def test_ctypes_fork_bomb_is_contained_and_leaves_no_process(mechanisms: tuple[str, ...]) -> None:
    _needs(mechanisms, "pids_cgroup")
    marker = f"sbx{uuid.uuid4().hex[:10]}"
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None)\n"
        f"libc.prctl(15, b'{marker}', 0, 0, 0)\n"
        "while True:\n    if libc.fork() == 0:\n        libc.setsid()\n"
    )
    config = SandboxConfig(timeout=3.0, cpu_seconds=2, memory_mb=512, max_processes=4)
    result = run_python(code, config)
    _assert_bounded_failure(result, {"timeout"}, config.timeout + 1.5)
    give_up = time.monotonic() + 2.0
    while _processes_named(marker) and time.monotonic() < give_up:
        time.sleep(0.05)
    assert _processes_named(marker) == []


def test_max_processes_is_enforced_for_root(mechanisms: tuple[str, ...]) -> None:
    _needs(mechanisms, "pids_cgroup")
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None)\nstarted = 0\nfor _ in range(6):\n"
        "    pid = libc.fork()\n    if pid == 0:\n        libc._exit(0)\n    started += pid > 0\n"
        "print(started)"
    )
    assert run_python(code, SandboxConfig(max_processes=2)).output == "2"
    assert run_python(code, SandboxConfig()).output == "0"


@pytest.mark.parametrize(
    "code",
    ["x = 'a' * 10**10", "x = []\nwhile True:\n    x.append(' ' * 10**6)"],
    ids=["huge-string", "growing-list"],
)
def test_memory_exhaustion_is_bounded(code: str) -> None:
    result = run_python(code, CONFIG)
    _assert_bounded_failure(result, {"memory", "killed"}, 2.5)


@pytest.mark.parametrize(
    "code", ["print('x' * 10**8)", "while True:\n    print('x' * 80)"], ids=["huge", "endless"]
)
def test_huge_output_is_capped(code: str) -> None:
    result = run_python(code, CONFIG)
    _assert_bounded_failure(result, {"output_limit"}, 2.5)
    assert result.truncated
    assert result.output.startswith("x" * 50 + "...")


def test_stderr_flood_is_capped() -> None:
    result = run_python("import sys\nsys.stderr.write('e' * 10**8)", CONFIG)
    _assert_bounded_failure(result, {"output_limit"}, 2.5)


def test_writing_to_tmp_stays_inside_the_sandbox(mechanisms: tuple[str, ...]) -> None:
    _needs(mechanisms, "private_tmp")
    target = Path(f"/tmp/escape-{uuid.uuid4().hex}")
    result = run_python(f"open({str(target)!r}, 'w').write('x')\nprint('wrote')", CONFIG)
    assert result.output == "wrote"  # a private tmpfs, thrown away with the sandbox
    assert not target.exists()


def test_writing_to_the_repository_fails(mechanisms: tuple[str, ...]) -> None:
    _needs(mechanisms, "readonly_filesystem")
    target = REPO / f"escape-{uuid.uuid4().hex}"
    result = run_python(f"open({str(target)!r}, 'w').write('x')", CONFIG)
    _assert_bounded_failure(result, {"error"}, 2.5)
    # read-only, or (for a checkout under /tmp) hidden behind the sandbox's private /tmp
    assert "Read-only file system" in result.output or "No such file" in result.output
    assert not target.exists()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def _no_connection(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return True
    return False


def test_socket_connect_is_refused(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    code = f"import socket\ns = socket.socket()\ns.connect(('127.0.0.1', {port}))\nprint('in')"
    _assert_bounded_failure(run_python(code, CONFIG), {"error"}, 2.5)
    assert _no_connection(listener)


def test_ctypes_socket_connect_fails(listener: socket.socket, mechanisms: tuple[str, ...]) -> None:
    _needs(mechanisms, "net_namespace")
    port = listener.getsockname()[1]
    code = (
        "import ctypes, struct\nlibc = ctypes.CDLL(None)\nfd = libc.socket(2, 1, 0)\n"
        f"address = struct.pack('=H', 2) + struct.pack('!H', {port})\n"
        "address += bytes([127, 0, 0, 1] + [0] * 8)\nprint(libc.connect(fd, address, 16))"
    )
    assert run_python(code, CONFIG).output == "-1"
    assert _no_connection(listener)


def test_os_system_is_refused(mechanisms: tuple[str, ...]) -> None:
    target = Path(f"/tmp/pwned-{uuid.uuid4().hex}")
    result = run_python(f"import os\nos.system('echo pwned > {target}')", CONFIG)
    _assert_bounded_failure(result, {"error"}, 2.5)
    assert "os.system" in result.output
    assert not target.exists()
    if "pids_cgroup" in mechanisms:  # libc's system() bypasses the hook; it cannot fork
        bypass = f"import ctypes\nprint(ctypes.CDLL(None).system(b'echo pwned > {target}'))"
        assert run_python(bypass, CONFIG).output == str(127 << 8)
        assert not target.exists()


def test_harness_goes_on_through_a_mixed_batch() -> None:
    hostile = [
        "while True:\n    pass",
        "import os\nwhile True:\n    os.fork()",
        "x = 'a' * 10**10",
        "print('x' * 10**8)",
        "import os\nos.system('echo pwned')",
    ]
    codes = [code for bad in hostile for code in (bad, NORMAL)]
    start = time.monotonic()
    results = run_many(codes, CONFIG, workers=2)
    assert time.monotonic() - start < 10.0
    assert [r.status for r in results[1::2]] == ["ok"] * len(hostile)
    expected = ["timeout", "error", "memory", "output_limit", "error"]
    assert [r.status for r in results[::2]] == expected


def test_network_true_skips_the_network_namespace() -> None:
    result = run_python(
        "import socket\nprint(socket.socket().family.name)", SandboxConfig(network=True)
    )
    assert (result.status, result.output) == ("ok", "AF_INET")
    assert "net_namespace" not in result.isolation
