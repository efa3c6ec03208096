"""initial schema

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-23 01:26:03.764773
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from cityassets.settings import get_settings

#: Storage SRID from settings (EPSG:4547 by default): another city is another configuration.
SRID = get_settings().storage_srid

COLLECTION_TABLES = ("organisations", "districts", "grid_cells", "green_spaces", "residential_areas", "roads",
                     "facilities", "manholes", "trees", "lamp_poles", "pole_devices", "toilets", "street_furniture")

ASSET_TABLES = ("manholes", "trees", "lamp_poles", "pole_devices", "toilets", "street_furniture")

# Statement-level triggers with transition tables: one INSERT into history per statement, so a
# million-row upload costs one set-based insert, and every write path (OGC API, WFS-T, uploads,
# plain SQL) leaves the same trail. Who/why come from transaction-local settings that the
# repository sets with set_config(..., true).
HISTORY_SQL = """
CREATE FUNCTION cityassets_bump_stats(coll text, delta bigint) RETURNS void LANGUAGE sql AS $$
  INSERT INTO collection_stats AS s (collection, live_count, data_version, changed_at)
  VALUES (coll, delta, 1, now())
  ON CONFLICT (collection) DO UPDATE
     SET live_count = s.live_count + EXCLUDED.live_count, data_version = s.data_version + 1, changed_at = now();
$$;

-- The who/why context is read once per statement, not per row (a fifth of a bulk insert).
CREATE FUNCTION cityassets_history_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  v_actor text := nullif(current_setting('cityassets.actor', true), '');
  v_request text := nullif(current_setting('cityassets.request_id', true), '');
  v_upload text := nullif(current_setting('cityassets.upload_id', true), '');
BEGIN
  INSERT INTO history (collection, feature_id, version, action, actor, request_id, upload_id)
  SELECT TG_TABLE_NAME, r.id, r.version, 'insert', v_actor, v_request, v_upload FROM new_rows r;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    PERFORM cityassets_bump_stats(TG_TABLE_NAME, (SELECT count(*) FROM new_rows WHERE retired_at IS NULL));
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION cityassets_history_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  v_actor text := nullif(current_setting('cityassets.actor', true), '');
  v_request text := nullif(current_setting('cityassets.request_id', true), '');
  v_upload text := nullif(current_setting('cityassets.upload_id', true), '');
BEGIN
  INSERT INTO history (collection, feature_id, version, action, actor, request_id, upload_id, changes, previous)
  SELECT TG_TABLE_NAME, nw.id, nw.version,
         CASE WHEN o.retired_at IS NULL AND nw.retired_at IS NOT NULL THEN 'delete'
              WHEN o.retired_at IS NOT NULL AND nw.retired_at IS NULL THEN 'restore'
              ELSE 'update' END,
         v_actor, v_request, v_upload, d.changes, to_jsonb(o)
  FROM old_rows o JOIN new_rows nw ON nw.id = o.id
  CROSS JOIN LATERAL (
    SELECT jsonb_object_agg(a.key, jsonb_build_array(a.value, b.value)) AS changes
    FROM jsonb_each(to_jsonb(o)) a JOIN jsonb_each(to_jsonb(nw)) b ON a.key = b.key
    WHERE a.value IS DISTINCT FROM b.value
      AND a.key NOT IN ('version', 'updated_at', 'updated_by', 'upload_id', 'created_at', 'created_by')
  ) d
  WHERE d.changes IS NOT NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    PERFORM cityassets_bump_stats(TG_TABLE_NAME, (
      SELECT count(*) FILTER (WHERE o.retired_at IS NOT NULL AND nw.retired_at IS NULL)
           - count(*) FILTER (WHERE o.retired_at IS NULL AND nw.retired_at IS NOT NULL)
      FROM old_rows o JOIN new_rows nw ON nw.id = o.id));
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION cityassets_history_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  v_actor text := nullif(current_setting('cityassets.actor', true), '');
  v_request text := nullif(current_setting('cityassets.request_id', true), '');
  v_upload text := nullif(current_setting('cityassets.upload_id', true), '');
BEGIN
  INSERT INTO history (collection, feature_id, version, action, actor, request_id, upload_id, previous)
  SELECT TG_TABLE_NAME, o.id, o.version + 1, 'purge', v_actor, v_request, v_upload, to_jsonb(o) FROM old_rows o;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    PERFORM cityassets_bump_stats(TG_TABLE_NAME, -(SELECT count(*) FROM old_rows WHERE retired_at IS NULL));
  END IF;
  RETURN NULL;
END $$;

