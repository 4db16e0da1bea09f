"""Each service connects as its own database role (common.config.service_role), which owns its
schema and cannot read another's: the schema boundary holds in PostgreSQL too (docs/testing.md)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError

from common.config import service_database_url
from common.db import SCOPED_ROLE, sqlalchemy_url
from common.migrations import SERVICE_SCHEMAS
from ops.migrate import upgrade
from tests.conftest import TEST_DATABASE_URL, reset_database

pytestmark = pytest.mark.integration

# a table of each service's schema
TABLES = {
    "intake": "intake.complaints",
    "routing": "routing.assignments",
    "mediation": "mediation.cases",
    "notification": "notification.messages",
    "reporting": "reporting.complaint_facts",
}
DATABASE_URL = f"{TEST_DATABASE_URL}_roles"


@pytest.fixture(scope="module")
def migrated() -> str:
    reset_database(DATABASE_URL)
    upgrade(DATABASE_URL)
    return DATABASE_URL


def as_service(service: str) -> Engine:
    return create_engine(sqlalchemy_url(service_database_url(service, DATABASE_URL)), poolclass=None)


@pytest.mark.parametrize("service", SERVICE_SCHEMAS)
def test_a_service_reads_and_writes_its_own_schema_and_cannot_read_another_s(migrated, service) -> None:
    engine = as_service(service)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == f"{service}_service"
            conn.execute(text(f"SELECT count(*) FROM {TABLES[service]}"))
            conn.execute(text(f"LOCK TABLE {TABLES[service]} IN ACCESS EXCLUSIVE MODE"))  # an owner's right
            conn.rollback()
            for other, table in TABLES.items():
                if other == service:
                    continue
                with pytest.raises(ProgrammingError, match="permission denied"):
                    conn.execute(text(f"SELECT count(*) FROM {table}"))
                conn.rollback()
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", ["intake", "mediation", "reporting"])
def test_staff_reads_still_switch_to_the_scoped_role(migrated, service) -> None:
    """UnitOfWork.scoped: `SET LOCAL ROLE disputes_scoped`, under row-level security (no scope: no row)."""
    engine = as_service(service)
    try:
        with engine.connect() as conn:
            conn.execute(text(f"SET LOCAL ROLE {SCOPED_ROLE}"))
            assert conn.execute(text(f"SELECT count(*) FROM {TABLES[service]}")).scalar() == 0
    finally:
        engine.dispose()


def test_the_platform_s_services_connect_as_their_roles(db) -> None:
    with db.connect() as conn:
        users = set(
            conn.execute(
                text("SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
        )
    assert {f"{service}_service" for service in SERVICE_SCHEMAS} <= users


def test_one_service_migrated_alone_on_a_new_cluster_gets_its_roles() -> None:
    """Notification's migrations make no scoped role; its service role is still granted one."""
    from tests.private_infra import PrivatePostgres, postgres_bin

    if postgres_bin() is None:
        pytest.skip("no PostgreSQL server binaries here")
    # not under pytest's base directory: the postgres user must reach its directory inside
    base = Path(tempfile.mkdtemp(prefix="disputes-new-cluster-"))
    base.chmod(0o755)
    server = PrivatePostgres(base / "postgres")
    server.init()
    server.start()
    try:
        server.psql("CREATE DATABASE disputes")
        upgrade(server.url("disputes"), ["notification"])
        engine = create_engine(sqlalchemy_url(server.url("disputes")), poolclass=None)
        with engine.connect() as conn:
            granted = conn.execute(text(f"SELECT pg_has_role('notification_service', '{SCOPED_ROLE}', 'MEMBER')"))
            schema = "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'notification'"
            owner = conn.execute(text(schema))
            assert (granted.scalar(), owner.scalar()) == (True, "notification_service")
        engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
