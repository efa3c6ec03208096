"""cityassets.ingest.tabular: CSV survey sheets (lon/lat, x/y or a WKT column), read as they arrive."""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import shapely

from cityassets.errors import InvalidRequest, PayloadTooLarge
from cityassets.settings import Settings

XY_COLUMNS = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y"), ("easting", "northing"))
WKT_COLUMNS = ("wkt", "geometry", "geom")


def _number(v: str) -> Any:
    """A coordinate cell as a float; left as text (and rejected by the geometry check) when it is not one."""
    try:
        return float(v)
    except ValueError:
        return v


class _Geometry:
    """Builds a GeoJSON geometry from the coordinate columns of a header."""

    def __init__(self, header: list[str]) -> None:
        lower = [h.strip().lower() for h in header]
        self.wkt = next((lower.index(c) for c in WKT_COLUMNS if c in lower), None)
        self.xy = next(
            ((lower.index(x), lower.index(y)) for x, y in XY_COLUMNS if x in lower and y in lower), None
        )
        if self.wkt is None and self.xy is None:
            raise InvalidRequest("the CSV needs lon/lat, x/y or a WKT column")
        self.used = {i for i in ((self.wkt,) if self.wkt is not None else self.xy)}

    def __call__(self, row: list[str]) -> dict[str, Any] | None:
        if self.wkt is not None:
            text = row[self.wkt].strip()
            if not text:
                return None
            try:
                return orjson.loads(shapely.to_geojson(shapely.from_wkt(text)))
            except shapely.errors.GEOSException:
                return {"type": "invalid WKT", "coordinates": None}
        x, y = row[self.xy[0]].strip(), row[self.xy[1]].strip()
        return {"type": "Point", "coordinates": [_number(x), _number(y)]} if x or y else None


def _lines(buffer: str) -> tuple[list[str], str]:
    """Complete records in `buffer` (no open quote), and the rest to keep for the next chunk."""
    cut = buffer.rfind("\n") + 1
    head = buffer[:cut]
    # A newline inside a quoted cell is not a record end: wait for the closing quote (RFC 4180 §2.6).
    while head and head.count('"') % 2:
        cut = buffer.rfind("\n", 0, cut - 1) + 1
        head = buffer[:cut]
    return head.splitlines(keepends=True), buffer[cut:]


def _features(rows: Iterator[list[str]], header: list[str], geometry: _Geometry) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            row = (row + [""] * len(header))[: len(header)]
        # Empty cells are absent properties: a sheet cannot tell null from "not surveyed".
        props = {h: v for i, (h, v) in enumerate(zip(header, row)) if v != "" and i not in geometry.used}
        out.append({"type": "Feature", "geometry": geometry(row), "properties": props})
    return out


async def csv_features(chunks: AsyncIterator[bytes], s: Settings) -> AsyncIterator[list[dict[str, Any]]]:
    """Lists of features from a UTF-8 CSV body (a BOM is allowed), with string properties."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    buffer, header, geometry = "", None, None
    cap = s.max_properties * s.max_property_bytes
    async for chunk in chunks:
        try:
            buffer += decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise InvalidRequest(f"the CSV is not UTF-8: {exc}") from None
        lines, buffer = _lines(buffer)
        if len(buffer) > cap:
            raise PayloadTooLarge(f"a CSV record is longer than {cap:,} bytes")
        if not lines:
            continue
        rows = csv.reader(lines)
        if header is None:
            header = [h.strip() for h in next(rows)]
            geometry = _Geometry(header)
        yield _features(rows, header, geometry)
    buffer += decoder.decode(b"", final=True)
    if buffer.strip():
        rows = csv.reader(buffer.splitlines(keepends=True))
        if header is None:
            header = [h.strip() for h in next(rows)]
            geometry = _Geometry(header)
        yield _features(rows, header, geometry)
