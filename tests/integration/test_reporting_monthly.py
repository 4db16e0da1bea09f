"""Monthly reports, downloads and charts, from events dated in a past month (June 2025) sent straight
to reporting's own queues (no other service sees them): two villages of 孤山镇 get the same events,
one in order and one in reverse order with a duplicate, and must end with the same figures."""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from kombu import Connection, Exchange
from sqlalchemy import text

from common.contracts import (
    ClockStopped,
    ComplaintAccepted,
    ComplaintReceived,
    ComplaintRefused,
    ComplaintRouted,
    Contract,
    MediationEnded,
    MediationTransitioned,
    Unit,
)
from tests.conftest import TEST_AMQP_URI, wait_for

pytestmark = pytest.mark.integration

TOWNSHIP = "321282106"  # 孤山镇
IN_ORDER, REVERSED = "321282106001", "321282106002"
MONTH = "2025-06"
SH = ZoneInfo("Asia/Shanghai")
HANDLERS = {
    ComplaintReceived: "on_complaint_received",
    ComplaintRouted: "on_complaint_routed",
    ComplaintAccepted: "on_complaint_accepted",
    ComplaintRefused: "on_complaint_refused",
    ClockStopped: "on_clock_stopped",
    MediationTransitioned: "on_mediation_transitioned",
    MediationEnded: "on_mediation_ended",
}


def to_reporting(envelopes: list[dict[str, Any]]) -> None:
    with Connection(TEST_AMQP_URI) as conn:
        producer = conn.Producer(serializer="json")
        for envelope in envelopes:
            contract = next(c for c in HANDLERS if c.type == envelope["type"])
            queue = f"evt-{contract.source}-{contract.type}--reporting.{HANDLERS[contract]}"
            producer.publish(envelope, exchange=Exchange("", type="direct"), routing_key=queue)


def month_events(code: str) -> list[Contract]:
    unit = Unit(code=code, name=f"村{code[-3:]}", tier="village")
    t0 = datetime(2025, 6, 3, 9, tzinfo=SH)
    agreed, refused, failed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    person = {"complainant_name": "王五", "complainant_phone": "13912345678"}

    def received(cid, at, category):
        return ComplaintReceived(
            complaint_id=cid, tracking_no="T", channel="web", received_at=at, category=category,
            claim_amount=Decimal("500"), incident_division_code=code, business_name="孤山超市",
            business_credit_code="91321282MA1X2Y3Z4A", **person,
        )  # fmt: skip

    def transition(cid, action, before, after, at, **detail):
        return MediationTransitioned(
            complaint_id=cid, unit=unit, action=action, from_state=before, to_state=after, actor="m", at=at,
            detail=detail,
        )  # fmt: skip

    def stopped(cid, clock, started, at, met):
        """The clock's own verdict, as the service running it publishes it."""
        return ClockStopped(
            complaint_id=cid, clock=clock, unit_code=code, tier="village", started_at=started,
            deadline=started + timedelta(days=9), stopped_at=at, met=met,
        )  # fmt: skip

    accepted_kw = {"tracking_no": "T", "unit": unit, "accepted_by": "c", "business_name": "孤山超市", **person}
    return [
        received(agreed, t0, "product_quality"),
        ComplaintRouted(complaint_id=agreed, unit=unit, rule="r", decided_at=t0 + timedelta(minutes=1)),
        stopped(agreed, "acknowledgement", t0, t0 + timedelta(minutes=2), met=True),
        ComplaintAccepted(
            complaint_id=agreed, accepted_at=t0 + timedelta(days=1), category="product_quality", **accepted_kw
        ),
        transition(agreed, "open", "", "awaiting_consent", t0 + timedelta(days=1)),
        MediationEnded(
            complaint_id=agreed,
            unit=unit,
            outcome="agreement",
            recovered_amount=Decimal("500.00"),
            ended_at=t0 + timedelta(days=10),
        ),
        transition(agreed, "confirm_agreement", "agreement_drafted", "agreed", t0 + timedelta(days=10)),
        transition(agreed, "callback", "agreed", "agreed", t0 + timedelta(days=11), party="complainant", score=5),
        transition(agreed, "notify_end", "agreed", "agreed", t0 + timedelta(days=12), channel="sms"),
        received(refused, t0 + timedelta(hours=1), "service_quality"),
        ComplaintRouted(complaint_id=refused, unit=unit, rule="r", decided_at=t0 + timedelta(hours=1, minutes=1)),
        ComplaintRefused(
            complaint_id=refused,
            tracking_no="T",
            unit=unit,
            ground="time_barred",
            reason="r",
            other_routes="o",
            refused_at=t0 + timedelta(days=20),
            refused_by="c",
            complainant_phone="13912345678",
        ),
        received(failed, t0 + timedelta(hours=2), "product_quality"),
        ComplaintRouted(complaint_id=failed, unit=unit, rule="r", decided_at=t0 + timedelta(hours=2, minutes=1)),
        ComplaintAccepted(
            complaint_id=failed, accepted_at=t0 + timedelta(days=2), category="product_quality", **accepted_kw
        ),
        transition(failed, "terminate", "second_session_held", "terminated", t0 + timedelta(days=15)),
        MediationEnded(complaint_id=failed, unit=unit, outcome="failed", ended_at=t0 + timedelta(days=15)),
        # the acceptance clock: the refusal came 20 days after receipt, past the 7 working days
        stopped(agreed, "acceptance", t0, t0 + timedelta(days=1), met=True),
        stopped(refused, "acceptance", t0, t0 + timedelta(days=20), met=False),
        stopped(failed, "acceptance", t0, t0 + timedelta(days=2), met=True),
        stopped(agreed, "mediation", t0 + timedelta(days=1), t0 + timedelta(days=10), met=True),
        stopped(failed, "mediation", t0 + timedelta(days=2), t0 + timedelta(days=15), met=True),
        stopped(agreed, "mediation_end_notice", t0 + timedelta(days=10), t0 + timedelta(days=12), met=True),
        stopped(failed, "agency_handover_ack", t0, t0 + timedelta(days=1), met=True),  # not a reported clock
    ]


