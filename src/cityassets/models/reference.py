"""cityassets.models.reference: planners' reference layers and the organisations register."""

from __future__ import annotations

from sqlalchemy import Computed, Index

from cityassets import vocabularies as v
from cityassets.models.common import (
    Boolean,
    Column,
    Double,
    Integer,
    String,
    Text,
    info,
    reference_table,
    vocab_col,
)

organisations = reference_table(
    "organisations",
    "Point",
    [
        Column("code", Text, nullable=False, unique=True,
               info=info("单位代码", "organisation code (USCC or a short code)", required=True, pattern=r"^[A-Za-z0-9_.-]{2,40}$",
                         match_key=True)),
        Column("name_zh", Text, nullable=False, info=info("单位名称", "name (Chinese)", required=True, max_length=200)),
        Column("name_en", Text, info=info("英文名称", "name (English)", max_length=200)),
        vocab_col("org_type", v.ORG_TYPE, "单位类型", "organisation type", required=True),
        # Enforced by statement-level triggers (migration 0006), not a foreign key: row-level RI cost 0.87 s
        # per 100k rows on bulk uploads (see models.common.asset_columns).
        Column("parent_code", Text, info=info("上级单位", "parent organisation code", ref="organisations")),
        Column("contact_phone", Text, info=info("联系电话", "contact phone", max_length=40)),
        Column("complaint_phone", Text, info=info("监督电话", "complaint phone", max_length=40)),
    ],
    geometry_required=False,  # the office location, when known
)

districts = reference_table(
    "districts",
    "MultiPolygon",
    [
        Column("code", String(6), nullable=False, unique=True,
               info=info("区县代码", "district code (GB/T 2260)", required=True, pattern=r"^\d{6}$", match_key=True)),
        Column("name_zh", Text, nullable=False, info=info("名称", "name (Chinese)", required=True)),
        Column("name_en", Text, info=info("英文名称", "name (English)")),
        Column("central_city", Boolean, info=info("中心城区", "part of the central city")),
        Column("built_up_km2", Double, info=info("建成区面积(平方公里)", "built-up area, km²", minimum=0)),
        Column("population", Integer, info=info("人口", "population", minimum=0)),
    ],
)

grid_cells = reference_table(
    "grid_cells",
    "MultiPolygon",
    [
        Column("code", Text, nullable=False, unique=True,
               info=info("网格编码", "unit grid code", required=True, pattern=r"^\d{8,20}$", match_key=True)),
        Column("district_code", String(6), info=info("区县代码", "district code", pattern=r"^\d{6}$", derived=True)),
        Column("name", Text, info=info("名称", "name")),
    ],
    Index("ix_grid_cells_district_code", "district_code"),
)

green_spaces = reference_table(
    "green_spaces",
    "MultiPolygon",
    [
        Column("name", Text, info=info("名称", "name")),
        vocab_col("green_class", v.GREEN_CLASS, "绿地分类", "class (CJJ/T 85-2017)", required=True),
        Column("is_public", Boolean, server_default="true", info=info("对公众开放", "open to the public")),
        Column("historic_district", Boolean, server_default="false",
               info=info("位于历史文化街区", "inside a historic district (1000 m² parks count)")),
        Column("area_m2", Double, Computed("ST_Area(geom)", persisted=True), info=info("面积(平方米)", "area, m² (computed)", readonly=True)),
        Column("district_code", String(6), info=info("区县代码", "district code", pattern=r"^\d{6}$", derived=True)),
    ],
    Index("ix_green_spaces_district_code", "district_code"),
)

residential_areas = reference_table(
    "residential_areas",
    "MultiPolygon",
    [
        Column("name", Text, info=info("名称", "name")),
        vocab_col("land_use", v.LAND_USE, "用地类别", "land-use class (GB 50137)", default="R2"),
        Column("population", Integer, nullable=False, info=info("人口", "population", required=True, minimum=0)),
        Column("households", Integer, info=info("户数", "households", minimum=0)),
        Column("area_m2", Double, Computed("ST_Area(geom)", persisted=True), info=info("面积(平方米)", "area, m² (computed)", readonly=True)),
        Column("district_code", String(6), info=info("区县代码", "district code", pattern=r"^\d{6}$", derived=True)),
    ],
    Index("ix_residential_areas_district_code", "district_code"),
)

roads = reference_table(
    "roads",
    "LineString",
    [
        Column("name", Text, info=info("名称", "name")),
        vocab_col("road_class", v.ROAD_CLASS, "道路等级", "road class", required=True),
        Column("walkable", Boolean, server_default="true", info=info("可步行", "walkable (used by network distance)")),
        Column("length_m", Double, Computed("ST_Length(geom)", persisted=True), info=info("长度(米)", "length, m (computed)", readonly=True)),
        Column("district_code", String(6), info=info("区县代码", "district code", pattern=r"^\d{6}$", derived=True)),
    ],
)

facilities = reference_table(
    "facilities",
    "Point",
    [
        vocab_col("category", v.FACILITY_CATEGORY, "类别", "category", required=True),
        Column("name", Text, info=info("名称", "name")),
        Column("capacity", Integer, info=info("规模", "capacity (pupils, beds, ...)", minimum=0)),
        Column("district_code", String(6), info=info("区县代码", "district code", pattern=r"^\d{6}$", derived=True)),
    ],
    Index("ix_facilities_category", "category"),
)

REFERENCE_TABLES = (organisations, districts, grid_cells, green_spaces, residential_areas, roads, facilities)
