"""cityassets.ogc.wfs.ns: XML namespaces, safe parsing and small XML helpers for the WFS face."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from cityassets.errors import InvalidRequest

WFS20 = "http://www.opengis.net/wfs/2.0"
WFS = "http://www.opengis.net/wfs"  # WFS 1.0.0 and 1.1.0
OWS11 = "http://www.opengis.net/ows/1.1"
OWS10 = "http://www.opengis.net/ows"
FES20 = "http://www.opengis.net/fes/2.0"
OGC = "http://www.opengis.net/ogc"  # Filter 1.0 / 1.1
GML32 = "http://www.opengis.net/gml/3.2"
GML = "http://www.opengis.net/gml"  # GML 2 / 3.1.1
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
#: Application schema namespace of every feature type (`ca:<collection id>`).
CA = "http://cityassets.org/wfs"
CA_PREFIX = "ca"

#: MIME types of the outputs (ISO 19142 Table 12; P10).
GML32_MIME = "application/gml+xml; version=3.2"
GML32_TEXT = "text/xml; subtype=gml/3.2"
GML31_TEXT = "text/xml; subtype=gml/3.1.1"
XML_MIME = "text/xml; charset=UTF-8"

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
MAX_XML_BYTES = 32 * 1024 * 1024


def parse_xml(raw: bytes) -> ET.Element:
    """Parse a request body; DTDs and entities are refused (XXE, GeoServer CVE-2025-30220; billion laughs)."""
    if len(raw) > MAX_XML_BYTES:
        raise InvalidRequest(f"XML request bodies are limited to {MAX_XML_BYTES} bytes")
    if _DTD.search(raw):
        raise InvalidRequest("DTDs and entity declarations are not accepted in WFS requests")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise InvalidRequest(f"malformed XML: {exc}") from None


def local(tag: str) -> str:
    """Local part of a Clark-notation tag."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def ns_of(tag: str) -> str:
    """Namespace URI of a Clark-notation tag ('' when none)."""
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def children(el: ET.Element, name: str | None = None) -> list[ET.Element]:
    """Element children, optionally with this local name (namespaces differ between versions)."""
    return [c for c in el if isinstance(c.tag, str) and (name is None or local(c.tag) == name)]


def child(el: ET.Element, name: str) -> ET.Element | None:
    """First element child with this local name."""
    for c in el:
        if isinstance(c.tag, str) and local(c.tag) == name:
            return c
    return None


def text(el: ET.Element | None) -> str:
    """Stripped text content of an element ('' when absent)."""
    return "".join(el.itertext()).strip() if el is not None else ""


def x(value: object) -> str:
    """XML-escaped text."""
    return escape(str(value))


def attr(value: object) -> str:
    """A quoted, escaped attribute value."""
    return quoteattr(str(value))


def strip_prefix(name: str) -> str:
    """`ca:manholes` -> `manholes`; `{uri}manholes` -> `manholes`."""
    return local(name).split(":")[-1].strip()
