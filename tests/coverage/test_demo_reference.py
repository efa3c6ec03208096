"""Radius indicators on the demo city, per district, against an independent GeoPandas/shapely overlay."""

from __future__ import annotations

import os
import uuid

import asyncpg
import numpy as np
import pandas as pd
import pytest
import shapely

from cityassets.coverage import engine

PARKS = ("G11", "G12", "G13", "G14")


@pytest.fixture(scope="module")
async def demo(settings):
    """The demo city in a database of its own (the session database holds toy towns)."""
    from cityassets.db import admin
    from cityassets.demo.load import load

    dsn = settings.dsn.rsplit("/", 1)[0] + f"/cityassets_cov_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.upgrade(dsn)
    await load(dsn, settings.storage_srid)
    conn = await asyncpg.connect(dsn)
    yield conn
    await conn.close()
    admin.drop_database(dsn)


async def frame(conn, sql: str) -> pd.DataFrame:
    rows = await conn.fetch(sql)
    df = pd.DataFrame([dict(r) for r in rows])
    df["geometry"] = shapely.from_wkb(df.pop("wkb").to_list())
    return df


def reference(parcels: pd.DataFrame, geoms: np.ndarray, radii: np.ndarray) -> pd.DataFrame:
    """Area and population shares per district inside the union of buffers (quad_segs 64), parcel by parcel."""
    bufs = shapely.buffer(geoms, radii, quad_segs=64)
    polys = parcels["geometry"].to_numpy()
    pi, bi = shapely.STRtree(bufs).query(polys, predicate="intersects")
    covered = np.zeros(len(polys))
    for i in np.unique(pi):
        covered[i] = shapely.intersection(polys[i], shapely.union_all(bufs[bi[pi == i]])).area
    frac = covered / shapely.area(polys)
    p = parcels.assign(area=shapely.area(parcels["geometry"]), cov=lambda d: d["area"] * frac,
                       cpop=parcels["population"] * frac)
    g = p.groupby("district_code")[["area", "cov", "population", "cpop"]].sum()
    return pd.DataFrame({"area_share": 100 * g["cov"] / g["area"], "population_share": 100 * g["cpop"] / g["population"]})


async def test_demo_city_matches_geopandas_per_district(demo):
    parcels = await frame(demo, "SELECT district_code, population, ST_AsBinary(geom) AS wkb FROM residential_areas "
                                "WHERE retired_at IS NULL")
    greens = await frame(demo, "SELECT green_class, is_public, historic_district, ST_AsBinary(geom) AS wkb "
                               "FROM green_spaces WHERE retired_at IS NULL")
    kinder = await frame(demo, "SELECT ST_AsBinary(geom) AS wkb FROM facilities WHERE retired_at IS NULL "
                               "AND category = 'kindergarten'")
    toilets = await frame(demo, "SELECT ST_AsBinary(geom) AS wkb FROM toilets WHERE retired_at IS NULL "
                                "AND status IN ('in_service', 'in_service_provisional') "
                                "AND public_access IN ('municipal', 'social_unit_open')")
    area = shapely.area(greens["geometry"])
    public = greens["is_public"].fillna(True).to_numpy()
    park = public & greens["green_class"].isin(PARKS).to_numpy()
    green = public & greens["green_class"].isin((*PARKS, "G3")).to_numpy() & (area >= 400)
    # GB/T 51346-2019 §4.3.4 tiers, written independently of the engine.
    tier = np.where(area >= 5000, 500.0, np.where((area >= 2000) | (greens["historic_district"].to_numpy() & (area >= 1000)),
                                                    300.0, 0.0))
    cases = {
        "green_300m": (greens["geometry"].to_numpy()[green], 300.0),
        "park_500m": (greens["geometry"].to_numpy()[park & (area >= 5000)], 500.0),
        "park_service_radius": (greens["geometry"].to_numpy()[park & (tier > 0)], tier[park & (tier > 0)]),
        "kindergarten_300m": (kinder["geometry"].to_numpy(), 300.0),
        "toilet_residential_300m": (toilets["geometry"].to_numpy(), 300.0),
    }
    for ind, (geoms, radii) in cases.items():
        assert len(geoms), ind
        ref = reference(parcels, geoms, np.broadcast_to(radii, len(geoms)))
        got = {d["district_code"]: d for d in (await engine.compute(demo, ind))["by_district"]}
        assert set(got) == set(ref.index), ind
        for code, row in ref.iterrows():
            assert got[code]["area_share"] == pytest.approx(row["area_share"], abs=0.1), (ind, code)
            assert got[code]["population_share"] == pytest.approx(row["population_share"], abs=0.1), (ind, code)
