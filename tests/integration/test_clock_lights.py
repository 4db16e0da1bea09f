"""Clock warning lights end to end: a clock running out turns yellow, then red; the watcher of the
service that runs it says so once (clock.colour_changed.v1), notification tells the handler and, on
red, the supervisor; breaches are counted once and the open-case gauge follows.

Time is not waited for: a test moves a clock's start and deadline into the past and makes it due,
as a clock that has run for days would be."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from tests.conftest import complaint, credit_code, wait_for
from tests.integration.test_mediation_flow import Desk
from tests.integration.test_telemetry import service_metrics, value

VILLAGE = "321282103209"  # 江平村委会
MEDIATION_VILLAGE = "321282103210"  # 广福村委会
CITY = "321282"


def inbox(api, login, unit: str, cid: str, template: str) -> list[dict[str, Any]]:
    items = api.get("/api/v1/inbox", params={"limit": 200}, headers=login(unit)).json()["items"]
    return [i for i in items if i["complaint_id"] == cid and i["template"] == template]


def age(db, schema: str, cid: str, kind: str, started: str, deadline: str) -> None:
    """Make the clock look as if it started `started` ago with its deadline `deadline` from now, and
    due for the watcher."""
    with db.begin() as conn:
        moved = conn.execute(
            text(
                f"UPDATE {schema}.clocks SET started_at = now() - CAST(:started AS interval), "
                "deadline = now() + CAST(:deadline AS interval), next_check_at = now() "
                "WHERE complaint_id = :c AND kind = :k"
            ),
            {"started": started, "deadline": deadline, "c": uuid.UUID(cid), "k": kind},
        ).rowcount
    assert moved == 1


def stored(db, schema: str, cid: str, kind: str) -> tuple[str, Any]:
    with db.connect() as conn:
        return conn.execute(
            text(f"SELECT colour, next_check_at FROM {schema}.clocks WHERE complaint_id = :c AND kind = :k"),
            {"c": uuid.UUID(cid), "k": kind},
        ).one()


def breaches(platform, service: str, clock: str) -> float:
    return value(service_metrics(platform, service), "disputes_clock_breaches_total", clock=clock, city=CITY) or 0


def late_acceptances(api, login) -> int:
    answer = api.get("/api/v1/reports/summary", headers=login(VILLAGE))
    assert answer.status_code == 200, answer.text
    return answer.json()["on_time"]["acceptance"]["missed"]


def routed_complaint(api, login, unit: str = VILLAGE, business: str = "江平五金店", seed: int = 7301) -> str:
    """A complaint against a business of `unit`, routed there and not yet decided."""
    body = complaint(
        business={"name": business, "credit_code": credit_code(seed), "division_code": unit},
        incident_division_code=unit,
    )
    filed = api.post("/api/v1/complaints", json=body)
    assert filed.status_code == 201, filed.text
    cid = filed.json()["id"]

    def routed():
        case = api.get(f"/api/v1/complaints/{cid}", headers=login(unit))
        return case.status_code == 200 and case.json()["status"] == "routed"

    wait_for(routed, timeout=20)
    return cid


def test_an_acceptance_clock_turns_yellow_then_red_once_and_its_breach_is_counted_once(platform, api, login, db):
    cid = routed_complaint(api, login)
    counted_before = breaches(platform, "intake", "acceptance")

    age(db, "intake", cid, "acceptance", started="9 days", deadline="1 hour")
    [yellow] = wait_for(lambda: inbox(api, login, VILLAGE, cid, "clock_yellow"), timeout=20)
    assert yellow["to"] == f"tenant:{VILLAGE}" and "受理" in yellow["body"]
    colour, next_check = stored(db, "intake", cid, "acceptance")
    assert colour == "yellow" and next_check is not None  # due again when it turns red

    age(db, "intake", cid, "acceptance", started="10 days", deadline="-1 minute")
    [red] = wait_for(lambda: inbox(api, login, VILLAGE, cid, "clock_red"), timeout=20)
    assert red["time_critical"]
    assert stored(db, "intake", cid, "acceptance") == ("red", None)  # never looked at again
    wait_for(lambda: breaches(platform, "intake", "acceptance") == counted_before + 1, timeout=10)

    # the gauge shows the red clock of the village's tier, until the case is decided
    def red_clocks() -> float:
        samples = service_metrics(platform, "intake")
        return value(samples, "disputes_open_cases", clock="acceptance", colour="red", tier="village", city=CITY) or 0

    wait_for(lambda: red_clocks() >= 1, timeout=15)
    missed_before = late_acceptances(api, login)
    accepted = api.post(f"/api/v1/complaints/{cid}/accept", headers=login(VILLAGE))
    assert accepted.status_code in (200, 201), accepted.text
    case = api.get(f"/api/v1/complaints/{cid}", headers=login(VILLAGE)).json()
    clock = next(c for c in case["clocks"] if c["kind"] == "acceptance")
    assert clock["met"] is False and clock["status"] == "late" and clock["colour"] == "red"
    wait_for(lambda: red_clocks() == 0, timeout=15)
    # stopping late did not count the breach a second time, and nobody was told twice
    assert breaches(platform, "intake", "acceptance") == counted_before + 1
    assert len(inbox(api, login, VILLAGE, cid, "clock_red")) == 1
    assert len(inbox(api, login, VILLAGE, cid, "clock_yellow")) == 1
    # the report agrees with the clock (clock.stopped.v1): late, though the decision came the day the
    # complaint was received, which a count from the case's own dates would call in time
    wait_for(lambda: late_acceptances(api, login) == missed_before + 1, timeout=20)


def test_a_mediation_clock_near_its_end_tells_the_mediator_and_on_red_the_supervisor(platform, api, login, db):
    d = Desk(api, login, MEDIATION_VILLAGE)
    cid = d.accepted_case()
    d.do(cid, "consent", {"consent": True, "contacted_via": "visit", "contact_person": "王经理"})
    mediator, as_mediator = d.user("lights", "mediator")
    d.roster(d.demo, mediator)
    assert d.do(cid, "assign", {"mediator": mediator})["mediator"] == mediator

    age(db, "mediation", cid, "mediation", started="50 days", deadline="5 days")
    [yellow] = wait_for(lambda: inbox(api, lambda _: as_mediator, mediator, cid, "clock_yellow"), timeout=20)
    assert yellow["to"] == f"user:{mediator}"
    assert d.get(cid)["clocks"]["mediation"]["colour"] == "yellow"

    # the appraisal pause holds the light: nothing is due while paused
    d.do(cid, "appraisal/start", {"reason": "质量鉴定"})
    assert stored(db, "mediation", cid, "mediation") == ("yellow", None)
    d.do(cid, "appraisal/end", {})
    assert stored(db, "mediation", cid, "mediation")[1] is not None

    age(db, "mediation", cid, "mediation", started="61 days", deadline="-1 minute")
    wait_for(lambda: inbox(api, lambda _: as_mediator, mediator, cid, "clock_red"), timeout=20)
    [supervised] = wait_for(lambda: inbox(api, login, MEDIATION_VILLAGE, cid, "clock_red"), timeout=20)
    assert supervised["to"] == f"tenant:{MEDIATION_VILLAGE}"
