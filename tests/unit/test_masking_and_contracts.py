import uuid
from datetime import UTC, datetime

import pytest

from common.contracts import ComplaintRouted, PoisonMessage, Unit
from common.masking import mask_complainant, mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"), [("13800138000", "138****8000"), ("0575-87012345", "0575****2345"), ("123", "***")]
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_mask_name_and_id():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_id_number("110101199003074514") == "110***********4514"


def test_mask_complainant_masks_every_personal_field():
    masked = mask_complainant({"name": "张三", "phone": "13800138000", "address": "诸暨市枫桥镇枫源村3号"})
    assert masked == {"name": "张*", "phone": "138****8000", "address": "诸暨市枫桥镇****"}


def routed() -> ComplaintRouted:
    return ComplaintRouted(
        complaint_id=uuid.uuid4(),
        unit=Unit(code="330681109", name="枫桥镇", tier="township"),
        rule="territory.business",
        inputs={"place": "330681109"},
        decided_at=datetime(2026, 11, 22, tzinfo=UTC),
    )


def test_envelope_round_trip():
    event = routed()
    envelope = event.envelope()
    assert envelope["type"] == "complaint.routed.v1"
    event_id, parsed = ComplaintRouted.parse(envelope)
    assert parsed == event
    assert str(event_id) == envelope["event_id"]


@pytest.mark.parametrize(
    "envelope",
    [
        {"type": "complaint.routed.v2", "event_id": str(uuid.uuid4()), "data": {}},
        {"type": "complaint.routed.v1", "event_id": "not-a-uuid", "data": {}},
        {"type": "complaint.routed.v1", "event_id": str(uuid.uuid4()), "data": {"complaint_id": "x"}},
        "a string",
        {"data": {}},
    ],
)
def test_anything_else_is_poison(envelope):
    with pytest.raises(PoisonMessage):
        ComplaintRouted.parse(envelope)
