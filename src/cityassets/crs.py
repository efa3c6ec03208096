"""cityassets.crs: CRS names, cached pyproj transformers, and the GCJ-02 / BD-09 offsets.

GCJ-02 (AMap, Tencent) and BD-09 (Baidu) are not EPSG CRSs and PROJ does not know them: they
are an obfuscation of WGS84 (domain-model.md §2.8). Forward formulas follow
wandergis/coordTransform_py; the inverse is solved exactly by fixed-point iteration (the one-step
inverse leaves ~1.5 m error at Zhengzhou), converging below 1e-9 degrees (~0.1 mm).
"""

from __future__ import annotations

import math
import re
import threading
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer

from cityassets.errors import InvalidRequest

OFFSET_CRS = ("GCJ02", "BD09")
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

_EPSG_FORMS = (
    re.compile(r"^EPSG:(\d+)$", re.I),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.I),
    re.compile(r"^urn:x-ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.I),
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/[\d.]+/(\d+)$", re.I),
    re.compile(r"^https?://www\.opengis\.net/gml/srs/epsg\.xml#(\d+)$", re.I),
)
_CRS84_FORMS = {
    "crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84", "https://www.opengis.net/def/crs/ogc/1.3/crs84",
}


def parse_crs(name: str) -> str:
    """Normalise a CRS name to 'CRS84', 'GCJ02', 'BD09' or 'EPSG:<n>' (400 when unknown)."""
    raw = name.strip()
    key = raw.lower().replace("-", "")
    if key in _CRS84_FORMS:
        return "CRS84"
    if key in ("gcj02", "gcj"):
        return "GCJ02"
    if key in ("bd09", "bd09ll", "baidu"):
        return "BD09"
    for form in _EPSG_FORMS:
        m = form.match(raw)
        if m:
            code = int(m.group(1))
            _known_epsg(code)
            return f"EPSG:{code}"
    raise InvalidRequest(f"unknown CRS '{name}': use EPSG:<code>, an OGC URI, CRS84, GCJ02 or BD09")


@lru_cache(maxsize=256)
def _known_epsg(code: int) -> CRS:
    try:
        return CRS.from_epsg(code)
    except Exception:
        raise InvalidRequest(f"unknown CRS 'EPSG:{code}'") from None


def srid_of(crs: str) -> int:
    """SRID for a normalised name (CRS84 -> 4326, which PostGIS treats as lon/lat)."""
    if crs == "CRS84":
        return 4326
    if crs in OFFSET_CRS:
        raise InvalidRequest(f"{crs} is an offset of WGS84, not a CRS the database can transform")
    return int(crs.split(":", 1)[1])


def crs_uri(crs: str) -> str:
    """The OGC http URI of a normalised CRS name (OGC API Part 2 form)."""
    if crs == "CRS84":
        return CRS84_URI
    return f"http://www.opengis.net/def/crs/EPSG/0/{srid_of(crs)}"


def is_lat_lon(crs: str) -> bool:
    """True when the authority axis order is northing/latitude first (EPSG:4326, 4490, 4547...)."""
    if crs in ("CRS84", *OFFSET_CRS):
        return False
    axis = _known_epsg(srid_of(crs)).axis_info
    return bool(axis) and axis[0].direction.lower() in ("north", "south")


def is_geographic(crs: str) -> bool:
    """True for lon/lat CRSs (degrees)."""
    if crs in ("CRS84", *OFFSET_CRS):
        return True
    return _known_epsg(srid_of(crs)).is_geographic


_BUILDING = threading.Lock()


def transformer(src: str, dst: str) -> Transformer:
    """A cached transformer between two normalised CRS names, always x=lon/easting first.

    Built under a lock: an upload's first batches run in several worker threads at once, and each
    missed the cache and searched proj.db for the same operation (~0.35 s each, py-spy).
    """
    with _BUILDING:
        return _transformer(src, dst)


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    def to_pyproj(c: str) -> CRS:
        return CRS.from_user_input("OGC:CRS84") if c == "CRS84" else _known_epsg(srid_of(c))

    chosen = Transformer.from_crs(to_pyproj(src), to_pyproj(dst), always_xy=True)
    # pyproj keeps one PROJ object per thread and rebuilds it on a thread's first use. Rebuilt from two CRSs
    # that is a search of proj.db for the operation, ~350 ms per thread (uploads validate in worker threads);
    # rebuilt from the PROJ string of the operation found here it takes ~1 ms and gives the same numbers. Only
    # when PROJ settled on one operation: with several candidates (grids by area of use) the definition is not
    # a single pipeline and the CRS-built transformer stays.
    definition = chosen.definition
    if definition.startswith("proj=") and "unavailable" not in definition:
        return Transformer.from_pipeline(definition)
    return chosen


# --- GCJ-02 / BD-09 ---------------------------------------------------------------------------
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * math.pi) + 320 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * math.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat):
    """WGS84 lon/lat -> GCJ-02 (arrays or scalars)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, tol: float = 1e-9, max_iter: int = 30):
    """GCJ-02 -> WGS84, the exact inverse: iterate w <- w + (g - f(w)) until |g - f(w)| < tol."""
    glon, glat = np.asarray(lon, float), np.asarray(lat, float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - flon, glat - flat
        wlon, wlat = wlon + elon, wlat + elat
        if float(np.max(np.abs(elon), initial=0.0)) < tol and float(np.max(np.abs(elat), initial=0.0)) < tol:
            break
    return wlon, wlat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, tol: float = 1e-10, max_iter: int = 30):
    """BD-09 -> GCJ-02, exact inverse by iteration of the forward formula."""
    blon, blat = np.asarray(lon, float), np.asarray(lat, float)
    glon, glat = blon - 0.0065, blat - 0.006
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon, elat = blon - flon, blat - flat
        glon, glat = glon + elon, glat + elat
        if float(np.max(np.abs(elon), initial=0.0)) < tol and float(np.max(np.abs(elat), initial=0.0)) < tol:
            break
    return glon, glat


def wgs84_to_bd09(lon, lat):
    """WGS84 -> BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 -> WGS84 (exact inverses of both steps)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_storage(xs, ys, src: str, storage_srid: int):
    """Arrays of coordinates in a normalised CRS -> the storage CRS (x=easting)."""
    if src == "GCJ02":
        xs, ys = gcj02_to_wgs84(xs, ys)
        src = "CRS84"
    elif src == "BD09":
        xs, ys = bd09_to_wgs84(xs, ys)
        src = "CRS84"
    if src == f"EPSG:{storage_srid}":
        return np.asarray(xs, float), np.asarray(ys, float)
    return transformer(src, f"EPSG:{storage_srid}").transform(np.asarray(xs, float), np.asarray(ys, float))
