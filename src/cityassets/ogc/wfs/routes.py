"""cityassets.ogc.wfs.routes: the /wfs endpoint, KVP (GET or form POST) and XML POST dispatch.

KVP names are case-insensitive (OWSLib sends lower case, ISO 19142 7.6.1 / OWS 1.1 11.5.2);
GetCapabilities without VERSION answers 2.0.0 (GDAL sends none [GDAL-WFSDS]); ACCEPTVERSIONS
picks the first version we offer. Errors are rendered by `exceptions.render` in the request's version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityassets.api.bodies import read_capped
from cityassets.api.deps import Principal, RequestId, SessionDep, SettingsDep
from cityassets.auth import AuthPrincipal
from cityassets.errors import CityAssetsError, NotAuthenticated
from cityassets.ogc.common import base_url
from cityassets.ogc.wfs import capabilities, describe, getfeature, query, transaction
from cityassets.ogc.wfs.exceptions import WfsError, invalid, missing
from cityassets.ogc.wfs.ns import MAX_XML_BYTES, XML_MIME, local, parse_xml, text
from cityassets.settings import Settings

router = APIRouter(tags=["WFS 2.0"])
log = logging.getLogger("cityassets.wfs")

OPERATIONS = ("GetCapabilities", "DescribeFeatureType", "GetFeature", "GetPropertyValue", "Transaction",
              "ListStoredQueries", "DescribeStoredQueries")
_OPS = {o.lower(): o for o in OPERATIONS}
BY_ID = "urn:ogc:def:query:OGC-WFS::GetFeatureById"


def _version(raw: str | None, request: Request) -> str:
    v = (raw or "2.0.0").strip()
    if v.startswith("1.0"):
        v = "1.0.0"
    elif v.startswith("1.1"):
        v = "1.1.0"
    elif v.startswith("2"):
        v = "2.0.0"
    else:
        raise WfsError(f"WFS version {raw} is not offered (2.0.0, 1.1.0)", "InvalidParameterValue", "version")
    request.state.wfs_version = v
    return v


def _caps_version(get: Callable[[str], str | None], request: Request) -> str:
    accept = get("ACCEPTVERSIONS")
    if accept:
        for v in (a.strip() for a in accept.split(",")):
            if v in capabilities.VERSIONS:
                request.state.wfs_version = v
                return v
        raise WfsError(f"none of {accept} is offered (2.0.0, 1.1.0)", "VersionNegotiationFailed", "AcceptVersions")
    v = _version(get("VERSION"), request)
    return "1.1.0" if v == "1.0.0" else v


def _reader(principal: AuthPrincipal, settings: Settings) -> None:
    if principal.is_anonymous and not settings.anonymous_read:
        raise NotAuthenticated("anonymous read is disabled: send a bearer token", headers={"WWW-Authenticate": "Bearer"})


def _xml(body: str | bytes, media: str = XML_MIME) -> Response:
    return Response(body if isinstance(body, bytes) else body.encode(), media_type=media,
                    headers={"Cache-Control": "no-cache"})


def _stored_queries(version: str, describe_: bool) -> str:
    ns = 'xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:xs="http://www.w3.org/2001/XMLSchema"'
    if not describe_:
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<wfs:ListStoredQueriesResponse {ns}>'
                f'<wfs:StoredQuery id="{BY_ID}"><wfs:Title>Get feature by identifier</wfs:Title>'
                "</wfs:StoredQuery></wfs:ListStoredQueriesResponse>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<wfs:DescribeStoredQueriesResponse {ns}>'
            f'<wfs:StoredQueryDescription id="{BY_ID}"><wfs:Title>Get feature by identifier</wfs:Title>'
            '<wfs:Parameter name="ID" type="xs:string"/><wfs:QueryExpressionText isPrivate="true" '
            'language="urn:ogc:def:queryLanguage:OGC-WFS::WFSQueryExpression" returnFeatureTypes=""/>'
            "</wfs:StoredQueryDescription></wfs:DescribeStoredQueriesResponse>")


async def _features(conn, op: str, q: query.WfsQuery, p: query.Presentation, ref: str | None, settings: Settings,
                    version: str, url: str, items: list[tuple[str, str]] | None) -> Response:
    """GetFeature or GetPropertyValue, whichever encoding (KVP or XML) the request came in."""
    if op == "GetPropertyValue":
        if not ref:
            raise missing("valueReference")
        body, media = await getfeature.get_property_value(conn, q, p, settings, ref)
    else:
        body, media = await getfeature.get_feature(conn, q, p, settings, version, url, items)
    return _xml(body, media)


async def _dispatch_kvp(request: Request, items: list[tuple[str, str]], conn, settings: Settings,
                        principal: AuthPrincipal) -> Response:
    params = {k.upper(): v for k, v in items}

    def get(k: str) -> str | None:
        return params.get(k)

    op_raw = get("REQUEST")
    if op_raw is None:
        request.state.wfs_version = "2.0.0"
        raise missing("REQUEST")
    op = _OPS.get(op_raw.lower())
    if get("SERVICE") and get("SERVICE").upper() != "WFS":
        raise invalid("service", f"service '{get('SERVICE')}' is not offered here (WFS)")
    url = f"{base_url(request)}/wfs"
    if op == "GetCapabilities":
        version = _caps_version(get, request)
        _reader(principal, settings)
        doc = (capabilities.capabilities_20 if version == "2.0.0" else capabilities.capabilities_11)(url, principal, settings)
        return _xml(doc)
    version = _version(get("VERSION"), request)
    if op is None:
        raise WfsError(f"operation '{op_raw}' is not offered", "OperationNotSupported", "request", status=400)
    _reader(principal, settings)
    if op == "DescribeFeatureType":
        cols = describe.resolve_types(get("TYPENAMES") or get("TYPENAME"))
        return _xml(describe.schema(cols, version), "application/gml+xml; version=3.2" if version == "2.0.0"
                    else "text/xml; subtype=gml/3.1.1")
    if op in ("ListStoredQueries", "DescribeStoredQueries"):
        return _xml(_stored_queries(version, op == "DescribeStoredQueries"))
    if op in ("GetFeature", "GetPropertyValue"):
        p = query.presentation(get, settings, version)
        q = query.from_kvp(get, settings, version, p)
        return await _features(conn, op, q, p, get("VALUEREFERENCE"), settings, version, url, items)
    raise WfsError("Transaction is sent as XML by POST", "OperationNotSupported", "request", status=400)


async def _dispatch_xml(request: Request, raw: bytes, conn, settings: Settings, principal: AuthPrincipal,
                        rid: str) -> Response:
    request.state.wfs_version = "2.0.0"
    root = parse_xml(raw)
    op = _OPS.get(local(root.tag).lower())
    url = f"{base_url(request)}/wfs"
    if op is None:
        raise WfsError(f"operation '{local(root.tag)}' is not offered", "OperationNotSupported", "request")
    if op == "GetCapabilities":
        versions = [text(v) for v in root.iter() if local(v.tag) == "Version"]
        version = _caps_version(lambda k: ",".join(versions) if k == "ACCEPTVERSIONS" and versions
                                else root.get("version") if k == "VERSION" else None, request)
        _reader(principal, settings)
        doc = (capabilities.capabilities_20 if version == "2.0.0" else capabilities.capabilities_11)(url, principal, settings)
        return _xml(doc)
    if op == "Transaction":
        version = transaction.version_of(root)
        request.state.wfs_version = version
        return _xml(await transaction.run(conn, root, principal, rid, settings))
    version = _version(root.get("version"), request)
    _reader(principal, settings)
    if op == "DescribeFeatureType":
        names = ",".join(text(t) for t in root if local(t.tag) == "TypeName")
        return _xml(describe.schema(describe.resolve_types(names or None), version))
    if op in ("ListStoredQueries", "DescribeStoredQueries"):
        return _xml(_stored_queries(version, op == "DescribeStoredQueries"))
    attrs = {k.upper(): v for k, v in root.attrib.items()}
    p = query.presentation(lambda k: attrs.get(k), settings, version)
    q = query.from_xml(root, settings, version, p)
    return await _features(conn, op, q, p, root.get("valueReference"), settings, version, url, None)


async def _body(request: Request) -> bytes:
    """The request body, refused beyond MAX_XML_BYTES before it is all in memory."""
    return await read_capped(request, MAX_XML_BYTES, "WFS request bodies")


def _unexpected(exc: Exception) -> CityAssetsError:
    """A bug still answers with an exception report (NoApplicableCode), logged with its traceback."""
    log.exception("WFS request failed", exc_info=exc)
    return WfsError("internal error", "NoApplicableCode", None, status=500)


@router.get("/wfs", summary="WFS 2.0 / 1.1 (KVP)", response_class=Response)
async def wfs_get(request: Request, conn: SessionDep, settings: SettingsDep, principal: Principal) -> Response:
    """KVP requests."""
    request.state.wfs_version = "2.0.0"
    try:
        return await _dispatch_kvp(request, list(request.query_params.multi_items()), conn, settings, principal)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeError) as exc:
        raise _unexpected(exc) from None


@router.post("/wfs", summary="WFS 2.0 / 1.1 / 1.0 Transaction (XML)", response_class=Response)
async def wfs_post(request: Request, conn: SessionDep, settings: SettingsDep, principal: Principal,
                   rid: RequestId) -> Response:
    """XML requests (GetFeature, Transaction ...) or form-encoded KVP."""
    request.state.wfs_version = "2.0.0"
    raw = await _body(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded" and not raw.lstrip().startswith(b"<"):
        from urllib.parse import parse_qsl

        items = list(request.query_params.multi_items()) + parse_qsl(raw.decode("utf-8", "replace"))
        return await _dispatch_kvp(request, items, conn, settings, principal)
    try:
        if not raw.strip():
            if request.query_params:
                return await _dispatch_kvp(request, list(request.query_params.multi_items()), conn, settings, principal)
            raise missing("request body")
        return await _dispatch_xml(request, raw, conn, settings, principal, rid)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeError) as exc:
        raise _unexpected(exc) from None
