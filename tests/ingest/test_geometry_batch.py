"""A batch's geometries: positions checked for the whole batch at once, refusals named per geometry, anchors.

`GeometryBatch.finish` checks the positions of lines and rings in C-level passes over the whole batch and
falls back to a part-by-part walk only when some position is malformed. Both must give what a geometry
built on its own gives, and refuse exactly the malformed geometries with `add`'s message. The anchors
(the point a line or an area is placed by) must be PostGIS's ST_PointOnSurface, which single writes use.
"""

from __future__ import annotations

import numpy as np
import orjson
import pytest
import shapely

from cityassets import crs as crsmod
from cityassets.ingest.geometry import GeometryBatch

EXTENT = (113.0, 34.0, 115.0, 35.5)
SRID = 4547


def _square(x: float, y: float, d: float = 0.001) -> list[list[float]]:
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


def _expected_wkb(geometry: dict, kind: str) -> bytes:
    """One geometry on its own: GEOS reads the GeoJSON, pyproj moves it to the storage CRS."""
    g = shapely.from_geojson(orjson.dumps(geometry))
    if kind == "MultiPolygon" and g.geom_type == "Polygon":
        g = shapely.multipolygons([g])
    g = shapely.force_2d(g)
    t = crsmod.transformer("CRS84", f"EPSG:{SRID}")
    g = shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return shapely.to_wkb(shapely.set_srid(g, SRID), include_srid=True)


def _finish(kind: str, geometries: list) -> tuple[list, list]:
    batch = GeometryBatch(kind, "CRS84", 10_000)
    added = [batch.add(g) for g in geometries]
    assert added == [None] * len(geometries), added
    done = batch.finish(SRID, EXTENT)
    return done.wkb, done.problems


GOOD_POLYGONS = [  # a square, one with a hole, two parts, Z values (dropped), integer coordinates
    {"type": "Polygon", "coordinates": [_square(113.75, 34.75)]},
    {"type": "Polygon", "coordinates": [_square(113.76, 34.75, 0.01), _square(113.763, 34.753, 0.002)]},
    {"type": "MultiPolygon", "coordinates": [[_square(113.77, 34.75)], [_square(113.78, 34.75)]]},
    {"type": "Polygon", "coordinates": [[[x, y, 7.5] for x, y in _square(113.79, 34.75)]]},  # Z dropped
    {"type": "Polygon", "coordinates": [[[114, 35], [114.001, 35], [114.001, 35.001], [114, 35]]]},  # ints
]


def test_polygons_equal_each_geometry_built_on_its_own():
    wkb, problems = _finish("MultiPolygon", GOOD_POLYGONS)
    assert problems == [None] * len(GOOD_POLYGONS)
    assert wkb == [_expected_wkb(g, "MultiPolygon") for g in GOOD_POLYGONS]


MALFORMED_RINGS = [
    [[113.75, 34.75], [113.751, "34.75"], [113.751, 34.751], [113.75, 34.75]],  # a string
    [[113.75, 34.75], [113.751, True], [113.751, 34.751], [113.75, 34.75]],  # a bool is not a number
    [[113.75, 34.75], [113.751], [113.751, 34.751], [113.75, 34.75]],  # one number
    [[113.75, 34.75], [113.751, 34.75, 1.0, 2.0], [113.751, 34.751], [113.75, 34.75]],  # four numbers
    [[113.75, 34.75], [[113.751, 34.75]], [113.751, 34.751], [113.75, 34.75]],  # a nested list
    [[113.75, 34.75], None, [113.751, 34.751], [113.75, 34.75]],  # null
]


@pytest.mark.parametrize("ring", MALFORMED_RINGS)
def test_a_malformed_position_refuses_its_polygon_only(ring):
    bad_multi = {"type": "MultiPolygon", "coordinates": [[_square(113.8, 34.8)], [ring]]}  # in its 2nd part
    batch = [GOOD_POLYGONS[0], {"type": "Polygon", "coordinates": [ring]}, GOOD_POLYGONS[1], bad_multi,
             GOOD_POLYGONS[2]]
    wkb, problems = _finish("MultiPolygon", batch)
    assert problems == [None, ("geometry_type", "a ring needs four or more [x, y] positions"), None,
                        ("geometry_type", "a ring needs four or more [x, y] positions"), None]
    assert wkb[1] is None and wkb[3] is None
    # The others come out as they do from a batch without the malformed ones.
    assert [wkb[0], wkb[2], wkb[4]] == _finish("MultiPolygon", [batch[0], batch[2], batch[4]])[0]


