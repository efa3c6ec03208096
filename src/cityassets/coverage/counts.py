"""cityassets.coverage.counts: indicators that count assets (densities, shares, registry completeness).

Every query returns one row per district plus a city row (GROUPING = 1, `total`); retired records
(retired_at IS NOT NULL) are deleted records and never count.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from cityassets.catalogue import COLLECTIONS
from cityassets.coverage.radius import IN_USE

T = {k: c.table.name for k, c in COLLECTIONS.items()}


async def toilet_density(conn: asyncpg.Connection, p: dict[str, Any], district: str | None) -> list[asyncpg.Record]:
    """Toilets in use with a counted access kind, per km² of built-up area (district polygon when not recorded)."""
    return await conn.fetch(
        f"""
        WITH d AS (SELECT code, coalesce(built_up_km2, ST_Area(geom) / 1e6) AS km2 FROM {T['districts']}
                   WHERE retired_at IS NULL AND ($3::text IS NULL OR code = $3)),
             n AS (SELECT district_code, count(*) AS n FROM {T['toilets']} WHERE retired_at IS NULL
                   AND status = ANY($1::text[]) AND public_access = ANY($2::text[]) GROUP BY 1)
        SELECT d.code AS district_code, GROUPING(d.code) = 1 AS total, sum(coalesce(n.n, 0)) AS count,
               sum(d.km2) AS km2
        FROM d LEFT JOIN n ON n.district_code = d.code GROUP BY ROLLUP (d.code) ORDER BY total, d.code
        """,
        list(IN_USE), list(p["access"]), district)


async def toilet_density_grid(conn: asyncpg.Connection, p: dict[str, Any], district: str | None) -> list[asyncpg.Record]:
    """The same count per unit grid cell (单元网格), by position."""
    return await conn.fetch(
        f"""
        SELECT g.code AS grid_code, g.district_code, count(t.id) AS count, ST_Area(g.geom) / 1e6 AS km2
        FROM {T['grid_cells']} g LEFT JOIN {T['toilets']} t ON ST_Intersects(g.geom, t.geom) AND t.retired_at IS NULL
             AND t.status = ANY($1::text[]) AND t.public_access = ANY($2::text[])
        WHERE g.retired_at IS NULL AND ($3::text IS NULL OR g.district_code = $3)
        GROUP BY g.code, g.district_code, g.geom ORDER BY g.code
        """,
        list(IN_USE), list(p["access"]), district)


async def toilet_mix(conn: asyncpg.Connection, p: dict[str, Any], district: str | None) -> list[asyncpg.Record]:
    """Counts by class (CJJ 14), family rooms and 24 h opening."""
    return await conn.fetch(
        f"""
        SELECT district_code, GROUPING(district_code) = 1 AS total, count(*) AS n,
               count(*) FILTER (WHERE toilet_class = 'I') AS class_i,
               count(*) FILTER (WHERE toilet_class = 'II') AS class_ii,
               count(*) FILTER (WHERE toilet_class IN ('I', 'II', 'III')) AS class_iii_or_better,
               count(*) FILTER (WHERE family_room) AS family_room, count(*) FILTER (WHERE is_24h) AS open_24h
        FROM {T['toilets']} WHERE retired_at IS NULL AND status = ANY($1::text[]) AND public_access = ANY($2::text[])
             AND ($3::text IS NULL OR district_code = $3)
        GROUP BY ROLLUP (district_code) ORDER BY total, district_code
        """,
        list(IN_USE), list(p["access"]), district)


async def led_share(conn: asyncpg.Connection, p: dict[str, Any], district: str | None) -> list[asyncpg.Record]:
    """Luminaires in use, and how many are LED (devices, not poles: one pole may carry several)."""
    return await conn.fetch(
        f"""
        SELECT district_code, GROUPING(district_code) = 1 AS total, count(*) AS n,
               count(*) FILTER (WHERE light_method = 'LED') AS led
        FROM {T['pole_devices']} WHERE retired_at IS NULL AND device_type = 'luminaire' AND status = ANY($1::text[])
             AND ($2::text IS NULL OR district_code = $2)
        GROUP BY ROLLUP (district_code) ORDER BY total, district_code
        """,
        list(IN_USE), district)


async def light_on(conn: asyncpg.Connection, p: dict[str, Any], district: str | None) -> list[asyncpg.Record]:
    """Luminaires checked (is_on known) and those on, by the road class of their pole: main vs branch group."""
    return await conn.fetch(
        f"""
        SELECT d.district_code, GROUPING(d.district_code) = 1 AS total,
               count(*) FILTER (WHERE l.road_class IN ('expressway', 'main')) AS main_n,
               count(*) FILTER (WHERE l.road_class IN ('expressway', 'main') AND d.is_on) AS main_on,
               count(*) FILTER (WHERE l.road_class IS DISTINCT FROM 'main' AND l.road_class IS DISTINCT FROM 'expressway')
                 AS branch_n,
               count(*) FILTER (WHERE l.road_class IS DISTINCT FROM 'main' AND l.road_class IS DISTINCT FROM 'expressway'
                 AND d.is_on) AS branch_on
        FROM {T['pole_devices']} d LEFT JOIN {T['lamp_poles']} l ON l.asset_code = d.pole_code AND l.retired_at IS NULL
        WHERE d.retired_at IS NULL AND d.device_type = 'luminaire' AND d.status = ANY($1::text[]) AND d.is_on IS NOT NULL
              AND ($2::text IS NULL OR d.district_code = $2)
        GROUP BY ROLLUP (d.district_code) ORDER BY total, d.district_code
        """,
        list(IN_USE), district)


async def intact(conn: asyncpg.Connection, p: dict[str, Any], district: str | None) -> list[asyncpg.Record]:
    """Lighting facilities in use (poles and luminaires) and how many are intact."""
    return await conn.fetch(
        f"""
        WITH a AS (SELECT district_code, condition FROM {T['lamp_poles']} WHERE retired_at IS NULL AND status = ANY($1::text[])
                   UNION ALL
                   SELECT district_code, condition FROM {T['pole_devices']} WHERE retired_at IS NULL
                   AND device_type = 'luminaire' AND status = ANY($1::text[]))
        SELECT district_code, GROUPING(district_code) = 1 AS total, count(*) AS n,
               count(*) FILTER (WHERE condition = 'intact') AS intact
        FROM a WHERE ($2::text IS NULL OR district_code = $2)
        GROUP BY ROLLUP (district_code) ORDER BY total, district_code
        """,
        list(IN_USE), district)


MANHOLE_COLUMNS = """count(*) AS n,
       count(*) FILTER (WHERE ownership_confirmed) AS confirmed,
       count(*) FILTER (WHERE owner_mark) AS marked,
       count(*) FILTER (WHERE asset_code ~ '^[0-9]{16}$' AND left(asset_code, 6) = district_code) AS valid_code,
       count(*) FILTER (WHERE utility_type = 'ownerless' OR owner IS NULL) AS ownerless,
       count(*) FILTER (WHERE condition IN ('damaged', 'missing', 'sunken')) AS defective"""


async def manholes(conn: asyncpg.Connection, p: dict[str, Any], district: str | None, by: str) -> list[asyncpg.Record]:
    """Registry completeness of manholes in use, grouped by district (`by`='district_code') or owner."""
    col = {"district_code": "district_code", "owner": "owner"}[by]
    return await conn.fetch(
        f"""
        SELECT {col} AS key, GROUPING({col}) = 1 AS total, {MANHOLE_COLUMNS}
        FROM {T['manholes']} WHERE retired_at IS NULL AND status = ANY($1::text[])
             AND ($2::text IS NULL OR district_code = $2)
        GROUP BY ROLLUP ({col}) ORDER BY total, {col}
        """,
        list(IN_USE), district)


async def trees(conn: asyncpg.Connection, p: dict[str, Any], district: str | None) -> list[asyncpg.Record]:
    """Tree registry: chips, grates, dead or vacant pits, and live trees per km of road."""
    return await conn.fetch(
        f"""
        WITH t AS (SELECT district_code, count(*) AS n,
                     count(*) FILTER (WHERE tree_status = 'alive') AS alive,
                     count(*) FILTER (WHERE tree_status = 'alive' AND chip_uid IS NOT NULL
                                      AND chip_status IS DISTINCT FROM 'lost') AS chipped,
                     count(*) FILTER (WHERE pit_surface = 'grate') AS grate,
                     count(*) FILTER (WHERE tree_status IN ('dead_standing', 'stump', 'vacant_site')) AS dead_or_vacant
                   FROM {T['trees']} WHERE retired_at IS NULL AND ($1::text IS NULL OR district_code = $1) GROUP BY 1),
             r AS (SELECT district_code, sum(ST_Length(geom)) / 1000 AS road_km FROM {T['roads']}
                   WHERE retired_at IS NULL AND ($1::text IS NULL OR district_code = $1) GROUP BY 1)
        SELECT t.district_code, GROUPING(t.district_code) = 1 AS total, sum(t.n) AS n, sum(t.alive) AS alive,
               sum(t.chipped) AS chipped, sum(t.grate) AS grate, sum(t.dead_or_vacant) AS dead_or_vacant,
               sum(r.road_km) AS road_km
        FROM t LEFT JOIN r USING (district_code) GROUP BY ROLLUP (t.district_code) ORDER BY total, t.district_code
        """,
        district)


async def park_per_capita(conn: asyncpg.Connection, p: dict[str, Any], district: str | None) -> list[asyncpg.Record]:
    """Public park area (G1 classes) and population; population from districts, else from residential land."""
    return await conn.fetch(
        f"""
        WITH g AS (SELECT district_code, sum(area_m2) AS park_m2 FROM {T['green_spaces']}
                   WHERE retired_at IS NULL AND is_public AND green_class = ANY($1::text[]) GROUP BY 1),
             r AS (SELECT district_code, sum(population) AS pop FROM {T['residential_areas']}
                   WHERE retired_at IS NULL GROUP BY 1),
             d AS (SELECT code FROM {T['districts']} WHERE retired_at IS NULL
                   UNION SELECT district_code FROM g UNION SELECT district_code FROM r)
        SELECT d.code AS district_code, GROUPING(d.code) = 1 AS total, sum(coalesce(g.park_m2, 0)) AS park_m2,
               sum(coalesce(x.population, r.pop, 0))::float8 AS pop
        FROM d LEFT JOIN g ON g.district_code = d.code LEFT JOIN r ON r.district_code = d.code
             LEFT JOIN {T['districts']} x ON x.code = d.code AND x.retired_at IS NULL
        WHERE d.code IS NOT NULL AND ($2::text IS NULL OR d.code = $2)
        GROUP BY ROLLUP (d.code) ORDER BY total, d.code
        """,
        list(p["green_classes"]), district)