def summary(api, login, unit: str) -> dict[str, Any]:
    answer = api.get("/api/v1/reports/summary", params={"from": "2025-06-01", "to": "2025-06-30"}, headers=login(unit))
    assert answer.status_code == 200, answer.text
    return answer.json()


COMPARED = (
    "total", "claim_amount", "by_status", "by_channel", "by_category", "acceptance", "mediation",
    "money_recovered", "on_time", "durations", "satisfaction", "top_categories", "top_businesses",
)  # fmt: skip


@pytest.fixture(scope="module")
def ingested(api, login, db) -> dict[str, Any]:
    in_order = [e.envelope() for e in month_events(IN_ORDER)]
    backwards = [e.envelope() for e in month_events(REVERSED)][::-1]
    to_reporting([*in_order, in_order[0], in_order[5]])  # two duplicates: counted once
    to_reporting(backwards)
    # every event folded (each queue's batches come in their own time): logged in the transaction
    # that applied it
    event_ids = [envelope["event_id"] for envelope in [*in_order, *backwards]]
    statement = text("SELECT count(*) FROM reporting.event_log WHERE event_id = ANY(CAST(:ids AS uuid[]))")

    def logged() -> int:
        with db.connect() as connection:
            return connection.execute(statement, {"ids": event_ids}).scalar()

    wait_for(lambda: logged() == len(event_ids), timeout=30, interval=0.3)
    done = {}
    for unit in (IN_ORDER, REVERSED):
        done[unit] = wait_for(
            lambda u=unit: (
                (s := summary(api, login, u))["mediation"]["ended"] == 2
                and s["acceptance"]["decided"] == 3
                and s["satisfaction"]["responses"] == 1
                and s["on_time"]["end_notice"]["met"] == 1
                and s["total"] == 3
                and s
            ),
            timeout=30,
            interval=0.3,
        )
    return done


