"""Servers for the OpenAI backend tests: a real `transformers serve` and a scripted fake.

The real server runs the session's tiny random Llama on CPU in a subprocess; the fake one is a
stdlib `http.server` in a thread that replays canned responses and records what it was sent.
Neither checks model output, and neither is meant for anything outside the tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(model_dir: Path, port: int) -> list[str]:
    """The exact `transformers serve` command line the tests run."""
    cli = Path(sys.executable).with_name("transformers")
    return [str(cli), "serve", str(model_dir), "--port", str(port), "--host", "127.0.0.1"]


def _healthy(root: str) -> bool:
    try:
        return httpx.get(f"{root}/health", timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


def _wait_healthy(proc: subprocess.Popen, root: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _healthy(root):
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-2000:]
    pytest.fail(f"transformers serve did not become healthy at {root}:\n{tail}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def serving(model_dir: Path, log: Path) -> Iterator[str]:
    """`transformers serve` of `model_dir` on 127.0.0.1 (output to `log`); yields the /v1 URL
    once it answers, and stops it afterwards."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            serve_command(model_dir, port),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    root = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, root, log)
        yield f"{root}/v1"
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def transformers_server(tiny_model: Path, tmp_path_factory) -> Iterator[str]:
    """Run `transformers serve` on the tiny model; yields the base URL ending in /v1."""
    with serving(tiny_model, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


@dataclass
class Reply:
    """One canned HTTP response."""

    status: int = 200
    body: dict | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request the fake server received."""

    path: str
    headers: dict[str, str]
    body: dict


def chat_reply(text: str = "ok", k: int = 1, usage: dict | None = None) -> Reply:
    """A valid /chat/completions response with k choices."""
    choices = [
        {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        for i in range(k)
    ]
    body: dict = {"id": "x", "object": "chat.completion", "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return Reply(200, body)


class _Handler(BaseHTTPRequestHandler):
    script: list[Reply]
    seen: list[Seen]
    lock: threading.Lock

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.lock:
            self.seen.append(Seen(self.path, dict(self.headers), body))
            reply = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        self.send_response(reply.status)
        self.send_header("content-type", "application/json")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data.encode())))
        self.end_headers()
        self.wfile.write(data.encode())

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""


@contextmanager
def fake_server(*script: Reply) -> Iterator[tuple[str, list[Seen]]]:
    """Serve `script` in order (the last reply repeats); yields (base URL, requests seen)."""
    seen: list[Seen] = []
    handler = type(
        "Handler", (_Handler,), {"script": list(script), "seen": seen, "lock": threading.Lock()}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
