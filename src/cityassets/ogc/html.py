"""cityassets.ogc.html: HTML views of the OGC API pages for people who open the URL in a browser.

Routes here only match when HTML is asked for, with `f=html` or an Accept header that prefers
text/html (Features /req/html; ogc-interop P10): no Accept, `*/*` or JSON keep the JSON routes.
Each view renders what the JSON endpoint returns, so both always agree; the map is an inline SVG.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.routing import Match
from starlette.types import Scope

from cityassets.api.deps import ReadPrincipal, SessionDep, SettingsDep
from cityassets.catalogue import get_collection
from cityassets.ogc import common, features
from cityassets.ogc.common import base_url

_JSON_TYPES = ("application/json", "application/geo+json")


def wants_html(scope: Scope) -> bool:
    """`f=html`, or text/html ranked above every JSON type in Accept (RFC 9110 §12.5.1 q-values)."""
    f = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("f")
    if f:
        return f.lower() == "html"
    accept = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"accept"), "")
    best_html = best_json = 0.0
    for part in accept.split(","):
        media, *rest = part.strip().split(";")
        q = next((_q(p) for p in rest if p.strip().startswith("q=")), 1.0)
        media = media.strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, q)
        elif media in _JSON_TYPES:
            best_json = max(best_json, q)
    return best_html > 0 and best_html >= best_json


def _q(param: str) -> float:
    try:
        return float(param.split("=", 1)[1])
    except ValueError:
        return 0.0


class HTMLRoute(APIRoute):
    """A route that matches only requests asking for HTML, so the JSON route behind it serves the rest."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Defer to the JSON route unless HTML is wanted."""
        if scope["type"] != "http" or not wants_html(scope):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(route_class=HTMLRoute, include_in_schema=False)
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())
common.CONFORMANCE.extend(["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
                           "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html"])


def _render(request: Request, template: str, title: str, doc: dict[str, Any], crumbs: list[tuple[str, str]],
            json_type: str = common.JSON, **extra: Any) -> HTMLResponse:
    root = base_url(request)
    as_html = request.query_params.get("f") == "html"
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "f"]
    json_href = f"{root}{request.url.path}?{urlencode([*items, ('f', 'json')])}"

    def h(href: str) -> str:
        """Keep `f=html` on links when the page was asked for that way."""
        return href + ("&" if "?" in href else "?") + "f=html" if as_html and "f=" not in href else href

    env = _env.overlay()
    env.filters["h"] = h
    page = env.get_template(template).render(
        title=title, doc=doc, root=root, json_href=json_href, json_type=json_type,
        crumbs=[(label, h(root + path)) for label, path in crumbs], **extra)
    return HTMLResponse(page, headers={"Vary": "Accept", "Cache-Control": "no-cache"})


def _body(response: Any) -> dict[str, Any]:
    return orjson.loads(response.body)


@router.get("/")
async def landing(request: Request, settings: SettingsDep, principal: ReadPrincipal) -> HTMLResponse:
    """Landing page."""
    doc = _body(await features.landing(request, settings, principal))
    return _render(request, "landing.html", doc["title"], doc, [("home", "/")])


@router.get("/collections")
async def collections(request: Request, conn: SessionDep, principal: ReadPrincipal) -> HTMLResponse:
    """The collections."""
    doc = _body(await features.collections(request, conn, principal))
    return _render(request, "collections.html", "Collections", doc, [("home", "/"), ("collections", "/collections")])


@router.get("/collections/{collection_id}")
async def collection(collection_id: str, request: Request, conn: SessionDep, principal: ReadPrincipal) -> HTMLResponse:
    """One collection."""
    c = get_collection(collection_id)
    doc = _body(await features.collection(collection_id, request, conn, principal))
    return _render(request, "collection.html", doc["title"], doc,
                   [("home", "/"), ("collections", "/collections"), (c.id, f"/collections/{c.id}")],
                   tiles=c.geometry_type is not None)


