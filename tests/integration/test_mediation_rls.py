"""Row-level security on the mediation tables: as `disputes_scoped`, a scope reads the mediation rows
of its subtree and nothing else, whatever the query says."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.integration.test_mediation_flow import desk

pytestmark = pytest.mark.integration

UNIT = "321282102209"


def visible(db, scope_unit: str, table: str, complaint_id: str | None = None) -> int:
    where = "" if complaint_id is None or table == "mediators" else " WHERE complaint_id = CAST(:id AS uuid)"
    with db.connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL ROLE disputes_scoped"))
        conn.execute(text("SELECT set_config('app.scope_unit', :u, true)"), {"u": scope_unit})
        return conn.execute(text(f"SELECT count(*) FROM mediation.{table}{where}"), {"id": complaint_id}).scalar()


def test_scoped_role_sees_its_subtree_only(api, login, db):
    d = desk(api, login, UNIT)
    cid = d.accepted_case()
    d.do(cid, "consent", {"consent": True})
    d.do(cid, "assign", {})
    d.session(cid)
    for table in ("cases", "steps", "clocks", "assignments", "sessions"):
        assert visible(db, UNIT, table, cid) >= 1, table
        assert visible(db, "321282102", table, cid) >= 1, table  # the township above
        assert visible(db, "321282102200", table, cid) == 0, table  # a sibling village
        assert visible(db, "330681", table, cid) == 0, table  # another city
        assert visible(db, "", table, cid) == 0, table  # no scope
    with db.connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL ROLE disputes_scoped"))
        conn.execute(text("SELECT set_config('app.scope_unit', :u, true)"), {"u": "330681"})
        assert (
            conn.execute(text("SELECT count(*) FROM mediation.mediators WHERE unit_code = :u"), {"u": UNIT}).scalar()
            == 0
        )


def test_a_viewer_row_lets_the_unit_that_passed_a_case_up_read_it(api, login, db):
    d = desk(api, login, UNIT)
    cid = d.accepted_case()
    passed_up_from = "321282102200"  # as if this village had passed the case on (services/mediation move_unit)
    assert visible(db, passed_up_from, "cases", cid) == 0
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO mediation.case_viewers (complaint_id, unit_code, since, reason) "
                "VALUES (CAST(:id AS uuid), :u, now(), 'escalated:test')"
            ),
            {"id": cid, "u": passed_up_from},
        )
    for table in ("cases", "steps", "clocks", "case_viewers"):
        assert visible(db, passed_up_from, table, cid) >= 1, table
        assert visible(db, "321282102", table, cid) >= 1, table
        assert visible(db, "321282102201", table, cid) == 0, table  # another sibling still sees nothing
        assert visible(db, "", table, cid) == 0, table


def test_scoped_role_cannot_write_or_read_the_outbox(db):
    for statement in ("SELECT count(*) FROM mediation.outbox", "DELETE FROM mediation.cases"):
        with db.connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL ROLE disputes_scoped"))
            with pytest.raises(Exception, match="permission denied"):
                conn.execute(text(statement))