def test_lines_fast_and_part_by_part():
    good = [
        {"type": "LineString", "coordinates": [[113.75, 34.75], [113.76, 34.76], [113.77, 34.75]]},
        {"type": "LineString", "coordinates": [[113.75, 34.75, 3.0], [114, 35]]},
    ]
    wkb, problems = _finish("LineString", good)
    assert problems == [None, None] and wkb == [_expected_wkb(g, "LineString") for g in good]
    bad = {"type": "LineString", "coordinates": [[113.75, 34.75], [113.76, "x"]]}
    wkb2, problems2 = _finish("LineString", [good[0], bad, good[1]])
    assert problems2 == [None, ("geometry_type", "a LineString needs two or more [x, y] positions"), None]
    assert [wkb2[0], wkb2[2]] == wkb


def test_structure_refused_at_add_keeps_the_batch_in_step():
    batch = GeometryBatch("MultiPolygon", "CRS84", 10_000)
    unclosed = [[113.75, 34.75], [113.751, 34.75], [113.751, 34.751], [113.75, 34.7505]]
    assert batch.add({"type": "Polygon", "coordinates": [unclosed]}) == (
        "geometry_type", "a ring must be closed (RFC 7946 §3.1.6)")
    assert batch.add({"type": "Polygon", "coordinates": [unclosed[:3]]}) == (
        "geometry_type", "a ring needs four or more [x, y] positions")
    assert batch.add({"type": "Polygon", "coordinates": [[["a", 1], *unclosed[1:], ["a", 1]]]}) == (
        "geometry_type", "a ring needs four or more [x, y] positions")
    assert batch.add(GOOD_POLYGONS[1]) is None
    done = batch.finish(SRID, EXTENT)
    assert done.problems == [None] and done.wkb == [_expected_wkb(GOOD_POLYGONS[1], "MultiPolygon")]


def _shapes(n: int, seed: int = 11) -> list:
    """Convex and concave areas, areas with holes, multi-part areas and lines, around the demo city."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        k = int(rng.integers(3, 30))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(10, 400, k)
        cx, cy = rng.uniform(455_000, 480_000), rng.uniform(3_835_000, 3_860_000)
        ring = np.column_stack([cx + r * np.cos(ang), cy + r * np.sin(ang)])
        shape = shapely.Polygon(ring)
        if not shape.is_valid:
            continue
        if len(out) % 3 == 0:
            shape = shape.difference(shapely.Point(cx, cy).buffer(r.min() / 2))
        if len(out) % 5 == 0:
            shape = shapely.union(shape, shapely.Point(cx + 2_000, cy).buffer(50))
        if len(out) % 7 == 0:
            shape = shapely.LineString(ring)
        out.append(shape)
    return out


async def test_anchors_are_postgis_point_on_surface(db):
    """The upload's district and grid cell are read at the point single writes read them at."""
    shapes = _shapes(600)
    lonlat = crsmod.transformer(f"EPSG:{SRID}", "CRS84")
    for kind in ("MultiPolygon", "LineString"):
        chosen = [g for g in shapes if (g.geom_type == "LineString") == (kind == "LineString")]
        batch = GeometryBatch(kind, "CRS84", 10_000)
        for g in chosen:
            geo = shapely.transform(g, lambda xy: np.column_stack(lonlat.transform(xy[:, 0], xy[:, 1])))
            assert batch.add(orjson.loads(shapely.to_geojson(geo))) is None
        done = batch.finish(SRID, EXTENT)
        assert done.problems == [None] * len(chosen)
        expected = await db.fetch(
            "SELECT ST_AsEWKB(ST_PointOnSurface(ST_GeomFromEWKB(w))) AS p FROM unnest($1::bytea[]) "
            "WITH ORDINALITY u(w, o) ORDER BY o",
            done.wkb,
        )
        assert done.anchors == [r["p"] for r in expected], kind
