"""cityassets.errors: the one exception hierarchy; `api.errors` maps it to HTTP once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Issue:
    """One problem with one field of one feature (index = position in a file or request)."""

    field: str | None
    rule: str
    message: str
    index: int | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form, without empty keys."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class CityAssetsError(Exception):
    """Base class: a status, a short machine code and a readable message."""

    message: str
    status: int = 500
    code: str = "InternalError"
    issues: list[Issue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def _kind(status: int, code: str):
    def init(self, message: str, issues: list[Issue] | None = None, **kw: Any) -> None:
        CityAssetsError.__init__(self, message, status, code, issues or [], **kw)

    return init


class InvalidRequest(CityAssetsError):
    """400: malformed parameters or body (OGC clients expect 400, not 422: ogc-interop P12)."""

    __init__ = _kind(400, "InvalidParameterValue")


class ValidationFailed(CityAssetsError):
    """422: the body is well formed but a feature breaks a rule of its collection."""

    __init__ = _kind(422, "ValidationFailed")


class NotAuthenticated(CityAssetsError):
    """401: no or unknown bearer token."""

    __init__ = _kind(401, "NotAuthenticated")


class Forbidden(CityAssetsError):
    """403: authenticated, but the role or scope does not allow this."""

    __init__ = _kind(403, "Forbidden")


class NotFound(CityAssetsError):
    """404: unknown collection, feature or resource."""

    __init__ = _kind(404, "NotFound")


class Conflict(CityAssetsError):
    """409: a unique key (asset code, chip uid) is taken."""

    __init__ = _kind(409, "Conflict")


class PreconditionFailed(CityAssetsError):
    """412: If-Match does not match the current ETag (OGC API Features Part 4, clause 8)."""

    __init__ = _kind(412, "PreconditionFailed")


class PayloadTooLarge(CityAssetsError):
    """413: a configured size limit was crossed."""

    __init__ = _kind(413, "PayloadTooLarge")


class UnsupportedMediaType(CityAssetsError):
    """415: a body type we do not read."""

    __init__ = _kind(415, "UnsupportedMediaType")


class PreconditionRequired(CityAssetsError):
    """428: a write without If-Match (optimistic locking is mandatory here)."""

    __init__ = _kind(428, "PreconditionRequired")


class ServiceUnavailable(CityAssetsError):
    """503: the database cannot be reached or a query ran out of time."""

    __init__ = _kind(503, "ServiceUnavailable")
