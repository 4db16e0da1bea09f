"""Intake by every channel, through the gateway: the public web form, hotline and walk-in recorded by
a clerk, an e-mail turned into a draft a clerk completes, and an agency's handover; who may file
through which channel; the first receiver kept; Idempotency-Key for every channel.

Helpers here are shared by the other test_intake_* modules."""

from __future__ import annotations

import secrets
import uuid
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import complaint, credit_code, onboard_agency, wait_for

pytestmark = pytest.mark.integration

VILLAGE = "330681109290"  # 枫源村
SIBLING_VILLAGE = "330681109291"
TOWNSHIP = "330681109"  # 枫桥镇
CITY = "330681"  # 诸暨市
OTHER_CITY = "321282"
AGENCY = "330681-court"  # no category is handed to a court: routing stays as it was
PASSWORD = "intake-test-password-1"

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"


def fresh_phone() -> str:
    return "139" + f"{secrets.randbelow(10**8):08d}"


def fresh_business(place: str = VILLAGE, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"测试商店{secrets.token_hex(3)}",
        "credit_code": credit_code(secrets.randbelow(90000) + 10000),
        "division_code": place,
        **extra,
    }


def fresh(place: str = VILLAGE, **overrides: Any) -> dict[str, Any]:
    """A complaint nobody filed before: its own complainant and business."""
    body = complaint(
        complainant={"name": "赵六", "phone": fresh_phone()},
        business=fresh_business(place),
        incident_division_code=place,
    )
    body.update(overrides)
    return body


def case(api, login, complaint_id: str, unit: str = VILLAGE) -> dict[str, Any]:
    response = api.get(f"/api/v1/complaints/{complaint_id}", headers=login(unit))
    assert response.status_code == 200, response.text
    return response.json()


def routed(api, login, complaint_id: str, unit: str = VILLAGE) -> dict[str, Any]:
    def check():
        response = api.get(f"/api/v1/complaints/{complaint_id}", headers=login(unit))
        return response.json() if response.status_code == 200 and response.json()["responsible_unit"] else None

    return wait_for(check, timeout=20)


def file_routed(api, login, body: dict[str, Any] | None = None, unit: str = VILLAGE, **kwargs) -> dict[str, Any]:
    response = api.post("/api/v1/complaints", json=body or fresh(), **kwargs)
    assert response.status_code == 201, response.text
    return routed(api, login, response.json()["id"], unit)


def make_user(db, username: str, tenant: str, roles: list[str]) -> None:
    from gateway.auth import hash_password
    from gateway.models import User

    with Session(db) as session, session.begin():
        session.merge(User(username=username, password_hash=hash_password(PASSWORD), tenant_code=tenant, roles=roles))


_ROLE_HEADERS: dict[tuple[str, str], dict[str, str]] = {}


def role_headers(api, db, tenant: str, role: str) -> dict[str, str]:
    """Bearer headers for a single-role account, created on first use."""
    if (tenant, role) not in _ROLE_HEADERS:
        username = f"intake.{tenant}.{role}"
        make_user(db, username, tenant, [role])
        response = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        _ROLE_HEADERS[tenant, role] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return _ROLE_HEADERS[tenant, role]


@pytest.fixture
def user_headers(api, db):
    return lambda tenant, role: role_headers(api, db, tenant, role)


@pytest.fixture(scope="session")
def agency_key(api, db, login) -> dict[str, str]:
    onboard_agency(db, AGENCY)
    created = api.post("/api/v1/api-keys", json={"tenant": AGENCY, "name": "法院系统(intake)"}, headers=login(CITY))
    assert created.status_code == 201, created.text
    return {"X-API-Key": created.json()["key"]}


