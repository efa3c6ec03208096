"""Benchmark survey uploads over HTTP against ogr2ogr (issue 3). Results go to docs/benchmarks.md by hand.

    .venv/bin/python scripts/bench_upload.py --points 1000000 --polygons 100000

Creates a fresh database `cityassets_bench` on the local cluster, starts `uvicorn` on a free port,
generates CRS84 GeoJSON files (fixed seed) and measures, in one run:
  1. upload of N points (manholes, ~10 attributes) into the empty collection, then the re-upload
     (all unchanged); server peak RSS (VmHWM) and CPU seconds of the service;
  2. `ogr2ogr -f PostgreSQL --config PG_USE_COPY YES` of the same file into a plain table;
  3. the same for polygons (green_spaces, 4-8 vertices each).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import asyncpg
import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cityassets.api.launch import free_port, start_server
from cityassets.auth.tokens import create_token
from cityassets.db import admin
from cityassets.settings import get_settings

EAST = "MULTIPOLYGON(((113.70 34.70, 113.85 34.70, 113.85 34.85, 113.70 34.85, 113.70 34.70)))"
ORGS = [
    ("WATER", "郑州自来水投资控股有限公司", "utility_company"),
    ("PARKS", "郑州市园林局", "government_dept"),
]
MATERIALS = ["cast_iron", "ductile_iron", "composite", "concrete"]
UTILITIES = [
    ("water_supply", "0101"),
    ("sewage", "0102"),
    ("storm", "0103"),
    ("storm_grate", "0104"),
    ("power", "0105"),
    ("street_lighting", "0106"),
    ("telecom", "0107"),
    ("cable_tv", "0108"),
    ("network", "0109"),
    ("heat", "0110"),
]


def make_points(path: Path, n: int, seed: int = 20261123) -> None:
    """n manholes with ~10 attributes, one feature per line (as GDAL writes), 7 decimals."""
    rnd = random.Random(seed)
    with path.open("wb") as fh:
        fh.write(b'{"type":"FeatureCollection","features":[\n')
        for i in range(n):
            # Ten utility types (ten code classes) keep the 6-digit serial below 1,000,000 up to 10M features.
            utility, cls = UTILITIES[i % 10]
            props = {
                "asset_code": f"410105{cls}{i // 10 + 1:06d}",
                "utility_type": utility,
                "owner": "WATER",
                "cover_material": MATERIALS[i % 4],
                "cover_diameter_mm": 600 + (i % 5) * 50,
                "depth_m": round(rnd.uniform(0.5, 6.0), 2),
                "status": "in_service",
                "condition": "intact",
                "survey_method": "rtk",
                "surveyed_at": f"2026-10-0{1 + i % 9}",
                "remarks": "复测" if i % 7 == 0 else None,
            }
            geom = {
                "type": "Point",
                "coordinates": [
                    round(rnd.uniform(113.701, 113.849), 7),
                    round(rnd.uniform(34.701, 34.849), 7),
                ],
            }
            fh.write(orjson.dumps({"type": "Feature", "properties": props, "geometry": geom}))
            fh.write(b",\n" if i < n - 1 else b"\n")
        fh.write(b"]}\n")


def make_polygons(path: Path, n: int, seed: int = 7) -> None:
    """n small green spaces: 4-8 vertices on a circle of 4-40 m radius (valid, closed rings)."""
    import math

    rnd = random.Random(seed)
    classes = ["G11", "G12", "G13", "G14", "G2"]
    with path.open("wb") as fh:
        fh.write(b'{"type":"FeatureCollection","features":[\n')
        for i in range(n):
            lon, lat, r = (
                rnd.uniform(113.702, 113.848),
                rnd.uniform(34.702, 34.848),
                rnd.uniform(4, 40) / 100_000,
            )
            k = rnd.randint(4, 8)
            ring = [
                [
                    round(lon + r * math.cos(2 * math.pi * j / k), 7),
                    round(lat + r * math.sin(2 * math.pi * j / k), 7),
                ]
                for j in range(k)
            ]
            ring.append(ring[0])
            props = {"name": f"绿地{i}", "green_class": classes[i % 5], "is_public": i % 3 != 0}
            fh.write(
                orjson.dumps(
                    {
                        "type": "Feature",
                        "properties": props,
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                )
            )
            fh.write(b",\n" if i < n - 1 else b"\n")
        fh.write(b"]}\n")


async def prepare(dsn: str, srid: int) -> str:
    """Fresh schema, the east district, two organisations; returns an admin token."""
    admin.drop_database(dsn)
    admin.upgrade(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO organisations (code, name_zh, org_type) VALUES ($1, $2, $3)", ORGS
        )
        await conn.execute(
            "INSERT INTO districts (code, name_zh, geom) VALUES ('410105', '金水区', "
            "ST_Transform(ST_GeomFromText($1, 4326), $2::int))",
            EAST,
            srid,
        )
        return await create_token(conn, "admin", label="bench")
    finally:
        await conn.close()


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc; clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class BackendCPU(threading.Thread):
    """CPU seconds of the bench database's backends while a step runs (other tenants share the cluster).

    Samples /proc every 0.1 s for every backend connected to the bench database, so short-lived
    backends (ogr2ogr's) are counted up to their last sample.
    """

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.first, self.last, self.done = dsn, {}, {}, threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.done.is_set():
                pids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                ]
                for pid in pids:
                    try:
                        cpu = proc_cpu(pid)
                    except (FileNotFoundError, ProcessLookupError):
                        continue
                    self.first.setdefault(pid, cpu)
                    self.last[pid] = cpu
                time.sleep(0.1)

    def stop(self) -> float:
        self.done.set()
        self.join()
        return sum(self.last[p] - self.first[p] for p in self.last)

    @classmethod
    def start_for(cls, dsn: str) -> BackendCPU:
        sampler = cls(dsn)
        sampler.start()
        time.sleep(0.3)  # the baseline of already connected (pooled) backends
        return sampler


def upload(url: str, token: str, path: Path, collection: str, **params: str) -> tuple[float, dict]:
    def chunks():
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                yield block

    t0 = time.perf_counter()
    r = httpx.post(
        f"{url}/collections/{collection}/uploads",
        content=chunks(),
        params=params,
        timeout=3600,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/geo+json"},
    )
    dt = time.perf_counter() - t0
    if r.status_code != 200:
        raise RuntimeError(f"upload failed: {r.status_code} {r.text[:500]}")
    return dt, r.json()


def checkpoint(dsn: str) -> None:
    """Flush the dirty pages of the steps before, so no case pays for another's (each starts alike)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def ogr2ogr(label: str, dsn: str, dsn_parts: dict[str, str], path: Path, table: str, n: int) -> dict:
    """The peer: GDAL's PostgreSQL driver with COPY, into a plain table (no validation, upsert or history)."""
    pg = "PG:" + " ".join(f"{k}={v}" for k, v in dsn_parts.items())
    checkpoint(dsn)
    sampler = BackendCPU.start_for(dsn)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            pg,
            str(path),
            "-nln",
            table,
            "-overwrite",
            "--config",
            "PG_USE_COPY",
            "YES",
        ],
        check=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row = {
        "case": label,
        "features": n,
        "wall_s": wall,
        "features_per_s": n / wall,
        "client_cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        "db_cpu_s": sampler.stop(),
    }
    print(orjson.dumps(row).decode(), flush=True)
    return row


