"""Alembic, one schema per component: what every component's migrations share. Each component
keeps its own `migrations/` folder whose env.py calls `run_migrations(metadata)`, and whose
versions use the helpers below; ops/migrate.py (the composition root, which knows the components)
runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy import MetaData, text

from common.config import service_database_url, service_role
from common.db import SCOPED_ROLE, make_engine


def run_migrations(metadata: MetaData) -> None:
    """Body of every component's env.py: migrate its own schema and nothing else."""
    schema = metadata.schema
    engine = make_engine(context.config.attributes.get("database_url"), poolclass=None, pool_size=1)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


# --- row-level security (docs/tenancy.md): the helpers the schemas' migrations share ---------------
# `op` is the migration's `alembic.op`.

# create the role once per cluster (each schema's migration runs this; whichever runs first creates
# it), tolerate a concurrent creator, and let the migrating (owner) role switch to it with SET ROLE
_CREATE_SCOPED_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SCOPED_ROLE}') THEN
        BEGIN
            CREATE ROLE {SCOPED_ROLE} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, '{SCOPED_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {SCOPED_ROLE} TO %I', current_user);
    END IF;
END
$$
"""

# the two tests of the scope, as SQL functions of one text argument (name, argument, body): a unit
# prefix (only a well-formed division code counts, so an empty or odd setting matches nothing) and an
# agency id
_UNIT_WELL_FORMED = "coalesce(current_setting('app.scope_unit', true), '') ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'"
_SCOPE_COVERS = (
    "scope_covers",
    "code",
    f"""
            SELECT {_UNIT_WELL_FORMED}
               AND starts_with(code, current_setting('app.scope_unit', true))
        """,
)
_SCOPE_AGENCY_IS = (
    "scope_agency_is",
    "tenant",
    """
            SELECT coalesce(current_setting('app.scope_agency', true), '') <> ''
               AND tenant = current_setting('app.scope_agency', true)
        """,
)


# The same two tests written into a policy: each setting read in a scalar sub-select, which
# PostgreSQL runs once per query as an InitPlan, where the functions above cost a `current_setting`
# and a regular expression per row (a city's 100,000 cases: 107 ms against 48 ms). Not inside a SQL
# function: one holding a sub-select is not inlined and runs it per call (reporting's d20fe65faae8).
# A malformed or empty unit setting gives NULL, and no code starts with NULL.
_SCOPE_UNIT = f"(SELECT CASE WHEN {_UNIT_WELL_FORMED} THEN current_setting('app.scope_unit', true) END)"
_SCOPE_AGENCY = "(SELECT nullif(current_setting('app.scope_agency', true), ''))"


def covered(column: str) -> str:
    """Policy SQL: the unit code in `column` lies in the scope's subtree."""
    return f"starts_with({column}, {_SCOPE_UNIT})"


def agency_is(column: str) -> str:
    """Policy SQL: the tenant id in `column` is the scope's agency."""
    return f"{column} = {_SCOPE_AGENCY}"


def _scope_functions(agency: bool) -> tuple[tuple[str, str, str], ...]:
    return (_SCOPE_COVERS, _SCOPE_AGENCY_IS) if agency else (_SCOPE_COVERS,)


def ensure_scoped_role(op: Any, schema: str, *, agency: bool = True) -> None:
    """The role staff reads run as (`common.db.SCOPED_ROLE`), the scope tests as functions of
    `schema` (`scope_covers(code)`; `scope_agency_is(tenant)` too when agencies read the schema's
    rows) and the role's usage of the schema. Tables are opened to it by `enable_row_security`."""
    op.execute(_CREATE_SCOPED_ROLE)
    for name, argument, body in _scope_functions(agency):
        op.execute(f"""
        CREATE OR REPLACE FUNCTION {schema}.{name}({argument} text) RETURNS boolean
        LANGUAGE sql STABLE AS $${body}$$
    """)
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {SCOPED_ROLE}")


def revoke_scoped_role(op: Any, schema: str, *, agency: bool = True) -> None:
    """Undo `ensure_scoped_role` for `schema`. The role stays: other schemas and databases of the
    cluster share it."""
    op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {SCOPED_ROLE}")
    for name, _, _ in _scope_functions(agency):
        op.execute(f"DROP FUNCTION IF EXISTS {schema}.{name}(text)")


