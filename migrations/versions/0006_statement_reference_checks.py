"""organisation references and point validity checked once per statement

Revision ID: 0006_statement_reference_checks
Revises: 0005_coverage_cells
Create Date: 2026-11-23 09:30:00

Bulk uploads insert ~1M rows into asset tables. The row-level RI triggers of the foreign keys from the
organisation columns (owner, authority, maintainer, toilets.manager, organisations.parent_code) to
organisations(code) cost 0.87 s per 100k inserted rows (2.80 s -> 1.93 s without them): each row queues
one trigger event per foreign key, NULL columns included, and runs one KEY SHARE lookup per non-NULL code.
The foreign keys are replaced by statement-level triggers with transition tables that enforce the same rule
set-based: one pass over the statement's rows collects the distinct codes, one index lookup locks them
FOR KEY SHARE (what the RI check does, so a concurrent delete or code change of those organisations waits
for the writer) and finds any that do not exist. Renaming an organisation's code cascades to the
referencing rows (ON UPDATE CASCADE) and deleting a referenced organisation fails (ON DELETE NO ACTION),
again once per statement. Errors keep SQLSTATE 23503 and PostgreSQL's own wording, naming the replaced
constraint, and carry the column, so the API still answers 422 naming the field. Inserting 100k manholes
(owner set, authority and maintainer NULL), EXPLAIN ANALYZE timed the check at 16-26 ms where the three RI
triggers had taken 450-600 ms.

org_references lists the referencing (table, column) pairs, found from pg_constraint when this migration
runs, with the name of the foreign key each replaced: the cascade, the delete check and downgrade() read
it; the per-table triggers get their columns from it as trigger arguments.

Differences from the RI triggers, none reachable from the application (it runs READ COMMITTED and never
truncates organisations):
- Under REPEATABLE READ a delete or code change of an organisation that had to wait for a concurrent
  writer's KEY SHARE lock does not see that writer's rows (the RI triggers re-check with a crosscheck
  snapshot and fail with a serialization error; plpgsql cannot). READ COMMITTED takes a new snapshot for
  each query of the trigger, and SERIALIZABLE sees the read/write cycle, so both stay strict.
- TRUNCATE organisations is refused when a referencing row remains (an AFTER TRUNCATE trigger) rather
  than by the static "table is referenced" check, and TRUNCATE ... CASCADE no longer empties the asset
  tables.
- An UPDATE re-checks every code of the rows it wrote, not only changed ones (one pass over its rows
  either way; the unchanged codes exist already).
- Every INSERT or UPDATE statement on these tables pays for planning the check's dynamic query (~0.1 ms),
  also a one-row update that leaves the codes alone, which the RI triggers skipped: moving 2,000 lamp poles
  (pole_moved updates pole_devices once per pole) took ~0.2 s longer (1.3-1.5 s before).
- A rename rewrites each referencing row once, all its organisation columns together, so the row's history
  has one entry where the RI cascade wrote one per foreign key.

The CHECK (ST_IsValid(geom)) on POINT columns is replaced, under the same name, by a cheaper test with
the same meaning for points: for a point GEOS only rejects non-finite coordinates. NaN sorts above
'Infinity' in PostgreSQL, so `abs(c) < 'Infinity'` refuses NaN and both infinities. ST_IsValid accepts an
empty point (POINT EMPTY is valid); ST_X/ST_Y of an empty point are NULL, and a CHECK that evaluates to
NULL passes, so the new test accepts it too (the API and uploads refuse empty geometries before the
database sees them). One point is refused that ST_IsValid accepted: POINT(NaN NaN) as built by
ST_MakePoint('NaN', 'NaN') or read from WKT, which PostGIS keeps as a non-empty point with NaN coordinates
(ST_X is NaN) while GEOS reads it as empty. (The same point read from WKB is POINT EMPTY and passes.)
Columns are 2D (typmod), so there is no Z or M to test.
"""