def email_message(phone: str | None = None, attachments: list[tuple[str, bytes, str]] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "王五 <wangwu@example.com>"
    message["To"] = "12315@zhuji.example.gov.cn"
    message["Subject"] = "投诉：电动车电池鼓包"
    message["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
    message["Date"] = "Sun, 22 Nov 2026 10:00:00 +0800"
    body = "上周在枫桥镇买的电动车电池两天就鼓包了，商家不肯换。"
    if phone:
        body += f"\n我的电话：{phone}"
    message.set_content(body)
    for name, content, mime in attachments or []:
        maintype, subtype = mime.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def post_email(api, raw: bytes, headers: dict[str, str], **extra: str):
    return api.post(
        "/api/v1/complaints/email", content=raw, headers={**headers, "content-type": "message/rfc822", **extra}
    )


def completion(**overrides: Any) -> dict[str, Any]:
    body = fresh()
    body.pop("channel")
    body.update(overrides)
    return body


# --- web -----------------------------------------------------------------------------------------


def test_web_form_is_public_and_has_no_first_receiver(api, login):
    found = file_routed(api, login)
    assert found["channel"] == "web"
    assert found["first_receiver"] is None and found["received_by"] is None
    assert found["status"] == "routed"


def test_public_caller_cannot_claim_a_staff_channel(api):
    for channel in ("hotline", "walk_in", "agency", "email"):
        response = api.post("/api/v1/complaints", json=fresh(channel=channel))
        assert response.status_code == 422, (channel, response.text)
        assert [f["field"] for f in response.json()["fields"]] == ["channel"]


def test_wrong_credentials_on_submission_are_401_not_public(api):
    response = api.post("/api/v1/complaints", json=fresh(), headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


# --- hotline and walk-in ---------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["hotline", "walk_in"])
def test_clerk_records_hotline_and_walk_in_with_own_unit_as_first_receiver(api, login, channel):
    response = api.post("/api/v1/complaints", json=fresh(channel=channel), headers=login(TOWNSHIP))
    assert response.status_code == 201, response.text
    found = routed(api, login, response.json()["id"], unit=TOWNSHIP)
    assert found["channel"] == channel
    assert found["first_receiver"] == TOWNSHIP
    assert found["received_by"] == TOWNSHIP  # the demo account's username


def test_recording_a_call_needs_the_intake_clerk_role(api, user_headers):
    response = api.post("/api/v1/complaints", json=fresh(channel="hotline"), headers=user_headers(VILLAGE, "mediator"))
    assert response.status_code == 403
    assert "intake_clerk" in response.json()["message"]


@pytest.mark.parametrize("channel", ["web", "agency"])
def test_unit_staff_record_only_staff_channels(api, login, channel):
    response = api.post("/api/v1/complaints", json=fresh(channel=channel), headers=login(VILLAGE))
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "channel"


# --- agency handover -----------------------------------------------------------------------------


def test_agency_hands_a_case_over_with_its_api_key(api, login, agency_key):
    response = api.post("/api/v1/complaints", json=fresh(channel="agency"), headers=agency_key)
    assert response.status_code == 201, response.text
    found = routed(api, login, response.json()["id"], unit=CITY)
    assert found["channel"] == "agency"
    assert found["first_receiver"] == CITY  # the unit the agency is attached to
    assert found["source_tenant"] == AGENCY
    assert found["received_by"].startswith("api-key:")
    # the agency follows the case it handed over: in its list and the single-case view (masked)
    listed = api.get("/api/v1/complaints", params={"limit": 100}, headers=agency_key)
    assert response.json()["id"] in [c["id"] for c in listed.json()]
    seen = api.get(f"/api/v1/complaints/{response.json()['id']}", headers=agency_key)
    assert seen.status_code == 200 and seen.json()["responsible_unit"]["code"] == CITY
    assert "phone" not in seen.json()["complainant"]


def test_agency_liaison_token_hands_over_too(api, login, user_headers):
    response = api.post(
        "/api/v1/complaints", json=fresh(channel="agency"), headers=user_headers(AGENCY, "agency_liaison")
    )
    assert response.status_code == 201, response.text
    assert routed(api, login, response.json()["id"], unit=CITY)["source_tenant"] == AGENCY


def test_agency_must_use_the_agency_channel(api, agency_key):
    response = api.post("/api/v1/complaints", json=fresh(channel="hotline"), headers=agency_key)
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "channel"


# --- e-mail ----------------------------------------------------------------------------------------


def test_email_becomes_a_draft_with_evidence_then_a_complaint(api, login):
    phone = fresh_phone()
    raw = email_message(phone, [("发票.png", PNG, "image/png"), ("invoice.pdf.exe", EXE, "application/octet-stream")])
    response = post_email(api, raw, login(VILLAGE))
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["status"] == "draft" and draft["draft"] is True
    assert draft["prefilled"]["complainant"] == {"name": "王五", "email": "wangwu@example.com", "phone": phone}
    assert "电池" in draft["prefilled"]["summary"] and "投诉" in draft["prefilled"]["summary"]
    assert [e["mime_type"] for e in draft["evidence"]] == ["image/png"]
    assert draft["refused_attachments"][0]["field"] == "attachments[1]"
    assert "Windows program" in draft["refused_attachments"][0]["message"]

    # the receiving unit sees its draft, with the clocks already running (from receipt)
    seen = case(api, login, draft["id"])
    assert seen["status"] == "draft" and seen["channel"] == "email"
    assert seen["first_receiver"] == VILLAGE
    assert len(seen["evidence"]) == 1
    assert {c["kind"] for c in seen["clocks"]} == {"acknowledgement", "acceptance"}
    assert seen["details"]["email"]["from"] == "wangwu@example.com"
    above = case(api, login, draft["id"], unit=TOWNSHIP)  # masked above the receiving unit
    assert above["details"]["email"]["from"] == "w***@example.com"
    assert above["complainant"]["email"] == "w***@example.com"

    body = completion(complainant={"name": "王五", "phone": phone, "email": "wangwu@example.com"})
    done = api.post(f"/api/v1/complaints/{draft['id']}/complete", json=body, headers=login(VILLAGE))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "received"
    final = routed(api, login, draft["id"])
    steps = [h["step"] for h in final["history"]]
    assert steps[:2] == ["received", "completed"] and "routed" in steps
    assert final["channel"] == "email" and final["first_receiver"] == VILLAGE
    assert final["complainant"]["email"] == "wangwu@example.com"
    assert len(final["evidence"]) == 1
    # completing twice is a state conflict
    again = api.post(f"/api/v1/complaints/{draft['id']}/complete", json=body, headers=login(VILLAGE))
    assert again.status_code == 409


def test_draft_completion_is_checked_like_any_filing(api, login):
    draft = post_email(api, email_message(), login(VILLAGE)).json()
    bad = completion(category="astrology", complainant={"name": "王五", "phone": "12345678901"})
    response = api.post(f"/api/v1/complaints/{draft['id']}/complete", json=bad, headers=login(VILLAGE))
    assert response.status_code == 422
    assert {"category", "complainant.phone"} <= {f["field"] for f in response.json()["fields"]}
    shape = api.post(
        f"/api/v1/complaints/{draft['id']}/complete", json=completion(claim_amount=1.234), headers=login(VILLAGE)
    )
    assert shape.status_code == 422 and shape.json()["fields"][0]["field"] == "claim_amount"
    assert case(api, login, draft["id"])["status"] == "draft"


def test_only_the_receiving_unit_completes_its_draft(api, login):
    draft = post_email(api, email_message(), login(VILLAGE)).json()
    for unit in (SIBLING_VILLAGE, OTHER_CITY):
        response = api.post(f"/api/v1/complaints/{draft['id']}/complete", json=completion(), headers=login(unit))
        assert response.status_code == 404
    # the township above sees it, but the draft is the village's to complete
    response = api.post(f"/api/v1/complaints/{draft['id']}/complete", json=completion(), headers=login(TOWNSHIP))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "message"),
        (b"just some words, no headers at all", "message"),
        (b"Subject: hello\r\n\r\nno sender here\r\n", "message"),
        (b"From: someone@example.com\r\n\r\n", "message"),
    ],
)
def test_unusable_email_is_a_422_naming_the_message(api, login, raw, field):
    response = post_email(api, raw, login(VILLAGE))
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == field


