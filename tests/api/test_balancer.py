"""The acceptor hands keep-alive connections to the workers in turn, and replaces a worker that dies."""

from __future__ import annotations

import http.client
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from cityassets.api.launch import free_port, start_server


def _children(pid: int) -> list[int]:
    """The live worker processes of the acceptor `pid` (not multiprocessing's resource tracker)."""
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                state, ppid = (d / "stat").read_text().rsplit(")", 1)[1].split()[:2]
                if int(ppid) == pid and state != "Z" and b"spawn_main" in (d / "cmdline").read_bytes():
                    kids.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def _established_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":
                inodes.add(f[9])
    return inodes


def _owner_counts(workers: list[int], port: int) -> Counter[int]:
    inodes, counts = _established_inodes(port), Counter()
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                counts[pid] += 1
    return counts


@pytest.fixture(scope="module")
def two_workers(settings, city):
    port = free_port()
    proc = start_server(settings.dsn, port, workers=2)
    yield proc, port
    proc.terminate()
    proc.wait(30)


def _get(conn: http.client.HTTPConnection, path: str) -> int:
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    return r.status


def test_connections_are_split_evenly(two_workers) -> None:
    proc, port = two_workers
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(8)]
    try:
        assert all(_get(c, "/collections/manholes/items?limit=1") == 200 for c in conns)
        workers = _children(proc.pid)
        assert len(workers) == 2
        assert sorted(_owner_counts(workers, port).values()) == [4, 4]
    finally:
        for c in conns:
            c.close()


def test_a_killed_worker_is_replaced(two_workers) -> None:
    proc, port = two_workers
    victim = _children(proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = _children(proc.pid)
        if len(workers) == 2 and victim not in workers:
            break
        time.sleep(0.2)
    assert victim not in _children(proc.pid) and len(_children(proc.pid)) == 2
    # Every connection is served, including those handed to the new worker while it starts.
    for _ in range(6):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        assert _get(c, "/health") == 200
        c.close()
