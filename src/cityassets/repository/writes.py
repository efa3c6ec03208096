"""cityassets.repository.writes: the one write path for single features.

OGC API Part 4 and WFS-T both come here: scope check, derived values (district, grid cell,
asset code), optimistic locking on the version, version bump. History rows are written by the
database triggers from the transaction-local context set here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import shapely

from cityassets.auth import AuthPrincipal
from cityassets.catalogue import COLLECTIONS, Collection
from cityassets.errors import Conflict, Issue, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
from cityassets.repository import derive
from cityassets.repository.sql import ident, set_write_context
from cityassets.settings import Settings
from cityassets.validation import CleanFeature


@dataclass(frozen=True)
class WriteContext:
    """Who writes, and on behalf of which request."""

    principal: AuthPrincipal
    request_id: str | None = None
    upload_id: str | None = None


def etag(fid: int, version: int, srid: int | None = None) -> str:
    """Strong ETag of one representation: the version, plus the CRS when not CRS84 (RFC 9110 §8.8.3)."""
    return f'"{fid}.{version}"' if srid is None else f'"{fid}.{version}.{srid}"'


def check_if_match(if_match: str | None, fid: int, version: int) -> None:
    """428 without If-Match, 412 unless one of its tags names the current version (Part 4 clause 8)."""
    if not if_match:
        raise PreconditionRequired("send If-Match with the ETag you read: writes use optimistic locking")
    if if_match.strip() == "*":
        return
    current = f"{fid}.{version}"
    for tag in if_match.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag == current or tag.startswith(current + "."):
            return
    raise PreconditionFailed(f"feature {fid} has changed (now version {version}): read it again and retry",
                             headers={"ETag": etag(fid, version)})


async def _derived(conn: asyncpg.Connection, collection: Collection, clean: CleanFeature,
                   settings: Settings) -> dict[str, Any]:
    """District and grid cell of the position, checked against what the client sent."""
    cols = collection.table.c
    out: dict[str, Any] = {}
    if "district_code" not in cols or clean.geom is None:
        return out
    ewkb = clean.ewkb
    row = await conn.fetchrow(
        f"SELECT {derive.district_of('ST_GeomFromEWKB($1)')} AS d, "
        f"{derive.grid_cell_of('ST_GeomFromEWKB($1)') if 'grid_code' in cols else 'NULL'} AS g, "
        "EXISTS (SELECT 1 FROM districts WHERE retired_at IS NULL) AS any_district",
        ewkb,
    )
    given = clean.props.get("district_code")
    if row["d"] is not None:
        if given and given != row["d"]:
            raise ValidationFailed(f"district_code {given} does not match the position (district {row['d']})",
                                   [Issue("district_code", "district_mismatch",
                                          f"the position lies in district {row['d']}, not {given}")])
        out["district_code"] = row["d"]
    elif collection.is_asset and row["any_district"] and not given:
        raise ValidationFailed("the position is not inside any district",
                               [Issue("geometry", "district", "no district contains this position")])
    elif collection.is_asset and not given:
        out["district_code"] = settings.city_code
    if "grid_code" in cols and not clean.props.get("grid_code") and row["g"] is not None:
        out["grid_code"] = row["g"]
    return out


async def _check_references(conn: asyncpg.Connection, collection: Collection, props: dict[str, Any]) -> None:
    """Referenced organisations / parent poles must exist and be live (clear 422, not an FK error)."""
    issues = []
    for f in collection.writable_fields:
        value = props.get(f.name)
        if f.ref and value is not None:
            ref = COLLECTIONS[f.ref]
            key = ref.code_field or "code"
            found = await conn.fetchval(
                f"SELECT 1 FROM {ident(ref.table.name)} WHERE {ident(key)} = $1 AND retired_at IS NULL", value
            )
            if not found:
                issues.append(Issue(f.name, "reference", f"no {ref.id} with {key} '{value}'"))
    if issues:
        raise ValidationFailed(f"{collection.id}: {issues[0].message}", issues)


async def _parent_geometry(conn: asyncpg.Connection, collection: Collection, clean: CleanFeature) -> None:
    """A device without a position takes its pole's (多杆合一: the pole is the carrier)."""
    if collection.parent is None or clean.geom is not None:
        return
    field, parent_id = collection.parent
    parent = COLLECTIONS[parent_id]
    wkb = await conn.fetchval(
        f"SELECT ST_AsEWKB(geom) FROM {ident(parent.table.name)} WHERE {ident(parent.code_field or 'code')} = $1 "
        "AND retired_at IS NULL",
        clean.props.get(field),
    )
    if wkb is None:
        raise ValidationFailed(f"no {parent_id} '{clean.props.get(field)}' to take the position from",
                               [Issue(field, "reference", f"unknown {parent_id}")])
    clean.geom = shapely.from_wkb(wkb)