def enable_row_security(op: Any, schema: str, policies: Mapping[str, str]) -> None:
    """Let the scoped role read each table of `policies` (table -> the policy's USING expression)
    only where its expression holds; it stays unable to write. Replaces an existing `scoped_read`."""
    op.execute(f"GRANT SELECT ON {_tables(schema, policies)} TO {SCOPED_ROLE}")
    for table in policies:
        op.execute(f"ALTER TABLE {schema}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"DROP POLICY IF EXISTS scoped_read ON {schema}.{table}")
    for table, using in policies.items():
        op.execute(f"CREATE POLICY scoped_read ON {schema}.{table} FOR SELECT TO {SCOPED_ROLE} USING ({using})")


def disable_row_security(op: Any, schema: str, tables: Iterable[str]) -> None:
    """Undo `enable_row_security` for these tables."""
    tables = tuple(tables)
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS scoped_read ON {schema}.{table}")
        op.execute(f"ALTER TABLE {schema}.{table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"REVOKE SELECT ON {_tables(schema, tables)} FROM {SCOPED_ROLE}")


def add_clock_watch(op: Any, schema: str, table: str, running: str) -> None:
    """The clock watcher's columns and partial index (common/clock_watch.py) on a clock table; the
    rows matching `running` are due at once, so the first pass sets their colour."""
    op.add_column(table, sa.Column("colour", sa.String(6), server_default="green", nullable=False), schema=schema)
    op.add_column(
        table, sa.Column("yellow_share", sa.Float(), server_default=sa.text(repr(2 / 3)), nullable=False), schema=schema
    )
    op.add_column(table, sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True), schema=schema)
    op.execute(f"UPDATE {schema}.{table} SET next_check_at = now() WHERE {running}")
    op.create_index(
        f"ix_{table}_next_check",
        table,
        ["next_check_at"],
        schema=schema,
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
    )


def drop_clock_watch(op: Any, schema: str, table: str) -> None:
    op.drop_index(f"ix_{table}_next_check", table_name=table, schema=schema)
    for column in ("next_check_at", "yellow_share", "colour"):
        op.drop_column(table, column, schema=schema)


OWN_CALENDAR = ("extra_workdays", "extra_holidays")


def add_own_calendar(op: Any, schema: str, table: str) -> None:
    """The tenant's working-day corrections on a clock table (common.clock_watch.OwnCalendar); rows
    written before count on the official calendar, as they did."""
    for column in OWN_CALENDAR:
        op.add_column(
            table,
            sa.Column(column, sa.ARRAY(sa.Date()), server_default=sa.text("'{}'"), nullable=False),
            schema=schema,
        )


def drop_own_calendar(op: Any, schema: str, table: str) -> None:
    for column in OWN_CALENDAR:
        op.drop_column(table, column, schema=schema)


def add_held_index(op: Any, schema: str, table: str) -> None:
    """common.clock_watch.held_index on a clock table."""
    op.create_index(
        f"ix_{table}_held", table, ["colour", "deadline"], schema=schema, postgresql_where=sa.text("stopped_at IS NULL")
    )


def drop_held_index(op: Any, schema: str, table: str) -> None:
    op.drop_index(f"ix_{table}_held", table_name=table, schema=schema)


def add_official_calendar(op: Any, schema: str) -> None:
    """A service's copy of the official calendar (common.official_calendar.OfficialCalendarRow)."""
    days = sa.ARRAY(sa.Date())
    op.create_table(
        "official_calendar",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("entered", sa.Boolean(), nullable=False),
        sa.Column("statutory_holidays", days, nullable=False),
        sa.Column("bridging_days", days, nullable=False),
        sa.Column("makeup_workdays", days, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )


def drop_official_calendar(op: Any, schema: str) -> None:
    op.drop_table("official_calendar", schema=schema)


def clamp_dates(op: Any, schema: str) -> list[dict[str, Any]]:
    """Move every date and time of the schema that lies outside the window of plausible dates
    (`common.bounds`: from 2000-01-01 to ten years ahead) to the window's nearer edge, so the rows
    read again (PostgreSQL stores `9999-12-31T23:59:59-12:00`, which Python cannot read back).
    Answers what was moved: table, column, the value it had, and the row's `complaint_id` when the
    table has one, for the schema's migration to journal."""
    from common.bounds import EARLIEST, YEARS_AHEAD

    bind = op.get_bind()
    columns = bind.execute(
        text(
            "SELECT c.table_name, c.column_name, c.data_type, "
            "EXISTS (SELECT 1 FROM information_schema.columns k WHERE k.table_schema = c.table_schema "
            "AND k.table_name = c.table_name AND k.column_name = 'complaint_id') "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
            "WHERE c.table_schema = :schema AND c.data_type IN ('date', 'timestamp with time zone') "
            "ORDER BY 1, 2"
        ),
        {"schema": schema},
    ).all()
    moved: list[dict[str, Any]] = []
    for table, column, data_type, has_case in columns:
        cast = "date" if data_type == "date" else "timestamptz"
        low = f"CAST(:earliest AS {cast})"
        high = f"CAST(now() + make_interval(years => :years) AS {cast})"
        case = "t.complaint_id" if has_case else "NULL"
        rows = bind.execute(
            text(
                f'WITH bad AS (SELECT ctid, "{column}"::text AS was FROM "{schema}"."{table}" '
                f'WHERE "{column}" < {low} OR "{column}" > {high} FOR UPDATE) '
                f'UPDATE "{schema}"."{table}" t SET "{column}" = LEAST(GREATEST(t."{column}", {low}), {high}) '
                f'FROM bad WHERE t.ctid = bad.ctid RETURNING {case}, bad.was, t."{column}"::text'
            ),
            {"earliest": EARLIEST, "years": YEARS_AHEAD},
        ).all()
        moved += [
            {"table": table, "column": column, "complaint_id": key, "was": was, "now": now} for key, was, now in rows
        ]
    return moved


def _tables(schema: str, tables: Iterable[str]) -> str:
    return ", ".join(f"{schema}.{table}" for table in tables)


# the services' schemas, each owned by its service's role (the gateway's `identity` stays the owner's)
SERVICE_SCHEMAS = ("routing", "intake", "mediation", "notification", "reporting")

# the service's role: it logs in, may SET ROLE to the scoped role for staff reads but does not
# inherit its grants (NOINHERIT: those would open the other schemas' scoped tables to it), and the
# migrating role stays able to alter what the service owns
_CREATE_SERVICE_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role) THEN
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT', :role);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF NOT pg_has_role(:role, :scoped, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', :scoped, :role);
    END IF;
    IF NOT pg_has_role(current_user, :role, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', :role, current_user);
    END IF;
END
$$
"""

# every table, view, sequence (but those of identity columns, which go with their table), type and
# function of the schema, and the schema itself, owned by the service's role
_OWN_SCHEMA = """
DO $$
DECLARE
    item record;
BEGIN
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', :schema, :role);
    FOR item IN
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND pg_get_userbyid(c.relowner) <> :role
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO %I',
                       CASE item.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                            WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                       :schema, item.relname, :role);
    END LOOP;
    FOR item IN
        SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = :schema AND t.typtype IN ('e', 'd') AND pg_get_userbyid(t.typowner) <> :role
    LOOP
        EXECUTE format('ALTER TYPE %I.%I OWNER TO %I', :schema, item.typname, :role);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = :schema AND pg_get_userbyid(p.proowner) <> :role
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.signature, :role);
    END LOOP;
