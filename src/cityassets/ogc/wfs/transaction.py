"""cityassets.ogc.wfs.transaction: WFS-T Insert/Update/Delete in 1.0.0, 1.1.0 and 2.0.0 forms (R5, P2).

QGIS 3.22 sends `version="1.0.0"` transactions even on a 2.0 connection, with `ogc:FeatureId fid=`
filters and GML 2 geometries carrying the URN srsName of the 2.0 capabilities but x/y coordinates
(qgis/QGIS#47254, #47894): 1.0.0 geometries are therefore read x/y whatever the srsName (the
WFS 1.0 convention); 1.1.0/2.0.0 geometries follow GeoServer's srsName table. Every action runs
through `repository.writes` (scope checks, derived codes, version bump, history) inside ONE
database transaction: all or nothing (ISO 19142 15.2.1). The answer uses the request's version.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from cityassets import crs as crsmod
from cityassets.auth import AuthPrincipal
from cityassets.catalogue import COLLECTIONS, Collection
from cityassets.errors import NotAuthenticated, ValidationFailed
from cityassets.ogc.wfs.describe import GEOMETRY_NAME, field_for_element
from cityassets.ogc.wfs.exceptions import WfsError, invalid
from cityassets.ogc.wfs.fes import parse_filter
from cityassets.ogc.wfs.gmlin import read_geometry, swap_xy
from cityassets.ogc.wfs.ns import (FES20, GML, GML32, OGC, WFS, WFS20, attr, child, children, local, ns_of,
                                   strip_prefix, text)
from cityassets.ogc.wfs.query import apply_filter
from cityassets.ogc.wfs.srs import DEFAULT, Srs
from cityassets.repository import features as repo
from cityassets.repository import writes
from cityassets.repository.sql import ident
from cityassets.settings import Settings
from cityassets.validation import validate_feature

GML_NAMESPACES = (GML, GML32)


@dataclass
class Outcome:
    """What the transaction did."""

    inserted: list[tuple[str, str | None]] = field(default_factory=list)  # (gml id, handle)
    updated: list[str] = field(default_factory=list)
    deleted: int = 0


def version_of(root: ET.Element) -> str:
    """The request's version (namespace decides when the attribute is missing)."""
    v = root.get("version")
    if v in ("1.0.0", "1.1.0", "2.0.0"):
        return v
    return "2.0.0" if ns_of(root.tag) == WFS20 else "1.1.0"


def _collection(raw: str | None, locator: str) -> Collection:
    cid = strip_prefix(raw or "")
    if cid not in COLLECTIONS:
        raise invalid(locator, f"unknown feature type '{raw}'")
    return COLLECTIONS[cid]


def _geometry_required(c: Collection) -> bool:
    col = c.table.c.get("geom")
    return c.parent is None and col is not None and not col.nullable


def _typed(c: Collection, name: str, raw: str) -> tuple[str, Any]:
    """An XML property value typed for validation (unknown names pass through for a clear 'unknown_field')."""
    f = field_for_element(c, name)
    if f is None:
        return strip_prefix(name), raw
    if raw == "":
        return f.name, None
    try:
        if f.type == "integer":
            v = float(raw)
            return f.name, int(v) if v.is_integer() else v
        if f.type == "number":
            return f.name, float(raw)
        if f.type == "boolean":
            low = raw.strip().lower()
            return f.name, {"true": True, "1": True, "false": False, "0": False}.get(low, raw)
        if f.type == "object":
            return f.name, orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        return f.name, raw  # validation reports the type error with the field name
    return f.name, raw


def _content(geom: dict[str, Any], srs: Srs) -> tuple[dict[str, Any], str]:
    """x/y GeoJSON of an EPSG CRS -> what validate_feature reads (Part 2: authority order for EPSG:n)."""
    if srs.srid == 4326:
        return geom, "CRS84"
    name = f"EPSG:{srs.srid}"
    if crsmod.is_lat_lon(name):
        geom = {"type": geom["type"], "coordinates": swap_xy(geom["coordinates"])}
    return geom, name


