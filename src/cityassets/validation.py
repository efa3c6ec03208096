"""cityassets.validation: one feature checked against its collection's rules.

Used by every single-feature write (OGC API Part 4, WFS-T). Every problem becomes an `Issue`
naming the field and the rule, and all problems are reported at once (422).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from cityassets import crs as crsmod
from cityassets.catalogue import Collection, Field
from cityassets.errors import Issue, ValidationFailed
from cityassets.settings import Settings

#: What a collection of a given geometry type accepts (Polygon is promoted to MultiPolygon).
ACCEPTED_GEOMETRY = {
    "Point": {"Point"},
    "LineString": {"LineString", "MultiLineString"},
    "MultiPolygon": {"Polygon", "MultiPolygon"},
}


@dataclass
class CleanFeature:
    """A validated feature: typed properties and the geometry in the storage CRS."""

    props: dict[str, Any]
    geom: shapely.Geometry | None
    source_crs: str
    source_geometry: dict | None = None

    @property
    def ewkb(self) -> bytes | None:
        """Geometry as EWKB with the storage SRID, for a bound parameter."""
        return None if self.geom is None else shapely.to_wkb(self.geom, include_srid=True)


def _check_value(f: Field, value: Any) -> tuple[Any, str | None, str | None]:
    """Coerce one JSON value to the field's type: (value, rule, message)."""
    if f.type == "string":
        if not isinstance(value, str):
            return value, "type", f"expected a string, got {type(value).__name__}"
        if f.max_length and len(value) > f.max_length:
            return value, "max_length", f"longer than {f.max_length} characters"
        if f.pattern and not _pattern(f.pattern).fullmatch(value):
            return value, "pattern", f"'{value}' does not match {f.pattern}"
    elif f.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float) and not value.is_integer()):
            return value, "type", f"expected an integer, got {value!r}"
        value = int(value)
    elif f.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value, "type", f"expected a number, got {value!r}"
        if not math.isfinite(value):
            return value, "finite", "NaN and Infinity are not numbers we store"
        value = float(value)
    elif f.type == "boolean":
        if not isinstance(value, bool):
            return value, "type", f"expected true or false, got {value!r}"
    elif f.type in ("date", "datetime"):
        if not isinstance(value, str):
            return value, "type", f"expected an ISO 8601 {f.type} string"
        try:
            value = dt.date.fromisoformat(value[:10]) if f.type == "date" else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value, "type", f"'{value}' is not an ISO 8601 {f.type}"
    elif f.type == "object" and not isinstance(value, dict):
        return value, "type", "expected a JSON object"
    if f.enum is not None and value not in f.enum:
        return value, "enum", f"'{value}' is not one of: {', '.join(f.enum)}"
    if f.minimum is not None and value < f.minimum:
        return value, "minimum", f"{value} is below the minimum {f.minimum:g}"
    if f.maximum is not None and value > f.maximum:
        return value, "maximum", f"{value} is above the maximum {f.maximum:g}"
    return value, None, None


@lru_cache(maxsize=256)
def _pattern(p: str) -> re.Pattern[str]:
    return re.compile(p)


def check_properties(collection: Collection, props: Any, *, index: int | None = None) -> tuple[dict[str, Any], list[Issue]]:
    """Typed, complete properties (replace semantics) and the problems found."""
    issues: list[Issue] = []
    if props is None:
        props = {}
    if not isinstance(props, dict):
        return {}, [Issue("properties", "type", "properties must be a JSON object", index)]
    fields = collection.field_map
    out: dict[str, Any] = {}
    for name, value in props.items():
        f = fields.get(name)
        if f is None:
            issues.append(Issue(name, "unknown_field", f"'{name}' is not a property of {collection.id}", index))
            continue
        if f.readonly or value is None:
            continue  # server-owned fields are ignored: a GET-modify-PUT round trip must work
        value, rule, msg = _check_value(f, value)
        if rule:
            issues.append(Issue(name, rule, msg or rule, index))
        else:
            out[name] = value
    for f in collection.writable_fields:
        if f.name not in out and f.default is not None:
            out[f.name] = f.default
        if f.required and out.get(f.name) is None:
            issues.append(Issue(f.name, "required", f"'{f.name}' is required", index))
        if f.required_when and out.get(f.required_when[0]) == f.required_when[1] and out.get(f.name) is None:
            issues.append(Issue(f.name, "required_when",
                                f"'{f.name}' is required when {f.required_when[0]} is '{f.required_when[1]}'", index))
    cat_field = collection.category_field
    for f in collection.writable_fields:
        if f.categories and out.get(f.name) is not None and out.get(cat_field) not in f.categories:
            issues.append(Issue(f.name, "category_field",
                                f"'{f.name}' applies to {cat_field} {', '.join(f.categories)} only", index))
    return out, issues


