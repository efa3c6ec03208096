"""cityassets.db.local_cluster: a project-local PostgreSQL + PostGIS cluster inside the checkout.

PostgreSQL refuses to run as root (`initdb: cannot be run as root`), so when we are root the
cluster belongs to the `postgres` OS user and every server command runs through `runuser`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from cityassets.settings import Settings

PG_CONF = """
# cityassets local cluster (written by `cityassets db up`)
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
max_connections = 200
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 512MB
temp_buffers = 64MB
max_wal_size = 4GB
# lz4 rather than pglz (`on`): an upload's final spatial index build writes every page to the WAL compressed
# (100,000 polygons: 254 -> 211 ms).
wal_compression = lz4
# JIT compiles short OLTP queries for longer than they run (seen on MapServer counts: 500 ms vs 145 ms).
jit = off
random_page_cost = 1.1
effective_io_concurrency = 100
log_min_duration_statement = 2000
"""


def _bindir() -> Path:
    for cand in ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"):
        if Path(cand, "pg_ctl").exists():
            return Path(cand)
    found = shutil.which("pg_ctl")
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql-15")
    return Path(found).resolve().parent


def _as_owner(cmd: list[str]) -> list[str]:
    """Prefix a command so it runs as the cluster owner (postgres when we are root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _owner_can_reach(path: Path) -> None:
    """As root, make sure `postgres` can traverse to the data dir (adds only o+x on parents)."""
    if os.geteuid() != 0:
        return
    for parent in reversed(path.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def status(settings: Settings) -> bool:
    """True when the local cluster is running."""
    data = settings.local_cluster_dir
    if not (data / "PG_VERSION").exists():
        return False
    res = subprocess.run(
        _as_owner([str(_bindir() / "pg_ctl"), "-D", str(data), "status"]),
        capture_output=True,
        text=True,
    )
    return res.returncode == 0


def init(settings: Settings) -> None:
    """initdb the data dir once, with a trust-on-loopback superuser named cityassets."""
    data = settings.local_cluster_dir
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
        _owner_can_reach(data)
    data.chmod(0o700)
    subprocess.run(
        _as_owner(
            [
                str(_bindir() / "initdb"),
                "-D",
                str(data),
                "-U",
                "cityassets",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    conf = data / "postgresql.conf"
    text = conf.read_text() + PG_CONF.format(port=settings.local_cluster_port)
    subprocess.run(_as_owner(["tee", str(conf)]), input=text, text=True, check=True, stdout=subprocess.DEVNULL)


def start(settings: Settings) -> None:
    """Start the cluster if it is not running, then make sure the database exists."""
    init(settings)
    data = settings.local_cluster_dir
    if not status(settings):
        subprocess.run(
            _as_owner(
                [str(_bindir() / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "-t", "60", "start"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    _wait_ready(settings)


def _wait_ready(settings: Settings, seconds: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + seconds
    dsn = f"postgresql://cityassets@127.0.0.1:{settings.local_cluster_port}/postgres"
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def stop(settings: Settings) -> None:
    """Stop the cluster (fast shutdown) when it runs."""
    if status(settings):
        subprocess.run(
            _as_owner([str(_bindir() / "pg_ctl"), "-D", str(settings.local_cluster_dir), "-m", "fast", "stop"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
