"""Write the demo city's layers to GeoJSON or GeoPackage files (survey-upload tests, OGC kits)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from cityassets.catalogue import COLLECTIONS
from cityassets.demo.generate import ORDER, DemoCity

#: Generator bookkeeping that is not a published field.
INTERNAL = ("pole_index",)


def frame(city: DemoCity, cid: str, crs: str = "OGC:CRS84") -> gpd.GeoDataFrame:
    """One layer as a GeoDataFrame in `crs` (dates as ISO strings, GeoJSON has no date type)."""
    rows = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items() if k not in INTERNAL}
            for r in city.layers[cid]]
    geoms = [r.pop("geom", None) for r in rows]
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=f"EPSG:{city.srid}").to_crs(crs)
    # Nullable dtypes keep integers integral and booleans boolean next to missing values.
    for f in COLLECTIONS[cid].fields:
        if f.name in gdf and f.type in ("integer", "boolean"):
            gdf[f.name] = gdf[f.name].astype("Int64" if f.type == "integer" else "boolean")
    return gdf


def write(city: DemoCity, out: Path, fmt: str = "geojson", crs: str = "OGC:CRS84") -> list[Path]:
    """One GeoJSON file per collection, or one GeoPackage with a layer per collection."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for cid in ORDER:
        gdf = frame(city, cid, crs)
        if fmt == "gpkg":
            path = out / "demo_city.gpkg"
            gdf.to_file(path, layer=cid, driver="GPKG")
        else:
            path = out / f"{cid}.geojson"
            gdf.to_file(path, driver="GeoJSON")
        if path not in written:
            written.append(path)
    return written
