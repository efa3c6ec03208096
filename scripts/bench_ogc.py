#!/usr/bin/env python3
"""OGC API side-by-side benchmark: cityassets vs tipg, pygeoapi, MapServer 8 and QGIS Server 3.22.

    .venv/bin/python scripts/bench_ogc.py prepare   # bench databases (100k city_points; 10M rows for deep paging)
    .venv/bin/python scripts/bench_ogc.py run OUT   # wrk, interleaved with the peers, CPU ms per request
    .venv/bin/python scripts/bench_ogc.py deep      # page 1 vs page 1000 over 10M rows, following `next`
    .venv/bin/python scripts/bench_ogc.py tiles     # MVT z14 tiles over the demo city, p50

Method (../shared/acceptance/peers/bench/bench_peers.py): the peers run with 2 worker processes on
the private cluster (127.0.0.1:55431) that `start_peers.sh` creates and loads with
`load_test_data.sql`; cityassets runs with 2 uvicorn workers on a registry database in the same
cluster whose `facilities` collection holds the same 100 000 `city_points` rows (same ids 1..100000,
same positions, transformed to the storage CRS EPSG:4547; kind -> category, asset_id -> name).
For each query: `wrk -t2 -c16 -d20s --latency` three times round-robin across servers (median), CPU
time of each server's process tree and of PostgreSQL sampled from /proc, and `wrk -t1 -c1` for the
unloaded p50.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

from cityassets.api.launch import start_server

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "acceptance" / "peers"
LUA = PEERS / "bench" / "random_id.lua"
PEER_PG = "postgresql://ogcpg@127.0.0.1:55431/"
BENCH_DSN = PEER_PG + "cityassets_bench"
OURS_PORT = 8028
BBOX = "113.70,34.75,113.74,34.78"
HZ = os.sysconf("SC_CLK_TCK")
DUR, RUNS = int(os.environ.get("DUR", 20)), int(os.environ.get("RUNS", 3))

T = "http://127.0.0.1:18080/collections/public.city_points"
P = "http://127.0.0.1:18081/collections/city_points"
Q = "http://127.0.0.1:18083/qgis/wfs3/collections/city_points"
O = f"http://127.0.0.1:{OURS_PORT}/collections/facilities"
QUERIES = {
    "cityassets": [("items limit=1000", f"{O}/items?limit=1000", None),
                   ("bbox ~1%", f"{O}/items?bbox={BBOX}&limit=2000", None),
                   ("item by id", f"{O}/items/", "")],
    "qgis": [("items limit=1000", f"{Q}/items.json?limit=1000", None),
             ("bbox ~1%", f"{Q}/items.json?bbox={BBOX}&limit=2000", None),
             ("item by id", f"{Q}/items/", ".json")],
    "tipg": [("items limit=1000", f"{T}/items?limit=1000", None),
             ("bbox ~1%", f"{T}/items?bbox={BBOX}&limit=2000", None),
             ("item by id", f"{T}/items/", "")],
    # WFS 2.0 GetFeature, GML 3.2 (each server's default output) against MapServer 8, the only peer with WFS 2.0.
    "cityassets-wfs": [("WFS 2.0 GetFeature COUNT=1000 (GML 3.2)", f"http://127.0.0.1:{OURS_PORT}/wfs?SERVICE=WFS&"
                        "VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=ca:facilities&COUNT=1000", None)],
    "mapserver": [("WFS 2.0 GetFeature COUNT=1000 (GML 3.2)", "http://127.0.0.1:18082/mapserv?map=city&SERVICE=WFS&"
                   "VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=ms:city_points&COUNT=1000", None)],
    "pygeoapi": [("items limit=1000", f"{P}/items?f=json&limit=1000", None),
                 ("bbox ~1%", f"{P}/items?f=json&bbox={BBOX}&limit=2000", None),
                 ("item by id", f"{P}/items/", "?f=json")],
}
PIDFILES = {"tipg": "/tmp/ogc-run/tipg.pid", "pygeoapi": "/tmp/ogc-run/pygeoapi.pid",
            "qgis": "/tmp/ogc-run/lighttpd-qgis.pid", "cityassets": "/tmp/ogc-run/cityassets.pid",
            "cityassets-wfs": "/tmp/ogc-run/cityassets.pid", "mapserver": "/tmp/ogc-run/lighttpd-mapserv.pid"}


# --- data ------------------------------------------------------------------------------------------
def _registry(dsn: str) -> None:
    from cityassets.db import admin

    admin.upgrade(dsn)


def prepare() -> None:
    """The 100k bench registry in the peers' cluster, and a 10M-row registry for deep paging locally."""
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "55431"], capture_output=True).returncode:
        subprocess.run(["bash", str(PEERS / "start_peers.sh")], check=True)
    _registry(BENCH_DSN)
    with psycopg.connect(BENCH_DSN, autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM facilities").fetchone()[0] != 100_000:
            subprocess.run(["psql", BENCH_DSN, "-q", "-v", "ON_ERROR_STOP=1", "-f",
                            str(PEERS.parent / "load_test_data.sql")], check=True, capture_output=True)
            conn.execute("ALTER TABLE facilities DROP CONSTRAINT IF EXISTS ck_facilities_category_vocab")
            conn.execute("TRUNCATE facilities RESTART IDENTITY")
            conn.execute("INSERT INTO facilities (id, category, name, geom) SELECT gid, kind, asset_id, "
                         "ST_Transform(geom, 4547) FROM city_points ORDER BY gid")
            conn.execute("UPDATE collection_stats SET live_count = 100000 WHERE collection = 'facilities'")
            conn.execute("VACUUM ANALYZE facilities")
    deep = deep_dsn()
    _registry(deep)
    with psycopg.connect(deep, autocommit=True) as conn:
        if conn.execute("SELECT live_count FROM collection_stats WHERE collection = 'facilities'").fetchone()[0] < 10**7:
            # Bulk load without the history triggers (a benchmark table, not an audited one).
            conn.execute("ALTER TABLE facilities DISABLE TRIGGER USER")
            conn.execute("INSERT INTO facilities (category, name, geom) SELECT 'other', 'F' || g, "
                         "ST_Transform(ST_SetSRID(ST_MakePoint(113.5 + random() * 0.4, 34.6 + random() * 0.3), 4326), 4547) "
                         "FROM generate_series(1, 10000000) g")
            conn.execute("ALTER TABLE facilities ENABLE TRIGGER USER")
            conn.execute("UPDATE collection_stats SET live_count = (SELECT count(*) FROM facilities) "
                         "WHERE collection = 'facilities'")
            conn.execute("VACUUM ANALYZE facilities")


def deep_dsn() -> str:
    from cityassets.settings import get_settings

    return get_settings().dsn.rsplit("/", 1)[0] + "/cityassets_deep"


# --- servers ---------------------------------------------------------------------------------------
def start_ours(dsn: str, port: int = OURS_PORT) -> subprocess.Popen:
    """2 uvicorn workers (uvloop + httptools) on the given registry database."""
    # Default settings: one interactive connection slot per worker (settings.interactive_slots).
    proc = start_server(dsn, port, workers=2)
    Path(PIDFILES["cityassets"]).parent.mkdir(exist_ok=True)
    Path(PIDFILES["cityassets"]).write_text(str(proc.pid))
    return proc


def _tree_cpu(root: int) -> float:
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                parts = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
                procs[int(d)] = (int(parts[1]), sum(int(parts[i]) for i in (11, 12, 13, 14)))
            except (OSError, IndexError, ValueError):
                pass
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        if p in procs:
            total += procs[p][1]
            todo.extend(kids.get(p, []))
    return total / HZ


def _cpu(server: str) -> tuple[float, float]:
    pid = int(Path(PIDFILES[server]).read_text().split()[0])
    pg = int(open("/tmp/ogc-pg/postmaster.pid").readline())
    return _tree_cpu(pid), _tree_cpu(pg)


def _ms(v: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    n, u = float(m.group(1)), m.group(2)
    return {"us": n / 1000, "ms": n, "s": n * 1000, "m": n * 60000}[u]


def wrk(url: str, suffix: str | None, threads: int, conns: int, dur: int) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{dur}s", "--latency", "--timeout", "10s"]
    if suffix is not None:
        scheme, _, hostport, path = url.split("/", 3)
        cmd += ["-s", str(LUA), f"{scheme}//{hostport}", "--", "/" + path, suffix, "100000"]
    else:
        cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
         "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        r[f"p{pct}"] = _ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    return r


def _features(url: str) -> tuple[int, int]:
    body = urllib.request.urlopen(url, timeout=60).read()
    if body.lstrip().startswith(b"<"):  # a GML FeatureCollection
        return body.count(b"<wfs:member"), len(body)
    doc = json.loads(body)
    return (1 if doc.get("type") == "Feature" else len(doc["features"])), len(body)


def run(out: str, servers: list[str]) -> None:
    """Interleaved wrk runs; writes OUT.json and prints a markdown table."""
    ours = start_ours(BENCH_DSN)
    try:
        combos = []
        for srv in servers:
            for name, url, suffix in QUERIES[srv]:
                sample = url + "54321" + suffix if suffix is not None else url
                n, size = _features(sample)
                combos.append({"server": srv, "query": name, "url": url, "suffix": suffix, "features": n,
                               "bytes": size, "runs": [], "single": []})
        for i in range(RUNS):
            for c in combos:
                cpu0, load = _cpu(c["server"]), os.getloadavg()[0]
                r = wrk(c["url"], c["suffix"], 2, 16, DUR)
                cpu1 = _cpu(c["server"])
                r.update(server_cpu=cpu1[0] - cpu0[0], pg_cpu=cpu1[1] - cpu0[1], load=load)
                r["cpu_ms"] = (r["server_cpu"] + r["pg_cpu"]) * 1000 / max(r["requests"], 1)
                c["runs"].append(r)
                print(f"run {i + 1} {c['server']:10s} {c['query']:18s} rps={r['rps']:8.1f} p50={r['p50']}ms "
                      f"p99={r['p99']}ms cpu/req={r['cpu_ms']:.2f}ms load={load:.1f} non2xx={r['non2xx']}", flush=True)
        for _ in range(RUNS):
            for c in combos:
                c["single"].append(wrk(c["url"], c["suffix"], 1, 1, 5))
    finally:
        ours.terminate()
        ours.wait(timeout=30)
    rows = []
    for c in combos:
        med = {k: statistics.median(r[k] for r in c["runs"]) for k in ("rps", "p50", "p99", "cpu_ms", "load")}
        med["single_p50"] = statistics.median(r["p50"] for r in c["single"])
        med["fps"] = med["rps"] * c["features"]
        c["median"] = med
        rows.append(c)
    Path(out + ".json").write_text(json.dumps(rows, indent=1))
    lines = ["| server | query | feat/resp | KB/resp | req/s | features/s | p50 ms | p99 ms | p99/p50 | single p50 ms "
             "| CPU ms/req | load |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in rows:
        m = c["median"]
        lines.append(f"| {c['server']} | {c['query']} | {c['features']} | {c['bytes'] / 1024:.1f} | {m['rps']:.1f} | "
                     f"{m['fps']:,.0f} | {m['p50']:.1f} | {m['p99']:.1f} | {m['p99'] / m['p50']:.1f} | "
                     f"{m['single_p50']:.2f} | {m['cpu_ms']:.2f} | {m['load']:.1f} |")
    Path(out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def deep() -> None:
    """Follow `next` from page 1 to page 1000 (limit 1000) over 10M rows; time page 1 and page 1000 (median of 5)."""
    port = OURS_PORT + 1
    srv = start_ours(deep_dsn(), port)
    try:
        first = f"http://127.0.0.1:{port}/collections/facilities/items?limit=1000"
        url, pages, seen = first, 0, 0
        while pages < 999:
            doc = json.loads(urllib.request.urlopen(url, timeout=60).read())
            seen += len(doc["features"])
            url = next(lk["href"] for lk in doc["links"] if lk["rel"] == "next")
            pages += 1

        def timed(u: str) -> float:
            ts = []
            for _ in range(5):
                t0 = time.perf_counter()
                urllib.request.urlopen(u, timeout=60).read()
                ts.append((time.perf_counter() - t0) * 1000)
            return statistics.median(ts)

        p1, p1000 = timed(first), timed(url)
        print(f"deep paging over 10M rows: page 1 {p1:.1f} ms, page 1000 {p1000:.1f} ms "
              f"(ratio {p1000 / p1:.2f}; {seen} features walked through next links)")
        offset = f"{first}&offset=999000"
        print(f"for contrast, offset=999000: {timed(offset):.1f} ms")
    finally:
        srv.terminate()
        srv.wait(timeout=30)


def tiles() -> None:
    """p50 of z14 tiles covering the demo city's manholes (one client, warm)."""
    import math

    from cityassets.settings import get_settings

    port = OURS_PORT + 1
    srv = start_ours(get_settings().dsn, port)
    try:
        def xy(lon: float, lat: float, z: int) -> tuple[int, int]:
            n = 2**z
            return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

        x0, y0 = xy(113.60, 34.80, 14)
        x1, y1 = xy(113.70, 34.70, 14)
        for cid in ("manholes", "street_furniture", "roads", "green_spaces"):
            ts, sizes = [], []
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    t0 = time.perf_counter()
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/collections/{cid}/tiles/WebMercatorQuad/14/{x}/{y}") as r:
                        sizes.append(len(r.read()))
                    ts.append((time.perf_counter() - t0) * 1000)
            ts.sort()
            full = [n for n in sizes if n]
            if not full:  # empty tiles time nothing: the demo city is not loaded in this database
                raise SystemExit(f"every {cid} tile is empty: run `cityassets demo load` first")
            print(f"{cid:18s} z14 tiles={len(ts)} (non-empty {len(full)}) p50={statistics.median(ts):.1f} ms "
                  f"p90={ts[int(len(ts) * 0.9)]:.1f} ms mean non-empty size={statistics.mean(full or [0]) / 1024:.1f} KB")
    finally:
        srv.terminate()
        srv.wait(timeout=30)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "run"
    if cmd == "prepare":
        prepare()
    elif cmd == "run":
        run(sys.argv[2] if len(sys.argv) > 2 else "/tmp/bench_ogc", sys.argv[3:] or list(QUERIES))
    elif cmd == "deep":
        deep()
    elif cmd == "tiles":
        tiles()
    else:
        sys.exit(__doc__)
