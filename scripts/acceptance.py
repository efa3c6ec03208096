#!/usr/bin/env python3
"""Real-client acceptance: GDAL, QGIS and OWSLib against every collection of the demo city.

Starts the server on the demo database, derives the expected answers from PostGIS (count, an exact
CRS84 `ST_Intersects` bbox count, an attribute-filter count) and runs
`../shared/acceptance/ogc_clients_check.py` (Debian /usr/bin/python3: osgeo 3.6, qgis 3.22) per
collection. Exit status 1 on any FAIL.

    .venv/bin/python scripts/acceptance.py [--only http-oapif,gdal-oapif,qgis-oapif,owslib-oapif] [--collections a,b]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from cityassets.api.launch import start_server
from cityassets.catalogue import COLLECTIONS, Collection
from cityassets.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT.parent / "shared" / "acceptance" / "ogc_clients_check.py"
OWSLIB_VENV = Path("/tmp/ogc-venv")


def ensure_owslib() -> None:
    """The kit runs OWSLib under its own venv."""
    if (OWSLIB_VENV / "bin" / "python").exists():
        return
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(OWSLIB_VENV)], check=True)
    subprocess.run([str(OWSLIB_VENV / "bin" / "pip"), "install", "-q", "OWSLib"], check=True)


def attribute(conn: psycopg.Connection, c: Collection) -> tuple[str, str, int] | None:
    """The most common value of a categorical string property (category field first) and its count."""
    table = c.table.name
    candidates = [c.category_field] if c.category_field else []
    candidates += [f.name for f in c.fields if f.type == "string" and f.enum and f.name not in candidates]
    candidates += ["district_code"] if "district_code" in c.field_map else []
    for name in candidates:
        row = conn.execute(
            f'SELECT "{name}", count(*) FROM "{table}" WHERE retired_at IS NULL AND "{name}" IS NOT NULL '
            f'GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1').fetchone()
        if row and re.fullmatch(r"[\w\-\u4e00-\u9fff]+", str(row[0])):
            return name, str(row[0]), row[1]
    return None


def expectations(conn: psycopg.Connection, c: Collection) -> list[str]:
    """Kit arguments for one collection, every number computed by PostGIS."""
    table = c.table.name
    n = conn.execute(f'SELECT count(*) FROM "{table}" WHERE retired_at IS NULL').fetchone()[0]
    x0, y0, x1, y1 = conn.execute(
        f'SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(ST_Transform(geom, 4326)) e '
        f'FROM "{table}" WHERE retired_at IS NULL) s').fetchone()
    # A central box of ~10 % of the extent's area; exact ST_Intersects in CRS84, as clients expect.
    w, h = x1 - x0, y1 - y0
    box = [round(v, 4) for v in (x0 + 0.34 * w, y0 + 0.34 * h, x0 + 0.66 * w, y0 + 0.66 * h)]
    m = conn.execute(
        f'SELECT count(*) FROM "{table}" WHERE retired_at IS NULL AND '
        f'ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(%s, %s, %s, %s, 4326))', box).fetchone()[0]
    args = ["--layer", c.id, "--expect-count", str(n), "--bbox", ",".join(map(str, box)),
            "--expect-bbox-count", str(m), "--key-field", c.code_field or "id"]
    attr = attribute(conn, c)
    if attr:
        args += ["--attr-filter", f"{attr[0]}={attr[1]}", "--expect-attr-count", str(attr[2])]
    else:
        args += ["--attr-filter", ""]
    return args


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8027)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--only", help="kit groups (comma list); default all")
    p.add_argument("--collections", help="comma list; default every collection with a geometry")
    a = p.parse_args()
    if not KIT.exists():
        sys.exit(f"acceptance kit not found at {KIT}")
    if not shutil.which("ogr2ogr"):
        sys.exit("gdal-bin is missing (make acceptance-deps)")
    ensure_owslib()
    wanted = a.collections.split(",") if a.collections else [c.id for c in COLLECTIONS.values() if c.geometry_type]
    dsn = get_settings().dsn
    plans = {}
    with psycopg.connect(dsn) as conn:
        for cid in wanted:
            table = COLLECTIONS[cid].table.name
            # Rows without any geometry (organisations) give the clients no layer geometry to check.
            if conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}" WHERE geom IS NOT NULL AND retired_at IS NULL)').fetchone()[0]:
                plans[cid] = expectations(conn, COLLECTIONS[cid])
            else:
                print(f"skipped {cid}: no feature has a geometry")
    server = start_server(dsn, a.port, workers=a.workers)
    base = f"http://127.0.0.1:{a.port}"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OWSLIB_PYTHON": str(OWSLIB_VENV / "bin" / "python")}
    summary, failed, checks_passed, checks_failed = [], 0, 0, 0
    try:
        for cid, args in plans.items():
            cmd = ["/usr/bin/python3", str(KIT), "--wfs", f"{base}/wfs", "--oapif", base, *args]
            if a.only:
                cmd += ["--only", a.only]
            print(f"== {cid}: {' '.join(args)}", flush=True)
            t0 = time.time()
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith(("PASS", "FAIL"))]
            for ln in out.stdout.splitlines():
                if ln.startswith("FAIL") or ln.startswith("INFO") and "pushed" in ln:
                    print("  " + ln)
            bad = sum(ln.startswith("FAIL") for ln in lines) + (out.returncode != 0 and not lines)
            failed += 1 if bad or out.returncode else 0
            checks_passed, checks_failed = checks_passed + len(lines) - bad, checks_failed + bad
            summary.append(f"{cid:20s} {len(lines) - bad:3d} passed {bad:3d} failed  {time.time() - t0:6.1f}s")
            print("  " + summary[-1], flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("\n".join(["", "collection           result", *summary]))
    # The plain closing line CI reads: every client check over every collection.
    print(f"{checks_passed} passed, {checks_failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
