"""cityassets.coverage.report: one printable HTML page with every indicator per district and small gap maps."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
from typing import Any

import asyncpg
import numpy as np
from jinja2 import Environment, select_autoescape

from cityassets.coverage import engine, gaps, radius, siting
from cityassets.coverage.catalogue import Indicator, indicators

TEMPLATE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>城市规划指标报告 / Planning indicators</title>
<style>
 body{font:12px/1.4 "Noto Sans CJK SC",sans-serif;margin:1.5em;color:#222}
 h1{font-size:18px} h2{font-size:14px;margin:1.2em 0 .3em;break-after:avoid}
 table{border-collapse:collapse;margin:.3em 0} td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}
 th:first-child,td:first-child{text-align:left} .met{color:#1a7f37;font-weight:bold} .not{color:#c0392b;font-weight:bold}
 .ind{break-inside:avoid;display:flex;gap:1em;align-items:flex-start} .src{color:#666;font-size:10px}
 img{width:260px;border:1px solid #ddd} @media print{body{margin:0}}
</style></head><body>
<h1>城市规划指标报告 · Planning indicators{% if district %} · {{ district }}{% endif %}</h1>
<p>As of {{ as_of }} · Euclidean service radii · {{ results|length }} indicators ·
 met {{ results|selectattr("met", "equalto", true)|list|length }}, not met {{ results|selectattr("met", "equalto", false)|list|length }}</p>
<table><tr><th>indicator</th><th>value</th><th>target</th><th>met</th></tr>
{% for r in results %}<tr><td>{{ r.title_zh }} · {{ r.title_en }}</td><td>{{ fmt(r.value) }} {{ unit(r) }}</td>
<td>{{ r.target_op }} {{ fmt(r.target) }}</td><td>{{ badge(r.met) }}</td></tr>{% endfor %}</table>
{% for r in results %}<div class="ind"><div>
<h2>{{ r.title_zh }} · {{ r.title_en }} — {{ fmt(r.value) }} {{ unit(r) }} {{ badge(r.met) }}</h2>
{% set shares = r.population_share is defined and r.population_share is not none %}
<table><tr><th>district</th><th>value</th><th>met</th>{% if shares %}<th>area %</th><th>population %</th>{% endif %}
{% for c in r.component_names %}<th>{{ c }}</th>{% endfor %}</tr>
{% for d in r.by_district %}<tr><td>{{ d.district_code }}</td><td>{{ fmt(d.value) }}</td><td>{{ badge(d.met) }}</td>
{% if shares %}<td>{{ fmt(d.area_share) }}</td><td>{{ fmt(d.population_share) }}</td>{% endif %}
{% for c in r.component_names %}<td>{{ fmt(d.components[c].value) if d.components and c in d.components else "" }}</td>{% endfor %}</tr>{% endfor %}
</table><div class="src">target {{ r.target_op }} {{ fmt(r.target) }} {{ UNITS[r.unit] }} · {{ r.source }}</div></div>
{% if maps.get(r.id) %}<img alt="gap map {{ r.id }}" src="data:image/png;base64,{{ maps[r.id] }}">{% endif %}
</div>{% endfor %}
</body></html>"""


UNITS = {"%": "%", "per_km2": "/km²", "m2_per_person": "m²/person"}


def _unit(r: dict[str, Any]) -> str:
    return "" if r["value"] is None else UNITS[r["unit"]]


def _fmt(v: Any) -> str:
    return "—" if v is None else f"{v:,.2f}" if isinstance(v, float) else str(v)


def _badge(met: bool | None) -> Any:
    from markupsafe import Markup

    return Markup({True: '<span class="met">✔ met</span>', False: '<span class="not">✘ not met</span>'}.get(met, "—"))


def _parts(geom: Any) -> list[Any]:
    """The polygons of a polygon or multipolygon."""
    return list(getattr(geom, "geoms", [geom]))