-- 16-digit asset codes (部件标识码): serials per 10-digit prefix only ever grow, so a code is
-- never reused. Allocation takes a block; every written code (allocated or supplied by a client)
-- raises the counter past its serial.
CREATE FUNCTION cityassets_next_codes(prefix text, n integer) RETURNS SETOF text LANGUAGE sql AS $$
  WITH bumped AS (
    INSERT INTO asset_code_serials AS s (prefix, last_serial) VALUES (prefix, n)
    ON CONFLICT (prefix) DO UPDATE SET last_serial = s.last_serial + EXCLUDED.last_serial
    RETURNING last_serial)
  SELECT prefix || lpad(g::text, 6, '0') FROM bumped, generate_series(last_serial - n + 1, last_serial) g
$$;

CREATE FUNCTION cityassets_reserve_codes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO asset_code_serials AS s (prefix, last_serial)
  SELECT left(asset_code, 10), max(right(asset_code, 6)::integer) FROM new_rows
  WHERE asset_code ~ '^[0-9]{16}$' GROUP BY 1
  ON CONFLICT (prefix) DO UPDATE SET last_serial = GREATEST(s.last_serial, EXCLUDED.last_serial);
  RETURN NULL;
END $$;

-- Devices mounted on a pole move with it (多杆合一: the pole is the carrier).
CREATE FUNCTION cityassets_pole_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pole_devices SET geom = NEW.geom, version = version + 1, updated_at = now(), updated_by = NEW.updated_by
  WHERE pole_code = NEW.asset_code AND retired_at IS NULL AND NOT ST_Equals(geom, NEW.geom);
  RETURN NULL;
