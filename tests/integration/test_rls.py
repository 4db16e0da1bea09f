"""Row-level security is the backstop of the scope rule: connected as the application's non-owner
role `disputes_scoped`, raw SQL that forgets every filter still sees only the rows of the scope set
for the transaction (or session), and nothing without one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from tests.conftest import TEST_DATABASE_URL

VILLAGE = "330681109290"
SIBLING_VILLAGE = "330681109291"
TOWNSHIP = "330681109"
OTHER_CITY = "321282"
AGENCY = "330681-police"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine(platform) -> Iterator[Engine]:
    """Connections of their own (no pool): the role and settings tests set die with them."""
    from common.db import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL), poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def rows(engine) -> Iterator[dict[str, uuid.UUID]]:
    """Cases written as the owner: one per place, one handed to the police, one a village passed up.
    Removed afterwards, so other modules' figures do not count them."""
    from services.intake.models import CaseViewer, Complaint, HistoryEntry
    from services.reporting.models import ComplaintFact

    now = datetime.now(UTC)
    places = {
        "village": (VILLAGE, None),
        "sibling": (SIBLING_VILLAGE, None),
        "township": (TOWNSHIP, None),
        "other_city": (OTHER_CITY, None),
        "handed": (SIBLING_VILLAGE, AGENCY),
        "passed_up": (TOWNSHIP, None),
    }
    ids = {name: uuid.uuid4() for name in places}
    with Session(engine) as session, session.begin():
        for name, (unit, agency) in places.items():
            session.add(
                Complaint(
                    id=ids[name],
                    tracking_no="RLS" + uuid.uuid4().hex[:12].upper(),
                    channel="web",
                    status="routed",
                    complainant={"name": "李四", "phone": "13900139000"},
                    business={"name": "测试商店"},
                    incident_division_code=unit,
                    category="other",
                    summary="row-level security test case",
                    requests=[],
                    responsible_unit_code=unit,
                    agency_tenant=agency,
                    received_at=now,
                    updated_at=now,
                )
            )
            session.flush()
            session.add(HistoryEntry(complaint_id=ids[name], at=now, step="received", detail={}))
            session.add(
                ComplaintFact(complaint_id=ids[name], status="routed", unit_code=unit, tier="x", agency_tenant=agency)
            )
        session.add(CaseViewer(complaint_id=ids["passed_up"], unit_code=VILLAGE, since=now, reason="escalated"))
    yield ids
    with engine.begin() as conn:
        keys = {"ids": list(ids.values())}
        for table in ("intake.case_viewers", "intake.history", "intake.personal_data_access"):
            conn.execute(text(f"DELETE FROM {table} WHERE complaint_id = ANY(:ids)"), keys)
        conn.execute(text("DELETE FROM intake.complaints WHERE id = ANY(:ids)"), keys)
        conn.execute(text("DELETE FROM reporting.complaint_facts WHERE complaint_id = ANY(:ids)"), keys)


@contextmanager
def as_scoped(engine: Engine, *, unit: str | None = None, agency: str | None = None) -> Iterator[Connection]:
    """A connection as the application's role with a session-wide scope, exactly as an attacker
    with raw SQL would hold it (the application itself sets them per transaction)."""
    with engine.connect() as conn:
        conn.execute(text("SET ROLE disputes_scoped"))
        if unit is not None:
            conn.execute(text("SELECT set_config('app.scope_unit', :v, false)"), {"v": unit})
        if agency is not None:
            conn.execute(text("SELECT set_config('app.scope_agency', :v, false)"), {"v": agency})
        yield conn


def complaint_ids(conn: Connection) -> set[uuid.UUID]:
    return set(conn.scalars(text("SELECT id FROM intake.complaints")))


def history_ids(conn: Connection) -> set[uuid.UUID]:
    return set(conn.scalars(text("SELECT complaint_id FROM intake.history")))


def fact_ids(conn: Connection) -> set[uuid.UUID]:
    return set(conn.scalars(text("SELECT complaint_id FROM reporting.complaint_facts")))


def test_village_scope_sees_no_other_village(engine, rows):
    with as_scoped(engine, unit=VILLAGE) as conn:
        assert conn.scalar(text("SELECT current_user")) == "disputes_scoped"
        # asking for the sibling's rows by name, with no filter of the application in the way
        sibling = {"u": SIBLING_VILLAGE}
        assert (
            conn.execute(text("SELECT * FROM intake.complaints WHERE responsible_unit_code = :u"), sibling).all() == []
        )
        assert conn.execute(text("SELECT * FROM reporting.complaint_facts WHERE unit_code = :u"), sibling).all() == []
        for table in ("intake.history", "intake.personal_data_access"):
            found = conn.execute(text(f"SELECT * FROM {table} WHERE complaint_id = :id"), {"id": rows["sibling"]})
            assert found.all() == []
        # nor the parent's, another city's, or the case handed to an agency in the sibling village
        for name in ("sibling", "township", "other_city", "handed"):
            assert rows[name] not in complaint_ids(conn) | history_ids(conn) | fact_ids(conn), name
        # every row it sees is its own (or one it passed up, read-only)
        seen = conn.execute(text("SELECT id, responsible_unit_code FROM intake.complaints")).all()
        passed_up = set(conn.scalars(text("SELECT complaint_id FROM intake.case_viewers")))
        assert all((unit or "").startswith(VILLAGE) or id_ in passed_up for id_, unit in seen)
        assert all(u.startswith(VILLAGE) for u in conn.scalars(text("SELECT unit_code FROM reporting.complaint_facts")))


