"""Tenants through the gateway: reading a tenant and its inherited settings, changing settings,
onboarding and offboarding units and agencies with the audit trail, and the open cases of an
offboarded unit moving to the unit above it (routing -> case.reassigned.v1 -> intake, reporting).

The platform is shared with the other test modules: everything here happens under 店口镇
(330681104), which no other module uses, and whatever is changed is put back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import complaint, wait_for

pytestmark = pytest.mark.integration

CITY = "330681"  # 诸暨市
TOWNSHIP = "330681104"  # 店口镇
VILLAGE = "330681104226"  # 白沥畈村委会
SIBLING_VILLAGE = "330681104236"  # 渔村委会
OTHER_TOWNSHIP = "330681109"  # 枫桥镇 (read only here)
OTHER_CITY = "321282"
PASSWORD = "tenants-test-password-1"
ADMIN = "tenants.platform-admin"
CLERK = "tenants.clerk"
CATEGORY = "price"


def bearer(api, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = api.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def accounts(platform, db) -> None:
    """A platform admin (tenant: the city; platform admins are not global yet) and a township clerk
    without admin roles, written straight into the identity schema."""
    from gateway.auth import hash_password
    from gateway.models import User

    password_hash = hash_password(PASSWORD)
    with Session(db) as session, session.begin():
        session.merge(User(username=ADMIN, password_hash=password_hash, tenant_code=CITY, roles=["platform_admin"]))
        session.merge(User(username=CLERK, password_hash=password_hash, tenant_code=TOWNSHIP, roles=["intake_clerk"]))


@pytest.fixture(scope="module")
def admin(api, accounts) -> dict[str, str]:
    return bearer(api, ADMIN)


@pytest.fixture(scope="module")
def clerk(api, accounts) -> dict[str, str]:
    return bearer(api, CLERK)


def submit_routed(api, login, place: str, viewer: str, **overrides) -> dict:
    """File a complaint against a business at `place`; wait until `viewer` sees it routed."""
    body = complaint(
        business={"name": "店口五金店", "division_code": place},
        incident_division_code=place,
        category=CATEGORY,
        **overrides,
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    complaint_id = response.json()["id"]

    def routed():
        case = api.get(f"/api/v1/complaints/{complaint_id}", headers=login(viewer))
        return case.json() if case.status_code == 200 and case.json()["responsible_unit"] else None

    return wait_for(routed, timeout=20)


@pytest.fixture
def restore_settings(api, login) -> Iterator[list[str]]:
    """Codes whose settings a test changes: their overrides are removed afterwards."""
    touched: list[str] = []
    yield touched
    for code in touched:
        headers = login(CITY)
        current = api.get(f"/api/v1/tenants/{code}", headers=headers).json().get("settings", {})
        if current:
            reset = api.patch(f"/api/v1/tenants/{code}/settings", json=dict.fromkeys(current), headers=headers)
            assert reset.status_code == 200, reset.text


# --- reading --------------------------------------------------------------------------------------


def test_a_unit_reads_its_tenant_with_effective_settings(api, login):
    response = api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(VILLAGE))
    assert response.status_code == 200, response.text
    tenant = response.json()
    assert {k: tenant[k] for k in ("code", "kind", "name", "tier", "parent")} == {
        "code": VILLAGE,
        "kind": "unit",
        "name": "白沥畈村委会",
        "tier": "village",
        "parent": TOWNSHIP,
    }
    effective = tenant["effective_settings"]
    assert effective["time_targets"] == {"village": 10, "township": 15, "city": 30}
    assert effective["acknowledgement_hours"] == 24 and effective["acceptance_working_days"] == 7
    assert effective["amount_thresholds"] == {"village_max": 5000, "township_max": 50000}
    assert effective["enabled_categories"] == "all"
    assert effective["working_days"] == {"extra_workdays": [], "extra_holidays": []}


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        (VILLAGE, TOWNSHIP),  # a parent
        (VILLAGE, CITY),
        (VILLAGE, SIBLING_VILLAGE),  # a sibling
        (TOWNSHIP, CITY),
        (TOWNSHIP, OTHER_TOWNSHIP),
        (OTHER_TOWNSHIP, VILLAGE),
        (OTHER_CITY, TOWNSHIP),
        (CITY, OTHER_CITY),
    ],
)
def test_out_of_scope_tenants_answer_404_like_missing_ones(api, login, caller, code):
    response = api.get(f"/api/v1/tenants/{code}", headers=login(caller))
    assert response.status_code == 404
    missing = api.get(f"/api/v1/tenants/{CITY}104999", headers=login(CITY))  # in the city, not a division
    assert missing.status_code == 404
    assert response.json()["error"] == missing.json()["error"] == "notfound"
    assert api.get(f"/api/v1/tenants/{code}/audit", headers=login(caller)).status_code == 404


def test_tenant_calls_need_a_token(api):
    assert api.get(f"/api/v1/tenants/{VILLAGE}").status_code == 401


def test_list_the_units_below(api, login):
    response = api.get("/api/v1/tenants", params={"parent": TOWNSHIP}, headers=login(TOWNSHIP))
    assert response.status_code == 200, response.text
    codes = [t["code"] for t in response.json()]
    assert VILLAGE in codes and SIBLING_VILLAGE in codes and codes == sorted(codes)
    assert all(t["tier"] == "village" and t["parent"] == TOWNSHIP for t in response.json())
    own = api.get("/api/v1/tenants", headers=login(TOWNSHIP)).json()  # default parent: the caller's unit
    assert [t["code"] for t in own] == codes
    city = api.get("/api/v1/tenants", params={"parent": CITY, "kind": "unit"}, headers=login(CITY)).json()
    assert TOWNSHIP in [t["code"] for t in city] and all(len(t["code"]) == 9 for t in city)
    assert api.get("/api/v1/tenants", params={"parent": CITY}, headers=login(TOWNSHIP)).status_code == 404
    assert api.get("/api/v1/tenants", params={"parent": "12"}, headers=login(TOWNSHIP)).status_code == 422


# --- settings -------------------------------------------------------------------------------------


def test_settings_inherit_down_the_chain_and_the_lower_unit_wins(api, login, restore_settings):
    restore_settings += [CITY, TOWNSHIP, VILLAGE]
    city = api.patch(
        f"/api/v1/tenants/{CITY}/settings",
        json={"time_targets": {"village": 8}, "amount_thresholds": {"village_max": 3000}},
        headers=login(CITY),
    )
    assert city.status_code == 200, city.text
    assert city.json()["settings"] == {"time_targets": {"village": 8}, "amount_thresholds": {"village_max": 3000}}

    def village_view() -> dict:
        response = api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(VILLAGE))
        assert response.status_code == 200, response.text
        return response.json()

    seen = village_view()
    assert seen["effective_settings"]["time_targets"]["village"] == 8  # the city's override
    assert seen["effective_settings"]["amount_thresholds"] == {"village_max": 3000, "township_max": 50000}
    assert seen["settings"] == {} and seen["settings_from"] == [CITY]

    # the village's own tenant admin overrides one value; the rest stays inherited
    own_patch = {"time_targets": {"village": 6}}
    own = api.patch(f"/api/v1/tenants/{VILLAGE}/settings", json=own_patch, headers=login(VILLAGE))
    assert own.status_code == 200, own.text
    seen = village_view()
    assert seen["effective_settings"]["time_targets"] == {"village": 6, "township": 15, "city": 30}
    assert seen["effective_settings"]["amount_thresholds"]["village_max"] == 3000
    assert seen["settings_from"] == [CITY, VILLAGE]

    # the township in between changes something else: the village sees that too
    middle = {"time_targets": {"village": 7}, "enabled_categories": ["price", "contract"]}
    township = api.patch(f"/api/v1/tenants/{TOWNSHIP}/settings", json=middle, headers=login(TOWNSHIP))
    assert township.status_code == 200, township.text
    seen = village_view()
    assert seen["effective_settings"]["time_targets"]["village"] == 6  # still the village's own
    assert seen["effective_settings"]["enabled_categories"] == ["price", "contract"]
    sibling = api.get(f"/api/v1/tenants/{SIBLING_VILLAGE}", headers=login(SIBLING_VILLAGE)).json()
    assert sibling["effective_settings"]["time_targets"]["village"] == 7  # the township's, over the city's

    # null removes the village's override: it inherits again
    removed = api.patch(f"/api/v1/tenants/{VILLAGE}/settings", json={"time_targets": None}, headers=login(VILLAGE))
    assert removed.status_code == 200 and removed.json()["settings"] == {}
    assert village_view()["effective_settings"]["time_targets"]["village"] == 7
    settings_only = api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(VILLAGE)).json()["settings_from"]
    assert settings_only == [CITY, TOWNSHIP]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"time_targets": {"village": 0}}, "time_targets.village"),
        ({"time_targets": {"village": "ten"}}, "time_targets.village"),
        ({"yellow_share": 2}, "yellow_share"),
        ({"amount_thresholds": {"township_max": -5}}, "amount_thresholds.township_max"),
        ({"enabled_categories": "most"}, "enabled_categories"),
        ({"working_days": {"extra_holidays": ["not a date"]}}, "working_days.extra_holidays.0"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_settings_answer_422_naming_the_field(api, login, patch, field):
    response = api.patch(f"/api/v1/tenants/{SIBLING_VILLAGE}/settings", json=patch, headers=login(TOWNSHIP))
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["fields"]] == [field]
    assert api.get(f"/api/v1/tenants/{SIBLING_VILLAGE}", headers=login(TOWNSHIP)).json()["settings"] == {}


def test_settings_need_an_admin_of_the_unit_or_above(api, login, clerk):
    patch = {"acknowledgement_hours": 12}
    assert api.patch(f"/api/v1/tenants/{TOWNSHIP}/settings", json=patch, headers=clerk).status_code == 403
    assert api.patch(f"/api/v1/tenants/{VILLAGE}/settings", json=patch, headers=clerk).status_code == 403
    # a tenant admin cannot change its parent's settings: the parent is out of its scope
    assert api.patch(f"/api/v1/tenants/{TOWNSHIP}/settings", json=patch, headers=login(VILLAGE)).status_code == 404
    assert api.patch(f"/api/v1/tenants/{CITY}/settings", json=patch, headers=login(TOWNSHIP)).status_code == 404
    assert api.get(f"/api/v1/tenants/{TOWNSHIP}", headers=clerk).status_code == 200  # reading is for everyone
    assert api.get(f"/api/v1/tenants/{TOWNSHIP}/audit", headers=clerk).status_code == 403


# --- onboarding and offboarding -------------------------------------------------------------------


def test_onboarding_and_offboarding_are_for_platform_admins(api, login, clerk):
    for headers in (login(CITY), login(VILLAGE), clerk):  # tenant admins and a clerk
        assert api.post("/api/v1/tenants", json={"code": VILLAGE}, headers=headers).status_code == 403
        assert api.delete(f"/api/v1/tenants/{VILLAGE}", headers=headers).status_code == 403
    assert api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(VILLAGE)).status_code == 200


def test_a_platform_admin_works_within_its_own_subtree(api, admin):
    assert api.delete(f"/api/v1/tenants/{OTHER_CITY}", headers=admin).status_code == 404
    assert api.post("/api/v1/tenants", json={"code": "321282101"}, headers=admin).status_code == 404
    assert api.post("/api/v1/tenants", json={"code": VILLAGE}, headers=admin).status_code == 409  # already on


def test_offboarding_a_village_moves_its_open_cases_to_the_township(api, login, admin, db):
    case = submit_routed(api, login, VILLAGE, VILLAGE)
    assert case["responsible_unit"]["code"] == VILLAGE
    complaint_id = case["id"]
    tier_target = "SELECT unit_code, tier, started_at, stopped_at FROM routing.tier_clocks WHERE complaint_id = :id"
    with db.connect() as conn:
        before = conn.execute(text(tier_target), {"id": complaint_id}).one()
    assert before.unit_code == VILLAGE
    try:
        response = api.delete(f"/api/v1/tenants/{VILLAGE}", headers=admin)
        assert response.status_code == 200, response.text
        assert response.json()["kind"] == "unit" and response.json()["to"] == TOWNSHIP
        assert response.json()["moved"] >= 1

        def moved():
            seen = api.get(f"/api/v1/complaints/{complaint_id}", headers=login(TOWNSHIP))
            body = seen.json()
            return body if seen.status_code == 200 and body["responsible_unit"]["code"] == TOWNSHIP else None

        body = wait_for(moved)
        assert body["responsible_unit"] == {"code": TOWNSHIP, "name": "店口镇", "tier": "township"}
        [step] = [h for h in body["history"] if h["step"] == "reassigned"]
        assert step["detail"]["from"]["code"] == VILLAGE and step["detail"]["to"]["code"] == TOWNSHIP
        assert step["detail"]["reason"] == "unit_offboarded" and step["detail"]["actor"] == ADMIN
        # the village has no staff any more: its token sees neither the case nor the tenant
        assert api.get(f"/api/v1/complaints/{complaint_id}", headers=login(VILLAGE)).status_code == 404
        assert api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(VILLAGE)).status_code == 404
        assert VILLAGE not in [t["code"] for t in api.get("/api/v1/tenants", headers=login(TOWNSHIP)).json()]

        with db.connect() as conn:
            assignment = conn.execute(
                text("SELECT unit_code, tier, rule FROM routing.assignments WHERE complaint_id = :id"),
                {"id": complaint_id},
            ).one()
            # the township's own time target runs from the move, not the offboarded village's
            target = conn.execute(text(tier_target), {"id": complaint_id}).one()
        assert tuple(assignment) == (TOWNSHIP, "township", "reassigned.unit_offboarded")
        assert (target.unit_code, target.tier, target.stopped_at) == (TOWNSHIP, "township", None)
        assert target.started_at > before.started_at

        def counted():
            with db.connect() as conn:
                return conn.execute(
                    text("SELECT unit_code, tier FROM reporting.complaint_facts WHERE complaint_id = :id"),
                    {"id": complaint_id},
                ).one_or_none() == (TOWNSHIP, "township")

        wait_for(counted)

        # a new case from the village now goes to the nearest onboarded unit above it
        later = submit_routed(api, login, VILLAGE, TOWNSHIP)
        assert later["responsible_unit"]["code"] == TOWNSHIP

        trail = api.get(f"/api/v1/tenants/{TOWNSHIP}/audit", headers=admin)
        assert trail.status_code == 200, trail.text
        offboarded = [r for r in trail.json() if r["action"] == "offboard" and r["tenant"] == VILLAGE]
        assert offboarded and offboarded[0]["actor"] == ADMIN and offboarded[0]["detail"]["to"] == TOWNSHIP
        reassigned = [r for r in trail.json() if r["action"] == "reassign"]
        assert complaint_id in [r["detail"]["complaint_id"] for r in reassigned]
        # the offboarded village's own trail stays readable to its township's admins
        assert api.get(f"/api/v1/tenants/{VILLAGE}/audit", headers=login(TOWNSHIP)).status_code == 200
    finally:
        again = api.post("/api/v1/tenants", json={"code": VILLAGE}, headers=admin)
    # onboarding the offboarded village again: its staff are back, its old cases stay with the township
    assert again.status_code == 201, again.text
    assert again.json()["code"] == VILLAGE and again.json()["onboarded"] == 1
    assert again.json()["settings"] == {}
    assert api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(VILLAGE)).status_code == 200
    assert api.get(f"/api/v1/complaints/{complaint_id}", headers=login(VILLAGE)).status_code == 404
    trail = api.get(f"/api/v1/tenants/{VILLAGE}/audit", headers=admin).json()
    assert [r["action"] for r in trail][:2] == ["onboard", "offboard"]
    assert trail[0]["actor"] == ADMIN and trail[0]["detail"] == {"kind": "unit", "subtree": False, "onboarded": 1}
    assert submit_routed(api, login, VILLAGE, VILLAGE)["responsible_unit"]["code"] == VILLAGE


def test_agencies_attach_to_onboarded_units(api, login, admin):
    agency = f"{TOWNSHIP}-police"
    body = {"code": TOWNSHIP, "kind": "agency", "agency_type": "police"}
    created = api.post("/api/v1/tenants", json=body, headers=admin)
    assert created.status_code == 201, created.text
    try:
        view = created.json()
        assert {k: view[k] for k in ("code", "kind", "agency_type", "name", "tier", "parent")} == {
            "code": agency,
            "kind": "agency",
            "agency_type": "police",
            "name": "店口镇公安",
            "tier": "township",
            "parent": TOWNSHIP,
        }
        assert api.post("/api/v1/tenants", json=body, headers=admin).status_code == 409
        listed = api.get("/api/v1/tenants", params={"parent": TOWNSHIP, "kind": "agency"}, headers=login(TOWNSHIP))
        assert [t["code"] for t in listed.json()] == [agency]
        assert agency in api.get(f"/api/v1/tenants/{TOWNSHIP}", headers=login(TOWNSHIP)).json()["agencies"]
        # the township (and the city) see it; the villages below do not
        assert api.get(f"/api/v1/tenants/{agency}", headers=login(TOWNSHIP)).status_code == 200
        assert api.get(f"/api/v1/tenants/{agency}", headers=login(VILLAGE)).status_code == 404
        # its settings inherit from its unit, and it may have its own
        patched = api.patch(
            f"/api/v1/tenants/{agency}/settings", json={"acceptance_working_days": 3}, headers=login(TOWNSHIP)
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["effective_settings"]["acceptance_working_days"] == 3
        # a unit with an agency attached cannot be offboarded
        refused = api.delete(f"/api/v1/tenants/{TOWNSHIP}", headers=admin)
        assert refused.status_code == 409, refused.text
        assert agency in refused.json()["message"]
    finally:
        removed = api.delete(f"/api/v1/tenants/{agency}", headers=admin)
        if api.get(f"/api/v1/tenants/{TOWNSHIP}", headers=admin).status_code == 404:
            api.post("/api/v1/tenants", json={"code": TOWNSHIP}, headers=admin)  # undo a wrongful offboard
    assert removed.status_code == 200 and removed.json() == {"code": agency, "kind": "agency", "moved": 0, "to": None}
    assert api.get(f"/api/v1/tenants/{agency}", headers=login(TOWNSHIP)).status_code == 404
    actions = [(r["action"], r["tenant"]) for r in api.get(f"/api/v1/tenants/{agency}/audit", headers=admin).json()]
    assert actions[:3] == [("offboard", agency), ("settings", agency), ("onboard", agency)]


def test_a_city_admin_onboards_and_retires_the_agencies_of_its_city(api, login, admin):
    """A city's tenant admin attaches its own police stations and courts; a township's may not, and
    an API key exists only for an onboarded agency."""
    agency = f"{TOWNSHIP}-court"
    body = {"code": TOWNSHIP, "kind": "agency", "agency_type": "court", "name": "店口人民法庭"}
    for lower in (TOWNSHIP, VILLAGE):
        assert api.post("/api/v1/tenants", json=body, headers=login(lower)).status_code in (403, 404)
    key_body = {"tenant": agency, "name": "法庭调解平台"}
    refused = api.post("/api/v1/api-keys", json=key_body, headers=login(CITY))
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "tenant"
    created = api.post("/api/v1/tenants", json=body, headers=login(CITY))
    assert created.status_code == 201, created.text
    try:
        assert created.json()["name"] == "店口人民法庭"
        key = api.post("/api/v1/api-keys", json=key_body, headers=login(CITY))
        assert key.status_code == 201, key.text
        assert api.get("/api/v1/auth/me", headers={"X-API-Key": key.json()["key"]}).json()["tenant"] == agency
        assert api.delete(f"/api/v1/tenants/{agency}", headers=login(TOWNSHIP)).status_code == 403
        rename = {"name": "诸暨市人民法院店口法庭"}
        assert api.patch(f"/api/v1/tenants/{agency}", json=rename, headers=login(TOWNSHIP)).status_code == 403
        assert api.patch(f"/api/v1/tenants/{TOWNSHIP}", json=rename, headers=login(CITY)).status_code == 422
        blank = api.patch(f"/api/v1/tenants/{agency}", json={"name": ""}, headers=login(CITY))
        assert blank.status_code == 422 and blank.json()["fields"][0]["field"] == "name"
        renamed = api.patch(f"/api/v1/tenants/{agency}", json=rename, headers=login(CITY))
        assert renamed.status_code == 200 and renamed.json()["name"] == rename["name"]
    finally:
        removed = api.delete(f"/api/v1/tenants/{agency}", headers=login(CITY))
    assert removed.status_code == 200, removed.text
    trail = api.get(f"/api/v1/tenants/{agency}/audit", headers=admin).json()
    assert [(r["action"], r["actor"]) for r in trail][:3] == [("offboard", CITY), ("rename", CITY), ("onboard", CITY)]
    assert trail[1]["detail"] == {"before": "店口人民法庭", "after": "诸暨市人民法院店口法庭"}
    assert (
        api.post("/api/v1/tenants", json={"code": VILLAGE}, headers=login(CITY)).status_code == 403
    )  # units: platform


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"code": TOWNSHIP, "kind": "agency", "agency_type": "army"}, 422),
        ({"code": TOWNSHIP, "kind": "agency"}, 422),
        ({"code": TOWNSHIP, "agency_type": "police"}, 422),
        ({"code": TOWNSHIP, "kind": "agency", "agency_type": "court", "subtree": True}, 422),
        ({"code": "33068110"}, 422),
        ({"code": f"{CITY}104999"}, 404),  # not in the division table
        ({"code": "330681104999", "kind": "agency", "agency_type": "court"}, 409),  # no such unit onboarded
    ],
)
def test_onboarding_input_is_checked(api, admin, body, status):
    response = api.post("/api/v1/tenants", json=body, headers=admin)
    assert response.status_code == status, response.text


def test_a_city_with_open_cases_cannot_be_offboarded(api, login, admin, db):
    case = submit_routed(api, login, CITY, CITY, summary=f"价格欺诈，市级受理 {uuid.uuid4().hex[:6]}")
    assert case["responsible_unit"]["code"] == CITY
    with db.connect() as conn:
        open_cases = conn.execute(
            text("SELECT count(*) FROM routing.assignments WHERE unit_code = :city"), {"city": CITY}
        ).scalar_one()
    # never ask for the offboard unless the refusal is certain: other modules use this city
    assert open_cases >= 1
    response = api.delete(f"/api/v1/tenants/{CITY}", headers=admin)
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "conflict"
    assert "open case" in response.json()["message"] and "no onboarded unit above" in response.json()["message"]
    assert api.get(f"/api/v1/tenants/{CITY}", headers=login(CITY)).status_code == 200
