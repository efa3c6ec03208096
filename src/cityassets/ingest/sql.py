"""cityassets.ingest.sql: every statement of an upload, built from the catalogue (values bound).

Identifiers come from the catalogue only, never from the request. Steps, all in one transaction,
repeated per segment of the file: stage (binary COPY) -> `chk` (derived district/grid, matched
record) -> segment issues -> merge; features needing an allocated code wait in `pend` until the
last segment, so an allocated code can never take a code that a later segment supplies.
"""

from __future__ import annotations

from dataclasses import dataclass

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
#: Issues of the segment being merged; moved to `iss` once the segment is written.
SEGMENT_ISSUES_DDL = "CREATE TEMP TABLE segiss (LIKE iss) ON COMMIT DROP"
#: The upload's settings, bound once per upload (set_config), read by the multi-statement checks;
#: OFFSET 0 keeps it one evaluated row instead of per-row current_setting() calls.
SCOPE = (
    "(SELECT nullif(current_setting('cityassets.scope_owner'), '') AS owner, "
    "nullif(current_setting('cityassets.scope_districts'), '')::text[] AS districts, "
    "current_setting('cityassets.near_m')::float8 AS near_m, "
    "current_setting('cityassets.upload_id') AS upload_id OFFSET 0)"
)
SETTINGS_SQL = (
    "SELECT set_config('cityassets.actor', $1, true), set_config('cityassets.request_id', $2, true), "
    "set_config('cityassets.upload_id', $3, true), set_config('cityassets.scope_owner', "
    "coalesce($4::text, ''), true), set_config('cityassets.scope_districts', coalesce($5::text[]::text, ''), "
    "true), set_config('cityassets.near_m', $6::float8::text, true)"
)
#: Moves the segment's issues to `iss` when the segment is not written (atomic mode has stopped).
KEEP_ISSUES_SQL = "WITH moved AS (DELETE FROM segiss RETURNING *) INSERT INTO iss SELECT * FROM moved"


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

    def stage_columns(self, fields: tuple[int, ...]) -> list[str]:
        """Staging columns in COPY order, for rows carrying these fields (`pipeline.Staged`)."""
        return ["ord", "present", "cls", *(self.fields[i].name for i in fields), "wkb", "anchor", "src_geom"]


    def stage_ddl(self) -> str:
        """The staging table: typed fields plus the row's index, present-mask, class code, the geometry
        and the point a line or an area is placed by (`geometry._anchors`), both EWKB."""
        cols = ", ".join(f"{f.name} {_STAGE_TYPES[f.type]}" for f in self.fields)
        # Temporary and dropped at commit: a crash or rollback leaves nothing behind.
        # EWKB travels as bytea (binary COPY without a geometry codec on the pooled connection).
        return (
            f"CREATE TEMP TABLE stg (ord integer, present bigint, cls text, {cols}, wkb bytea, "
            f"anchor bytea, src_geom text) ON COMMIT DROP"
        )

    def _check_select(self, probe: bool = True) -> str:
        """Staged rows + position-derived district/grid + the matched and the code-holding record.

        `probe=False` (a first load, `first_load_sql`) looks up no stored record: the same columns, NULL.
        """
        staged = [f"s.{n}" for n in self.stage_columns(self.rules.all_fields) if n not in ("wkb", "anchor")]
        derived = []
        point = self.collection.geometry_type == "Point"
        # A line or an area is placed by its point on surface, which the service computed (as single
        # writes' ST_PointOnSurface does): a point is its own.
        anchor = "s.geom" if point else "s.place"
        if self.has("district_code"):
            derived.append(f"{district_of(anchor, point=True)} AS pos_district")
        if self.has("grid_code"):
            derived.append(f"{grid_cell_of(anchor, point=True)} AS pos_grid")
        coded = self.has("asset_code")
        joins, picks = [], []
        if self.match and probe:
            live = "" if self.match == "asset_code" else " AND t.retired_at IS NULL"
            old = [c for c in ("owner", "district_code") if self.has(c)]
            joins.append(self._probe("t", ["id", "retired_at", *old], f"t.{self.match} = s.{self.match}{live}"))
            picks += ["t.id AS target_id", self._old("owner"), self._old("district_code")]
        else:
            picks += ["NULL::bigint AS target_id", "NULL::text AS old_owner", "NULL::text AS old_district"]
        if coded and not probe:
            picks += ["NULL::bigint AS code_id", "NULL::timestamptz AS code_retired"]
        elif coded and self.match == "asset_code":
            picks += ["t.id AS code_id", "t.retired_at AS code_retired"]
        elif coded:
            joins.append(self._probe("k", ["id", "retired_at"], "k.asset_code = s.asset_code"))
            picks += ["k.id AS code_id", "k.retired_at AS code_retired"]
        # OFFSET 0 keeps each subquery: flattened, each use of `geom` would decode the EWKB again.
        place = "" if point else ", ST_GeomFromEWKB(anchor) AS place"
        decoded = f"SELECT *, ST_GeomFromEWKB(wkb) AS geom{place} FROM stg OFFSET 0"
        columns = ", ".join(staged + ["s.geom"] + derived + picks)
        return f"SELECT {columns} FROM ({decoded}) s {' '.join(joins)}"

    def _probe(self, alias: str, columns: list[str], condition: str) -> str:
        """A per-feature lookup of the stored record through the match key's unique index.

        A lateral probe, not a plain join: the planner hashed the whole target table for every segment
        (estimates of a table that this very upload is filling), so a 1M-feature upload into an empty
        collection scanned ~500k rows per segment on average, O(n²). Every match key has a unique index
        (at most one live row), so LIMIT 1 changes no answer.
        """
        picked = ", ".join(f"{alias}.{c}" for c in columns)
        return f"LEFT JOIN LATERAL (SELECT {picked} FROM {self.table} {alias} WHERE {condition} LIMIT 1) {alias} ON true"

    def work_ddl(self) -> list[str]:
        """`chk` (one segment, checked) and `pend` (accepted features waiting for a code)."""
        return [
            f"CREATE TEMP TABLE chk ON COMMIT DROP AS {self._check_select()} WITH NO DATA",
            "CREATE TEMP TABLE pend (LIKE chk) ON COMMIT DROP",
        ]

    def check_sql(self, probe: bool = True) -> str:
        """Fill `chk` from the staged segment."""
        return f"INSERT INTO chk {self._check_select(probe)}"

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

    def _checks(self, owner_scope: bool, district_scope: bool) -> list[tuple[str, str, str, str]]:
        """Every rule checked in SQL, as (field, rule, condition, message) over a `chk` row `c` and the
        upload's settings `p` (SCOPE: the caller's owner and district scope, NULL = unlimited)."""
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
        return checks

    @staticmethod
    def _refused(checks: list[tuple[str, str, str, str]]) -> str:
        """SQL true when a `chk` row `c` breaks any of `checks` (one OR, before any message is formatted)."""
        return " OR ".join(f"coalesce({cond}, false)" for _, _, cond, _ in checks) or "false"

    def issues_sql(self, owner_scope: bool, district_scope: bool) -> str:
        """One pass over chk: every rule checked in SQL becomes an issue row.

        Clean rows (nearly all) are dropped by one OR of the conditions before any message is formatted.
        """
        checks = self._checks(owner_scope, district_scope)
        if not checks:
            return ""
        code = "c.asset_code" if self.has("asset_code") else "NULL"
        rows = ", ".join(
            f"('{fld}', '{rule}', CASE WHEN {cond} THEN {msg} END)" for fld, rule, cond, msg in checks
        )
        return (
            f"INSERT INTO segiss SELECT c.ord, {code}, v.field, v.rule, v.message, 'rejected' FROM chk c "
            f"CROSS JOIN {SCOPE} p "
            f"CROSS JOIN LATERAL (VALUES {rows}) v(field, rule, message) WHERE "
            f"({self._refused(checks)}) AND v.message IS NOT NULL"
        )

    def near_duplicates_sql(self) -> str:
        """Flag new features within `near_m` metres of a live asset with another code (never merged).

        Compared with the records this upload has not written: earlier segments' new records are
        features of the same file, not existing assets.
        """
        return (
            f"INSERT INTO segiss SELECT c.ord, c.asset_code, NULL, 'near_duplicate', format('within %s m of "
            f"the existing asset %s', p.near_m, n.asset_code), 'near_duplicate' FROM chk c CROSS JOIN "
            f"{SCOPE} p CROSS JOIN LATERAL (SELECT t.asset_code FROM {self.table} t WHERE t.retired_at IS "
            "NULL AND ST_DWithin(t.geom, c.geom, p.near_m) AND t.asset_code IS DISTINCT FROM c.asset_code "
            "AND t.upload_id IS DISTINCT FROM p.upload_id ORDER BY t.geom <-> c.geom LIMIT 1) n "
            "WHERE c.target_id IS NULL AND NOT EXISTS (SELECT 1 FROM segiss i WHERE i.ord = c.ord)"
        )

    def checks_sql(self, owner_scope: bool, district_scope: bool, near: bool, probe: bool = True) -> str:
        """One round trip per segment for the checks: fill `chk` from `stg`, empty `stg` for the next
        segment's COPY, record the segment's issues and tell whether it refused any feature. Several
        statements, so no bound values: they read the upload's settings (SCOPE)."""
        steps = ["TRUNCATE chk", self.check_sql(probe), "TRUNCATE stg"]
        issues = self.issues_sql(owner_scope, district_scope)
        if issues:
            steps.append(issues)
        if near:
            steps.append(self.near_duplicates_sql())
        # Last, so the string's command tag says whether the segment refused a feature: 'SELECT 1' or
        # 'SELECT 0' (a multi-statement string returns no rows, only the last tag).
        steps.append("SELECT 1 FROM segiss WHERE kind = 'rejected' LIMIT 1")
        return ";\n".join(steps)

    ACCEPTED = "NOT EXISTS (SELECT 1 FROM segiss i WHERE i.ord = c.ord AND i.kind <> 'near_duplicate')"

    def defer_sql(self) -> str:
        """Accepted new features without a code wait in `pend` for the end of the file."""
        return (
            "INSERT INTO pend SELECT c.* FROM chk c WHERE c.target_id IS NULL AND c.asset_code IS NULL AND "
            f"{self.ACCEPTED}"
        )

    def allocate_sql(self) -> str:
        """codes(ord, code) for `pend`: one block of serials per prefix via cityassets_next_codes.

        Every code the upload wrote before has already raised its prefix's counter (the
        reserve_codes trigger), so a block never repeats a code of this file or of the registry.
        """
        return (
            "CREATE TEMP TABLE codes ON COMMIT DROP AS "
            "WITH want AS (SELECT c.ord, coalesce(c.district_code, c.pos_district) || c.cls AS "
            "prefix FROM pend c), "
            "need AS (SELECT prefix, count(*)::integer AS n FROM want GROUP BY prefix), "
            "got AS (SELECT need.prefix, g.code, row_number() OVER (PARTITION BY need.prefix ORDER "
            "BY g.code) AS rn "
            "FROM need CROSS JOIN LATERAL cityassets_next_codes(need.prefix, need.n) AS g(code)), "
            "numbered AS (SELECT ord, prefix, row_number() OVER (PARTITION BY prefix ORDER BY ord) "
            "AS rn FROM want) "
            "SELECT n.ord, g.code FROM numbered n JOIN got g USING (prefix, rn)"
        )

    def first_load_sql(self, owner_scope: bool, district_scope: bool) -> str:
        """A segment of a collection that held no row when the upload began, every feature coded: the
        staged rows that break no rule, inserted in one statement from `stg` ($1 actor, $2 upload id,
        $3 declared CRS).

        Same derivations and rules as `chk` and `issues_sql`, but nothing to look up (no stored record
        to match, no code in use), no `chk` table and no issue rows: the clean case, nearly always.
        When fewer rows go in than were staged, `checks_sql(probe=False)` names the rest. A record
        another writer adds meanwhile with a code of the file meets the unique index (409, nothing
        written). OFFSET 0 keeps the derived subquery whole: flattened, the district and grid
        lookups would run once per reference.
        """
        cols, ins, _ = self._new_row()
        return (
            f"INSERT INTO {self.table} ({', '.join(cols)}, created_by, updated_by, upload_id) "
            f"SELECT {', '.join(ins)}, $1, $1, $2 FROM ({self._check_select(probe=False)} OFFSET 0) c "
            f"CROSS JOIN {SCOPE} p WHERE NOT ({self._refused(self._checks(owner_scope, district_scope))})"
        )

    def _new_row(self, allocated: bool = False) -> tuple[list[str], list[str], list[str]]:
        """Written columns, their values for an insert (with an allocated code), and for an update."""
        names = [f.name for f in self.fields]
        cols, ins, upd = list(names), [], []
        for n in names:
            ins.append("k.code" if n == "asset_code" and allocated else self.new_value(n))
            upd.append(self.new_value(n, f"t.{n}"))
        cols.append("geom")
        ins.append("c.geom")
        upd.append("c.geom")
        if self.has("source_crs"):
            cols += ["source_crs", "source_geometry"]
            ins += ["$3::text", "c.src_geom::jsonb"]
            upd += ["$3::text", "c.src_geom::jsonb"]
        return cols, ins, upd

    def insert_sql(self, pending: bool = False) -> str:
        """New records of the segment, or (`pending`) the coded-at-the-end ones of `pend`.

        $1 actor, $2 upload id, $3 declared CRS; history rows come from the statement triggers.
        """
        cols, ins, _ = self._new_row(allocated=pending)
        if pending:
            source = "pend c JOIN codes k ON k.ord = c.ord"
            where = "true"
        else:
            source = "chk c"
            where = f"c.target_id IS NULL AND {self.ACCEPTED}"
            if self.has("asset_code"):
                where += " AND c.asset_code IS NOT NULL"
        return (
            f"INSERT INTO {self.table} ({', '.join(cols)}, created_by, updated_by, upload_id) "
            f"SELECT {', '.join(ins)}, $1, $1, $2 FROM {source} WHERE {where}"
        )

    def update_sql(self) -> str:
        """Changed records only: an identical row is not touched (no version bump, no history).

        The matched ids also reach the target table as an array, so it is read through its primary key
        whatever the planner believes of its size: joined on `t.id = c.target_id` alone, a table that this
        upload is filling (statistics of an empty table) was hashed whole for every segment.
        """
        cols, _, upd = self._new_row()
        return (
            f"UPDATE {self.table} t SET ({', '.join(cols)}, version, updated_at, updated_by, upload_id) = "
            f"({', '.join(upd)}, t.version + 1, now(), $1, $2) FROM chk c WHERE t.id = c.target_id AND "
            "t.id = ANY(ARRAY(SELECT m.target_id FROM chk m WHERE m.target_id IS NOT NULL)) AND "
            f"{self.ACCEPTED} AND ({', '.join('t.' + n for n in cols)}) IS DISTINCT FROM ({', '.join(upd)})"
        )

    def write_sql(self) -> str:
        """The segment's writes in one statement: (inserted, updated, matched).

        Every part sees the segment as checked (one snapshot: PostgreSQL manual §7.8.4), so
        moving the segment's issues to `iss` in the same statement does not change what is accepted.
        Inserted and updated rows touch different records, so the two writes cannot meet.
        """
        parts = []
        if self.has("asset_code"):
            parts.append(f"d AS ({self.defer_sql()})")
        parts.append(f"i AS ({self.insert_sql()} RETURNING 1)")
        if self.match:
            parts.append(f"u AS ({self.update_sql()} RETURNING 1)")
            updated = "(SELECT count(*) FROM u)"
            matched = f"(SELECT count(*) FROM chk c WHERE c.target_id IS NOT NULL AND {self.ACCEPTED})"
        else:
            # Insert only (match=none): no record is looked up, so none is updated; an update part here
            # still joined the whole target table per segment.
            updated = matched = "0::bigint"
        parts += ["m AS (DELETE FROM segiss RETURNING *)", "k AS (INSERT INTO iss SELECT * FROM m)"]
        return (
            f"WITH {', '.join(parts)} SELECT (SELECT count(*) FROM i) AS inserted, {updated} AS updated, "
            f"{matched} AS matched"
        )