def test_village_scope_sees_its_own_rows_and_what_it_passed_up(engine, rows):
    with as_scoped(engine, unit=VILLAGE) as conn:
        assert {rows["village"], rows["passed_up"]} <= complaint_ids(conn)
        assert {rows["village"], rows["passed_up"]} <= history_ids(conn)
        # figures count by responsible unit: a case passed up is no longer the village's figure
        assert rows["village"] in fact_ids(conn) and rows["passed_up"] not in fact_ids(conn)
        assert set(conn.scalars(text("SELECT unit_code FROM intake.case_viewers"))) <= {VILLAGE}


def test_township_scope_sees_its_subtree(engine, rows):
    with as_scoped(engine, unit=TOWNSHIP) as conn:
        mine = {rows[n] for n in ("village", "sibling", "township", "handed", "passed_up")}
        assert mine <= complaint_ids(conn) and mine <= fact_ids(conn)
        assert rows["other_city"] not in complaint_ids(conn) | fact_ids(conn)


@pytest.mark.parametrize("unit", [None, "", "%", "3306", "330681109290'; --", "33068110929x"])
def test_without_a_valid_scope_nothing_is_visible(engine, rows, unit):
    with as_scoped(engine, unit=unit) as conn:
        for table in (
            "intake.complaints",
            "intake.history",
            "intake.case_viewers",
            "intake.personal_data_access",
            "reporting.complaint_facts",
        ):
            assert conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table


def test_agency_scope_sees_only_cases_handed_to_it(engine, rows):
    with as_scoped(engine, agency=AGENCY) as conn:
        assert rows["handed"] in complaint_ids(conn)
        assert set(conn.scalars(text("SELECT agency_tenant FROM intake.complaints"))) == {AGENCY}
        assert set(conn.scalars(text("SELECT agency_tenant FROM reporting.complaint_facts"))) == {AGENCY}
        assert rows["handed"] in history_ids(conn) and rows["sibling"] not in history_ids(conn)
        # an agency id is no unit prefix, and its unit's subtree is not its own
        assert conn.scalar(text("SELECT count(*) FROM intake.case_viewers")) == 0
    with as_scoped(engine, agency="330681-court") as conn:
        assert rows["handed"] not in complaint_ids(conn)
    with as_scoped(engine, unit=AGENCY) as conn:
        assert complaint_ids(conn) == set()


def test_the_scoped_role_cannot_write_or_read_other_tables(engine, rows):
    from sqlalchemy.exc import ProgrammingError

    statements = [
        "UPDATE intake.complaints SET status = 'x'",
        "DELETE FROM intake.history",
        "SELECT * FROM intake.outbox",
        "SELECT * FROM identity.users",
        "SELECT * FROM notification.messages",
    ]
    for statement in statements:
        with as_scoped(engine, unit=VILLAGE) as conn, pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(statement))


def test_unit_of_work_scoped_sets_the_scope_per_transaction_only(rows):
    """The application's way in (`UnitOfWork.scoped`) on a pool of one connection: the role and the
    settings are gone when the connection goes back to the pool."""
    from sqlalchemy.exc import DBAPIError

    from common.db import UnitOfWork, make_engine
    from common.tenancy import Scope

    engine = make_engine(TEST_DATABASE_URL, pool_size=1, max_overflow=0)
    uow = UnitOfWork(
        SimpleNamespace(sessions=sessionmaker(engine, expire_on_commit=False), read_sessions=None, relay=None)
    )
    try:
        with uow.scoped(Scope(unit=VILLAGE, user="t", roles=frozenset({"mediator"}))) as session:
            seen = complaint_ids(session.connection())
            assert rows["village"] in seen and rows["sibling"] not in seen
        with engine.connect() as conn:
            # the same (only) connection: the owner again, no scope left behind
            assert conn.scalar(text("SELECT current_user")) != "disputes_scoped"
            assert not conn.scalar(text("SELECT current_setting('app.scope_unit', true)"))
            assert {rows["village"], rows["sibling"]} <= complaint_ids(conn)
        with uow.scoped(Scope(unit=AGENCY, user="t", roles=frozenset({"agency_liaison"}))) as session:
            assert rows["handed"] in complaint_ids(session.connection())
            assert rows["village"] not in complaint_ids(session.connection())
        with uow.scoped(None) as session:
            assert complaint_ids(session.connection()) == set()
        with uow.scoped(Scope(unit=VILLAGE)) as session, pytest.raises(DBAPIError, match="read-only"):
            session.execute(text("UPDATE intake.complaints SET status = status"))
    finally:
        engine.dispose()