def check_geometry(
    collection: Collection, geometry: Any, content_crs: str, settings: Settings, *, index: int | None = None
) -> tuple[shapely.Geometry | None, list[Issue]]:
    """The geometry in the storage CRS, after type, finiteness, size, extent and validity checks."""
    if geometry is None:
        return None, []
    accepted = ACCEPTED_GEOMETRY.get(collection.geometry_type or "", set())
    if not isinstance(geometry, dict) or geometry.get("type") not in accepted:
        got = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        return None, [Issue("geometry", "geometry_type",
                            f"{collection.id} takes {' or '.join(sorted(accepted))} geometries, got {got}", index)]
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed coordinate arrays
        return None, [Issue("geometry", "geometry", f"malformed coordinates: {exc}", index)]
    coords = shapely.get_coordinates(geom)
    if geom.is_empty or len(coords) == 0:
        return None, [Issue("geometry", "geometry", "empty geometry", index)]
    if not np.isfinite(coords).all():
        return None, [Issue("geometry", "finite", "coordinates must be finite numbers", index)]
    if len(coords) > settings.max_vertices:
        return None, [Issue("geometry", "vertices", f"{len(coords)} vertices (limit {settings.max_vertices})", index)]
    if crsmod.is_lat_lon(content_crs):
        # OGC API Part 2: coordinates follow the CRS axis order, so EPSG:4326 arrives as lat, lon.
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    lonlat = _to_crs84(geom, content_crs)
    problem = extent_problem(shapely.get_coordinates(lonlat), settings)
    if problem:
        return None, [Issue("geometry", "extent", problem, index)]
    stored = shapely.transform(geom, lambda xy: np.column_stack(crsmod.to_storage(xy[:, 0], xy[:, 1], content_crs, settings.storage_srid)))
    if collection.geometry_type == "MultiPolygon" and stored.geom_type == "Polygon":
        stored = shapely.MultiPolygon([stored])
    if collection.geometry_type == "LineString" and stored.geom_type == "MultiLineString":
        if len(stored.geoms) != 1:
            return None, [Issue("geometry", "geometry_type", "roads are single LineStrings; split multi-part lines", index)]
        stored = stored.geoms[0]
    if not stored.is_valid:
        return None, [Issue("geometry", "geometry_valid", f"invalid geometry: {shapely.is_valid_reason(stored)}", index)]
    return shapely.set_srid(stored, settings.storage_srid), []


def _to_crs84(geom: shapely.Geometry, content_crs: str) -> shapely.Geometry:
    if content_crs == "CRS84":
        return geom
    if content_crs == "GCJ02":
        return shapely.transform(geom, lambda xy: np.column_stack(crsmod.gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
    if content_crs == "BD09":
        return shapely.transform(geom, lambda xy: np.column_stack(crsmod.bd09_to_wgs84(xy[:, 0], xy[:, 1])))
    t = crsmod.transformer(content_crs, "CRS84")
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def extent_problem(lonlat: np.ndarray, settings: Settings) -> str | None:
    """Why lon/lat coordinates fall outside the city extent, or None (detects swapped axes)."""
    x0, y0, x1, y1 = settings.extent
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    if inside.all():
        return None
    swapped = (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
    where = f"({lon[~inside][0]:.6f}, {lat[~inside][0]:.6f})"
    if swapped.all():
        return f"{where} is outside the city extent: latitude and longitude look swapped"
    return f"{where} is outside the city extent {settings.extent}"


def validate_feature(
    collection: Collection, feature: Any, content_crs: str, settings: Settings, *, geometry_required: bool = True,
    index: int | None = None,
) -> CleanFeature:
    """A whole GeoJSON Feature checked (replace semantics), or ValidationFailed with every issue."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValidationFailed("the body must be a GeoJSON Feature", [Issue(None, "type", "expected {\"type\": \"Feature\", ...}", index)])
    if "crs" in feature or (isinstance(feature.get("geometry"), dict) and "crs" in feature["geometry"]):
        # RFC 7946 §4 removed `crs`; PostGIS would honour it and store the wrong SRID. Use Content-Crs.
        raise ValidationFailed("the GeoJSON 'crs' member is not supported (RFC 7946); send a Content-Crs header",
                               [Issue("crs", "crs_member", "remove 'crs'; use the Content-Crs header", index)])
    props, issues = check_properties(collection, feature.get("properties"), index=index)
    geom, geo_issues = check_geometry(collection, feature.get("geometry"), content_crs, settings, index=index)
    issues += geo_issues
    if geom is None and not geo_issues and geometry_required:
        issues.append(Issue("geometry", "required", f"{collection.id} features need a geometry", index))
    if issues:
        raise ValidationFailed(_summary(collection, issues), issues)
    source_geometry = feature["geometry"] if content_crs in crsmod.OFFSET_CRS else None
    return CleanFeature(props, geom, content_crs, source_geometry)


def _summary(collection: Collection, issues: list[Issue]) -> str:
    first = issues[0]
    more = f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""
    return f"{collection.id}: {first.field or 'feature'}: {first.message} [{first.rule}]{more}"