from alembic import op
from sqlalchemy import text

revision = "0006_statement_reference_checks"
down_revision = "0005_coverage_cells"
branch_labels = None
depends_on = None

POINT_CHECK = "abs(ST_X(geom)) < 'Infinity'::float8 AND abs(ST_Y(geom)) < 'Infinity'::float8"

#: The one foreign-key rule the triggers implement (pg_constraint: confupdtype, confdeltype, confmatchtype,
#: condeferrable): ON UPDATE CASCADE, ON DELETE NO ACTION, MATCH SIMPLE, not deferrable.
RULE = ("c", "a", "s", False)

TRIGGERS = (
    "org_refs_insert",
    "org_refs_update",
    "org_refs_cascade",
    "org_refs_restrict",
    "org_refs_truncate",
)

FUNCTIONS_SQL = """
CREATE TABLE org_references (
  table_name text NOT NULL,
  column_name text NOT NULL,
  -- the foreign key this pair replaced: named in errors, restored by downgrade()
  constraint_name text NOT NULL,
  PRIMARY KEY (table_name, column_name)
);

-- Referencing side, AFTER INSERT and AFTER UPDATE of a table holding organisation codes; TG_ARGV names the
-- columns. The happy path is two queries per statement: the distinct codes of new_rows, and one lookup in
-- organisations that locks them. The codes are collected from the distinct combinations of the columns:
-- one hashed pass over new_rows (22 ms per 100k rows on the bench machine; unnesting every row's columns
-- first took 130 ms, a DISTINCT per column 40 ms). Every table here has the bookkeeping primary key `id`.
CREATE FUNCTION cityassets_org_refs_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cols text := (SELECT string_agg(quote_ident(a), ', ') FROM unnest(TG_ARGV) a);
  codes text[];
  found text[];
  missing text[];
  col text;
  bad text;
  fk text;
BEGIN
  EXECUTE format('SELECT array_agg(c) FROM (SELECT c FROM (SELECT %1$s FROM new_rows GROUP BY %1$s) g, '
                 'unnest(ARRAY[%1$s]) c WHERE c IS NOT NULL GROUP BY c) s', cols)
    INTO codes;
  IF codes IS NULL THEN
    RETURN NULL;
  END IF;
  -- Codes are distinct on both sides, so equal counts mean every code was found (and is now locked).
  SELECT array_agg(o.code) INTO found
  FROM (SELECT code FROM organisations WHERE code = ANY (codes) FOR KEY SHARE) o;
  IF cardinality(found) = cardinality(codes) THEN
    RETURN NULL;
  END IF;
  missing := ARRAY(SELECT unnest(codes) EXCEPT SELECT unnest(found));
  -- A missing code is a violation if a row of this statement still holds it: a statement that changes
  -- organisations' codes also rewrites, through the cascade trigger (it fires first, by name), the
  -- parent codes its own rows held when it wrote them.
  FOREACH col IN ARRAY TG_ARGV LOOP
    EXECUTE format('SELECT n.%1$I FROM new_rows n JOIN %2$I.%3$I t ON t.id = n.id '
                   'WHERE n.%1$I = ANY ($1) AND t.%1$I = n.%1$I ORDER BY 1 LIMIT 1',
                   col, TG_TABLE_SCHEMA, TG_TABLE_NAME)
      USING missing INTO bad;
    IF bad IS NOT NULL THEN
      fk := coalesce((SELECT r.constraint_name FROM org_references r
                      WHERE r.table_name = TG_TABLE_NAME AND r.column_name = col),
                     format('fk_%s_%s', TG_TABLE_NAME, col));
      RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"', TG_TABLE_NAME, fk
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Key (%s)=(%s) is not present in table "organisations".', col, bad),
              SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = col, CONSTRAINT = fk;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

-- ON UPDATE CASCADE, for all the codes a statement changed: one UPDATE per referencing table that rewrites
-- all its organisation columns at once (old code -> new code through a jsonb map). A row whose owner and
-- authority both named a renamed organisation is written once, so its check never sees one column renamed
-- and the other not yet (it checks every code of the rows written). The referencing tables' own triggers
-- (history) fire as for any update.
CREATE FUNCTION cityassets_org_refs_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  renamed jsonb;
  ref record;
BEGIN
  SELECT jsonb_object_agg(o.code, nw.code) INTO renamed
  FROM old_rows o JOIN new_rows nw ON nw.id = o.id
  WHERE o.code <> nw.code;
  IF renamed IS NULL THEN
    RETURN NULL;
  END IF;
  FOR ref IN SELECT table_name, array_agg(column_name ORDER BY column_name) AS cols
             FROM org_references GROUP BY table_name ORDER BY table_name LOOP
    EXECUTE format('UPDATE %I SET %s WHERE %s', ref.table_name,
                   (SELECT string_agg(format('%1$I = coalesce($1 ->> %1$I, %1$I)', c), ', ')
                    FROM unnest(ref.cols) c),
                   (SELECT string_agg(format('$1 ->> %I IS NOT NULL', c), ' OR ') FROM unnest(ref.cols) c))
      USING renamed;
  END LOOP;
  RETURN NULL;
END $$;

-- ON DELETE NO ACTION: checked when the statement ends, against the codes that no longer exist.
CREATE FUNCTION cityassets_org_refs_restrict() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  gone text[];
  ref record;
  hit text;
BEGIN
  SELECT array_agg(o.code) INTO gone
  FROM old_rows o
  WHERE NOT EXISTS (SELECT 1 FROM organisations x WHERE x.code = o.code);
  IF gone IS NULL THEN
    RETURN NULL;
  END IF;
  FOR ref IN SELECT table_name, column_name, constraint_name FROM org_references
             ORDER BY table_name, column_name LOOP
    EXECUTE format('SELECT %2$I FROM %1$I WHERE %2$I = ANY ($1) LIMIT 1', ref.table_name, ref.column_name)
      USING gone INTO hit;
    IF hit IS NOT NULL THEN
      RAISE EXCEPTION 'update or delete on table "organisations" violates foreign key constraint "%" '
                      'on table "%"', ref.constraint_name, ref.table_name
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Key (code)=(%s) is still referenced from table "%s".', hit, ref.table_name),
              TABLE = ref.table_name, CONSTRAINT = ref.constraint_name;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

-- TRUNCATE fires no DELETE trigger. AFTER TRUNCATE runs once every table of the command is emptied, so
-- TRUNCATE organisations together with the referencing tables works; alone, it fails while a row refers.
CREATE FUNCTION cityassets_org_refs_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ref record;
  hit text;
BEGIN
  FOR ref IN SELECT table_name, column_name, constraint_name FROM org_references
             ORDER BY table_name, column_name LOOP
    EXECUTE format('SELECT %2$I FROM %1$I WHERE %2$I IS NOT NULL LIMIT 1', ref.table_name, ref.column_name)
      INTO hit;
    IF hit IS NOT NULL THEN
      RAISE EXCEPTION 'cannot truncate table "organisations": table "%" still refers to it '
                      '(foreign key constraint "%")', ref.table_name, ref.constraint_name
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Key (code)=(%s) is still referenced from table "%s".', hit, ref.table_name),
              HINT = format('Truncate table "%s" at the same time.', ref.table_name);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
"""

