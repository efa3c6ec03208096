"""cityassets.ogc.wfs.exceptions: every error under /wfs rendered as an OWS exception report.

ISO 19142 clause 7.5 / OWS Common 1.1 clause 8: `ows:ExceptionReport` with `exceptionCode` and
`locator`; WFS 1.1.0 uses OWS 1.0, WFS 1.0.0 the OGC `ServiceExceptionReport` (QGIS and OWSLib
detect both roots). The version is the one the request asked for (set by the router).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from cityassets.api.errors import RENDERERS
from cityassets.errors import CityAssetsError
from cityassets.ogc.wfs.ns import OGC, OWS10, OWS11, attr, x

#: Our error codes -> OWS / WFS 2.0 exception codes (ISO 19142 Table 3).
OWS_CODES = {
    "InvalidParameterValue": "InvalidParameterValue",
    "ValidationFailed": "InvalidValue",
    "NotFound": "NotFound",
    "Forbidden": "OperationProcessingFailed",
    "NotAuthenticated": "OperationProcessingFailed",
    "Conflict": "OperationProcessingFailed",
    "PreconditionFailed": "OperationProcessingFailed",
    "PayloadTooLarge": "OperationProcessingFailed",
    "MethodNotAllowed": "OperationNotSupported",
    "ServiceUnavailable": "OperationProcessingFailed",
}


class WfsError(CityAssetsError):
    """A WFS exception with an explicit OWS code and locator."""

    def __init__(self, message: str, ows_code: str = "InvalidParameterValue", locator: str | None = None,
                 status: int = 400, **kw: Any) -> None:
        CityAssetsError.__init__(self, message, status, ows_code, extra={"ows_code": ows_code, "locator": locator}, **kw)


def missing(name: str) -> WfsError:
    """MissingParameterValue for a required KVP / XML parameter."""
    return WfsError(f"parameter '{name}' is required", "MissingParameterValue", name)


def invalid(name: str, message: str) -> WfsError:
    """InvalidParameterValue naming the parameter."""
    return WfsError(message, "InvalidParameterValue", name)


def report(version: str, code: str, message: str, locator: str | None) -> str:
    """The exception document for a WFS version."""
    loc = f" locator={attr(locator)}" if locator else ""
    if version.startswith("1.0"):
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ServiceExceptionReport version="1.2.0" xmlns="{OGC}">'
                f"<ServiceException code={attr(code)}{loc}>{x(message)}</ServiceException></ServiceExceptionReport>")
    ns, ver = (OWS10, "1.1.0") if version.startswith("1.1") else (OWS11, "2.0.0")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport xmlns:ows="{ns}" version="{ver}" '
            f'xml:lang="en"><ows:Exception exceptionCode={attr(code)}{loc}>'
            f"<ows:ExceptionText>{x(message)}</ows:ExceptionText></ows:Exception></ows:ExceptionReport>")


def render(request: Request, err: CityAssetsError) -> Response:
    """RENDERERS entry for /wfs: status from the error, body an exception report in the request's version."""
    version = getattr(request.state, "wfs_version", None) or "2.0.0"
    code = err.extra.get("ows_code") or OWS_CODES.get(err.code, "NoApplicableCode")
    locator = err.extra.get("locator") or (err.issues[0].field if err.issues else None)
    message = err.message
    if err.issues and len(err.issues) > 1:
        message += " | " + "; ".join(f"{i.field or 'feature'}: {i.message}" for i in err.issues[1:6])
    body = report(version, code, message, locator)
    return Response(body, status_code=err.status, media_type="application/xml", headers=err.headers)


RENDERERS["/wfs"] = render
