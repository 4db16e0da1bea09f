"""The SMS provider's delivery reports: what a body must hold, and what a receipt does to a message
in each state (services/notification/receipts.py)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.errors import InvalidInput
from services.notification import receipts

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def body(*items: object) -> str:
    return json.dumps({"receipts": list(items)})


def fields(raw: str) -> set[str]:
    with pytest.raises(InvalidInput) as caught:
        receipts.parse(raw, NOW)
    return {f["field"] for f in caught.value.fields}


def test_a_report_gives_each_receipt_in_order():
    first, second = uuid.uuid4(), uuid.uuid4()
    found = receipts.parse(
        body(
            {"message_id": str(first), "status": "delivered", "at": "2026-11-22T17:59:00+08:00"},
            {"message_id": str(second), "status": "failed", "error": "UNDELIV"},
        ),
        NOW,
    )
    assert found == [
        receipts.Receipt(first, "delivered", datetime(2026, 11, 22, 9, 59, tzinfo=UTC), None),
        receipts.Receipt(second, "failed", None, "UNDELIV"),
    ]


@pytest.mark.parametrize(
    ("raw", "wrong"),
    [
        ("not json", {"body"}),
        (json.dumps([]), {"receipts"}),
        (body(), {"receipts"}),
        (json.dumps({"receipts": [{}] * (receipts.MAX_RECEIPTS + 1)}), {"receipts"}),
        (body("text"), {"receipts[0]"}),
        (body({"message_id": "42", "status": "delivered"}), {"receipts[0].message_id"}),
        (body({"message_id": str(uuid.uuid4()), "status": "DELIVRD"}), {"receipts[0].status"}),
        (body({"message_id": str(uuid.uuid4()), "status": "failed", "at": "2026-11-22T09:00:00"}), {"receipts[0].at"}),
        (body({"message_id": str(uuid.uuid4()), "status": "failed", "at": "yesterday"}), {"receipts[0].at"}),
        (body({"message_id": str(uuid.uuid4()), "status": "failed", "error": "x" * 201}), {"receipts[0].error"}),
        (body({"message_id": str(uuid.uuid4()), "status": "failed", "phone": "13800000000"}), {"receipts[0].phone"}),
        (
            body({"message_id": str(uuid.uuid4()), "status": "delivered"}, {"status": "lost"}),
            {"receipts[1].message_id", "receipts[1].status"},
        ),
    ],
)
def test_a_wrong_report_names_every_wrong_field(raw, wrong):
    assert fields(raw) == wrong


def test_a_report_dated_in_the_future_is_refused_beyond_the_clock_skew():
    def at(moment: datetime) -> str:
        return body({"message_id": str(uuid.uuid4()), "status": "delivered", "at": moment.isoformat()})

    assert receipts.parse(at(NOW + receipts.CLOCK_SKEW), NOW)
    assert fields(at(NOW + receipts.CLOCK_SKEW + timedelta(seconds=1))) == {"receipts[0].at"}


@pytest.mark.parametrize(
    ("state", "status", "outcome"),
    [
        ("sent", "delivered", "delivered"),
        ("sent", "failed", "failed"),
        ("queued", "delivered", "delivered"),  # the provider's answer to our send is still on its way
        ("queued", "failed", "failed"),
        ("delivered", "delivered", "unchanged"),
        ("failed", "failed", "unchanged"),
        ("delivered", "failed", "ignored"),  # the handset had it: final
        ("failed", "delivered", "delivered"),  # we gave up on a timeout while the provider had it
    ],
)
def test_what_a_receipt_does_to_a_message(state, status, outcome):
    assert receipts.outcome(state, status) == outcome
