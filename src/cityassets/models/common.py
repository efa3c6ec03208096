"""cityassets.models.common: metadata, column helpers and the bookkeeping every collection shares.

Column `info` carries what the catalogue publishes: zh/en titles, vocabulary, bounds, pattern,
and whether a field is server-owned (readonly) or required on input.
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from cityassets.settings import get_settings
from cityassets.vocabularies import Vocabulary

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Storage SRID, fixed when the tables are defined (and hence when migrations run).
SRID = get_settings().storage_srid

#: Bookkeeping columns: server-owned, never accepted from clients.
BOOKKEEPING = ("id", "version", "created_at", "created_by", "updated_at", "updated_by", "retired_at", "upload_id")


def info(zh: str, en: str, **kw: Any) -> dict[str, Any]:
    """Column info for the catalogue."""
    return {"zh": zh, "en": en, **kw}


def vocab_col(name: str, vocabulary: Vocabulary, zh: str, en: str, *, required: bool = False, default: str | None = None) -> Column:
    """A text column restricted to a vocabulary (CHECK in the database, enum in the schema)."""
    return Column(
        name,
        Text,
        nullable=not (required or default is not None),
        server_default=text(f"'{default}'") if default is not None else None,
        info=info(zh, en, vocab=vocabulary, required=required),
    )


def vocab_checks(table_name: str, columns: list[Column]) -> list[CheckConstraint]:
    """CHECK constraints for every vocabulary column (the database enforces what we publish)."""
    out = []
    for col in columns:
        vocab = col.info.get("vocab")
        if vocab:
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in vocab)
            out.append(CheckConstraint(f"{col.name} IN ({values})", name=f"{col.name}_vocab"))
    return out


def bookkeeping_columns() -> list[Column]:
    """id, version, who/when, retirement and the upload that last wrote the row."""
    return [
        Column("id", BigInteger, primary_key=True, autoincrement=True, info=info("要素编号", "feature id", readonly=True)),
        Column("version", Integer, nullable=False, server_default=text("1"), info=info("版本", "version", readonly=True)),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now(), info=info("创建时间", "created at", readonly=True)),
        Column("created_by", Text, info=info("创建人", "created by", readonly=True)),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now(), info=info("更新时间", "updated at", readonly=True)),
        Column("updated_by", Text, info=info("更新人", "updated by", readonly=True)),
        Column("retired_at", DateTime(timezone=True), info=info("注销时间", "retired at", readonly=True, hidden=True)),
        Column("upload_id", Text, info=info("上传批次", "upload id", readonly=True, hidden=True)),
    ]


def geom_col(geometry_type: str, *, nullable: bool = False) -> Column:
    """The geometry column, in the storage CRS, with a GiST index."""
    return Column(
        "geom",
        Geometry(geometry_type, srid=SRID, spatial_index=True),
        nullable=nullable,
    )


def asset_columns() -> list[Column]:
    """Fields shared by every asset collection, with the same names everywhere."""
    from cityassets.vocabularies import CONDITION, LIFECYCLE_STATUS, POSITION_ACCURACY, SURVEY_METHOD

    return [
        Column("asset_code", String(16), nullable=False, unique=True,
               info=info("部件标识码", "asset code: 6-digit district + 2 major + 2 minor + 6 serial; allocated when absent",
                         pattern=r"^\d{16}$", allocated=True)),
        Column("name", Text, info=info("名称", "name", max_length=200)),
        Column("district_code", String(6), nullable=False,
               info=info("区县代码", "district code (GB/T 2260); derived from the position when absent",
                         pattern=r"^\d{6}$", derived=True)),
        Column("grid_code", Text, info=info("单元网格", "unit grid cell code; derived from the position when absent", derived=True)),
        # References to organisations(code), ON UPDATE CASCADE, enforced by statement-level triggers
        # (migration 0006) rather than foreign keys: row-level RI cost 0.87 s per 100k rows on bulk uploads.
        Column("owner", Text, info=info("权属单位", "owner organisation code", ref="organisations")),
        Column("authority", Text,
               info=info("主管部门", "competent authority organisation code", ref="organisations")),
        Column("maintainer", Text, info=info("养护单位", "maintainer organisation code", ref="organisations")),
        vocab_col("status", LIFECYCLE_STATUS, "状态", "lifecycle status", default="in_service"),
        vocab_col("condition", CONDITION, "部件状态", "condition", default="unknown"),
        Column("install_date", Date, info=info("建设日期", "installation date")),
        vocab_col("position_accuracy", POSITION_ACCURACY, "定位精度", "position accuracy"),
        vocab_col("survey_method", SURVEY_METHOD, "采集方式", "survey method"),
        Column("surveyed_at", Date, info=info("采集日期", "survey date")),
        Column("source_crs", Text, info=info("原始坐标系", "CRS the coordinates were delivered in", readonly=True)),
        Column("source_geometry", JSONB, info=info("原始坐标", "original coordinates when delivered in GCJ-02/BD-09", readonly=True)),
        Column("external_ids", JSONB, info=info("外部编号", "external identifiers by scheme, e.g. provincial 19-digit cover number")),
        Column("remarks", Text, info=info("备注", "remarks", max_length=2000)),
    ]


def geom_check(geometry_type: str) -> CheckConstraint:
    """Geometry validity. A point is valid when its coordinates are finite (NaN sorts above 'Infinity'), or it
    is empty: cheaper than ST_IsValid, and the same for points but POINT(NaN NaN) (see migration 0006)."""
    if geometry_type.upper() == "POINT":
        return CheckConstraint(
            "abs(ST_X(geom)) < 'Infinity'::float8 AND abs(ST_Y(geom)) < 'Infinity'::float8", name="geom_valid"
        )
    return CheckConstraint("ST_IsValid(geom)", name="geom_valid")


def asset_table(name: str, geometry_type: str, columns: list[Column], *extra: Any) -> Table:
    """An asset collection table: bookkeeping + shared asset fields + its own fields."""
    own = asset_columns() + columns
    return Table(name, metadata, *bookkeeping_columns(), *own, geom_col(geometry_type),
                 *vocab_checks(name, own), *extra, geom_check(geometry_type))


def reference_table(name: str, geometry_type: str, columns: list[Column], *extra: Any,
                    geometry_required: bool = True) -> Table:
    """A reference (planning) layer: bookkeeping + its own fields + geometry."""
    geom = [geom_col(geometry_type, nullable=not geometry_required)]
    checks = [geom_check(geometry_type)]
    return Table(name, metadata, *bookkeeping_columns(), *columns, *geom,
                 *vocab_checks(name, columns), *extra, *checks)


__all__ = [
    "BigInteger", "Boolean", "Column", "ForeignKey", "Date", "DateTime", "Double", "Integer", "JSONB", "String", "Text",
    "metadata", "info", "vocab_col", "asset_table", "reference_table", "SRID", "BOOKKEEPING",
]
