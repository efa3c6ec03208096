"""cityassets.settings: one settings object, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The checkout (or install prefix) root: `data/` and the local cluster live under it.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Runtime configuration. Nothing city-specific is hard-coded outside these defaults."""

    model_config = SettingsConfigDict(
        env_prefix="CITYASSETS_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    # --- database -------------------------------------------------------------------------
    #: When unset, the project-local PostGIS cluster (`cityassets db up`) is used.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CITYASSETS_DATABASE_URL")
    )
    local_cluster_dir: Path = PROJECT_ROOT / ".pgdata"
    local_cluster_port: int = 55432
    pool_min_size: int = 2
    pool_max_size: int = 10
    #: Requests per worker process that hold a connection at once (reads and single writes). One, like
    #: a FastCGI process: measured on 2 cores with 2 workers, 2-3 slots stretched the p99 of item reads
    #: to 4-100x their p50 while 1 slot kept it under 2x at the same throughput (docs/benchmarks.md).
    #: Uploads and indicator builds take the other pool connections (`BulkSessionDep`), never these.
    interactive_slots: int = 1
    statement_timeout_ms: int = 30_000

    # --- the city ---------------------------------------------------------------------------
    #: Storage CRS: metric, so distances are metres and GiST serves ST_DWithin.
    #: Default EPSG:4547 = CGCS2000 / 3-degree Gauss-Kruger CM 114E (valid 112.5-115.5 E).
    crs: str = "EPSG:4547"
    #: City extent in CRS84 (lon/lat): uploads and writes outside it are rejected.
    extent: tuple[float, float, float, float] = (112.6, 34.1, 114.4, 35.1)
    city_name: str = "Zhengzhou"
    #: 6-digit GB/T 2260 code of the city, used when no district covers a position.
    city_code: str = "410100"
    #: Component class table (major/minor codes of the 16-digit asset code), see domain-model §3.
    component_codes_file: Path = PROJECT_ROOT / "data" / "component_codes.yaml"

    # --- service ----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    #: Public base URL used in links (behind a proxy); derived from the request when unset.
    public_url: str | None = None
    anonymous_read: bool = True
    cors_origins: list[str] = []
    default_limit: int = 100
    max_limit: int = 10_000
    #: Exact numberMatched only below this many rows; beyond it the count is omitted (R10, P3).
    count_limit: int = 1_000_000

    # --- uploads ----------------------------------------------------------------------------
    max_body_bytes: int = 2 * 1024**3
    max_decompressed_bytes: int = 4 * 1024**3
    max_properties: int = 200
    max_property_bytes: int = 65_536
    max_vertices: int = 100_000
    max_json_depth: int = 32
    near_duplicate_m: float = 1.0

    @field_validator("crs")
    @classmethod
    def _crs_is_epsg(cls, v: str) -> str:
        if not v.upper().startswith("EPSG:") or not v.split(":", 1)[1].isdigit():
            raise ValueError("CITYASSETS_CRS must be an EPSG code such as EPSG:4547")
        return v.upper()

    @property
    def storage_srid(self) -> int:
        """The storage CRS as an integer SRID."""
        return int(self.crs.split(":", 1)[1])

    @property
    def uses_local_cluster(self) -> bool:
        """True when no DATABASE_URL points elsewhere."""
        return not self.database_url

    @property
    def dsn(self) -> str:
        """The libpq URL in use (local cluster when DATABASE_URL is unset)."""
        if self.database_url:
            return self.database_url.replace("postgresql+asyncpg://", "postgresql://").replace(
                "postgresql+psycopg://", "postgresql://"
            )
        return f"postgresql://cityassets@127.0.0.1:{self.local_cluster_port}/cityassets"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache after changing the env)."""
    return Settings()
