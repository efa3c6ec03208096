"""Hand-made test town for the indicator engine, far from the shared fixture districts (113.0 E, 34.3 N)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

#: Local origin of the test town in CRS84; geometries below are in metres east/north of it.
ORIGIN = (113.0, 34.3)


@dataclass
class Town:
    """Inserted geometry in local metres, kept for independent shapely checks."""

    srid: int
    x0: float
    y0: float
    parcels: dict[int, tuple[str, BaseGeometry, int]] = field(default_factory=dict)  # id -> (district, geom, pop)
    greens: dict[int, tuple[str, BaseGeometry, bool]] = field(default_factory=dict)  # id -> (class, geom, historic)


async def origin(db, srid: int) -> tuple[float, float]:
    """The storage coordinates of ORIGIN."""
    r = await db.fetchrow("SELECT ST_X(g) x, ST_Y(g) y FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), $3::int) g",
                          *ORIGIN, srid)
    return r["x"], r["y"]


def local(town: Town, geom: BaseGeometry) -> str:
    """WKT shifted from local metres to storage coordinates."""
    from shapely import affinity

    return affinity.translate(geom, town.x0, town.y0).wkt


async def add_district(db, town: Town, code: str, geom: BaseGeometry, **kw) -> None:
    """A district polygon (local metres)."""
    await db.execute(
        "INSERT INTO districts (code, name_zh, geom, built_up_km2, population) "
        "VALUES ($1::text, $1::text, ST_Multi(ST_GeomFromText($2, $3::int)), $4, $5) ON CONFLICT (code) DO NOTHING",
        code, local(town, geom), town.srid, kw.get("built_up_km2"), kw.get("population"))


async def add_parcel(db, town: Town, district: str, geom: BaseGeometry, pop: int) -> int:
    """A residential parcel with population."""
    pid = await db.fetchval(
        "INSERT INTO residential_areas (population, district_code, geom) VALUES ($1, $2, ST_Multi(ST_GeomFromText($3, $4::int))) "
        "RETURNING id", pop, district, local(town, geom), town.srid)
    town.parcels[pid] = (district, geom, pop)
    return pid


async def add_green(db, town: Town, district: str, geom: BaseGeometry, cls: str = "G12", historic: bool = False) -> int:
    """A public green space."""
    gid = await db.fetchval(
        "INSERT INTO green_spaces (green_class, historic_district, district_code, geom) "
        "VALUES ($1, $2, $3, ST_Multi(ST_GeomFromText($4, $5::int))) RETURNING id",
        cls, historic, district, local(town, geom), town.srid)
    town.greens[gid] = (cls, geom, historic)
    return gid


async def move_green(db, town: Town, gid: int, geom: BaseGeometry) -> None:
    """Replace a green space's geometry (an edit, as an upload would do)."""
    await db.execute("UPDATE green_spaces SET geom = ST_Multi(ST_GeomFromText($2, $3::int)), version = version + 1 WHERE id = $1",
                     gid, local(town, geom), town.srid)
    cls, _, historic = town.greens[gid]
    town.greens[gid] = (cls, geom, historic)


async def add_asset(db, town: Town, table: str, district: str, minor: str, x: float, y: float, **fields) -> str:
    """An asset point with a freshly allocated 16-digit code; returns the code."""
    code = await db.fetchval("SELECT cityassets_next_codes($1, 1)", district + minor)
    cols = ["asset_code", "district_code", "geom", *fields]
    vals = ", ".join(f"${i}" for i in range(4, 4 + len(fields)))
    await db.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ($1, $2, ST_GeomFromText($3, {town.srid}){', ' if fields else ''}{vals})",
        code, district, local(town, Point(x, y)), *fields.values())
    return code
