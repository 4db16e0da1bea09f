"""Bad input gets a 4xx JSON error naming the field and the problem; never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import complaint, credit_code

pytestmark = pytest.mark.integration


def without(path: str) -> dict:
    body = complaint()
    *parents, last = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    del target[last]
    return body


def bad_credit_code() -> str:
    good = credit_code()
    return good[:-1] + ("0" if good[-1] != "0" else "1")


CASES = [
    ("missing complainant", without("complainant"), "complainant"),
    ("missing phone", without("complainant.phone"), "complainant.phone"),
    ("missing summary", without("summary"), "summary"),
    ("missing incident place", without("incident_division_code"), "incident_division_code"),
    ("malformed phone", complaint(complainant={"name": "张三", "phone": "12345678901"}), "complainant.phone"),
    ("letters in phone", complaint(complainant={"name": "张三", "phone": "1380013800a"}), "complainant.phone"),
    ("negative amount", complaint(claim_amount=-1), "claim_amount"),
    ("three decimals", complaint(claim_amount=1.234), "claim_amount"),
    ("absurd amount", complaint(claim_amount=1e12), "claim_amount"),
    ("amount as text", complaint(claim_amount="lots"), "claim_amount"),
    ("summary as number", complaint(summary=12345), "summary"),
    ("requests not a list", complaint(requests="refund"), "requests"),
    ("unknown request", complaint(requests=["revenge"]), "requests.0"),
    ("unknown channel", complaint(channel="pigeon"), "channel"),
    ("unknown category", complaint(category="astrology"), "category"),
    ("unknown field", complaint(colour="red"), "colour"),
    ("malformed division code", complaint(incident_division_code="33068"), "incident_division_code"),
    ("unknown division code", complaint(incident_division_code="330681109999"), "incident_division_code"),
    ("division not served", complaint(incident_division_code="110101001001"), "incident_division_code"),
    (
        "business division unknown",
        complaint(business={"name": "某店", "division_code": "330681999999"}),
        "business.division_code",
    ),
    (
        "credit code check character",
        complaint(business={"name": "某店", "credit_code": bad_credit_code()}),
        "business.credit_code",
    ),
]


@pytest.mark.parametrize(("label", "body", "field"), CASES, ids=[c[0] for c in CASES])
def test_invalid_submission_names_the_field(api, label, body, field):
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["error"] == "invalid_input"
    assert field in [f["field"] for f in problem["fields"]], problem
    assert all(f["message"] for f in problem["fields"])


def test_several_problems_are_reported_at_once(api):
    body = complaint(category="astrology", complainant={"name": "张三", "phone": "12345678901"})
    fields = {f["field"] for f in api.post("/api/v1/complaints", json=body).json()["fields"]}
    assert {"category", "complainant.phone"} <= fields


def test_invalid_json_is_a_422(api):
    response = api.post("/api/v1/complaints", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"


def test_body_that_is_not_an_object(api):
    response = api.post("/api/v1/complaints", json=[1, 2, 3])
    assert response.status_code == 422


def test_oversized_body_is_a_413(api):
    body = complaint(summary="很长" * 100_000)
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 413
    assert "exceeds" in response.json()["message"]


def test_oversized_chunked_body_is_a_413(api):
    def chunks():
        yield b'{"summary": "'
        for _ in range(200):
            yield b"x" * 1024
        yield b'"}'

    response = api.post("/api/v1/complaints", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_landline_is_accepted(api):
    body = complaint(complainant={"name": "李四", "phone": "0575-87012345"})
    assert api.post("/api/v1/complaints", json=body).status_code == 201
