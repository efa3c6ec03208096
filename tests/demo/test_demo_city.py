"""The demo city: generated deterministically, loaded into its own fresh database, with its gaps."""

from __future__ import annotations

import json
import os
import time
import uuid

import asyncpg
import numpy as np
import pytest
import shapely

from cityassets.catalogue import COLLECTIONS
from cityassets.demo.districts import DISTRICTS, raw_boundary, to_storage
from cityassets.demo.generate import ASSETS, ORDER, generate
from cityassets.demo.layout import PARK_DESERTS, STEP, TOILET_DESERTS, Frame
from cityassets.demo.load import load
from cityassets.repository.derive import district_of, grid_cell_of

#: Lower bounds the generator guarantees (README examples rely on these sizes).
MIN_COUNTS = {"organisations": 15, "districts": 12, "grid_cells": 400, "green_spaces": 300, "residential_areas": 2000,
              "roads": 2000, "facilities": 2000, "manholes": 4500, "trees": 4000, "lamp_poles": 3500,
              "pole_devices": 4000, "toilets": 2000, "street_furniture": 4000}
DISTRICT_TABLES = ("grid_cells", "green_spaces", "residential_areas", "roads", "facilities", *ASSETS)


@pytest.fixture(scope="module")
async def demo_db(settings):
    """A fresh database of its own with the demo city loaded (other tests put toy districts in theirs)."""
    from cityassets.db import admin

    dsn = settings.dsn.rsplit("/", 1)[0] + f"/cityassets_demo_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.upgrade(dsn)
    report = await load(dsn, settings.storage_srid)
    conn = await asyncpg.connect(dsn)
    yield dsn, conn, report
    await conn.close()
    admin.drop_database(dsn)


@pytest.fixture(scope="module")
def city(settings):
    """The generated city (cached by the generator)."""
    return generate(settings.storage_srid)


async def test_counts_per_collection(demo_db, city):
    _, conn, report = demo_db
    assert report.loaded
    for cid in ORDER:
        n = await conn.fetchval(f"SELECT count(*) FROM {COLLECTIONS[cid].table.name}")
        assert n == len(city.layers[cid]) == report.counts[cid]
        assert n >= MIN_COUNTS[cid], cid
    assert report.seconds < 60
    # Every history row of the load names the loader.
    assert await conn.fetchval("SELECT count(*) FROM history WHERE actor IS DISTINCT FROM 'demo-loader'") == 0


async def test_twelve_real_districts(demo_db):
    _, conn, _ = demo_db
    rows = await conn.fetch("SELECT code, name_zh, central_city, ST_IsValid(geom) AS ok, ST_Area(geom) / 1e6 AS km2 "
                            "FROM districts ORDER BY code")
    assert [r["code"] for r in rows] == sorted(DISTRICTS)
    assert {r["code"] for r in rows if r["central_city"]} == {"410102", "410103", "410104", "410105", "410108"}
    assert all(r["ok"] and r["name_zh"] == DISTRICTS[r["code"]][0] for r in rows)
    # The 12 districts cover Zhengzhou's ~7 450 km2.
    assert 7_000 < sum(r["km2"] for r in rows) < 8_000


async def test_gcj02_boundaries_moved_by_the_offset(demo_db, settings):
    _, conn, _ = demo_db
    srid = settings.storage_srid
    for code in DISTRICTS:
        stored = shapely.from_wkb(await conn.fetchval("SELECT ST_AsBinary(geom) FROM districts WHERE code = $1", code))
        raw = to_storage(raw_boundary(code), srid)  # Amap coordinates taken as if they were WGS84
        a, b = shapely.get_coordinates(raw), shapely.get_coordinates(stored)
        assert a.shape == b.shape
        shift = np.hypot(*(a - b).T)
        assert 450 < shift.min() and shift.max() < 650, (code, shift.min(), shift.max())


