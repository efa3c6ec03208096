"""cityassets.ingest.ogr: GeoPackage and zipped Shapefile bodies, read with pyogrio in slices.

These formats need random access, so the (size-capped) body is spooled to a temporary file first.
The file's own CRS (.prj, GeoPackage SRS) wins over the `crs` parameter.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyogrio
import shapely
from pyogrio.errors import DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError

from cityassets.errors import InvalidRequest, PayloadTooLarge
from cityassets.settings import Settings

SLICE = 8192
MAX_ZIP_ENTRIES = 64


async def _spool(body: AsyncIterator[bytes], folder: Path) -> Path:
    path = folder / "upload.bin"
    with path.open("wb") as fh:
        async for chunk in body:
            fh.write(chunk)
    return path


def _unzip(path: Path, folder: Path, max_bytes: int) -> Path:
    """Extract a zipped Shapefile after checking entry count and declared sizes (zip bombs)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InvalidRequest("the body is not a zip archive") from None
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        if len(entries) > MAX_ZIP_ENTRIES:
            raise PayloadTooLarge(f"the zip holds more than {MAX_ZIP_ENTRIES} files")
        if sum(e.file_size for e in entries) > max_bytes:
            raise PayloadTooLarge(f"the zip expands beyond {max_bytes:,} bytes")
        shp = None
        for e in entries:
            name = os.path.basename(e.filename)  # never trust paths inside an archive (zip slip)
            if not name or name.startswith("."):
                continue
            written = 0
            with archive.open(e) as src, (folder / name).open("wb") as dst:
                # Declared sizes can lie: count what really comes out.
                while block := src.read(1 << 20):
                    written += len(block)
                    if written > e.file_size or written > max_bytes:
                        raise PayloadTooLarge("a zip entry expands beyond its declared size")
                    dst.write(block)
            if name.lower().endswith(".shp"):
                shp = folder / name
    if shp is None:
        raise InvalidRequest("the zip holds no .shp file")
    return shp


def _crs_name(meta_crs: str | None, declared: str) -> str:
    """The file's CRS as a normalised name, or the declared one when the file has none."""
    if not meta_crs:
        return declared
    try:
        code = CRS.from_user_input(meta_crs).to_epsg(min_confidence=70)
    except CRSError:
        code = None
    if code is None:
        raise InvalidRequest("the file's CRS has no EPSG equivalent; reproject it or send GeoJSON with ?crs=")
    return "CRS84" if code == 4326 else f"EPSG:{code}"


def _plain(v: Any) -> Any:
    """pyogrio cell -> JSON-like value: OGR has no NaN, it means null; dates travel as ISO text."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


async def _slices(path: Path, folder: Path, total: int) -> AsyncIterator[list[dict[str, Any]]]:
    try:
        for start in range(0, total, SLICE):
            meta, _, wkb, data = pyogrio.raw.read(path, skip_features=start, max_features=SLICE)
            geoms = shapely.to_geojson(shapely.from_wkb(wkb))
            names = list(meta["fields"])
            columns = [np.asarray(col).tolist() for col in data]
            out = []
            for i, g in enumerate(geoms.tolist()):
                props = {n: _plain(col[i]) for n, col in zip(names, columns)}
                out.append(
                    {
                        "type": "Feature",
                        "geometry": orjson.loads(g) if g else None,
                        "properties": {k: v for k, v in props.items() if v is not None},
                    }
                )
            yield out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def open_file(body: AsyncIterator[bytes], kind: str, declared: str, s: Settings):
    """A Source over a GeoPackage or zipped Shapefile body."""
    from cityassets.ingest.sources import Source

    folder = Path(tempfile.mkdtemp(prefix="cityassets-upload-"))
    try:
        path = await _spool(body, folder)
        if kind == "zip":
            path = _unzip(path, folder, s.max_decompressed_bytes)
        try:
            info = pyogrio.read_info(path)
        except DataSourceError as exc:
            raise InvalidRequest(f"cannot read the {kind} file: {exc}") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Source(
        _crs_name(info.get("crs"), declared),
        _slices(path, folder, int(info.get("features") or 0)),
        dbf_names=kind == "zip",
    )
