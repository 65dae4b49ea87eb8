"""``texture-nets demo`` served by a child process: what the HTTP tests and the load benchmark
talk to, as a user's browser or ``gradio_client`` would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_in_child(
    log: Path, runs: Path | None = None, timeout: float = 180
) -> Iterator[tuple[str, int]]:
    """The demo on a free local port until the context ends: (its URL, its process id). Its
    output goes to ``log``; a server that is not answering after ``timeout`` seconds is a
    ``RuntimeError`` with the end of that log."""
    port = free_port()
    command = [sys.executable, "-m", "texture_nets", "demo", "--port", str(port)]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as output:
        server = subprocess.Popen(
            [*command, *(["--runs", str(runs)] if runs else [])],
            stdout=output,
            stderr=output,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the demo did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
