"""cityassets.ingest.sources: pick the reader for a body's media type and its CRS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from cityassets.crs import parse_crs
from cityassets.errors import UnsupportedMediaType
from cityassets.ingest import geojson
from cityassets.settings import Settings

GEOJSON = ("application/geo+json", "application/json", "application/vnd.geo+json")
CSV = ("text/csv",)
GPKG = ("application/geopackage+sqlite3", "application/x-sqlite3")
ZIP = ("application/zip", "application/x-zip-compressed")


@dataclass
class Source:
    """Lists of GeoJSON-like features, and the CRS their coordinates are in."""

    crs: str
    batches: AsyncIterator[list[Any]]
    text: bool = False  # properties arrive as text (CSV cells) and are converted per field type
    dbf_names: bool = False  # field names cut to 10 characters (Shapefile .dbf)


def feature_cap(s: Settings) -> int:
    """Largest single feature held while parsing: all properties at their limit plus the vertices."""
    return s.max_properties * s.max_property_bytes + s.max_vertices * 64 + 65_536


async def open_source(
    content_type: str | None, body: AsyncIterator[bytes], crs: str | None, s: Settings
) -> Source:
    """The reader for this media type; a file's own CRS (.prj, GeoPackage SRS) wins over `crs`."""
    media = (content_type or "application/geo+json").split(";")[0].strip().lower()
    declared = parse_crs(crs) if crs else "CRS84"  # RFC 7946 §4: GeoJSON is CRS84 unless told otherwise
    if media in GEOJSON:
        return Source(declared, geojson.features(body, feature_cap(s)))
    if media in CSV:
        from cityassets.ingest import tabular

        return Source(declared, tabular.csv_features(body, s), text=True)
    if media in GPKG or media in ZIP:
        from cityassets.ingest import ogr

        return await ogr.open_file(body, "zip" if media in ZIP else "gpkg", declared, s)
    raise UnsupportedMediaType(
        f"cannot read '{media}': send {GEOJSON[0]}, {CSV[0]}, {GPKG[0]} or {ZIP[0]} (a zipped Shapefile)"
    )
