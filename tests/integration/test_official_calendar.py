"""The official calendar through the gateway: only platform admins enter it, a wrong date answers 422
naming the field, and entering a year moves the deadlines intake, routing and mediation compute for
new clocks and recounts the running ones (routing -> official_calendar.changed.v1 -> each service's
copy); withdrawing it moves them back. A missing next year is said once to the platform admins.

The schedule entered is made up from today's date: the second working day from now and the day the
60 days of a mediation accepted now would end become bridging days, so each clock has a day off in
its span whatever day the test runs. Everything happens under 应店街镇 (330681102), which no other
module uses, and the years entered are withdrawn at the end."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from common.workdays import (
    DEFAULT_CALENDAR,
    SHANGHAI,
    OfficialYear,
    enter_official_year,
    fallback_holidays,
    local_date,
    official_years,
    set_official_years,
)
from tests.conftest import ROOT, TEST_DATABASE_URL, complaint, credit_code, wait_for

pytestmark = pytest.mark.integration

CITY = "330681"
VILLAGE = "330681102203"  # 板西村委会, 应店街镇
PASSWORD = "calendar-test-password-1"
ADMIN = "calendar.platform-admin"
BASE = "/api/v1/calendar/official"
_serial = itertools.count(1)


def bearer(api: httpx.Client, username: str) -> dict[str, str]:
    response = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def admin(api, db) -> dict[str, str]:
    """A platform admin (tenant: the city; platform admins are not global yet)."""
    from gateway.auth import hash_password
    from gateway.models import User

    with Session(db) as session, session.begin():
        session.merge(
            User(username=ADMIN, password_hash=hash_password(PASSWORD), tenant_code=CITY, roles=["platform_admin"])
        )
    return bearer(api, ADMIN)


@pytest.fixture
def this_process() -> Iterator[None]:
    """The test computes the expected deadlines on the same calendar: restored afterwards."""
    before = official_years().values()
    yield
    set_official_years(before)


def submit(api: httpx.Client) -> str:
    serial = next(_serial)
    body = complaint(
        complainant={"name": "孙八", "phone": f"136{serial:08d}"},
        business={
            "name": f"应店街日历测试商店{serial}",
            "credit_code": credit_code(700 + serial),
            "division_code": VILLAGE,
        },
        incident_division_code=VILLAGE,
        category="price",
        summary=f"日历测试第{serial}号：商品价格与标价不符，要求退还差价",
        claim_amount=120.0,
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def clocks(api: httpx.Client, headers: dict[str, str], cid: str) -> dict[str, dict[str, Any]]:
    """The case's clocks by kind as intake, routing and mediation show them (those there yet)."""
    found: dict[str, dict[str, Any]] = {}
    case = api.get(f"/api/v1/complaints/{cid}", headers=headers)
    if case.status_code == 200:
        found.update({c["kind"]: c for c in case.json()["clocks"]})
    routing = api.get(f"/api/v1/complaints/{cid}/routing", headers=headers)
    if routing.status_code == 200 and routing.json().get("tier_clock"):
        found["tier_target"] = routing.json()["tier_clock"]
    mediation = api.get(f"/api/v1/complaints/{cid}/mediation", headers=headers)
    if mediation.status_code == 200:
        found.update(mediation.json()["clocks"])
    return found


