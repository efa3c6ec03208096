"""cityassets.catalogue: the collections, the single source every face reads.

OGC API, WFS, tiles, uploads and indicators all take ids, tables, fields, vocabularies, write
roles and scope columns from here. Fields are read off the SQLAlchemy tables (column `info`),
so a new asset kind is one table, one migration and one `Collection` entry below.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import yaml
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, Table
from sqlalchemy.dialects.postgresql import JSONB

from cityassets.errors import NotFound
from cityassets.models import assets as a
from cityassets.models import reference as r
from cityassets.settings import get_settings

WRITE_ASSETS = frozenset({"surveyor", "admin"})
WRITE_PLANNING = frozenset({"planner", "admin"})
WRITE_ADMIN = frozenset({"admin"})

GEOMETRY_NAMES = {n.upper(): n for n in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")}

#: Bookkeeping columns published (read-only) in properties; the rest stay internal.
PUBLISHED_BOOKKEEPING = ("version", "created_at", "updated_at")


@dataclass(frozen=True)
class Field:
    """One published property of a collection."""

    name: str
    type: str  # string | integer | number | boolean | date | datetime | object
    title_zh: str
    title_en: str
    required: bool = False
    readonly: bool = False
    derived: bool = False  # filled from the position when absent (district_code, grid_code)
    allocated: bool = False  # allocated by the registry when absent (asset_code)
    enum: tuple[str, ...] | None = None
    enum_labels: dict[str, tuple[str, str]] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    max_length: int | None = None
    ref: str | None = None  # collection whose `code`/`asset_code` this field references
    categories: tuple[str, ...] | None = None  # only meaningful for these categories
    default: Any = None
    match_key: bool = False
    #: required when another field has this value (a CHECK constraint in the table says the same)
    required_when: tuple[str, Any] | None = None

    @property
    def writable(self) -> bool:
        """Clients may send it."""
        return not self.readonly


@dataclass(frozen=True)
class Collection:
    """A collection: one table, one geometry type, one set of fields and rules."""

    id: str
    table: Table
    title_zh: str
    title_en: str
    description: str
    kind: str  # asset | reference
    write_roles: frozenset[str]
    code_field: str | None = None  # natural key published as the human code
    category_field: str | None = None
    #: child -> parent: the field holding the parent's code and the parent collection id.
    parent: tuple[str, str] | None = None
    keywords: tuple[str, ...] = ()

    @cached_property
    def geometry_type(self) -> str | None:
        """Point, LineString, MultiPolygon ... or None."""
        col = self.table.c.get("geom")
        return GEOMETRY_NAMES[col.type.geometry_type.upper()] if col is not None else None  # type: ignore[attr-defined]

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        """Published properties in column order (data fields, then read-only bookkeeping)."""
        out = [_field(c) for c in self.table.columns if c.name not in ("geom", "id") and not _internal(c)]
        return tuple(out)

    @cached_property
    def field_map(self) -> dict[str, Field]:
        """Fields by name."""
        return {f.name: f for f in self.fields}

    @cached_property
    def writable_fields(self) -> tuple[Field, ...]:
        """Fields a client may send."""
        return tuple(f for f in self.fields if f.writable)

    @cached_property
    def match_keys(self) -> tuple[str, ...]:
        """Fields an upload may use to find the record it updates."""
        keys = [f.name for f in self.fields if f.match_key or f.allocated]
        return tuple(dict.fromkeys(keys))

    @property
    def is_asset(self) -> bool:
        """Asset collections carry the shared asset fields and 16-digit codes."""
        return self.kind == "asset"

    @property
    def scope_owner_field(self) -> str | None:
        """Column checked against a surveyor's owner scope."""
        return "owner" if "owner" in self.table.c else None

    @property
    def scope_district_field(self) -> str | None:
        """Column checked against a surveyor's district scope."""
        return "district_code" if "district_code" in self.table.c else None


def _internal(col: Any) -> bool:
    if col.name in PUBLISHED_BOOKKEEPING:
        return False
    return col.info.get("hidden", False) or col.name in ("created_by", "updated_by", "retired_at", "upload_id")


def _json_type(col: Any) -> str:
    t = col.type
    if isinstance(t, Boolean):
        return "boolean"
    if isinstance(t, Integer):
        return "integer"
    if isinstance(t, Float | Numeric):
        return "number"
    if isinstance(t, DateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, JSONB):
        return "object"
    return "string"