@router.get("/collections/{collection_id}/items")
async def items(collection_id: str, request: Request, conn: SessionDep, settings: SettingsDep,
                principal: ReadPrincipal) -> HTMLResponse:
    """A page of features: a map and a table."""
    c = get_collection(collection_id)
    doc = _body(await features.items(collection_id, request, conn, settings, principal))
    columns = [f.name for f in c.fields if f.type != "object"][:12]
    return _render(request, "items.html", f"{c.title_zh} {c.title_en}", doc,
                   [("home", "/"), ("collections", "/collections"), (c.id, f"/collections/{c.id}"),
                    ("items", f"/collections/{c.id}/items")],
                   json_type=common.GEOJSON, svg=svg_map(doc["features"], base_url(request) + f"/collections/{c.id}/items/"),
                   columns=columns, cid=c.id)


@router.get("/collections/{collection_id}/items/{feature_id}")
async def item(collection_id: str, feature_id: str, request: Request, conn: SessionDep, settings: SettingsDep,
               principal: ReadPrincipal) -> HTMLResponse:
    """One feature: a map and its properties."""
    c = get_collection(collection_id)
    response = await features.item(collection_id, feature_id, request, conn, settings, principal, None)
    doc = _body(response)
    return _render(request, "item.html", f"{c.title_en} {doc['id']}", doc,
                   [("home", "/"), ("collections", "/collections"), (c.id, f"/collections/{c.id}"),
                    ("items", f"/collections/{c.id}/items"), (str(doc["id"]), f"/collections/{c.id}/items/{doc['id']}")],
                   json_type=common.GEOJSON, svg=svg_map([doc], None),
                   history=f"{base_url(request)}/collections/{c.id}/items/{doc['id']}/history")


# --- the map: GeoJSON (CRS84) to inline SVG ----------------------------------------------------------
W, H = 720, 420


def _positions(geom: dict[str, Any]) -> list[list[float]]:
    """Every position of a geometry, flattened."""
    out: list[list[float]] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], int | float):
            out.append(c)
        else:
            for part in c:
                walk(part)

    for g in geom.get("geometries", [geom]):
        walk(g.get("coordinates") or [])
    return out


def svg_map(feats: list[dict[str, Any]], item_href: str | None) -> Markup:
    """An equirectangular sketch (x scaled by cos(latitude)) of the features, each linked to its page."""
    pts = [p for f in feats if f.get("geometry") for p in _positions(f["geometry"])]
    if not pts:
        return Markup("")
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    kx = math.cos(math.radians((y0 + y1) / 2))
    s = 0.9 * min(W / max((x1 - x0) * kx, 1e-9), H / max(y1 - y0, 1e-9))
    if x1 - x0 < 1e-9 and y1 - y0 < 1e-9:
        s = 1.0  # a single point: any scale centres it
    ox = W / 2 - (x0 + x1) / 2 * kx * s
    oy = H / 2 + (y0 + y1) / 2 * s

    def xy(p: list[float]) -> tuple[float, float]:
        return p[0] * kx * s + ox, oy - p[1] * s

    def path(lines: list[list[list[float]]], close: bool) -> str:
        return "".join("M" + "L".join("%.1f,%.1f" % xy(p) for p in ln) + ("Z" if close else "") for ln in lines)

    def circle(p: list[float]) -> str:
        return '<circle class="f" r="4" cx="%.1f" cy="%.1f"/>' % xy(p)

    shapes = []
    for f in feats:
        g = f.get("geometry")
        if not g:
            continue
        parts = g.get("geometries", [g])
        svg = []
        for part in parts:
            t, c = part["type"], part["coordinates"]
            if t == "Point":
                svg.append(circle(c))
            elif t == "MultiPoint":
                svg += [circle(p) for p in c]
            elif t in ("LineString", "MultiLineString"):
                svg.append(f'<path class="l" d="{path([c] if t == "LineString" else c, False)}"/>')
            else:
                rings = [r for poly in ([c] if t == "Polygon" else c) for r in poly]
                svg.append(f'<path class="f" fill-rule="evenodd" d="{path(rings, True)}"/>')
        body = f"<title>{escape(str(f.get('id')))}</title>" + "".join(svg)
        shapes.append(f'<a href="{escape(item_href)}{escape(str(f["id"]))}">{body}</a>' if item_href else body)
    return Markup(f'<svg class="map" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
                  f'xmlns="http://www.w3.org/2000/svg">{"".join(shapes)}</svg>')
