"""cityassets.ogc.wfs: WFS 2.0.0 / 1.1.0 (and 1.0.0 transactions) over the registry's collections."""

from cityassets.ogc.wfs import exceptions as _exceptions  # noqa: F401  (registers the /wfs renderer)
from cityassets.ogc.wfs.routes import router

__all__ = ["router"]