def _png(outlines: list[dict[str, Any]], polygons: list[dict[str, Any]], points: list[tuple[float, float, float]]) -> str:
    """A small map: district outlines, gap polygons (red) or uncovered parcels sized by population."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shapely
    from matplotlib.collections import LineCollection, PolyCollection
    from shapely.geometry import shape

    fig, ax = plt.subplots(figsize=(3.2, 3.2), dpi=90)
    rings = [np.asarray(p.exterior.coords) for g in outlines for p in getattr(shape(g), "geoms", [shape(g)])]
    ax.add_collection(LineCollection(rings, colors="#555", linewidths=0.6))
    # One collection for all gap polygons (hundreds of separate fill() calls took a second), each simplified to
    # ~10 m, below a pixel of a 260 px map of a city.
    fills = [np.asarray(p.exterior.coords) for g in polygons for p in _parts(shapely.simplify(shape(g), 1e-4))
             if not p.is_empty]
    if fills:
        ax.add_collection(PolyCollection(fills, facecolors="#c0392b", alpha=0.6, linewidths=0))
    ax.autoscale_view()
    if points:
        xs, ys, ws = zip(*points, strict=True)
        top = max(ws) or 1.0
        ax.scatter(xs, ys, s=[1 + 12 * w / top for w in ws], color="#c0392b", alpha=0.5, lw=0)
    lats = [y for g in outlines for y in shapely.get_coordinates(shape(g))[:, 1]]
    # Degrees of longitude are shorter than degrees of latitude by cos(latitude).
    ax.set_aspect(1 / math.cos(math.radians(sum(lats) / len(lats))) if lats else "equal")
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


async def _map(conn: asyncpg.Connection, ind: Indicator, district: str | None, outlines: list[dict[str, Any]]) -> str | None:
    p = ind.bind({})
    if ind.rule == "point_density" or (ind.rule == "radius_coverage" and p.get("denominator") == "built_up"):
        rows = await gaps.gap_rows(conn, ind.id, {}, district, 500)
        return await asyncio.to_thread(_png, outlines, [json.loads(r["geometry"]) for r in rows], [])
    if ind.rule != "radius_coverage":
        return None
    spec = radius.facility_spec(ind.facilities, p)
    # Uncovered population summed on a 250 m grid: a few thousand dots instead of every parcel.
    rows = await conn.fetch(
        f"SELECT ST_X(g) AS x, ST_Y(g) AS y, a.pop FROM (SELECT round(d.x / 250) * 250 AS gx, round(d.y / 250) * 250 AS gy, "
        f"sum(d.pop) AS pop FROM ({siting.DEMAND}) d GROUP BY 1, 2) a "
        "CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(a.gx, a.gy), $3::int), 4326) AS g) t",
        spec.key, district, siting.COLLECTIONS["roads"].table.c.geom.type.srid)  # type: ignore[attr-defined]
    return await asyncio.to_thread(_png, outlines, [], [(r["x"], r["y"], r["pop"] or 0.0) for r in rows])


async def results(conn: asyncpg.Connection, district: str | None = None) -> list[dict[str, Any]]:
    """Every indicator with default parameters."""
    out = []
    for ind in indicators().values():
        r = await engine.compute(conn, ind.id, {}, district)
        names: list[str] = []
        for d in r["by_district"]:
            names += [c for c in (d.get("components") or {}) if c not in names]
        out.append({**r, "component_names": names})
    return out


async def render(conn: asyncpg.Connection, district: str | None = None, maps: bool = True) -> str:
    """The report page as HTML (maps embedded as PNG)."""
    res = await results(conn, district)
    images: dict[str, str] = {}
    if maps:
        outlines = [json.loads(r["g"]) for r in await conn.fetch(
            f"SELECT ST_AsGeoJSON(ST_Transform(geom, 4326)) AS g FROM {radius.DISTRICTS} "
            "WHERE retired_at IS NULL AND ($1::text IS NULL OR code = $1)", district)]
        for ind in indicators().values():
            png = await _map(conn, ind, district, outlines)
            if png:
                images[ind.id] = png
    env = Environment(autoescape=select_autoescape(default=True))
    return env.from_string(TEMPLATE).render(results=res, maps=images, district=district, fmt=_fmt, badge=_badge, unit=_unit, UNITS=UNITS,
                                            as_of=res[0]["as_of"] if res else "")