class _Tx:
    def __init__(self, conn: asyncpg.Connection, principal: AuthPrincipal, rid: str, settings: Settings,
                 version: str) -> None:
        self.conn, self.principal, self.settings, self.version = conn, principal, settings, version
        self.ctx = writes.WriteContext(principal, rid)
        self.xy_only = version == "1.0.0"
        self.default = Srs(4326, False) if self.xy_only else DEFAULT
        self.out = Outcome()

    def _geometry(self, el: ET.Element, inherited: str | None) -> tuple[dict[str, Any], str]:
        geoms = [g for g in children(el) if ns_of(g.tag) in GML_NAMESPACES]
        if len(geoms) != 1:
            raise invalid("geometry", "a geometry property holds one GML geometry")
        g, srs = read_geometry(geoms[0], self.default, inherited, self.xy_only, self.settings.storage_srid)
        if g["type"] == "Envelope":
            raise invalid("geometry", "an Envelope is not a feature geometry")
        return _content(g, srs)

    def _validate(self, c: Collection, props: dict[str, Any], geometry: dict[str, Any] | None, crs: str,
                  required: bool, where: str) -> Any:
        feature = {"type": "Feature", "properties": props, "geometry": geometry}
        try:
            return validate_feature(c, feature, crs, self.settings, geometry_required=required)
        except ValidationFailed as exc:
            raise WfsError(f"{where}: {exc.message}", "InvalidValue", where, issues=exc.issues) from None

    async def insert(self, el: ET.Element, index: int) -> None:
        handle = el.get("handle")
        srs_default = el.get("srsName")
        for feat in children(el):
            c = _collection(local(feat.tag), "Insert")
            self.principal.require_write(c)
            props: dict[str, Any] = {}
            geometry, crs = None, "CRS84"
            for p in children(feat):
                if ns_of(p.tag) in GML_NAMESPACES:
                    continue  # gml:boundedBy, gml:name, gml:description
                name = local(p.tag)
                if strip_prefix(name) == GEOMETRY_NAME or any(ns_of(g.tag) in GML_NAMESPACES for g in children(p)):
                    geometry, crs = self._geometry(p, srs_default)
                    continue
                key, value = _typed(c, name, text(p))
                if value is not None:
                    props[key] = value
            where = handle or f"Insert[{index}]"
            clean = self._validate(c, props, geometry, crs, _geometry_required(c), where)
            fid, _ = await writes.create_feature(self.conn, c, clean, self.ctx, self.settings)
            self.out.inserted.append((f"{c.id}.{fid}", handle))

    async def _targets(self, c: Collection, el: ET.Element) -> list[int]:
        filt = child(el, "Filter")
        if filt is None:
            raise WfsError(f"{local(el.tag)} needs a Filter (changing every feature is refused)",
                           "MissingParameterValue", "Filter")
        pf = parse_filter(filt, c, self.default, self.settings.storage_srid, self.xy_only)
        for tn in pf.typenames:
            if tn != c.id:
                raise invalid("Filter", f"feature id of type '{tn}' in a {local(el.tag)} of {c.id}")
        fq = repo.FeatureQuery(limit=0)
        apply_filter(c, pf, fq, self.settings.storage_srid)
        rows = await self.conn.fetch(
            f"SELECT t.id FROM {ident(c.table.name)} t WHERE {repo.where_sql(c, fq, self.settings.storage_srid)} "
            "ORDER BY t.id", *fq.params.values)
        if pf.ids is not None and not pf.cql and pf.bbox is None and len(rows) < len(set(pf.ids)):
            missing = sorted(set(pf.ids) - {r["id"] for r in rows})
            raise WfsError(f"{c.id} feature {missing[0]} does not exist", "InvalidValue", "Filter", status=404)
        return [r["id"] for r in rows]

    async def update(self, el: ET.Element, index: int) -> None:
        c = _collection(el.get("typeName") or el.get("typeNames"), "Update")
        self.principal.require_write(c)
        where = el.get("handle") or f"Update[{index}]"
        changes: dict[str, Any] = {}
        geometry, crs, geometry_set = None, "CRS84", False
        for prop in children(el, "Property"):
            name_el = child(prop, "ValueReference")
            name_el = name_el if name_el is not None else child(prop, "Name")
            name = text(name_el)
            value = child(prop, "Value")
            if strip_prefix(name.split("/")[-1]) == GEOMETRY_NAME:
                geometry_set = True
                if value is not None and children(value):
                    geometry, crs = self._geometry(value, el.get("srsName"))
                continue
            if field_for_element(c, name) is None:
                raise WfsError(f"{where}: '{name}' is not a property of {c.id}", "InvalidValue", name)
            key, v = _typed(c, name, text(value) if value is not None else "")
            changes[key] = v
        for fid in await self._targets(c, el):
            props = await writes.current_properties(self.conn, c, fid)
            for k, v in changes.items():
                if v is None:
                    props.pop(k, None)
                else:
                    props[k] = v
            keep = not geometry_set
            clean = self._validate(c, props, geometry, crs, (not keep) and _geometry_required(c), where)
            await writes.replace_feature(self.conn, c, fid, clean, "*", self.ctx, self.settings, keep_geometry=keep)
            self.out.updated.append(f"{c.id}.{fid}")

    async def delete(self, el: ET.Element, index: int) -> None:
        c = _collection(el.get("typeName") or el.get("typeNames"), "Delete")
        self.principal.require_write(c)
        for fid in await self._targets(c, el):
            await writes.retire_feature(self.conn, c, fid, "*", self.ctx)
            self.out.deleted += 1


