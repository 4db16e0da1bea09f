"""No input gives a 500 (issue 17): control characters anywhere, dates outside a plausible window,
unknown filter values and malformed JSON are 422s naming the field; a refused mediation action
stores nothing; a case broken by a date stored before the checks is repaired by the migration."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from ops.migrate import COMPONENTS
from tests.conftest import complaint, credit_code
from tests.integration.test_mediation_flow import Desk

pytestmark = pytest.mark.integration

VILLAGE = "330681109290"
MEDIATION_UNIT = "321282101203"  # 礼圣村: a village no other test mediates in
FAR_FUTURE = "9999-12-31T23:59:59-12:00"
CHARTS = ("trend", "categories", "sla")
REPAIR = COMPONENTS["mediation"] / "versions" / "a7c3e9d5b1f4_dates_in_window.py"


def problem_fields(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    return {f["field"]: f["message"] for f in body["fields"]}


# --- the eight inputs of the issue ------------------------------------------------------------------

EIGHT = [
    ("tracking number", "GET", "/api/v1/track/TS%00123?phone_tail=1234", None, "tracking_no"),
    ("login username", "POST", "/api/v1/auth/token", {"username": "330681\x00", "password": "x"}, "username"),
    ("user path", "GET", "/api/v1/users/ab%00cd", None, "username"),
    ("user list cursor", "GET", "/api/v1/users?after=a%00", None, "after"),
    ("complaint status filter", "GET", "/api/v1/complaints?status=a%00", None, "status"),
    ("mediation state filter", "GET", "/api/v1/mediations?state=a%00", None, "state"),
    ("mediator unit filter", "GET", "/api/v1/mediators?unit=a%00", None, "unit"),
    ("summary to year 9999", "GET", "/api/v1/reports/summary?to=9999-12-31", None, "to"),
    *[
        (f"{name} chart to year 9999", "GET", f"/api/v1/reports/charts/{name}.svg?to=9999-12-31", None, "to")
        for name in CHARTS
    ],
]


@pytest.mark.parametrize(("label", "method", "path", "form", "field"), EIGHT, ids=[e[0] for e in EIGHT])
def test_the_inputs_that_gave_a_500_answer_422_naming_the_field(api, login, label, method, path, form, field):
    headers = {} if path.startswith(("/api/v1/track", "/api/v1/auth")) else login(VILLAGE)
    response = api.request(method, path, data=form, headers=headers)
    assert field in problem_fields(response), response.text


def test_a_nul_in_a_multipart_login_is_a_422(api):
    response = api.post("/api/v1/auth/token", files={"username": (None, "a\x00b"), "password": (None, "x")})
    assert "username" in problem_fields(response)


def test_control_characters_in_a_json_body_name_the_field_and_store_nothing(api, db):
    summary = "新买的电饭煲三天后无法加热，商家拒绝退货（控制字符）"
    body = complaint(complainant={"name": "张\x00三", "phone": "13800138000"}, summary=summary)
    fields = problem_fields(api.post("/api/v1/complaints", json=body))
    assert "U+0000" in fields["complainant.name"]
    bell = complaint(product="电饭煲\x07", summary=summary)
    assert "product" in problem_fields(api.post("/api/v1/complaints", json=bell))
    with db.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM intake.complaints WHERE summary = :s"), {"s": summary}) == 0
    # line breaks and tabs are text, not control
    assert api.post("/api/v1/complaints", json=complaint(summary=summary + "\n第二行\t完")).status_code == 201


def test_unknown_filter_values_name_the_allowed_values(api, login):
    fields = problem_fields(api.get("/api/v1/mediations", params={"state": "bogus"}, headers=login(VILLAGE)))
    assert "awaiting_consent" in fields["state"] and "escalated" in fields["state"]
    fields = problem_fields(api.get("/api/v1/mediators", params={"unit": "bogus"}, headers=login(VILLAGE)))
    assert "unit" in fields
    assert api.get("/api/v1/mediations", params={"state": "assigned"}, headers=login(VILLAGE)).status_code == 200


def test_malformed_json_says_the_body_is_not_json(api):
    response = api.post("/api/v1/complaints", content=b'{"summary": ', headers={"content-type": "application/json"})
    assert problem_fields(response) == {"body": "the body is not valid JSON"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"from": "2026-05-01", "to": "2026-04-01"}, "to"),
    ],
)
def test_report_periods_stay_in_the_window(api, login, params, field):
    assert field in problem_fields(api.get("/api/v1/reports/summary", params=params, headers=login(VILLAGE)))


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "2026-13"])
def test_months_stay_in_the_window(api, login, month):
    fields = problem_fields(api.get("/api/v1/reports/monthly", params={"month": month}, headers=login(VILLAGE)))
    assert "month" in fields


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "9999-12-31"])
def test_occurred_on_stays_in_the_window(api, day):
    fields = problem_fields(api.post("/api/v1/complaints", json=complaint(occurred_on=day)))
    assert "2000-01-01" in fields["occurred_on"]


def test_audit_times_stay_in_the_window(api, login):
    response = api.get("/api/v1/audit/personal-data", params={"until": FAR_FUTURE}, headers=login(VILLAGE))
    assert "until" in problem_fields(response)


# --- mediation: a refused action stores nothing; a stored far-future date is repaired --------------


@pytest.fixture(scope="module")
def assigned(api, login):
    """A mediation case with a mediator, ready for its first session."""
    desk = Desk(api, login, MEDIATION_UNIT)
    desk.roster(desk.demo, MEDIATION_UNIT)
    cid = desk.accepted_case(
        business={"name": "礼圣五金店", "credit_code": credit_code(9801), "division_code": MEDIATION_UNIT}
    )
    desk.do(cid, "consent", {"consent": True})
    desk.do(cid, "assign", {})
    return desk, cid


def sessions_of(db, cid: str) -> int:
    with db.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM mediation.sessions WHERE complaint_id = :c"), {"c": cid})


def test_a_session_in_year_9999_is_a_422_and_nothing_is_stored(api, db, assigned):
    desk, cid = assigned
    before = desk.get(cid)
    answer = desk.do(cid, "sessions", session_body(FAR_FUTURE), expect=422)
    assert "scheduled_at" in {f["field"] for f in answer["fields"]}
    assert sessions_of(db, cid) == 0
    after = desk.get(cid)
    assert (after["state"], after["history"]) == (before["state"], before["history"])
    assert api.get("/api/v1/mediations", headers=desk.demo).status_code == 200


def run_migration(db, path) -> None:
    """One migration's upgrade, on the running platform's database (the schema stays at its head)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with db.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        module.upgrade()