# Single-column foreign keys to organisations(code), with the rule they enforce.
FIND_FKS_SQL = """
SELECT c.conrelid::regclass::text AS table_name, a.attname AS column_name, c.conname AS constraint_name,
       c.confupdtype, c.confdeltype, c.confmatchtype, c.condeferrable
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
JOIN pg_attribute k ON k.attrelid = c.confrelid AND k.attnum = c.confkey[1]
WHERE c.contype = 'f' AND c.confrelid = 'organisations'::regclass AND k.attname = 'code'
  AND cardinality(c.conkey) = 1
ORDER BY 1, 2
"""

# POINT columns whose validity check is still ST_IsValid.
FIND_POINT_CHECKS_SQL = """
SELECT g.f_table_name AS table_name, c.conname
FROM geometry_columns g
JOIN pg_constraint c ON c.conrelid = format('%I.%I', g.f_table_schema, g.f_table_name)::regclass
                    AND c.conname = 'ck_' || g.f_table_name || '_geom_valid'
WHERE g.f_table_schema = current_schema() AND g.f_geometry_column = 'geom' AND g.type = 'POINT'
  AND pg_get_constraintdef(c.oid) ILIKE :pattern
ORDER BY 1
"""


def _tables() -> dict[str, list[str]]:
    """Referencing table -> its organisation columns, from org_references."""
    out: dict[str, list[str]] = {}
    for t, col in op.get_bind().execute(
        text("SELECT table_name, column_name FROM org_references ORDER BY 1, 2")
    ):
        out.setdefault(t, []).append(col)
    return out