def test_email_must_be_sent_as_rfc822(api, login):
    response = api.post("/api/v1/complaints/email", json={"from": "x"}, headers=login(VILLAGE))
    assert response.status_code == 415
    assert response.json()["fields"][0]["field"] == "content-type"


def test_email_intake_needs_a_clerk(api, user_headers):
    assert post_email(api, email_message(), {}).status_code == 401
    assert post_email(api, email_message(), user_headers(VILLAGE, "mediator")).status_code == 403


# --- Idempotency-Key, every channel ------------------------------------------------------------------


@pytest.fixture
def headers_for(login, agency_key):
    return {"web": {}, "hotline": login(VILLAGE), "walk_in": login(TOWNSHIP), "agency": agency_key}


@pytest.mark.parametrize("channel", ["web", "hotline", "walk_in", "agency"])
def test_retried_submission_returns_the_first_result(api, db, headers_for, channel):
    key = f"intake-{channel}-{uuid.uuid4()}"
    body = fresh(channel=channel)
    headers = {**headers_for[channel], "Idempotency-Key": key}
    first = api.post("/api/v1/complaints", json=body, headers=headers)
    second = api.post("/api/v1/complaints", json=body, headers=headers)
    assert first.status_code == second.status_code == 201, first.text
    assert first.json() == second.json()
    with db.connect() as conn:
        count = conn.scalar(
            text("SELECT count(*) FROM intake.complaints WHERE complainant_phone = :p"),
            {"p": body["complainant"]["phone"]},
        )
    assert count == 1


def test_idempotency_keys_belong_to_their_caller(api, login):
    key = f"intake-shared-{uuid.uuid4()}"
    public = api.post("/api/v1/complaints", json=fresh(), headers={"Idempotency-Key": key})
    clerk = api.post(
        "/api/v1/complaints", json=fresh(channel="hotline"), headers={**login(VILLAGE), "Idempotency-Key": key}
    )
    assert public.status_code == clerk.status_code == 201
    assert public.json()["id"] != clerk.json()["id"]


def test_retried_email_returns_the_same_draft(api, db, login):
    key = f"intake-email-{uuid.uuid4()}"
    raw = email_message(attachments=[("a.png", PNG, "image/png")])
    first = post_email(api, raw, login(VILLAGE), **{"Idempotency-Key": key})
    second = post_email(api, raw, login(VILLAGE), **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    with db.connect() as conn:
        files = conn.scalar(
            text("SELECT count(*) FROM intake.evidence WHERE complaint_id = :id"), {"id": first.json()["id"]}
        )
    assert files == 1