def session_body(at: str) -> dict[str, str]:
    return {"mode": "joint", "channel": "phone", "scheduled_at": at}


def test_a_far_future_date_stored_before_the_checks_is_repaired_by_the_migration(api, db, assigned):
    desk, cid = assigned
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    desk.do(cid, "sessions", session_body(tomorrow))
    # what an older gateway let through: stored by PostgreSQL, unreadable for Python (year 10000 UTC)
    with db.begin() as conn:
        conn.execute(
            text("UPDATE mediation.sessions SET scheduled_at = :at WHERE complaint_id = :c"),
            {"at": FAR_FUTURE, "c": cid},
        )
    broken = api.get(f"/api/v1/complaints/{cid}/mediation", headers=desk.demo)
    assert broken.status_code == 500  # the state the migration repairs
    run_migration(db, REPAIR)

    case = desk.get(cid)
    repaired = [h for h in case["history"] if h["action"] == "repair_date"]
    assert repaired and repaired[0]["detail"]["table"] == "sessions"
    assert repaired[0]["detail"]["column"] == "scheduled_at" and "10000" in repaired[0]["detail"]["was"]
    latest = datetime.fromisoformat(case["sessions"][0]["scheduled_at"])
    assert datetime.now(UTC) < latest <= datetime.now(UTC) + timedelta(days=3653)
    assert api.get("/api/v1/mediations", headers=desk.demo).status_code == 200