def deadlines_become(api, headers, cid: str, expected: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Wait until each clock named in `expected` (kind -> function of its start) has that deadline."""

    def ready():
        shown = clocks(api, headers, cid)
        for kind, deadline_of in expected.items():
            clock = shown.get(kind)
            if clock is None:
                return None
            if datetime.fromisoformat(clock["deadline"]) != deadline_of(datetime.fromisoformat(clock["started_at"])):
                return None
        return shown

    return wait_for(ready, timeout=30, interval=0.3)


def deadlines(calendar_acceptance: int = 7, tier: int = 10) -> dict[str, Any]:
    """Each clock's deadline from its start on this process's calendar now (the village's defaults)."""
    return {
        "acceptance": lambda s: DEFAULT_CALENDAR.add_working_days(s, calendar_acceptance),
        "tier_target": lambda s: DEFAULT_CALENDAR.add_working_days(s, tier),
    }


def mediation_deadline() -> dict[str, Any]:
    return {"mediation": lambda s: DEFAULT_CALENDAR.add_calendar_days(s, 60)}


def schedule(year: int, bridging: set[date]) -> dict[str, Any]:
    return {
        "statutory_holidays": sorted(d.isoformat() for d in fallback_holidays(year)),
        "bridging_days": sorted(d.isoformat() for d in bridging),
        "source": "集成测试：按今天编造的安排",
    }


# --- who may enter it, and what it checks ------------------------------------------------------------------


def test_only_a_platform_admin_enters_or_withdraws_a_year(api, login, admin):
    year = local_date(datetime.now(SHANGHAI)).year + 1
    body = schedule(year, set())
    tenant_admin = login(VILLAGE)  # a demo account: every unit role, tenant_admin included
    assert api.put(f"{BASE}/{year}", json=body, headers=tenant_admin).status_code == 403
    assert api.delete(f"{BASE}/{year}", headers=tenant_admin).status_code == 403
    assert api.get(f"{BASE}/{year}", headers=admin).status_code == 404, "a refused request wrote nothing"
    assert api.put(f"{BASE}/{year}", json=body).status_code == 401
    listed = api.get(BASE, headers=tenant_admin)
    assert listed.status_code == 200, listed.text
    assert listed.json()["counting"][str(year)] in ("package", "fallback")


def _weekday_in_january(year: int) -> date:
    return next(d for d in (date(year, 1, k) for k in range(5, 12)) if d.weekday() < 5)


@pytest.mark.parametrize(
    ("year_ahead", "change", "field"),
    [
        (1, lambda y: {"makeup_workdays": [_weekday_in_january(y).isoformat()]}, "makeup_workdays.0"),
        (1, lambda y: {"bridging_days": [_weekday_in_january(y).isoformat(), f"{y + 1}-01-04"]}, "bridging_days.1"),
        (2, lambda y: {}, "year"),
        (-30, lambda y: {}, "year"),
        (1, lambda y: {"statutory_holidays": []}, "statutory_holidays"),
        (1, lambda y: {"makeup_workdays": [f"{y}-02-30"]}, "makeup_workdays.0"),
    ],
)
def test_a_wrong_schedule_answers_422_naming_the_field(api, admin, year_ahead, change, field):
    year = local_date(datetime.now(SHANGHAI)).year + year_ahead
    response = api.put(f"{BASE}/{year}", json={**schedule(year, set()), **change(year)}, headers=admin)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["fields"]], response.json()
    assert api.get(f"{BASE}/{year}", headers=admin).status_code == 404, "a refused request wrote nothing"


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": TEST_DATABASE_URL}
    command = [sys.executable, "-m", "services.routing.official_calendar", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_command_line_enters_and_withdraws_a_year_like_the_api(api, admin, tmp_path):
    year = local_date(datetime.now(SHANGHAI)).year + 1
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**schedule(year, set()), "makeup_workdays": [_weekday_in_january(year).isoformat()]}))
    refused = cli("enter", str(year), str(wrong))
    assert refused.returncode != 0 and "makeup_workdays.0" in refused.stderr, refused.stderr
    right = tmp_path / "right.json"
    right.write_text(json.dumps(schedule(year, {_weekday_in_january(year)})))
    entered = cli("enter", str(year), str(right))
    assert entered.returncode == 0, entered.stderr
    try:
        shown = api.get(f"{BASE}/{year}", headers=admin)
        assert shown.status_code == 200, shown.text
        assert shown.json()["bridging_days"] == [_weekday_in_january(year).isoformat()]
        assert shown.json()["changed_by"].startswith("cli:")
        assert json.loads(cli("show").stdout)["counting"][str(year)] == "entered"
    finally:
        assert cli("withdraw", str(year)).returncode == 0
    assert api.get(f"{BASE}/{year}", headers=admin).status_code == 404


# --- a missing next year --------------------------------------------------------------------------------------


def test_a_missing_next_year_is_gauged_and_said_once_to_the_platform_admins(api, login, admin, platform, db):
    from services.routing.official_calendar import missing_years

    today = local_date(datetime.now(SHANGHAI))
    missing = missing_years(today, lambda y: counting(api, admin, y) != "fallback")
    if not missing:
        pytest.skip(f"on {today} no year counts on the fallback that should not")

    def notices():
        items = api.get("/api/v1/inbox", params={"limit": 200}, headers=admin).json()["items"]
        return [i for i in items if i["template"] == "official_calendar_missing"] or None

    said = wait_for(notices, timeout=20)
    assert sorted(i["subject"] for i in said) == sorted(f"{y}年节假日安排未录入" for y in missing)
    tenant_items = api.get("/api/v1/inbox", params={"limit": 200}, headers=login(VILLAGE)).json()["items"]
    assert not [i for i in tenant_items if i["template"] == "official_calendar_missing"], "platform admins only"
    metrics = httpx.get(f"http://127.0.0.1:{platform.metrics_ports['routing']}/metrics", timeout=10).text
    for year in missing:
        assert f'disputes_official_calendar_missing{{year="{year}"}} 1.0' in metrics
    with db.connect() as conn:
        noticed = conn.execute(text("SELECT year FROM routing.official_calendar_notices ORDER BY year")).scalars()
        assert list(noticed) == missing


