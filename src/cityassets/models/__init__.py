"""cityassets.models: SQLAlchemy tables, one module per family; `metadata` holds them all."""

from cityassets.models.common import metadata
from cityassets.models.reference import REFERENCE_TABLES
from cityassets.models.assets import ASSET_TABLES
from cityassets.models import system

__all__ = ["metadata", "ASSET_TABLES", "REFERENCE_TABLES", "system"]
