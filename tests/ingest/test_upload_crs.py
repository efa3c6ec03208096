"""Every CRS path: CRS84, CGCS2000, Gauss-Krüger with and without zone prefix, GCJ-02, BD-09, URNs."""

from __future__ import annotations

import pytest

from cityassets.crs import wgs84_to_bd09, wgs84_to_gcj02
from tests.ingest.helpers import code, fc, manhole, upload

# domain-model §2.8: (113.6654 E, 34.7579 N) -> EPSG:4547 E 469 365.224, N 3 847 785.722 (cs2cs, CGCS2000).
LON, LAT = 113.6654, 34.7579
EAST, NORTH = 469365.224, 3847785.722


async def _error_m(db, asset_code: str, lon: float, lat: float) -> float:
    """Distance in metres between the stored point and a known CRS84 position."""
    return await db.fetchval(
        "SELECT ST_Distance(geom, ST_Transform(ST_SetSRID(ST_MakePoint($2, $3), 4326), ST_SRID(geom))) "
        "FROM manholes WHERE asset_code = $1",
        asset_code,
        lon,
        lat,
    )


@pytest.mark.parametrize(
    "crs, x, y",
    [
        ("EPSG:4547", EAST, NORTH),
        ("EPSG:4526", 38_000_000 + EAST, NORTH),  # zone 38 prefix in the false easting
        ("urn:ogc:def:crs:EPSG::4547", EAST, NORTH),
        ("EPSG:4490", LON, LAT),  # CGCS2000 geographic, x = longitude (RFC 7946 order)
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", LON, LAT),
    ],
)
async def test_projected_and_geographic(client, db, tokens, crs, x, y):
    c = code(district="410102")
    r = await upload(client, fc([manhole(x, y, c)]), tokens["surveyor"], crs=crs)
    assert r.status_code == 200, r.text
    assert await _error_m(db, c, LON, LAT) < 0.05
    row = await db.fetchrow("SELECT source_crs, source_geometry FROM manholes WHERE asset_code = $1", c)
    assert row["source_crs"].startswith(("EPSG:", "CRS84")) and row["source_geometry"] is None


@pytest.mark.parametrize("crs, forward", [("GCJ02", wgs84_to_gcj02), ("BD09", wgs84_to_bd09)])
async def test_offset_crs_round_trip(client, db, tokens, crs, forward):
    glon, glat = (float(v) for v in forward(LON, LAT))
    c = code(district="410102")
    r = await upload(client, fc([manhole(glon, glat, c)]), tokens["surveyor"], crs=crs)
    assert r.status_code == 200, r.text
    # The exact inverse lands within millimetres; the one-step inverse would be ~1.5 m off.
    assert await _error_m(db, c, LON, LAT) < 0.5
    row = await db.fetchrow("SELECT source_crs, source_geometry FROM manholes WHERE asset_code = $1", c)
    assert row["source_crs"] == crs
    assert row["source_geometry"]["coordinates"] == [glon, glat]


async def test_projected_without_zone_prefix_hint(client, tokens):
    r = await upload(client, fc([manhole(38_000_000 + EAST, NORTH)]), tokens["surveyor"], crs="EPSG:4547")
    assert r.status_code == 422
    assert "zone prefix" in r.json()["issues"][0]["message"]


async def test_swapped_gauss_kruger(client, tokens):
    r = await upload(client, fc([manhole(NORTH, EAST)]), tokens["surveyor"], crs="EPSG:4547")
    assert r.status_code == 422
    assert "latitude and longitude look swapped" in r.json()["issues"][0]["message"]


async def test_unknown_crs(client, tokens):
    r = await upload(client, fc([manhole(LON, LAT)]), tokens["surveyor"], crs="EPSG:999999")
    assert r.status_code == 400


@pytest.mark.parametrize(
    "src, dst", [("CRS84", "EPSG:4547"), ("EPSG:4547", "CRS84"), ("CRS84", "EPSG:4526"), ("EPSG:4490", "EPSG:4547")]
)
def test_cached_transformer_in_a_new_thread_matches_pyproj(src, dst):
    """The cached transformer is rebuilt from its PROJ string in each worker thread: same numbers as pyproj's
    own CRS-to-CRS transformer."""
    import threading

    from pyproj import CRS, Transformer

    from cityassets.crs import transformer

    def pyproj_crs(name: str) -> CRS:
        return CRS.from_user_input("OGC:CRS84" if name == "CRS84" else name)

    ref = Transformer.from_crs(pyproj_crs(src), pyproj_crs(dst), always_xy=True)
    x, y = (LON, LAT) if src in ("CRS84", "EPSG:4490") else (EAST, NORTH)
    got: list[tuple[float, float]] = []
    thread = threading.Thread(target=lambda: got.append(transformer(src, dst).transform(x, y)))
    thread.start()
    thread.join()
    want = ref.transform(x, y)
    assert got and abs(got[0][0] - want[0]) < 1e-6 and abs(got[0][1] - want[1]) < 1e-6
    if dst == "EPSG:4547" and src == "CRS84":
        assert abs(got[0][0] - EAST) < 0.05 and abs(got[0][1] - NORTH) < 0.05


def test_threads_missing_the_cache_at_once_build_one_transformer(monkeypatch):
    """An upload's first batches ask from several worker threads at once: one proj.db search, not one each."""
    import threading

    from pyproj import Transformer

    from cityassets import crs

    crs._transformer.cache_clear()
    built = []
    real = Transformer.from_crs

    def counting(*args, **kwargs):
        built.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(Transformer, "from_crs", counting)
    start = threading.Barrier(6)
    got = []

    def ask() -> None:
        start.wait()
        got.append(crs.transformer("CRS84", "EPSG:4547"))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len({id(t) for t in got}) == 1
