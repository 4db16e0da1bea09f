"""Each service connects as its own database role (common.config.service_role), which owns its
schema and cannot read another's: the schema boundary holds in PostgreSQL too (docs/testing.md)."""

from __future__ import annotations

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
