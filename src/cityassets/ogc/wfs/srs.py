"""cityassets.ogc.wfs.srs: srsName forms and their axis order (GeoServer's table; ogc-interop P1, R4).

`EPSG:4326` and `http://www.opengis.net/gml/srs/epsg.xml#4326` mean x/y (lon/lat);
`urn:ogc:def:crs:EPSG::4326`, `urn:x-ogc:def:crs:EPSG:...` and
`http://www.opengis.net/def/crs/EPSG/0/4326` mean the EPSG axis order (lat/lon for 4326, 4490,
northing/easting for 4547). QGIS honours the EPSG order only for the URN/URI forms [Q-GML].
"""

from __future__ import annotations

from dataclasses import dataclass

from cityassets import crs as crsmod
from cityassets.errors import InvalidRequest
from cityassets.ogc.wfs.capabilities import CRS_CODES
from cityassets.ogc.wfs.exceptions import invalid


@dataclass(frozen=True)
class Srs:
    """A requested CRS: its SRID, whether coordinates are in EPSG (authority) axis order, and its label."""

    srid: int
    authority_order: bool  # True: URN/URI form (lat/lon for geographic CRSs); False: x/y form

    @property
    def flip(self) -> bool:
        """Coordinates are written/read swapped relative to PostGIS x/y."""
        return self.authority_order and crsmod.is_lat_lon(f"EPSG:{self.srid}")

    @property
    def urn(self) -> str:
        """The URN form."""
        return f"urn:ogc:def:crs:EPSG::{self.srid}"

    @property
    def norm(self) -> str:
        """Normalised name for the repository helpers (CRS84 for lon/lat 4326)."""
        if self.srid == 4326 and not self.flip:
            return "CRS84"
        return f"EPSG:{self.srid}"


DEFAULT = Srs(CRS_CODES[0], True)


def xy_form(raw: str) -> bool:
    """True for the forms that keep x/y (lon/lat) order."""
    r = raw.strip().lower()
    return r.startswith("epsg:") or "/gml/srs/epsg.xml#" in r or "crs84" in r


def parse_srs(raw: str | None, locator: str = "srsName", storage_srid: int | None = None,
              restrict: bool = True) -> Srs:
    """A srsName / CRS parameter, restricted to the offered CRSs when `restrict`."""
    if not raw:
        return DEFAULT
    try:
        norm = crsmod.parse_crs(raw)
        srid = crsmod.srid_of(norm)
    except InvalidRequest as exc:
        raise invalid(locator, str(exc)) from None
    if restrict and srid not in CRS_CODES and srid != storage_srid:
        raise invalid(locator, f"CRS '{raw}' is not offered; use one of "
                      + ", ".join(f"urn:ogc:def:crs:EPSG::{c}" for c in CRS_CODES))
    return Srs(srid, not (norm == "CRS84" or xy_form(raw)))


def to_authority(box: tuple[float, ...], srs: Srs) -> tuple[tuple[float, ...], str]:
    """A 4-number box in the given form -> (box, crs) as `repository.features.bbox_condition` reads it.

    bbox_condition swaps lat/lon CRSs itself; an x/y-form box of such a CRS is pre-swapped so the
    two swaps cancel.
    """
    name = f"EPSG:{srs.srid}"
    if srs.srid == 4326 and not srs.authority_order:
        return box, "CRS84"
    if crsmod.is_lat_lon(name) and not srs.authority_order:
        box = (box[1], box[0], box[3], box[2])
    return box, name