def _field(col: Any) -> Field:
    inf = col.info
    vocab = inf.get("vocab")
    readonly = bool(inf.get("readonly")) or col.computed is not None
    default = None
    if not readonly and col.server_default is not None and hasattr(col.server_default, "arg"):
        raw = str(getattr(col.server_default.arg, "text", col.server_default.arg)).strip("'")
        default = {"true": True, "false": False}.get(raw, raw)
        if _json_type(col) == "number":
            default = float(raw)
    return Field(
        name=str(col.name),  # SQLAlchemy quoted_name is a str subclass; JSON encoders want str
        type=_json_type(col),
        title_zh=inf.get("zh", col.name),
        title_en=inf.get("en", col.name),
        required=bool(inf.get("required")),
        readonly=readonly,
        derived=bool(inf.get("derived")),
        allocated=bool(inf.get("allocated")),
        enum=tuple(vocab) if vocab else None,
        enum_labels=dict(vocab) if vocab else None,
        minimum=inf.get("minimum"),
        maximum=inf.get("maximum"),
        pattern=inf.get("pattern"),
        max_length=inf.get("max_length"),
        ref=inf.get("ref"),
        categories=tuple(inf["categories"]) if inf.get("categories") else None,
        default=default,
        match_key=bool(inf.get("match_key")),
        required_when=tuple(inf["required_when"]) if inf.get("required_when") else None,
    )


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection("manholes", a.manholes, "窨井（检查井）", "Manholes",
                   "Manhole covers and wells with owner, authority and maintainer (一盖一编号、一井一档案).",
                   "asset", WRITE_ASSETS, "asset_code", "utility_type", keywords=("窨井", "井盖", "manhole")),
        Collection("trees", a.trees, "行道树", "Street trees",
                   "Street trees with species, size, health, tree pit and grate, and the implanted chip.",
                   "asset", WRITE_ASSETS, "asset_code", keywords=("行道树", "tree")),
        Collection("lamp_poles", a.lamp_poles, "路灯杆", "Lamp poles",
                   "Lamp poles (including integrated 多杆合一 poles); mounted devices are in pole_devices.",
                   "asset", WRITE_ASSETS, "asset_code", "pole_type", keywords=("路灯", "多杆合一")),
        Collection("pole_devices", a.pole_devices, "杆载设备", "Pole-mounted devices",
                   "Devices mounted on lamp poles: luminaires, signals, signs, cameras, screens, 5G micro-cells; "
                   "each with its own owner.",
                   "asset", WRITE_ASSETS, "asset_code", "device_type", parent=("pole_code", "lamp_poles"),
                   keywords=("多杆合一", "luminaire")),
        Collection("toilets", a.toilets, "公共厕所", "Public toilets",
                   "Public toilets: type, class I/II/III, access, hours, family room, stalls, manager.",
                   "asset", WRITE_ASSETS, "asset_code", keywords=("公厕", "toilet")),
        Collection("street_furniture", a.street_furniture, "街道家具", "Street furniture",
                   "Litter bins, bollards, ground locks, benches, signs, cabinets, shelters, drinking water.",
                   "asset", WRITE_ASSETS, "asset_code", "category", keywords=("果皮箱", "隔离桩")),
        Collection("green_spaces", r.green_spaces, "绿地", "Green spaces",
                   "Public green spaces and parks (CJJ/T 85-2017 classes).",
                   "reference", WRITE_PLANNING, None, "green_class"),
        Collection("districts", r.districts, "行政区", "Districts",
                   "District boundaries with GB/T 2260 codes.", "reference", WRITE_ADMIN, "code"),
        Collection("grid_cells", r.grid_cells, "单元网格", "Unit grid cells",
                   "Unit grid cells (单元网格) of digital city management.", "reference", WRITE_ADMIN, "code"),
        Collection("residential_areas", r.residential_areas, "居住用地", "Residential areas",
                   "Residential land with population.", "reference", WRITE_PLANNING),
        Collection("roads", r.roads, "道路", "Roads", "Road centrelines with road class.",
                   "reference", WRITE_PLANNING, None, "road_class"),
        Collection("facilities", r.facilities, "公共服务设施", "Facilities",
                   "Bus stops, kindergartens, schools and other service facilities.",
                   "reference", WRITE_PLANNING, None, "category"),
        Collection("organisations", r.organisations, "单位", "Organisations",
                   "Owner, authority, maintainer and manager organisations.", "reference", WRITE_ADMIN, "code"),
    )
}


def get_collection(collection_id: str) -> Collection:
    """The collection with this id, or NotFound."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound(f"collection '{collection_id}' does not exist") from None


@lru_cache
def component_codes() -> dict[str, Any]:
    """The configured major+minor class table (data/component_codes.yaml)."""
    with open(get_settings().component_codes_file, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def class_code(collection: Collection, props: dict[str, Any]) -> str:
    """The 4-digit major+minor class of an asset, from the configured table."""
    entry = component_codes().get(collection.id) or {}
    value = props.get(entry.get("field", "")) if entry.get("field") else None
    code = (entry.get("codes") or {}).get(value) or entry.get("default")
    if not code:
        raise KeyError(f"no component class configured for {collection.id} {value!r}")
    return str(code)


__all__ = ["COLLECTIONS", "Collection", "Field", "get_collection", "class_code", "component_codes"]
