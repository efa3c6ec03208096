"""cityassets.api.launch: start the service as a real uvicorn process (tests, benchmarks, acceptance)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from cityassets.settings import PROJECT_ROOT


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(dsn: str, port: int, *, workers: int = 1, env: Mapping[str, str] | None = None,
                 timeout: float = 60, stderr: int | None = None) -> subprocess.Popen:
    """uvicorn serving `dsn` on 127.0.0.1:`port`, returned once /health answers.

    Not `cityassets serve`, which records its pid for `make stop`.
    """
    cmd = [sys.executable, "-m", "cityassets.api.balancer", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning"]
    full_env = {**os.environ, **(env or {}), "DATABASE_URL": dsn}
    proc = subprocess.Popen(cmd, env=full_env, cwd=Path(PROJECT_ROOT), stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise RuntimeError(f"the server did not start on port {port}: {err}")
        time.sleep(0.2)
