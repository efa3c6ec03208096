"""cityassets.repository.derive: SQL for values the registry derives from a position.

Shared by single-feature writes and bulk uploads so both answer the same way: the district and
unit grid cell containing a feature, and the 16-digit asset code prefix.
"""

from __future__ import annotations

from cityassets.catalogue import Collection, class_code


def _anchor(geom_sql: str, point: bool) -> str:
    # A point is its own point-on-surface; skipping the GEOS round trip matters for bulk uploads.
    return geom_sql if point else f"ST_PointOnSurface({geom_sql})"


def district_of(geom_sql: str, point: bool = False) -> str:
    """SQL expression: code of the live district containing `geom_sql` (point-on-surface for areas).

    A point on a shared boundary lies in both districts: the lower code wins. `min` rather than
    ORDER BY ... LIMIT 1: no sort node to run again for every row of a bulk upload (16,384 points:
    31.6 -> 25.5 ms for the district, 14.7 -> 10.7 ms for the grid cell).
    """
    return (
        "(SELECT min(d.code) FROM districts d WHERE d.retired_at IS NULL "
        f"AND ST_Intersects(d.geom, {_anchor(geom_sql, point)}))"
    )


def grid_cell_of(geom_sql: str, point: bool = False) -> str:
    """SQL expression: code of the live unit grid cell containing `geom_sql` (lower code on a boundary)."""
    return (
        "(SELECT min(g.code) FROM grid_cells g WHERE g.retired_at IS NULL "
        f"AND ST_Intersects(g.geom, {_anchor(geom_sql, point)}))"
    )


def code_prefix(collection: Collection, district_code: str, props: dict) -> str:
    """10-digit prefix of a new asset code: district + major + minor class."""
    return f"{district_code}{class_code(collection, props)}"


#: Allocate `n` new codes for a prefix in one call: SELECT cityassets_next_codes($1, $2).
NEXT_CODES_SQL = "SELECT cityassets_next_codes($1::text, $2::int)"