def upgrade() -> None:
    conn = op.get_bind()
    fks = conn.execute(text(FIND_FKS_SQL)).mappings().all()
    for fk in fks:
        if (fk["confupdtype"], fk["confdeltype"], fk["confmatchtype"], fk["condeferrable"]) != RULE:
            raise RuntimeError(f"{fk['constraint_name']}: not the rule the triggers replace")
    op.execute(FUNCTIONS_SQL)
    for fk in fks:
        conn.execute(
            text("INSERT INTO org_references VALUES (:t, :c, :n)"),
            {"t": fk["table_name"], "c": fk["column_name"], "n": fk["constraint_name"]},
        )
        op.execute(f"ALTER TABLE {fk['table_name']} DROP CONSTRAINT {fk['constraint_name']}")
    for table, cols in _tables().items():
        args = ", ".join(f"'{c}'" for c in cols)
        op.execute(
            f"CREATE TRIGGER org_refs_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION cityassets_org_refs_check({args})"
        )
        op.execute(
            f"CREATE TRIGGER org_refs_update AFTER UPDATE ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION cityassets_org_refs_check({args})"
        )
    # AFTER triggers of one event fire in name order: org_refs_cascade before organisations' own
    # org_refs_update (parent_code), which relies on it (see cityassets_org_refs_check).
    op.execute(
        "CREATE TRIGGER org_refs_cascade AFTER UPDATE ON organisations REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cityassets_org_refs_cascade()"
    )
    op.execute(
        "CREATE TRIGGER org_refs_restrict AFTER DELETE ON organisations REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION cityassets_org_refs_restrict()"
    )
    op.execute(
        "CREATE TRIGGER org_refs_truncate AFTER TRUNCATE ON organisations "
        "FOR EACH STATEMENT EXECUTE FUNCTION cityassets_org_refs_truncate()"
    )

    for table, name in conn.execute(text(FIND_POINT_CHECKS_SQL), {"pattern": "%st_isvalid(geom)%"}):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} CHECK ({POINT_CHECK})")


def downgrade() -> None:
    conn = op.get_bind()
    for table, name in conn.execute(text(FIND_POINT_CHECKS_SQL), {"pattern": "%st_x(geom)%"}):
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} CHECK (ST_IsValid(geom))"
        )

    for table in ("organisations", *_tables()):
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    refs = conn.execute(
        text("SELECT table_name, column_name, constraint_name FROM org_references ORDER BY 1, 2")
    ).all()
    for table, col, name in refs:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({col}) REFERENCES organisations (code) "
            "ON UPDATE CASCADE"
        )
    for fn in ("check", "cascade", "restrict", "truncate"):
        op.execute(f"DROP FUNCTION cityassets_org_refs_{fn}()")
    op.execute("DROP TABLE org_references")
