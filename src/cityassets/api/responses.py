"""cityassets.api.responses: JSON responses encoded with orjson (FastAPI's ORJSONResponse is deprecated)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSON


class JSONResponse(_StarletteJSON):
    """application/json via orjson: fast, and NaN can never be emitted."""

    def render(self, content: Any) -> bytes:
        """Serialise with orjson."""
        return orjson.dumps(content)
