#!/usr/bin/env python3
"""Write the demo city to files: one GeoJSON per collection (default) or one GeoPackage.

    .venv/bin/python scripts/make_demo_city.py --out build/demo [--format gpkg] [--seed N] [--crs EPSG:4547]

Asset codes are the ones a fresh database allocates when `cityassets demo load` runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cityassets.demo.export import write
from cityassets.demo.generate import SEED, generate
from cityassets.settings import get_settings


def main() -> None:
    """Parse arguments, generate, write."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/demo_city"))
    ap.add_argument("--format", choices=("geojson", "gpkg"), default="geojson")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--crs", default="OGC:CRS84", help="output CRS (default CRS84 lon/lat)")
    args = ap.parse_args()
    city = generate(get_settings().storage_srid, args.seed)
    for path in write(city, args.out, args.format, args.crs):
        print(path)


if __name__ == "__main__":
    main()