async def test_district_and_grid_codes_match_positions(demo_db):
    _, conn, _ = demo_db
    for cid in DISTRICT_TABLES:
        table = COLLECTIONS[cid].table.name
        wrong = await conn.fetchval(
            f"SELECT count(*) FROM {table} t WHERE t.district_code IS DISTINCT FROM {district_of('t.geom')}")
        assert wrong == 0, table
    for cid in ASSETS:
        table = COLLECTIONS[cid].table.name
        bad = await conn.fetchval(
            f"SELECT count(*) FROM {table} t WHERE left(t.asset_code, 6) <> t.district_code "
            f"OR t.grid_code IS DISTINCT FROM {grid_cell_of('t.geom')}")
        assert bad == 0, table
    assert await conn.fetchval("SELECT count(*) FROM grid_cells WHERE left(code, 6) <> district_code OR length(code) <> 15") == 0


async def test_owners_match_utilities_and_devices_sit_on_poles(demo_db):
    _, conn, _ = demo_db
    owners = {r["utility_type"]: set(r["owners"] or ()) for r in await conn.fetch(
        "SELECT utility_type, array_agg(DISTINCT owner) FILTER (WHERE owner IS NOT NULL) AS owners "
        "FROM manholes GROUP BY 1")}
    assert owners["water_supply"] == {"WATER"} and owners["gas"] == {"GAS"} and owners["telecom"] <= {"CMCC", "CUCC", "CTCC"}
    assert owners["ownerless"] == set()
    flags = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE NOT ownership_confirmed) AS unconfirmed, count(*) FILTER (WHERE NOT owner_mark) AS "
        "unmarked, count(*) FILTER (WHERE condition IN ('damaged', 'missing', 'sunken')) AS defects, "
        "count(*) FILTER (WHERE provincial_cover_no ~ '^[0-9]{19}$') AS provincial FROM manholes")
    assert all(v > 50 for v in flags.values()), dict(flags)
    led = await conn.fetchval("SELECT avg((light_method = 'LED')::int) FROM pole_devices WHERE device_type = 'luminaire'")
    assert 0.65 <= led <= 0.75
    assert await conn.fetchval(
        "SELECT count(*) FROM pole_devices d JOIN lamp_poles p ON p.asset_code = d.pole_code "
        "WHERE NOT ST_Equals(d.geom, p.geom)") == 0
    assert await conn.fetchval("SELECT count(DISTINCT owner) FROM pole_devices WHERE device_type = 'small_cell_5g'") == 3


async def test_deliberate_park_gap(demo_db, settings):
    """Residents in the middle of each park desert are > 500 m from any park of >= 5000 m2."""
    _, conn, _ = demo_db
    far = await conn.fetch(
        "SELECT ST_X(ST_Transform(ST_Centroid(r.geom), 4326)) AS lon, ST_Y(ST_Transform(ST_Centroid(r.geom), 4326)) AS lat "
        "FROM residential_areas r WHERE NOT EXISTS (SELECT 1 FROM green_spaces g WHERE g.area_m2 >= 5000 "
        "AND g.green_class IN ('G11', 'G12', 'G13', 'G14') AND ST_DWithin(g.geom, r.geom, 500))")
    assert len(far) >= 100
    frame = Frame(settings.storage_srid, generate(settings.storage_srid).layers["districts"])
    for i0, i1, j0, j1 in PARK_DESERTS:
        cx, cy = frame.x0 + (i0 + i1) / 2 * STEP, frame.y0 + (j0 + j1) / 2 * STEP
        inside = await conn.fetchval(
            "SELECT count(*) FROM residential_areas r WHERE ST_DWithin(r.geom, ST_SetSRID(ST_MakePoint($1, $2), $3), 300) "
            "AND NOT EXISTS (SELECT 1 FROM green_spaces g WHERE g.area_m2 >= 5000 AND ST_DWithin(g.geom, r.geom, 500))",
            cx, cy, settings.storage_srid)
        assert inside > 0


