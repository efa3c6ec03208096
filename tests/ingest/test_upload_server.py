"""A real uvicorn server: the CLI end to end, and kill -9 in the middle of a large upload."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from cityassets.api.launch import free_port, start_server
from tests.ingest.helpers import code, fc, manhole

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(settings, tokens):
    """uvicorn on a free port against the test database; killed at the end whatever happened."""
    port = free_port()
    procs = [start_server(settings.dsn, port)]

    def restart() -> None:
        procs.append(start_server(settings.dsn, port))

    yield {"url": f"http://127.0.0.1:{port}", "procs": procs, "restart": restart}
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "cityassets"), "upload", *args],
        capture_output=True,
        check=False,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_upload(server, tokens, tmp_path):
    good = tmp_path / "good.geojson"
    good.write_bytes(fc([manhole(113.72, 34.72 + i * 1e-4, code()) for i in range(20)]))
    r = _cli(str(good), "--collection", "manholes", "--url", server["url"], "--token", tokens["surveyor"])
    assert r.returncode == 0, r.stderr
    assert "inserted" in r.stderr and "20" in r.stderr
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(fc([manhole(113.72, 34.73, code()), manhole(113.7201, 34.73, utility_type="lava")]))
    r = _cli(
        str(bad),
        "--collection",
        "manholes",
        "--partial",
        "--url",
        server["url"],
        "--token",
        tokens["surveyor"],
    )
    assert r.returncode == 1 and "enum" in r.stderr


async def test_kill_9_mid_upload_leaves_registry_unchanged(server, db, tokens):
    snapshot = (
        "SELECT (SELECT count(*) FROM manholes), (SELECT count(*) FROM history), "
        "(SELECT coalesce(sum(live_count), 0) FROM collection_stats), (SELECT count(*) FROM uploads), "
        "(SELECT coalesce(sum(last_serial), 0) FROM asset_code_serials)"
    )
    before = tuple(await db.fetchrow(snapshot))
    features = [
        manhole(113.705 + (i % 500) * 2e-4, 34.705 + (i // 500) * 2e-4, remarks="x" * 100)
        for i in range(60_000)
    ]
    body = fc(features)
    sent = threading.Event()

    def chunks():
        for i in range(0, len(body), 1 << 16):
            if i > len(body) // 2:
                sent.set()
                time.sleep(0.05)  # hold the upload open while the server is killed
            yield body[i : i + 1 << 16]

    def post() -> None:
        try:
            httpx.post(
                f"{server['url']}/collections/manholes/uploads",
                content=chunks(),
                timeout=60,
                headers={
                    "Authorization": f"Bearer {tokens['admin']}",
                    "Content-Type": "application/geo+json",
                },
            )
        except httpx.HTTPError:
            pass  # the server died under it: expected

    client = threading.Thread(target=post, daemon=True)
    client.start()
    assert await asyncio.to_thread(sent.wait, 60)
    os.kill(server["procs"][0].pid, signal.SIGKILL)
    server["procs"][0].wait()
    await asyncio.to_thread(client.join, 30)
    # The dead server's backend rolls back once it sees the closed socket.
    for _ in range(100):
        if not await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
            "state LIKE '%transaction%' AND pid <> pg_backend_pid()"
        ):
            break
        await asyncio.sleep(0.1)
    await asyncio.to_thread(server["restart"])
    assert tuple(await db.fetchrow(snapshot)) == before
    # And the restarted service takes uploads again.
    r = await asyncio.to_thread(
        httpx.post,
        f"{server['url']}/collections/manholes/uploads",
        content=fc([manhole(113.71, 34.71, code())]),
        headers={"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/geo+json"},
    )
    assert r.status_code == 200, r.text
    assert orjson.loads(r.content)["counts"]["inserted"] == 1