def test_any_order_and_duplicates_give_the_same_figures(ingested):
    a, b = ingested[IN_ORDER], ingested[REVERSED]
    assert {k: a[k] for k in COMPARED} == {k: b[k] for k in COMPARED}
    assert a["total"] == 3 and a["acceptance"]["refused"] == 1
    assert a["acceptance"]["rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert a["mediation"]["success_rate"] == 0.5 and a["money_recovered"]["agreed"] == "500.00"
    # the clocks' own verdicts: the refusal came 20 days after receipt, past the 7 working days
    assert a["on_time"]["acceptance"] == {"met": 2, "missed": 1, "rate": pytest.approx(2 / 3, abs=1e-4)}
    assert a["on_time"]["acknowledgement"] == {"met": 1, "missed": 0, "rate": 1.0}
    assert a["on_time"]["mediation"]["met"] == 2 and a["on_time"]["end_notice"]["met"] == 1
    assert set(a["on_time"]) == {"acknowledgement", "acceptance", "mediation", "end_notice", "tier_target"}
    assert a["satisfaction"]["average"] == 5.0
    assert a["top_businesses"][0] == {"credit_code": "91321282MA1X2Y3Z4A", "name": "孤山超市", "complaints": 3}
    assert a["durations"]["mediation"]["count"] == 2 and a["durations"]["decision"]["count"] == 3


def test_monthly_reports_sent_up_side_by_side(api, login, ingested):
    township = login(TOWNSHIP)
    made = api.post(f"/api/v1/reports/monthly/{MONTH}/generate", headers=township)
    assert made.status_code == 200, made.text
    assert {TOWNSHIP, IN_ORDER, REVERSED} <= set(made.json()["created"])
    again = api.post(f"/api/v1/reports/monthly/{MONTH}/generate", headers=township)
    assert again.status_code == 200 and again.json()["created"] == []  # once per (unit, month)

    seen = api.get("/api/v1/reports/monthly", params={"month": MONTH}, headers=township).json()
    assert seen["report"]["unit"] == TOWNSHIP and seen["report"]["figures"]["total"] >= 6
    children = {c["unit"]: c for c in seen["children"]}
    assert {IN_ORDER, REVERSED} <= set(children)
    assert children[IN_ORDER]["figures"]["total"] == 3 and children[IN_ORDER]["parent"] == TOWNSHIP
    village = api.get("/api/v1/reports/monthly", params={"month": MONTH}, headers=login(IN_ORDER)).json()
    assert village["report"]["figures"]["total"] == 3 and village["children"] == []
    # another city neither sees these reports nor gets them sent up
    other = api.get("/api/v1/reports/monthly", params={"month": MONTH}, headers=login("330681")).json()
    assert all(not c["unit"].startswith("321282") for c in other["children"])


def test_downloads_and_charts(api, login, ingested):
    from openpyxl import load_workbook

    township = login(TOWNSHIP)
    api.post(f"/api/v1/reports/monthly/{MONTH}/generate", headers=township)
    csv = api.get(f"/api/v1/reports/monthly/{MONTH}.csv", headers=township)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert TOWNSHIP in lines[0] and IN_ORDER in lines[0] and REVERSED in lines[0]
    assert any(line.startswith("调解成功率") for line in lines)
    xlsx = api.get(f"/api/v1/reports/monthly/{MONTH}.xlsx", headers=township)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "figure" and any(IN_ORDER in str(v) for v in rows[0])
    assert api.get("/api/v1/reports/monthly/2000-01.csv", headers=township).status_code == 404
    for name in ("trend", "categories", "sla"):
        svg = api.get(
            f"/api/v1/reports/charts/{name}.svg", params={"from": "2025-01-01", "to": "2025-12-31"}, headers=township
        )
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        ET.fromstring(svg.text)  # well-formed
    assert (
        "2025-06" in api.get("/api/v1/reports/charts/trend.svg", params={"from": "2025-01-01"}, headers=township).text
    )
    assert IN_ORDER in api.get("/api/v1/reports/charts/sla.svg", headers=township).text
    assert "product_quality" in api.get("/api/v1/reports/charts/categories.svg", headers=township).text
    assert api.get("/api/v1/reports/charts/pie.svg", headers=township).status_code == 422


def test_who_may_produce_reports(api, login):
    admin = login(TOWNSHIP)
    username = f"clerk-{uuid.uuid4().hex[:6]}"
    body = {"username": username, "password": "reporting-test-password", "tenant": TOWNSHIP, "roles": ["intake_clerk"]}
    assert api.post("/api/v1/users", json=body, headers=admin).status_code == 201
    token = api.post("/api/v1/auth/token", data={"username": username, "password": "reporting-test-password"})
    clerk = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert api.post(f"/api/v1/reports/monthly/{MONTH}/generate", headers=clerk).status_code == 403
    assert api.get("/api/v1/reports/monthly", params={"month": MONTH}, headers=clerk).status_code == 200
    future = datetime.now(SH).year + 1
    assert api.post(f"/api/v1/reports/monthly/{future}-01/generate", headers=admin).status_code == 422
    assert api.post("/api/v1/reports/monthly/2025-13/generate", headers=admin).status_code == 422
    assert api.get("/api/v1/reports/summary").status_code == 401