def measure(
    label: str, dsn: str, url: str, token: str, pid: int, path: Path, collection: str, n: int, **params: str
) -> dict:
    """One upload over HTTP: wall, service CPU, its backends' CPU, service peak RSS, the report's counts."""
    checkpoint(dsn)
    cpu0 = proc_cpu(pid)
    sampler = BackendCPU.start_for(dsn)
    wall, rep = upload(url, token, path, collection, **params)
    row = {
        "case": label,
        "features": n,
        "wall_s": wall,
        "features_per_s": n / wall,
        "client_cpu_s": proc_cpu(pid) - cpu0,
        "db_cpu_s": sampler.stop(),
        "peak_rss_mb": peak_rss_mb(pid),
        "counts": rep["counts"],
    }
    print(orjson.dumps(row).decode(), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--polygons", type=int, default=100_000)
    ap.add_argument(
        "--big", type=int, default=0, help="also upload this many points for the memory check (5M)"
    )
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cityassets-bench"))
    ap.add_argument("--database", default="cityassets_bench", help="scratch database (dropped and recreated)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the server it started
    args.workdir.mkdir(parents=True, exist_ok=True)
    s = get_settings()
    dsn = s.dsn.rsplit("/", 1)[0] + "/" + args.database
    parts = {
        "dbname": args.database,
        "host": "127.0.0.1",
        "port": str(s.local_cluster_port),
        "user": "cityassets",
    }
    print("load before:", os.getloadavg(), flush=True)
    token = asyncio.run(prepare(dsn, s.storage_srid))
    pts, polys = (
        args.workdir / f"points_{args.points}.geojson",
        args.workdir / f"polygons_{args.polygons}.geojson",
    )
    if args.points and not pts.exists():
        make_points(pts, args.points)
    if args.polygons and not polys.exists():
        make_polygons(polys, args.polygons)
    port = free_port()
    server = start_server(dsn, port)
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        if args.points:
            # The same file twice: the second upload must find every feature unchanged and write nothing.
            for label in ("points: upload into empty collection", "points: re-upload (all unchanged)"):
                rows.append(measure(label, dsn, url, token, server.pid, pts, "manholes", args.points))
            rows.append(
                ogr2ogr("points: ogr2ogr PG_USE_COPY=YES", dsn, parts, pts, "ogr_points", args.points)
            )
        if args.polygons:
            rows.append(
                measure(
                    "polygons: upload into empty collection",
                    dsn,
                    url,
                    token,
                    server.pid,
                    polys,
                    "green_spaces",
                    args.polygons,
                    match="none",
                )
            )
            rows.append(
                ogr2ogr("polygons: ogr2ogr PG_USE_COPY=YES", dsn, parts, polys, "ogr_polygons", args.polygons)
            )
        if args.big:
            big = args.workdir / f"points_{args.big}.geojson"
            if not big.exists():
                make_points(big, args.big, seed=5)
            asyncio.run(_truncate(dsn))
            rows.append(
                measure(
                    f"memory check: {args.big:,} points",
                    dsn,
                    url,
                    token,
                    server.pid,
                    big,
                    "manholes",
                    args.big,
                )
            )
    finally:
        server.terminate()
        server.wait()
    print("load after:", os.getloadavg())
    print(
        "\n| case | features | wall s | features/s | client CPU s | DB backend CPU s | CPU s per 100k | "
        "service peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cpu = r["client_cpu_s"] + r["db_cpu_s"]
        print(
            f"| {r['case']} | {r['features']:,} | {r['wall_s']:.1f} | {r['features_per_s']:,.0f} | "
            f"{r['client_cpu_s']:.1f} | {r['db_cpu_s']:.1f} | {cpu / r['features'] * 100_000:.2f} | "
            f"{r.get('peak_rss_mb', float('nan')):.0f} |"
        )
    by = {r["case"]: r for r in rows}
    for kind in ("points", "polygons"):
        ours, ogr = (
            by.get(f"{kind}: upload into empty collection"),
            by.get(f"{kind}: ogr2ogr PG_USE_COPY=YES"),
        )
        if ours and ogr:
            by_cpu = (ogr["client_cpu_s"] + ogr["db_cpu_s"]) / (ours["client_cpu_s"] + ours["db_cpu_s"])
            print(
                f"{kind}: throughput ratio to ogr2ogr = "
                f"{ours['features_per_s'] / ogr['features_per_s']:.2f}x "
                f"(wall), {by_cpu:.2f}x (total CPU)"
            )


async def _truncate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE manholes, history RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
