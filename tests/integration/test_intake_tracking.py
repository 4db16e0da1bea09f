"""Public tracking: the right pair gives status, unit and dated steps without personal data; an
unknown number and a wrong tail answer alike; guessing is throttled per number and per client."""

from __future__ import annotations

import itertools
import json

import pytest

from services.intake import tracking
from tests.integration.test_intake_channels import VILLAGE, file_routed, fresh

pytestmark = pytest.mark.integration

_clients = itertools.count(1)


def client() -> dict[str, str]:
    """A client address of its own (uvicorn trusts X-Forwarded-For from 127.0.0.1)."""
    n = next(_clients)
    return {"X-Forwarded-For": f"10.88.{n // 250}.{n % 250 + 1}"}


def track(api, number: str, tail: str, headers: dict[str, str] | None = None):
    return api.get(f"/api/v1/track/{number}", params={"phone_tail": tail}, headers=headers or client())


def test_the_right_pair_shows_status_unit_and_steps_without_personal_data(api, login):
    body = fresh(complainant={"name": "欧阳娜娜", "phone": "13912340000", "address": "浙江省诸暨市枫桥镇秘密路1号"})
    found = file_routed(api, login, body)
    response = track(api, found["tracking_no"], "0000")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["tracking_no"] == found["tracking_no"]
    assert view["status"] == "routed"
    assert view["responsible_unit"] == {"name": "枫源村委会", "tier": "village"}
    steps = [s["step"] for s in view["steps"]]
    assert steps[0] == "received" and "routed" in steps
    assert all(s["at"] and s["label"] for s in view["steps"])
    raw = json.dumps(view, ensure_ascii=False)
    for secret in ("欧阳", "13912340000", "秘密路", body["business"]["credit_code"], VILLAGE):
        assert secret not in raw


def test_an_unknown_number_and_a_wrong_tail_answer_the_same_404(api, login):
    found = file_routed(api, login)
    wrong_tail = track(
        api, found["tracking_no"], "9999" if not found["complainant"]["phone"].endswith("9999") else "1111"
    )
    unknown = track(api, "TS20260101ZZZZZZ", found["complainant"]["phone"][-4:])
    assert wrong_tail.status_code == unknown.status_code == 404
    assert wrong_tail.json() == unknown.json()


@pytest.mark.parametrize("tail", ["123", "12345", "abcd", ""])
def test_the_tail_is_four_digits(api, tail):
    response = track(api, "TS20260101ZZZZZZ", tail)
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "phone_tail"


def test_guessing_one_number_is_throttled_even_from_many_addresses(api, login):
    found = file_routed(api, login)
    right = found["complainant"]["phone"][-4:]
    wrong = "0000" if right != "0000" else "1111"
    for _ in range(tracking.FAILURES_PER_NUMBER):
        assert track(api, found["tracking_no"], wrong).status_code == 404
    blocked = track(api, found["tracking_no"], right)  # even the right tail waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    # other numbers are not affected
    other = file_routed(api, login)
    assert track(api, other["tracking_no"], other["complainant"]["phone"][-4:]).status_code == 200


def test_one_client_guessing_many_numbers_is_throttled(api, login):
    guesser = client()
    for n in range(tracking.FAILURES_PER_CLIENT):
        assert track(api, f"TS20260101GUES{n:02d}", "1234", guesser).status_code == 404
    assert track(api, "TS20260101GUESXX", "1234", guesser).status_code == 429
    found = file_routed(api, login)
    assert track(api, found["tracking_no"], found["complainant"]["phone"][-4:], guesser).status_code == 429
    assert track(api, found["tracking_no"], found["complainant"]["phone"][-4:]).status_code == 200


def test_a_refusal_shows_its_ground_and_the_other_routes(api, login):
    found = file_routed(api, login)
    api.post(
        f"/api/v1/complaints/{found['id']}/refuse",
        json={"ground": "time_barred", "reason": "投诉人自述为四年前购买"},
        headers=login(VILLAGE),
    )
    view = track(api, found["tracking_no"], found["complainant"]["phone"][-4:]).json()
    assert view["status"] == "refused"
    assert view["refusal"]["ground"] == "time_barred" and "三年" in view["refusal"]["ground_label"]
    assert view["refusal"]["other_routes"]
    assert "四年前" not in json.dumps(view, ensure_ascii=False)  # the clerk's text stays internal


def test_a_duplicate_points_to_the_first_case(api, login):
    body = fresh()
    first = file_routed(api, login, body)
    again = api.post("/api/v1/complaints", json=dict(body, channel="hotline"), headers=login(VILLAGE)).json()
    view = track(api, again["tracking_no"], body["complainant"]["phone"][-4:]).json()
    assert view["status"] == "duplicate" and view["duplicate_of"] == first["tracking_no"]