async def _allocate_code(conn: asyncpg.Connection, collection: Collection, values: dict[str, Any]) -> None:
    """A new 16-digit code when none was sent; a sent one must match the district (部件标识码)."""
    if not collection.is_asset:
        return
    code = values.get("asset_code")
    district = values.get("district_code")
    if code:
        if code[:6] != district:
            raise ValidationFailed(f"asset_code {code} belongs to district {code[:6]}, the position to {district}",
                                   [Issue("asset_code", "district_mismatch", "the first 6 digits must be the district code")])
        return
    prefix = derive.code_prefix(collection, district, values)
    values["asset_code"] = await conn.fetchval(derive.NEXT_CODES_SQL, prefix, 1)


def _row_values(collection: Collection, clean: CleanFeature, derived: dict[str, Any]) -> dict[str, Any]:
    values = {f.name: clean.props.get(f.name) for f in collection.writable_fields}
    for k, v in derived.items():
        if values.get(k) is None:
            values[k] = v
    if "source_crs" in collection.table.c:
        values["source_crs"] = clean.source_crs
        values["source_geometry"] = clean.source_geometry
    return values


def _require_scope(ctx: WriteContext, collection: Collection, values: dict[str, Any]) -> None:
    ctx.principal.require_scope(collection, values.get("owner"), values.get("district_code"))


async def create_feature(conn: asyncpg.Connection, collection: Collection, clean: CleanFeature,
                         ctx: WriteContext, settings: Settings) -> tuple[int, int]:
    """Insert one feature; returns (id, version)."""
    ctx.principal.require_write(collection)
    async with conn.transaction():
        await set_write_context(conn, ctx.principal.name, ctx.request_id, ctx.upload_id)
        await _parent_geometry(conn, collection, clean)
        values = _row_values(collection, clean, await _derived(conn, collection, clean, settings))
        _require_scope(ctx, collection, values)
        await _check_references(conn, collection, values)
        await _allocate_code(conn, collection, values)
        await _unique_codes(conn, collection, values, None)
        cols = [k for k in values if values[k] is not None]
        names = ", ".join(ident(c) for c in cols)
        phs = ", ".join(f"${i + 1}" for i in range(len(cols)))
        n = len(cols)
        row = await conn.fetchrow(
            f"INSERT INTO {ident(collection.table.name)} ({names}{', ' if cols else ''}geom, created_by, updated_by) "
            f"VALUES ({phs}{', ' if cols else ''}ST_GeomFromEWKB(${n + 1}), ${n + 2}, ${n + 2}) RETURNING id, version",
            *[values[c] for c in cols], clean.ewkb, ctx.principal.name,
        )
    return row["id"], row["version"]


async def _unique_codes(conn: asyncpg.Connection, collection: Collection, values: dict[str, Any],
                        fid: int | None) -> None:
    """409 naming the field when a unique natural key is taken (codes are never reused)."""
    for name in collection.match_keys:
        value = values.get(name)
        if value is None:
            continue
        other = await conn.fetchrow(
            f"SELECT id, retired_at IS NOT NULL AS retired FROM {ident(collection.table.name)} "
            f"WHERE {ident(name)} = $1 AND id IS DISTINCT FROM $2 "
            f"{'AND retired_at IS NULL' if name == 'chip_uid' else ''} LIMIT 1",
            value, fid,
        )
        if other:
            why = "a retired feature's code (codes are never reused)" if other["retired"] else f"feature {other['id']}"
            raise Conflict(f"{name} '{value}' is already used by {why}",
                           [Issue(name, "unique", f"'{value}' is already used by {why}")])


