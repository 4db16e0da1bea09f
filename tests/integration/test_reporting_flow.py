"""Reporting through the gateway: a scripted scenario (submit, accept, refuse, mediate to an agreement
with money recovered and a call-back, a withdrawal) in a village of its own (上和村 of 马剑镇); the
figures must agree with what intake and mediation stored; then the read model is rebuilt from the
event log and every figure compared."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from common.contracts import CaseEscalated, ComplaintReceived, ComplaintRouted, MessageRecorded, Unit
from services.reporting import folding
from tests.conftest import complaint, credit_code, wait_for
from tests.integration.test_mediation_flow import AGREEMENT, Desk

pytestmark = pytest.mark.integration

VILLAGE = "330681111208"
TOWNSHIP = "330681111"
CITY = "330681"


def summary(api, login, unit: str, **params: str) -> dict[str, Any]:
    answer = api.get("/api/v1/reports/summary", params=params, headers=login(unit))
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def scenario(api, login) -> dict[str, Any]:
    d = Desk(api, login, VILLAGE)
    before = {unit: summary(api, login, unit) for unit in (VILLAGE, TOWNSHIP)}

    agreed = d.accepted_case(category="product_quality")
    d.do(agreed, "consent", {"consent": True})
    d.do(agreed, "assign", {})
    d.session(agreed)
    d.held(agreed, 1, agreed=True)
    d.do(agreed, "agreement", AGREEMENT)
    d.do(agreed, "agreement/confirm", {"party": "complainant"})
    assert d.do(agreed, "agreement/confirm", {"party": "business"})["state"] == "agreed"
    d.do(agreed, "terms/1/performed", {"recovered_amount": "350.00"})
    assert d.do(agreed, "terms/2/performed", {})["state"] == "performed"
    d.do(agreed, "callback", {"party": "complainant", "score": 4, "comments": "满意"})
    d.do(agreed, "end-notice", {"channel": "sms"})

    withdrawn = d.accepted_case(category="service_quality")
    d.do(withdrawn, "withdraw", {"reason": "自行和解"})

    body = complaint(
        business={"name": "上和村小卖部", "credit_code": credit_code(811), "division_code": VILLAGE},
        incident_division_code=VILLAGE,
        category="product_quality",
    )
    refused = api.post("/api/v1/complaints", json=body).json()["id"]
    wait_for(lambda: api.get(f"/api/v1/complaints/{refused}", headers=d.demo).status_code == 200)
    answer = api.post(
        f"/api/v1/complaints/{refused}/refuse",
        json={"ground": "not_consumer_dispute", "reason": "经核实，不属于消费纠纷"},
        headers=d.demo,
    )
    assert answer.status_code == 200, answer.text

    def settled():
        now = summary(api, login, VILLAGE)
        return (
            now["satisfaction"]["responses"] == before[VILLAGE]["satisfaction"]["responses"] + 1
            and now["mediation"]["ended"] == before[VILLAGE]["mediation"]["ended"] + 2
            and now["acceptance"]["refused"] == before[VILLAGE]["acceptance"]["refused"] + 1
            and now["on_time"]["end_notice"]["met"] == before[VILLAGE]["on_time"]["end_notice"]["met"] + 1
            and now["money_recovered"]["performed"] != before[VILLAGE]["money_recovered"]["performed"]
            and now
        )

    after = wait_for(settled, timeout=30, interval=0.3)
    return {"before": before, "after": after, "ids": (agreed, withdrawn, refused)}


def test_figures_move_by_the_scenario(scenario):
    before, after = scenario["before"][VILLAGE], scenario["after"]
    assert after["total"] - before["total"] == 3
    assert after["acceptance"]["accepted"] - before["acceptance"]["accepted"] == 2
    assert after["acceptance"]["refusals_by_ground"].get("not_consumer_dispute", 0) >= 1
    assert after["mediation"]["agreements"] - before["mediation"]["agreements"] == 1
    # withdrawn ends count as ended, not as mediated (the success rate's denominator)
    assert after["mediation"]["mediated"] - before["mediation"]["mediated"] == 1
    assert after["mediation"]["by_outcome"].get("withdrawn", 0) >= 1
    recovered = Decimal(after["money_recovered"]["agreed"]) - Decimal(before["money_recovered"]["agreed"])
    assert recovered == Decimal("399.00")
    performed = Decimal(after["money_recovered"]["performed"]) - Decimal(before["money_recovered"]["performed"])
    assert performed == Decimal("350.00")
    assert after["satisfaction"]["by_score"].get("4", 0) >= 1
    # the clocks' own verdicts (clock.stopped.v1): three decisions and two mediations in time
    assert after["on_time"]["acceptance"]["met"] - before["on_time"]["acceptance"]["met"] == 3
    assert after["on_time"]["acceptance"]["missed"] == before["on_time"]["acceptance"]["missed"]
    assert after["on_time"]["mediation"]["met"] - before["on_time"]["mediation"]["met"] == 2
    assert after["durations"]["mediation"]["count"] - before["durations"]["mediation"]["count"] == 2
    assert after["by_status"].get("closed", 0) >= 1 and after["by_status"].get("refused", 0) >= 1
    assert "13800138000" not in str(after) and "complainant" not in str(after) and "张三" not in str(after)


def test_the_township_and_city_see_the_village_inside_theirs(api, login, scenario):
    township = summary(api, login, TOWNSHIP)
    assert township["by_unit"].get(VILLAGE, 0) == scenario["after"]["total"]
    assert township["total"] >= scenario["after"]["total"]
    city = summary(api, login, CITY)
    assert city["by_unit"].get(TOWNSHIP, 0) == township["total"]
    assert any(u["unit"] == TOWNSHIP and "within_line" in u for u in city["escalation"]["units"])
    # another city sees none of it
    other = summary(api, login, "321282")
    assert VILLAGE not in other["by_unit"] and TOWNSHIP not in other["by_unit"]


def test_period_filter(api, login, scenario):
    empty = summary(api, login, VILLAGE, **{"from": "2000-01-01", "to": "2000-12-31"})
    assert empty["total"] == 0 and empty["mediation"]["ended"] == 0
    assert api.get("/api/v1/reports/summary", params={"from": "x"}, headers=login(VILLAGE)).status_code == 422
    bad = api.get("/api/v1/reports/summary", params={"from": "2026-02-01", "to": "2026-01-01"}, headers=login(VILLAGE))
    assert bad.status_code == 422


def test_counts_agree_with_the_source_services(db, api, login, scenario):
    figures = summary(api, login, VILLAGE)
    with db.connect() as conn:
        complaints = conn.execute(
            text("SELECT count(*) FROM intake.complaints WHERE responsible_unit_code = :u"), {"u": VILLAGE}
        ).scalar()
        refused = conn.execute(
            text("SELECT count(*) FROM intake.complaints WHERE responsible_unit_code = :u AND status = 'refused'"),
            {"u": VILLAGE},
        ).scalar()
        outcomes = dict(
            conn.execute(
                text("SELECT outcome, count(*) FROM mediation.cases WHERE unit_code = :u AND outcome IS NOT NULL "
                     "GROUP BY outcome"),
                {"u": VILLAGE},
            ).all()
        )  # fmt: skip
        callbacks = conn.execute(
            text(
                "SELECT count(*) FROM mediation.callbacks b JOIN mediation.cases c USING (complaint_id) "
                "WHERE c.unit_code = :u AND b.party = 'complainant'"
            ),
            {"u": VILLAGE},
        ).scalar()
        performed = conn.execute(
            text(
                "SELECT coalesce(sum(t.recovered_amount), 0) FROM mediation.terms t "
                "JOIN mediation.cases c USING (complaint_id) WHERE c.unit_code = :u AND t.status = 'performed'"
            ),
            {"u": VILLAGE},
        ).scalar()
    assert figures["total"] == complaints
    assert figures["by_status"].get("refused", 0) == refused
    assert figures["mediation"]["by_outcome"] == outcomes
    assert figures["satisfaction"]["responses"] == callbacks
    assert Decimal(figures["money_recovered"]["performed"]) == Decimal(performed)
    # reporting binds mediation.transitioned.v1: the mediation outbox no longer keeps those rows
    wait_for(lambda: _outbox_empty(db), timeout=30, interval=0.5)


def _outbox_empty(db) -> bool:
    with db.connect() as conn:
        return (
            conn.execute(
                text("SELECT count(*) FROM mediation.outbox WHERE event_type = 'mediation.transitioned.v1'")
            ).scalar()
            == 0
        )


def test_event_log_holds_no_personal_data(db, scenario):
    with db.connect() as conn:
        logged = conn.execute(
            text("SELECT envelope::text FROM reporting.event_log WHERE envelope->'data'->>'complaint_id' = ANY(:ids)"),
            {"ids": list(scenario["ids"])},
        ).scalars().all()  # fmt: skip
        assert len(logged) >= 10
        for envelope in logged:
            assert "13800138000" not in envelope and "张三" not in envelope and "李四" not in envelope
        with pytest.raises(Exception, match="append-only"):
            conn.execute(text("DELETE FROM reporting.event_log WHERE seq = (SELECT min(seq) FROM reporting.event_log)"))


# --- rebuild -------------------------------------------------------------------------------------

SNAPSHOTS = {
    "daily_rollups": (
        "SELECT unit_code, day, metric, key, n, amount FROM reporting.daily_rollups WHERE n <> 0 OR amount <> 0"
    ),
    "monthly_rollups": (
        "SELECT unit_code, month, metric, key, n, amount FROM reporting.monthly_rollups WHERE n <> 0 OR amount <> 0"
    ),
    "yearly_rollups": (
        "SELECT unit_code, year, metric, key, n, amount FROM reporting.yearly_rollups WHERE n <> 0 OR amount <> 0"
    ),
    "rollup_deltas": "SELECT unit_code, day, metric, key, n, amount FROM reporting.rollup_deltas",
    "complaint_facts": "SELECT * FROM reporting.complaint_facts",
    "escalations": "SELECT complaint_id, from_unit, from_tier, to_unit, trigger, at FROM reporting.escalations",
    "early_warnings": "SELECT * FROM reporting.early_warnings",
    "mediation_endings": "SELECT * FROM reporting.mediation_endings",
    "units": "SELECT * FROM reporting.units",
}


def snapshot(session: Session) -> dict[str, Any]:

    figures_unfolded = _all_figures(session)
    folding.fold_all(session)  # the rebuild folds every delta: compare folded tables
    tables = {name: sorted(map(tuple, session.execute(text(sql)).all()), key=repr) for name, sql in SNAPSHOTS.items()}
    figures = _all_figures(session)
    assert figures == figures_unfolded  # the deltas not folded yet count the same as folded ones
    return {"tables": tables, "figures": figures}


def _all_figures(session: Session) -> dict[str, Any]:
    from services.reporting import views

    units = session.execute(text("SELECT code FROM reporting.units ORDER BY code")).scalars().all()
    return {unit: views.read_figures(session, unit, None, None) for unit in units}


def test_rebuild_from_the_event_log_gives_every_figure_again(db, scenario):
    with Session(db) as session, session.begin():
        session.execute(text("LOCK TABLE reporting.event_log IN SHARE MODE"))  # handlers wait meanwhile
        before = snapshot(session)
        assert before["figures"][VILLAGE]["total"] >= 3
        done = folding.rebuild(session)
        assert done["replayed"] >= 10
        after = snapshot(session)
    for name in SNAPSHOTS:
        assert differing(before["tables"][name], after["tables"][name]) == {"before": [], "after": []}, name
    assert after["figures"] == before["figures"]


def differing(before: list[tuple], after: list[tuple]) -> dict[str, list[tuple]]:
    """The rows only one side has: what a failure shows, rather than every row of the table."""
    b, a = Counter(before), Counter(after)
    return {"before": sorted((b - a).elements(), key=repr), "after": sorted((a - b).elements(), key=repr)}


def test_a_rebuild_applies_a_move_logged_before_its_routing_after_it(db, platform):
    """Two handlers may append to the log in one order and commit in the other (a move waits for the
    routing's lock): the rebuild applies the move once its complaint is routed, as the handler did.
    An event type this version no longer reads is passed over."""
    cid = uuid.uuid4()
    village = Unit(code="321282109202", name="侯河村委会", tier="village")
    township = Unit(code="321282109", name="马桥镇", tier="township")
    at = datetime(2025, 5, 6, 9, tzinfo=UTC)
    logged = [
        CaseEscalated(
            complaint_id=cid, from_unit=village, to_unit=township, trigger="staff_request", actor="s",
            at=at + timedelta(hours=2),
        ),
        ComplaintReceived(
            complaint_id=cid, tracking_no="T", channel="web", received_at=at, category="product_quality",
            incident_division_code=village.code, complainant_name="某", complainant_phone="13800000000",
        ),
        ComplaintRouted(complaint_id=cid, unit=village, rule="r", decided_at=at + timedelta(minutes=1)),
        # logged by an earlier version, which read the acknowledgement message: nothing to apply now
        MessageRecorded(
            message_id=uuid.uuid4(), complaint_id=cid, template="acknowledgement", channel="sms",
            recipient_role="complainant", state="sent", recorded_at=at + timedelta(minutes=2),
        ),
    ]  # fmt: skip
    with Session(db) as session, session.begin():
        for event in logged:
            folding.log_event(session, uuid.uuid4(), event)
        folding.rebuild(session)
        fact = session.execute(
            text("SELECT unit_code, tier FROM reporting.complaint_facts WHERE complaint_id = :c"), {"c": cid}
        ).one()
        escalated = session.execute(
            text("SELECT from_unit, to_unit FROM reporting.escalations WHERE complaint_id = :c"), {"c": cid}
        ).one()
        session.rollback()  # the shared read model stays as it was
    assert tuple(fact) == (township.code, "township")
    assert tuple(escalated) == (village.code, township.code)