def counting(api: httpx.Client, headers: dict[str, str], year: int) -> str:
    return api.get(BASE, headers=headers).json()["counting"][str(year)]


# --- entering a year moves the deadlines ----------------------------------------------------------------------


def test_entering_a_year_moves_new_and_running_deadlines_in_intake_routing_and_mediation(
    api, login, admin, this_process
):
    headers = login(VILLAGE)
    # running before the year is entered: one case's acceptance and tier target, another's mediation
    running = submit(api)
    before = deadlines_become(api, headers, running, deadlines())
    accepted_before = submit(api)
    deadlines_become(api, headers, accepted_before, deadlines())
    assert api.post(f"/api/v1/complaints/{accepted_before}/accept", headers=headers).status_code in (200, 201)
    mediating = deadlines_become(api, headers, accepted_before, mediation_deadline())["mediation"]

    today = local_date(datetime.now(SHANGHAI))
    later = (today + timedelta(days=k) for k in range(2, 30))
    second_working_day = next(d for d in later if DEFAULT_CALENDAR.is_workday(d) and d.weekday() < 5)
    # where 60 days of mediation accepted today (or, near midnight, tomorrow) end
    ends = {DEFAULT_CALENDAR.next_workday(today + timedelta(days=n)) for n in (60, 61)}
    bridged = {second_working_day} | {d for d in ends if d.weekday() < 5}
    years = {d.year: {b for b in bridged if b.year == d.year} for d in bridged}
    for year, days in sorted(years.items()):
        entered = api.put(f"{BASE}/{year}", json=schedule(year, days), headers=admin)
        assert entered.status_code == 200, entered.text
        assert entered.json()["counting"].get(str(year), "entered") == "entered"
        enter_official_year(year, OfficialYear(year, fallback_holidays(year), frozenset(days)))
    try:
        # the running clocks are counted again on it, in each service: a day later for the day off
        after = deadlines_become(api, headers, running, deadlines())
        for kind in ("acceptance", "tier_target"):
            assert _at(after[kind]["deadline"]) > _at(before[kind]["deadline"]), kind
        moved = deadlines_become(api, headers, accepted_before, mediation_deadline())["mediation"]
        if local_date(_at(mediating["deadline"])) in bridged:
            assert _at(moved["deadline"]) > _at(mediating["deadline"])
        # ... and a new case's clocks count on it from the start
        new = submit(api)
        shown = deadlines_become(api, headers, new, deadlines())
        started = _at(shown["acceptance"]["started_at"])
        assert _at(shown["acceptance"]["deadline"]) > _without(
            years, lambda: DEFAULT_CALENDAR.add_working_days(started, 7)
        )
        assert api.post(f"/api/v1/complaints/{new}/accept", headers=headers).status_code in (200, 201)
        shown = deadlines_become(api, headers, new, mediation_deadline())
        started = _at(shown["mediation"]["started_at"])
        usual = _without(years, lambda: DEFAULT_CALENDAR.add_calendar_days(started, 60))
        if local_date(usual) in bridged:
            assert _at(shown["mediation"]["deadline"]) > usual
    finally:
        for year in years:
            assert api.delete(f"{BASE}/{year}", headers=admin).status_code == 200
            enter_official_year(year, None)
    # withdrawn: the running clocks count on the package (or the fallback) again
    back = deadlines_become(api, headers, running, deadlines())
    assert back["acceptance"]["deadline"] == before["acceptance"]["deadline"]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _without(years: dict[int, set[date]], compute: Any) -> Any:
    """`compute()` on this process's calendar without the years entered here."""
    kept = official_years()
    set_official_years(entry for y, entry in kept.items() if y not in years)
    try:
        return compute()
    finally:
        set_official_years(kept.values())


def test_the_missing_year_is_not_said_again(db):
    """Entering and withdrawing a year checked the years again (the test above): no second notice."""
    with db.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT subject, count(*) FROM notification.messages "
                "WHERE template = 'official_calendar_missing' GROUP BY subject"
            )
        ).all()
    assert all(count == 1 for _, count in counts), counts
