"""One complaint travels the whole way through the gateway: stored, routed, acknowledged, counted,
and visible to the responsible unit and the units above it only."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import complaint, wait_for

VILLAGE = "330681109290"  # 枫源村, 枫桥镇, 诸暨市
TOWNSHIP = "330681109"
CITY = "330681"
SIBLING_VILLAGE = "330681109291"
SIBLING_TOWNSHIP = "330681110"
OTHER_CITY = "321282"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def routed_case(api, login):
    response = api.post("/api/v1/complaints", json=complaint())
    assert response.status_code == 201, response.text
    receipt = response.json()

    def routed_and_acknowledged():
        """Routing's decision and notification's acknowledgement reach intake by separate events,
        in either order."""
        case = api.get(f"/api/v1/complaints/{receipt['id']}", headers=login(VILLAGE))
        if case.status_code != 200 or case.json()["status"] != "routed":
            return None
        steps = {entry["step"] for entry in case.json()["history"]}
        return case.json() if "notified:acknowledgement" in steps else None

    return receipt, wait_for(routed_and_acknowledged, timeout=15)


def test_submission_answers_201_with_receipt(routed_case):
    receipt, _ = routed_case
    # a public filing also gets a short-lived token to upload its evidence (docs/parties.md)
    assert set(receipt) == {"id", "tracking_no", "status", "upload_token", "acceptance_deadline"}
    assert receipt["status"] == "received"
    assert receipt["tracking_no"].startswith("TS")
    uuid.UUID(receipt["id"])


def test_routed_to_lowest_onboarded_unit_with_history(routed_case):
    _, case = routed_case
    assert case["responsible_unit"] == {"code": VILLAGE, "name": "枫源村委会", "tier": "village"}
    steps = [entry["step"] for entry in case["history"]]
    assert steps[0] == "received"
    assert "routed" in steps and "notified:acknowledgement" in steps
    routed = next(entry for entry in case["history"] if entry["step"] == "routed")
    assert routed["detail"]["rule"] == "territory.business"
    assert all(entry["at"] for entry in case["history"])


@pytest.mark.parametrize("unit", [VILLAGE, TOWNSHIP, CITY])
def test_responsible_unit_and_units_above_see_the_case(api, login, routed_case, unit):
    receipt, _ = routed_case
    response = api.get(f"/api/v1/complaints/{receipt['id']}", headers=login(unit))
    assert response.status_code == 200
    assert response.json()["id"] == receipt["id"]


@pytest.mark.parametrize("unit", [SIBLING_VILLAGE, SIBLING_TOWNSHIP, OTHER_CITY])
def test_unrelated_units_get_404(api, login, routed_case, unit):
    receipt, _ = routed_case
    response = api.get(f"/api/v1/complaints/{receipt['id']}", headers=login(unit))
    assert response.status_code == 404
    missing = api.get(f"/api/v1/complaints/{uuid.uuid4()}", headers=login(unit))
    # out of scope and absent answer alike
    assert response.json() == {**missing.json(), "message": response.json()["message"]}


def test_personal_data_full_only_for_the_responsible_unit(api, login, routed_case):
    receipt, _ = routed_case
    own = api.get(f"/api/v1/complaints/{receipt['id']}", headers=login(VILLAGE)).json()
    above = api.get(f"/api/v1/complaints/{receipt['id']}", headers=login(CITY)).json()
    assert own["complainant"] == {"name": "张三", "phone": "13800138000"}
    assert above["complainant"] == {"name": "张*", "phone": "138****8000"}


def test_staff_calls_need_a_token(api, routed_case):
    receipt, _ = routed_case
    assert api.get(f"/api/v1/complaints/{receipt['id']}").status_code == 401
    bad = api.get(f"/api/v1/complaints/{receipt['id']}", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert "log in" in bad.json()["message"]


def test_wrong_password_is_refused(api):
    response = api.post("/api/v1/auth/token", data={"username": VILLAGE, "password": "wrong"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


def test_token_carries_tenant_and_roles(api):
    from tests.conftest import DEMO_PASSWORD

    body = api.post("/api/v1/auth/token", data={"username": TOWNSHIP, "password": DEMO_PASSWORD}).json()
    assert body["tenant"] == TOWNSHIP
    assert {"intake_clerk", "mediator", "supervisor", "tenant_admin"} <= set(body["roles"])


def test_acknowledgement_recorded_with_delivery_state(api, login, routed_case):
    receipt, _ = routed_case
    messages = api.get(f"/api/v1/complaints/{receipt['id']}/messages", headers=login(VILLAGE))
    assert messages.status_code == 200
    [ack] = [m for m in messages.json() if m["template"] == "acknowledgement"]
    assert ack["recipient_role"] == "complainant" and ack["state"] == "sent"
    assert api.get(f"/api/v1/complaints/{receipt['id']}/messages", headers=login(OTHER_CITY)).status_code == 404


def test_reporting_counts_it_within_scope(api, login, routed_case):
    def counted(unit):
        return api.get("/api/v1/reports/summary", headers=login(unit)).json()

    wait_for(lambda: counted(VILLAGE)["by_status"].get("routed", 0) >= 1)
    assert counted(CITY)["total"] >= counted(TOWNSHIP)["total"] >= counted(VILLAGE)["total"] >= 1
    # another city's figures do not move when a case arrives here
    other_before, village_before = counted(OTHER_CITY)["total"], counted(VILLAGE)["total"]
    api.post("/api/v1/complaints", json=complaint())
    wait_for(lambda: counted(VILLAGE)["total"] == village_before + 1)
    assert counted(OTHER_CITY)["total"] == other_before


def test_list_shows_only_the_scope(api, login, routed_case):
    receipt, _ = routed_case
    ids = {c["id"] for c in api.get("/api/v1/complaints", headers=login(TOWNSHIP)).json()}
    assert receipt["id"] in ids
    assert receipt["id"] not in {c["id"] for c in api.get("/api/v1/complaints", headers=login(OTHER_CITY)).json()}


def test_business_without_place_is_routed_by_incident(api, login):
    body = complaint(business={"name": "流动摊贩"}, incident_division_code="330681109")
    receipt = api.post("/api/v1/complaints", json=body).json()
    case = wait_for(
        lambda: (
            (r := api.get(f"/api/v1/complaints/{receipt['id']}", headers=login(TOWNSHIP))).status_code == 200
            and r.json()
        )
    )
    assert case["responsible_unit"]["code"] == TOWNSHIP
    routed = next(entry for entry in case["history"] if entry["step"] == "routed")
    assert routed["detail"]["rule"] == "territory.incident"


def test_idempotency_key_returns_the_first_receipt(api, db):
    key = f"test-{uuid.uuid4()}"
    first = api.post("/api/v1/complaints", json=complaint(), headers={"Idempotency-Key": key})
    second = api.post("/api/v1/complaints", json=complaint(), headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


def test_healthz_and_openapi(api):
    health = api.get("/healthz")
    assert health.status_code == 200
    assert health.json()["services"] == dict.fromkeys(
        ["intake", "routing", "mediation", "notification", "reporting"], "ok"
    )
    spec = api.get("/openapi.json").json()
    assert "/api/v1/complaints" in spec["paths"] and "/api/v1/auth/token" in spec["paths"]
