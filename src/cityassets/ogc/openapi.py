"""cityassets.ogc.openapi: the OpenAPI document clients actually read (ogc-interop R6).

FastAPI describes `/collections/{collectionId}/items` once; GDAL 3.6 pushes `col=value` filters to
the server only when the parameter is declared on the concrete items path, and QGIS picks its page
size from `components.parameters.limit.schema.{default,maximum}`. So every collection gets its own
items path listing its queryable properties, and `resultType` with enum [results, hits].
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from cityassets.catalogue import COLLECTIONS
from cityassets.ogc.schema import field_schema
from cityassets.settings import Settings


def _items_parameters(settings: Settings) -> dict[str, Any]:
    return {
        "limit": {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
                  "description": "Features per page (clamped to the maximum).",
                  "schema": {"type": "integer", "minimum": 1, "maximum": settings.max_limit,
                             "default": settings.default_limit}},
        "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
                 "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
        "cursor": {"name": "cursor", "in": "query", "required": False, "description": "Opaque paging token.",
                   "schema": {"type": "string"}},
        "offset": {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
        "resultType": {"name": "resultType", "in": "query", "required": False,
                       "schema": {"type": "string", "enum": ["results", "hits"], "default": "results"}},
        "crs": {"name": "crs", "in": "query", "required": False, "description": "Output CRS (Part 2).",
                "schema": {"type": "string", "format": "uri"}},
        "bbox-crs": {"name": "bbox-crs", "in": "query", "required": False, "description": "CRS of bbox (Part 2).",
                     "schema": {"type": "string", "format": "uri"}},
        "filter": {"name": "filter", "in": "query", "required": False, "description": "CQL2 filter (Part 3).",
                   "schema": {"type": "string"}},
        # Only the CQL2 names: GDAL 3.6 would send draft `cql-text` syntax if that were listed (ogc-interop §3.2).
        "filter-lang": {"name": "filter-lang", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}},
        "filter-crs": {"name": "filter-crs", "in": "query", "required": False,
                       "description": "CRS of the filter's geometry literals (Part 3).", "schema": {"type": "string", "format": "uri"}},
    }


def install(app: FastAPI, settings: Settings) -> None:
    """Replace app.openapi with a builder that adds per-collection paths and shared parameters."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        doc["openapi"] = "3.0.3"
        doc["info"]["contact"] = {"name": "cityassets"}
        params = _items_parameters(settings)
        doc.setdefault("components", {})["parameters"] = params
        for c in COLLECTIONS.values():
            props = [
                {"name": f.name, "in": "query", "required": False, "style": "form", "explode": False,
                 "description": f"{f.title_zh} — {f.title_en} (equality filter)",
                 "schema": {k: v for k, v in field_schema(f).items() if k in ("type", "format", "enum")}}
                for f in c.fields
            ]
            doc["paths"][f"/collections/{c.id}/items"] = {
                "get": {
                    "tags": ["OGC API - Features"],
                    "summary": f"{c.title_en} ({c.title_zh})",
                    "operationId": f"getFeatures_{c.id}",
                    "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in params] + props,
                    "responses": {"200": {"description": "A page of features",
                                          "content": {"application/geo+json": {"schema": {"type": "object"}}}}},
                }
            }
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
