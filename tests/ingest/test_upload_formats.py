"""CSV, GeoPackage and zipped Shapefile bodies; the file's own CRS wins over ?crs=."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import shapely

from tests.ingest.helpers import code, upload

NORTH, EAST = 3847785.722, 469365.224  # 113.6654 E, 34.7579 N in EPSG:4547


async def test_csv_lonlat(client, db, tokens):
    c1, c2 = code(), code()
    sheet = (
        "\ufeffasset_code,lon,lat,utility_type,owner,depth_m,anti_fall_device,remarks\r\n"
        f'{c1},113.7710,34.7810,water_supply,WATER,1.5,yes,"two\nlines"\r\n'
        f"{c2},113.7711,34.7810,water_supply,WATER,deep,no,\r\n"
    ).encode()
    r = await upload(client, sheet, tokens["surveyor"], content_type="text/csv", mode="partial")
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["inserted"] == 1
    assert [(i["index"], i["field"], i["rule"]) for i in r.json()["issues"]] == [(1, "depth_m", "type")]
    row = await db.fetchrow(
        "SELECT depth_m, anti_fall_device, remarks FROM manholes WHERE asset_code = $1", c1
    )
    assert (row["depth_m"], row["anti_fall_device"], row["remarks"]) == (1.5, True, "two\nlines")


async def test_csv_wkt_and_xy_in_gauss_kruger(client, db, tokens):
    c1, c2 = code(district="410102"), code(district="410102")
    sheet = (f"asset_code,x,y,utility_type\n{c1},{EAST},{NORTH},water_supply\n").encode()
    r = await upload(client, sheet, tokens["surveyor"], content_type="text/csv", crs="EPSG:4547")
    assert r.status_code == 200, r.text
    sheet = (f'asset_code,wkt,utility_type\n{c2},"POINT ({EAST + 5} {NORTH})",water_supply\n').encode()
    r = await upload(client, sheet, tokens["surveyor"], content_type="text/csv", crs="EPSG:4547")
    assert r.status_code == 200, r.text
    d = await db.fetchval(
        "SELECT ST_Distance(a.geom, b.geom) FROM manholes a, manholes b WHERE a.asset_code = $1 "
        "AND b.asset_code = $2",
        c1,
        c2,
    )
    assert abs(d - 5) < 1e-6


def _trees(path: Path, driver: str, epsg: int, codes: list[str], dx: float = 0.0) -> None:
    xs, ys = np.array([EAST, EAST + 10]) + dx, np.array([NORTH, NORTH])
    geoms = shapely.to_wkb(shapely.points(xs, ys))
    pyogrio.raw.write(
        path,
        geoms,
        [np.array(codes, dtype=object), np.array([30.5, np.nan]), np.array(["国槐", "悬铃木"], dtype=object)],
        fields=["asset_code", "dbh_cm", "species_zh"],
        geometry_type="Point",
        crs=f"EPSG:{epsg}",
        driver=driver,
        encoding="UTF-8" if driver == "ESRI Shapefile" else None,
    )


async def test_geopackage_srs_wins(client, db, tokens, tmp_path):
    codes = [code(district="410102", cls="0402") for _ in range(2)]
    _trees(tmp_path / "t.gpkg", "GPKG", 4547, codes)
    # The declared crs is wrong on purpose: the GeoPackage SRS (EPSG:4547) must win.
    r = await upload(
        client,
        (tmp_path / "t.gpkg").read_bytes(),
        tokens["surveyor"],
        collection="trees",
        content_type="application/geopackage+sqlite3",
        crs="EPSG:4326",
    )
    assert r.status_code == 200, r.text
    assert r.json()["crs"] == "EPSG:4547" and r.json()["counts"]["inserted"] == 2
    row = await db.fetchrow(
        "SELECT dbh_cm, species_zh, ST_X(geom) AS x FROM trees WHERE asset_code = $1", codes[1]
    )
    assert row["dbh_cm"] is None and row["species_zh"] == "悬铃木" and abs(row["x"] - EAST - 10) < 1e-6


async def test_zipped_shapefile_prj(client, db, tokens, tmp_path):
    codes = [code(district="410102", cls="0402") for _ in range(2)]
    _trees(
        tmp_path / "t.shp", "ESRI Shapefile", 4526, codes, dx=38_000_000
    )  # zone 38 prefix, told by the .prj
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"t.{ext}").exists():
                z.write(tmp_path / f"t.{ext}", f"survey/t.{ext}")
    r = await upload(
        client,
        buf.getvalue(),
        tokens["surveyor"],
        collection="trees",
        content_type="application/zip",
        crs="CRS84",
    )
    assert r.status_code == 200, r.text
    assert r.json()["crs"] == "EPSG:4526" and r.json()["counts"]["inserted"] == 2
    x = await db.fetchval("SELECT ST_X(geom) FROM trees WHERE asset_code = $1", codes[0])
    assert abs(x - EAST) < 1e-3


async def test_shapefile_cut_field_names(client, db, tokens, tmp_path):
    c = code(district="410102")
    geoms = shapely.to_wkb(shapely.points(np.array([EAST]), np.array([NORTH])))
    # dBase keeps 10 characters: utility_type -> utility_ty, cover_material -> cover_mate.
    pyogrio.raw.write(
        tmp_path / "m.shp",
        geoms,
        [
            np.array([c], dtype=object),
            np.array(["sewage"], dtype=object),
            np.array(["concrete"], dtype=object),
        ],
        fields=["asset_code", "utility_type", "cover_material"],
        geometry_type="Point",
        crs="EPSG:4547",
        driver="ESRI Shapefile",
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj"):
            z.write(tmp_path / f"m.{ext}", f"m.{ext}")
    r = await upload(client, buf.getvalue(), tokens["surveyor"], content_type="application/zip")
    assert r.status_code == 200, r.text
    row = await db.fetchrow("SELECT utility_type, cover_material FROM manholes WHERE asset_code = $1", c)
    assert (row["utility_type"], row["cover_material"]) == ("sewage", "concrete")


async def test_zip_bomb_and_garbage(client, tokens, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_decompressed_bytes", 1 << 20)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.shp", b"\0" * (8 << 20))
    r = await upload(
        client, buf.getvalue(), tokens["surveyor"], collection="trees", content_type="application/zip"
    )
    assert r.status_code == 413
    r = await upload(
        client, b"PK not a zip", tokens["surveyor"], collection="trees", content_type="application/zip"
    )
    assert r.status_code == 400
