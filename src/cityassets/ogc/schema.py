"""cityassets.ogc.schema: JSON Schema of a collection (OGC API Features Part 5 style) from the catalogue."""

from __future__ import annotations

from typing import Any

from cityassets.catalogue import Collection, Field

_GEOMETRY_FORMAT = {
    "Point": "geometry-point",
    "LineString": "geometry-linestring",
    "MultiPolygon": "geometry-multipolygon",
}
_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "object": {"type": "object"},
}


def field_schema(f: Field) -> dict[str, Any]:
    """JSON Schema of one property, with Chinese and English descriptions and enum labels."""
    out: dict[str, Any] = {"title": f.title_en, "description": f"{f.title_zh} — {f.title_en}", **_TYPES[f.type]}
    if f.enum:
        out["enum"] = list(f.enum)
        out["x-enum-labels"] = {k: {"zh": zh, "en": en} for k, (zh, en) in (f.enum_labels or {}).items()}
    for key, attr in (("minimum", "minimum"), ("maximum", "maximum"), ("pattern", "pattern"), ("maxLength", "max_length")):
        value = getattr(f, attr)
        if value is not None:
            out[key] = value
    if f.default is not None:
        out["default"] = f.default
    if f.readonly:
        out["readOnly"] = True
    if f.ref:
        out["x-references"] = f.ref
    if f.categories:
        out["x-categories"] = list(f.categories)
    if f.allocated:
        out["x-allocated-when-absent"] = True
    if f.derived:
        out["x-derived-from-position"] = True
    return out


def collection_schema(collection: Collection, self_url: str, queryables: bool = False) -> dict[str, Any]:
    """Schema of the feature properties (or the queryables, which add the geometry)."""
    props: dict[str, Any] = {}
    if collection.geometry_type:
        props["geometry"] = {
            "title": "geometry",
            "format": _GEOMETRY_FORMAT.get(collection.geometry_type, "geometry-any"),
            "x-ogc-role": "primary-geometry",
        }
    for f in collection.fields:
        props[f.name] = field_schema(f)
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": self_url,
        "type": "object",
        "title": f"{collection.title_zh} {collection.title_en}",
        "description": collection.description,
        "properties": props,
    }
    if not queryables:
        schema["required"] = [f.name for f in collection.fields if f.required]
        schema["additionalProperties"] = False
    else:
        schema["additionalProperties"] = False
    return schema