async def test_deliberate_toilet_gaps(demo_db, settings):
    """No toilet in the toilet deserts; Huiji < 6 public toilets per built-up km2, the core more; empty grid cells."""
    _, conn, _ = demo_db
    frame = Frame(settings.storage_srid, generate(settings.storage_srid).layers["districts"])
    for i0, i1, j0, j1 in TOILET_DESERTS:
        env = (frame.x0 + i0 * STEP, frame.y0 + j0 * STEP, frame.x0 + i1 * STEP, frame.y0 + j1 * STEP)
        assert await conn.fetchval("SELECT count(*) FROM toilets WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, $5)",
                                   *env, settings.storage_srid) == 0
    density = {r["code"]: r["d"] for r in await conn.fetch(
        "SELECT d.code, count(t.id) / d.built_up_km2 AS d FROM districts d JOIN toilets t ON t.district_code = d.code "
        "AND t.public_access IN ('municipal', 'social_unit_open') WHERE d.built_up_km2 > 0 GROUP BY d.code, d.built_up_km2")}
    assert density["410108"] < 6 and all(density[c] >= 6 for c in ("410102", "410103", "410104", "410105"))
    empty = await conn.fetchval("SELECT count(*) FROM grid_cells g WHERE NOT EXISTS "
                                "(SELECT 1 FROM toilets t WHERE t.grid_code = g.code)")
    assert empty >= 20
    closed = await conn.fetchval("SELECT count(*) FROM toilets WHERE status = 'temporarily_closed' AND closure_reason IS NOT NULL")
    assert closed > 20


def test_same_seed_same_city(city, settings):
    again = generate.__wrapped__(settings.storage_srid, city.seed)
    for cid in ORDER:
        a, b = city.layers[cid][:5], again.layers[cid][:5]
        assert [{k: v for k, v in r.items() if k != "geom"} for r in a] == [{k: v for k, v in r.items() if k != "geom"} for r in b]
        assert all(shapely.equals_exact(r["geom"], s["geom"], 0) for r, s in zip(a, b) if r.get("geom") is not None)
    assert again.counts() == city.counts()


async def test_second_load_is_a_no_op(demo_db, settings):
    dsn, conn, _ = demo_db
    before = await conn.fetchval("SELECT sum(data_version) FROM collection_stats")
    start = time.monotonic()
    report = await load(dsn, settings.storage_srid)
    assert not report.loaded and time.monotonic() - start < 2
    assert await conn.fetchval("SELECT sum(data_version) FROM collection_stats") == before


def test_cli_reports_already_loaded(demo_db, settings, monkeypatch):
    from typer.testing import CliRunner

    from cityassets.cli import app

    # Patch the command's settings only: other tests rely on the cached settings object staying the same.
    monkeypatch.setattr("cityassets.demo.cli.get_settings", lambda: settings.model_copy(update={"database_url": demo_db[0]}))
    result = CliRunner().invoke(app, ["demo", "load"])
    assert result.exit_code == 0 and "demo city already loaded" in result.output


async def test_force_reloads_with_fresh_codes(demo_db, settings):
    dsn, conn, _ = demo_db
    first = await conn.fetchval("SELECT min(asset_code) FROM manholes")
    report = await load(dsn, settings.storage_srid, force=True)
    assert report.loaded
    assert await conn.fetchval("SELECT count(*) FROM manholes") == report.counts["manholes"]
    # Codes are never reused: the reloaded city continues the serials.
    assert await conn.fetchval("SELECT count(*) FROM manholes WHERE asset_code = $1", first) == 0
    assert await conn.fetchval("SELECT count(*) FROM pole_devices d LEFT JOIN lamp_poles p ON p.asset_code = d.pole_code "
                               "WHERE p.id IS NULL") == 0


def test_export_geojson(city, tmp_path):
    from cityassets.demo.export import frame

    gdf = frame(city, "toilets")
    assert len(gdf) == len(city.layers["toilets"])
    lon, lat = gdf.geometry.x, gdf.geometry.y
    assert lon.between(112.6, 114.4).all() and lat.between(34.1, 35.1).all()
    path = tmp_path / "toilets.geojson"
    gdf.head(3).to_file(path, driver="GeoJSON")
    props = json.loads(path.read_text())["features"][0]["properties"]
    assert len(props["asset_code"]) == 16 and isinstance(props["stalls_male"], int)
