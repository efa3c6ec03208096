"""Generate the whole demo city, deterministically from a seed, as rows per collection."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cityassets.catalogue import COLLECTIONS, class_code
from cityassets.demo import assets, layout
from cityassets.demo.districts import load_districts
from cityassets.demo.names import ORGANISATIONS

SEED = 20_261_123
ACTOR = "demo-loader"
#: Load order: referenced rows first (organisations, then lamp poles before their devices).
ORDER = ("organisations", "districts", "grid_cells", "green_spaces", "residential_areas", "roads", "facilities",
         "manholes", "trees", "lamp_poles", "pole_devices", "toilets", "street_furniture")
ASSETS = tuple(c for c in ORDER if COLLECTIONS[c].is_asset)


@dataclass(frozen=True)
class DemoCity:
    """Rows per collection id; each row is a dict of column values plus `geom` (shapely, storage CRS)."""

    srid: int
    seed: int
    layers: dict[str, list[dict]]

    def counts(self) -> dict[str, int]:
        """Rows per collection."""
        return {k: len(v) for k, v in self.layers.items()}


@lru_cache(maxsize=4)
def generate(srid: int, seed: int = SEED) -> DemoCity:
    """The demo city. Same seed and SRID -> identical rows (asset codes as a fresh database allocates them)."""
    rng = np.random.default_rng(seed)
    frame = layout.Frame(srid, load_districts(srid))
    cells = [c for c in layout.grid_cells(frame) if frame.district_of_geoms([c["geom"]])[0] == c["district_code"]]
    frame.set_cells(cells)
    # The demo's built-up area is the gridded central box: per-district densities divide by it.
    for d in frame.districts:
        area = sum(c["geom"].area for c in cells if c["district_code"] == d["code"])
        d["built_up_km2"] = round(area / 1e6, 2) if area else None
    road_rows = _with_district(frame, layout.roads(frame, rng))
    land = layout.land(frame, rng)
    green = _with_district(frame, land.green)
    roads = assets.Roads(road_rows)
    stops = layout.bus_stops(road_rows, rng)
    facilities = _with_district(frame, land.facilities + stops)
    poles, devices = assets.lamp_poles(frame, roads, rng)
    layers = {
        "organisations": _organisations(cells, seed),
        "districts": frame.districts,
        "grid_cells": cells,
        "green_spaces": green,
        "residential_areas": _with_district(frame, land.residential),
        "roads": road_rows,
        "facilities": facilities,
        "manholes": assets.manholes(frame, roads, rng),
        "trees": assets.trees(frame, roads, rng),
        "lamp_poles": poles,
        "pole_devices": devices,
        "toilets": assets.toilets(frame, roads, rng, green),
        "street_furniture": assets.street_furniture(frame, roads, rng, [s for s in facilities if s["category"] == "bus_stop"],
                                                    green),
    }
    _assign_codes(layers)
    return DemoCity(srid, seed, layers)


def _organisations(cells: list[dict], seed: int) -> list[dict]:
    """The register, each unit with an office in a grid cell of the central city (own stream: other layers keep theirs)."""
    rng = np.random.default_rng(seed + 1)
    offices = rng.choice(len(cells), size=len(ORGANISATIONS), replace=False)
    return [{"code": c, "name_zh": zh, "name_en": en, "org_type": t, "parent_code": p, "contact_phone": ph,
             "complaint_phone": cp, "geom": cells[int(i)]["geom"].centroid}
            for (c, zh, en, t, p, ph, cp), i in zip(ORGANISATIONS, offices)]


def _with_district(frame: layout.Frame, rows: list[dict]) -> list[dict]:
    """Rows with the district containing their point-on-surface; empty rows and rows outside every district dropped."""
    # Clipping leaves slivers; areas under 100 m2 are not worth a feature.
    rows = [r for r in rows if not r["geom"].is_empty and (r["geom"].geom_type != "MultiPolygon" or r["geom"].area > 100)]
    codes = frame.district_of_geoms([r["geom"] for r in rows])
    return [{**r, "district_code": c} for r, c in zip(rows, codes) if c is not None]


def _assign_codes(layers: dict[str, list[dict]]) -> None:
    """Asset codes as a fresh database would allocate them (serials from 1 per prefix, in row order)."""
    for cid in ASSETS:
        serial: dict[str, int] = {}
        for row in layers[cid]:
            prefix = row["district_code"] + class_code(COLLECTIONS[cid], row)
            serial[prefix] = serial.get(prefix, 0) + 1
            row["asset_code"] = f"{prefix}{serial[prefix]:06d}"
    poles = layers["lamp_poles"]
    for dev in layers["pole_devices"]:
        dev["pole_code"] = poles[dev["pole_index"]]["asset_code"]