END $$;
"""


def _install_triggers() -> None:
    op.execute(HISTORY_SQL)
    for t in COLLECTION_TABLES:
        op.execute(f"CREATE TRIGGER history_insert AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION cityassets_history_insert()")
        op.execute(f"CREATE TRIGGER history_update AFTER UPDATE ON {t} REFERENCING OLD TABLE AS old_rows "
                   f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cityassets_history_update()")
        op.execute(f"CREATE TRIGGER history_delete AFTER DELETE ON {t} REFERENCING OLD TABLE AS old_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION cityassets_history_delete()")
        op.execute(f"INSERT INTO collection_stats (collection) VALUES ('{t}')")
    for t in ASSET_TABLES:
        op.execute(f"CREATE TRIGGER reserve_codes_insert AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION cityassets_reserve_codes()")
        op.execute(f"CREATE TRIGGER reserve_codes_update AFTER UPDATE ON {t} REFERENCING NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION cityassets_reserve_codes()")
    op.execute("CREATE TRIGGER pole_moved AFTER UPDATE OF geom ON lamp_poles FOR EACH ROW "
               "WHEN (NOT ST_Equals(OLD.geom, NEW.geom)) EXECUTE FUNCTION cityassets_pole_moved()")

revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('api_tokens',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('districts', sa.ARRAY(sa.Text()), nullable=True),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('asset_code_serials',
    sa.Column('prefix', sa.Text(), nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_asset_code_serials'))
    )
    op.create_table('collection_stats',
    sa.Column('collection', sa.Text(), nullable=False),
    sa.Column('live_count', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('data_version', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('collection', name=op.f('pk_collection_stats'))
    )
    op.create_geospatial_table('districts',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name_zh', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=True),
    sa.Column('central_city', sa.Boolean(), nullable=True),
    sa.Column('built_up_km2', sa.Double(), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_districts_geom_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_districts')),
    sa.UniqueConstraint('code', name=op.f('uq_districts_code'))
    )
    op.create_geospatial_index('idx_districts_geom', 'districts', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('facilities',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("category IN ('bus_stop', 'kindergarten', 'primary_school', 'middle_school', 'hospital', 'clinic', 'market', 'community_centre', 'sports', 'other')", name=op.f('ck_facilities_category_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_facilities_geom_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facilities'))
    )
    op.create_geospatial_index('idx_facilities_geom', 'facilities', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_facilities_category', 'facilities', ['category'], unique=False)
    op.create_geospatial_table('green_spaces',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('green_class', sa.Text(), nullable=False),
    sa.Column('is_public', sa.Boolean(), server_default='true', nullable=True),
    sa.Column('historic_district', sa.Boolean(), server_default='false', nullable=True),
    sa.Column('area_m2', sa.Double(), sa.Computed('ST_Area(geom)', persisted=True), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("green_class IN ('G11', 'G12', 'G13', 'G14', 'G2', 'G3', 'XG', 'EG')", name=op.f('ck_green_spaces_green_class_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_green_spaces_geom_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_green_spaces'))
    )
    op.create_geospatial_index('idx_green_spaces_geom', 'green_spaces', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_green_spaces_district_code', 'green_spaces', ['district_code'], unique=False)
    op.create_geospatial_table('grid_cells',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_grid_cells_geom_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_cells')),
    sa.UniqueConstraint('code', name=op.f('uq_grid_cells_code'))
    )
    op.create_geospatial_index('idx_grid_cells_geom', 'grid_cells', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_grid_cells_district_code', 'grid_cells', ['district_code'], unique=False)
    op.create_table('history',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('collection', sa.Text(), nullable=False),
    sa.Column('feature_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=True),
    sa.Column('request_id', sa.Text(), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('previous', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history'))
    )
    op.create_index('ix_history_feature', 'history', ['collection', 'feature_id', 'version'], unique=False)
    op.create_index('ix_history_upload', 'history', ['upload_id'], unique=False, postgresql_where=sa.text('upload_id IS NOT NULL'))
    op.create_geospatial_table('organisations',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name_zh', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=True),
    sa.Column('org_type', sa.Text(), nullable=False),
    sa.Column('parent_code', sa.Text(), nullable=True),
    sa.Column('contact_phone', sa.Text(), nullable=True),
    sa.Column('complaint_phone', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("org_type IN ('government_dept', 'district_gov', 'state_enterprise', 'utility_company', 'carrier', 'contractor', 'community', 'private')", name=op.f('ck_organisations_org_type_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_organisations_geom_valid')),
    sa.ForeignKeyConstraint(['parent_code'], ['organisations.code'], name=op.f('fk_organisations_parent_code'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('code', name=op.f('uq_organisations_code'))
    )
    op.create_geospatial_index('idx_organisations_geom', 'organisations', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('residential_areas',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('land_use', sa.Text(), server_default=sa.text("'R2'"), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('area_m2', sa.Double(), sa.Computed('ST_Area(geom)', persisted=True), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("land_use IN ('R1', 'R2', 'R3')", name=op.f('ck_residential_areas_land_use_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_residential_areas_geom_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residential_areas'))
    )
    op.create_geospatial_index('idx_residential_areas_geom', 'residential_areas', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_residential_areas_district_code', 'residential_areas', ['district_code'], unique=False)
    op.create_geospatial_table('roads',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('road_class', sa.Text(), nullable=False),
    sa.Column('walkable', sa.Boolean(), server_default='true', nullable=True),
    sa.Column('length_m', sa.Double(), sa.Computed('ST_Length(geom)', persisted=True), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("road_class IN ('expressway', 'main', 'secondary', 'branch', 'pedestrian', 'park_path')", name=op.f('ck_roads_road_class_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_roads_geom_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roads'))
    )
    op.create_geospatial_index('idx_roads_geom', 'roads', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('upload_issues',
    sa.Column('upload_id', sa.Text(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('feature_index', sa.Integer(), nullable=True),
    sa.Column('asset_code', sa.Text(), nullable=True),
    sa.Column('field', sa.Text(), nullable=True),
    sa.Column('rule', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('upload_id', 'seq', name=op.f('pk_upload_issues'))
    )
    op.create_table('uploads',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('collection', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('mode', sa.Text(), nullable=False),
    sa.Column('match', sa.Text(), nullable=True),
    sa.Column('crs', sa.Text(), nullable=True),
    sa.Column('dry_run', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=True),
    sa.Column('filename', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads'))
    )
    op.create_geospatial_table('lamp_poles',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('asset_code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('grid_code', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('authority', sa.Text(), nullable=True),
    sa.Column('maintainer', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'in_service'"), nullable=False),
    sa.Column('condition', sa.Text(), server_default=sa.text("'unknown'"), nullable=False),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('position_accuracy', sa.Text(), nullable=True),
    sa.Column('survey_method', sa.Text(), nullable=True),
    sa.Column('surveyed_at', sa.Date(), nullable=True),
    sa.Column('source_crs', sa.Text(), nullable=True),
    sa.Column('source_geometry', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('external_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('pole_type', sa.Text(), nullable=True),
    sa.Column('pole_height_m', sa.Double(), nullable=True),
    sa.Column('pole_material', sa.Text(), nullable=True),
    sa.Column('is_integrated', sa.Boolean(), nullable=True),
    sa.Column('road_name', sa.Text(), nullable=True),
    sa.Column('road_class', sa.Text(), nullable=True),
    sa.Column('circuit_id', sa.Text(), nullable=True),
    sa.Column('cabinet_code', sa.Text(), nullable=True),
    sa.Column('control_mode', sa.Text(), nullable=True),
    sa.Column('lit', sa.Boolean(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("condition IN ('intact', 'damaged', 'missing', 'sunken', 'obstructed', 'unknown')", name=op.f('ck_lamp_poles_condition_vocab')),
    sa.CheckConstraint("control_mode IN ('timer', 'photocell', 'central_remote', 'single_lamp_controller')", name=op.f('ck_lamp_poles_control_mode_vocab')),
    sa.CheckConstraint("pole_type IN ('single_arm', 'double_arm', 'high_mast', 'mid_mast', 'garden', 'integrated_smart')", name=op.f('ck_lamp_poles_pole_type_vocab')),
    sa.CheckConstraint("position_accuracy IN ('3cm', '10cm', '50cm', 'over_50cm', 'unknown')", name=op.f('ck_lamp_poles_position_accuracy_vocab')),
    sa.CheckConstraint("road_class IN ('expressway', 'main', 'secondary', 'branch', 'pedestrian', 'park_path')", name=op.f('ck_lamp_poles_road_class_vocab')),
    sa.CheckConstraint("status IN ('planned', 'under_construction', 'in_service', 'in_service_provisional', 'temporarily_closed', 'to_be_removed', 'decommissioned_in_place', 'removed', 'unknown')", name=op.f('ck_lamp_poles_status_vocab')),
    sa.CheckConstraint("survey_method IN ('rtk', 'total_station', 'handheld_gnss', 'phone', 'digitised', 'imported')", name=op.f('ck_lamp_poles_survey_method_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_lamp_poles_geom_valid')),
    sa.ForeignKeyConstraint(['authority'], ['organisations.code'], name=op.f('fk_lamp_poles_authority'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['maintainer'], ['organisations.code'], name=op.f('fk_lamp_poles_maintainer'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['owner'], ['organisations.code'], name=op.f('fk_lamp_poles_owner'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lamp_poles')),
    sa.UniqueConstraint('asset_code', name=op.f('uq_lamp_poles_asset_code'))
    )
    op.create_geospatial_index('idx_lamp_poles_geom', 'lamp_poles', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('manholes',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('asset_code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('grid_code', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('authority', sa.Text(), nullable=True),
    sa.Column('maintainer', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'in_service'"), nullable=False),
    sa.Column('condition', sa.Text(), server_default=sa.text("'unknown'"), nullable=False),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('position_accuracy', sa.Text(), nullable=True),
    sa.Column('survey_method', sa.Text(), nullable=True),
    sa.Column('surveyed_at', sa.Date(), nullable=True),
    sa.Column('source_crs', sa.Text(), nullable=True),
    sa.Column('source_geometry', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('external_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('utility_type', sa.Text(), nullable=False),
    sa.Column('ownership_confirmed', sa.Boolean(), nullable=True),
    sa.Column('owner_mark', sa.Boolean(), nullable=True),
    sa.Column('cover_material', sa.Text(), nullable=True),
    sa.Column('cover_shape', sa.Text(), nullable=True),
    sa.Column('cover_diameter_mm', sa.Integer(), nullable=True),
    sa.Column('cover_length_mm', sa.Integer(), nullable=True),
    sa.Column('cover_width_mm', sa.Integer(), nullable=True),
    sa.Column('load_class', sa.Text(), nullable=True),
    sa.Column('anti_fall_device', sa.Boolean(), nullable=True),
    sa.Column('well_function', sa.Text(), nullable=True),
    sa.Column('depth_m', sa.Double(), nullable=True),
    sa.Column('provincial_cover_no', sa.Text(), nullable=True),
    sa.Column('sensor_id', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("condition IN ('intact', 'damaged', 'missing', 'sunken', 'obstructed', 'unknown')", name=op.f('ck_manholes_condition_vocab')),
    sa.CheckConstraint("cover_material IN ('cast_iron', 'ductile_iron', 'composite', 'concrete', 'steel', 'cast_iron_with_pavement_filling', 'other')", name=op.f('ck_manholes_cover_material_vocab')),
    sa.CheckConstraint("cover_shape IN ('round', 'rectangular', 'other')", name=op.f('ck_manholes_cover_shape_vocab')),
    sa.CheckConstraint("load_class IN ('A15', 'B125', 'C250', 'D400', 'E600', 'F900')", name=op.f('ck_manholes_load_class_vocab')),
    sa.CheckConstraint("position_accuracy IN ('3cm', '10cm', '50cm', 'over_50cm', 'unknown')", name=op.f('ck_manholes_position_accuracy_vocab')),
    sa.CheckConstraint("status IN ('planned', 'under_construction', 'in_service', 'in_service_provisional', 'temporarily_closed', 'to_be_removed', 'decommissioned_in_place', 'removed', 'unknown')", name=op.f('ck_manholes_status_vocab')),
    sa.CheckConstraint("survey_method IN ('rtk', 'total_station', 'handheld_gnss', 'phone', 'digitised', 'imported')", name=op.f('ck_manholes_survey_method_vocab')),
    sa.CheckConstraint("utility_type IN ('water_supply', 'sewage', 'storm', 'storm_grate', 'reclaimed', 'power', 'street_lighting', 'telecom', 'cable_tv', 'network', 'heat', 'gas', 'police', 'fire', 'bus', 'oil_gas', 'special', 'ownerless')", name=op.f('ck_manholes_utility_type_vocab')),
    sa.CheckConstraint("well_function IN ('inspection', 'gully', 'valve', 'meter', 'junction', 'drop', 'venting', 'other')", name=op.f('ck_manholes_well_function_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_manholes_geom_valid')),
    sa.ForeignKeyConstraint(['authority'], ['organisations.code'], name=op.f('fk_manholes_authority'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['maintainer'], ['organisations.code'], name=op.f('fk_manholes_maintainer'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['owner'], ['organisations.code'], name=op.f('fk_manholes_owner'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manholes')),
    sa.UniqueConstraint('asset_code', name=op.f('uq_manholes_asset_code')),
    sa.UniqueConstraint('provincial_cover_no', name=op.f('uq_manholes_provincial_cover_no'))
    )
    op.create_geospatial_index('idx_manholes_geom', 'manholes', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('street_furniture',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('asset_code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('grid_code', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('authority', sa.Text(), nullable=True),
    sa.Column('maintainer', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'in_service'"), nullable=False),
    sa.Column('condition', sa.Text(), server_default=sa.text("'unknown'"), nullable=False),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('position_accuracy', sa.Text(), nullable=True),
    sa.Column('survey_method', sa.Text(), nullable=True),
    sa.Column('surveyed_at', sa.Date(), nullable=True),
    sa.Column('source_crs', sa.Text(), nullable=True),
    sa.Column('source_geometry', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('external_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('material', sa.Text(), nullable=True),
    sa.Column('capacity_l', sa.Double(), nullable=True),
    sa.Column('compartments', sa.Text(), nullable=True),
    sa.Column('bollard_type', sa.Text(), nullable=True),
    sa.Column('height_m', sa.Double(), nullable=True),
    sa.Column('reflective', sa.Boolean(), nullable=True),
    sa.Column('seats', sa.Integer(), nullable=True),
    sa.Column('backrest', sa.Boolean(), nullable=True),
    sa.Column('sign_kind', sa.Text(), nullable=True),
    sa.Column('text_zh', sa.Text(), nullable=True),
    sa.Column('text_en', sa.Text(), nullable=True),
    sa.Column('cabinet_utility', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("bollard_type IN ('fixed', 'removable', 'rising', 'foldable', 'flexible')", name=op.f('ck_street_furniture_bollard_type_vocab')),
    sa.CheckConstraint("cabinet_utility IN ('power', 'telecom', 'street_lighting', 'traffic', 'combined', 'other')", name=op.f('ck_street_furniture_cabinet_utility_vocab')),
    sa.CheckConstraint("category IN ('litter_bin', 'bollard', 'ground_lock', 'bench', 'sign', 'cabinet', 'shelter', 'drinking_water')", name=op.f('ck_street_furniture_category_vocab')),
    sa.CheckConstraint("condition IN ('intact', 'damaged', 'missing', 'sunken', 'obstructed', 'unknown')", name=op.f('ck_street_furniture_condition_vocab')),
    sa.CheckConstraint("position_accuracy IN ('3cm', '10cm', '50cm', 'over_50cm', 'unknown')", name=op.f('ck_street_furniture_position_accuracy_vocab')),
    sa.CheckConstraint("sign_kind IN ('traffic_sign', 'guidance', 'road_name', 'toilet_direction', 'park_direction', 'other')", name=op.f('ck_street_furniture_sign_kind_vocab')),
    sa.CheckConstraint("status IN ('planned', 'under_construction', 'in_service', 'in_service_provisional', 'temporarily_closed', 'to_be_removed', 'decommissioned_in_place', 'removed', 'unknown')", name=op.f('ck_street_furniture_status_vocab')),
    sa.CheckConstraint("survey_method IN ('rtk', 'total_station', 'handheld_gnss', 'phone', 'digitised', 'imported')", name=op.f('ck_street_furniture_survey_method_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_street_furniture_geom_valid')),
    sa.ForeignKeyConstraint(['authority'], ['organisations.code'], name=op.f('fk_street_furniture_authority'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['maintainer'], ['organisations.code'], name=op.f('fk_street_furniture_maintainer'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['owner'], ['organisations.code'], name=op.f('fk_street_furniture_owner'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street_furniture')),
    sa.UniqueConstraint('asset_code', name=op.f('uq_street_furniture_asset_code'))
    )
    op.create_geospatial_index('idx_street_furniture_geom', 'street_furniture', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('toilets',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('asset_code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('grid_code', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('authority', sa.Text(), nullable=True),
    sa.Column('maintainer', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'in_service'"), nullable=False),
    sa.Column('condition', sa.Text(), server_default=sa.text("'unknown'"), nullable=False),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('position_accuracy', sa.Text(), nullable=True),
    sa.Column('survey_method', sa.Text(), nullable=True),
    sa.Column('surveyed_at', sa.Date(), nullable=True),
    sa.Column('source_crs', sa.Text(), nullable=True),
    sa.Column('source_geometry', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('external_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('toilet_type', sa.Text(), nullable=False),
    sa.Column('toilet_class', sa.Text(), nullable=False),
    sa.Column('public_access', sa.Text(), nullable=False),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('is_24h', sa.Boolean(), nullable=True),
    sa.Column('fee', sa.Boolean(), nullable=True),
    sa.Column('family_room', sa.Boolean(), nullable=True),
    sa.Column('mother_baby_room', sa.Boolean(), nullable=True),
    sa.Column('accessible', sa.Boolean(), nullable=True),
    sa.Column('stalls_male', sa.Integer(), nullable=True),
    sa.Column('stalls_female', sa.Integer(), nullable=True),
    sa.Column('urinals', sa.Integer(), nullable=True),
    sa.Column('stalls_accessible', sa.Integer(), nullable=True),
    sa.Column('manager', sa.Text(), nullable=True),
    sa.Column('complaint_phone', sa.Text(), nullable=True),
    sa.Column('closure_reason', sa.Text(), nullable=True),
    sa.Column('reopen_date', sa.Date(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("closure_reason IN ('maintenance', 'utility_outage', 'unpaid_bills', 'event', 'safety', 'other')", name=op.f('ck_toilets_closure_reason_vocab')),
    sa.CheckConstraint("condition IN ('intact', 'damaged', 'missing', 'sunken', 'obstructed', 'unknown')", name=op.f('ck_toilets_condition_vocab')),
    sa.CheckConstraint("position_accuracy IN ('3cm', '10cm', '50cm', 'over_50cm', 'unknown')", name=op.f('ck_toilets_position_accuracy_vocab')),
    sa.CheckConstraint("public_access IN ('municipal', 'social_unit_open', 'shared_platform', 'park_internal')", name=op.f('ck_toilets_public_access_vocab')),
    sa.CheckConstraint("status <> 'temporarily_closed' OR closure_reason IS NOT NULL", name=op.f('ck_toilets_closure_reason_given')),
    sa.CheckConstraint("status IN ('planned', 'under_construction', 'in_service', 'in_service_provisional', 'temporarily_closed', 'to_be_removed', 'decommissioned_in_place', 'removed', 'unknown')", name=op.f('ck_toilets_status_vocab')),
    sa.CheckConstraint("survey_method IN ('rtk', 'total_station', 'handheld_gnss', 'phone', 'digitised', 'imported')", name=op.f('ck_toilets_survey_method_vocab')),
    sa.CheckConstraint("toilet_class IN ('I', 'II', 'III', 'mobile')", name=op.f('ck_toilets_toilet_class_vocab')),
    sa.CheckConstraint("toilet_type IN ('standalone', 'attached', 'mobile')", name=op.f('ck_toilets_toilet_type_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_toilets_geom_valid')),
    sa.ForeignKeyConstraint(['authority'], ['organisations.code'], name=op.f('fk_toilets_authority'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['maintainer'], ['organisations.code'], name=op.f('fk_toilets_maintainer'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['manager'], ['organisations.code'], name=op.f('fk_toilets_manager'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['owner'], ['organisations.code'], name=op.f('fk_toilets_owner'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_toilets')),
    sa.UniqueConstraint('asset_code', name=op.f('uq_toilets_asset_code'))
    )
    op.create_geospatial_index('idx_toilets_geom', 'toilets', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('trees',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('asset_code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('grid_code', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('authority', sa.Text(), nullable=True),
    sa.Column('maintainer', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'in_service'"), nullable=False),
    sa.Column('condition', sa.Text(), server_default=sa.text("'unknown'"), nullable=False),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('position_accuracy', sa.Text(), nullable=True),
    sa.Column('survey_method', sa.Text(), nullable=True),
    sa.Column('surveyed_at', sa.Date(), nullable=True),
    sa.Column('source_crs', sa.Text(), nullable=True),
    sa.Column('source_geometry', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('external_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('species_latin', sa.Text(), nullable=True),
    sa.Column('species_zh', sa.Text(), nullable=True),
    sa.Column('dbh_cm', sa.Double(), nullable=True),
    sa.Column('dbh_height_m', sa.Double(), server_default=sa.text('1.3'), nullable=True),
    sa.Column('height_m', sa.Double(), nullable=True),
    sa.Column('crown_diameter_m', sa.Double(), nullable=True),
    sa.Column('clear_trunk_height_m', sa.Double(), nullable=True),
    sa.Column('health', sa.Text(), nullable=True),
    sa.Column('tree_status', sa.Text(), server_default=sa.text("'alive'"), nullable=False),
    sa.Column('heritage_grade', sa.Text(), nullable=True),
    sa.Column('planted_date', sa.Date(), nullable=True),
    sa.Column('pit_shape', sa.Text(), nullable=True),
    sa.Column('pit_length_m', sa.Double(), nullable=True),
    sa.Column('pit_width_m', sa.Double(), nullable=True),
    sa.Column('pit_surface', sa.Text(), nullable=True),
    sa.Column('grate_material', sa.Text(), nullable=True),
    sa.Column('support', sa.Text(), nullable=True),
    sa.Column('chip_type', sa.Text(), nullable=True),
    sa.Column('chip_uid', sa.Text(), nullable=True),
    sa.Column('chip_bound_at', sa.Date(), nullable=True),
    sa.Column('chip_status', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("chip_status IN ('active', 'lost', 'damaged', 'replaced')", name=op.f('ck_trees_chip_status_vocab')),
    sa.CheckConstraint("chip_type IN ('rfid', 'nfc', 'qr')", name=op.f('ck_trees_chip_type_vocab')),
    sa.CheckConstraint("condition IN ('intact', 'damaged', 'missing', 'sunken', 'obstructed', 'unknown')", name=op.f('ck_trees_condition_vocab')),
    sa.CheckConstraint("health IN ('good', 'fair', 'poor', 'dead')", name=op.f('ck_trees_health_vocab')),
    sa.CheckConstraint("heritage_grade IN ('none', 'grade_1', 'grade_2', 'grade_3', 'notable')", name=op.f('ck_trees_heritage_grade_vocab')),
    sa.CheckConstraint("pit_shape IN ('square', 'rectangular', 'round', 'strip', 'none')", name=op.f('ck_trees_pit_shape_vocab')),
    sa.CheckConstraint("pit_surface IN ('grate', 'permeable_paving', 'gravel', 'soil', 'groundcover', 'raised_bed')", name=op.f('ck_trees_pit_surface_vocab')),
    sa.CheckConstraint("position_accuracy IN ('3cm', '10cm', '50cm', 'over_50cm', 'unknown')", name=op.f('ck_trees_position_accuracy_vocab')),
    sa.CheckConstraint("status IN ('planned', 'under_construction', 'in_service', 'in_service_provisional', 'temporarily_closed', 'to_be_removed', 'decommissioned_in_place', 'removed', 'unknown')", name=op.f('ck_trees_status_vocab')),
    sa.CheckConstraint("support IN ('none', 'stakes', 'guy_wires', 'frame')", name=op.f('ck_trees_support_vocab')),
    sa.CheckConstraint("survey_method IN ('rtk', 'total_station', 'handheld_gnss', 'phone', 'digitised', 'imported')", name=op.f('ck_trees_survey_method_vocab')),
    sa.CheckConstraint("tree_status IN ('alive', 'dead_standing', 'stump', 'vacant_site')", name=op.f('ck_trees_tree_status_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_trees_geom_valid')),
    sa.ForeignKeyConstraint(['authority'], ['organisations.code'], name=op.f('fk_trees_authority'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['maintainer'], ['organisations.code'], name=op.f('fk_trees_maintainer'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['owner'], ['organisations.code'], name=op.f('fk_trees_owner'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trees')),
    sa.UniqueConstraint('asset_code', name=op.f('uq_trees_asset_code'))
    )
    op.create_geospatial_index('idx_trees_geom', 'trees', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('uq_trees_chip_uid_live', 'trees', ['chip_uid'], unique=True, postgresql_where=sa.text('chip_uid IS NOT NULL AND retired_at IS NULL'))
    op.create_geospatial_table('pole_devices',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upload_id', sa.Text(), nullable=True),
    sa.Column('asset_code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('grid_code', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('authority', sa.Text(), nullable=True),
    sa.Column('maintainer', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'in_service'"), nullable=False),
    sa.Column('condition', sa.Text(), server_default=sa.text("'unknown'"), nullable=False),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('position_accuracy', sa.Text(), nullable=True),
    sa.Column('survey_method', sa.Text(), nullable=True),
    sa.Column('surveyed_at', sa.Date(), nullable=True),
    sa.Column('source_crs', sa.Text(), nullable=True),
    sa.Column('source_geometry', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('external_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('pole_code', sa.Text(), nullable=False),
    sa.Column('device_type', sa.Text(), nullable=False),
    sa.Column('light_method', sa.Text(), nullable=True),
    sa.Column('wattage_w', sa.Double(), nullable=True),
    sa.Column('lamp_count', sa.Integer(), nullable=True),
    sa.Column('is_on', sa.Boolean(), nullable=True),
    sa.Column('mount_height_m', sa.Double(), nullable=True),
    sa.Column('orientation_deg', sa.Double(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=SRID, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("condition IN ('intact', 'damaged', 'missing', 'sunken', 'obstructed', 'unknown')", name=op.f('ck_pole_devices_condition_vocab')),
    sa.CheckConstraint("device_type IN ('luminaire', 'traffic_signal', 'traffic_sign', 'camera', 'guidance_screen', 'road_name_plate', 'small_cell_5g', 'env_sensor', 'speaker', 'emergency_call', 'ev_charger', 'wifi_ap', 'other')", name=op.f('ck_pole_devices_device_type_vocab')),
    sa.CheckConstraint("light_method IN ('LED', 'HPS', 'MH', 'fluorescent', 'induction', 'other')", name=op.f('ck_pole_devices_light_method_vocab')),
    sa.CheckConstraint("position_accuracy IN ('3cm', '10cm', '50cm', 'over_50cm', 'unknown')", name=op.f('ck_pole_devices_position_accuracy_vocab')),
    sa.CheckConstraint("status IN ('planned', 'under_construction', 'in_service', 'in_service_provisional', 'temporarily_closed', 'to_be_removed', 'decommissioned_in_place', 'removed', 'unknown')", name=op.f('ck_pole_devices_status_vocab')),
    sa.CheckConstraint("survey_method IN ('rtk', 'total_station', 'handheld_gnss', 'phone', 'digitised', 'imported')", name=op.f('ck_pole_devices_survey_method_vocab')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_pole_devices_geom_valid')),
    sa.ForeignKeyConstraint(['authority'], ['organisations.code'], name=op.f('fk_pole_devices_authority'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['maintainer'], ['organisations.code'], name=op.f('fk_pole_devices_maintainer'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['owner'], ['organisations.code'], name=op.f('fk_pole_devices_owner'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['pole_code'], ['lamp_poles.asset_code'], name=op.f('fk_pole_devices_pole_code'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pole_devices')),
    sa.UniqueConstraint('asset_code', name=op.f('uq_pole_devices_asset_code'))
    )
    op.create_geospatial_index('idx_pole_devices_geom', 'pole_devices', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_pole_devices_pole_code', 'pole_devices', ['pole_code'], unique=False)
    # ### end Alembic commands ###
    _install_triggers()


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.execute("DROP FUNCTION IF EXISTS cityassets_next_codes(text, integer)")
    for fn in ("cityassets_reserve_codes", "cityassets_pole_moved", "cityassets_history_insert", "cityassets_history_update",
               "cityassets_history_delete"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}() CASCADE")
    op.execute("DROP FUNCTION IF EXISTS cityassets_bump_stats(text, bigint)")
    op.drop_index('ix_pole_devices_pole_code', table_name='pole_devices')
    op.drop_geospatial_index('idx_pole_devices_geom', table_name='pole_devices', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('pole_devices')
    op.drop_index('uq_trees_chip_uid_live', table_name='trees', postgresql_where=sa.text('chip_uid IS NOT NULL AND retired_at IS NULL'))
    op.drop_geospatial_index('idx_trees_geom', table_name='trees', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('trees')
    op.drop_geospatial_index('idx_toilets_geom', table_name='toilets', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('toilets')
    op.drop_geospatial_index('idx_street_furniture_geom', table_name='street_furniture', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('street_furniture')
    op.drop_geospatial_index('idx_manholes_geom', table_name='manholes', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('manholes')
    op.drop_geospatial_index('idx_lamp_poles_geom', table_name='lamp_poles', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('lamp_poles')
    op.drop_table('uploads')
    op.drop_table('upload_issues')
    op.drop_geospatial_index('idx_roads_geom', table_name='roads', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('roads')
    op.drop_index('ix_residential_areas_district_code', table_name='residential_areas')
    op.drop_geospatial_index('idx_residential_areas_geom', table_name='residential_areas', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('residential_areas')
    op.drop_geospatial_index('idx_organisations_geom', table_name='organisations', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('organisations')
    op.drop_index('ix_history_upload', table_name='history', postgresql_where=sa.text('upload_id IS NOT NULL'))
    op.drop_index('ix_history_feature', table_name='history')
    op.drop_table('history')
    op.drop_index('ix_grid_cells_district_code', table_name='grid_cells')
    op.drop_geospatial_index('idx_grid_cells_geom', table_name='grid_cells', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grid_cells')
    op.drop_index('ix_green_spaces_district_code', table_name='green_spaces')
    op.drop_geospatial_index('idx_green_spaces_geom', table_name='green_spaces', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('green_spaces')
    op.drop_index('ix_facilities_category', table_name='facilities')
    op.drop_geospatial_index('idx_facilities_geom', table_name='facilities', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('facilities')
    op.drop_geospatial_index('idx_districts_geom', table_name='districts', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('districts')
    op.drop_table('collection_stats')
    op.drop_table('asset_code_serials')
    op.drop_table('api_tokens')
    # ### end Alembic commands ###