END
$$
"""


def own_service_schemas(database_url: str | None = None, schemas: Iterable[str] = SERVICE_SCHEMAS) -> None:
    """Give each service's schema to the service's role (`common.config.service_role`), created if
    missing: the service reads and writes its own tables and cannot read another's. The role's
    password is the one of the service's connection URL (`<SERVICE>_DATABASE_URL`, or DATABASE_URL's);
    none without one (local trust authentication). Runs after every upgrade, so the tables a later
    migration creates (as the migrating role) change hands too."""
    from sqlalchemy.engine import make_url

    engine = make_engine(database_url, poolclass=None, pool_size=1)
    with engine.begin() as conn:
        # a schema without row security (notification) migrated alone on a new cluster has not made it
        conn.execute(text(_CREATE_SCOPED_ROLE))
        for schema in schemas:
            role = service_role(schema)
            conn.execute(text(_inline(_CREATE_SERVICE_ROLE, role=role, scoped=SCOPED_ROLE)))
            password = make_url(service_database_url(schema, database_url)).password
            if password:
                conn.execute(text(f"ALTER ROLE {role} PASSWORD :password"), {"password": password})
            conn.execute(text(_inline(_OWN_SCHEMA, role=role, schema=schema)))
    engine.dispose()


def _inline(sql: str, **names: str) -> str:
    """A DO block takes no bind parameters: the names (identifiers we define) go in as literals."""
    for key, value in names.items():
        if not value.isidentifier():
            raise ValueError(f"not a role or schema name: {value!r}")
        sql = sql.replace(f":{key}", f"'{value}'")
    return sql