async def _lock_current(conn: asyncpg.Connection, collection: Collection, fid: int) -> asyncpg.Record:
    cols = ", ".join(f"t.{ident(f.name)}" for f in collection.writable_fields)
    row = await conn.fetchrow(
        f"SELECT t.id, t.version, {cols}{', ' if cols else ''}ST_AsEWKB(t.geom) AS _geom "
        f"FROM {ident(collection.table.name)} t WHERE t.id = $1 AND t.retired_at IS NULL FOR UPDATE",
        fid,
    )
    if row is None:
        raise NotFound(f"{collection.id} feature {fid} does not exist")
    return row


async def _open_for_write(conn: asyncpg.Connection, collection: Collection, fid: int, if_match: str | None,
                          ctx: WriteContext) -> asyncpg.Record:
    """Inside the write's transaction: who/why for history, the row locked, its ETag and scope checked."""
    await set_write_context(conn, ctx.principal.name, ctx.request_id, ctx.upload_id)
    current = await _lock_current(conn, collection, fid)
    check_if_match(if_match, fid, current["version"])
    ctx.principal.require_scope(collection, _get(current, "owner"), _get(current, "district_code"))
    return current


async def replace_feature(conn: asyncpg.Connection, collection: Collection, fid: int, clean: CleanFeature,
                          if_match: str | None, ctx: WriteContext, settings: Settings,
                          keep_geometry: bool = False) -> int:
    """Replace one feature (PUT, or PATCH after merging); returns the new version.

    A write that changes nothing keeps the version: no history row, same ETag.
    """
    ctx.principal.require_write(collection)
    async with conn.transaction():
        current = await _open_for_write(conn, collection, fid, if_match, ctx)
        if keep_geometry:
            clean.geom = shapely.from_wkb(current["_geom"]) if current["_geom"] is not None else None
        await _parent_geometry(conn, collection, clean)
        values = _row_values(collection, clean, await _derived(conn, collection, clean, settings))
        if collection.is_asset and not values.get("asset_code"):
            values["asset_code"] = current["asset_code"]
        _require_scope(ctx, collection, values)
        await _check_references(conn, collection, values)
        await _allocate_code(conn, collection, values)
        await _unique_codes(conn, collection, values, fid)
        new_geom = clean.ewkb
        if keep_geometry:
            new_geom = current["_geom"]
        changed = [k for k in values if k in current.keys() and current[k] != values[k]]
        extra = [k for k in values if k not in current.keys()]  # source_crs/source_geometry
        if not changed and new_geom == current["_geom"]:
            return current["version"]
        cols = changed + extra
        sets = ", ".join(f"{ident(c)} = ${i + 2}" for i, c in enumerate(cols))
        n = len(cols) + 2
        version = await conn.fetchval(
            f"UPDATE {ident(collection.table.name)} SET {sets}{', ' if cols else ''}geom = ST_GeomFromEWKB(${n}), "
            f"version = version + 1, updated_at = now(), updated_by = ${n + 1}, upload_id = NULL "
            f"WHERE id = $1 RETURNING version",
            fid, *[values[c] for c in cols], new_geom, ctx.principal.name,
        )
    return version


def _get(row: asyncpg.Record, key: str) -> Any:
    return row[key] if key in row.keys() else None


async def retire_feature(conn: asyncpg.Connection, collection: Collection, fid: int, if_match: str | None,
                         ctx: WriteContext) -> None:
    """Delete = retire: the record leaves every read but stays in history; its code stays taken."""
    ctx.principal.require_write(collection)
    async with conn.transaction():
        await _open_for_write(conn, collection, fid, if_match, ctx)
        await conn.execute(
            f"UPDATE {ident(collection.table.name)} SET retired_at = now(), version = version + 1, "
            "updated_at = now(), updated_by = $2 WHERE id = $1",
            fid, ctx.principal.name,
        )


async def current_properties(conn: asyncpg.Connection, collection: Collection, fid: int) -> dict[str, Any]:
    """The live feature's writable properties as JSON values (the base a merge patch applies to)."""
    from cityassets.repository.features import properties_sql

    doc = await conn.fetchval(
        f"SELECT {properties_sql(collection)} FROM {ident(collection.table.name)} t "
        "WHERE t.id = $1 AND t.retired_at IS NULL",
        fid,
    )
    if doc is None:
        raise NotFound(f"{collection.id} feature {fid} does not exist")
    writable = {f.name for f in collection.writable_fields}
    return {k: v for k, v in doc.items() if k in writable}


__all__ = ["WriteContext", "etag", "check_if_match", "create_feature", "replace_feature", "retire_feature",
           "current_properties"]