async def run(conn: asyncpg.Connection, root: ET.Element, principal: AuthPrincipal, rid: str,
              settings: Settings) -> str:
    """Execute a Transaction all-or-nothing and return the response document in its version."""
    version = version_of(root)
    if principal.is_anonymous:
        raise NotAuthenticated("Transaction needs a bearer token with write rights",
                               headers={"WWW-Authenticate": "Bearer"})
    tx = _Tx(conn, principal, rid, settings, version)
    actions = children(root)
    if not actions:
        raise WfsError("a Transaction needs at least one action", "MissingParameterValue", "Transaction")
    async with conn.transaction():
        for i, action in enumerate(actions):
            n = local(action.tag)
            if n == "Insert":
                await tx.insert(action, i)
            elif n == "Update":
                await tx.update(action, i)
            elif n == "Delete":
                await tx.delete(action, i)
            elif n == "LockId":
                continue
            else:
                raise WfsError(f"transaction action {n} is not supported", "OperationNotSupported", n, status=400)
    # GDAL 3.6 posts version="2.0.0" in the 1.x namespace and reads InsertResults/Feature/ResourceId@fid
    # (ogrwfslayer.cpp; later GDAL reads @rid): that dialect gets both attributes.
    gdal = version == "2.0.0" and ns_of(root.tag) != WFS20
    return response(tx.out, version, gdal_fid=gdal)


def response(out: Outcome, version: str, gdal_fid: bool = False) -> str:
    """The TransactionResponse of a WFS version (1.0.0 WFS_TransactionResponse, 1.1.0, 2.0.0)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if version == "1.0.0":
        ins = "".join(f"<wfs:InsertResult{' handle=' + attr(h) if h else ''}><ogc:FeatureId fid={attr(g)}/></wfs:InsertResult>"
                      for g, h in out.inserted)
        return (f'{head}<wfs:WFS_TransactionResponse version="1.0.0" xmlns:wfs="{WFS}" xmlns:ogc="{OGC}">{ins}'
                "<wfs:TransactionResult><wfs:Status><wfs:SUCCESS/></wfs:Status></wfs:TransactionResult>"
                "</wfs:WFS_TransactionResponse>")
    summary = (f"<wfs:TransactionSummary><wfs:totalInserted>{len(out.inserted)}</wfs:totalInserted>"
               f"<wfs:totalUpdated>{len(out.updated)}</wfs:totalUpdated>"
               + ("<wfs:totalReplaced>0</wfs:totalReplaced>" if version == "2.0.0" else "")
               + f"<wfs:totalDeleted>{out.deleted}</wfs:totalDeleted></wfs:TransactionSummary>")
    if version == "1.1.0":
        ins = "".join(f"<wfs:Feature{' handle=' + attr(h) if h else ''}><ogc:FeatureId fid={attr(g)}/></wfs:Feature>"
                      for g, h in out.inserted)
        return (f'{head}<wfs:TransactionResponse version="1.1.0" xmlns:wfs="{WFS}" xmlns:ogc="{OGC}">{summary}'
                f"{'<wfs:InsertResults>' + ins + '</wfs:InsertResults>' if ins else ''}</wfs:TransactionResponse>")
    extra = (lambda g: f" fid={attr(g)}") if gdal_fid else (lambda g: "")
    ins = "".join(f"<wfs:Feature{' handle=' + attr(h) if h else ''}><fes:ResourceId rid={attr(g)}{extra(g)}/></wfs:Feature>"
                  for g, h in out.inserted)
    upd = "".join(f"<wfs:Feature><fes:ResourceId rid={attr(g)}/></wfs:Feature>" for g in out.updated)
    return (f'{head}<wfs:TransactionResponse version="2.0.0" xmlns:wfs="{WFS20}" xmlns:fes="{FES20}">{summary}'
            f"{'<wfs:InsertResults>' + ins + '</wfs:InsertResults>' if ins else ''}"
            f"{'<wfs:UpdateResults>' + upd + '</wfs:UpdateResults>' if upd else ''}</wfs:TransactionResponse>")


__all__ = ["run", "response", "version_of"]
