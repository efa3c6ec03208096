"""cityassets.ingest.sql: every statement of an upload, built from the catalogue (values bound).

Identifiers come from the catalogue only, never from the request. Steps, all in one transaction:
stage (binary COPY) -> `chk` (derived district/grid, matched record) -> issues -> codes -> merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from cityassets.catalogue import COLLECTIONS, Collection, Field
from cityassets.ingest.properties import PropertyRules
from cityassets.repository.derive import district_of, grid_cell_of

_STAGE_TYPES = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
    "object": "text",
}

ISSUES_DDL = (
    "CREATE TEMP TABLE iss (ord integer, code text, field text, rule text, message text, kind text) "
    "ON COMMIT DROP"
)


@dataclass
class UploadSQL:
    """Statements for one collection, one match key and one caller scope."""

    rules: PropertyRules
    match: str | None  # a match key column, or None (insert only)

    @property
    def collection(self) -> Collection:
        """The target collection."""
        return self.rules.collection

    @property
    def fields(self) -> tuple[Field, ...]:
        """Staged fields, in COPY order."""
        return self.rules.fields

    @property
    def table(self) -> str:
        """The target table's name (from the catalogue, never from the request)."""
        return self.collection.table.name

    def has(self, column: str) -> bool:
        """The target table has this column."""
        return column in self.collection.table.c

    @cached_property
    def stage_columns(self) -> list[str]:
        """Staging columns in COPY order."""
        return ["ord", "present", "cls", *(f.name for f in self.fields), "wkb", "src_geom"]

    def stage_ddl(self) -> str:
        """The staging table: typed fields plus the row's index, present-mask, class code and EWKB."""
        cols = ", ".join(f"{f.name} {_STAGE_TYPES[f.type]}" for f in self.fields)
        # Temporary and dropped at commit: a crash or rollback leaves nothing behind.
        # EWKB travels as bytea (binary COPY without a geometry codec on the pooled connection).
        return (
            f"CREATE TEMP TABLE stg (ord integer, present bigint, cls text, {cols}, wkb bytea, "
            f"src_geom text) ON COMMIT DROP"
        )

    def check_sql(self) -> str:
        """chk = staged rows + position-derived district/grid + the matched and the code-holding record."""
        staged = [f"s.{n}" for n in self.stage_columns if n != "wkb"]
        derived = []
        if self.has("district_code"):
            derived.append(f"{district_of('s.geom')} AS pos_district")
        if self.has("grid_code"):
            derived.append(f"{grid_cell_of('s.geom')} AS pos_grid")
        coded = self.has("asset_code")
        joins, picks = [], []
        if self.match:
            live = "" if self.match == "asset_code" else " AND t.retired_at IS NULL"
            joins.append(f"LEFT JOIN {self.table} t ON t.{self.match} = s.{self.match}{live}")
            picks += ["t.id AS target_id", self._old("owner"), self._old("district_code")]
        else:
            picks += ["NULL::bigint AS target_id", "NULL::text AS old_owner", "NULL::text AS old_district"]
        if coded and self.match == "asset_code":
            picks += ["t.id AS code_id", "t.retired_at AS code_retired"]
        elif coded:
            joins.append(f"LEFT JOIN {self.table} k ON k.asset_code = s.asset_code")
            picks += ["k.id AS code_id", "k.retired_at AS code_retired"]
        return (
            "CREATE TEMP TABLE chk ON COMMIT DROP AS SELECT "
            f"{', '.join(staged + ['s.geom'] + derived + picks)} "
            f"FROM (SELECT *, ST_GeomFromEWKB(wkb) AS geom FROM stg) s {' '.join(joins)}"
        )

    def duplicates_sql(self) -> str:
        """Later features repeating a match key seen earlier in the file (sorts two narrow columns)."""
        k = self.match
        return (
            f"INSERT INTO iss SELECT d.ord, {'d.asset_code' if k == 'asset_code' else 'NULL'}, '{k}', "
            f"'duplicate_in_file', format('{k} %s appears earlier in the file; only the first one "
            "is used', d.key), "
            f"'duplicate_in_file' FROM (SELECT ord, {k} AS key, {'asset_code, ' if k == 'asset_code' else ''}"
            f"row_number() OVER (PARTITION BY {k} ORDER BY ord) AS rn FROM stg WHERE {k} IS NOT NULL) d "
            f"WHERE d.rn > 1"
        )

    def _old(self, column: str) -> str:
        alias = "old_owner" if column == "owner" else "old_district"
        return f"t.{column} AS {alias}" if self.has(column) else f"NULL::text AS {alias}"

    def bit(self, name: str) -> int:
        """The field's bit in the present-mask."""
        return 1 << self.rules.position[name]

    def new_value(self, name: str, old: str | None = None) -> str:
        """SQL for a column's value after the upload: the file's when present, else the stored `old`.

        Derived columns follow the position when the file leaves them out; `old=None` is an insert.
        """
        f = self.rules.fields[self.rules.position[name]]
        if name == "district_code":
            return "coalesce(c.district_code, c.pos_district)"
        if name == "grid_code":
            return "coalesce(c.grid_code, c.pos_grid)"
        val = f"c.{name}::jsonb" if f.type == "object" else f"c.{name}"
        if old is None:
            return val
        return f"CASE WHEN c.present & {self.bit(name)} <> 0 THEN {val} ELSE {old} END"

    def issues_sql(self, owner_scope: bool, district_scope: bool) -> str:
        """One pass over chk: every rule checked in SQL becomes an issue row.

        $1 the caller's owner scope, $2 their district scope (text[]); NULL = unlimited. Clean rows
        (nearly all) are dropped by one OR of the conditions before any message is formatted.
        """
        checks: list[tuple[str, str, str, str]] = []  # (field, rule, condition, message)
        place = "coalesce(c.district_code, c.pos_district)"
        if self.has("district_code"):
            checks += [
                (
                    "district_code",
                    "district",
                    "c.district_code IS NULL AND c.pos_district IS NULL",
                    "'no district covers this position'",
                ),
                (
                    "district_code",
                    "district_mismatch",
                    "c.district_code <> c.pos_district",
                    (
                        "format('district_code %s does not match the district at the position, %s', "
                        "c.district_code, "
                        "c.pos_district)"
                    ),
                ),
            ]
        if self.has("asset_code"):
            checks += [
                (
                    "asset_code",
                    "district_mismatch",
                    f"left(c.asset_code, 6) <> {place}",
                    (
                        "format('asset code %s does not start with the district at the position, "
                        "%s', c.asset_code, "
                        f"{place})"
                    ),
                ),
                (
                    "asset_code",
                    "retired_code",
                    "c.code_retired IS NOT NULL",
                    (
                        "format('asset code %s belongs to a retired asset: codes are never reused', "
                        "c.asset_code)"
                    ),
                ),
                (
                    "asset_code",
                    "conflict",
                    (
                        "c.code_retired IS NULL AND c.code_id IS NOT NULL AND "
                        "c.code_id IS DISTINCT FROM c.target_id"
                    ),
                    "format('asset code %s is already used by another record', c.asset_code)",
                ),
            ]
        if owner_scope:
            new_owner = self.new_value("owner", "c.old_owner")
            checks.append(
                (
                    "owner",
                    "scope",
                    (
                        f"({new_owner}) IS DISTINCT FROM p.owner OR (c.target_id IS NOT NULL "
                        "AND c.old_owner IS DISTINCT FROM p.owner)"
                    ),
                    (
                        f"format('owner %s is outside your scope (you may edit assets of %s only)', "
                        f"coalesce(c.old_owner, {new_owner}), p.owner)"
                    ),
                )
            )
        if district_scope:
            checks.append(
                (
                    "district_code",
                    "scope",
                    (
                        f"NOT coalesce({place} = ANY(p.districts), false) OR "
                        "(c.target_id IS NOT NULL AND NOT coalesce(c.old_district = ANY(p.districts), false))"
                    ),
                    (
                        "format('district %s is outside your scope (%s)', coalesce(c.old_district, "
                        f"{place}), array_to_string(p.districts, ', '))"
                    ),
                )
            )
        for f in self.fields:
            if f.ref and f.ref != "organisations":
                ref = COLLECTIONS[f.ref]
                checks.append(
                    (
                        f.name,
                        "reference",
                        (
                            f"c.{f.name} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                            f"{ref.table.name} r WHERE r.{ref.code_field} = c.{f.name} AND "
                            "r.retired_at IS NULL)"
                        ),
                        f"format('no live {ref.id} record has the code %s', c.{f.name})",
                    )
                )
        if not checks:
            return ""
        code = "c.asset_code" if self.has("asset_code") else "NULL"
        rows = ", ".join(
            f"('{fld}', '{rule}', CASE WHEN {cond} THEN {msg} END)" for fld, rule, cond, msg in checks
        )
        anyone = " OR ".join(f"coalesce({cond}, false)" for _, _, cond, _ in checks)
        return (
            f"INSERT INTO iss SELECT c.ord, {code}, v.field, v.rule, v.message, 'rejected' FROM chk c "
            f"CROSS JOIN (SELECT $1::text AS owner, $2::text[] AS districts) p "
            f"CROSS JOIN LATERAL (VALUES {rows}) v(field, rule, message) WHERE ({anyone}) AND "
            "v.message IS NOT NULL"
        )

    def near_duplicates_sql(self) -> str:
        """Flag new features within $1 metres of a live asset with another code (flag only, never merged)."""
        return (
            f"INSERT INTO iss SELECT c.ord, c.asset_code, NULL, 'near_duplicate', format('within %s m of the "
            f"existing asset %s', $1::float8, n.asset_code), 'near_duplicate' FROM chk c CROSS JOIN LATERAL "
            f"(SELECT t.asset_code FROM {self.table} t WHERE t.retired_at IS NULL AND "
            "ST_DWithin(t.geom, c.geom, "
            "$1::float8) AND t.asset_code IS DISTINCT FROM c.asset_code ORDER BY t.geom <-> c.geom "
            "LIMIT 1) n "
            f"WHERE c.target_id IS NULL AND NOT EXISTS (SELECT 1 FROM iss i WHERE i.ord = c.ord)"
        )

    ACCEPTED = "NOT EXISTS (SELECT 1 FROM iss i WHERE i.ord = c.ord AND i.kind <> 'near_duplicate')"

    def reserve_sql(self) -> str:
        """Raise serial counters past codes supplied in the file, so allocated codes cannot collide."""
        return (
            "INSERT INTO asset_code_serials AS s (prefix, last_serial) SELECT left(c.asset_code, 10), "
            "max(right(c.asset_code, 6)::integer) FROM chk c WHERE c.asset_code IS NOT NULL AND "
            "c.target_id IS NULL "
            f"AND {self.ACCEPTED} GROUP BY 1 ON CONFLICT (prefix) DO UPDATE SET "
            "last_serial = GREATEST(s.last_serial, EXCLUDED.last_serial)"
        )

    def allocate_sql(self) -> str:
        """codes(ord, code): one block of serials per prefix via cityassets_next_codes, then numbered."""
        return (
            "CREATE TEMP TABLE codes ON COMMIT DROP AS "
            "WITH want AS (SELECT c.ord, coalesce(c.district_code, c.pos_district) || c.cls AS "
            "prefix FROM chk c "
            f"WHERE c.target_id IS NULL AND c.asset_code IS NULL AND {self.ACCEPTED}), "
            "need AS (SELECT prefix, count(*)::integer AS n FROM want GROUP BY prefix), "
            "got AS (SELECT need.prefix, g.code, row_number() OVER (PARTITION BY need.prefix ORDER "
            "BY g.code) AS rn "
            "FROM need CROSS JOIN LATERAL cityassets_next_codes(need.prefix, need.n) AS g(code)), "
            "numbered AS (SELECT ord, prefix, row_number() OVER (PARTITION BY prefix ORDER BY ord) "
            "AS rn FROM want) "
            "SELECT n.ord, g.code FROM numbered n JOIN got g USING (prefix, rn)"
        )

    def _new_row(self) -> tuple[list[str], list[str], list[str]]:
        """Written columns, their values for an insert, and for an update."""
        names = [f.name for f in self.fields]
        cols, ins, upd = list(names), [], []
        for n in names:
            ins.append("coalesce(c.asset_code, k.code)" if n == "asset_code" else self.new_value(n))
            upd.append(self.new_value(n, f"t.{n}"))
        cols.append("geom")
        ins.append("c.geom")
        upd.append("c.geom")
        if self.has("source_crs"):
            cols += ["source_crs", "source_geometry"]
            ins += ["$3::text", "c.src_geom::jsonb"]
            upd += ["$3::text", "c.src_geom::jsonb"]
        return cols, ins, upd

    def insert_sql(self) -> str:
        """New records (allocated codes joined in). $1 actor, $2 upload id, $3 declared CRS.

        Insert and update are two statements (not one CTE) so neither materialises the whole upload;
        history rows come from the statement triggers either way.
        """
        cols, ins, _ = self._new_row()
        codes = "LEFT JOIN codes k ON k.ord = c.ord " if self.has("asset_code") else ""
        return (
            f"INSERT INTO {self.table} ({', '.join(cols)}, created_by, updated_by, upload_id) "
            f"SELECT {', '.join(ins)}, $1, $1, $2 FROM chk c {codes}WHERE c.target_id IS NULL AND "
            f"{self.ACCEPTED}"
        )

    def update_sql(self) -> str:
        """Changed records only: an identical row is not touched (no version bump, no history)."""
        cols, _, upd = self._new_row()
        return (
            f"UPDATE {self.table} t SET ({', '.join(cols)}, version, updated_at, updated_by, upload_id) = "
            f"({', '.join(upd)}, t.version + 1, now(), $1, $2) FROM chk c WHERE t.id = c.target_id AND "
            f"{self.ACCEPTED} AND ({', '.join('t.' + n for n in cols)}) IS DISTINCT FROM ({', '.join(upd)})"
        )

    def matched_sql(self) -> str:
        """Accepted features that matched a record (updated + unchanged)."""
        return f"SELECT count(*) FROM chk c WHERE c.target_id IS NOT NULL AND {self.ACCEPTED}"
