"""Load the demo city with binary COPY, one transaction, asset codes from `cityassets_next_codes`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import asyncpg
import numpy as np
import shapely

from cityassets.catalogue import COLLECTIONS
from cityassets.demo.generate import ACTOR, ASSETS, ORDER, SEED, DemoCity, generate

#: Server-owned columns the loader leaves to their defaults (computed ones are skipped by the table itself).
SERVER_OWNED = {"id", "version", "created_at", "updated_at", "retired_at", "upload_id"}


@dataclass
class LoadReport:
    """What a load did."""

    loaded: bool
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


async def is_loaded(conn: asyncpg.Connection) -> bool:
    """True when the demo districts are already in the database."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM districts WHERE created_by = $1)", ACTOR))


async def load(dsn: str, srid: int, *, force: bool = False, seed: int = SEED) -> LoadReport:
    """Load the demo city unless it is there already; `force` clears every collection first."""
    start = time.monotonic()
    conn = await asyncpg.connect(dsn, server_settings={"jit": "off"})
    try:
        if not force and await is_loaded(conn):
            return LoadReport(False, seconds=time.monotonic() - start)
        # Geometry travels as EWKB through the type's binary receive function.
        await conn.set_type_codec("geometry", schema="public", format="binary", encoder=bytes, decoder=bytes)
        city = generate(srid, seed)
        async with conn.transaction():
            # Two concurrent `make run`s: the second waits here, then finds the city loaded.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('cityassets.demo'))")
            if not force and await is_loaded(conn):
                return LoadReport(False, seconds=time.monotonic() - start)
            await conn.execute("SELECT set_config('cityassets.actor', $1, true)", ACTOR)
            if force:
                for cid in reversed(ORDER):
                    await conn.execute(f"DELETE FROM {COLLECTIONS[cid].table.name}")
            codes = await _allocate(conn, city)
            for cid in ORDER:
                await _copy(conn, city, cid, codes)
        for cid in ORDER:
            await conn.execute(f"ANALYZE {COLLECTIONS[cid].table.name}")
        return LoadReport(True, city.counts(), time.monotonic() - start)
    finally:
        await conn.close()


async def _allocate(conn: asyncpg.Connection, city: DemoCity) -> dict[str, str]:
    """Generated code -> allocated code. On a fresh database they are equal; after --force serials move on."""
    need: dict[str, int] = {}
    for cid in ASSETS:
        for row in city.layers[cid]:
            prefix = row["asset_code"][:10]
            need[prefix] = need.get(prefix, 0) + 1
    got: dict[str, list[str]] = {}
    rows = await conn.fetch(
        "SELECT u.p, c FROM unnest($1::text[], $2::int[]) AS u(p, n), LATERAL cityassets_next_codes(u.p, u.n) AS c",
        list(need), list(need.values()))
    for r in rows:
        got.setdefault(r[0], []).append(r[1])
    for block in got.values():
        block.sort()
    return {row["asset_code"]: got[row["asset_code"][:10]][int(row["asset_code"][10:]) - 1]
            for cid in ASSETS for row in city.layers[cid]}


def _value(v):
    return v.item() if isinstance(v, np.generic) else v


def _defaults(table) -> dict[str, object]:
    """Literal server defaults by column: COPY sends every listed column, so absent values take these."""
    out: dict[str, object] = {}
    for c in table.columns:
        arg = getattr(c.server_default, "arg", None)
        if arg is None or c.name in SERVER_OWNED:
            continue
        raw = str(getattr(arg, "text", arg)).strip("'")
        py = c.type.python_type
        out[c.name] = raw == "true" if py is bool else py(raw)
    return out


async def _copy(conn: asyncpg.Connection, city: DemoCity, cid: str, codes: dict[str, str]) -> None:
    table = COLLECTIONS[cid].table
    cols = [c.name for c in table.columns if c.name not in SERVER_OWNED and c.computed is None]
    rows = city.layers[cid]
    defaults = _defaults(table)
    geoms = shapely.set_srid(np.array([r.get("geom") for r in rows], object), city.srid)
    wkb = shapely.to_wkb(geoms, include_srid=True)
    records = []
    for row, g in zip(rows, wkb):
        rec = []
        for c in cols:
            if c == "geom":
                rec.append(g)
            elif c in ("created_by", "updated_by"):
                rec.append(ACTOR)
            elif c in ("asset_code", "pole_code"):
                rec.append(codes[row[c]])
            else:
                rec.append(_value(row[c]) if c in row else defaults.get(c))
        records.append(tuple(rec))
    await conn.copy_records_to_table(table.name, records=records, columns=cols)
