"""cityassets.coverage.engine: compute one indicator (city value, per district, per grid/owner) from the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from cityassets.coverage import counts, gaps, linear, network, radius
from cityassets.coverage.catalogue import Indicator, get_indicator
from cityassets.errors import InvalidRequest

METHODS = ("euclidean", "network")
#: A rule's answer: rows per district plus the city row (total=True), and extra breakdowns (grid, owner).
Rows = tuple[list[dict[str, Any]], dict[str, Any]]


def pct(num: float | None, den: float | None) -> float | None:
    """A percentage, None when there is nothing to divide by."""
    return None if not den or num is None else round(100.0 * float(num) / float(den), 4)


def ratio(num: float | None, den: float | None, digits: int = 4) -> float | None:
    """A plain ratio, None when there is nothing to divide by."""
    return None if not den or num is None else round(float(num) / float(den), digits)


def _component(value: float | None, target: float | None) -> dict[str, Any]:
    """One part of a multi-part indicator (class mix, registry completeness, ...)."""
    return {"value": value, "target": target, "met": None if target is None or value is None else value >= target}


def _radius_row(p: dict[str, Any], r: Any) -> dict[str, Any]:
    """Area and population shares of one district (or the city)."""
    area_share, pop_share = pct(r["covered_area"], r["area"]), pct(r["covered_pop"], r["pop"])
    return {"value": pop_share if p.get("population_weighted") else area_share, "area_share": area_share,
            "population_share": pop_share, "area_m2": round(r["area"] or 0.0, 1),
            "covered_area_m2": round(r["covered_area"] or 0.0, 1),
            "population": r["pop"], "covered_population": None if r["covered_pop"] is None else round(r["covered_pop"], 1)}


async def _radius(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    spec = radius.facility_spec(ind.facilities, p)
    extra: dict[str, Any] = {}
    if method == "network":
        rows = await network.residential(conn, spec, district)
    elif p.get("denominator") == "built_up":
        rows = await radius.built_up(conn, spec, district)
    else:
        rows = await radius.residential(conn, spec, district)
        grid = [{"grid_code": g["grid_code"], "district_code": g["district_code"], **_radius_row(p, g)}
                for g in await radius.residential_grid(conn, spec, district)]
        extra = {"by_grid_cell": [dict(g, target=ind.target, met=ind.met(g["value"])) for g in grid]}
    out = [{"district_code": r["district_code"], "total": r["total"], **_radius_row(p, r)} for r in rows]
    if rows and not any(r["total"] for r in rows):  # districts only: add the city row
        area, cov = sum(r["area"] for r in rows), sum(r["covered_area"] for r in rows)
        out.append({"district_code": None, "total": True, **_radius_row(
            p, {"area": area, "covered_area": cov, "pop": None, "covered_pop": None})})
    return out, extra


def road_specs(ind: Indicator, p: dict[str, Any]) -> dict[str, radius.Spec]:
    """One toilet selection per road group, each with its own radius."""
    return {g: radius.facility_spec(ind.facilities, p, p[f"{g}_radius_m"]) for g in ("main", "other", "park_path")}


async def _roads(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    rows = await linear.roads(conn, road_specs(ind, p), district)
    by: dict[tuple[bool, str | None], dict[str, Any]] = {}
    for r in rows:
        e = by.setdefault((r["total"], r["district_code"]), {"district_code": r["district_code"], "total": r["total"],
                                                              "length_m": 0.0, "covered_length_m": 0.0, "components": {}})
        e["length_m"] += r["length"]
        e["covered_length_m"] += r["covered_length"]
        e["components"][r["grp"]] = {**_component(pct(r["covered_length"], r["length"]), ind.target),
                                     "length_m": round(r["length"], 1)}
    for e in by.values():
        e["value"] = pct(e["covered_length_m"], e["length_m"])
    return sorted(by.values(), key=lambda e: (e["total"], e["district_code"] is None, e["district_code"] or "")), {}


async def _density(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    rows = [dict(r, value=ratio(r["count"], r["km2"])) for r in await counts.toilet_density(conn, p, district)]
    grid = [dict(r, value=ratio(r["count"], r["km2"]), met=ind.met(ratio(r["count"], r["km2"])))
            for r in await counts.toilet_density_grid(conn, p, district)]
    # Land farther than gap_radius_m from every counted toilet, and the people living there (the gap map's totals).
    gap = await gaps.totals(conn, radius.facility_spec(ind.facilities, p, p["gap_radius_m"]), district)
    # The national planning standard's 5 per km² is reported next to the plan's 6 (GB/T 50337-2018).
    for r in rows:
        r["components"] = {"national_standard": _component(r["value"], 5.0)}
        g = gap.get(None if r["total"] else r["district_code"])
        r["gap_area_km2"] = round(g["area"] / 1e6, 6) if g else 0.0
        r["gap_population"] = round(g["pop"], 1) if g else 0.0
    return rows, {"by_grid_cell": grid}


async def _mix(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    out = []
    for r in await counts.toilet_mix(conn, p, district):
        i, ii = pct(r["class_i"], r["n"]), pct(r["class_ii"], r["n"])
        # CJJ 14 class mix (local plan): I ≥ 30 %, II ≥ 50 %, the rest class III or better.
        out.append(dict(r, value=i, components={
            "class_i": _component(i, p["class_i_min"]), "class_ii": _component(ii, p["class_ii_min"]),
            "class_iii_or_better": _component(pct(r["class_iii_or_better"], r["n"]), 100.0),
            "family_room": _component(pct(r["family_room"], r["n"]), None),
            "open_24h": _component(pct(r["open_24h"], r["n"]), None)}))
    return out, {}


async def _led(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    return [dict(r, value=pct(r["led"], r["n"])) for r in await counts.led_share(conn, p, district)], {}


async def _light_on(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    out = []
    for r in await counts.light_on(conn, p, district):
        out.append(dict(r, value=pct(r["main_on"] + r["branch_on"], r["main_n"] + r["branch_n"]), components={
            "main": _component(pct(r["main_on"], r["main_n"]), p["main_min"]),
            "branch": _component(pct(r["branch_on"], r["branch_n"]), p["branch_min"])}))
    return out, {}


async def _intact(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    return [dict(r, value=pct(r["intact"], r["n"])) for r in await counts.intact(conn, p, district)], {}


def _manhole_row(r: Any) -> dict[str, Any]:
    n = r["n"]
    return dict(r, value=pct(r["confirmed"], n), components={
        "ownership_confirmed": _component(pct(r["confirmed"], n), 100.0),
        "owner_mark": _component(pct(r["marked"], n), 100.0),
        "valid_asset_code": _component(pct(r["valid_code"], n), 100.0),
        "ownerless": _component(pct(r["ownerless"], n), None),
        "defective_covers": _component(pct(r["defective"], n), None)})


async def _manholes(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    rows = [dict(_manhole_row(r), district_code=r["key"]) for r in await counts.manholes(conn, p, district, "district_code")]
    owners = [dict(_manhole_row(r), owner=r["key"]) for r in await counts.manholes(conn, p, district, "owner")
              if not r["total"]]
    for o in owners:
        o.pop("key")
        o["met"] = ind.met(o["value"])
    for r in rows:
        r.pop("key")
    return rows, {"by_owner": owners}


async def _trees(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    out = []
    for r in await counts.trees(conn, p, district):
        out.append(dict(r, value=pct(r["chipped"], r["alive"]), components={
            "chipped": _component(pct(r["chipped"], r["alive"]), None),
            "grate": _component(pct(r["grate"], r["n"]), None),
            "dead_or_vacant": _component(pct(r["dead_or_vacant"], r["n"]), None),
            "trees_per_road_km": _component(ratio(r["alive"], r["road_km"], 2), None)}))
    return out, {}


async def _per_capita(conn: asyncpg.Connection, ind: Indicator, p: dict[str, Any], district: str | None,
        method: str) -> Rows:
    return [dict(r, value=ratio(r["park_m2"], r["pop"], 3)) for r in await counts.park_per_capita(conn, p, district)], {}


RULES = {"radius_coverage": _radius, "road_coverage": _roads, "point_density": _density, "toilet_mix": _mix,
         "led_share": _led, "light_on_rate": _light_on, "intact_rate": _intact, "manhole_registry": _manholes,
         "tree_registry": _trees, "park_per_capita": _per_capita}


def _clean(v: Any) -> Any:
    return float(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, bool | int) else v


async def compute(conn: asyncpg.Connection, indicator_id: str, overrides: dict[str, Any] | None = None,
                  district: str | None = None, method: str = "euclidean") -> dict[str, Any]:
    """The indicator's value, target and met, per district (and grid cell / owner where it applies)."""
    ind = get_indicator(indicator_id)
    if method not in METHODS:
        raise InvalidRequest(f"method must be one of {', '.join(METHODS)}")
    if method == "network" and ind.rule != "radius_coverage":
        raise InvalidRequest(f"indicator '{ind.id}' has no network variant (only service-radius indicators do)")
    if method == "network" and (overrides or {}).get("denominator") == "built_up":
        raise InvalidRequest("method=network measures residential parcels: use denominator=residential")
    if district is not None and not (district.isdigit() and len(district) == 6):
        raise InvalidRequest("district must be a 6-digit district code")
    p = ind.bind(overrides or {})
    if method == "network":
        p["denominator"] = "residential"
    rows, extra = await RULES[ind.rule](conn, ind, p, district, method)
    city = next((r for r in rows if r.get("total")), None)
    by_district = []
    for r in rows:
        if r.get("total"):
            continue
        r = {k: _clean(v) for k, v in r.items() if k != "total"}
        by_district.append({"district_code": r.pop("district_code"), **r, "target": ind.target,
                            "met": ind.met(r.get("value")), "unit": ind.unit})
    value = city["value"] if city else None
    out = {"id": ind.id, "title_zh": ind.title_zh, "title_en": ind.title_en, "unit": ind.unit, "value": value,
           "target": ind.target, "target_op": ind.target_op, "met": ind.met(value), "method": method,
           "district": district, "parameters": {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()},
           "source": ind.source, "as_of": datetime.now(UTC).isoformat(timespec="seconds")}
    if city:
        out.update({k: _clean(v) for k, v in city.items() if k not in ("value", "total", "district_code")})
    out["by_district"] = by_district
    out.update(extra)
    return out
